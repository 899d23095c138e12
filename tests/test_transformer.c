/* The small transformer: every layer's backward against central
 * differences (in the double-precision build of model.c), one whole-model
 * check per task, a hand-set model that solves tf-location, the relation
 * to the toy model, and the command line. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gsl/gsl_randist.h>

#include "helpers.h"
#include "model.h"
#include "stagewise/train.h"
#include "transformer.h"

static gsl_rng *rng(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    return r;
}

static double *gauss(gsl_rng *r, size_t n, double sd)
{
    double *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = gsl_ran_gaussian(r, sd);
    return x;
}

/* A layer as a map from a flat input (its data and parameters) to a flat
 * output; backward gets dY and adds into the gradient of the input. */
typedef struct layer {
    size_t n_in, n_out;
    void (*fwd)(const struct layer *L, const double *in, double *out);
    void (*bwd)(const struct layer *L, const double *in, const double *dY, double *din);
    size_t a, b, c, d, e; /* shape */
    const int *idx;
} layer;

/* f(in) = <R, out(in)>: its gradient is bwd with dY = R.  Step 1e-5 in
 * double: truncation ~1e-10, rounding ~1e-11; a wrong term is O(1). */
static void check_layer(const char *name, const layer *L, unsigned long seed)
{
    gsl_rng *r = rng(seed);
    double *in = gauss(r, L->n_in, 1.0), *R = gauss(r, L->n_out, 1.0);
    double *out = malloc(L->n_out * sizeof *out), *g = calloc(L->n_in, sizeof *g);
    L->bwd(L, in, R, g);
    double worst = 0, scale = 0, h = 1e-5;
    double *fd = malloc(L->n_in * sizeof *fd);
    for (size_t i = 0; i < L->n_in; i++) {
        double keep = in[i], up = 0, dn = 0;
        in[i] = keep + h;
        L->fwd(L, in, out);
        for (size_t k = 0; k < L->n_out; k++)
            up += R[k] * out[k];
        in[i] = keep - h;
        L->fwd(L, in, out);
        for (size_t k = 0; k < L->n_out; k++)
            dn += R[k] * out[k];
        in[i] = keep;
        fd[i] = (up - dn) / (2 * h);
        scale = fmax(scale, fabs(fd[i]));
    }
    worst = swt_max_rel(g, fd, L->n_in, 1e-6 * scale);
    if (!(scale > 0 && worst < 1e-6))
        fail_msg("%s: backward vs central differences differ by %.3g (scale %.3g)", name, worst,
                 scale);
    free(in);
    free(R);
    free(out);
    free(g);
    free(fd);
    gsl_rng_free(r);
}

/* linear: in = [X (a x b), W (b x c)] */
static void lin_f(const layer *L, const double *in, double *out)
{
    sw_tfd_linear_forward(in, L->a, L->b, in + L->a * L->b, L->c, out);
}
static void lin_b(const layer *L, const double *in, const double *dY, double *din)
{
    sw_tfd_linear_backward(in, L->a, L->b, in + L->a * L->b, L->c, dY, din, din + L->a * L->b);
}

/* layernorm: in = [X (a x b), g (b), beta (b)] */
static void ln_f(const layer *L, const double *in, double *out)
{
    double mean[64], rstd[64];
    size_t n = L->a * L->b;
    sw_tfd_layernorm_forward(in, L->a, L->b, in + n, in + n + L->b, out, mean, rstd);
}
static void ln_b(const layer *L, const double *in, const double *dY, double *din)
{
    double mean[64], rstd[64], *tmp = malloc(L->a * L->b * sizeof *tmp);
    size_t n = L->a * L->b;
    sw_tfd_layernorm_forward(in, L->a, L->b, in + n, in + n + L->b, tmp, mean, rstd);
    sw_tfd_layernorm_backward(in, L->a, L->b, in + n, mean, rstd, dY, din, din + n,
                              din + n + L->b);
    free(tmp);
}

static void gelu_f(const layer *L, const double *in, double *out)
{
    sw_tfd_gelu_forward(in, L->n_in, out);
}
static void gelu_b(const layer *L, const double *in, const double *dY, double *din)
{
    sw_tfd_gelu_backward(in, L->n_in, dY, din);
}

/* attention: in = [Q (Tq x H dqk), K (T x H dqk), V (T x H dv)];
 * a = T, b = q0, c = H, d = dqk, e = dv.  Output O; the rows P are
 * checked through it. */
