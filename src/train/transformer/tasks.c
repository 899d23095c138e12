/* The three trainer tasks of the small transformer: tf-location (the
 * single-location regression variant, Zucchet et al. Sec. 2.4), tf-recall
 * (in-context associative recall, Sec. 3) and tf-markov (the Markov chain
 * of task markov, Yuksel et al. Sec. 2.2).
 *
 * Each is an unregistered system (no flow: loss and observables on a
 * held-out test set) plus an sw_task.  The trainer keeps theta in double;
 * a gradient call rounds it to float, runs the single-precision net and
 * widens the gradient back (docs/transformer.md says why single). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "evalcache.h"
#include "markov.h"
#include "model.h"
#include "stagewise/train.h"
#include "transformer.h"

typedef enum { K_LOCATION, K_RECALL, K_MARKOV } tf_kind;

enum { EVAL_CHUNK = 64 };

typedef struct tfk {
    tf_kind kind;
    sw_tf_config c;
    int freeze;       /* embedding fixed to the identity */
    size_t d, B;      /* location: token width, copies; recall: B copies */
    double p;         /* cross-sample repetition */
    float *Ws, *xbar; /* location: teacher W* (d x d), the repeated token */
    size_t Nt, Np;    /* recall */
    sw_model *chain;  /* markov: the chain, its held-out set and truths */
    size_t K, lag_m, n_lag, S;
    size_t ssize;     /* bytes of one sample */
    size_t n_test;
    unsigned char *test;
    double *theta0;
    /* Evaluation: a net, float parameters, the last evaluation, and (markov)
     * one prediction in double. */
    sw_tf_net *net;
    float *theta_f;
    sw_eval_cache cache;
    double *lp;
    /* Scratch of the samplers and batch packing (cap EVAL_CHUNK). */
    size_t *perm, *perm2, *slot;
    double *logit;
    void *tok, *target;
} tfk;

/* ---- samples ------------------------------------------------------------ */

/* The first m entries of a uniform random permutation of 0..n-1 in perm,
 * after entries fixed in perm[0..first-1]. */
static void partial_shuffle(gsl_rng *r, size_t *perm, size_t n, size_t first, size_t m)
{
    for (size_t b = first; b < m; b++) {
        size_t j = b + gsl_rng_uniform_int(r, n - b), t = perm[j];
        perm[j] = perm[b];
        perm[b] = t;
    }
}

/* location: T x (d+1) inputs (token, marker), then d targets, as floats. */
static void sample_location(const tfk *k, gsl_rng *r, size_t n, void *dst, double p, size_t B)
{
    size_t d = k->d, T = k->c.T, w = d + 1;
    float *rec = dst;
    double sd = 1 / sqrt((double)d);
    for (size_t i = 0; i < n; i++, rec += T * w + d) {
        for (size_t t = 0; t < T; t++) {
            for (size_t j = 0; j < d; j++)
                rec[t * w + j] = (float)gsl_ran_gaussian(r, sd);
            rec[t * w + d] = 0;
        }
        float x[4096];
        int fixed = p > 0 && gsl_rng_uniform(r) < p;
        for (size_t j = 0; j < d; j++)
            x[j] = fixed ? k->xbar[j] : (float)gsl_ran_gaussian(r, sd);
        /* B distinct relevant positions, uniform. */
        for (size_t t = 0; t < T; t++)
            k->perm[t] = t;
        partial_shuffle(r, k->perm, T, 0, B);
        for (size_t b = 0; b < B; b++) {
            memcpy(rec + k->perm[b] * w, x, d * sizeof(float));
            rec[k->perm[b] * w + d] = 1;
        }
        float *y = rec + T * w;
        for (size_t a = 0; a < d; a++) {
            double s = 0;
            for (size_t j = 0; j < d; j++)
                s += (double)k->Ws[a * d + j] * x[j];
            y[a] = (float)s;
        }
    }
}

/* recall: T = 2 Np + 1 tokens, then the target, as ints.  Pair 0 is the
 * query's and fills B of the Np slots; the others have distinct keys.
 * With probability p the query key is one of the favoured tokens 0, 1. */
