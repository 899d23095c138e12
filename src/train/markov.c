/* markov: the high-order Markov chain and the minimal transformer of
 * Yuksel et al. (Sec. 2.4), trained on sampled sequences.
 *
 * Inputs are one-hot tokens plus one-hot positions, e_u = [x_u ; p_u] in
 * R^E, E = S + N.  Every product with an e_u is therefore a sum of two
 * table look-ups, and the model never forms a dense one-hot matrix: a
 * score is four entries of W_h and its gradient scatters back into the
 * same four; the read-out of an attended input, V_h sum_u a_u e_u, is
 * sum_u a_u (V_h e_u), the attention row against values formed once per
 * key of the sequence, over the keys up to the query's position only.
 *
 * The score of key u for a query (token s, position t) splits into a token
 * part W[s][x_u] + W[S+t][x_u] and a position part W[s][S+u] + W[S+t][S+u],
 * so its exponential is a product of two factors that depend on the pair
 * (s, t) only: a pass computes them once per pair it meets (S + t + 1
 * exponentials) instead of t + 1 per query, and a query's attention row is
 * then products of look-ups.  Likewise the score gradients of all queries of
 * one pair add into the same two rows of W, so they are summed per pair
 * first and added to W's rows once.
 *
 * A pass runs sequence by sequence, the backward of each right after its
 * forward, so that a sequence's attention rows and values stay in cache.
 *
 * A sequence holds N + 1 tokens x_0 .. x_N; query t predicts x_{t+1}.  The
 * first n = K m tokens are uniform, so the loss covers the P = N - n + 1
 * queries t = n-1 .. N-1 whose target came from the chain.
 *
 * theta, per head h: W_h (E x E, row-major), then V_h (S x E). */

/* GSL's inline uniform draws: the sampler makes 4000 a step. */
#define HAVE_INLINE 1

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "markov.h"
#include "clones.h"
#include "evalcache.h"
#include "simd.h"
#include "softmax.h"
#include "stagewise/train.h"
#include "vexp.h"
#include "z.h"

/* Buffers of a forward (and backward) pass, which runs one sequence at a
 * time: each holds the current sequence's, whatever the batch (the
 * backward of a sequence follows its forward, the observables read it
 * right after, while it is in cache).  Rows of keys have stride NP (N
 * rounded up to whole blocks), zero past N, so the kernels run over whole
 * blocks. */
typedef struct mk_work {
    double *A;    /* H x P x NP attention rows, zero outside the window */
    double *L;    /* P x S: logits (log-probabilities after an evaluation) */
    double *prob; /* P x S: the logits' softmax */
    double *dl;   /* P x SP: the logits' gradient of the mean loss, zero past S */
    double *val;  /* H x S x NP: one sequence's values V_h e_u, key u in column u */
    /* Per head, V_h's gradient transposed, E x SP, zero past S: row v < S
     * for column v (the token parts), row S + u for column S + u (the
     * position parts); copied into V_h's gradient once a batch. */
    double *gvt;
    double *da;   /* P x NP: one head's gradients of its queries' scores */
    double **gq;  /* P: their pair sums' rows */
    double *lse;  /* P: one sequence's log-sum-exps of the logits */
    int64_t *xp;  /* NP: one sequence's tokens x_0 .. x_{N-1}, zero past them */
    /* Per head and (query token, query position) pair, NULL when too
     * large (then every query takes its own exponentials): the two
     * factors of the exponentiated scores (S token and NP position
     * entries, in one row), whether they are set yet, and the summed
     * score gradient (as many entries: E, then zeros). */
    double *fac, *gpair;
    unsigned char *fset, *gset;
} mk_work;

typedef struct markov {
    size_t S, N, K, m, n, H, E, P, window;
    size_t NP;       /* N rounded up to a multiple of BLK */
    size_t SP;       /* S rounded up to a multiple of 4: rows of logit gradients */
    size_t pair_len; /* S + NP: a pair's row of factors or score gradients */
    int tok_regs;    /* look-ups by token through token_table */
    size_t per_head; /* E^2 + S E */
    double *lambda;  /* K */
    double *A;       /* K x S x S, A_k = lambda_k Q_k, row-major */
    double *logit;   /* S: scratch of the sampler */
    /* The chain's next-token distributions for each of the S^n contexts
     * (the last n tokens, the latest the least significant digit), as
     * running sums of the probabilities (cumulate's), NULL when there are
     * too many to tabulate. */
    double *next;
    /* Held-out set and what the observables compare the model with. */
    size_t n_eval;
    int *eval; /* n_eval x (N+1) tokens */
    double *truth; /* n_eval x P x (K+1) x S: log-probs of the truncated truths j = 0..K */
    double *truth_p; /* the same as probabilities, for the KL divergences */
    int compare;
    double *ref;   /* K x n_eval x P x S: restricted models' log-probs (compare = 1) */
    double *ref_p; /* the same as probabilities */
    int *ref_set;  /* K */
    double *theta0;
    mk_work ew; /* for the held-out passes */
    sw_eval_cache cache;
} markov;

/* Pair tables beyond this many doubles are not worth their memory. */
enum { PAIR_TABLE_MAX = 1 << 21 };

/* Next-token tables beyond this many doubles: the sampler computes each
 * distribution instead. */
enum { NEXT_TABLE_MAX = 1 << 17 };

/* The most heads (the parameter H's bound). */
enum { H_MAX = 64 };

/* Keys are processed in blocks of BLK (see blk below). */
enum { BLK = 8 };

static void work_free(mk_work *w)
{
    free(w->A);
    free(w->L);
    free(w->prob);
    free(w->val);
    free(w->dl);
    free(w->gvt);
    free(w->da);
    free(w->gq);
    free(w->lse);
    free(w->xp);
    free(w->fac);
    free(w->gpair);
    free(w->fset);
    free(w->gset);
    memset(w, 0, sizeof *w);
}

/* backward: 0 for a workspace that only runs forward passes (the
 * held-out one), which then has no gradient buffers (dl, gvt, da, gq and
 * the pair sums gpair, gset stay NULL). */
