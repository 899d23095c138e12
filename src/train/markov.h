/* The Markov-chain task of the trainer (system `markov`, task `markov`):
 * what the command line needs beyond the generic trainer, namely the
 * held-out predictions of a model and the comparison of the main model
 * with models restricted to shorter contexts (Fig. 3 right of Yuksel et
 * al.: columns kl_ctx<j>). */
#ifndef STAGEWISE_MARKOV_H
#define STAGEWISE_MARKOV_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "stagewise/error.h"
#include "stagewise/system.h"

extern const sw_system sw_system_markov;

/* The chain's feature matrices A_1..A_K (K x S x S; A_k row-major, so
 * column x of A_k is what token x at a lag of group k adds to the logits). */
const double *sw_markov_features(const sw_model *m);

/* Entries of a prediction array: held-out sequences x predicted positions
 * x S log-probabilities. */
size_t sw_markov_pred_size(const sw_model *m);
/* Log-probabilities of the next token at every held-out position under
 * theta.  The held-out set depends only on the seed and the chain's
 * parameters, so models of different contexts predict the same tokens. */
void sw_markov_predict(const sw_model *m, const double *theta, double *logp);
/* Makes logp (copied) the reference of column kl_ctx<j>, 1 <= j <= K: the
 * KL divergence from it to the model's predictions.  The model must have
 * compare = 1. */
int sw_markov_set_reference(sw_model *m, size_t j, const double *logp, sw_err *e);

/* The chain for a model trained on it elsewhere (task tf-markov): n
 * sequences of N + 1 tokens into dst (logit: S doubles of scratch); the
 * held-out sequences; and the kl_<j> columns' terms: obs[j] += the KL
 * divergence from the truth truncated to groups <= j to the prediction lp
 * (S log-probabilities) at held-out sequence seq, predicted position p
 * (0 .. N - K m), j = 0..K. */
void sw_markov_sample(const sw_model *m, gsl_rng *r, size_t n, int *dst, double *logit);
const int *sw_markov_held_out(const sw_model *m, size_t *n_eval);
void sw_markov_add_kl(const sw_model *m, size_t seq, size_t p, const double *lp, double *obs);

#endif
