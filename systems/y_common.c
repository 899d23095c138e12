/* Parameters, setup, initial draws and shared observables of the Y systems
 * (see y.h for why the four forms share them). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "clones.h"
#include "y_common.h"

const sw_param_def sw_y_params[SW_Y_NPARAMS] = {
    [SW_Y_H] = {"H", SW_PARAM_INT, "3", 1, 64, "attention heads"},
    [SW_Y_K] = {"K", SW_PARAM_INT, "3", 1, 64, "patterns (feature matrices A_k)"},
    [SW_Y_T] = {"T", SW_PARAM_INT, "16", 1, 4096, "sequence length; lag j sits at position T+1-j"},
    [SW_Y_M] = {"m", SW_PARAM_INT, "1", 1, 4096,
                "block size: pattern k reads lags (k-1)m+1..km with weight 1/m; K*m <= T"},
    [SW_Y_GAMMA] = {"gamma", SW_PARAM_REAL, "2", 1, 1e6,
                    "importance ratio of the geometric rule lambda_k = c*gamma^(K-k)"},
    [SW_Y_C] = {"c", SW_PARAM_REAL, "1", 1e-9, 1e9, "importance of the last pattern, lambda_K"},
    [SW_Y_LAMBDAS] = {"lambdas", SW_PARAM_LIST, "", 1e-9, 1e9,
                      "K explicit importances |A_k|_F replacing the geometric rule (empty: rule)"},
    [SW_Y_SIGMA] = {"sigma", SW_PARAM_REAL, "0.01", 0, 1e3, "logits start iid U[-sigma, sigma]"},
    [SW_Y_SEED] = {"seed", SW_PARAM_INT, "1", 0, 4294967295.0,
                   "seed of the initial draws (and of y-full's features)"},
    [SW_Y_EPS] = {"eps", SW_PARAM_REAL, "0", 0, 1e3,
                  "> 0: symmetric start (head 1's logits for all) plus U[-eps, eps] per head and "
                  "position"},
    [SW_Y_W0] = {"w0", SW_PARAM_REAL, "0", 0, 1e3, "value coefficients start iid U[-w0, w0]"},
    [SW_Y_OVERLAP] = {"overlap", SW_PARAM_REAL, "0", 0, 1,
                      "cosine <A_k,A_l>/(lambda_k lambda_l) for k != l, below 1 (0: orthogonal)"},
    [SW_Y_D] = {"d", SW_PARAM_INT, "4", 1, 64, "token dimension; d*d >= K (K+1 when overlap > 0)"},
};

static double pget(const sw_model *m, int i)
{
    return m->pv[i].v[0];
}

void sw_y_teardown(sw_model *m)
{
    sw_y *y = m->ctx;
    double *bufs[] = {y->lambda, y->G,    y->pi,   y->s, y->w, y->rho, y->u, y->fw,   y->g,
                      y->jg,     y->coef, y->Grho, y->M, y->c, y->A,   y->C, y->R,    y->Ginv,
                      y->tmp};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        free(bufs[i]);
    free(y);
    m->ctx = NULL;
}

static int check_params(const sw_model *m, sw_y_form form, sw_err *e)
{
    size_t K = (size_t)pget(m, SW_Y_K), T = (size_t)pget(m, SW_Y_T), bm = (size_t)pget(m, SW_Y_M);
    double overlap = pget(m, SW_Y_OVERLAP);
    if (K * bm > T)
        return sw_fail(
            e, SW_EINPUT,
            "T: %zu positions cannot hold K = %zu patterns of m = %zu (allowed: K*m <= T)", T, K,
            bm);
    size_t nl = m->pv[SW_Y_LAMBDAS].n;
    if (nl && nl != K)
        return sw_fail(e, SW_EINPUT,
                       "lambdas: expected K = %zu values, got %zu (allowed: empty or K values)", K,
                       nl);
    if (overlap >= 1)
        return sw_fail(e, SW_EINPUT, "overlap: %g is out of range (allowed: [0, 1))", overlap);
    if (form == SW_Y_FULL) {
        size_t d = (size_t)pget(m, SW_Y_D), need = K + (overlap > 0);
        if (d * d < need)
            return sw_fail(e, SW_EINPUT,
                           "d: d*d = %zu cannot hold %zu orthonormal features (allowed: d*d >= "
                           "%s)",
                           d * d, need, overlap > 0 ? "K+1 when overlap > 0" : "K");
    }
    return SW_OK;
}

/* Orthonormal E_1..E_n (n = K, plus E_0 last when overlap > 0) by
 * Gram-Schmidt on Gaussian matrices; each projection is applied twice, which
 * keeps the result orthonormal to rounding. */