static int work_alloc(const markov *k, mk_work *w, int backward)
{
    work_free(w);
    size_t rows = k->P, pairs = k->H * k->S * k->N, NP = k->NP;
    w->A = calloc(k->H * k->P * NP, sizeof(double));
    w->L = malloc(rows * k->S * sizeof(double));
    w->prob = malloc(rows * k->S * sizeof(double));
    w->val = calloc(k->H * k->S * NP, sizeof(double));
    w->lse = malloc(k->P * sizeof(double));
    w->xp = calloc(NP, sizeof(int64_t));
    if (backward) {
        w->dl = calloc(rows * k->SP, sizeof(double));
        w->gvt = malloc(k->H * k->E * k->SP * sizeof(double));
        w->da = malloc(k->P * NP * sizeof(double));
        w->gq = malloc(k->P * sizeof(double *));
    }
    if (!w->A || !w->L || !w->prob || !w->val || !w->lse || !w->xp ||
        (backward && (!w->dl || !w->gvt || !w->da || !w->gq)))
        return SW_EFAIL;
    if (pairs * 2 * k->pair_len > PAIR_TABLE_MAX) /* fac and gpair */
        return SW_OK;
    /* Zeros where no key is: the exponentials run over whole rows. */
    w->fac = calloc(pairs * k->pair_len, sizeof(double));
    w->fset = malloc(pairs);
    if (backward) {
        w->gpair = malloc(pairs * k->pair_len * sizeof(double));
        w->gset = malloc(pairs);
    }
    return w->fac && w->fset && (!backward || (w->gpair && w->gset)) ? SW_OK : SW_EFAIL;
}

/* The chain's next-token logits after the prefix ending at x[t] (so for
 * x_{t+1}), using the groups k < groups only: sum_k A_k mean_{j in S_k}
 * e_{x_{t+1-j}}. */
static void chain_logits(const markov *k, const int *x, size_t t, size_t groups, double *out)
{
    memset(out, 0, k->S * sizeof(double));
    double w = 1.0 / (double)k->m;
    for (size_t g = 0; g < groups; g++) {
        const double *Ak = k->A + g * k->S * k->S;
        for (size_t j = g * k->m + 1; j <= (g + 1) * k->m; j++) {
            size_t col = (size_t)x[t + 1 - j];
            for (size_t s = 0; s < k->S; s++)
                out[s] += w * Ak[s * k->S + col];
        }
    }
}

/* p[s] becomes p[0] + .. + p[s], summed in order. */
static void cumulate(double *p, size_t S)
{
    for (size_t s = 1; s < S; s++)
        p[s] += p[s - 1];
}

/* The table of next-token distributions, one per context, computed as the
 * sampler would (so the samples do not depend on whether it exists);
 * k->next stays NULL when it would be too large. */
static int next_table(markov *k)
{
    size_t S = k->S, n = k->n, contexts = 1;
    for (size_t j = 0; j < n; j++)
        if ((contexts *= S) > NEXT_TABLE_MAX / S)
            return SW_OK;
    int *x = malloc(n * sizeof(int));
    k->next = malloc(contexts * S * sizeof(double));
    if (!x || !k->next) {
        free(x);
        return SW_EFAIL;
    }
    for (size_t c = 0; c < contexts; c++) {
        size_t rest = c;
        for (size_t j = n; j-- > 0; rest /= S)
            x[j] = (int)(rest % S);
        chain_logits(k, x, n - 1, k->K, k->next + c * S);
        sw_softmax(k->next + c * S, S, k->next + c * S);
        cumulate(k->next + c * S, S);
    }
    free(x);
    return SW_OK;
}

/* Inversion: the first s whose running sum exceeds u, the last state
 * taking whatever rounding leaves.  The sums do not decrease, so that s is
 * the number of them (before the last) up to u: counted without a branch
 * per state. */
static inline int invert(const double *cum, size_t S, double u)
{
    size_t s = 0;
    for (size_t i = 0; i + 1 < S; i++)
        s += cum[i] <= u;
    return (int)s;
}

/* The table row of the context that ends at position t (the n tokens up
 * to t, the oldest most significant, as next_table numbers them). */
static inline const double *next_row(const markov *k, const int *x, size_t t)
{
    size_t c = 0;
    for (size_t j = k->n; j >= 1; j--)
        c = c * k->S + (size_t)x[t + 1 - j];
    return k->next + c * k->S;
}

/* A sequence's first n tokens, uniform (the chain's start). */
static inline void draw_start(const markov *k, gsl_rng *r, int *x)
{
    for (size_t t = 0; t < k->n; t++)
        x[t] = (int)gsl_rng_uniform_int(r, k->S);
}

/* With the table, sequences are sampled SAMPLE_GROUP at a time: first
 * every draw of the group in the order of the one-by-one loop below
 * (so the samples are the same), at most SAMPLE_DRAWS of them, then the
 * inversions of the group's sequences side by side.  Each token's table
 * row depends on the token before, so one sequence alone is a chain of
 * dependent loads; several interleave. */
enum { SAMPLE_GROUP = 4, SAMPLE_DRAWS = 512 };

static void sample_sequences(const markov *k, gsl_rng *r, size_t count, int *dst,
                             double *logit)
{
    size_t len = k->N + 1, S = k->S, n = k->n, draws = len - n;
    int grouped = k->next && SAMPLE_GROUP * draws <= SAMPLE_DRAWS;
    double u[SAMPLE_DRAWS];
    for (size_t i0 = 0; i0 < count; i0 += grouped ? SAMPLE_GROUP : 1) {
        if (!grouped) {
            int *x = dst + i0 * len;
            draw_start(k, r, x);
            for (size_t t = n - 1; t + 1 < len; t++) {
                const double *cum = logit;
                if (k->next)
                    cum = next_row(k, x, t);
                else {
                    chain_logits(k, x, t, k->K, logit);
                    sw_softmax(logit, S, logit);
                    cumulate(logit, S);
                }
                x[t + 1] = invert(cum, S, gsl_rng_uniform(r));
            }
            continue;
        }
        /* A last group of fewer sequences draws in the same order too. */
        size_t g = count - i0 < SAMPLE_GROUP ? count - i0 : SAMPLE_GROUP;
        for (size_t i = 0; i < g; i++) {
            int *x = dst + (i0 + i) * len;
            draw_start(k, r, x);
            for (size_t d = 0; d < draws; d++)
                u[i * draws + d] = gsl_rng_uniform(r);
        }
        for (size_t d = 0; d < draws; d++) {
            size_t t = n - 1 + d;
            for (size_t i = 0; i < g; i++) {
                int *x = dst + (i0 + i) * len;
                x[t + 1] = invert(next_row(k, x, t), S, u[i * draws + d]);
            }
        }
    }
}

/* The first key the query at position t attends to. */
static size_t first_key(const markov *k, size_t t)
{
    return k->window && t + 1 > k->window ? t + 1 - k->window : 0;
}

/* A block of keys in two sw_v4 (simd.h), keys j..j+3 and j+4..j+7: the
 * AVX2 clone keeps each half in a register (an eight-double vector would
 * live on the stack there), the AVX-512 clone in one of its 32.  Moved
 * with memcpy, which compiles to unaligned loads and stores. */
typedef struct blk {
    sw_v4 h[2];
} blk;

static inline void bload(blk *b, const double *p)
{
    memcpy(&b->h[0], p, sizeof b->h[0]);
    memcpy(&b->h[1], p + 4, sizeof b->h[1]);
}