static void sample_recall(const tfk *k, gsl_rng *r, size_t n, void *dst, double p, size_t B)
{
    size_t Nt = k->Nt, Np = k->Np, pairs = Np - B + 1;
    int *rec = dst;
    for (size_t i = 0; i < n; i++, rec += 2 * Np + 2) {
        for (size_t v = 0; v < Nt; v++)
            k->perm[v] = k->perm2[v] = v;
        size_t first = 0;
        if (p > 0 && gsl_rng_uniform(r) < p) {
            size_t f = gsl_rng_uniform_int(r, 2);
            k->perm[f] = 0;
            k->perm[0] = f;
            first = 1;
        }
        partial_shuffle(r, k->perm, Nt, first, pairs);
        partial_shuffle(r, k->perm2, Nt, 0, pairs);
        for (size_t s = 0; s < Np; s++)
            k->slot[s] = s < B ? 0 : s - B + 1;
        gsl_ran_shuffle(r, k->slot, Np, sizeof(size_t));
        for (size_t s = 0; s < Np; s++) {
            rec[2 * s] = (int)k->perm[k->slot[s]];
            rec[2 * s + 1] = (int)k->perm2[k->slot[s]];
        }
        rec[2 * Np] = (int)k->perm[0];
        rec[2 * Np + 1] = (int)k->perm2[0];
    }
}

static void draw(const tfk *k, gsl_rng *r, size_t n, void *dst, int test)
{
    /* Test data: no cross-sample repetition; recall also no in-context. */
    double p = test ? 0 : k->p;
    if (k->kind == K_LOCATION)
        sample_location(k, r, n, dst, p, k->B);
    else if (k->kind == K_RECALL)
        sample_recall(k, r, n, dst, p, test ? 1 : k->B);
    else
        sw_markov_sample(k->chain, r, n, dst, k->logit);
}

/* The model's view of n samples: inputs and targets. */
static sw_tf_batch pack(const tfk *k, const void *data, size_t n, void *in, void *out)
{
    sw_tf_batch b = {0};
    size_t T = k->c.T;
    if (k->kind == K_LOCATION) {
        /* Inputs and targets interleave: read out through the stride. */
        const float *rec = data;
        float *x = in, *y = out;
        size_t w = k->d + 1, rs = T * w + k->d;
        for (size_t i = 0; i < n; i++) {
            memcpy(x + i * T * w, rec + i * rs, T * w * sizeof(float));
            memcpy(y + i * k->d, rec + i * rs + T * w, k->d * sizeof(float));
        }
        b.x = x;
        b.y = y;
    } else if (k->kind == K_RECALL) {
        const int *rec = data;
        int *tok = in, *target = out;
        for (size_t i = 0; i < n; i++) {
            memcpy(tok + i * T, rec + i * (T + 1), T * sizeof(int));
            target[i] = rec[i * (T + 1) + T];
        }
        b.tok = tok;
        b.target = target;
    } else {
        /* Input x_0 .. x_{N-1}; the query at t predicts x_{t+1}. */
        const int *rec = data;
        int *tok = in, *target = out;
        size_t Tq = T - k->c.q0;
        for (size_t i = 0; i < n; i++) {
            memcpy(tok + i * T, rec + i * (T + 1), T * sizeof(int));
            memcpy(target + i * Tq, rec + i * (T + 1) + k->c.q0 + 1, Tq * sizeof(int));
        }
        b.tok = tok;
        b.target = target;
    }
    return b;
}

/* Bytes of the packing buffers for cap samples (tok holds location's
 * inputs, target its targets). */
static size_t pack_tok_size(const tfk *k, size_t cap)
{
    size_t T = k->c.T;
    return k->kind == K_LOCATION ? cap * T * (k->d + 1) * sizeof(float) : cap * T * sizeof(int);
}

static size_t pack_target_size(const tfk *k, size_t cap)
{
    return k->kind == K_LOCATION ? cap * k->d * sizeof(float)
                                 : cap * (k->c.T - k->c.q0) * sizeof(int);
}

static void to_float(const double *x, size_t n, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (float)x[i];
}

/* ---- evaluation ------------------------------------------------------- */

/* Sums of the observables over one evaluated chunk (first: index of its
 * first test sample); markov: lp, S doubles of scratch, holds one
 * prediction for the chain's KL. */
