/* toy: the single-location task of z-full, trained on samples.
 *
 * theta is z-full's state (W row-major, then the T logits), so z-full's
 * init, loss, observables and rhs (the population gradient) apply as they
 * are; this file adds the data and the minibatch gradient.  The teacher
 * comes from sw_z_teacher on the seed's stream, exactly as z-full draws
 * it, so sampled data and closed-form loss describe the same problem. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_randist.h>

#include "softmax.h"
#include "stagewise/train.h"
#include "z.h"
#include "systems.h"

typedef struct toy {
    size_t d, T, B;
    int tied;
    double p;
    double *Ws, *xb; /* teacher */
    double *s, *ds;  /* T */
    double *U, *R, *V; /* n x d: attended input, residual, W^T residual */
    size_t cap;
} toy;

/* A sample: the tokens x_1..x_T (T x d, one token per row), then y. */
static size_t toy_sample_size(const sw_learner *l)
{
    const toy *z = l->ctx;
    return (z->T * z->d + z->d) * sizeof(double);
}

static void toy_sample(const sw_learner *l, gsl_rng *r, size_t n, void *dst)
{
    const toy *z = l->ctx;
    size_t d = z->d, T = z->T;
    double *rec = dst;
    for (size_t i = 0; i < n; i++, rec += T * d + d) {
        double *X = rec, *y = rec + T * d;
        /* x* fills the first B rows: xbar with probability p, else fresh. */
        int fixed = gsl_rng_uniform(r) < z->p;
        for (size_t c = 0; c < d; c++)
            X[c] = fixed ? z->xb[c] : gsl_ran_gaussian(r, 1.0);
        for (size_t t = 1; t < z->B; t++)
            memcpy(X + t * d, X, d * sizeof(double));
        for (size_t k = z->B * d; k < T * d; k++)
            X[k] = gsl_ran_gaussian(r, 1.0);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)d, (int)d, 1.0, z->Ws, (int)d, X, 1, 0.0,
                    y, 1);
        if (l->noise > 0)
            for (size_t c = 0; c < d; c++)
                y[c] += gsl_ran_gaussian(r, l->noise);
    }
}

static int toy_reserve(sw_learner *l, size_t n)
{
    toy *z = l->ctx;
    free(z->U);
    free(z->R);
    free(z->V);
    z->U = malloc(n * z->d * sizeof(double));
    z->R = malloc(n * z->d * sizeof(double));
    z->V = malloc(n * z->d * sizeof(double));
    z->cap = n;
    return z->U && z->R && z->V ? SW_OK : SW_EFAIL;
}

/* L = 1/(2d n) sum_i |W X_i^T s - y_i|^2.  With u_i = X_i^T s and
 * r_i = W u_i - y_i: dL/dW = R^T U / (d n), dL/ds = sum_i X_i W^T r_i / (d n),
 * then through the softmax. */
static double toy_grad(sw_learner *l, const double *theta, const void *data, size_t n,
                       double *g)
{
    toy *z = l->ctx;
    size_t d = z->d, T = z->T, rs = T * d + d;
    int id = (int)d;
    const double *W = theta, *a = theta + d * d, *rec = data;
    sw_softmax(a, T, z->s);
    for (size_t i = 0; i < n; i++)
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)T, id, 1.0, rec + i * rs, id, z->s, 1, 0.0,
                    z->U + i * d, 1);
    /* R = U W^T - Y */
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < d; c++)
            z->R[i * d + c] = -rec[i * rs + T * d + c];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, id, id, 1.0, z->U, id, W, id,
                1.0, z->R, id);
    double loss = 0;
    for (size_t k = 0; k < n * d; k++)
        loss += z->R[k] * z->R[k];
    double scale = 1.0 / ((double)d * (double)n);
    loss *= 0.5 * scale;
    if (!g)
        return loss;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, id, id, (int)n, scale, z->R, id, z->U,
                id, 0.0, g, id);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, id, id, 1.0, z->R, id, W, id,
                0.0, z->V, id);
    memset(z->ds, 0, T * sizeof(double));
    for (size_t i = 0; i < n; i++)
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)T, id, scale, rec + i * rs, id,
                    z->V + i * d, 1, 1.0, z->ds, 1);
    sw_softmax_backward(z->s, T, z->ds);
    double *ga = g + d * d, sumR = 0;
    memcpy(ga, z->ds, T * sizeof(double));
    for (size_t t = 0; t < z->B; t++)
        sumR += ga[t];
    if (z->tied) /* as z-full: the shared logit moves every copy by the sum */
        for (size_t t = 0; t < z->B; t++)
            ga[t] = sumR;
    return loss;
}

/* z-reduced's (alpha, beta, Delta a) as a z-full state: W = W* (alpha P +
 * beta (I - P)), Delta a on the relevant logits, 0 elsewhere. */
static int toy_lift(const sw_learner *l, const sw_model *ode, const double *x, double *theta,
                    sw_err *e)
{
    const toy *z = l->ctx;
    if (ode->sys != &sw_system_z_reduced)
        return sw_fail(e, SW_EINPUT, "task toy cannot start from a state of %s (allowed: "
                       "z-full, z-reduced)", ode->sys->name);
    size_t d = z->d;
    double al = x[0], be = x[1];
    for (size_t i = 0; i < d; i++) {
        double Wx = 0;
        for (size_t j = 0; j < d; j++)
            Wx += z->Ws[i * d + j] * z->xb[j];
        for (size_t j = 0; j < d; j++)
            theta[i * d + j] = be * z->Ws[i * d + j] + (al - be) * Wx * z->xb[j] / (double)d;
    }
    for (size_t t = 0; t < z->T; t++)
        theta[d * d + t] = t < z->B ? x[2] : 0;
    return SW_OK;
}

static void toy_teardown(sw_learner *l)
{
    toy *z = l->ctx;
    free(z->Ws);
    free(z->xb);
    free(z->s);
    free(z->ds);
    free(z->U);
    free(z->R);
    free(z->V);
    free(z);
    l->ctx = NULL;
}

static int toy_setup(sw_learner *l, sw_err *e)
{
    const sw_model *m = l->m;
    toy *z = calloc(1, sizeof *z);
    if (!(l->ctx = z))
        return sw_fail(e, SW_EFAIL, "out of memory");
    size_t d = z->d = (size_t)sw_model_get(m, "d");
    size_t T = z->T = (size_t)sw_model_get(m, "T");
    z->B = (size_t)sw_model_get(m, "B");
    z->p = sw_model_get(m, "p");
    z->tied = (int)sw_model_get(m, "tied");
    z->Ws = malloc(d * d * sizeof(double));
    z->xb = malloc(d * sizeof(double));
    z->s = malloc(T * sizeof(double));
    z->ds = malloc(T * sizeof(double));
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!z->Ws || !z->xb || !z->s || !z->ds || !r) {
        gsl_rng_free(r);
        return sw_fail(e, SW_EFAIL, "out of memory");
    }
    gsl_rng_set(r, (unsigned long)sw_model_get(m, "seed"));
    int rc = sw_z_teacher(r, d, z->Ws, z->xb, e);
    gsl_rng_free(r);
    return rc;
}

const sw_task sw_task_toy = {
    .name = "toy",
    .summary = "single-location toy (z-full's model and parameters) on sampled tokens",
    .sys = &sw_system_z_full,
    .setup = toy_setup,
    .teardown = toy_teardown,
    .sample_size = toy_sample_size,
    .sample = toy_sample,
    .reserve = toy_reserve,
    .grad = toy_grad,
    .lift = toy_lift,
};
