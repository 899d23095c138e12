/* The four forms of the Y flow: y-full (matrices V_h), y-reduced (V_h in
 * span{A_k}, Gram form), y-coupled (H identical heads as one) and y-simplex
 * (attention as the state).  The derivations are in models.md; the
 * Jacobian of the reduced forms is worked out below. */
#include <string.h>

#include "systems.h"
#include "y.h"

/* ---- reduced forms ----------------------------------------------------- */

/* Reads s and w out of the state: s_h is softmax(a_h), or the state itself
 * in the simplex form. */
static void attend(const sw_y *y, const double *x)
{
    size_t K = y->K, T = y->T;
    for (size_t h = 0; h < y->nh; h++) {
        const double *xh = x + h * y->stride;
        memcpy(y->w + h * K, xh, K * sizeof *xh);
        if (y->form == SW_Y_SIMPLEX)
            memcpy(y->s + h * T, xh + K, T * sizeof *xh);
        else
            sw_y_softmax(xh + K, T, y->s + h * T);
    }
}

/* rho_kt = pi_kt - mult sum_h w_hk s_ht. */
static void residual(const sw_y *y)
{
    size_t K = y->K, T = y->T;
    memcpy(y->rho, y->pi, K * T * sizeof *y->rho);
    for (size_t h = 0; h < y->nh; h++)
        for (size_t k = 0; k < K; k++) {
            double c = y->mult * y->w[h * K + k];
            const double *s = y->s + h * T;
            double *r = y->rho + k * T;
            for (size_t t = 0; t < T; t++)
                r[t] -= c * s[t];
        }
}

/* dw_hk/dt = s_h . rho_k, u_h = G w_h and g_ht = -u_h . rho_t. */
static void gradient(const sw_y *y)
{
    size_t K = y->K, T = y->T;
    for (size_t h = 0; h < y->nh; h++) {
        const double *s = y->s + h * T;
        double *g = y->g + h * T;
        for (size_t k = 0; k < K; k++) {
            y->fw[h * K + k] = sw_y_dot(s, y->rho + k * T, T);
            y->u[h * K + k] = sw_y_dot(y->G + k * K, y->w + h * K, K);
        }
        memset(g, 0, T * sizeof *g);
        for (size_t k = 0; k < K; k++) {
            double uk = y->u[h * K + k];
            const double *r = y->rho + k * T;
            for (size_t t = 0; t < T; t++)
                g[t] -= uk * r[t];
        }
    }
}

static void evaluate(const sw_y *y, const double *x)
{
    attend(y, x);
    residual(y);
    gradient(y);
}

static int rhs_gram(const sw_model *m, const double *x, double *f)
{
    const sw_y *y = m->ctx;
    size_t K = y->K, T = y->T;
    evaluate(y, x);
    for (size_t h = 0; h < y->nh; h++) {
        double *fh = f + h * y->stride, *fz = fh + K;
        const double *s = y->s + h * T;
        memcpy(fh, y->fw + h * K, K * sizeof *fh);
        /* da/dt = -J g; ds/dt = -J J g. */
        memcpy(fz, y->g + h * T, T * sizeof *fz);
        sw_y_jvec(s, T, fz);
        if (y->form == SW_Y_SIMPLEX)
            sw_y_jvec(s, T, fz);
        for (size_t t = 0; t < T; t++)
            fz[t] = -fz[t];
    }
    return 0;
}

/* 1/2 sum_t r_t^T G r_t for r = rho - [k > j] pi_k (j = K: the loss). */
static double truncated_distance(const sw_y *y, size_t j)
{
    size_t K = y->K, T = y->T;
    double *r = y->Grho;
    for (size_t k = 0; k < K; k++)
        for (size_t t = 0; t < T; t++)
            r[k * T + t] = y->rho[k * T + t] - (k >= j ? y->pi[k * T + t] : 0);
    double q = 0;
    for (size_t k = 0; k < K; k++)
        for (size_t l = 0; l < K; l++) {
            double gkl = y->G[k * K + l];
            if (gkl != 0)
                q += gkl * sw_y_dot(r + k * T, r + l * T, T);
        }
    return 0.5 * q;
}

static double loss_gram(const sw_model *m, const double *x)
{
    const sw_y *y = m->ctx;
    attend(y, x);
    residual(y);
    return truncated_distance(y, y->K);
}

static void observe_gram(const sw_model *m, const double *x, double *obs)
{
    const sw_y *y = m->ctx;
    attend(y, x);
    residual(y);
    sw_y_observe_heads(y, obs);
    for (size_t j = 0; j <= y->K; j++)
        obs[2 * y->H * y->K + j] = truncated_distance(y, j);
}