static void orthonormal_features(size_t n, size_t dd, unsigned long seed, double *E)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, (2654435761UL * seed + 2654435769UL) & 0xffffffffUL);
    for (size_t i = 0; i < n * dd; i++)
        E[i] = gsl_ran_gaussian(r, 1.0);
    gsl_rng_free(r);
    for (size_t i = 0; i < n; i++) {
        double *ei = E + i * dd;
        for (int pass = 0; pass < 2; pass++)
            for (size_t j = 0; j < i; j++) {
                const double *ej = E + j * dd;
                double p = sw_y_dot(ei, ej, dd);
                for (size_t q = 0; q < dd; q++)
                    ei[q] -= p * ej[q];
            }
        double nrm = sqrt(sw_y_dot(ei, ei, dd));
        for (size_t q = 0; q < dd; q++)
            ei[q] /= nrm;
    }
}

/* A_k = lambda_k (sqrt(1-overlap) E_k + sqrt(overlap) E_0), the sums C_t and
 * the inverse Gram matrix that projects V_h back onto span{A_k}. */
static int setup_full(sw_y *y, double overlap, unsigned long seed)
{
    size_t K = y->K, T = y->T, dd = y->d * y->d, n = K + (overlap > 0);
    double *E = malloc(n * dd * sizeof *E);
    y->A = malloc(K * dd * sizeof *y->A);
    y->C = calloc(T * dd, sizeof *y->C);
    y->R = malloc(T * dd * sizeof *y->R);
    y->Ginv = malloc(K * K * sizeof *y->Ginv);
    y->tmp = malloc(dd * sizeof *y->tmp);
    if (!E || !y->A || !y->C || !y->R || !y->Ginv || !y->tmp) {
        free(E);
        return SW_EFAIL;
    }
    orthonormal_features(n, dd, seed, E);
    double a = sqrt(1 - overlap), b = sqrt(overlap);
    for (size_t k = 0; k < K; k++)
        for (size_t q = 0; q < dd; q++)
            y->A[k * dd + q] = y->lambda[k] * (a * E[k * dd + q] + (n > K ? b * E[K * dd + q] : 0));
    free(E);
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < K; k++)
            if (y->pi[k * T + t] != 0)
                for (size_t q = 0; q < dd; q++)
                    y->C[t * dd + q] += y->pi[k * T + t] * y->A[k * dd + q];
    memcpy(y->Ginv, y->G, K * K * sizeof *y->G);
    gsl_matrix_view gv = gsl_matrix_view_array(y->Ginv, K, K);
    int rc = gsl_linalg_cholesky_decomp1(&gv.matrix);
    if (rc == GSL_SUCCESS)
        rc = gsl_linalg_cholesky_invert(&gv.matrix);
    return rc == GSL_SUCCESS ? SW_OK : SW_ENUMERIC;
}

static void name_state(sw_model *m, const sw_y *y)
{
    size_t i = 0;
    for (size_t h = 0; h < y->nh; h++) {
        if (y->form == SW_Y_FULL)
            for (size_t p = 0; p < y->d; p++)
                for (size_t q = 0; q < y->d; q++)
                    sw_model_name_state(m, i++, "V_h%zu_%zu_%zu", h + 1, p + 1, q + 1);
        else
            for (size_t k = 0; k < y->K; k++)
                if (y->form == SW_Y_COUPLED)
                    sw_model_name_state(m, i++, "w_k%zu", k + 1);
                else
                    sw_model_name_state(m, i++, "w_h%zu_k%zu", h + 1, k + 1);
        for (size_t t = 0; t < y->T; t++)
            if (y->form == SW_Y_COUPLED)
                sw_model_name_state(m, i++, "a_t%zu", t + 1);
            else
                sw_model_name_state(m, i++, "%s_h%zu_t%zu", y->form == SW_Y_SIMPLEX ? "s" : "a",
                                    h + 1, t + 1);
    }
}

