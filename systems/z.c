/* Z: one relevant token x* at the first B of T positions, target W* x*,
 * model W sum_t softmax(a)_t x_t (Zucchet et al. 2025, with in-context and
 * cross-sample repetition).
 *
 * z-full integrates W and every logit; z-reduced the invariant manifold
 * W = W* (alpha P + beta (I - P)), P = xbar xbar^T / d, with one logit
 * value inside R and one outside.  z-full started at W = 0 with equal
 * logits must reproduce z-reduced, which is what the tests lean on. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <lapacke.h>

#include "clones.h"
#include "softmax.h"
#include "z.h"
#include "systems.h"

/* Constants of the flow, read once in setup so the inner loops never look
 * parameters up by name. */
typedef struct zcoef {
    double d, T, B, p;
    double kappa; /* B for tied copies (the shared logit sums B gradients), else 1 */
    double cpar;  /* x*'s second moment along xbar:  (1-p) + p d */
    double cperp; /* summed over the d-1 directions orthogonal to xbar: (1-p)(d-1) */
} zcoef;

int sw_z_shape_check(const sw_z_shape *z, sw_err *e)
{
    if (z->d < 2)
        return sw_fail(e, SW_EINPUT, "d: %zu is out of range (allowed: d >= 2)", z->d);
    if (z->B < 1 || z->B >= z->T)
        return sw_fail(e, SW_EINPUT, "B: %zu is out of range for T = %zu (allowed: 1 <= B < T)",
                       z->B, z->T);
    if (!(z->p >= 0 && z->p <= 1))
        return sw_fail(e, SW_EINPUT, "p: %g is out of range (allowed: 0 <= p <= 1)", z->p);
    if (z->tied != 0 && z->tied != 1)
        return sw_fail(e, SW_EINPUT, "tied: %d is not allowed (allowed: 0, 1)", z->tied);
    return SW_OK;
}

static int zcoef_init(const sw_z_shape *z, zcoef *c, sw_err *e)
{
    int rc = sw_z_shape_check(z, e);
    if (rc)
        return rc;
    c->d = (double)z->d;
    c->T = (double)z->T;
    c->B = (double)z->B;
    c->p = z->p;
    c->kappa = z->tied ? c->B : 1;
    c->cpar = (1 - c->p) + c->p * c->d;
    c->cperp = (1 - c->p) * (c->d - 1);
    return SW_OK;
}

/* Both systems keep R's size and the tying; cross-parameter checks go
 * through sw_z_shape_check so the CLI and the library say the same. */
static sw_z_shape shape_of(const sw_model *m)
{
    return (sw_z_shape){
        .d = (size_t)sw_model_get(m, "d"),
        .T = (size_t)sw_model_get(m, "T"),
        .B = (size_t)sw_model_get(m, "B"),
        .p = sw_model_get(m, "p"),
        .tied = (int)sw_model_get(m, "tied"),
    };
}

static int zcoef_from_model(const sw_model *m, zcoef *c, sw_err *e)
{
    sw_z_shape z = shape_of(m);
    return zcoef_init(&z, c, e);
}

/* ---- z-reduced ------------------------------------------------------ */

/* Attention on the manifold as a function of Delta a.  1 - S is kept as
 * its own number, (T-B) s_I, because S -> 1 after the escape and 1 - S
 * computed by subtraction would lose every digit there. */
typedef struct zatt {
    double sR, sI, S, oneS, Q;
} zatt;

static void zatt_eval(const zcoef *c, double da, zatt *at)
{
    double n = c->T - c->B;
    if (da >= 0) {
        double q = exp(-da), Z = c->B + n * q;
        at->sR = 1 / Z;
        at->sI = q / Z;
    } else {
        double q = exp(da), Z = c->B * q + n;
        at->sR = q / Z;
        at->sI = 1 / Z;
    }
    at->S = c->B * at->sR;
    at->oneS = n * at->sI;
    at->Q = n * at->sI * at->sI;
}

/* With g_R, g_I the loss gradients per relevant and per other position,
 * the softmax Jacobian collapses to dDelta a/dt = -phi (g_R - g_I), where
 * phi = kappa s_R (1-S) + s_I S (use S + (T-B) s_I = 1 in the
 * gbar form of docs/math.md).  This avoids the cancellation in g - gbar and makes the
 * Jacobian short: dphi/dDelta a = (1 - 2S) phi. */
static double zr_phi(const zcoef *c, const zatt *at)
{
    return c->kappa * at->sR * at->oneS + at->sI * at->S;
}