static void att_f(const layer *L, const double *in, double *out)
{
    size_t T = L->a, Tq = T - L->b, HQ = L->c * L->d;
    double *P = malloc(L->c * Tq * T * sizeof *P);
    sw_tfd_attention_forward(in, in + Tq * HQ, in + (Tq + T) * HQ, T, L->b, L->c, L->d, L->e, P,
                             out);
    free(P);
}
static void att_b(const layer *L, const double *in, const double *dY, double *din)
{
    size_t T = L->a, Tq = T - L->b, HQ = L->c * L->d;
    double *P = malloc(L->c * Tq * T * sizeof *P), *O = malloc(L->n_out * sizeof *O);
    double *dP = malloc(Tq * T * sizeof *dP);
    sw_tfd_attention_forward(in, in + Tq * HQ, in + (Tq + T) * HQ, T, L->b, L->c, L->d, L->e, P,
                             O);
    sw_tfd_attention_backward(in, in + Tq * HQ, in + (Tq + T) * HQ, T, L->b, L->c, L->d, L->e,
                              P, dY, dP, din, din + Tq * HQ, din + (Tq + T) * HQ);
    free(P);
    free(O);
    free(dP);
}

/* embed: in = E (a x b) with fixed tokens idx (c of them) */
static void emb_f(const layer *L, const double *in, double *out)
{
    sw_tfd_embed_forward(L->idx, L->c, in, L->b, out);
}
static void emb_b(const layer *L, const double *in, const double *dY, double *din)
{
    (void)in;
    sw_tfd_embed_backward(L->idx, L->c, L->b, dY, din);
}

static void layers_match_finite_differences(void **state)
{
    (void)state;
    layer lin = {.a = 7, .b = 5, .c = 3, .fwd = lin_f, .bwd = lin_b};
    lin.n_in = 7 * 5 + 5 * 3, lin.n_out = 7 * 3;
    check_layer("linear", &lin, 1);
    layer ln = {.a = 4, .b = 6, .fwd = ln_f, .bwd = ln_b};
    ln.n_in = 4 * 6 + 12, ln.n_out = 24;
    check_layer("layernorm", &ln, 2);
    layer ge = {.n_in = 30, .n_out = 30, .fwd = gelu_f, .bwd = gelu_b};
    check_layer("gelu", &ge, 3);
    int tok[] = {2, 0, 2, 1};
    layer em = {.a = 3, .b = 4, .c = 4, .idx = tok, .fwd = emb_f, .bwd = emb_b};
    em.n_in = 12, em.n_out = 16;
    check_layer("embedding", &em, 4);
    /* Every query (q0 = 0) and the last two only (q0 = 4), two heads with
     * d_qk != d_v. */
    for (size_t q0 = 0; q0 <= 4; q0 += 4) {
        size_t T = 6, Tq = T - q0, H = 2, dqk = 3, dv = 2;
        layer at = {.a = T, .b = q0, .c = H, .d = dqk, .e = dv, .fwd = att_f, .bwd = att_b};
        at.n_in = Tq * H * dqk + T * H * dqk + T * H * dv;
        at.n_out = Tq * H * dv; /* O only: the P rows are checked through O */
        check_layer(q0 ? "attention (last queries)" : "attention (all queries)", &at, 5 + q0);
    }
}

/* The losses: value against a direct formula, gradient against
 * differences. */
static void losses_match_finite_differences(void **state)
{
    (void)state;
    gsl_rng *r = rng(9);
    size_t n = 3, k = 4;
    double *Z = gauss(r, n * k, 1.0), dZ[12], fdZ[12], Zc[12];
    float y[12];
    int tgt[3] = {1, 3, 0};
    for (size_t i = 0; i < n * k; i++)
        y[i] = (float)gsl_ran_gaussian(r, 1.0);
    for (int ce = 0; ce <= 1; ce++) {
        memcpy(Zc, Z, sizeof Zc);
        double L = ce ? sw_tfd_ce_loss(Zc, tgt, n, k, dZ) : sw_tfd_mse_loss(Zc, y, n, k, dZ);
        double direct = 0;
        for (size_t i = 0; i < n; i++) {
            double lse = 0;
            for (size_t j = 0; j < k; j++) {
                lse += exp(Z[i * k + j]);
                direct += ce ? 0 : 0.5 * pow(Z[i * k + j] - y[i * k + j], 2) / (double)n;
            }
            direct += ce ? (log(lse) - Z[i * k + tgt[i]]) / (double)n : 0;
        }
        assert_true(fabs(L - direct) < 1e-13);
        double h = 1e-5, junk[12];
        for (size_t i = 0; i < n * k; i++) {
            memcpy(Zc, Z, sizeof Zc);
            Zc[i] += h;
            double up = ce ? sw_tfd_ce_loss(Zc, tgt, n, k, junk) : sw_tfd_mse_loss(Zc, y, n, k, junk);
            memcpy(Zc, Z, sizeof Zc);
            Zc[i] -= h;
            double dn = ce ? sw_tfd_ce_loss(Zc, tgt, n, k, junk) : sw_tfd_mse_loss(Zc, y, n, k, junk);
            fdZ[i] = (up - dn) / (2 * h);
        }
        assert_true(swt_max_rel(dZ, fdZ, n * k, 1e-6) < 1e-7);
    }
    free(Z);
    gsl_rng_free(r);
}