static void name_obs(sw_model *m, const sw_y *y)
{
    size_t i = 0, HK = y->H * y->K;
    for (size_t h = 0; h < y->H; h++)
        for (size_t k = 0; k < y->K; k++) {
            sw_model_name_obs(m, i, "att_h%zu_k%zu", h + 1, k + 1);
            sw_model_name_obs(m, HK + i++, "w_h%zu_k%zu", h + 1, k + 1);
        }
    for (size_t j = 0; j <= y->K; j++)
        sw_model_name_obs(m, 2 * HK + j, "dist_%zu", j);
}

int sw_y_setup(sw_model *m, sw_y_form form, sw_err *e)
{
    int rc = check_params(m, form, e);
    if (rc)
        return rc;
    sw_y *y = calloc(1, sizeof *y);
    if (!y)
        return sw_fail(e, SW_EFAIL, "out of memory");
    m->ctx = y;
    y->form = form;
    y->H = (size_t)pget(m, SW_Y_H);
    y->K = (size_t)pget(m, SW_Y_K);
    y->T = (size_t)pget(m, SW_Y_T);
    y->m = (size_t)pget(m, SW_Y_M);
    y->d = form == SW_Y_FULL ? (size_t)pget(m, SW_Y_D) : 0;
    y->nh = form == SW_Y_COUPLED ? 1 : y->H;
    y->mult = form == SW_Y_COUPLED ? (double)y->H : 1.0;
    y->stride = (form == SW_Y_FULL ? y->d * y->d : y->K) + y->T;
    size_t H = y->H, K = y->K, T = y->T, nh = y->nh;
    double overlap = pget(m, SW_Y_OVERLAP);

    y->lambda = malloc(K * sizeof *y->lambda);
    y->G = malloc(K * K * sizeof *y->G);
    y->pi = calloc(K * T, sizeof *y->pi);
    y->s = malloc(nh * T * sizeof *y->s);
    y->w = malloc(nh * K * sizeof *y->w);
    y->rho = malloc(K * T * sizeof *y->rho);
    y->u = malloc(nh * K * sizeof *y->u);
    y->fw = malloc(nh * K * sizeof *y->fw);
    y->g = malloc(nh * T * sizeof *y->g);
    y->jg = malloc(T * sizeof *y->jg);
    y->coef = malloc((nh + K) * sizeof *y->coef);
    y->Grho = malloc(K * T * sizeof *y->Grho);
    y->M = malloc(nh * nh * sizeof *y->M);
    y->c = malloc(nh * nh * sizeof *y->c);
    if (!y->lambda || !y->G || !y->pi || !y->s || !y->w || !y->rho || !y->u || !y->fw || !y->g ||
        !y->jg || !y->coef || !y->Grho || !y->M || !y->c)
        return sw_fail(e, SW_EFAIL, "out of memory");

    const sw_value *lv = &m->pv[SW_Y_LAMBDAS];
    for (size_t k = 0; k < K; k++)
        y->lambda[k] =
            lv->n ? lv->v[k] : pget(m, SW_Y_C) * pow(pget(m, SW_Y_GAMMA), (double)(K - 1 - k));
    for (size_t k = 0; k < K; k++)
        for (size_t l = 0; l < K; l++)
            y->G[k * K + l] = y->lambda[k] * y->lambda[l] * (k == l ? 1 : overlap);
    for (size_t k = 0; k < K; k++)
        if (!isfinite(y->G[k * K + k]))
            return sw_fail(e, SW_EINPUT,
                           "gamma: lambda_%zu = %g overflows when squared (allowed: "
                           "c*gamma^(K-1) below 1e154)",
                           k + 1, y->lambda[k]);
    /* Lag j is position T+1-j, index T-j; pattern k (from 0) holds lags
     * k*m+1 .. (k+1)*m. */
    for (size_t k = 0; k < K; k++)
        for (size_t j = k * y->m + 1; j <= (k + 1) * y->m; j++)
            y->pi[k * T + (T - j)] = 1.0 / (double)y->m;

    if (form == SW_Y_FULL) {
        rc = setup_full(y, overlap, (unsigned long)pget(m, SW_Y_SEED));
        if (rc)
            return sw_fail(e, rc,
                           rc == SW_EFAIL ? "out of memory"
                                          : "overlap: Gram matrix of the features is "
                                            "not positive definite");
    }

    size_t n_levels = overlap == 0 ? K + 1 : 0;
    if (sw_model_shape(m, nh * y->stride, 2 * H * K + K + 1, n_levels))
        return sw_fail(e, SW_EFAIL, "out of memory");
    name_state(m, y);
    name_obs(m, y);
    /* L_j = 1/2 sum_{k>j} lambda_k^2 |pi_k|^2, summed from the tail. */
    for (size_t j = n_levels; j-- > 0;)
        m->levels[j] =
            j == K ? 0 : m->levels[j + 1] + 0.5 * y->lambda[j] * y->lambda[j] / (double)y->m;
    return SW_OK;
}