static double zr_dg(const zcoef *c, const zatt *at, double al, double be)
{
    double gR = -(al * (1 - at->S * al) * c->cpar + be * (1 - at->S * be) * c->cperp) / c->d;
    double gI = at->sI * (al * al + (c->d - 1) * be * be) / c->d;
    return gR - gI;
}

static int zr_rhs(const sw_model *m, const double *x, double *f)
{
    const zcoef *c = m->ctx;
    double al = x[0], be = x[1];
    zatt at;
    zatt_eval(c, x[2], &at);
    f[0] = (at.S * (1 - at.S * al) * c->cpar - at.Q * al) / c->d;
    f[1] = (at.S * (1 - at.S * be) * (1 - c->p) - at.Q * be) / c->d;
    f[2] = -zr_phi(c, &at) * zr_dg(c, &at, al, be);
    return 0;
}

static void zr_jac_at(const zcoef *c, const double *x, double *J)
{
    double al = x[0], be = x[1], d = c->d;
    zatt at;
    zatt_eval(c, x[2], &at);
    double S = at.S, Q = at.Q, dS = S * at.oneS; /* dS/dDelta a; dQ/dDelta a = -2 Q S */
    double phi = zr_phi(c, &at);
    J[0] = -(S * S * c->cpar + Q) / d;
    J[1] = 0;
    J[2] = (dS * c->cpar * (1 - 2 * S * al) + 2 * Q * S * al) / d;
    J[3] = 0;
    J[4] = -(S * S * (1 - c->p) + Q) / d;
    J[5] = (dS * (1 - c->p) * (1 - 2 * S * be) + 2 * Q * S * be) / d;
    double N = al * al + (d - 1) * be * be;
    double dg_al = -((1 - 2 * S * al) * c->cpar + 2 * at.sI * al) / d;
    double dg_be = -((1 - 2 * S * be) * c->cperp + 2 * at.sI * (d - 1) * be) / d;
    double dg_da = (dS * (al * al * c->cpar + be * be * c->cperp) + S * at.sI * N) / d;
    J[6] = -phi * dg_al;
    J[7] = -phi * dg_be;
    J[8] = -phi * ((at.oneS - S) * zr_dg(c, &at, al, be) + dg_da);
}

static int zr_jac(const sw_model *m, const double *x, double *J)
{
    zr_jac_at(m->ctx, x, J);
    return 0;
}

/* The loss with x* distributed as Sigma* = cpar P + (cperp/(d-1)) (I - P):
 * the training loss, or with cpar = 1, cperp = d - 1 the loss on test
 * data without cross-sample repetition (loss_p0). */
static double zr_loss_with(const zcoef *c, const double *x, double cpar, double cperp)
{
    double al = x[0], be = x[1];
    zatt at;
    zatt_eval(c, x[2], &at);
    double u = 1 - at.S * al, v = 1 - at.S * be;
    return (u * u * cpar + v * v * cperp + at.Q * (al * al + (c->d - 1) * be * be)) /
           (2 * c->d);
}

static double zr_loss(const sw_model *m, const double *x)
{
    const zcoef *c = m->ctx;
    return zr_loss_with(c, x, c->cpar, c->cperp);
}

static void zr_observe(const sw_model *m, const double *x, double *obs)
{
    zatt at;
    zatt_eval(m->ctx, x[2], &at);
    obs[0] = x[0];
    obs[1] = x[1];
    obs[2] = x[2];
    obs[3] = at.S;
    const zcoef *c = m->ctx;
    obs[4] = zr_loss_with(c, x, 1, c->d - 1);
}

/* loss_p0: the loss on test data with p = 0 (x* always fresh), the test
 * set Zucchet et al. (2025) use for cross-sample repetition. */
static const char *const obs_names[] = {"alpha", "beta", "delta_a", "S", "loss_p0"};
#define N_OBS (sizeof obs_names / sizeof obs_names[0])

static void name_obs(sw_model *m)
{
    for (size_t i = 0; i < N_OBS; i++)
        sw_model_name_obs(m, i, "%s", obs_names[i]);
}

static int zr_setup(sw_model *m, sw_err *e)
{
    zcoef c;
    int rc = zcoef_from_model(m, &c, e);
    if (rc)
        return rc;
    if (!(m->ctx = malloc(sizeof c)) || sw_model_shape(m, 3, N_OBS, 0))
        return sw_fail(e, SW_EFAIL, "out of memory");
    memcpy(m->ctx, &c, sizeof c);
    sw_model_name_state(m, 0, "alpha");
    sw_model_name_state(m, 1, "beta");
    sw_model_name_state(m, 2, "delta_a");
    name_obs(m);
    return SW_OK;
}