/* ---- whole models ------------------------------------------------------- */

static sw_learner *learner(const sw_task *t, ...)
{
    va_list ap;
    va_start(ap, t);
    swt_kv kv;
    swt_kv_split(&kv, ap);
    va_end(ap);
    sw_learner *l = NULL;
    sw_err e;
    if (sw_learner_alloc(t, kv.n, kv.keys, kv.vals, &l, &e))
        fail_msg("%s: %s", t->name, e.msg);
    return l;
}

/* The task's samples through the double-precision net: every gradient
 * entry (at the task's initial point, moved off it so LayerNorm gains
 * and zero biases are generic) against central differences; then the
 * float net the task trains with against the double one. */
static void check_task(sw_learner *l, size_t n, unsigned long seed)
{
    const sw_model *m = l->m;
    const sw_tf_config *c = sw_tf_task_config(m);
    size_t dim = m->dim;
    gsl_rng *r = rng(seed);
    void *data = malloc(n * l->task->sample_size(l));
    l->task->sample(l, r, n, data);
    void *in = malloc(sw_tf_task_pack_size(m, n, 0)), *out = malloc(sw_tf_task_pack_size(m, n, 1));
    sw_tf_batch b = sw_tf_task_pack(m, data, n, in, out);
    double *th = malloc(dim * sizeof *th), *g = malloc(dim * sizeof *g);
    m->sys->init(m, th);
    for (size_t i = 0; i < dim; i++)
        th[i] += gsl_ran_gaussian(r, 0.3);
    sw_tfd_net *net = sw_tfd_net_alloc(c, n);
    assert_non_null(net);
    assert_int_equal(sw_tfd_net_n_params(net), dim);
    double L = sw_tfd_net_forward(net, th, &b, n);
    sw_tfd_net_backward(net, th, &b, n, g);
    double h = 1e-5, scale = 0, worst = 0;
    /* Every entry would take minutes at these sizes; 400 spread over all
     * blocks (a stride coprime to the block sizes) cover each of them. */
    size_t stride = dim / 400 + 1, checked = 0;
    double *fd = malloc(dim * sizeof *fd);
    for (size_t i = seed % stride; i < dim; i += stride, checked++) {
        double keep = th[i];
        th[i] = keep + h;
        double up = sw_tfd_net_forward(net, th, &b, n);
        th[i] = keep - h;
        double dn = sw_tfd_net_forward(net, th, &b, n);
        th[i] = keep;
        fd[i] = (up - dn) / (2 * h);
        scale = fmax(scale, fabs(fd[i]));
    }
    for (size_t i = seed % stride; i < dim; i += stride)
        worst = fmax(worst, fabs(g[i] - fd[i]) / fmax(fmax(fabs(g[i]), fabs(fd[i])), 1e-5 * scale));
    if (!(scale > 0 && worst < 1e-5))
        fail_msg("%s: whole-model gradient vs differences %.3g over %zu entries", l->task->name,
                 worst, checked);
    /* The float training path computes the same loss and gradient to
     * single precision. */
    double *gf = malloc(dim * sizeof *gf);
    assert_int_equal(l->task->reserve(l, n), SW_OK);
    double Lf = l->task->grad(l, th, data, n, gf);
    assert_true(fabs(Lf - L) < 1e-4 * fabs(L));
    double num = 0, den = 0;
    for (size_t i = 0; i < dim; i++) {
        num += (gf[i] - g[i]) * (gf[i] - g[i]);
        den += g[i] * g[i];
    }
    if (!(sqrt(num / den) < 1e-3))
        fail_msg("%s: float gradient differs from double by %.3g (relative norm)",
                 l->task->name, sqrt(num / den));
    sw_tfd_net_free(net);
    free(data);
    free(in);
    free(out);
    free(th);
    free(g);
    free(gf);
    free(fd);
    gsl_rng_free(r);
}