/* The Jacobian, from the partial derivatives in (w, s) coordinates (n is
 * mult, delta = [h == g], M_hg = s_h.s_g, c_hg = u_h.w_g):
 *   dfw_hk/dw_gl = -n delta_kl M_hg
 *   dfw_hk/ds_gt = delta rho_kt - n s_ht w_gk
 *   dg_ht/dw_gl  = -delta (G rho)_lt + n u_hl s_gt
 *   dg_ht/ds_gu  = n c_hg delta_tu
 * and, for fixed v, d(J(s) v)/ds = D(s, v) with
 *   D(s, v)_tu = delta_tu (v_t - s.v) - s_t v_u.
 * Logit form, f_a = -J(s_h) g_h and d/da_g = (d/ds_g) J(s_g):
 *   df_a/da_g = -(delta D(s_h, g_h) + n c_hg J(s_h)) J(s_g),
 * simplex form, f_s = -J(s_h)^2 g_h:
 *   df_s/ds_g = -J(s_h) (delta D(s_h, g_h) + n c_hg J(s_h)) - delta D(s_h, J(s_h) g_h).
 * Products with J(s) go through sw_y_jleft/jright, O(T^2) per block. */
static int jac_gram(const sw_model *m, const double *x, double *J)
{
    const sw_y *y = m->ctx;
    size_t K = y->K, T = y->T, nh = y->nh, n = m->dim;
    int simplex = y->form == SW_Y_SIMPLEX;
    double mult = y->mult;
    evaluate(y, x);
    for (size_t k = 0; k < K; k++)
        for (size_t t = 0; t < T; t++) {
            double acc = 0;
            for (size_t l = 0; l < K; l++)
                acc += y->G[k * K + l] * y->rho[l * T + t];
            y->Grho[k * T + t] = acc;
        }
    for (size_t h = 0; h < nh; h++)
        for (size_t g = 0; g < nh; g++) {
            y->M[h * nh + g] = sw_y_dot(y->s + h * T, y->s + g * T, T);
            y->c[h * nh + g] = sw_y_dot(y->u + h * K, y->w + g * K, K);
        }
    memset(J, 0, n * n * sizeof *J);
    for (size_t h = 0; h < nh; h++) {
        const double *sh = y->s + h * T, *gh = y->g + h * T;
        double sg_h = sw_y_dot(sh, gh, T);
        for (size_t g = 0; g < nh; g++) {
            const double *sg = y->s + g * T;
            int same = h == g;
            double *ww = J + h * y->stride * n + g * y->stride;
            double *wz = ww + K, *zw = ww + K * n, *zz = zw + K;
            for (size_t k = 0; k < K; k++)
                ww[k * n + k] = -mult * y->M[h * nh + g];

            for (size_t k = 0; k < K; k++)
                for (size_t t = 0; t < T; t++)
                    wz[k * n + t] = (same ? y->rho[k * T + t] : 0) - mult * sh[t] * y->w[g * K + k];
            if (!simplex)
                sw_y_jright(sg, T, wz, K, n);

            /* Rows of f_z are -J (or -J J) applied to dg/dw. */
            for (size_t t = 0; t < T; t++)
                for (size_t k = 0; k < K; k++)
                    zw[t * n + k] =
                        (same ? y->Grho[k * T + t] : 0) - mult * y->u[h * K + k] * sg[t];
            sw_y_jleft(sh, T, zw, K, n);
            if (simplex)
                sw_y_jleft(sh, T, zw, K, n);

            double nc = mult * y->c[h * nh + g];
            for (size_t t = 0; t < T; t++)
                for (size_t v = 0; v < T; v++) {
                    double D = same ? (t == v ? gh[t] - sg_h : 0) - sh[t] * gh[v] : 0;
                    double Jtv = (t == v ? sh[t] : 0) - sh[t] * sh[v];
                    zz[t * n + v] = -(D + nc * Jtv);
                }
            if (!simplex) {
                sw_y_jright(sg, T, zz, T, n);
                continue;
            }
            sw_y_jleft(sh, T, zz, T, n);
            if (same) {
                double *v = y->jg;
                memcpy(v, gh, T * sizeof *v);
                sw_y_jvec(sh, T, v);
                double sv = sw_y_dot(sh, v, T);
                for (size_t t = 0; t < T; t++) {
                    zz[t * n + t] -= v[t] - sv;
                    for (size_t u = 0; u < T; u++)
                        zz[t * n + u] += sh[t] * v[u];
                }
            }
        }
    }
    return 0;
}

/* ---- y-full -------------------------------------------------------------- */