static inline void bstore(double *p, const blk *b)
{
    memcpy(p, &b->h[0], sizeof b->h[0]);
    memcpy(p + 4, &b->h[1], sizeof b->h[1]);
}

static inline void bclear(blk *b)
{
    b->h[0] = b->h[1] = (sw_v4){0, 0, 0, 0};
}

/* acc += x y, lane by lane. */
static inline void bmuladd(blk *acc, const blk *x, const blk *y)
{
    for (int q = 0; q < 2; q++)
        acc->h[q] += x->h[q] * y->h[q];
}

/* acc += c y. */
static inline void bscaleadd(blk *acc, double c, const blk *y)
{
    for (int q = 0; q < 2; q++)
        acc->h[q] += c * y->h[q];
}

/* The sum of a block's lanes, in a fixed order: the two halves first. */
static inline double lanes_sum(const blk *acc)
{
    sw_v4 p = acc->h[0] + acc->h[1];
    return (p[0] + p[2]) + (p[1] + p[3]);
}

/* A table of at most TOKENS_IN_REGS entries indexed by token, in four
 * vectors, so that a block's look-ups are permutations (vpermt2pd on
 * AVX-512; without it they would be emulated lane by lane, so the table
 * is used by the x86-64-v4 clone only, k->tok_regs).  Read from rows (a
 * pair's factors, a row of V) of at least TOKENS_IN_REGS entries
 * (E >= TOKENS_IN_REGS); entries past S are never picked. */
enum { TOKENS_IN_REGS = 16 };

static inline void token_table(const double *f, sw_v4 *t)
{
    for (int i = 0; i < TOKENS_IN_REGS / 4; i++)
        memcpy(&t[i], f + 4 * i, sizeof t[i]);
}

/* r[i] = f[x[i]], i < BLK; t: f's table if in_regs. */
static inline void look_up(const double *f, int in_regs, const sw_v4 *t, const int64_t *x,
                           blk *r)
{
#ifdef SW_BLOCK_PERMUTE
    if (in_regs) {
        const sw_v4i eight = {8, 8, 8, 8};
        for (int q = 0; q < 2; q++) {
            sw_v4i ix, lo;
            memcpy(&ix, x + 4 * q, sizeof ix);
            lo = ix < eight;
            r->h[q] = SW_V4_SELECT(lo, __builtin_shuffle(t[0], t[1], ix),
                                   __builtin_shuffle(t[2], t[3], ix));
        }
        return;
    }
#else
    (void)in_regs;
    (void)t;
#endif
    double g[BLK];
    for (int i = 0; i < BLK; i++)
        g[i] = f[x[i]];
    bload(r, g);
}

/* The attention row of the query at position t with token x[t] over keys
 * lo..t, into a[lo..t], as exp(score) normalised. */
static void attend_direct(const markov *k, const double *W, const int *x, size_t t, size_t lo,
                          double *a)
{
    size_t S = k->S, E = k->E;
    const double *Wq = W + (size_t)x[t] * E, *Wp = W + (S + t) * E;
    for (size_t u = lo; u <= t; u++) {
        size_t xu = (size_t)x[u];
        a[u] = Wq[xu] + Wq[S + u] + Wp[xu] + Wp[S + u];
    }
    sw_softmax(a + lo, t + 1 - lo, a + lo);
}

/* The same through the pair's factors (pair: its index among all heads'
 * pairs), computed on first use: the exponentials of the token and
 * position parts, each with its own maximum subtracted (the normalisers
 * cancel in the row's).  The position factors are zero outside lo..t, so
 * the row is formed over whole blocks of keys, in vectors, and is zero
 * outside its keys.  Where the product of the two maxima is not attained
 * the sum can underflow; such a row is taken directly.
 *
 * Returns the row's sum, by which the caller divides it (attend_scale),
 * or 0 for a row taken directly, which is done.  The division is left to
 * the caller so that the heads' rows of a query are formed before any of
 * them waits for its sum and its division. */
static inline __attribute__((always_inline)) double
attend(const markov *k, mk_work *w, size_t pair, const double *W, const int *x, size_t t,
       size_t lo, double *a)
{
    size_t S = k->S, E = k->E;
    if (!w->fac) {
        attend_direct(k, W, x, t, lo, a);
        return 0;
    }
    double *ft = w->fac + pair * k->pair_len, *fp = ft + S;
    if (!w->fset[pair]) {
        const double *Wq = W + (size_t)x[t] * E, *Wp = W + (S + t) * E;
        double mt = -INFINITY, mp = -INFINITY;
        for (size_t v = 0; v < S; v++) {
            ft[v] = Wq[v] + Wp[v];
            mt = ft[v] > mt ? ft[v] : mt;
        }
        for (size_t u = lo; u <= t; u++) {
            fp[u] = Wq[S + u] + Wp[S + u];
            mp = fp[u] > mp ? fp[u] : mp;
        }
        for (size_t v = 0; v < S; v++)
            ft[v] -= mt;
        for (size_t u = lo; u <= t; u++)
            fp[u] -= mp;
        sw_exp_vec(ft, S + t + 1, ft);
        for (size_t u = 0; u < lo; u++)
            fp[u] = 0;
        w->fset[pair] = 1;
    }
    size_t b0 = lo / BLK * BLK, b1 = (t + BLK) / BLK * BLK;
    blk acc, f, r;
    sw_v4 tab[TOKENS_IN_REGS / 4] = {{0}};
    bclear(&acc);
    if (k->tok_regs)
        token_table(ft, tab);
    for (size_t j = b0; j < b1; j += BLK) {
        look_up(ft, k->tok_regs, tab, w->xp + j, &r);
        bload(&f, fp + j);
        for (int q = 0; q < 2; q++) {
            r.h[q] *= f.h[q];
            acc.h[q] += r.h[q];
        }
        bstore(a + j, &r);
    }
    double z = lanes_sum(&acc);
    if (!(z > 1e-200)) {
        attend_direct(k, W, x, t, lo, a);
        return 0;
    }
    return z;
}

/* a[b0..b1) *= iz, over whole blocks. */
static inline void attend_scale(double iz, size_t b0, size_t b1, double *a)
{
    blk f;
    for (size_t j = b0; j < b1; j += BLK) {
        bload(&f, a + j);
        for (int q = 0; q < 2; q++)
            f.h[q] *= iz;
        bstore(a + j, &f);
    }
}

/* Row r of a W or V, indexed by the one-hot input e_u = [x_u ; p_u], takes
 * d[u] at both of key u's entries, u = lo..t: r[x_u] and r[S + u].  Two
 * loops: the second has no repeated index and vectorises. */
static inline void add_scores(size_t S, const int *x, const double *d, size_t lo, size_t t,
                              double *restrict r)
{
    for (size_t u = lo; u <= t; u++)
        r[x[u]] += d[u];
    for (size_t u = lo; u <= t; u++)
        r[S + u] += d[u];
}