static void whole_models_match_finite_differences(void **state)
{
    (void)state;
    /* Every switch on: LayerNorm, MLP, positions, two blocks, two heads. */
    sw_learner *l = learner(&sw_task_tf_location, "L=2", "heads=2", "d_model=8", "d_qk=3",
                            "mlp=1", "mlp_factor=2", "ln=1", "d=3", "T=5", "B=2", "n_test=4",
                            NULL);
    check_task(l, 3, 11);
    sw_learner_free(l);
    l = learner(&sw_task_tf_recall, "L=2", "heads=2", "d_model=6", "d_qk=2", "N_tokens=7",
                "N_pairs=3", "ln=1", "n_test=4", NULL);
    check_task(l, 3, 12);
    sw_learner_free(l);
    l = learner(&sw_task_tf_markov, "L=2", "heads=3", "d_model=9", "d_qk=2", "mlp=1",
                "mlp_factor=1", "S=4", "N=7", "K=2", "m=2", "n_eval=4", NULL);
    check_task(l, 2, 13);
    sw_learner_free(l);
}

/* One block, one head, no MLP or positions: the embedding (with its bias)
 * writes x into coordinates 0..d-1, the marker into d and a constant 1
 * into d+1.  The query reads the constant, the key the marker, so the
 * marked positions take all but e^-beta of the attention; the value copies
 * x into coordinates d+2..2d+1 and the readout applies W* there.  The loss
 * on the task's own samples is then zero up to e^-2beta and the rounding
 * of the stored targets to float (~1e-16 against a starting 1/2). */
static void hand_set_model_solves_location(void **state)
{
    (void)state;
    size_t d = 3, D = 2 * d + 2;
    char dm[32];
    snprintf(dm, sizeof dm, "d_model=%zu", D);
    sw_learner *l = learner(&sw_task_tf_location, "L=1", "heads=1", dm, "d_qk=1", "mlp=0",
                            "pos=0", "d=3", "T=6", "B=2", "n_test=4", NULL);
    const sw_model *m = l->m;
    const sw_tf_config *c = sw_tf_task_config(m);
    sw_tf_block_off blk;
    size_t emb, lnf, out, dim = sw_tfd_layout(c, &blk, &emb, &lnf, &out);
    assert_int_equal(dim, m->dim);
    double *th = calloc(dim, sizeof *th), beta = 40;
    for (size_t j = 0; j <= d; j++)
        th[emb + j * D + j] = 1;         /* x and the marker */
    th[emb + (d + 1) * D + d + 1] = 1;   /* the bias: a constant coordinate */
    th[blk.Wq + (d + 1)] = 1;            /* q = 1 */
    th[blk.Wk + d] = beta;               /* k = beta * marker */
    for (size_t j = 0; j < d; j++) {
        th[blk.Wv + j * D + j] = 1;      /* v = x */
        th[blk.Wo + j * D + d + 2 + j] = 1;
    }
    const float *Ws = sw_tf_location_teacher(m);
    for (size_t a = 0; a < d; a++)
        for (size_t j = 0; j < d; j++)
            th[out + (d + 2 + j) * d + a] = Ws[a * d + j];
    size_t n = 16;
    gsl_rng *r = rng(21);
    void *data = malloc(n * l->task->sample_size(l));
    l->task->sample(l, r, n, data);
    void *in = malloc(sw_tf_task_pack_size(m, n, 0)), *tg = malloc(sw_tf_task_pack_size(m, n, 1));
    sw_tf_batch b = sw_tf_task_pack(m, data, n, in, tg);
    sw_tfd_net *net = sw_tfd_net_alloc(c, n);
    double L = sw_tfd_net_forward(net, th, &b, n);
    if (!(L < 1e-12))
        fail_msg("hand-set model: loss %.3g", L);
    sw_tfd_net_free(net);
    free(data);
    free(in);
    free(tg);
    free(th);
    gsl_rng_free(r);
    sw_learner_free(l);
}

