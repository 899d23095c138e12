/* A small decoder-only transformer with a hand-written backward pass.
 *
 * model.c is compiled twice: in single precision for training (names
 * sw_tf_*, the default) and, with SW_TF_DOUBLE defined, in double
 * precision for the gradient checks (names sw_tfd_*).  Including this
 * header with or without SW_TF_DOUBLE selects which set it declares.
 *
 * Every layer is a _forward/_backward pair over flat row-major arrays.
 * Backward functions ADD into the input gradient and the parameter
 * gradients, so residual branches and shared weights need no extra pass;
 * the caller zeroes them first.  Parameters, gradients and activations
 * each live in one contiguous buffer sized when the net is allocated. */
#ifndef SW_TF_MODEL_H_PREC
#ifdef SW_TF_DOUBLE
#define SW_TF_MODEL_H_PREC 2
typedef double tf_real;
#define TF(name) sw_tfd_##name
#else
#define SW_TF_MODEL_H_PREC 1
typedef float tf_real;
#define TF(name) sw_tf_##name
#endif

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "config.h"

typedef struct TF(net) TF(net);

/* The number of parameters of c, and the offsets of each block (blk may be
 * NULL; otherwise c->L entries).  Also *emb, *lnf_g, *lnf_b, *out. */
size_t TF(layout)(const sw_tf_config *c, sw_tf_block_off *blk, size_t *emb, size_t *lnf,
                  size_t *out);

/* Buffers for batches of up to cap sequences; NULL when out of memory. */
TF(net) *TF(net_alloc)(const sw_tf_config *c, size_t cap);
void TF(net_free)(TF(net) *net);
size_t TF(net_n_params)(const TF(net) *net);

/* Parameter order: the embedding (d_in x D, then a bias of D; or vocab x
 * D), per block [ln1 g, b], Wq, Wk (D x H dqk), Wv, Wo (D x D), [ln2 g, b],
 * [W1 (D x F), W2 (F x D)], then [final LayerNorm g, b] and the readout
 * (D x d_out).  No other biases.
 *
 * GPT-2-style start: weights N(0, 0.02^2), the projections into the
 * residual stream (Wo, W2) scaled by 1/sqrt(2L), LayerNorm gains 1 and
 * biases 0.  Draws in parameter order from r. */
void TF(net_init)(const TF(net) *net, tf_real *theta, gsl_rng *r);

/* Mean loss over the batch's read-out rows; keeps the activations. */
double TF(net_forward)(TF(net) *net, const tf_real *theta, const sw_tf_batch *b, size_t n);
/* Gradient of the mean loss of the last forward into g (overwritten). */
void TF(net_backward)(TF(net) *net, const tf_real *theta, const sw_tf_batch *b, size_t n,
                      tf_real *g);
/* After a forward: the attention rows of block l, head h, sequence i
 * (Tq_l rows of T entries; Tq_l = T - q0 in the last block, T before),
 * and the read-out (n Tq d_out: predictions, or log-probabilities). */
const tf_real *TF(net_attention)(const TF(net) *net, size_t l, size_t h, size_t i,
                                 size_t *rows);
const tf_real *TF(net_output)(const TF(net) *net);

/* Where the time goes: with profiling on, forward and backward passes add
 * their CPU time (all threads) and their products' floating-point operations to eight
 * phases (projections, attention, MLP, other; forward then backward),
 * named by sw_tf_phase_names.  sw_tf_profile(1) clears and starts. */
enum { SW_TF_PHASES = 8 };
extern const char *const TF(phase_names)[SW_TF_PHASES];
void TF(profile)(int on);
void TF(profile_read)(double sec[SW_TF_PHASES], double flop[SW_TF_PHASES]);

/* Threads of the OpenMP loops (default 1; 1 on a BLAS that cannot take
 * calls from several threads at once, blas.h); the numbers do not depend
 * on it. */
void TF(set_threads)(int n);

/* ---- the layers ---------------------------------------------------------- */

/* Y (n x dout) = X (n x din) W (din x dout). */
void TF(linear_forward)(const tf_real *X, size_t n, size_t din, const tf_real *W, size_t dout,
                        tf_real *Y);
/* dX += dY W^T (skipped when dX is NULL), dW += X^T dY. */
void TF(linear_backward)(const tf_real *X, size_t n, size_t din, const tf_real *W, size_t dout,
                         const tf_real *dY, tf_real *dX, tf_real *dW);

/* Per row: Y = g (X - mean) / sqrt(var + 1e-5) + b; keeps mean and rstd. */
void TF(layernorm_forward)(const tf_real *X, size_t n, size_t D, const tf_real *g,
                           const tf_real *b, tf_real *Y, tf_real *mean, tf_real *rstd);
void TF(layernorm_backward)(const tf_real *X, size_t n, size_t D, const tf_real *g,
                            const tf_real *mean, const tf_real *rstd, const tf_real *dY,
                            tf_real *dX, tf_real *dg, tf_real *db);

/* GELU, tanh form (PyTorch's approximate='tanh'). */
void TF(gelu_forward)(const tf_real *X, size_t n, tf_real *Y);
void TF(gelu_backward)(const tf_real *X, size_t n, const tf_real *dY, tf_real *dX);

/* Causal multi-head attention of one sequence.  Q (Tq x H dqk) holds the
 * queries of positions q0 .. T-1, K (T x H dqk) and V (T x H dv) every
 * position, head h in columns h dqk .. (h+1) dqk - 1 (resp. h dv ..).
 * P (H x Tq x T) gets the attention rows (zero beyond the causal mask),
 * O (Tq x H dv) the attended values. */
void TF(attention_forward)(const tf_real *Q, const tf_real *K, const tf_real *V, size_t T,
                           size_t q0, size_t H, size_t dqk, size_t dv, tf_real *P, tf_real *O);
/* dQ, dK, dV += the gradients for dO; dP (Tq x T) is scratch. */
void TF(attention_backward)(const tf_real *Q, const tf_real *K, const tf_real *V, size_t T,
                            size_t q0, size_t H, size_t dqk, size_t dv, const tf_real *P,
                            const tf_real *dO, tf_real *dP, tf_real *dQ, tf_real *dK,
                            tf_real *dV);

/* Rows of the token embedding table E (vocab x D): Y (n x D) = E[tok]. */
void TF(embed_forward)(const int *tok, size_t n, const tf_real *E, size_t D, tf_real *Y);
void TF(embed_backward)(const int *tok, size_t n, size_t D, const tf_real *dY, tf_real *dE);

/* The fixed sinusoidal encoding of Vaswani et al. (T x D) into PE. */
void TF(positions)(size_t T, size_t D, tf_real *PE);

/* Losses over n rows of width k: the mean, and into dZ the gradient of
 * the mean (overwritten).  ce_loss turns Z into log-probabilities. */
double TF(mse_loss)(const tf_real *Z, const float *y, size_t n, size_t k, tf_real *dZ);
double TF(ce_loss)(tf_real *Z, const int *target, size_t n, size_t k, tf_real *dZ);

#endif