/* s_h from the logits and R_t = C_t - sum_h s_ht V_h. */
static void residual_full(const sw_y *y, const double *x)
{
    size_t T = y->T, dd = y->d * y->d;
    for (size_t h = 0; h < y->nh; h++)
        sw_y_softmax(x + h * y->stride + dd, T, y->s + h * T);
    memcpy(y->R, y->C, T * dd * sizeof *y->R);
    for (size_t t = 0; t < T; t++) {
        double *Rt = y->R + t * dd;
        for (size_t h = 0; h < y->nh; h++) {
            const double *V = x + h * y->stride;
            double sht = y->s[h * T + t];
            for (size_t q = 0; q < dd; q++)
                Rt[q] -= sht * V[q];
        }
    }
}

static int rhs_full(const sw_model *m, const double *x, double *f)
{
    const sw_y *y = m->ctx;
    size_t T = y->T, dd = y->d * y->d;
    residual_full(y, x);
    for (size_t h = 0; h < y->nh; h++) {
        const double *V = x + h * y->stride, *s = y->s + h * T;
        double *fV = f + h * y->stride, *fa = fV + dd;
        memset(fV, 0, dd * sizeof *fV);
        for (size_t t = 0; t < T; t++) {
            const double *Rt = y->R + t * dd;
            for (size_t q = 0; q < dd; q++)
                fV[q] += s[t] * Rt[q];
            fa[t] = sw_y_dot(V, Rt, dd); /* -g_ht */
        }
        /* da/dt = -J g = J (-g). */
        sw_y_jvec(s, T, fa);
    }
    return 0;
}

/* 1/2 sum_t |R_t - sum_{k>j} pi_kt A_k|^2 (j = K: the loss). */
static double truncated_distance_full(const sw_y *y, size_t j)
{
    size_t T = y->T, dd = y->d * y->d;
    double q = 0;
    for (size_t t = 0; t < T; t++) {
        memcpy(y->tmp, y->R + t * dd, dd * sizeof *y->tmp);
        for (size_t k = j; k < y->K; k++) {
            double p = y->pi[k * T + t];
            if (p != 0)
                for (size_t i = 0; i < dd; i++)
                    y->tmp[i] -= p * y->A[k * dd + i];
        }
        for (size_t i = 0; i < dd; i++)
            q += y->tmp[i] * y->tmp[i];
    }
    return 0.5 * q;
}

static double loss_full(const sw_model *m, const double *x)
{
    const sw_y *y = m->ctx;
    residual_full(y, x);
    return truncated_distance_full(y, y->K);
}

/* w_h solves G w_h = (<A_k, V_h>)_k: the coefficients of the orthogonal
 * projection of V_h onto span{A_k}. */
static void observe_full(const sw_model *m, const double *x, double *obs)
{
    const sw_y *y = m->ctx;
    size_t K = y->K, dd = y->d * y->d;
    residual_full(y, x);
    for (size_t h = 0; h < y->nh; h++) {
        const double *V = x + h * y->stride;
        double *b = y->u + h * K;
        for (size_t k = 0; k < K; k++)
            b[k] = sw_y_dot(y->A + k * dd, V, dd);
        for (size_t k = 0; k < K; k++)
            y->w[h * K + k] = sw_y_dot(y->Ginv + k * K, b, K);
    }
    sw_y_observe_heads(y, obs);
    for (size_t j = 0; j <= K; j++)
        obs[2 * y->H * K + j] = truncated_distance_full(y, j);
}

/* ---- initial states ------------------------------------------------------ */

static void init_gram(const sw_model *m, double *x)
{
    const sw_y *y = m->ctx;
    int coupled = y->form == SW_Y_COUPLED;
    sw_y_draw(m, y->nh, !coupled, x, y->stride, x + y->K, y->stride);
    if (y->form == SW_Y_SIMPLEX)
        for (size_t h = 0; h < y->nh; h++) {
            double *a = x + h * y->stride + y->K;
            sw_y_softmax(a, y->T, a);
        }
}

/* V_h = sum_k w_hk A_k: the start lies on the reduced manifold. */
static void init_full(const sw_model *m, double *x)
{
    const sw_y *y = m->ctx;
    size_t K = y->K, dd = y->d * y->d;
    sw_y_draw(m, y->nh, 1, y->w, K, x + dd, y->stride);
    for (size_t h = 0; h < y->nh; h++) {
        double *V = x + h * y->stride;
        memset(V, 0, dd * sizeof *V);
        for (size_t k = 0; k < K; k++)
            for (size_t q = 0; q < dd; q++)
                V[q] += y->w[h * K + k] * y->A[k * dd + q];
    }
}