/* toy (z-full) cannot be matched step for step: its attention logits a_t
 * are free parameters of the position, while the transformer's scores are
 * bilinear in the tokens, and the residual stream adds the query token to
 * the readout (docs/transformer.md).  What is true: on toy's samples
 * with a zero query token appended, a transformer with L=1, heads=1, no MLP,
 * no positions and the identity embedding, Wq = Wk = 0, Wv = Wo = I and the
 * readout (T+1)/T W^T computes toy's prediction at a = 0; its loss is d
 * times toy's (toy divides by d) and its readout gradient is d T/(T+1) toy's
 * gradient in W (transposed). */
static void toy_equivalence_at_uniform_attention(void **state)
{
    (void)state;
    size_t d = 3, T = 5, n = 8;
    sw_learner *toy = learner(&sw_task_toy, "d=3", "T=5", "B=2", NULL);
    char dm[32];
    snprintf(dm, sizeof dm, "d_model=%zu", d + 1);
    sw_learner *tf = learner(&sw_task_tf_location, "L=1", "heads=1", dm, "d_qk=2", "mlp=0",
                             "pos=0", "identity=1", "d=3", "T=6", "B=2", "n_test=4", NULL);
    const sw_tf_config *c = sw_tf_task_config(tf->m);
    sw_tf_block_off blk;
    size_t emb, lnf, out, D = d + 1, dim = sw_tfd_layout(c, &blk, &emb, &lnf, &out);
    double *th = malloc(dim * sizeof *th);
    tf->m->sys->init(tf->m, th); /* identity embedding, zero bias */
    memset(th + blk.Wq, 0, (blk.Wv - blk.Wq) * sizeof *th);
    memset(th + blk.Wv, 0, 2 * D * D * sizeof *th);
    for (size_t j = 0; j < D; j++)
        th[blk.Wv + j * D + j] = th[blk.Wo + j * D + j] = 1;
    gsl_rng *r = rng(31);
    double *W = gauss(r, d * d, 0.5), *theta_toy = calloc(d * d + T, sizeof *theta_toy);
    memcpy(theta_toy, W, d * d * sizeof *W);
    for (size_t j = 0; j < d; j++)
        for (size_t a = 0; a < d; a++)
            th[out + j * d + a] = (double)(T + 1) / (double)T * W[a * d + j];
    for (size_t a = 0; a < d; a++)
        th[out + d * d + a] = 0; /* the marker's row */
    /* toy's samples: T x d tokens then y; as tf-location samples of T + 1
     * positions (marker on toy's relevant rows 0..B-1, zero query). */
    size_t rs = T * d + d, rt = (T + 1) * (d + 1) + d;
    double *data = malloc(n * rs * sizeof *data);
    toy->task->sample(toy, r, n, data);
    float *conv = calloc(n * rt, sizeof *conv);
    for (size_t i = 0; i < n; i++) {
        for (size_t t = 0; t < T; t++) {
            for (size_t j = 0; j < d; j++)
                conv[i * rt + t * (d + 1) + j] = (float)data[i * rs + t * d + j];
            conv[i * rt + t * (d + 1) + d] = t < 2;
        }
        for (size_t a = 0; a < d; a++)
            conv[i * rt + (T + 1) * (d + 1) + a] = (float)data[i * rs + T * d + a];
    }
    /* Float tokens: toy must see the same rounded values. */
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < rs; k++)
            data[i * rs + k] = (float)data[i * rs + k];
    void *in = malloc(sw_tf_task_pack_size(tf->m, n, 0)), *tg = malloc(sw_tf_task_pack_size(tf->m, n, 1));
    sw_tf_batch b = sw_tf_task_pack(tf->m, conv, n, in, tg);
    sw_tfd_net *net = sw_tfd_net_alloc(c, n);
    double *g = malloc(dim * sizeof *g), *gt = malloc((d * d + T) * sizeof *gt);
    double L = sw_tfd_net_forward(net, th, &b, n);
    sw_tfd_net_backward(net, th, &b, n, g);
    assert_int_equal(toy->task->reserve(toy, n), SW_OK);
    double Lt = toy->task->grad(toy, theta_toy, data, n, gt);
    assert_true(fabs(L - (double)d * Lt) < 1e-10 * L);
    double f = (double)d * (double)T / (double)(T + 1);
    for (size_t j = 0; j < d; j++)
        for (size_t a = 0; a < d; a++)
            assert_true(fabs(g[out + j * d + a] - f * gt[a * d + j]) < 1e-10 * fabs(f * gt[a * d + j]) + 1e-14);
    sw_tfd_net_free(net);
    free(th);
    free(W);
    free(theta_toy);
    free(data);
    free(conv);
    free(in);
    free(tg);
    free(g);
    free(gt);
    gsl_rng_free(r);
    sw_learner_free(toy);
    sw_learner_free(tf);
}