static void zr_init(const sw_model *m, double *x)
{
    x[0] = 0;
    x[1] = 0;
    x[2] = sw_model_get(m, "eps");
}

static void free_ctx(sw_model *m)
{
    free(m->ctx);
    m->ctx = NULL;
}

int sw_z_start_jacobian(const sw_z_shape *z, double J[9], sw_err *e)
{
    zcoef c;
    int rc = zcoef_init(z, &c, e);
    if (rc)
        return rc;
    static const double start[3] = {0, 0, 0};
    zr_jac_at(&c, start, J);
    return SW_OK;
}

int sw_z_lambda_plus(const sw_z_shape *z, double *lambda_plus, sw_err *e)
{
    double J[9], wr[3], wi[3];
    int rc = sw_z_start_jacobian(z, J, e);
    if (rc)
        return rc;
    if (LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', 3, J, 3, wr, wi, NULL, 1, NULL, 1) != 0)
        return sw_fail(e, SW_ENUMERIC, "lambda+: the 3x3 eigenvalue problem did not converge");
    *lambda_plus = fmax(wr[0], fmax(wr[1], wr[2]));
    return SW_OK;
}

/* ---- z-full --------------------------------------------------------- */

typedef struct zfull {
    zcoef c;
    size_t d, T, B;
    int tied;
    double *Ws;  /* W*, d x d row-major */
    double *xb;  /* xbar */
    double *Wsx; /* W* xbar, fixed, so M xbar = W* xbar - S W xbar costs one pass */
    double *a0;  /* initial logits */
    double *s;   /* softmax scratch for rhs, loss and observe */
} zfull;

/* Fills z->s and returns the attention mass S on R and Q, the sum of
 * s_t^2 outside R. */
static void zf_softmax(zfull *z, const double *a, double *S, double *Q)
{
    sw_softmax_rows(a, 1, z->T, z->s, NULL);
    double sR = 0, q = 0;
    for (size_t t = 0; t < z->T; t++) {
        double st = z->s[t];
        if (t < z->B)
            sR += st;
        else
            q += st * st;
    }
    *S = sR;
    *Q = q;
}

/* The O(d^2) part of the vector field: fW = cA W* + cB W + (c_i) xbar^T
 * row by row, where c_i = cx (M xbar)_i, with M = W* - S W, and the sums
 * |W|^2 and tr(W M^T) the logits' rates need.  One pass over W and W* per
 * row (two when p > 0: M xbar is needed before the row can be written,
 * and the row is still in L1 for the second); M is formed element by
 * element because tr(W M^T) as tr(W W*^T) - S |W|^2 would lose its digits
 * near convergence, where M -> 0. */
SW_VECTOR_CLONES
static void zf_rhs_W(const zfull *z, const double *restrict W, double S, double cA, double cB,
                     double cx, double *restrict f, double *nW2_out, double *WM_out,
                     double *WxMx_out)
{
    size_t d = z->d;
    const double *restrict xb = z->xb;
    double nW2 = 0, WM = 0, WxMx = 0;
    for (size_t i = 0; i < d; i++) {
        const double *restrict Wi = W + i * d, *restrict Wsi = z->Ws + i * d;
        double *restrict fi = f + i * d;
        double n2 = 0, wm = 0;
        if (cx == 0) {
#pragma omp simd reduction(+ : n2, wm)
            for (size_t j = 0; j < d; j++) {
                double w = Wi[j], ws = Wsi[j];
                fi[j] = cA * ws + cB * w;
                n2 += w * w;
                wm += w * (ws - S * w);
            }
        } else {
            double Wx = 0;
#pragma omp simd reduction(+ : n2, wm, Wx)
            for (size_t j = 0; j < d; j++) {
                double w = Wi[j];
                n2 += w * w;
                wm += w * (Wsi[j] - S * w);
                Wx += w * xb[j];
            }
            double Mx = z->Wsx[i] - S * Wx, ci = cx * Mx;
            WxMx += Wx * Mx;
#pragma omp simd
            for (size_t j = 0; j < d; j++)
                fi[j] = cA * Wsi[j] + cB * Wi[j] + ci * xb[j];
        }
        nW2 += n2;
        WM += wm;
    }
    *nW2_out = nW2;
    *WM_out = WM;
    *WxMx_out = WxMx;
}

static int zf_rhs(const sw_model *m, const double *x, double *f)
{
    zfull *z = m->ctx;
    size_t d = z->d, T = z->T, B = z->B;
    double p = z->c.p, dd = z->c.d;
    const double *W = x, *a = x + d * d;
    double S, Q;
    zf_softmax(z, a, &S, &Q);
    /* dW/dt = (S M Sigma* - Q W) / d with M Sigma* = (1-p) M + p (M xbar)
     * xbar^T: O(d^2), no d x d temporaries. */
    double nW2, WM, WxMx;
    zf_rhs_W(z, W, S, S * (1 - p) / dd, -(S * S * (1 - p) + Q) / dd, S * p / dd, f, &nW2, &WM,
             &WxMx);
    /* dL/ds_t: gR on R (tr(W Sigma* M^T) / d with a minus), s_t |W|^2 / d
     * elsewhere; then da/dt = -J(s) g with J(s) = diag(s) - s s^T. */
    double gR = -((1 - p) * WM + p * WxMx) / dd;
    double gbar = S * gR + Q * nW2 / dd;
    double *fa = f + d * d, sumR = 0;
    for (size_t t = 0; t < T; t++) {
        double gt = t < B ? gR : z->s[t] * nW2 / dd;
        fa[t] = -z->s[t] * (gt - gbar);
        if (t < B)
            sumR += fa[t];
    }
    if (z->tied) /* the shared logit moves every copy by the summed rate */
        for (size_t t = 0; t < B; t++)
            fa[t] = sumR;
    return 0;
}

static double zf_loss(const sw_model *m, const double *x)
{
    zfull *z = m->ctx;
    size_t d = z->d;
    double p = z->c.p;
    double S, Q;
    zf_softmax(z, x + d * d, &S, &Q);
    double M2 = 0, Mx2 = 0, nW2 = 0;
    for (size_t i = 0; i < d; i++) {
        const double *Wi = x + i * d, *Wsi = z->Ws + i * d;
        double Wx = 0;
        for (size_t j = 0; j < d; j++) {
            double Mij = Wsi[j] - S * Wi[j];
            M2 += Mij * Mij;
            nW2 += Wi[j] * Wi[j];
            Wx += Wi[j] * z->xb[j];
        }
        double Mx = z->Wsx[i] - S * Wx;
        Mx2 += Mx * Mx;
    }
    return ((1 - p) * M2 + p * Mx2 + Q * nW2) / (2 * z->c.d);
}

static void zf_observe(const sw_model *m, const double *x, double *obs)
{
    zfull *z = m->ctx;
    size_t d = z->d, T = z->T, B = z->B;
    const double *a = x + d * d;
    double xWWx = 0, tr = 0;
    for (size_t i = 0; i < d; i++) {
        const double *Wi = x + i * d, *Wsi = z->Ws + i * d;
        double Wx = 0;
        for (size_t j = 0; j < d; j++) {
            Wx += Wi[j] * z->xb[j];
            tr += Wsi[j] * Wi[j];
        }
        xWWx += z->Wsx[i] * Wx;
    }
    double aR = 0, aI = 0, S, Q;
    for (size_t t = 0; t < B; t++)
        aR += a[t];
    for (size_t t = B; t < T; t++)
        aI += a[t];
    zf_softmax(z, a, &S, &Q);
    double M2 = 0, nW2 = 0;
    for (size_t i = 0; i < d * d; i++) {
        double Mij = z->Ws[i] - S * x[i];
        M2 += Mij * Mij;
        nW2 += x[i] * x[i];
    }
    /* On the manifold W*^T W = alpha P + beta (I - P) and tr P = 1, so the
     * trace is alpha + (d-1) beta. */
    double al = xWWx / z->c.d;
    obs[0] = al;
    obs[1] = (tr - al) / (z->c.d - 1);
    obs[2] = aR / (double)B - aI / (double)(T - B);
    obs[3] = S;
    obs[4] = (M2 + Q * nW2) / (2 * z->c.d);
}

int sw_z_teacher(gsl_rng *r, size_t d, double *Wstar, double *xbar, sw_err *e)
{
    /* LAPACK's blocked QR: at d = 4096 GSL's unblocked one took minutes. */
    double *tau = malloc(d * sizeof *tau), *sign = malloc(d * sizeof *sign);
    int rc = SW_OK;
    if (!tau || !sign) {
        rc = sw_fail(e, SW_EFAIL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            Wstar[i * d + j] = gsl_ran_gaussian(r, 1.0);
    lapack_int n = (lapack_int)d;
    if (LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, n, n, Wstar, n, tau) != 0) {
        rc = sw_fail(e, SW_ENUMERIC, "W*: QR factorisation failed");
        goto out;
    }
    for (size_t j = 0; j < d; j++)
        sign[j] = Wstar[j * d + j] < 0 ? -1 : 1;
    if (LAPACKE_dorgqr(LAPACK_ROW_MAJOR, n, n, n, Wstar, n, tau) != 0) {
        rc = sw_fail(e, SW_ENUMERIC, "W*: QR factorisation failed");
        goto out;
    }
    /* Householder QR leaves the signs of R's diagonal arbitrary; fixing
     * them positive is what makes Q Haar-distributed. */
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            Wstar[i * d + j] *= sign[j];
    double n2 = 0;
    for (size_t i = 0; i < d; i++) {
        xbar[i] = gsl_ran_gaussian(r, 1.0);
        n2 += xbar[i] * xbar[i];
    }
    double scale = sqrt((double)d / n2);
    for (size_t i = 0; i < d; i++)
        xbar[i] *= scale;
out:
    free(tau);
    free(sign);
    return rc;
}

static void zf_teardown(sw_model *m)
{
    zfull *z = m->ctx;
    free(z->Ws);
    free(z->xb);
    free(z->Wsx);
    free(z->a0);
    free(z->s);
    free_ctx(m);
}

/* The teacher's QR (LAPACK's dgeqrf then dorgqr, 8/3 d^3 flops) dominates
 * setup from d ~ 500 on.  Blocked LAPACK gets through far more flops a
 * second than the vector fields do coordinate evaluations (1e9 of those
 * take 5 to 20 s, budget.h), so its work counts d^3/32: setup at
 * d = 2048, 2.6-3.3 s of CPU here, counts 2.7e8; d = 4096, about four
 * times longer again, counts 2.1e9, over the default budget of 1e9.
 * Memory: W* and the state's names (d^2 + T strings of ~12 bytes, with
 * malloc's overhead and a pointer each, ~48 bytes). */
static void zf_setup_cost(const sw_model *m, double *bytes, double *work)
{
    double d = sw_model_get(m, "d"), T = sw_model_get(m, "T");
    *bytes = 8 * d * d + 48 * (d * d + T);
    *work = d * d * d / 32 + d * d;
}

static int zf_setup(sw_model *m, sw_err *e)
{
    zcoef c;
    int rc = zcoef_from_model(m, &c, e);
    if (rc)
        return rc;
    zfull *z = calloc(1, sizeof *z);
    if (!(m->ctx = z))
        return sw_fail(e, SW_EFAIL, "out of memory");
    z->c = c;
    size_t d = z->d = (size_t)c.d, T = z->T = (size_t)c.T;
    z->B = (size_t)c.B;
    z->tied = (int)sw_model_get(m, "tied");
    z->Ws = malloc(d * d * sizeof(double));
    z->xb = malloc(d * sizeof(double));
    z->Wsx = malloc(d * sizeof(double));
    z->a0 = malloc(T * sizeof(double));
    z->s = malloc(T * sizeof(double));
    if (!z->Ws || !z->xb || !z->Wsx || !z->a0 || !z->s || sw_model_shape(m, d * d + T, N_OBS, 0))
        return sw_fail(e, SW_EFAIL, "out of memory");
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r)
        return sw_fail(e, SW_EFAIL, "out of memory");
    gsl_rng_set(r, (unsigned long)sw_model_get(m, "seed"));
    rc = sw_z_teacher(r, d, z->Ws, z->xb, e);
    double sigma = sw_model_get(m, "sigma");
    for (size_t t = 0; t < T; t++)
        z->a0[t] = sigma > 0 ? gsl_ran_flat(r, -sigma, sigma) : 0;
    /* Tied copies are one logit: its B positions start, and then move,
     * together (the rhs gives them one summed rate). */
    if (sw_model_get(m, "tied") != 0)
        for (size_t t = 1; t < z->B; t++)
            z->a0[t] = z->a0[0];
    gsl_rng_free(r);
    if (rc)
        return rc;
    for (size_t i = 0; i < d; i++) {
        double v = 0;
        for (size_t j = 0; j < d; j++)
            v += z->Ws[i * d + j] * z->xb[j];
        z->Wsx[i] = v;
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            sw_model_name_state(m, i * d + j, "W_%zu_%zu", i + 1, j + 1);
    for (size_t t = 0; t < T; t++)
        sw_model_name_state(m, d * d + t, "a_t%zu", t + 1);
    name_obs(m);
    return SW_OK;
}

static void zf_init(const sw_model *m, double *x)
{
    const zfull *z = m->ctx;
    memset(x, 0, z->d * z->d * sizeof *x);
    memcpy(x + z->d * z->d, z->a0, z->T * sizeof *x);
}

/* ---- the two systems ---------------------------------------------- */

/* The parameters both systems share; d and T are capped lower for z-full,
 * whose state holds d^2 + T numbers. */
#define Z_SHAPE_PARAMS(dmax, tmax)                                                             \
    {"d", SW_PARAM_INT, "16", 2, dmax, "token dimension"},                                     \
        {"T", SW_PARAM_INT, "64", 2, tmax, "context length"},                                  \
        {"B", SW_PARAM_INT, "1", 1, tmax, "copies of the relevant token (in-context repetition), " \
                                          "at positions 1..B; 1 <= B < T"},                    \
        {"p", SW_PARAM_REAL, "0", 0, 1, "probability that x* is the fixed xbar (cross-sample "  \
                                        "repetition)"},                                        \
        {"tied", SW_PARAM_INT, "0", 0, 1, "1: the B copies share one logit (it gets the summed " \
                                          "gradient); 0: one logit per position"}

/* Both forms leave the same start the same way: lambda+ of the reduced
 * linearisation (z.h), from the shape parameters they share. */
static int z_predict(const sw_model *m, double *lambda_plus, sw_err *e)
{
    sw_z_shape z = shape_of(m);
    return sw_z_lambda_plus(&z, lambda_plus, e);
}

static const sw_param_def zr_params[] = {
    Z_SHAPE_PARAMS(1e9, 1e12),
    {"eps", SW_PARAM_REAL, "0", -50, 50, "initial Delta a (0: the symmetric start)"},
};

static const sw_param_def zf_params[] = {
    Z_SHAPE_PARAMS(4096, 1e7),
    {"seed", SW_PARAM_INT, "1", 1, 4294967295.0, "seed of the mt19937 stream drawing W*, xbar, "
                                                 "then the logits"},
    {"sigma", SW_PARAM_REAL, "0", 0, 50, "initial logits iid U[-sigma, sigma] (0 keeps the "
                                         "reduced manifold)"},
};

const sw_system sw_system_z_reduced = {
    .name = "z-reduced",
    .summary = "single-location toy on its invariant manifold: (alpha, beta, Delta a)",
    .doc = "W = W* (alpha P + beta (I - P)) with P = xbar xbar^T / d, one logit value on the\n"
           "relevant positions 1..B and one elsewhere, Delta a their difference.\n"
           "State alpha, beta, delta_a; starts at (0, 0, eps).  Observables alpha, beta,\n"
           "delta_a, S (the attention mass on the relevant positions) and loss_p0, the\n"
           "loss on test data without cross-sample repetition (x* always fresh).",
    .params = zr_params,
    .n_params = sizeof zr_params / sizeof zr_params[0],
    .jac_doc = "analytic",
    .setup = zr_setup,
    .teardown = free_ctx,
    .init = zr_init,
    .rhs = zr_rhs,
    .jac = zr_jac,
    .loss = zr_loss,
    .observe = zr_observe,
    .predict = z_predict,
    .task = "toy",
};

const sw_system sw_system_z_full = {
    .name = "z-full",
    .summary = "single-location toy, full state: W (d x d) and all T logits",
    .doc = "State W_i_j (row-major, d x d), then logits a_t1..a_tT; the relevant token\n"
           "sits at positions 1..B.  W* (Haar) and xbar (|xbar|^2 = d) come from seed.\n"
           "Starts at W = 0.  Observables alpha = xbar^T W*^T W xbar / d,\n"
           "beta = (tr(W*^T W) - alpha) / (d - 1), delta_a = mean logit on R minus mean\n"
           "elsewhere, S = attention mass on R, loss_p0 = the loss on test data with\n"
           "p = 0 (x* always fresh).",
    .params = zf_params,
    .n_params = sizeof zf_params / sizeof zf_params[0],
    .jac_doc = "central finite differences (library); no analytic Jacobian",
    .setup = zf_setup,
    .teardown = zf_teardown,
    .setup_cost = zf_setup_cost,
    .init = zf_init,
    .rhs = zf_rhs,
    .jac = NULL,
    .loss = zf_loss,
    .observe = zf_observe,
    .predict = z_predict,
    .task = "toy",
};