/* Up to CHUNK rows of values are worked on together, so that one load of
 * a block of attention weights serves all of them. */
enum { CHUNK = 4 };
/* CALL(s, c) for the rows s .. s + c - 1 of S: whole chunks, then the rest
 * once, with c a constant each time so that every count is compiled apart. */
#define BY_CHUNKS(S, CALL)                                                                         \
    do {                                                                                           \
        size_t s_ = 0;                                                                             \
        for (; s_ + CHUNK <= (S); s_ += CHUNK)                                                     \
            CALL(s_, CHUNK);                                                                       \
        switch ((S) - s_) {                                                                        \
        case 3: CALL(s_, 3); break;                                                                \
        case 2: CALL(s_, 2); break;                                                                \
        case 1: CALL(s_, 1); break;                                                                \
        default: break;                                                                            \
        }                                                                                          \
    } while (0)

/* Logits s0 .. s0+c-1 of query p: each is one product of length H NP of
 * the heads' attention rows against their values, over the blocks b0..b1
 * that hold the row's keys, summed across lanes once. */
static inline __attribute__((always_inline)) void
logits_chunk(const markov *k, const mk_work *w, const double *rows, size_t p, size_t b0,
             size_t b1, size_t s0, int c, double *l)
{
    size_t S = k->S, P = k->P, NP = k->NP;
    blk acc[CHUNK], av, v;
    for (int i = 0; i < c; i++)
        bclear(&acc[i]);
    for (size_t h = 0; h < k->H; h++) {
        const double *a = rows + (h * P + p) * NP, *val = w->val + (h * S + s0) * NP;
        for (size_t j = b0; j < b1; j += BLK) {
            bload(&av, a + j);
            for (int i = 0; i < c; i++) {
                bload(&v, val + i * NP + j);
                bmuladd(&acc[i], &av, &v);
            }
        }
    }
    for (int i = 0; i < c; i++)
        l[p * S + s0 + i] = lanes_sum(&acc[i]);
}

/* One sequence's forward pass: its values, every head's attention rows
 * (into rows, H x P x NP) and its logits (into l, P x S).
 *
 * The attended input of head h is sum_u a_u e_u, so its read-out
 * V_h sum_u a_u e_u = sum_u a_u (V_h e_u): the values V_h e_u = V_h[:, x_u]
 * + V_h[:, S+u] are formed once per key of the sequence (S N additions),
 * and each query's logit s is then one product of length H (t + 1), its
 * heads' attention rows against their values. */
SW_BLOCK_CLONES
static void forward_sequence(const markov *k, mk_work *w, const double *theta, const int *x,
                             double *rows, double *l)
{
    size_t S = k->S, N = k->N, E = k->E, P = k->P, NP = k->NP, H = k->H;
    for (size_t u = 0; u < N; u++)
        w->xp[u] = x[u];
    size_t nb = N / BLK * BLK;
    for (size_t h = 0; h < H; h++) {
        const double *V = theta + h * k->per_head + E * E;
        for (size_t s = 0; s < S; s++) {
            const double *v = V + s * E;
            double *d = w->val + (h * S + s) * NP;
            sw_v4 tab[TOKENS_IN_REGS / 4] = {{0}};
            blk r, q;
            if (k->tok_regs)
                token_table(v, tab);
            for (size_t j = 0; j < nb; j += BLK) {
                look_up(v, k->tok_regs, tab, w->xp + j, &r);
                bload(&q, v + S + j);
                r.h[0] += q.h[0];
                r.h[1] += q.h[1];
                bstore(d + j, &r);
            }
            for (size_t u = nb; u < N; u++)
                d[u] = v[x[u]] + v[S + u];
        }
    }
    for (size_t p = 0; p < P; p++) {
        size_t t = k->n - 1 + p, lo = first_key(k, t);
        size_t b0 = lo / BLK * BLK, b1 = (t + BLK) / BLK * BLK;
        double z[H_MAX];
        for (size_t h = 0; h < H; h++)
            z[h] = attend(k, w, (h * S + (size_t)x[t]) * N + t, theta + h * k->per_head, x, t,
                          lo, rows + (h * P + p) * NP);
        for (size_t h = 0; h < H; h++)
            if (z[h] > 0)
                attend_scale(1.0 / z[h], b0, b1, rows + (h * P + p) * NP);
#define LOGITS(s, c) logits_chunk(k, w, rows, p, b0, b1, s, c, l)
        BY_CHUNKS(S, LOGITS);
#undef LOGITS
    }
}

/* The queries p0 .. p1 - 1 whose keys include some of the keys first ..
 * last: their position is at least first, and with a window the window's
 * first key is at most last. */
static inline void reaching(const markov *k, size_t first, size_t last, size_t *p0, size_t *p1)
{
    size_t end = k->P;
    *p0 = first + 1 > k->n ? first + 1 - k->n : 0;
    if (k->window)
        end = last + k->window + 1 > k->n ? last + k->window + 1 - k->n : 0;
    *p1 = end < k->P ? end : k->P;
}

/* The values' gradient is taken a tile of KT keys at a time, all of a
 * tile's values s in vectors of four, SV vectors at a time. */
enum { KT = 4, SV = 3 };

/* The values' gradient dval[s][u] = sum_p dl[p][s] rows[p][u] of the keys
 * u0 .. u0+nu-1 (nu <= KT) and s = 4 sv0 .. 4 (sv0 + c) - 1, over the
 * queries p0..p1 that reach the keys, added to the rows x_u and S + u of
 * the head's transposed gradient gvt, key by key.  Every dval is summed
 * over p in order from zero, as a dot product of its own would be. */
static inline __attribute__((always_inline)) void
dval_tile(const markov *k, const double *rows, const double *dl, const int64_t *x, size_t u0,
          size_t nu, size_t p0, size_t p1, size_t sv0, int c, double *gvt)
{
    size_t SP = k->SP, NP = k->NP;
    sw_v4 acc[KT][SV], d[SV], y;
    for (int i = 0; i < KT; i++)
        for (int q = 0; q < c; q++)
            acc[i][q] = (sw_v4){0, 0, 0, 0};
    for (size_t p = p0; p < p1; p++) {
        const double *r = rows + p * NP + u0;
        /* One load per vector (unrolled: GCC's AVX2 copy made these loads
         * one copy through the stack otherwise). */
#pragma GCC unroll 3
        for (int q = 0; q < c; q++)
            memcpy(&d[q], dl + p * SP + 4 * (sv0 + (size_t)q), sizeof d[q]);
        for (int i = 0; i < KT; i++)
            for (int q = 0; q < c; q++)
                acc[i][q] += r[i] * d[q];
    }
    /* Over all KT with a test, not up to nu: indices known at compile time
     * keep the accumulators in registers (GCC's AVX2 copy put them on the
     * stack otherwise). */
    for (size_t i = 0; i < KT; i++) {
        if (i >= nu)
            break;
        double *tok = gvt + (size_t)x[u0 + i] * SP + 4 * sv0,
               *pos = gvt + (k->S + u0 + i) * SP + 4 * sv0;
        for (int q = 0; q < c; q++) {
            memcpy(&y, tok + 4 * q, sizeof y);
            y += acc[i][q];
            memcpy(tok + 4 * q, &y, sizeof y);
            memcpy(&y, pos + 4 * q, sizeof y);
            y += acc[i][q];
            memcpy(pos + 4 * q, &y, sizeof y);
        }
    }
}