/* Data rows of a CSV file (provenance lines dropped). */
static char *rows_of(const char *path)
{
    char *all = swt_slurp(path);
    assert_non_null(all);
    char *w = all;
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n"))
        if (line[0] != '#')
            w += sprintf(w, "%s\n", line);
    return all;
}

/* A small tf-location run end to end: the attention on the marked token
 * rises from uniform (1/T) to nearly all, the loss falls below the
 * papers' 0.1, the JSON names the step, and two threads give the same
 * numbers as one.  Then the other tasks' columns and a bad value. */
static void cli_trains_and_reports_emergence(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), *err = NULL;
    const char *words = "tf-location L=1 heads=2 d_model=16 d_qk=8 d=4 T=8 n_test=128 "
                        "--optim adam --lr 1e-2 --batch 32 --steps 300 --eval-every 20";
    assert_int_equal(swt_run(NULL, NULL, "train %s --out %s/a.csv", words, dir), 0);
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/a.csv", dir);
    snprintf(pb, sizeof pb, "%s/b.csv", dir);
    assert_int_equal(swt_run(NULL, NULL, "train %s --threads 2 --out %s/b.csv", words, dir), 0);
    char *ra = rows_of(pa), *rb = rows_of(pb);
    assert_string_equal(ra, rb);
    free(rb);
    /* On the serial OpenBLAS, which shares its buffers between calls, two
     * threads become one, with a note, and the numbers stay. The quick
     * start installs it; the build says where (SWT_SERIAL_BLAS). */
    const char *serial = getenv("SWT_SERIAL_BLAS");
    char lib[512];
    snprintf(lib, sizeof lib, "%s/libopenblas.so.0", serial ? serial : "");
    if (serial && access(lib, R_OK) == 0) {
        const char *was = getenv("LD_LIBRARY_PATH");
        char *keep = was ? strdup(was) : NULL, path[2048];
        snprintf(path, sizeof path, "%s%s%s", serial, keep ? ":" : "", keep ? keep : "");
        setenv("LD_LIBRARY_PATH", path, 1);
        int rc2 = swt_run(NULL, &err, "train %s --threads 2 --out %s/b.csv", words, dir);
        if (keep)
            setenv("LD_LIBRARY_PATH", keep, 1);
        else
            unsetenv("LD_LIBRARY_PATH");
        free(keep);
        assert_int_equal(rc2, 0);
        assert_non_null(strstr(err, "runs on the serial OpenBLAS, which cannot take calls from "
                                    "two threads at once: one thread"));
        rb = rows_of(pb);
        assert_string_equal(ra, rb);
        free(rb);
        free(err);
        err = NULL;
    } else {
        print_message("no serial OpenBLAS at '%s': its one-thread guard is not exercised\n", lib);
    }
    free(ra);
    swt_csv c;
    assert_int_equal(swt_csv_read(pa, &c), 0);
    assert_true(fabs(swt_csv_at(&c, 0, "att_l1_h1") - 1.0 / 8) < 0.02);
    assert_true(swt_csv_at(&c, c.rows - 1, "att_l1_h1") > 0.9);
    assert_true(swt_csv_at(&c, c.rows - 1, "loss") < 0.1);
    size_t first = 0;
    while (first < c.rows && swt_csv_at(&c, first, "loss") > 0.1)
        first++;
    double step = swt_csv_at(&c, first, "step");
    swt_csv_free(&c);
    snprintf(pa, sizeof pa, "%s/a.json", dir);
    char *json = swt_slurp(pa), want[64];
    snprintf(want, sizeof want, "\"step\":%.0f", step);
    assert_non_null(strstr(json, "\"emergence\""));
    assert_non_null(strstr(json, want));
    free(json);

    assert_int_equal(swt_run(NULL, NULL, "train tf-recall L=2 heads=2 d_model=8 d_qk=4 "
                                         "N_tokens=8 N_pairs=3 n_test=16 --optim adam --steps 3 "
                                         "--out %s/r.csv", dir), 0);
    snprintf(pa, sizeof pa, "%s/r.csv", dir);
    assert_int_equal(swt_csv_read(pa, &c), 0);
    assert_true(swt_csv_col(&c, "acc") >= 0 && swt_csv_col(&c, "acc_rel") >= 0 &&
                swt_csv_col(&c, "att_l2_h2_val") >= 0);
    swt_csv_free(&c);
    assert_int_equal(swt_run(NULL, NULL, "train tf-markov heads=2 d_model=8 d_qk=4 S=3 N=8 "
                                         "n_eval=8 --optim sgd --steps 3 --out %s/m.csv", dir), 0);
    snprintf(pa, sizeof pa, "%s/m.csv", dir);
    assert_int_equal(swt_csv_read(pa, &c), 0);
    assert_true(swt_csv_col(&c, "kl_3") >= 0 && swt_csv_col(&c, "att_l1_h2_k3") >= 0);
    swt_csv_free(&c);
    assert_int_equal(swt_run(NULL, &err, "train tf-recall heads=3 d_model=8 --out -"), 2);
    assert_non_null(strstr(err, "stagewise: heads"));
    free(err);
    /* The chain takes the model's own values, not their text: 64 lambdas of
     * 19 digits each once overflowed a 1 KiB buffer and were cut to 52. */
    char lam[2048] = "lambdas=";
    for (int i = 0; i < 64; i++)
        strcat(lam, i ? ",0.123456789012345678" : "0.123456789012345678");
    assert_int_equal(swt_run(NULL, NULL, "train tf-markov K=64 N=64 %s d_model=8 heads=1 "
                                         "d_qk=4 n_eval=4 --optim adam --steps 1 --out %s/k.csv",
                             lam, dir), 0);
    free(dir);
}

