/* regression: the Y task of y-full, trained on samples.
 *
 * theta is y-full's state (per head V_h, d x d row-major, then the T
 * logits a_h), so y-full's init, loss (population, noise left out),
 * observables and rhs apply as they are.  The data use y-full's own
 * features: X has iid N(0, 1) entries (E x = 0, E x x^T = I), the target is
 * y = sum_t C_t x_t + noise with C_t = sum_k pi_kt A_k.
 *
 * A sample is X^T (T x d, token x_t in row t) followed by y. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_randist.h>

#include "softmax.h"
#include "stagewise/train.h"
#include "systems.h"
#include "y_common.h"

typedef struct reg {
    size_t H, T, d, stride;
    const double *C; /* y-full's T x d*d target maps */
    double *s;       /* H x T attention */
    double *gs;      /* H x T dL/ds */
    double *U;       /* n x H x d: u_{h,i} = X_i^T s_h */
    double *R;       /* n x d residuals f - y */
    double *Z;       /* n x H x d: V_h^T r_i */
    size_t cap;
} reg;

static size_t reg_sample_size(const sw_learner *l)
{
    const reg *g = l->ctx;
    return (g->T * g->d + g->d) * sizeof(double);
}

static void reg_sample(const sw_learner *l, gsl_rng *r, size_t n, void *dst)
{
    const reg *g = l->ctx;
    size_t d = g->d, T = g->T, dd = d * d;
    double *rec = dst;
    for (size_t i = 0; i < n; i++, rec += T * d + d) {
        double *X = rec, *y = rec + T * d;
        for (size_t k = 0; k < T * d; k++)
            X[k] = gsl_ran_gaussian(r, 1.0);
        for (size_t c = 0; c < d; c++)
            y[c] = l->noise > 0 ? gsl_ran_gaussian(r, l->noise) : 0;
        for (size_t t = 0; t < T; t++)
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)d, (int)d, 1.0, g->C + t * dd, (int)d,
                        X + t * d, 1, 1.0, y, 1);
    }
}

static int reg_reserve(sw_learner *l, size_t n)
{
    reg *g = l->ctx;
    free(g->U);
    free(g->R);
    free(g->Z);
    g->U = malloc(n * g->H * g->d * sizeof(double));
    g->R = malloc(n * g->d * sizeof(double));
    g->Z = malloc(n * g->H * g->d * sizeof(double));
    g->cap = n;
    return g->U && g->R && g->Z ? SW_OK : SW_EFAIL;
}

/* L = 1/(2n) sum_i |f_i - y_i|^2 with f_i = sum_h V_h u_{h,i}.  Then
 * dL/dV_h = (1/n) sum_i r_i u_{h,i}^T and dL/ds_{h,t} = (1/n) sum_i
 * x_{i,t} . V_h^T r_i, and the logits through the softmax. */
static double reg_grad(sw_learner *l, const double *theta, const void *data, size_t n,
                       double *grad)
{
    reg *g = l->ctx;
    size_t H = g->H, T = g->T, d = g->d, rs = T * d + d, st = g->stride;
    int id = (int)d, hd = (int)(H * d);
    const double *rec = data;
    for (size_t h = 0; h < H; h++)
        sw_softmax(theta + h * st + d * d, T, g->s + h * T);
    for (size_t i = 0; i < n; i++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)H, id, (int)T, 1.0, g->s,
                    (int)T, rec + i * rs, id, 0.0, g->U + i * H * d, id);
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < d; c++)
            g->R[i * d + c] = -rec[i * rs + T * d + c];
    for (size_t h = 0; h < H; h++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, id, id, 1.0, g->U + h * d,
                    hd, theta + h * st, id, 1.0, g->R, id);
    double loss = 0, inv = 1.0 / (double)n;
    for (size_t k = 0; k < n * d; k++)
        loss += g->R[k] * g->R[k];
    if (!grad)
        return 0.5 * loss * inv;
    for (size_t h = 0; h < H; h++) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, id, id, (int)n, inv, g->R, id,
                    g->U + h * d, hd, 0.0, grad + h * st, id);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, id, id, 1.0, g->R, id,
                    theta + h * st, id, 0.0, g->Z + h * d, hd);
    }
    memset(g->gs, 0, H * T * sizeof(double));
    for (size_t i = 0; i < n; i++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)H, (int)T, id, inv,
                    g->Z + i * H * d, id, rec + i * rs, id, 1.0, g->gs, (int)T);
    for (size_t h = 0; h < H; h++) {
        double *ga = grad + h * st + d * d;
        memcpy(ga, g->gs + h * T, T * sizeof(double));
        sw_softmax_backward(g->s + h * T, T, ga);
    }
    return 0.5 * loss * inv;
}