/* One sequence's backward pass from the logits' gradient dl (P x SP) and
 * the rows and values of its forward pass: adds V_h's gradient into its
 * transposed sums w->gvt (copy_value_grads moves them into g once a batch)
 * and the score gradients into the pair sums (or, without pair tables,
 * into W_h's rows in g).
 *
 * A query's score gradient is its attention row's softmax backward of
 * da_u = dl . (V_h e_u); the values' gradient is sum_t dl_t a_tu per key,
 * one small product over the sequence's queries, added to gvt's rows x_u
 * and S + u. */
SW_BLOCK_CLONES
static void backward_sequence(const markov *k, mk_work *w, const int *x, const double *rows,
                              const double *dl, double *g)
{
    size_t S = k->S, N = k->N, E = k->E, P = k->P, NP = k->NP, SP = k->SP;
    for (size_t h = 0; h < k->H; h++) {
        double *gW = g + h * k->per_head, *gvt = w->gvt + h * E * SP;
        const double *val = w->val + h * S * NP, *hrows = rows + h * P * NP;
        for (size_t p = 0; p < P; p++) {
            size_t t = k->n - 1 + p, lo = first_key(k, t);
            size_t pair = (h * S + (size_t)x[t]) * N + t;
            size_t b0 = lo / BLK * BLK, b1 = (t + BLK) / BLK * BLK;
            const double *a = hrows + p * NP, *d = dl + p * SP;
            double *da = w->da + p * NP, *gq = NULL;
            blk acc, v, av, dv, y;
            bclear(&acc);
            for (size_t j = b0; j < b1; j += BLK) {
                bclear(&dv);
#pragma GCC unroll 4
                for (size_t s = 0; s < S; s++) {
                    bload(&v, val + s * NP + j);
                    bscaleadd(&dv, d[s], &v);
                }
                bstore(da + j, &dv);
                bload(&av, a + j);
                bmuladd(&acc, &av, &dv);
            }
            double c = lanes_sum(&acc);
            if (w->gpair) {
                gq = w->gpair + pair * k->pair_len;
                if (!w->gset[pair]) {
                    memset(gq, 0, k->pair_len * sizeof(double));
                    w->gset[pair] = 1;
                }
                w->gq[p] = gq;
            }
            /* The softmax backward over whole blocks (a is zero outside
             * the row, so are the block's other entries of da), and its
             * position part into the pair sums in the same pass; the
             * token part below. */
            for (size_t j = b0; j < b1; j += BLK) {
                bload(&av, a + j);
                bload(&v, da + j);
                for (int q = 0; q < 2; q++)
                    v.h[q] = av.h[q] * (v.h[q] - c);
                bstore(da + j, &v);
                if (gq) {
                    bload(&y, gq + S + j);
                    for (int q = 0; q < 2; q++)
                        y.h[q] += v.h[q];
                    bstore(gq + S + j, &y);
                }
            }
            if (!gq) {
                /* The query's rows of W are x[t] and S + t. */
                add_scores(S, x, da, lo, t, gW + (size_t)x[t] * E);
                add_scores(S, x, da, lo, t, gW + (S + t) * E);
            }
        }
        /* The token parts, key by key over the queries that reach the key
         * (t >= u, and u in the window): consecutive additions go to
         * different pairs' rows, and each entry still takes its keys in
         * order. */
        for (size_t u = 0; w->gpair && u < N; u++) {
            size_t xu = (size_t)x[u], p0, p1;
            reaching(k, u, u, &p0, &p1);
#pragma GCC unroll 4
            for (size_t p = p0; p < p1; p++)
                w->gq[p][xu] += w->da[p * NP + u];
        }
        /* dval = dl^T rows, a tile of keys at a time over the queries
         * that reach it (t >= the tile's first key, and with a window,
         * the window's first key <= its last), into V_h's gradient. */
        for (size_t u0 = 0; u0 < N; u0 += KT) {
            size_t p0, p1, nu = N - u0 < KT ? N - u0 : KT, sv = 0;
            reaching(k, u0, u0 + nu - 1, &p0, &p1);
            for (; sv + SV <= SP / 4; sv += SV)
                dval_tile(k, hrows, dl, w->xp, u0, nu, p0, p1, sv, SV, gvt);
            switch (SP / 4 - sv) {
            case 2: dval_tile(k, hrows, dl, w->xp, u0, nu, p0, p1, sv, 2, gvt); break;
            case 1: dval_tile(k, hrows, dl, w->xp, u0, nu, p0, p1, sv, 1, gvt); break;
            default: break;
            }
        }
    }
}

/* V_h's gradient from its transposed sums.  Both hold their entries'
 * additions in the same order from zero, so a copy is what adding into
 * V_h's gradient all along would have given. */
static void copy_value_grads(const markov *k, const mk_work *w, double *g)
{
    size_t S = k->S, E = k->E, SP = k->SP;
    for (size_t h = 0; h < k->H; h++) {
        double *gV = g + h * k->per_head + E * E;
        const double *gvt = w->gvt + h * E * SP;
        for (size_t s = 0; s < S; s++)
            for (size_t j = 0; j < E; j++)
                gV[s * E + j] = gvt[j * SP + s];
    }
}

/* The pair sums into W_h's rows: pair (s, t) to rows s and S + t, in the
 * pairs' order.  Cloned, and the rows restrict, so that the additions go
 * in whole vectors. */
SW_BLOCK_CLONES
static void add_pair_sums(const markov *k, const mk_work *w, double *g)
{
    size_t S = k->S, N = k->N, E = k->E, pairs = k->H * S * N;
    for (size_t pair = 0; pair < pairs; pair++) {
        if (!w->gset[pair])
            continue;
        const double *restrict gs = w->gpair + pair * k->pair_len;
        size_t h = pair / (S * N), st = pair % (S * N);
        double *gW = g + h * k->per_head;
        double *restrict gq = gW + (st / N) * E, *restrict gp = gW + (S + st % N) * E;
        for (size_t j = 0; j < E; j++) {
            gq[j] += gs[j];
            gp[j] += gs[j];
        }
    }
}