static int setup_full(sw_model *m, sw_err *e)
{
    return sw_y_setup(m, SW_Y_FULL, e);
}

static int setup_reduced(sw_model *m, sw_err *e)
{
    return sw_y_setup(m, SW_Y_REDUCED, e);
}

static int setup_coupled(sw_model *m, sw_err *e)
{
    return sw_y_setup(m, SW_Y_COUPLED, e);
}

static int setup_simplex(sw_model *m, sw_err *e)
{
    return sw_y_setup(m, SW_Y_SIMPLEX, e);
}

#define Y_COLUMNS                                                                                  \
    " Columns: att_h<h>_k<k> (attention of head h on pattern k's positions), w_h<h>_k<k> "         \
    "(lambda_k w_hk, V_h's coefficient along A_k/lambda_k), dist_<j> for j = 0..K (1/2 E|f - "     \
    "sum_{k<=j} A_k X pi_k|^2; dist_K = loss). Levels L_j = 1/2 sum_{k>j} lambda_k^2/m when "      \
    "overlap = 0. Start, from mt19937(seed): for each head, w_h1..w_hK ~ U[-w0, w0] then the "     \
    "logits ~ U[-sigma, sigma]; eps > 0 then gives every head head 1's logits plus U[-eps, "       \
    "eps], drawn position by position, heads innermost."

const sw_system sw_system_y_full = {
    .name = "y-full",
    .summary = "regression variant of the Markov task, full matrices V_h (Yuksel et al. Sec. 3)",
    .doc = "State: for each head h = 1..H, V_h<h>_<i>_<j> (d x d value matrix, row-major), then "
           "the logits a_h<h>_t<t> (t = 1..T; lag j is t = T+1-j). Features A_k are fixed by "
           "seed (Gram-Schmidt on Gaussian matrices), <A_k,A_l> = lambda_k lambda_l "
           "(k == l ? 1 : overlap); the start is V_h = sum_k w_hk A_k." Y_COLUMNS,
    .params = sw_y_params,
    .n_params = SW_Y_NPARAMS,
    .jac_doc = "central finite differences (no analytic Jacobian)",
    .setup = setup_full,
    .teardown = sw_y_teardown,
    .init = init_full,
    .rhs = rhs_full,
    .jac = NULL,
    .loss = loss_full,
    .observe = observe_full,
};

const sw_system sw_system_y_reduced = {
    .name = "y-reduced",
    .summary = "Y flow with V_h = sum_k w_hk A_k (Gram form), H (K + T) states",
    .doc = "State: for each head h = 1..H, w_h<h>_k<k> (k = 1..K, V_h = sum_k w_hk A_k), then "
           "the logits a_h<h>_t<t> (t = 1..T; lag j is t = T+1-j)." Y_COLUMNS,
    .params = sw_y_params,
    .n_params = SW_Y_D,
    .jac_doc = "analytic",
    .setup = setup_reduced,
    .teardown = sw_y_teardown,
    .init = init_gram,
    .rhs = rhs_gram,
    .jac = jac_gram,
    .loss = loss_gram,
    .observe = observe_gram,
};

const sw_system sw_system_y_coupled = {
    .name = "y-coupled",
    .summary = "Y flow with H identical heads (the competitive phase), K + T states",
    .doc = "State: w_k<k> (k = 1..K, every head's coefficients), then a_t<t> (t = 1..T, every "
           "head's logits). Starts from head 1's draw; eps is ignored (the heads are identical "
           "by construction). Every head is reported in the columns." Y_COLUMNS,
    .params = sw_y_params,
    .n_params = SW_Y_D,
    .jac_doc = "analytic",
    .setup = setup_coupled,
    .teardown = sw_y_teardown,
    .init = init_gram,
    .rhs = rhs_gram,
    .jac = jac_gram,
    .loss = loss_gram,
    .observe = observe_gram,
};

const sw_system sw_system_y_simplex = {
    .name = "y-simplex",
    .summary = "Y flow in attention coordinates, ds_h/dt = -J(s_h)^2 dL/ds_h",
    .doc = "State: for each head h = 1..H, w_h<h>_k<k> (k = 1..K), then the attention "
           "s_h<h>_t<t> (t = 1..T; lag j is t = T+1-j), starting at softmax of y-reduced's "
           "logits." Y_COLUMNS,
    .params = sw_y_params,
    .n_params = SW_Y_D,
    .jac_doc = "analytic (in s; the flow keeps sum_t s_ht = 1)",
    .setup = setup_simplex,
    .teardown = sw_y_teardown,
    .init = init_gram,
    .rhs = rhs_gram,
    .jac = jac_gram,
    .loss = loss_gram,
    .observe = observe_gram,
};