const double *sw_y_features(const sw_model *m)
{
    const sw_y *y = m->ctx;
    return y->A;
}

void sw_y_draw(const sw_model *m, size_t heads, int perturb, double *w, size_t wstride, double *a,
               size_t astride)
{
    const sw_y *y = m->ctx;
    double w0 = pget(m, SW_Y_W0), sigma = pget(m, SW_Y_SIGMA), eps = pget(m, SW_Y_EPS);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, (unsigned long)pget(m, SW_Y_SEED));
    for (size_t h = 0; h < heads; h++) {
        for (size_t k = 0; k < y->K; k++)
            w[h * wstride + k] = w0 * (2 * gsl_rng_uniform(r) - 1);
        for (size_t t = 0; t < y->T; t++)
            a[h * astride + t] = sigma * (2 * gsl_rng_uniform(r) - 1);
    }
    if (perturb && eps > 0)
        for (size_t t = 0; t < y->T; t++) {
            double base = a[t];
            for (size_t h = 0; h < heads; h++)
                a[h * astride + t] = base + eps * (2 * gsl_rng_uniform(r) - 1);
        }
    gsl_rng_free(r);
}

/* (J(s) x)_t = s_t (x_t - s.x): J is never formed. */
SW_VECTOR_CLONES
void sw_y_jvec(const double *s, size_t T, double *v)
{
    double sv = sw_y_dot(s, v, T);
    for (size_t t = 0; t < T; t++)
        v[t] = s[t] * (v[t] - sv);
}

void sw_y_jleft(const double *s, size_t T, double *X, size_t ncols, size_t ld)
{
    for (size_t c = 0; c < ncols; c++) {
        double sx = 0;
        for (size_t t = 0; t < T; t++)
            sx += s[t] * X[t * ld + c];
        for (size_t t = 0; t < T; t++)
            X[t * ld + c] = s[t] * (X[t * ld + c] - sx);
    }
}

void sw_y_jright(const double *s, size_t T, double *X, size_t nrows, size_t ld)
{
    for (size_t r = 0; r < nrows; r++) {
        double *row = X + r * ld, xs = sw_y_dot(row, s, T);
        for (size_t t = 0; t < T; t++)
            row[t] = s[t] * (row[t] - xs);
    }
}

void sw_y_observe_heads(const sw_y *y, double *obs)
{
    size_t K = y->K, T = y->T, HK = y->H * K;
    for (size_t h = 0; h < y->H; h++) {
        size_t sh = y->nh == 1 ? 0 : h;
        const double *s = y->s + sh * T;
        for (size_t k = 0; k < K; k++) {
            double att = 0;
            for (size_t t = T - (k + 1) * y->m; t < T - k * y->m; t++)
                att += s[t];
            obs[h * K + k] = att;
            obs[HK + h * K + k] = y->lambda[k] * y->w[sh * K + k];
        }
    }
}