static void observe_chunk(const tfk *k, const void *data, size_t first, size_t n, double *lp,
                          double *obs)
{
    const sw_tf_config *c = &k->c;
    size_t T = c->T, L = c->L, H = c->H, rows;
    const float *Z = sw_tf_net_output(k->net);
    if (k->kind == K_LOCATION) {
        const float *rec = data;
        size_t w = k->d + 1, rs = T * w + k->d;
        for (size_t i = 0; i < n; i++)
            for (size_t l = 0; l < L; l++)
                for (size_t h = 0; h < H; h++) {
                    const float *P = sw_tf_net_attention(k->net, l, h, i, &rows);
                    const float *row = P + (rows - 1) * T; /* the last position's */
                    double s = 0;
                    for (size_t t = 0; t < T; t++)
                        if (rec[i * rs + t * w + k->d] > 0.5f)
                            s += row[t];
                    obs[l * H + h] += s;
                }
    } else if (k->kind == K_RECALL) {
        const int *rec = data;
        size_t Np = k->Np, Nt = k->Nt;
        for (size_t i = 0; i < n; i++) {
            const int *x = rec + i * (T + 1);
            const float *z = Z + i * Nt;
            size_t best = 0;
            for (size_t v = 1; v < Nt; v++)
                best = z[v] > z[best] ? v : best;
            obs[0] += (int)best == x[T];
            for (size_t l = 0; l < L; l++)
                for (size_t h = 0; h < H; h++) {
                    const float *P = sw_tf_net_attention(k->net, l, h, i, &rows);
                    const float *row = P + (rows - 1) * T;
                    double key = 0, val = 0, prev = 0;
                    for (size_t s = 0; s < Np; s++)
                        if (x[2 * s] == x[T - 1]) {
                            key += row[2 * s];
                            val += row[2 * s + 1];
                        }
                    /* Copying: each value position's mass on its key. */
                    for (size_t s = 0; rows == T && s < Np; s++)
                        prev += P[(2 * s + 1) * T + 2 * s] / (double)Np;
                    double *o = obs + 2 + 3 * (l * H + h);
                    o[0] += key;
                    o[1] += val;
                    o[2] += rows == T ? prev : NAN;
                }
        }
    } else {
        size_t Tq = T - c->q0, S = k->S, Kp = k->K + 1;
        for (size_t i = 0; i < n; i++)
            for (size_t q = 0; q < Tq; q++) {
                const float *z = Z + (i * Tq + q) * S;
                for (size_t v = 0; v < S; v++)
                    lp[v] = z[v];
                sw_markov_add_kl(k->chain, first + i, q, lp, obs);
                size_t t = c->q0 + q;
                for (size_t l = 0; l < L; l++)
                    for (size_t h = 0; h < H; h++) {
                        const float *P = sw_tf_net_attention(k->net, l, h, i, &rows);
                        const float *row = P + (t - (T - rows)) * T;
                        for (size_t j = 1; j <= k->n_lag; j++)
                            obs[Kp + (l * H + h) * k->K + (j - 1) / k->lag_m] += row[t + 1 - j];
                    }
            }
    }
}

/* Loss and observables on the test set. */
static void tf_pass(const sw_model *m, const double *theta, double *loss_out, double *obs)
{
    tfk *k = m->ctx;
    to_float(theta, m->dim, k->theta_f);
    const unsigned char *test = k->test;
    size_t per = k->ssize;
    if (k->kind == K_MARKOV)
        test = (const void *)sw_markov_held_out(k->chain, &(size_t){0});
    double loss = 0;
    for (size_t first = 0; first < k->n_test; first += EVAL_CHUNK) {
        size_t n = k->n_test - first < EVAL_CHUNK ? k->n_test - first : EVAL_CHUNK;
        const void *data = test + first * per;
        sw_tf_batch b = pack(k, data, n, k->tok, k->target);
        loss += (double)n * sw_tf_net_forward(k->net, k->theta_f, &b, n);
        observe_chunk(k, data, first, n, k->lp, obs);
    }
    *loss_out = loss / (double)k->n_test;
    size_t per_obs = k->kind == K_MARKOV ? k->n_test * (k->c.T - k->c.q0) : k->n_test;
    for (size_t i = 0; i < m->n_obs; i++)
        obs[i] /= (double)per_obs;
    if (k->kind == K_RECALL) {
        /* Without recall the best guess is one of the context's values. */
        double chance = 1.0 / (double)k->Np;
        obs[1] = (obs[0] - chance) / (1 - chance);
    }
}

static double tf_loss(const sw_model *m, const double *x)
{
    tfk *k = m->ctx;
    return sw_eval_loss(&k->cache, m, x);
}

static void tf_observe(const sw_model *m, const double *x, double *obs)
{
    tfk *k = m->ctx;
    sw_eval_observe(&k->cache, m, x, obs);
}