/* Mean cross-entropy over the chain-sampled targets of count sequences;
 * leaves the last sequence's attention rows in w->A and, in an evaluation
 * (g NULL), its log-probabilities in w->L.  With g non-NULL, also the
 * gradient.  fresh: theta is not the previous call's, so the pair factors
 * are recomputed. */
static double forward_backward(const markov *k, mk_work *w, const double *theta, const int *tok,
                               size_t count, double *g, int fresh)
{
    size_t S = k->S, N = k->N, P = k->P, len = N + 1, rows = count * P;
    size_t pairs = k->H * S * N;
    double loss = 0, inv = 1.0 / (double)rows;
    if (w->fset && fresh)
        memset(w->fset, 0, pairs);
    if (g) {
        /* W_h's gradient is added into; V_h's, which follows it, is copied
         * whole at the end (copy_value_grads). */
        for (size_t h = 0; h < k->H; h++)
            memset(g + h * k->per_head, 0, k->E * k->E * sizeof(double));
        if (w->gset)
            memset(w->gset, 0, pairs);
        memset(w->gvt, 0, k->H * k->E * k->SP * sizeof(double));
    }
    for (size_t i = 0; i < count; i++) {
        const int *x = tok + i * len;
        double *A = w->A, *L = w->L;
        forward_sequence(k, w, theta, x, A, L);
        sw_softmax_rows(L, P, S, w->prob, w->lse);
        for (size_t p = 0; p < P; p++) {
            double *l = L + p * S, *prob = w->prob + p * S, *dl = w->dl + p * k->SP;
            size_t target = (size_t)x[k->n + p];
            if (!g) {
                /* An evaluation: the log-probabilities for the observables,
                 * no gradient. */
                for (size_t s = 0; s < S; s++)
                    l[s] -= w->lse[p];
                loss -= l[target];
                continue;
            }
            loss -= l[target] - w->lse[p]; /* the same log-probability */
            /* The target's 1 subtracted in the same pass (x - 0 is x, -0
             * included), looked up rather than tested: GCC compiles
             * (s == target) to a branch, mispredicted once a row. */
            static const double unit[2] = {0, 1};
            for (size_t s = 0; s < S; s++)
                dl[s] = (prob[s] - unit[s == target]) * inv;
        }
        if (g)
            backward_sequence(k, w, x, A, w->dl, g);
    }
    if (g && w->gset)
        add_pair_sums(k, w, g);
    if (g)
        copy_value_grads(k, w, g);
    return loss * inv;
}

/* ---- the system: parameters, held-out loss, observables ---------------- */

static const sw_param_def params[] = {
    {"S", SW_PARAM_INT, "10", 2, 1000, "vocabulary size (one-hot states)"},
    {"N", SW_PARAM_INT, "32", 2, 4096, "context length of the transformer (N >= K m)"},
    {"K", SW_PARAM_INT, "3", 1, 64, "number of lag groups"},
    {"m", SW_PARAM_INT, "1", 1, 64, "lags per group; group k reads lags (k-1)m+1 .. km"},
    {"H", SW_PARAM_INT, "3", 1, H_MAX, "attention heads"},
    {"gamma", SW_PARAM_REAL, "2", 1, 1e3, "importance ratio: lambda_k = c gamma^(K-k)"},
    {"c", SW_PARAM_REAL, "1", 0, 1e3, "scale of the least important group, lambda_K"},
    {"lambdas", SW_PARAM_LIST, "", 0, 1e3, "explicit lambda_1..lambda_K (replaces gamma, c)"},
    {"sigma", SW_PARAM_REAL, "0.1", 0, 50, "initial W_h iid U[-sigma, sigma]; V_h = 0"},
    {"seed", SW_PARAM_INT, "1", 0, 4294967295.0, "seed of the chain, the held-out set, the "
                                                 "initial weights and the training data"},
    {"n_eval", SW_PARAM_INT, "256", 1, 1e6, "held-out sequences for the loss and observables"},
    {"window", SW_PARAM_INT, "0", 0, 4096, "attend to the last `window` positions only (0: "
                                           "all N); the restricted models of kl_ctx<j>"},
    {"compare", SW_PARAM_INT, "0", 0, 1, "1: add columns kl_ctx1..kl_ctxK (KL from models "
                                         "restricted to context j m, see train --restricted)"},
};

static void mk_teardown(sw_model *m)
{
    markov *k = m->ctx;
    free(k->lambda);
    free(k->A);
    free(k->next);
    free(k->logit);
    free(k->eval);
    free(k->truth);
    free(k->truth_p);
    free(k->ref);
    free(k->ref_p);
    sw_eval_cache_free(&k->cache);
    free(k->ref_set);
    free(k->theta0);
    work_free(&k->ew);
    free(k);
    m->ctx = NULL;
}

static void mk_pass(const sw_model *m, const double *x, double *loss, double *obs);

static int mk_build(sw_model *m, markov *k, sw_err *e)
{
    size_t S = k->S;
    k->lambda = malloc(k->K * sizeof(double));
    k->A = malloc(k->K * S * S * sizeof(double));
    k->logit = malloc(S * sizeof(double));
    k->eval = malloc(k->n_eval * (k->N + 1) * sizeof(int));
    k->truth = malloc(k->n_eval * k->P * (k->K + 1) * S * sizeof(double));
    k->truth_p = malloc(k->n_eval * k->P * (k->K + 1) * S * sizeof(double));
    k->theta0 = malloc(m->dim * sizeof(double));
    double *scratch = malloc(S * sizeof(double));
    gsl_rng *rt = sw_train_rng((unsigned long)sw_model_get(m, "seed"), SW_STREAM_TASK);
    gsl_rng *re = sw_train_rng((unsigned long)sw_model_get(m, "seed"), SW_STREAM_EVAL);
    gsl_rng *ri = sw_train_rng((unsigned long)sw_model_get(m, "seed"), SW_STREAM_INIT);
    int rc = SW_OK;
    if (!k->lambda || !k->A || !k->logit || !k->eval || !k->truth || !k->truth_p || !k->theta0 ||
        sw_eval_cache_alloc(&k->cache, m, mk_pass) || !scratch ||
        !rt || !re || !ri || work_alloc(k, &k->ew, 0)) {
        rc = sw_fail(e, SW_EFAIL, "out of memory");
        goto out;
    }
    if (k->compare) {
        k->ref = malloc(k->K * k->n_eval * k->P * S * sizeof(double));
        k->ref_p = malloc(k->K * k->n_eval * k->P * S * sizeof(double));
        k->ref_set = calloc(k->K, sizeof(int));
        if (!k->ref || !k->ref_p || !k->ref_set) {
            rc = sw_fail(e, SW_EFAIL, "out of memory");
            goto out;
        }
    }
    const sw_value *lam = sw_model_value(m, "lambdas");
    for (size_t g = 0; g < k->K; g++)
        k->lambda[g] = lam->n ? lam->v[g]
                              : sw_model_get(m, "c") *
                                    pow(sw_model_get(m, "gamma"), (double)(k->K - 1 - g));
    /* Q_k Haar-orthogonal: sw_z_teacher's W* is exactly that (its xbar
     * draw is discarded). */
    for (size_t g = 0; g < k->K && rc == SW_OK; g++) {
        double *Ak = k->A + g * S * S;
        rc = sw_z_teacher(rt, S, Ak, scratch, e);
        for (size_t i = 0; i < S * S; i++)
            Ak[i] *= k->lambda[g];
    }
    if (!rc && next_table(k))
        rc = sw_fail(e, SW_EFAIL, "out of memory");
    if (rc)
        goto out;
    sample_sequences(k, re, k->n_eval, k->eval, k->logit);
    for (size_t i = 0; i < k->n_eval; i++)
        for (size_t p = 0; p < k->P; p++)
            for (size_t j = 0; j <= k->K; j++) {
                double *q = k->truth + ((i * k->P + p) * (k->K + 1) + j) * S;
                chain_logits(k, k->eval + i * (k->N + 1), k->n - 1 + p, j, q);
                double lse = sw_softmax(q, S, q + (k->truth_p - k->truth));
                for (size_t s = 0; s < S; s++)
                    q[s] -= lse;
            }
    double sigma = sw_model_get(m, "sigma");
    for (size_t h = 0; h < k->H; h++) {
        double *W = k->theta0 + h * k->per_head;
        for (size_t i = 0; i < k->E * k->E; i++)
            W[i] = sigma > 0 ? gsl_ran_flat(ri, -sigma, sigma) : 0;
        memset(W + k->E * k->E, 0, S * k->E * sizeof(double));
    }
out:
    free(scratch);
    gsl_rng_free(rt);
    gsl_rng_free(re);
    gsl_rng_free(ri);
    return rc;
}