/* tf-recall is solved by copy-then-select (Zucchet et al. Sec. 3): after
 * emergence the first block's head moves each value position's attention
 * onto its own key (copying the key into the value's position) and the last
 * block's head moves the query's attention onto the value whose copied key
 * matches it.  Before emergence neither head does: at a uniform start the
 * masses are the mean of 1/(t+1) over value positions (0.31 here) and 1/T. */
static void recall_learns_copy_then_select(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), path[600];
    assert_int_equal(swt_run(NULL, NULL, "train tf-recall N_tokens=8 N_pairs=3 d_model=16 "
                                         "heads=1 d_qk=8 n_test=256 --optim adam --lr 1e-2 "
                                         "--batch 32 --steps 1500 --eval-every 50 --out %s/r.csv",
                             dir), 0);
    snprintf(path, sizeof path, "%s/r.json", dir);
    char *json = swt_slurp(path);
    assert_non_null(json);
    /* The second criterion (acc_rel) is the one that means recall here. */
    const char *rel = strstr(json, "\"acc_rel\""), *st = rel ? strstr(rel, "\"step\":") : NULL;
    assert_non_null(st);
    double emerged = strtod(st + 7, NULL);
    free(json);
    snprintf(path, sizeof path, "%s/r.csv", dir);
    swt_csv c;
    assert_int_equal(swt_csv_read(path, &c), 0);
    /* The relative criterion is met where the accuracy first gets 5% of the
     * way from a guess among the N_pairs = 3 values to perfect recall. */
    size_t first = 0;
    while (first < c.rows && !(swt_csv_at(&c, first, "acc") >= 1.0 / 3 + 0.05 * (2.0 / 3)))
        first++;
    assert_true(first < c.rows);
    assert_true(swt_csv_at(&c, first, "step") == emerged);
    size_t before = 0;
    for (size_t r = 0; r < c.rows && swt_csv_at(&c, r, "step") < emerged; r++, before++) {
        assert_true(swt_csv_at(&c, r, "att_l1_h1_prev") < 0.5);
        assert_true(swt_csv_at(&c, r, "att_l2_h1_val") < 0.5);
        assert_true(swt_csv_at(&c, r, "acc") < 0.4);
    }
    assert_true(before >= 5); /* a plateau, not emergence at the start */
    assert_true(fabs(swt_csv_at(&c, 0, "att_l1_h1_prev") - (1.0 / 2 + 1.0 / 4 + 1.0 / 6) / 3) <
                0.03);
    assert_true(fabs(swt_csv_at(&c, 0, "att_l2_h1_val") - 1.0 / 7) < 0.03);
    size_t last = c.rows - 1;
    assert_true(swt_csv_at(&c, last, "acc") > 0.95);
    assert_true(swt_csv_at(&c, last, "att_l1_h1_prev") > 0.75);
    assert_true(swt_csv_at(&c, last, "att_l2_h1_val") > 0.8);
    /* The selection reads the value's position, not the matching key's
     * (which holds the query's own token, not the answer). */
    assert_true(swt_csv_at(&c, last, "att_l2_h1_key") < 0.2);
    swt_csv_free(&c);
    free(dir);
}