/* A reduced Y state (reduced, coupled or simplex form) as y-full's:
 * V_h = sum_k w_hk A_k, logits copied (log s for the simplex form, which
 * fixes the free additive constant to zero mean's equivalent: any constant
 * gives the same softmax). */
static int reg_lift(const sw_learner *l, const sw_model *ode, const double *x, double *theta,
                    sw_err *e)
{
    const reg *g = l->ctx;
    const sw_system *sys = ode->sys;
    if (sys != &sw_system_y_reduced && sys != &sw_system_y_coupled &&
        sys != &sw_system_y_simplex)
        return sw_fail(e, SW_EINPUT, "task regression cannot start from a state of %s "
                       "(allowed: y-full, y-reduced, y-coupled, y-simplex)", sys->name);
    const sw_y *y = ode->ctx, *yf = l->m->ctx;
    if (y->H != g->H || y->K != yf->K || y->T != g->T)
        return sw_fail(e, SW_EINPUT, "%s: H, K, T differ from the trainer's", sys->name);
    size_t dd = g->d * g->d, K = y->K, T = g->T;
    const double *A = sw_y_features(l->m);
    for (size_t h = 0; h < g->H; h++) {
        const double *src = x + (y->nh == 1 ? 0 : h) * y->stride;
        double *V = theta + h * g->stride, *a = V + dd;
        memset(V, 0, dd * sizeof(double));
        for (size_t k = 0; k < K; k++)
            cblas_daxpy((int)dd, src[k], A + k * dd, 1, V, 1);
        for (size_t t = 0; t < T; t++)
            a[t] = y->form == SW_Y_SIMPLEX ? log(src[K + t]) : src[K + t];
    }
    return SW_OK;
}

static void reg_teardown(sw_learner *l)
{
    reg *g = l->ctx;
    free(g->s);
    free(g->gs);
    free(g->U);
    free(g->R);
    free(g->Z);
    free(g);
    l->ctx = NULL;
}

static int reg_setup(sw_learner *l, sw_err *e)
{
    const sw_y *y = l->m->ctx;
    reg *g = calloc(1, sizeof *g);
    if (!(l->ctx = g))
        return sw_fail(e, SW_EFAIL, "out of memory");
    g->H = y->H;
    g->T = y->T;
    g->d = y->d;
    g->stride = y->stride;
    g->C = y->C;
    g->s = malloc(g->H * g->T * sizeof(double));
    g->gs = malloc(g->H * g->T * sizeof(double));
    if (!g->s || !g->gs)
        return sw_fail(e, SW_EFAIL, "out of memory");
    return SW_OK;
}

const sw_task sw_task_regression = {
    .name = "regression",
    .summary = "Y regression (y-full's model, features and parameters) on sampled X",
    .sys = &sw_system_y_full,
    .setup = reg_setup,
    .teardown = reg_teardown,
    .sample_size = reg_sample_size,
    .sample = reg_sample,
    .reserve = reg_reserve,
    .grad = reg_grad,
    .lift = reg_lift,
};