static int mk_setup(sw_model *m, sw_err *e)
{
    markov *k = calloc(1, sizeof *k);
    if (!(m->ctx = k))
        return sw_fail(e, SW_EFAIL, "out of memory");
    k->S = (size_t)sw_model_get(m, "S");
    k->N = (size_t)sw_model_get(m, "N");
    k->K = (size_t)sw_model_get(m, "K");
    k->m = (size_t)sw_model_get(m, "m");
    k->H = (size_t)sw_model_get(m, "H");
    k->n_eval = (size_t)sw_model_get(m, "n_eval");
    k->window = (size_t)sw_model_get(m, "window");
    k->compare = (int)sw_model_get(m, "compare");
    k->n = k->K * k->m;
    k->E = k->S + k->N;
    k->NP = (k->N + BLK - 1) / BLK * BLK;
    k->SP = (k->S + 3) / 4 * 4;
    k->pair_len = k->S + k->NP;
    k->tok_regs = k->S <= TOKENS_IN_REGS && k->E >= TOKENS_IN_REGS && SW_BLOCK_CLONE_V4();
    k->per_head = k->E * k->E + k->S * k->E;
    if (k->N < k->n)
        return sw_fail(e, SW_EINPUT, "N: %zu is shorter than the chain's order K m = %zu "
                       "(allowed: N >= K m)", k->N, k->n);
    if (k->window > k->N)
        return sw_fail(e, SW_EINPUT, "window: %zu exceeds N = %zu (allowed: 0 .. N)",
                       k->window, k->N);
    const sw_value *lam = sw_model_value(m, "lambdas");
    if (lam->n && lam->n != k->K)
        return sw_fail(e, SW_EINPUT, "lambdas: expected K = %zu values, got %zu", k->K, lam->n);
    k->P = k->N - k->n + 1;
    size_t n_obs = (k->K + 1) + k->H * k->K + k->H * k->n + (k->compare ? k->K : 0);
    if (sw_model_shape(m, k->H * k->per_head, n_obs, 0))
        return sw_fail(e, SW_EFAIL, "out of memory");
    for (size_t h = 0; h < k->H; h++) {
        size_t base = h * k->per_head;
        for (size_t i = 0; i < k->E; i++)
            for (size_t j = 0; j < k->E; j++)
                sw_model_name_state(m, base + i * k->E + j, "W_h%zu_%zu_%zu", h + 1, i + 1, j + 1);
        for (size_t s = 0; s < k->S; s++)
            for (size_t j = 0; j < k->E; j++)
                sw_model_name_state(m, base + k->E * k->E + s * k->E + j, "V_h%zu_%zu_%zu", h + 1,
                                    s + 1, j + 1);
    }
    size_t o = 0;
    for (size_t j = 0; j <= k->K; j++)
        sw_model_name_obs(m, o++, "kl_%zu", j);
    for (size_t h = 0; h < k->H; h++)
        for (size_t g = 0; g < k->K; g++)
            sw_model_name_obs(m, o++, "att_h%zu_k%zu", h + 1, g + 1);
    for (size_t h = 0; h < k->H; h++)
        for (size_t j = 0; j < k->n; j++)
            sw_model_name_obs(m, o++, "att_h%zu_lag%zu", h + 1, j + 1);
    for (size_t j = 0; k->compare && j < k->K; j++)
        sw_model_name_obs(m, o++, "kl_ctx%zu", j + 1);
    return mk_build(m, k, e);
}

static void mk_init(const sw_model *m, double *x)
{
    const markov *k = m->ctx;
    memcpy(x, k->theta0, m->dim * sizeof *x);
}

/* Runs the held-out set through the model one sequence at a time (the
 * pair factors computed once for all); visit sees each sequence's
 * attention rows and log-probabilities in k->ew.  Returns the mean
 * cross-entropy. */
typedef void (*seq_visit)(const markov *k, size_t seq, void *user);

static double held_out(const sw_model *m, const double *theta, seq_visit visit, void *user)
{
    markov *k = m->ctx;
    double loss = 0;
    for (size_t i = 0; i < k->n_eval; i++) {
        loss += forward_backward(k, &k->ew, theta, k->eval + i * (k->N + 1), 1, NULL, i == 0);
        if (visit)
            visit(k, i, user);
    }
    return loss / (double)k->n_eval;
}

/* KL(q || p) from q's probabilities and log-probabilities and p's
 * log-probabilities. */
static double kl(const double *q, const double *lq, const double *lp, size_t S)
{
    double s = 0;
    for (size_t i = 0; i < S; i++)
        s += q[i] * (lq[i] - lp[i]);
    return s;
}

/* obs[j] += KL from the truth truncated to groups <= j to lp at held-out
 * sequence seq, predicted position p, j = 0..K. */
static void truth_kl(const markov *k, size_t seq, size_t p, const double *lp, double *obs)
{
    size_t S = k->S, n_kl = k->K + 1, at = (seq * k->P + p) * n_kl * S;
    for (size_t j = 0; j < n_kl; j++)
        obs[j] += kl(k->truth_p + at + j * S, k->truth + at + j * S, lp, S);
}