/* plot emergence draws a training run of any tf-* task, marks the JSON's
 * emergence steps or a step given with --set, and refuses a CSV without the
 * transformer's attention columns. */
static void plot_emergence_of_training_runs(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), *err = NULL, path[600];
    assert_int_equal(swt_run(NULL, NULL, "train tf-recall L=2 heads=1 d_model=8 d_qk=4 "
                                         "N_tokens=8 N_pairs=3 n_test=16 --optim adam --steps 20 "
                                         "--eval-every 2 --out %s/r.csv", dir), 0);
    assert_int_equal(swt_run(NULL, NULL, "train tf-location d=4 T=6 d_model=8 heads=1 d_qk=4 "
                                         "n_test=16 --optim adam --steps 20 --eval-every 2 "
                                         "--out %s/l.csv", dir), 0);
    assert_int_equal(swt_run(NULL, NULL, "plot emergence %s/r.csv --out %s/r.png", dir, dir), 0);
    assert_int_equal(swt_run(NULL, NULL, "plot emergence %s/l.csv --set mark=10 "
                                         "--set 'show=_l1' --out %s/l.png", dir, dir), 0);
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%c.png", dir, "rl"[k]);
        char *png = swt_slurp(path);
        assert_non_null(png);
        assert_memory_equal(png, "\x89PNG", 4);
        free(png);
    }
    /* A choice of columns that matches none is gnuplot's failure, exit 1. */
    assert_int_equal(swt_run(NULL, &err, "plot emergence %s/r.csv --set show=nothing "
                                         "--out %s/n.png", dir, dir), 2);
    assert_non_null(strstr(err, "contains any of 'nothing' (allowed: words of its columns "
                                "att_l1_h1_key"));
    free(err);
    assert_int_equal(swt_run(NULL, NULL, "train toy T=4 --steps 5 --out %s/t.csv", dir), 0);
    assert_int_equal(swt_run(NULL, &err, "plot emergence %s/t.csv --out %s/t.png", dir, dir), 2);
    assert_non_null(strstr(err, "t.csv has no att_l<l>_h<h> column"));
    free(err);
    free(dir);
}

/* tf-markov learns in the order of the markov task: its KL to the truth
 * truncated to the first lag group is smallest first, then to the first
 * two, then to all three; where each is smallest it is the smallest of
 * the three. */
static void markov_stages_in_order(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), path[600];
    assert_int_equal(swt_run(NULL, NULL, "train tf-markov N=12 d_model=48 d_qk=16 n_eval=64 "
                                         "--optim adam --lr 1e-2 --batch 32 --steps 800 "
                                         "--eval-every 10 --out %s/mk.csv", dir), 0);
    snprintf(path, sizeof path, "%s/mk.csv", dir);
    swt_csv c;
    assert_int_equal(swt_csv_read(path, &c), 0);
    size_t best[4] = {0};
    char name[3][8] = {"kl_1", "kl_2", "kl_3"};
    for (size_t j = 1; j <= 3; j++)
        for (size_t r = 0; r < c.rows; r++)
            if (swt_csv_at(&c, r, name[j - 1]) < swt_csv_at(&c, best[j], name[j - 1]))
                best[j] = r;
    assert_true(best[1] < best[2] && best[2] < best[3]);
    for (size_t j = 1; j <= 3; j++)
        for (size_t i = 1; i <= 3; i++)
            if (i != j && !(swt_csv_at(&c, best[j], name[j - 1]) <
                            swt_csv_at(&c, best[j], name[i - 1])))
                fail_msg("at step %g, where kl_%zu is smallest, kl_%zu is smaller",
                         swt_csv_at(&c, best[j], "step"), j, i);
    swt_csv_free(&c);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layers_match_finite_differences),
        cmocka_unit_test(losses_match_finite_differences),
        cmocka_unit_test(whole_models_match_finite_differences),
        cmocka_unit_test(hand_set_model_solves_location),
        cmocka_unit_test(toy_equivalence_at_uniform_attention),
        cmocka_unit_test(cli_trains_and_reports_emergence),
        cmocka_unit_test(markov_stages_in_order),
        cmocka_unit_test(recall_learns_copy_then_select),
        cmocka_unit_test(plot_emergence_of_training_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