static void tf_init(const sw_model *m, double *x)
{
    const tfk *k = m->ctx;
    memcpy(x, k->theta0, m->dim * sizeof(double));
}

/* ---- parameters -------------------------------------------------------- */

#define MODEL_PARAMS(L, H, D, QK, MLP, LN)                                                       \
    {"L", SW_PARAM_INT, #L, 1, 64, "transformer blocks"},                                        \
        {"heads", SW_PARAM_INT, #H, 1, 64, "attention heads (value width d_model / heads)"},    \
        {"d_model", SW_PARAM_INT, #D, 1, 4096, "residual stream width"},                         \
        {"d_qk", SW_PARAM_INT, #QK, 1, 1024, "query/key width per head"},                        \
        {"mlp", SW_PARAM_INT, #MLP, 0, 1, "1: an MLP after each attention (GELU)"},              \
        {"mlp_factor", SW_PARAM_INT, "4", 1, 64, "MLP hidden width / d_model"},                  \
        {"ln", SW_PARAM_INT, #LN, 0, 1, "1: pre-LayerNorm before attention, MLP and readout"},   \
        {"pos", SW_PARAM_INT, "1", 0, 1, "1: add fixed sinusoidal positions to the embedding"},  \
        {"seed", SW_PARAM_INT, "1", 0, 4294967295.0, "seed of the task, test set, initial "      \
                                                      "weights and training data"}

static const sw_param_def loc_params[] = {
    MODEL_PARAMS(2, 4, 256, 64, 1, 0),
    {"d", SW_PARAM_INT, "16", 1, 4096, "token dimension (input width d + 1 with the marker)"},
    {"T", SW_PARAM_INT, "32", 1, 65536, "sequence length"},
    {"B", SW_PARAM_INT, "1", 1, 65536, "in-context repetition: copies of the relevant token"},
    {"p", SW_PARAM_REAL, "0", 0, 1, "cross-sample repetition: probability the relevant token "
                                    "is the fixed e_1"},
    {"identity", SW_PARAM_INT, "0", 0, 1, "1: input embedding frozen to the identity (needs "
                                          "d_model = d + 1)"},
    {"n_test", SW_PARAM_INT, "512", 1, 1e6, "test sequences (p = 0) for loss and observables"},
};

static const sw_param_def rec_params[] = {
    MODEL_PARAMS(2, 4, 256, 64, 0, 0),
    {"N_tokens", SW_PARAM_INT, "64", 2, 65536, "vocabulary of keys and values"},
    {"N_pairs", SW_PARAM_INT, "16", 2, 4096, "key-value pairs in context (T = 2 N_pairs + 1)"},
    {"B", SW_PARAM_INT, "1", 1, 4096, "in-context repetition: copies of the queried pair"},
    {"p", SW_PARAM_REAL, "0", 0, 1, "cross-sample repetition: extra probability that the "
                                    "query key is token 0 or 1"},
    {"n_test", SW_PARAM_INT, "512", 1, 1e6, "test sequences (B = 1, p = 0)"},
};

static const sw_param_def mk_params[] = {
    MODEL_PARAMS(1, 3, 96, 32, 0, 0),
    {"S", SW_PARAM_INT, "10", 2, 1000, "vocabulary size"},
    {"N", SW_PARAM_INT, "32", 2, 4096, "context length (N >= K m)"},
    {"K", SW_PARAM_INT, "3", 1, 64, "number of lag groups"},
    {"m", SW_PARAM_INT, "1", 1, 64, "lags per group"},
    {"gamma", SW_PARAM_REAL, "2", 1, 1e3, "importance ratio: lambda_k = c gamma^(K-k)"},
    {"c", SW_PARAM_REAL, "1", 0, 1e3, "scale of the least important group, lambda_K"},
    {"lambdas", SW_PARAM_LIST, "", 0, 1e3, "explicit lambda_1..lambda_K (replaces gamma, c)"},
    {"n_eval", SW_PARAM_INT, "256", 1, 1e6, "held-out sequences (the markov task's)"},
};

/* ---- setup ------------------------------------------------------------- */

static void tf_teardown(sw_model *m)
{
    tfk *k = m->ctx;
    sw_tf_net_free(k->net);
    sw_model_free(k->chain);
    free(k->Ws);
    free(k->xbar);
    free(k->test);
    free(k->theta0);
    free(k->theta_f);
    sw_eval_cache_free(&k->cache);
    free(k->lp);
    free(k->perm);
    free(k->perm2);
    free(k->slot);
    free(k->logit);
    free(k->tok);
    free(k->target);
    free(k);
    m->ctx = NULL;
}

/* The markov task's chain, from this model's chain parameters: every
 * parameter the two systems share by name (S, N, K, m, gamma, c, lambdas,
 * seed, n_eval), one head (the chain does not depend on H), and markov's
 * defaults only for its own model's parameters, which the chain and its
 * held-out set do not depend on.  Any other markov parameter without a
 * counterpart here is refused, so that observe_chunk's reading of the
 * chain's positions as the model's (the same S, N, K and m) cannot be
 * undone by a parameter added to one table and not the other. */
static int build_chain(sw_model *m, tfk *k, sw_err *e)
{
    const sw_system *sys = &sw_system_markov;
    size_t n = sys->n_params;
    sw_value *pv = calloc(n, sizeof *pv);
    int *own = calloc(n, sizeof *own);
    double one = 1;
    int rc = pv && own ? SW_OK : sw_fail(e, SW_EFAIL, "out of memory");
    for (size_t i = 0; rc == SW_OK && i < n; i++) {
        const char *name = sys->params[i].name;
        if (strcmp(name, "H") == 0)
            pv[i] = (sw_value){1, &one};
        else if (sw_param_index(m->sys, name) >= 0)
            pv[i] = *sw_model_value(m, name);
        else if (strcmp(name, "sigma") && strcmp(name, "window") && strcmp(name, "compare"))
            rc = sw_fail(e, SW_EFAIL, "tf-markov: markov's parameter %s has no counterpart here",
                         name);
        else if ((rc = sw_param_parse(&sys->params[i], sys->params[i].def, &pv[i], e)) == SW_OK)
            own[i] = 1;
    }
    if (rc == SW_OK)
        rc = sw_model_alloc_values(sys, pv, &k->chain, e);
    for (size_t i = 0; own && i < n; i++)
        if (own[i])
            free(pv[i].v);
    free(pv);
    free(own);
    return rc;
}

static int tf_setup_kind(sw_model *m, tf_kind kind, sw_err *e)
{
    tfk *k = calloc(1, sizeof *k);
    if (!(m->ctx = k))
        return sw_fail(e, SW_EFAIL, "out of memory");
    k->kind = kind;
    sw_tf_config *c = &k->c;
    c->L = (size_t)sw_model_get(m, "L");
    c->H = (size_t)sw_model_get(m, "heads");
    c->D = (size_t)sw_model_get(m, "d_model");
    c->dqk = (size_t)sw_model_get(m, "d_qk");
    c->F = sw_model_get(m, "mlp") ? (size_t)sw_model_get(m, "mlp_factor") * c->D : 0;
    c->ln = (int)sw_model_get(m, "ln");
    c->pos = (int)sw_model_get(m, "pos");
    if (c->D % c->H)
        return sw_fail(e, SW_EINPUT, "heads: %zu does not divide d_model = %zu (allowed: "
                       "divisors of d_model)", c->H, c->D);
    unsigned long seed = (unsigned long)sw_model_get(m, "seed");
    size_t n_obs = 0;
    if (kind == K_LOCATION) {
        k->d = (size_t)sw_model_get(m, "d");
        c->T = (size_t)sw_model_get(m, "T");
        k->B = (size_t)sw_model_get(m, "B");
        k->p = sw_model_get(m, "p");
        k->freeze = (int)sw_model_get(m, "identity");
        k->n_test = (size_t)sw_model_get(m, "n_test");
        c->q0 = c->T - 1;
        c->d_in = k->d + 1;
        c->d_out = k->d;
        c->loss = SW_TF_MSE;
        k->ssize = (c->T * (k->d + 1) + k->d) * sizeof(float);
        if (k->B > c->T)
            return sw_fail(e, SW_EINPUT, "B: %zu copies do not fit in T = %zu (allowed: 1 .. T)",
                           k->B, c->T);
        if (k->freeze && c->D != k->d + 1)
            return sw_fail(e, SW_EINPUT, "identity: needs d_model = d + 1 = %zu, got %zu",
                           k->d + 1, c->D);
        n_obs = c->L * c->H;
    } else if (kind == K_RECALL) {
        k->Nt = (size_t)sw_model_get(m, "N_tokens");
        k->Np = (size_t)sw_model_get(m, "N_pairs");
        k->B = (size_t)sw_model_get(m, "B");
        k->p = sw_model_get(m, "p");
        k->n_test = (size_t)sw_model_get(m, "n_test");
        c->T = 2 * k->Np + 1;
        c->q0 = c->T - 1;
        c->vocab = c->d_out = k->Nt;
        c->loss = SW_TF_CE;
        k->ssize = (c->T + 1) * sizeof(int);
        if (k->B > k->Np)
            return sw_fail(e, SW_EINPUT, "B: %zu copies exceed N_pairs = %zu (allowed: 1 .. "
                           "N_pairs)", k->B, k->Np);
        if (k->Np > k->Nt)
            return sw_fail(e, SW_EINPUT, "N_pairs: %zu distinct keys need N_tokens >= N_pairs "
                           "(got N_tokens = %zu)", k->Np, k->Nt);
        n_obs = 2 + 3 * c->L * c->H;
    } else {
        int rc = build_chain(m, k, e);
        if (rc)
            return rc;
        k->S = (size_t)sw_model_get(m, "S");
        k->K = (size_t)sw_model_get(m, "K");
        k->lag_m = (size_t)sw_model_get(m, "m");
        k->n_lag = k->K * k->lag_m;
        (void)sw_markov_held_out(k->chain, &k->n_test);
        c->T = (size_t)sw_model_get(m, "N");
        c->q0 = k->n_lag - 1;
        c->vocab = c->d_out = k->S;
        c->loss = SW_TF_CE;
        k->ssize = (c->T + 1) * sizeof(int);
        n_obs = k->K + 1 + c->L * c->H * k->K;
    }
    size_t emb; /* where the embedding starts in theta */
    if (sw_model_shape(m, sw_tf_layout(c, NULL, &emb, &(size_t){0}, &(size_t){0}), n_obs, 0))
        return sw_fail(e, SW_EFAIL, "out of memory");
    /* Parameters stay unnamed: a million names would cost more than the
     * model; `describe`-style listings are not offered for these tasks. */
    size_t o = 0;
    if (kind == K_LOCATION) {
        for (size_t l = 0; l < c->L; l++)
            for (size_t h = 0; h < c->H; h++)
                sw_model_name_obs(m, o++, "att_l%zu_h%zu", l + 1, h + 1);
    } else if (kind == K_RECALL) {
        sw_model_name_obs(m, o++, "acc");
        sw_model_name_obs(m, o++, "acc_rel");
        for (size_t l = 0; l < c->L; l++)
            for (size_t h = 0; h < c->H; h++) {
                sw_model_name_obs(m, o++, "att_l%zu_h%zu_key", l + 1, h + 1);
                sw_model_name_obs(m, o++, "att_l%zu_h%zu_val", l + 1, h + 1);
                sw_model_name_obs(m, o++, "att_l%zu_h%zu_prev", l + 1, h + 1);
            }
    } else {
        for (size_t j = 0; j <= k->K; j++)
            sw_model_name_obs(m, o++, "kl_%zu", j);
        for (size_t l = 0; l < c->L; l++)
            for (size_t h = 0; h < c->H; h++)
                for (size_t g = 0; g < k->K; g++)
                    sw_model_name_obs(m, o++, "att_l%zu_h%zu_k%zu", l + 1, h + 1, g + 1);
    }
    size_t scratch = c->T > k->Nt ? c->T : k->Nt;
    k->net = sw_tf_net_alloc(c, EVAL_CHUNK);
    k->theta0 = malloc(m->dim * sizeof(double));
    k->theta_f = malloc(m->dim * sizeof(float));
    k->lp = malloc((k->S ? k->S : 1) * sizeof(double));
    k->perm = malloc(scratch * sizeof(size_t));
    k->perm2 = malloc(scratch * sizeof(size_t));
    k->slot = malloc(scratch * sizeof(size_t));
    k->logit = malloc((k->S ? k->S : 1) * sizeof(double));
    k->tok = malloc(pack_tok_size(k, EVAL_CHUNK));
    k->target = malloc(pack_target_size(k, EVAL_CHUNK));
    if (kind != K_MARKOV)
        k->test = malloc(k->n_test * k->ssize);
    if (kind == K_LOCATION) {
        k->Ws = malloc(k->d * k->d * sizeof(float));
        k->xbar = calloc(k->d, sizeof(float));
    }
    gsl_rng *rt = sw_train_rng(seed, SW_STREAM_TASK), *re = sw_train_rng(seed, SW_STREAM_EVAL),
            *ri = sw_train_rng(seed, SW_STREAM_INIT);
    int rc = SW_OK;
    if (!k->net || !k->theta0 || !k->theta_f || sw_eval_cache_alloc(&k->cache, m, tf_pass) ||
        !k->lp || !k->perm ||
        !k->perm2 || !k->slot || !k->logit || !k->tok || !k->target ||
        (kind != K_MARKOV && !k->test) || (kind == K_LOCATION && (!k->Ws || !k->xbar)) || !rt ||
        !re || !ri) {
        rc = sw_fail(e, SW_EFAIL, "out of memory");
        goto out;
    }
    if (kind == K_LOCATION) {
        for (size_t i = 0; i < k->d * k->d; i++)
            k->Ws[i] = (float)gsl_ran_gaussian(rt, 1 / sqrt((double)k->d));
        k->xbar[0] = 1;
    }
    if (kind != K_MARKOV)
        draw(k, re, k->n_test, k->test, 1);
    sw_tf_net_init(k->net, k->theta_f, ri);
    for (size_t i = 0; i < m->dim; i++)
        k->theta0[i] = k->theta_f[i];
    if (k->freeze) {
        for (size_t i = 0; i <= c->d_in; i++) /* the bias row is zero */
            for (size_t j = 0; j < c->D; j++)
                k->theta0[emb + i * c->D + j] = i == j;
    }
out:
    gsl_rng_free(rt);
    gsl_rng_free(re);
    gsl_rng_free(ri);
    return rc;
}

static int loc_setup(sw_model *m, sw_err *e)
{
    return tf_setup_kind(m, K_LOCATION, e);
}

static int rec_setup(sw_model *m, sw_err *e)
{
    return tf_setup_kind(m, K_RECALL, e);
}

static int mk_setup(sw_model *m, sw_err *e)
{
    return tf_setup_kind(m, K_MARKOV, e);
}

#define TF_SYSTEM(NAME, SUMMARY, DOC, PARAMS, SETUP)                                             \
    {.name = NAME, .summary = SUMMARY, .doc = DOC, .params = PARAMS,                             \
     .n_params = sizeof PARAMS / sizeof PARAMS[0], .jac_doc = "none (no flow)", .setup = SETUP,  \
     .teardown = tf_teardown, .init = tf_init, .loss = tf_loss, .observe = tf_observe}

const sw_system sw_system_tf_location = TF_SYSTEM(
    "tf-location", "small transformer on the single-location regression variant (no flow)",
    "loss: 1/2 |y - W* x_rel|^2 on n_test held-out sequences with p = 0.  att_l<l>_h<h>: the\n"
    "last position's attention mass on the marked positions in block l, head h.",
    loc_params, loc_setup);

const sw_system sw_system_tf_recall = TF_SYSTEM(
    "tf-recall", "small transformer on in-context associative recall (no flow)",
    "loss: cross-entropy of the queried value on n_test held-out sequences (B = 1, p = 0).\n"
    "acc: test accuracy; acc_rel = (acc - 1/N_pairs) / (1 - 1/N_pairs), from a guess among\n"
    "the context's values (0) to perfect recall (1).  For block l,\n"
    "head h: att_l<l>_h<h>_key, _val: the query's mass on the matching key and value\n"
    "positions; _prev: mean mass of value positions on their own key (the copying step;\n"
    "NaN in the last block, which computes only the query row).",
    rec_params, rec_setup);

const sw_system sw_system_tf_markov = TF_SYSTEM(
    "tf-markov", "small transformer on the high-order Markov chain (no flow)",
    "loss: next-token cross-entropy on the markov task's held-out sequences.  kl_<j>: KL\n"
    "from the truth truncated to groups <= j to the model (as markov reports it);\n"
    "att_l<l>_h<h>_k<g>: mass of block l, head h on lag group g, over predicted positions.",
    mk_params, mk_setup);

/* ---- the tasks --------------------------------------------------------- */

typedef struct tf_learn {
    sw_tf_net *net;
    float *theta, *g;
    void *tok, *target;
} tf_learn;

static size_t task_sample_size(const sw_learner *l)
{
    return ((const tfk *)l->m->ctx)->ssize;
}

static void task_sample(const sw_learner *l, gsl_rng *r, size_t n, void *dst)
{
    draw(l->m->ctx, r, n, dst, 0);
}

static void task_teardown(sw_learner *l)
{
    tf_learn *t = l->ctx;
    sw_tf_net_free(t->net);
    free(t->theta);
    free(t->g);
    free(t->tok);
    free(t->target);
    free(t);
    l->ctx = NULL;
}

static int task_setup(sw_learner *l, sw_err *e)
{
    tf_learn *t = calloc(1, sizeof *t);
    if (!(l->ctx = t) || !(t->theta = malloc(l->m->dim * sizeof(float))) ||
        !(t->g = malloc(l->m->dim * sizeof(float))))
        return sw_fail(e, SW_EFAIL, "out of memory");
    return SW_OK;
}

static int task_reserve(sw_learner *l, size_t n)
{
    const tfk *k = l->m->ctx;
    tf_learn *t = l->ctx;
    sw_tf_net_free(t->net);
    free(t->tok);
    free(t->target);
    t->net = sw_tf_net_alloc(&k->c, n);
    t->tok = malloc(pack_tok_size(k, n));
    t->target = malloc(pack_target_size(k, n));
    return t->net && t->tok && t->target ? SW_OK : SW_EFAIL;
}

static double task_grad(sw_learner *l, const double *theta, const void *data, size_t n,
                        double *g)
{
    const tfk *k = l->m->ctx;
    tf_learn *t = l->ctx;
    to_float(theta, l->m->dim, t->theta);
    sw_tf_batch b = pack(k, data, n, t->tok, t->target);
    double loss = sw_tf_net_forward(t->net, t->theta, &b, n);
    if (!g)
        return loss;
    sw_tf_net_backward(t->net, t->theta, &b, n, t->g);
    for (size_t i = 0; i < l->m->dim; i++)
        g[i] = t->g[i];
    if (k->freeze)
        memset(g, 0, (k->c.d_in + 1) * k->c.D * sizeof(double)); /* embedding and bias */
    return loss;
}

#define TF_TASK(NAME, SUMMARY, SYS)                                                              \
    {.name = NAME, .summary = SUMMARY, .sys = &SYS, .setup = task_setup,                         \
     .teardown = task_teardown, .sample_size = task_sample_size, .sample = task_sample,          \
     .reserve = task_reserve, .grad = task_grad}

const sw_task sw_task_tf_location = TF_TASK(
    "tf-location", "small transformer, single-location regression (Zucchet et al. Sec. 2.4)",
    sw_system_tf_location);
const sw_task sw_task_tf_recall = TF_TASK(
    "tf-recall", "small transformer, in-context associative recall (Zucchet et al. Sec. 3)",
    sw_system_tf_recall);
const sw_task sw_task_tf_markov = TF_TASK(
    "tf-markov", "small transformer on the Markov chain (Yuksel et al. Sec. 2.2)",
    sw_system_tf_markov);

/* ---- for the CLI and the tests ------------------------------------------ */

const sw_tf_config *sw_tf_task_config(const sw_model *m)
{
    return &((const tfk *)m->ctx)->c;
}

sw_tf_batch sw_tf_task_pack(const sw_model *m, const void *data, size_t n, void *tok,
                            void *target)
{
    return pack(m->ctx, data, n, tok, target);
}

size_t sw_tf_task_pack_size(const sw_model *m, size_t n, int which)
{
    return which ? pack_target_size(m->ctx, n) : pack_tok_size(m->ctx, n);
}

const float *sw_tf_location_teacher(const sw_model *m)
{
    return ((const tfk *)m->ctx)->Ws;
}

size_t sw_tf_emergence(const sw_model *m, sw_tf_criterion out[2])
{
    const tfk *k = m->ctx;
    if (k->kind == K_LOCATION) {
        out[0] = k->p > 0
                     ? (sw_tf_criterion){SW_TF_LOCATION_EMERGED_CROSS,
                                         "test loss on p = 0 data <= 0.4 (Zucchet et al. "
                                         "Sec. 2.4, cross-sample runs)"}
                     : (sw_tf_criterion){SW_TF_LOCATION_EMERGED,
                                         "test loss <= 0.1 (Zucchet et al. Sec. 2.4)"};
        return 1;
    }
    if (k->kind == K_RECALL) {
        out[0] = (sw_tf_criterion){SW_TF_RECALL_EMERGED,
                                   "test accuracy >= 0.05 (Zucchet et al. Sec. 3)"};
        out[1] = (sw_tf_criterion){SW_TF_RECALL_EMERGED_REL,
                                   "(acc - 1/N_pairs) / (1 - 1/N_pairs) >= 0.05: 5% of the way "
                                   "from a guess among the context's values to perfect recall"};
        return 2;
    }
    return 0;
}