/* Sums of the observables over the held-out positions, divided out by
 * mk_pass. */
static void observe_seq(const markov *k, size_t seq, void *user)
{
    double *obs = user;
    size_t S = k->S, P = k->P, n_kl = k->K + 1, att = n_kl, lag = att + k->H * k->K,
           ctx = lag + k->H * k->n;
    for (size_t p = 0; p < P; p++) {
        size_t pos = seq * P + p, t = k->n - 1 + p;
        const double *lp = k->ew.L + p * S;
        truth_kl(k, seq, p, lp, obs);
        for (size_t h = 0; h < k->H; h++) {
            const double *a = k->ew.A + (h * P + p) * k->NP;
            for (size_t j = 1; j <= k->n; j++) {
                obs[lag + h * k->n + j - 1] += a[t + 1 - j];
                obs[att + h * k->K + (j - 1) / k->m] += a[t + 1 - j];
            }
        }
        for (size_t j = 0; k->compare && j < k->K; j++) {
            size_t at = (j * k->n_eval * P + pos) * S;
            obs[ctx + j] += k->ref_set[j] ? kl(k->ref_p + at, k->ref + at, lp, S) : NAN;
        }
    }
}

static void mk_pass(const sw_model *m, const double *x, double *loss, double *obs)
{
    const markov *k = m->ctx;
    *loss = held_out(m, x, observe_seq, obs);
    for (size_t i = 0; i < m->n_obs; i++)
        obs[i] /= (double)(k->n_eval * k->P);
}

static double mk_loss(const sw_model *m, const double *x)
{
    markov *k = m->ctx;
    return sw_eval_loss(&k->cache, m, x);
}

static void mk_observe(const sw_model *m, const double *x, double *obs)
{
    markov *k = m->ctx;
    sw_eval_observe(&k->cache, m, x, obs);
}

const double *sw_markov_features(const sw_model *m)
{
    const markov *k = m->ctx;
    return k->A;
}

size_t sw_markov_pred_size(const sw_model *m)
{
    const markov *k = m->ctx;
    return k->n_eval * k->P * k->S;
}

static void copy_seq(const markov *k, size_t seq, void *user)
{
    double *logp = user;
    memcpy(logp + seq * k->P * k->S, k->ew.L, k->P * k->S * sizeof(double));
}

void sw_markov_predict(const sw_model *m, const double *theta, double *logp)
{
    held_out(m, theta, copy_seq, logp);
}

int sw_markov_set_reference(sw_model *m, size_t j, const double *logp, sw_err *e)
{
    markov *k = m->ctx;
    if (!k->compare || j < 1 || j > k->K)
        return sw_fail(e, SW_EINPUT, "reference %zu: the model has no column kl_ctx%zu "
                       "(allowed: compare = 1, 1 <= j <= K)", j, j);
    size_t n = k->n_eval * k->P * k->S, at = (j - 1) * n;
    memcpy(k->ref + at, logp, n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        k->ref_p[at + i] = exp(logp[i]);
    k->ref_set[j - 1] = 1;
    sw_eval_cache_reset(&k->cache);
    return SW_OK;
}

const sw_system sw_system_markov = {
    .name = "markov",
    .summary = "transformer on the high-order Markov chain (trainer only: no flow)",
    .doc = "State: per head W_h (E x E, E = S + N; scores e_t^T W_h e_u on one-hot token +\n"
           "position inputs), then V_h (S x E).  loss: cross-entropy on n_eval held-out\n"
           "sequences.  Observables kl_<j>: KL from the truth truncated to groups <= j to\n"
           "the model, j = 0..K; att_h<h>_k<k>: head h's attention mass on group k;\n"
           "att_h<h>_lag<j>: on lag j; kl_ctx<j> (compare = 1): KL from the model\n"
           "restricted to context j m.  All averaged over held-out predicted positions.",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .jac_doc = "none (no flow)",
    .setup = mk_setup,
    .teardown = mk_teardown,
    .init = mk_init,
    .rhs = NULL,
    .jac = NULL,
    .loss = mk_loss,
    .observe = mk_observe,
};

/* ---- the task ---------------------------------------------------------- */

static size_t task_sample_size(const sw_learner *l)
{
    const markov *k = l->m->ctx;
    return (k->N + 1) * sizeof(int);
}

/* The learner's own buffers: a minibatch pass and the sampler's logits
 * (the model's are for the held-out passes). */
typedef struct mk_task {
    mk_work w;
    double *logit;
} mk_task;

static void task_sample(const sw_learner *l, gsl_rng *r, size_t n, void *dst)
{
    const mk_task *tk = l->ctx;
    sample_sequences(l->m->ctx, r, n, dst, tk->logit);
}

static void task_teardown(sw_learner *l)
{
    mk_task *tk = l->ctx;
    work_free(&tk->w);
    free(tk->logit);
    free(tk);
    l->ctx = NULL;
}

static int task_setup(sw_learner *l, sw_err *e)
{
    const markov *k = l->m->ctx;
    mk_task *tk = calloc(1, sizeof *tk);
    if (!(l->ctx = tk) || !(tk->logit = malloc(k->S * sizeof(double))))
        return sw_fail(e, SW_EFAIL, "out of memory");
    return SW_OK;
}

/* The buffers hold one sequence whatever the batch (n). */
static int task_reserve(sw_learner *l, size_t n)
{
    (void)n;
    mk_task *tk = l->ctx;
    return work_alloc(l->m->ctx, &tk->w, 1);
}

static double task_grad(sw_learner *l, const double *theta, const void *data, size_t n,
                        double *g)
{
    mk_task *tk = l->ctx;
    return forward_backward(l->m->ctx, &tk->w, theta, data, n, g, 1);
}

const sw_task sw_task_markov = {
    .name = "markov",
    .summary = "minimal transformer on the high-order Markov chain (Yuksel et al. Sec. 2)",
    .sys = &sw_system_markov,
    .setup = task_setup,
    .teardown = task_teardown,
    .sample_size = task_sample_size,
    .sample = task_sample,
    .reserve = task_reserve,
    .grad = task_grad,
};

/* ---- the chain for other models (task tf-markov) ------------------------ */

void sw_markov_sample(const sw_model *m, gsl_rng *r, size_t n, int *dst, double *logit)
{
    sample_sequences(m->ctx, r, n, dst, logit);
}

const int *sw_markov_held_out(const sw_model *m, size_t *n_eval)
{
    const markov *k = m->ctx;
    *n_eval = k->n_eval;
    return k->eval;
}

void sw_markov_add_kl(const sw_model *m, size_t seq, size_t p, const double *lp, double *obs)
{
    truth_kl(m->ctx, seq, p, lp, obs);
}
