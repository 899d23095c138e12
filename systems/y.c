/* The four forms of the Y flow: y-full (matrices V_h), y-reduced (V_h in
 * span{A_k}, Gram form), y-coupled (H identical heads as one) and y-simplex
 * (attention as the state).  The derivations are in docs/math.md; the
 * Jacobian of the reduced forms is worked out below. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h>

#include "clones.h"
#include "simd.h"
#include "systems.h"
#include "y_common.h"

/* ---- reduced forms ----------------------------------------------------- */

/* Reads s and w out of the state: s_h is softmax(a_h), or the state itself
 * in the simplex form.  The exponentials go through sw_exp_vec (within an
 * ulp of libm's; libm's exp was a third of the vector field at H = K = 3). */
static void attend(const sw_y *y, const double *x)
{
    size_t K = y->K, T = y->T;
    for (size_t h = 0; h < y->nh; h++) {
        const double *xh = x + h * y->stride;
        memcpy(y->w + h * K, xh, K * sizeof *xh);
        if (y->form == SW_Y_SIMPLEX)
            memcpy(y->s + h * T, xh + K, T * sizeof *xh);
        else
            sw_softmax_rows(xh + K, 1, T, y->s + h * T, NULL);
    }
}

/* out[0..3] = x_r . v for the four rows x_0..x_3 (T long), v loaded once
 * for four products; each summed as sw_y_dot sums (lanes t mod 4, the
 * tail into the first). */
static inline __attribute__((always_inline)) void
dot_rows4(const double *x0, const double *x1, const double *x2, const double *x3, size_t T,
          const double *v, double *out)
{
    sw_v4 p0 = {0, 0, 0, 0}, p1 = p0, p2 = p0, p3 = p0, vv, x;
    size_t t = 0;
    for (; t + 4 <= T; t += 4) {
        memcpy(&vv, v + t, sizeof vv);
        memcpy(&x, x0 + t, sizeof x);
        p0 += x * vv;
        memcpy(&x, x1 + t, sizeof x);
        p1 += x * vv;
        memcpy(&x, x2 + t, sizeof x);
        p2 += x * vv;
        memcpy(&x, x3 + t, sizeof x);
        p3 += x * vv;
    }
    double q0 = p0[0], q1 = p1[0], q2 = p2[0], q3 = p3[0];
    for (; t < T; t++) {
        q0 += x0[t] * v[t];
        q1 += x1[t] * v[t];
        q2 += x2[t] * v[t];
        q3 += x3[t] * v[t];
    }
    out[0] = (q0 + p0[1]) + (p0[2] + p0[3]);
    out[1] = (q1 + p1[1]) + (p1[2] + p1[3]);
    out[2] = (q2 + p2[1]) + (p2[2] + p2[3]);
    out[3] = (q3 + p3[1]) + (p3[2] + p3[3]);
}

/* rows_dot_ld's last two or three rows (K = 3, say, at H = K = 3):
 * together, the last row repeated to make four; a function of its own
 * (inlined, it made the callers' loops slower: 769M -> 794M instructions
 * at H = K = 8). */
SW_VECTOR_CLONES __attribute__((noinline)) static void
rows_dot_rest(const double *X, size_t m, size_t T, size_t ld, const double *v, double *out)
{
    const double *x0 = X, *x1 = x0 + ld, *x2 = m == 3 ? x1 + ld : x1;
    double o[4];
    dot_rows4(x0, x1, x2, x2, T, v, o);
    for (size_t r = 0; r < m; r++)
        out[r] = o[r];
}

/* out[i] = X_i . v for the m rows of X (T long, ld apart), four rows at a
 * time (dot_rows4). */
static inline void rows_dot_ld(const double *X, size_t m, size_t T, size_t ld, const double *v,
                               double *out)
{
    size_t i = 0;
    for (; i + 4 <= m; i += 4) {
        const double *x0 = X + i * ld, *x1 = x0 + ld, *x2 = x1 + ld, *x3 = x2 + ld;
        dot_rows4(x0, x1, x2, x3, T, v, out + i);
    }
    if (m - i >= 2) {
        rows_dot_rest(X + i * ld, m - i, T, ld, v, out + i);
        return;
    }
    if (i < m)
        out[i] = sw_y_dot(X + i * ld, v, T);
}

static inline void rows_dot(const double *X, size_t m, size_t T, const double *v, double *out)
{
    rows_dot_ld(X, m, T, T, v, out);
}

/* a0..a3 (sixteen positions) += sum_i coef_i X_(r_i) over m rows of X
 * (row stride ld, from the positions' first; r_i = rows[i], or i where
 * rows is NULL), in i's order at every position. */
static inline __attribute__((always_inline)) void
add_rows16(size_t m, const double *coef, const double *X, size_t ld, const size_t *rows,
           sw_v4 *a0, sw_v4 *a1, sw_v4 *a2, sw_v4 *a3)
{
    sw_v4 x;
    for (size_t i = 0; i < m; i++) {
        const double *xi = X + (rows ? rows[i] : i) * ld;
        double ci = coef[i];
        memcpy(&x, xi, sizeof x);
        *a0 += ci * x;
        memcpy(&x, xi + 4, sizeof x);
        *a1 += ci * x;
        memcpy(&x, xi + 8, sizeof x);
        *a2 += ci * x;
        memcpy(&x, xi + 12, sizeof x);
        *a3 += ci * x;
    }
}

/* out[t] = base_t + sum_i coef_i X_(r_i)t for t < T over m rows of X (row
 * stride ld; r_i = rows[i], or i where rows is NULL), base_t = a where
 * base is NULL: sixteen positions at a time, in four vectors, so that each
 * coefficient is broadcast once per sixteen products, then four at a time;
 * the sum runs in i's order at every position (as an axpy per row would;
 * out may be base). */
static inline void combine_rows_at(size_t T, double a, const double *base, size_t m,
                                   const double *coef, const double *X, size_t ld,
                                   const size_t *rows, double *out)
{
    size_t t = 0;
    for (; t + 16 <= T; t += 16) {
        sw_v4 a0 = {a, a, a, a}, a1 = a0, a2 = a0, a3 = a0;
        if (base) {
            memcpy(&a0, base + t, sizeof a0);
            memcpy(&a1, base + t + 4, sizeof a1);
            memcpy(&a2, base + t + 8, sizeof a2);
            memcpy(&a3, base + t + 12, sizeof a3);
        }
        add_rows16(m, coef, X + t, ld, rows, &a0, &a1, &a2, &a3);
        memcpy(out + t, &a0, sizeof a0);
        memcpy(out + t + 4, &a1, sizeof a1);
        memcpy(out + t + 8, &a2, sizeof a2);
        memcpy(out + t + 12, &a3, sizeof a3);
    }
    for (; t + 4 <= T; t += 4) {
        sw_v4 a0 = {a, a, a, a}, x;
        if (base)
            memcpy(&a0, base + t, sizeof a0);
        for (size_t i = 0; i < m; i++) {
            memcpy(&x, X + (rows ? rows[i] : i) * ld + t, sizeof x);
            a0 += coef[i] * x;
        }
        memcpy(out + t, &a0, sizeof a0);
    }
    for (; t < T; t++) {
        double acc = base ? base[t] : a;
        for (size_t i = 0; i < m; i++)
            acc += coef[i] * X[(rows ? rows[i] : i) * ld + t];
        out[t] = acc;
    }
}

/* combine_rows_at over the first m rows of X, T long and contiguous. */
static inline void combine_rows(size_t T, double a, const double *base, size_t m,
                                const double *coef, const double *X, double *out)
{
    combine_rows_at(T, a, base, m, coef, X, T, NULL, out);
}

/* The cases 1 to 8 of a switch over a count of heads or patterns, each
 * CALL(N) with N a constant, so that the always-inlined bodies below are
 * compiled once per count and their loops over heads or rows unroll (at
 * H = K = 8 the loops' overhead had been as large as their products); the
 * switch's default takes wider systems. */
#define Y_CASES_1_TO_8(CALL)                                                                       \
    case 1: CALL(1); break;                                                                        \
    case 2: CALL(2); break;                                                                        \
    case 3: CALL(3); break;                                                                        \
    case 4: CALL(4); break;                                                                        \
    case 5: CALL(5); break;                                                                        \
    case 6: CALL(6); break;                                                                        \
    case 7: CALL(7); break;                                                                        \
    case 8: CALL(8); break;
/* CALL(n) through those cases, the default for any other n. */
#define Y_BY_COUNT(n, CALL)                                                                        \
    switch (n) {                                                                                   \
        Y_CASES_1_TO_8(CALL)                                                                       \
    default:                                                                                       \
        CALL(n);                                                                                   \
    }

/* rho_kt = pi_kt - mult sum_h w_hk s_ht. */
SW_VECTOR_CLONES
static void residual(const sw_y *y)
{
    size_t K = y->K, T = y->T;
    for (size_t k = 0; k < K; k++) {
        for (size_t h = 0; h < y->nh; h++)
            y->coef[h] = -(y->mult * y->w[h * K + k]);
#define RESIDUAL(N) combine_rows(T, 0, y->pi + k * T, N, y->coef, y->s, y->rho + k * T)
        Y_BY_COUNT(y->nh, RESIDUAL);
#undef RESIDUAL
    }
}

/* dw_hk/dt = s_h . rho_k, u_h = G w_h and g_ht = -u_h . rho_t. */
SW_VECTOR_CLONES
static void gradient(const sw_y *y)
{
    size_t K = y->K, T = y->T;
    for (size_t h = 0; h < y->nh; h++) {
        rows_dot(y->rho, K, T, y->s + h * T, y->fw + h * K);
        for (size_t k = 0; k < K; k++) {
            y->u[h * K + k] = sw_y_dot(y->G + k * K, y->w + h * K, K);
            y->coef[k] = -y->u[h * K + k];
        }
#define GRADIENT(N) combine_rows(T, 0, NULL, N, y->coef, y->rho, y->g + h * T)
        Y_BY_COUNT(K, GRADIENT);
#undef GRADIENT
    }
}

static void evaluate(const sw_y *y, const double *x)
{
    attend(y, x);
    residual(y);
    gradient(y);
}

/* out = -J(s) g, as sw_y_jvec forms J(s) g, in one pass. */
SW_VECTOR_CLONES
static void minus_jvec(const double *s, const double *g, size_t T, double *restrict out)
{
    double sg = sw_y_dot(s, g, T);
    for (size_t t = 0; t < T; t++)
        out[t] = -(s[t] * (g[t] - sg));
}

static int rhs_gram(const sw_model *m, const double *x, double *f)
{
    const sw_y *y = m->ctx;
    size_t K = y->K, T = y->T;
    evaluate(y, x);
    for (size_t h = 0; h < y->nh; h++) {
        double *fh = f + h * y->stride, *fz = fh + K;
        const double *s = y->s + h * T;
        for (size_t k = 0; k < K; k++)
            fh[k] = y->fw[h * K + k];
        /* da/dt = -J g; ds/dt = -J J g. */
        if (y->form != SW_Y_SIMPLEX) {
            minus_jvec(s, y->g + h * T, T, fz);
            continue;
        }
        memcpy(fz, y->g + h * T, T * sizeof *fz);
        sw_y_jvec(s, T, fz);
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

/* ---- structured Newton solves (logit forms) ------------------------------- */

/* N = I - c J for the reduced logit forms, with work that follows the
 * Jacobian's structure: per solve O(nh^2 T + nh K T + (nh K)^2), per
 * factorisation O(nh^2 (nh + K)^2 T + (nh K)^3), against O(dim^2) and
 * O(dim^3) for the dense LU (dim = nh (K + T)).
 *
 * Split the state into the values w (nh K entries) and the logits a (nh T).
 * Expanding jac_gram's logit block with v_h = -J(s_h) g_h (the logit
 * velocity), sigma_h = s_h.g_h and p_h = g_h o s_h (elementwise):
 *   J_aa = P + W Psi W^T,
 *   P_(ht),(gu) = delta_tu (delta_hg v_ht - n c_hg s_ht s_gt),
 *   W = [Sv Pv Z]: column h of Sv (Pv) is s_h (p_h) in head h's rows, and
 *                  column g of Z is (c_hg s_ht s_gt) over all (h, t),
 *   Psi = [[-2 diag(sigma) - n C o M, I, n I], [I, 0, 0], [n I, 0, 0]],
 * with C_hg = c_hg and M_hg = s_h.s_g.  P couples heads only at equal
 * positions, so the logit block of N is D = B - c W Psi W^T with B = I - c P
 * made of T independent nh x nh blocks (symmetric, as C is), and by
 * Woodbury
 *   D^{-1} r = q + Y cap^{-1} c Psi W^T q,  q = B^{-1} r,  Y = B^{-1} W,
 *   cap = I - c Psi W^T Y  (3 nh x 3 nh; applied through its LU, as the
 *   explicit product cap^{-1} Psi loses digits: backward errors of 1e-9).
 * The values are few; they are eliminated through the Schur complement
 * S = A - E X of N = [[A, E], [F, D]] with X = D^{-1} F, so
 *   z_w = S^{-1} (b_w - E D^{-1} b_a),   z_a = D^{-1} (b_a - F z_w).
 * E and F are never stored: both are J(s_h) times a few vectors per head
 * (rho_1..rho_K and s_1..s_nh), so E v needs only the dot products of
 * J(s_h) v_h with those vectors, and F z is a combination of them.
 *
 * The Schur complement is where the work is.  With X0 = B^{-1} F,
 *   X = X0 + Y Zt,  Zt = cap^{-1} c Psi W^T X0 = cap^{-1} c Psi Y^T F,
 *   E X = E X0 + (E Y) Zt.
 * E X0 = E B^{-1} F never forms X0: E's rows and F's columns are, head by
 * head, combinations of J(s_h) s_g and J(s_h) rho_k, so it follows from
 * the Gram matrix of those vectors through B^{-1}, whose sums over
 * positions are moments of products of s and rho (gram).  The products
 * with W do not go that way (p_h = s_h o g_h would be combined from
 * vectors it is small against, and lost digits near plateaus): Y is
 * formed as 3 nh vectors, and Y^T F and E Y come from the dot products of
 * J(s_h) times Y's head blocks with s_1..s_nh, rho_1..rho_K, one matrix
 * product.  The Woodbury correction is never applied to a column of X:
 * S takes (E Y) Zt, a product of the small matrices.  A solve applies W,
 * F and B^{-1} once more instead of storing X or reading Y.
 *
 * The splitting can fail where N itself is fine: a block of B, or the
 * small matrices, close to singular (v_ht c near 1).  Setup then declines
 * and the stepper takes the dense LU for that factorisation. */

/* Smallest pivot the structured route accepts, relative to the largest
 * entry or to 1 if that is larger (every matrix it factors is the identity
 * plus something).  A pivot p costs about eps / p of relative accuracy in
 * the solve (the Woodbury terms cancel); a Newton iteration only needs a
 * few digits, and checks its own convergence: at 1e-10 the backward error
 * stays below about 1e-5 (tests/test_bdf.c measures it near a singular
 * block).  At 1e-8, H = K = 8 took two dense factorisations a run, for
 * pivots of 2e-9 to 9e-9, and they were 40% of its time. */
#define Y_PIVOT_MIN 1e-10

/* What lu_factor leaves beside the LU for the solves: the interchanges
 * (LAPACK's convention), the few that swap (lu_solve skips the rest
 * without testing each), and U's reciprocal diagonal (off the solves'
 * chains of dependent rows: the solves multiply by it). */
typedef struct lu_aux {
    size_t *piv, *swap, nswap;
    double *rdiag;
} lu_aux;

typedef struct y_newton {
    double c;
    /* The point: s (nh x T) is SR's first rows, not a buffer of its own;
     * u (nh x K); w and rho are read from the sw_y while setup runs. */
    double *s, *u;
    double *Grho;      /* K x T */
    double *sig;       /* nh */
    double *sGr;       /* nh x K: s_h . (G rho)_l */
    /* nh x (nh + K + 1): apply_E's dot products SR_a . (s_g o v_g), the
     * last (a = the ones) s_g . v_g, which the solve reads after it. */
    double *Pe;
    double *pe4;       /* nh x T (padded to four): apply_E's s_g o v_g (heads_at) */
    double *De;        /* nh x nh: apply_E's scratch */
    double *bet;       /* nh x nh: apply_WF's scratch */
    double *nw, *nu;   /* nh x K: n w, n u */
    double *tw;        /* nh K + 3 nh scratch */
    double *coef;      /* nh + K + 3 nh scratch */
    double *Binv;      /* B^{-1}'s blocks, in groups of four positions (binv_at) */
    double *aug;       /* nh x 2 nh scratch: a block beside the identity */
    sw_v4 *aug4;       /* the same for four positions, a vector per entry */
    double *W;         /* 3 nh rows of nh T: the columns of W (the first 2 nh
                        * live on one head: only that head's T entries are
                        * written or read) */
    double *Psi;       /* 3 nh x 3 nh */
    size_t *pcol; /* 3 nh scratch: the rows psi_times combines */
    double *WtY;       /* 3 nh x 3 nh scratch */
    double *cap;       /* 3 nh x 3 nh: I - c Psi W^T Y, factored */
    lu_aux capf;
    double *SR;    /* nh + K + 1 rows of T: s_1..s_nh, rho_1..rho_K, ones */
    double *Y;     /* 3 nh rows of nh T: the columns of B^{-1} W */
    double *Q;     /* nh x (nh + K) rows of T: J(s_h) applied to the rows of SR */
    double *PY;    /* 3 nh rows of nh (nh + K): Y's head blocks against Q */
    double *PV;    /* its transpose */
    double *mc;    /* nh rows of nh + K + 1: s_h . SR_a (the last, for the ones, unused) */
    double *Prod;  /* (nh + K + 1)(nh + K + 2) / 2 rows of T: SR_a o SR_b, a <= b */
    double *Beta;  /* nh (nh + 1) / 2 rows of T: B^{-1}_hg s_h o s_g, h <= g */
    double *Mom;   /* Beta Prod^T (npair x np) */
    double *Gam;   /* nh (nh + K + 1) squared: the Gram matrix of the basis in B^{-1} */
    double *EG;    /* nh K rows of nh (nh + K + 1): E Gam in the basis */
    double *GE;    /* its transpose, Gam E^T */
    size_t *cstart, *cidx; /* the columns of F, then the rows of E, in the basis */
    double *cval;
    double *YtF;   /* 3 nh x nh K */
    double *EY;    /* nh K x 3 nh: E Y */
    double *Zt;    /* 3 nh x nh K: cap^{-1} c Psi Y^T F */
    double *S;     /* nh K x nh K Schur complement, factored */
    lu_aux Sf;
    double *ra, *jv; /* nh T scratch */
    double *z, *z2;       /* 3 nh scratch */
    double *bw, *ew;      /* nh K scratch */
} y_newton;

/* Entry (h, g) of position t's block of B^{-1} in Binv: the positions in
 * groups of four, each group's nh^2 entries as vectors of its four
 * positions (T padded to a multiple of four), so that a sweep over
 * positions loads every entry of four blocks at fixed offsets from one
 * pointer. */
static inline size_t binv_at(size_t nh, size_t h, size_t g, size_t t)
{
    return ((t >> 2) * nh * nh + h * nh + g) * 4 + (t & 3);
}

#define LU_PANEL 4
_Static_assert(LU_PANEL == 4, "lu_factor's vector panel is one sw_v4");

/* y -= l x over m entries (rows of one matrix that are not the same). */
static inline void row_axpy(size_t m, double l, const double *restrict x, double *restrict y)
{
    for (size_t j = 0; j < m; j++)
        y[j] -= l * x[j];
}

/* out = (l a) o b, or a o b where l is 1, over m entries (out overlapping
 * neither: restrict lets the loops vectorise). */
static inline void row_times(size_t m, double l, const double *restrict a, const double *restrict b,
                             double *restrict out)
{
    if (l == 1)
        for (size_t j = 0; j < m; j++)
            out[j] = a[j] * b[j];
    else
        for (size_t j = 0; j < m; j++)
            out[j] = l * a[j] * b[j];
}

/* Bi -= sum_k a_k B_k over k in [k0, k1) (B's row k at B + k ld, m
 * entries of each), subtracted in k's order at every entry, four entries a
 * vector and Bi's kept in registers across four k (a quarter of the loads
 * and stores of one axpy per k): the LU's trailing update and the solves
 * with many right-hand sides. */
static inline void rows_subtract(size_t m, size_t ld, const double *a, size_t k0, size_t k1,
                                 const double *B, double *Bi)
{
    size_t k = k0;
    for (; k + 4 <= k1; k += 4) {
        double l0 = a[k], l1 = a[k + 1], l2 = a[k + 2], l3 = a[k + 3];
        const double *b0 = B + k * ld, *b1 = b0 + ld, *b2 = b1 + ld, *b3 = b2 + ld;
        size_t j = 0;
        for (; j + 4 <= m; j += 4) {
            sw_v4 acc, u;
            memcpy(&acc, Bi + j, sizeof acc);
            memcpy(&u, b0 + j, sizeof u);
            acc -= l0 * u;
            memcpy(&u, b1 + j, sizeof u);
            acc -= l1 * u;
            memcpy(&u, b2 + j, sizeof u);
            acc -= l2 * u;
            memcpy(&u, b3 + j, sizeof u);
            acc -= l3 * u;
            memcpy(Bi + j, &acc, sizeof acc);
        }
        for (; j < m; j++)
            Bi[j] = (((Bi[j] - l0 * b0[j]) - l1 * b1[j]) - l2 * b2[j]) - l3 * b3[j];
    }
    for (; k < k1; k++)
        row_axpy(m, a[k], B + k * ld, Bi);
}

/* The row from..n-1 whose entry in column col is largest in magnitude
 * (the first of equals): partial pivoting's choice, rows stride apart. */
static inline size_t pivot_row(const double *A, size_t stride, size_t col, size_t from, size_t n)
{
    size_t p = from;
    for (size_t i = from + 1; i < n; i++)
        if (fabs(A[i * stride + col]) > fabs(A[p * stride + col]))
            p = i;
    return p;
}

/* A row's four entries in the panel (r, lanes 0..3) eliminated by the
 * pivot row's (u, zero up to lane c): the multiplier l = r_c / d into lane
 * c (at), l u subtracted from the others.  Returns |r_(c+1)| after (the
 * next column's pivot candidate; lane c + 1 taken mod 4, unused when c is
 * the panel's last). */
static inline __attribute__((always_inline)) double panel_row(double *r, size_t c, double d,
                                                              const sw_v4i *at, const sw_v4 *u)
{
    double l = r[c] / d;
    sw_v4 lv = {l, l, l, l}, v;
    memcpy(&v, r, sizeof v);
    v = SW_V4_SELECT(*at, lv, v - l * *u);
    memcpy(r, &v, sizeof v);
    return fabs(v[(c + 1) & 3]);
}

/* LU with partial pivoting, in place, row-major, LAPACK's convention for
 * the interchanges.  Returns the smallest pivot over the largest entry of
 * A or 1, whichever is larger (0: singular). */
SW_VECTOR_CLONES
static double lu_factor(size_t n, double *A, lu_aux *f)
{
    size_t *piv = f->piv;
    double small = INFINITY;
    sw_v4 bv = {1, 1, 1, 1}, a;
    size_t i = 0;
    for (; i + 4 <= n * n; i += 4) {
        memcpy(&a, A + i, sizeof a);
        a = SW_V4_ABS(a);
        bv = SW_V4_SELECT(a > bv, a, bv);
    }
    double big = fmax(fmax(bv[0], bv[1]), fmax(bv[2], bv[3]));
    for (; i < n * n; i++)
        if (fabs(A[i]) > big)
            big = fabs(A[i]);
    /* Panels of LU_PANEL columns: inside a panel, the usual elimination
     * (on the panel's columns only); then the panel's rows of U get their
     * updates, and every row below gets the panel's updates in one pass,
     * summed in a register in the order the unblocked elimination
     * subtracts them (the same numbers, a quarter of the loads and
     * stores on the trailing matrix). */
    for (size_t k0 = 0; k0 < n; k0 += LU_PANEL) {
        size_t k1 = k0 + LU_PANEL < n ? k0 + LU_PANEL : n, p = pivot_row(A, n, k0, k0, n);
        for (size_t k = k0; k < k1; k++) {
            /* p: the pivot of column k (searched above, or by the
             * previous column's pass). */
            piv[k] = p;
            if (p != k)
                for (size_t j = 0; j < n; j++) {
                    double tmp = A[k * n + j];
                    A[k * n + j] = A[p * n + j];
                    A[p * n + j] = tmp;
                }
            double d = A[k * n + k];
            if (fabs(d) < small)
                small = fabs(d);
            if (d == 0)
                return 0;
            if (k1 - k0 == LU_PANEL) {
                /* The panel's four entries of a row as one vector, and
                 * the next column's pivot searched in the same pass, rows
                 * in the same order as pivot_row.  Row k's lanes up to k
                 * are zeroed so that those lanes keep the multipliers
                 * (v - l * 0; l is finite wherever the factorisation can
                 * pass the pivot test). */
                const sw_v4i lane = {0, 1, 2, 3};
                sw_v4i at = lane == (int64_t)(k - k0);
                sw_v4 u, zero = {0, 0, 0, 0};
                memcpy(&u, A + k * n + k0, sizeof u);
                u = SW_V4_SELECT(lane <= (int64_t)(k - k0), zero, u);
                p = k + 1;
                if (k + 1 == k1) {
                    for (size_t i = k + 1; i < n; i++)
                        panel_row(A + i * n + k0, k - k0, d, &at, &u);
                    continue;
                }
                /* The largest so far kept beside its row (the first of
                 * equals wins, and a NaN is never chosen over row k + 1,
                 * as in pivot_row). */
                double best = 0;
                for (size_t i = k + 1; i < n; i++) {
                    double e = panel_row(A + i * n + k0, k - k0, d, &at, &u);
                    if (e > best || i == k + 1) {
                        best = e;
                        p = i;
                    }
                }
                continue;
            }
            for (size_t i = k + 1; i < n; i++) {
                double l = A[i * n + k] /= d;
                for (size_t j = k + 1; j < k1; j++)
                    A[i * n + j] -= l * A[k * n + j];
            }
            if (k + 1 < k1)
                p = pivot_row(A, n, k + 1, k + 1, n);
        }
        for (size_t k = k0 + 1; k < k1; k++)
            for (size_t q = k0; q < k; q++) {
                double l = A[k * n + q];
                for (size_t j = k1; j < n; j++)
                    A[k * n + j] -= l * A[q * n + j];
            }
        for (size_t i = k1; i < n; i++)
            rows_subtract(n - k1, n, A + i * n, k0, k1, A + k1, A + i * n + k1);
    }
    f->nswap = 0;
    for (size_t k = 0; k < n; k++) {
        if (piv[k] != k)
            f->swap[f->nswap++] = k;
        f->rdiag[k] = 1 / A[k * n + k];
    }
    return small / big;
}

/* The interchanges of f applied to x (rows of m entries, row stride m). */
static inline void lu_swap(const lu_aux *f, double *x, size_t m)
{
    for (size_t i = 0; i < f->nswap; i++) {
        size_t k = f->swap[i], p = f->piv[k];
        for (size_t j = 0; j < m; j++) {
            double tmp = x[k * m + j];
            x[k * m + j] = x[p * m + j];
            x[p * m + j] = tmp;
        }
    }
}

SW_VECTOR_CLONES
static void lu_solve(size_t n, const double *A, const lu_aux *f, double *b)
{
    lu_swap(f, b, 1);
    /* By blocks of four rows: their products with the solution so far are
     * independent (rows_dot_ld), and only the four-by-four triangle is a
     * chain (spelled out: loops of 0 to 3 steps cost more than their
     * arithmetic); one row at a time the whole solve was a chain of dot
     * products, each waiting for the last. */
    double acc[4];
    size_t i0 = 0;
    for (; i0 + 4 <= n; i0 += 4) {
        const double *a1 = A + (i0 + 1) * n + i0, *a2 = a1 + n, *a3 = a2 + n;
        double *x = b + i0;
        rows_dot_ld(A + i0 * n, 4, i0, n, b, acc);
        x[0] -= acc[0];
        x[1] = (x[1] - acc[1]) - a1[0] * x[0];
        x[2] = ((x[2] - acc[2]) - a2[0] * x[0]) - a2[1] * x[1];
        x[3] = (((x[3] - acc[3]) - a3[0] * x[0]) - a3[1] * x[1]) - a3[2] * x[2];
    }
    for (; i0 < n; i0++)
        b[i0] -= sw_y_dot(A + i0 * n, b, i0);
    /* The same upwards, from the last rows. */
    const double *r = f->rdiag;
    size_t top = n;
    for (; top >= 4; top -= 4) {
        size_t i1 = top - 4;
        const double *a0 = A + i1 * n + i1, *a1 = a0 + n + 1, *a2 = a1 + n + 1;
        double *x = b + i1;
        rows_dot_ld(A + i1 * n + top, 4, n - top, n, b + top, acc);
        x[3] = (x[3] - acc[3]) * r[i1 + 3];
        x[2] = ((x[2] - acc[2]) - a2[1] * x[3]) * r[i1 + 2];
        x[1] = (((x[1] - acc[1]) - a1[1] * x[2]) - a1[2] * x[3]) * r[i1 + 1];
        x[0] = ((((x[0] - acc[0]) - a0[1] * x[1]) - a0[2] * x[2]) - a0[3] * x[3]) * r[i1];
    }
    for (size_t i = top; i-- > 0;)
        b[i] = (b[i] - sw_y_dot(A + i * n + i + 1, b + i + 1, n - 1 - i)) * r[i];
}

/* B <- A^{-1} B for B of n rows and m columns (row stride m), from
 * lu_factor's LU: forward and back substitution on every column at once,
 * with the loops along B's rows so that they vectorise (many small
 * right-hand sides cost mostly loop overhead one by one). */
SW_VECTOR_CLONES
static void lu_solve_many(size_t n, const double *A, const lu_aux *f, double *B, size_t m)
{
    lu_swap(f, B, m);
    for (size_t i = 1; i < n; i++)
        rows_subtract(m, m, A + i * n, 0, i, B, B + i * m);
    for (size_t i = n; i-- > 0;) {
        rows_subtract(m, m, A + i * n, i + 1, n, B, B + i * m);
        double r = f->rdiag[i];
        for (size_t j = 0; j < m; j++)
            B[i * m + j] *= r;
    }
}

/* A^{-1} by Gauss-Jordan elimination with partial pivoting on [A | I]
 * (n rows of 2n, in place: the right half ends as the inverse).  Its
 * pivots are those of LU with partial pivoting; one sweep instead of
 * lu_factor and a solve for each of the n columns, which cost ten times
 * the arithmetic in loop overhead on blocks of 3 to 8.  Returns
 * lu_factor's pivot ratio (0: singular). */
SW_VECTOR_CLONES
static double invert_small(size_t n, double *aug)
{
    size_t m = 2 * n;
    double big = 1, small = INFINITY;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (fabs(aug[i * m + j]) > big)
                big = fabs(aug[i * m + j]);
    for (size_t k = 0; k < n; k++) {
        size_t p = pivot_row(aug, m, k, k, n);
        /* Whole rows: the columns left of k are never read again, and
         * loops of a fixed length vectorise. */
        if (p != k)
            for (size_t j = 0; j < m; j++) {
                double tmp = aug[k * m + j];
                aug[k * m + j] = aug[p * m + j];
                aug[p * m + j] = tmp;
            }
        double *rk = aug + k * m, d = rk[k];
        if (fabs(d) < small)
            small = fabs(d);
        if (d == 0)
            return 0;
        /* The row operations skip the columns left of k: eliminated, they
         * hold only rounding residues and are never read again. */
        double r = 1 / d;
        for (size_t j = k; j < m; j++)
            rk[j] *= r;
        for (size_t i = 0; i < n; i++) {
            double *ri = aug + i * m, l = ri[k];
            if (i == k || l == 0)
                continue;
            row_axpy(m - k, l, rk + k, ri + k);
        }
    }
    return small / big;
}

/* B_t = I - c P_t (see above) into ws->aug beside the identity. */
static void block_at(const sw_y *y, y_newton *ws, size_t t)
{
    size_t T = y->T, nh = y->nh;
    double c = ws->c, n = y->mult;
    for (size_t h = 0; h < nh; h++) {
        double *row = ws->aug + h * 2 * nh;
        double sht = y->s[h * T + t], vht = -sht * (y->g[h * T + t] - ws->sig[h]);
        for (size_t g = 0; g < nh; g++) {
            row[g] = c * n * y->c[h * nh + g] * sht * y->s[g * T + t];
            row[nh + g] = g == h;
        }
        row[h] += 1 - c * vht;
    }
}

/* B_t^{-1} into Binv; returns invert_small's pivot ratio. */
static double invert_block(const sw_y *y, y_newton *ws, size_t t)
{
    size_t nh = y->nh;
    block_at(y, ws, t);
    double ratio = invert_small(nh, ws->aug);
    for (size_t h = 0; h < nh; h++)
        for (size_t g = 0; g < nh; g++)
            ws->Binv[binv_at(nh, h, g, t)] = ws->aug[h * 2 * nh + nh + g];
    return ratio;
}

/* The blocks of positions t..t+3 at once, one in each lane of a vector:
 * invert_small's operations, where every pivot is the largest in its
 * column (as it mostly is: the blocks are the identity plus c times small
 * terms), so that partial pivoting would swap nothing and the results are
 * invert_small's to the bit.  Returns 0, having stored nothing, if some
 * lane would need a swap (the caller then inverts those four one by one);
 * 1 with the least pivot ratio of the four in *ratio.  The blocks' entries
 * are formed as block_at forms them, in the same order of operations:
 * change both or neither, or the two routes stop agreeing to the bit. */
static inline __attribute__((always_inline)) int
invert_blocks4_nh(const size_t nh, const sw_y *y, y_newton *ws, size_t t, double *ratio)
{
    size_t T = y->T, m = 2 * nh;
    double c = ws->c, n = y->mult;
    sw_v4 *A = ws->aug4, one = {1, 1, 1, 1}, zero = {0, 0, 0, 0};
    sw_v4 big = one, small = {INFINITY, INFINITY, INFINITY, INFINITY};
    for (size_t h = 0; h < nh; h++) {
        sw_v4 sh, gh, sg;
        memcpy(&sh, y->s + h * T + t, sizeof sh);
        memcpy(&gh, y->g + h * T + t, sizeof gh);
        sw_v4 vh = -sh * (gh - ws->sig[h]);
        for (size_t g = 0; g < nh; g++) {
            memcpy(&sg, y->s + g * T + t, sizeof sg);
            A[h * m + g] = c * n * y->c[h * nh + g] * sh * sg;
            A[h * m + nh + g] = g == h ? one : zero;
        }
        A[h * m + h] += 1 - c * vh;
        for (size_t g = 0; g < nh; g++) {
            sw_v4 a = SW_V4_ABS(A[h * m + g]);
            big = SW_V4_SELECT(a > big, a, big);
        }
    }
    for (size_t k = 0; k < nh; k++) {
        sw_v4 *rk = A + k * m, d = rk[k], ad = SW_V4_ABS(d);
        sw_v4i swap = ad == zero;
        for (size_t i = k + 1; i < nh; i++)
            swap |= SW_V4_ABS(A[i * m + k]) > ad;
        if (swap[0] | swap[1] | swap[2] | swap[3])
            return 0;
        small = SW_V4_SELECT(ad < small, ad, small);
        sw_v4 r = 1 / d;
        /* Columns k..nh+k only: those left of k are eliminated (rounding
         * residues, never read again), and with no rows swapped row k is
         * exactly zero right of nh + k (the identity's columns not reached
         * yet), so skipping those changes nothing. */
        for (size_t j = k; j <= nh + k; j++)
            rk[j] *= r;
        for (size_t i = 0; i < nh; i++) {
            if (i == k)
                continue;
            sw_v4 *ri = A + i * m, l = ri[k];
            for (size_t j = k; j <= nh + k; j++)
                ri[j] -= l * rk[j];
        }
    }
    sw_v4 q = small / big;
    *ratio = fmin(fmin(q[0], q[1]), fmin(q[2], q[3]));
    for (size_t h = 0; h < nh; h++)
        for (size_t g = 0; g < nh; g++)
            memcpy(ws->Binv + binv_at(nh, h, g, t), &A[h * m + nh + g], sizeof(sw_v4));
    return 1;
}

SW_VECTOR_CLONES
static int invert_blocks4(const sw_y *y, y_newton *ws, size_t t, double *ratio)
{
    int ok;
#define INVERT(N) ok = invert_blocks4_nh(N, y, ws, t, ratio)
    Y_BY_COUNT(y->nh, INVERT);
#undef INVERT
    return ok;
}

static void newton_free_gram(void *p)
{
    y_newton *ws = p;
    if (!ws)
        return;
    void *bufs[] = {ws->u, ws->Grho, ws->sig, ws->sGr, ws->Pe,
                    ws->pe4, ws->De, ws->bet, ws->nw, ws->nu, ws->tw, ws->coef,
                    ws->Binv, ws->aug, ws->aug4, ws->W, ws->Psi, ws->WtY, ws->cap, ws->capf.piv,
                    ws->capf.swap, ws->capf.rdiag, ws->SR, ws->Y, ws->Q, ws->PY, ws->PV, ws->mc,
                    ws->Prod, ws->Beta, ws->Mom, ws->Gam, ws->EG, ws->GE, ws->cstart, ws->cidx,
                    ws->cval, ws->YtF, ws->EY, ws->Zt, ws->S, ws->Sf.piv, ws->Sf.swap,
                    ws->Sf.rdiag, ws->ra, ws->jv, ws->z, ws->z2, ws->bw, ws->ew, ws->pcol};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        free(bufs[i]);
    free(ws);
}

static void *newton_alloc_gram(const sw_model *m)
{
    const sw_y *y = m->ctx;
    size_t K = y->K, T = y->T, nh = y->nh, na = nh * T, nv = nh * K, r = 3 * nh;
    size_t ns = nh + K, nb = ns + 1, NB = nh * nb, np = nb * (nb + 1) / 2;
    size_t npair = nh * (nh + 1) / 2, ncoef = nv * (K + nh) + nv * (1 + nh);
    size_t Tp = (T + 3) & ~(size_t)3;
    y_newton *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
#define D_ALLOC(f, count) (ws->f = malloc((count) * sizeof *ws->f))
    if (!D_ALLOC(u, nv) || !D_ALLOC(Grho, K * T) || !D_ALLOC(sig, nh) ||
        !D_ALLOC(sGr, nh * K) || !D_ALLOC(Pe, nh * nb) || !D_ALLOC(pe4, nh * Tp) ||
        !D_ALLOC(De, nh * nh) || !D_ALLOC(bet, nh * nh) ||
        !D_ALLOC(nw, nv) || !D_ALLOC(nu, nv) || !D_ALLOC(tw, nv + r) ||
        !D_ALLOC(coef, nh + K + r) || !D_ALLOC(Binv, Tp * nh * nh) ||
        !D_ALLOC(aug, 2 * nh * nh) ||
        !(ws->aug4 = aligned_alloc(sizeof(sw_v4), 2 * nh * nh * sizeof(sw_v4))) ||
        !D_ALLOC(W, r * na) || !D_ALLOC(Psi, r * r) || !D_ALLOC(WtY, r * r) ||
        !D_ALLOC(cap, r * r) || !D_ALLOC(capf.piv, r) || !D_ALLOC(capf.swap, r) ||
        !D_ALLOC(capf.rdiag, r) || !D_ALLOC(SR, nb * T) ||
        !D_ALLOC(Y, r * na) || !D_ALLOC(Q, nh * ns * T) || !D_ALLOC(PY, r * nh * ns) ||
        !D_ALLOC(PV, r * nh * ns) ||
        !D_ALLOC(mc, NB) || !D_ALLOC(Prod, np * T) || !D_ALLOC(Beta, npair * T) ||
        !D_ALLOC(Mom, npair * np) || !D_ALLOC(Gam, NB * NB) || !D_ALLOC(EG, nv * NB) ||
        !D_ALLOC(GE, NB * nv) || !D_ALLOC(cstart, 2 * nv + 1) || !D_ALLOC(cidx, ncoef) ||
        !D_ALLOC(cval, ncoef) || !D_ALLOC(YtF, r * nv) || !D_ALLOC(EY, nv * r) ||
        !D_ALLOC(Zt, r * nv) || !D_ALLOC(S, nv * nv) || !D_ALLOC(Sf.piv, nv) ||
        !D_ALLOC(Sf.swap, nv) || !D_ALLOC(Sf.rdiag, nv) || !D_ALLOC(ra, na) ||
        !D_ALLOC(jv, na) || !D_ALLOC(z, r) || !D_ALLOC(z2, r) ||
        !D_ALLOC(bw, nv) || !D_ALLOC(ew, nv) || !D_ALLOC(pcol, r)) {
        newton_free_gram(ws);
        return NULL;
    }
#undef D_ALLOC
    for (size_t t = 0; t < T; t++)
        ws->SR[ns * T + t] = 1;
    ws->s = ws->SR;
    return ws;
}

/* blocks_apply for nh = NH, with or without add (ADD): four positions at a
 * time, the loops over heads unrolled where NH is known when compiled (1 to
 * 8; their overhead was as large as the products) and r's NH vectors then
 * kept in registers (more would not fit: they are loaded where used). */
static inline __attribute__((always_inline)) void
blocks_apply_nh(const int NH, const int ADD, size_t T, const double *Binv, const double *r,
                size_t rld, const double *add, double *out, size_t old)
{
    size_t t = 0;
    const double *bt = Binv;
    for (; t + 4 <= T; t += 4, bt += (size_t)NH * NH * 4) {
        sw_v4 rv[8], b, v, acc;
        if (NH <= 8)
#pragma GCC unroll 8
            for (int g = 0; g < NH; g++)
                memcpy(&rv[g], r + (size_t)g * rld + t, sizeof rv[g]);
#pragma GCC unroll 8
        for (int h = 0; h < NH; h++) {
            acc = (sw_v4){0, 0, 0, 0};
#pragma GCC unroll 8
            for (int g = 0; g < NH; g++) {
                memcpy(&b, bt + ((size_t)h * NH + g) * 4, sizeof b);
                if (NH <= 8)
                    v = rv[g];
                else
                    memcpy(&v, r + (size_t)g * rld + t, sizeof v);
                acc += b * v;
            }
            if (ADD) {
                memcpy(&b, add + (size_t)h * T + t, sizeof b);
                acc = b + acc;
            }
            memcpy(out + (size_t)h * old + t, &acc, sizeof acc);
        }
    }
    for (; t < T; t++)
        for (int h = 0; h < NH; h++) {
            double a = 0;
            for (int g = 0; g < NH; g++)
                a += Binv[binv_at(NH, h, g, t)] * r[(size_t)g * rld + t];
            out[(size_t)h * old + t] = ADD ? add[(size_t)h * T + t] + a : a;
        }
}

/* out <- add + B^{-1} r: r's head g at r + g rld, out's (and add's) head h
 * at out + h old (add + h T; add NULL: 0), not overlapping r; each head's
 * sum over g in the heads' order, add added to the sum. */
SW_VECTOR_CLONES
static void blocks_apply(const sw_y *y, const y_newton *ws, const double *r, size_t rld,
                         const double *add, double *out, size_t old)
{
    size_t T = y->T;
#define BLOCKS(N)                                                                                  \
    (add ? blocks_apply_nh(N, 1, T, ws->Binv, r, rld, add, out, old)                               \
         : blocks_apply_nh(N, 0, T, ws->Binv, r, rld, NULL, out, old))
    Y_BY_COUNT((int)y->nh, BLOCKS);
#undef BLOCKS
}

/* out <- B^{-1} v for v (T entries) on head g's rows and zero elsewhere:
 * column g of every block, nh T work instead of nh^2 T. */
SW_VECTOR_CLONES
static void solve_head(const sw_y *y, const y_newton *ws, size_t g, const double *v, double *out)
{
    size_t T = y->T, nh = y->nh;
    for (size_t h = 0; h < nh; h++) {
        size_t t = 0;
        for (; t + 4 <= T; t += 4) {
            sw_v4 b, x;
            memcpy(&b, ws->Binv + binv_at(nh, h, g, t), sizeof b);
            memcpy(&x, v + t, sizeof x);
            b *= x;
            memcpy(out + h * T + t, &b, sizeof b);
        }
        for (; t < T; t++)
            out[h * T + t] = ws->Binv[binv_at(nh, h, g, t)] * v[t];
    }
}

/* o <- mc (o - sum_f cf[f cs] R_f) over len entries, for the m rows R_f at
 * R + f rs: four entries at a time, the sum in f's order at every entry. */
static inline void subtract_rows(size_t m, size_t len, const double *R, size_t rs,
                                 const double *cf, size_t cs, double mc, double *o)
{
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        sw_v4 acc, x;
        memcpy(&acc, o + i, sizeof acc);
        for (size_t f = 0; f < m; f++) {
            memcpy(&x, R + f * rs + i, sizeof x);
            acc -= cf[f * cs] * x;
        }
        acc = acc * mc;
        memcpy(o + i, &acc, sizeof acc);
    }
    for (; i < len; i++) {
        double acc = o[i];
        for (size_t f = 0; f < m; f++)
            acc -= cf[f * cs] * R[f * rs + i];
        o[i] = acc * mc;
    }
}

/* Entry (g, t) of nh vectors of T in groups of four positions (each
 * group's nh vectors of four), as binv_at groups B^{-1}'s entries. */
static inline size_t heads_at(size_t nh, size_t g, size_t t)
{
    return ((t >> 2) * nh + g) * 4 + (t & 3);
}

/* P[g nb + a] = SR_a . (s_g o v_g) for SR's nb rows (the last, the ones,
 * gives s_g . v_g) and nh = NH heads at once, each summed as rows_dot and
 * sw_y_dot sum (lanes t mod 4, the tail into the first): the products
 * s_g o v_g stored by heads_at, so that a row of SR meets all NH at fixed
 * offsets. */
static inline __attribute__((always_inline)) void
e_dots_nh(const int NH, size_t nb, size_t T, const double *SR, const double *s, const double *v,
          double *pe4, double *P)
{
    size_t t = 0;
    for (; t + 4 <= T; t += 4)
#pragma GCC unroll 8
        for (int g = 0; g < NH; g++) {
            sw_v4 a, b;
            memcpy(&a, s + (size_t)g * T + t, sizeof a);
            memcpy(&b, v + (size_t)g * T + t, sizeof b);
            a *= b;
            memcpy(pe4 + heads_at(NH, g, t), &a, sizeof a);
        }
    for (; t < T; t++)
        for (int g = 0; g < NH; g++)
            pe4[heads_at(NH, g, t)] = s[(size_t)g * T + t] * v[(size_t)g * T + t];
    for (size_t r = 0; r < nb; r++) {
        const double *x = SR + r * T, *pt = pe4;
        sw_v4 acc[8], xv, pv;
#pragma GCC unroll 8
        for (int g = 0; g < NH; g++)
            acc[g] = (sw_v4){0, 0, 0, 0};
        for (t = 0; t + 4 <= T; t += 4, pt += NH * 4) {
            memcpy(&xv, x + t, sizeof xv);
#pragma GCC unroll 8
            for (int g = 0; g < NH; g++) {
                memcpy(&pv, pt + g * 4, sizeof pv);
                acc[g] += xv * pv;
            }
        }
#pragma GCC unroll 8
        for (int g = 0; g < NH; g++) {
            double q = acc[g][0];
            for (size_t u = t; u < T; u++)
                q += x[u] * pe4[heads_at(NH, g, u)];
            P[g * nb + r] = (q + acc[g][1]) + (acc[g][2] + acc[g][3]);
        }
    }
}

/* out <- E v (nh K entries), E = N_wa = -c J_wa:
 *   (E v)_hk = -c (rho_k . J(s_h) v_h - n sum_g w_gk s_h . J(s_g) v_g).
 * With J(s_g) v_g = s_g o v_g - (s_g . v_g) s_g, every product is a row of
 * SR (s_1..s_nh, rho_1..rho_K) against s_g o v_g, less a multiple of
 * M_hg or s_h . rho_k, which setup keeps. */
SW_VECTOR_CLONES
static void apply_E(const sw_y *y, y_newton *ws, const double *v, double *out)
{
    size_t K = y->K, T = y->T, nh = y->nh, ns = nh + K, nb = ns + 1;
    double *prod = ws->jv, *P = ws->Pe, *D = ws->De;
#define E_DOTS(N) e_dots_nh(N, nb, T, ws->SR, ws->s, v, ws->pe4, P)
    switch (nh) {
        Y_CASES_1_TO_8(E_DOTS)
    default: /* more heads than e_dots_nh's accumulators: the same sums by rows_dot */
        for (size_t g = 0; g < nh; g++) {
            const double *sg = ws->s + g * T, *vg = v + g * T;
            for (size_t t = 0; t < T; t++)
                prod[t] = sg[t] * vg[t];
            rows_dot(ws->SR, nb, T, prod, P + g * nb);
        }
    }
#undef E_DOTS
    /* s_g . v_g is P[g nb + ns], the ones' row.  D_hg = s_h . J(s_g) v_g
     * once, then each (E v)_h along k, four at a time (the sum over g in its
     * order, as lane k would sum it alone). */
    for (size_t h = 0; h < nh; h++)
        for (size_t g = 0; g < nh; g++)
            D[h * nh + g] = P[g * nb + h] - P[g * nb + ns] * y->M[h * nh + g];
    for (size_t h = 0; h < nh; h++) {
        const double *Ph = P + h * nb + nh, *sr = ws->mc + h * nb + nh; /* s_h . rho_k */
        double svh = P[h * nb + ns], *o = out + h * K;
        for (size_t k = 0; k < K; k++)
            o[k] = Ph[k] - svh * sr[k];
        subtract_rows(nh, K, ws->nw, K, D + h * nh, 1, -ws->c, o);
    }
}

/* out <- W z - F v (z: 3 nh entries, v: nh K; out: nh T), with
 * F = N_aw = -c J_aw, whose head h part is -c J(s_h) o_h,
 *   o_h = sum_l v_hl (G rho)_l - sum_g beta_hg s_g,  beta_hg = n u_h . v_g.
 * W z on head h is s_h (z_h + sum_g z_{2nh+g} c_hg s_g) + z_{nh+h} p_h, and
 * J(s_h) o_h = s_h (o_h - s_h . o_h), with s_h . o_h from the dot products
 * s_h . (G rho)_l and M kept by setup, so each head is one pass:
 *   out_h = s_h (a + sum_g delta_g s_g + c sum_l v_hl (G rho)_l) + z_{nh+h} p_h
 * with a = z_h - c s_h . o_h and delta_g = z_{2nh+g} c_hg - c beta_hg. */
static inline __attribute__((always_inline)) void
apply_WF_nh(const size_t nh, const sw_y *y, y_newton *ws, const double *z, const double *v,
            double *restrict out)
{
    size_t K = y->K, T = y->T, na = nh * T;
    double c = ws->c, n = y->mult;
    double *coef = ws->coef; /* delta_1..delta_nh, then c v_h1..c v_hK */
    double *beta = ws->bet;
    /* beta_hg = n u_h . v_g, each summed as sw_y_dot sums it. */
    for (size_t h = 0; h < nh; h++) {
        rows_dot(v, nh, K, ws->u + h * K, beta + h * nh);
        for (size_t g = 0; g < nh; g++)
            beta[h * nh + g] *= n;
    }
    for (size_t h = 0; h < nh; h++) {
        const double *sh = ws->s + h * T, *ph = ws->W + (nh + h) * na + h * T;
        double so = 0;
        for (size_t l = 0; l < K; l++) {
            so += v[h * K + l] * ws->sGr[h * K + l];
            coef[nh + l] = c * v[h * K + l];
        }
        for (size_t g = 0; g < nh; g++) {
            double beta_hg = beta[h * nh + g];
            so -= beta_hg * y->M[h * nh + g];
            coef[g] = z[2 * nh + g] * y->c[h * nh + g] - c * beta_hg;
        }
        double a = z[h] - c * so, b = z[nh + h];
        double *o = out + h * T;
        /* Both combinations in registers, sixteen positions at a time: the
         * first from a, the second from 0, each summed in its rows'
         * order. */
        size_t t = 0;
        for (; t + 16 <= T; t += 16) {
            sw_v4 o0 = {a, a, a, a}, o1 = o0, o2 = o0, o3 = o0;
            sw_v4 q0 = {0, 0, 0, 0}, q1 = q0, q2 = q0, q3 = q0;
            add_rows16(nh, coef, ws->s + t, T, NULL, &o0, &o1, &o2, &o3);
            add_rows16(K, coef + nh, ws->Grho + t, T, NULL, &q0, &q1, &q2, &q3);
            sw_v4 sv, pv;
            memcpy(&sv, sh + t, sizeof sv);
            memcpy(&pv, ph + t, sizeof pv);
            o0 = sv * (o0 + q0) + b * pv;
            memcpy(o + t, &o0, sizeof o0);
            memcpy(&sv, sh + t + 4, sizeof sv);
            memcpy(&pv, ph + t + 4, sizeof pv);
            o1 = sv * (o1 + q1) + b * pv;
            memcpy(o + t + 4, &o1, sizeof o1);
            memcpy(&sv, sh + t + 8, sizeof sv);
            memcpy(&pv, ph + t + 8, sizeof pv);
            o2 = sv * (o2 + q2) + b * pv;
            memcpy(o + t + 8, &o2, sizeof o2);
            memcpy(&sv, sh + t + 12, sizeof sv);
            memcpy(&pv, ph + t + 12, sizeof pv);
            o3 = sv * (o3 + q3) + b * pv;
            memcpy(o + t + 12, &o3, sizeof o3);
        }
        for (; t < T; t++) {
            double ot = a, qt = 0;
            for (size_t g = 0; g < nh; g++)
                ot += coef[g] * ws->s[g * T + t];
            for (size_t l = 0; l < K; l++)
                qt += coef[nh + l] * ws->Grho[l * T + t];
            o[t] = sh[t] * (ot + qt) + b * ph[t];
        }
    }
}

/* apply_WF_nh compiled for nh = 1..8 (the loops over heads unrolled), and
 * for any nh. */
SW_VECTOR_CLONES
static void apply_WF(const sw_y *y, y_newton *ws, const double *z, const double *v,
                     double *restrict out)
{
#define APPLY_WF(N) apply_WF_nh(N, y, ws, z, v, out)
    Y_BY_COUNT(y->nh, APPLY_WF);
#undef APPLY_WF
}

/* E Y and Y^T F (transposed, into YtFt: nh K rows of 3 nh) from PV (row
 * (h, a): J(s_h) SR_a against the head-h blocks of Y's 3 nh columns),
 * along Y's columns four at a time:
 *   (E Y)_(h,k),i = -c (PV_(h,nh+k),i - n sum_f w_fk PV_(f,h),i),
 *   (Y^T F)_i,(g,l) = -c (sum_k G_kl PV_(g,nh+k),i - n sum_h u_hl PV_(h,g),i),
 * each summed in the order written. */
SW_VECTOR_CLONES
static void ey_ytf(const sw_y *y, const y_newton *ws, double *YtFt)
{
    size_t K = y->K, nh = y->nh, ns = nh + K, nr = 3 * nh;
    const double *PV = ws->PV;
    double mc = -ws->c;
    for (size_t h = 0; h < nh; h++)
        for (size_t k = 0; k < K; k++) {
            double *o = ws->EY + (h * K + k) * nr;
            memcpy(o, PV + (h * ns + nh + k) * nr, nr * sizeof *o);
            subtract_rows(nh, nr, PV + h * nr, ns * nr, ws->nw + k, K, mc, o);
        }
    for (size_t g = 0; g < nh; g++)
        for (size_t l = 0; l < K; l++) {
            /* sum_k G_kl PV_(g,nh+k): G is symmetric to the bit (y_common.c
             * forms both halves as the same products), so its row l serves
             * as column l. */
            double *o = YtFt + (g * K + l) * nr;
            combine_rows(nr, 0, NULL, K, y->G + l * K, PV + (g * ns + nh) * nr, o);
            subtract_rows(nh, nr, PV + g * nr, ns * nr, ws->nu + l, K, mc, o);
        }
}

/* Y = X^T for X of m rows and n columns (row-major, rows contiguous):
 * blocks of four by four through registers, the edges one by one. */
SW_VECTOR_CLONES
static void transpose(size_t m, size_t n, const double *X, double *Y)
{
    size_t i = 0;
    for (; i + 4 <= m; i += 4) {
        size_t j = 0;
        for (; j + 4 <= n; j += 4) {
            sw_v4 r0, r1, r2, r3;
            memcpy(&r0, X + i * n + j, sizeof r0);
            memcpy(&r1, X + (i + 1) * n + j, sizeof r1);
            memcpy(&r2, X + (i + 2) * n + j, sizeof r2);
            memcpy(&r3, X + (i + 3) * n + j, sizeof r3);
            /* __builtin_shufflevector: GCC (12 on) and clang (the fuzz build) both
             * have it. */
            sw_v4 t0 = __builtin_shufflevector(r0, r1, 0, 4, 2, 6);
            sw_v4 t1 = __builtin_shufflevector(r0, r1, 1, 5, 3, 7);
            sw_v4 t2 = __builtin_shufflevector(r2, r3, 0, 4, 2, 6);
            sw_v4 t3 = __builtin_shufflevector(r2, r3, 1, 5, 3, 7);
            sw_v4 c0 = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
            sw_v4 c1 = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
            sw_v4 c2 = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
            sw_v4 c3 = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
            memcpy(Y + j * m + i, &c0, sizeof c0);
            memcpy(Y + (j + 1) * m + i, &c1, sizeof c1);
            memcpy(Y + (j + 2) * m + i, &c2, sizeof c2);
            memcpy(Y + (j + 3) * m + i, &c3, sizeof c3);
        }
        for (; j < n; j++)
            for (size_t r = i; r < i + 4; r++)
                Y[j * m + r] = X[r * n + j];
    }
    for (; i < m; i++)
        for (size_t j = 0; j < n; j++)
            Y[j * m + i] = X[i * n + j];
}

/* The columns of F and the rows of E in the basis e_(h,a) (see gram), as
 * lists of (basis index, coefficient): F's nh K columns, then E's nh K
 * rows.  With b(h, a) = h nb + a (a < nh: J(s_h) s_a, a = nh + k:
 * J(s_h) rho_k):
 *   F_(g,l) = -c sum_k G_lk e_(g,nh+k) + c n sum_h u_hl e_(h,g),
 *   E_(h,k) = -c e_(h,nh+k) + c n sum_f w_fk e_(f,h). */
static void basis_coefficients(const sw_y *y, y_newton *ws)
{
    size_t K = y->K, nh = y->nh, nb = nh + K + 1, e = 0, j = 0;
    double c = ws->c, n = y->mult;
    size_t *at = ws->cstart, *idx = ws->cidx;
    double *val = ws->cval;
#define COEF(i, v) (idx[e] = (i), val[e++] = (v))
    for (size_t g = 0; g < nh; g++)
        for (size_t l = 0; l < K; l++) {
            at[j++] = e;
            for (size_t k = 0; k < K; k++)
                COEF(g * nb + nh + k, -c * y->G[l * K + k]);
            for (size_t h = 0; h < nh; h++)
                COEF(h * nb + g, c * n * ws->u[h * K + l]);
        }
    for (size_t h = 0; h < nh; h++)
        for (size_t k = 0; k < K; k++) {
            at[j++] = e;
            COEF(h * nb + nh + k, -c);
            for (size_t f = 0; f < nh; f++)
                COEF(f * nb + h, c * n * y->w[f * K + k]);
        }
    at[j] = e;
#undef COEF
}

/* Rows first..first+m-1 of the lists, applied to the rows of X (L long,
 * stride ld): row i of out (stride old) is sum_e val_e X_(idx_e). */
SW_VECTOR_CLONES
static void apply_coefficients(const y_newton *ws, size_t first, size_t m, const double *X,
                               size_t ld, size_t L, double *out, size_t old)
{
    for (size_t i = 0; i < m; i++) {
        size_t a = ws->cstart[first + i], cnt = ws->cstart[first + i + 1] - a;
        combine_rows_at(L, 0, NULL, cnt, ws->cval + a, X, ld, ws->cidx + a, out + i * old);
    }
}

/* E B^{-1} F into S, from one Gram matrix.  Every column of F and every
 * row of E is, on each head h, a combination of the vectors
 * e_(h,a) = J(s_h) SR_a = s_h o (SR_a - m_ha), m_ha = s_h . SR_a, for the
 * rows s_1..s_nh, rho_1..rho_K of SR (basis_coefficients).  Their Gram
 * matrix in B^{-1},
 *   Gam_(h,a),(g,b) = sum_t B^{-1}_t,hg s_ht s_gt (SR_at - m_ha) (SR_bt - m_gb),
 * comes from the moments sum_t beta_hg,t SR_at SR_bt of beta_hg =
 * B^{-1}_hg s_h o s_g, SR's row of ones included for the centring: one
 * matrix product of the nh (nh + 1) / 2 rows of beta against the
 * nb (nb + 1) / 2 products of SR's rows, O(nh^2 (nh + K)^2 T), then
 * centred one index at a time.  (Forming B^{-1} F column by column and its
 * products with J(s_h) SR cost O(nh^2 K (nh + K) T + nh^3 K T), three times
 * as much at nh = K.)  W's side is not taken this way: p_h = s_h o g_h in
 * this basis is a combination of K + 1 vectors from which the small g_h
 * of a plateau cancels, and a route that took E B^{-1} W, W^T B^{-1} F and
 * W^T B^{-1} W from the same Gram matrix lost up to four digits in the
 * Newton solve along trajectories at H = K = 12 (docs/performance.md);
 * they come from Y = B^{-1} W formed as vectors. */
SW_VECTOR_CLONES
static void gram(const sw_y *y, y_newton *ws)
{
    size_t K = y->K, T = y->T, nh = y->nh, nb = nh + K + 1, NB = nh * nb, last = nb - 1;
    size_t np = nb * (nb + 1) / 2, npair = nh * (nh + 1) / 2, nv = nh * K;
    double *pr = ws->Prod;
    for (size_t a = 0; a < nb; a++)
        for (size_t b = a; b < nb; b++, pr += T) {
            row_times(T, 1, ws->SR + a * T, ws->SR + b * T, pr);
        }
    double *be = ws->Beta;
    for (size_t h = 0; h < nh; h++)
        for (size_t g = h; g < nh; g++, be += T) {
            const double *sh = ws->s + h * T, *sg = ws->s + g * T;
            size_t t = 0;
            for (; t + 4 <= T; t += 4) {
                sw_v4 b, x, z;
                memcpy(&b, ws->Binv + binv_at(nh, h, g, t), sizeof b);
                memcpy(&x, sh + t, sizeof x);
                memcpy(&z, sg + t, sizeof z);
                b = b * (x * z);
                memcpy(be + t, &b, sizeof b);
            }
            for (; t < T; t++)
                be[t] = ws->Binv[binv_at(nh, h, g, t)] * (sh[t] * sg[t]);
        }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)npair, (int)np, (int)T, 1.0,
                ws->Beta, (int)T, ws->Prod, (int)T, 0.0, ws->Mom, (int)np);
    /* Gam = L Gf L^T, Gf the moments (the Gram matrix of the basis
     * s_h o SR_a) and L_(h,a),(h,b) = delta_ab - m_ha [b = nb - 1]: Gf
     * from the moments, then L applied on the left (rows of Gf less m_ha
     * times the row of s_h), E (its 1 + nh terms a row, before F's
     * nh + K), and L^T on the right before the transposition into GE;
     * F's lists applied to GE's rows give (E Gam F)^T. */
    const double *mo = ws->Mom;
    for (size_t h = 0; h < nh; h++)
        for (size_t g = h; g < nh; g++)
            for (size_t a = 0; a < nb; a++)
                for (size_t b = a; b < nb; b++) {
                    double v = *mo++;
                    ws->Gam[(h * nb + a) * NB + g * nb + b] = v;
                    ws->Gam[(h * nb + b) * NB + g * nb + a] = v;
                    ws->Gam[(g * nb + a) * NB + h * nb + b] = v;
                    ws->Gam[(g * nb + b) * NB + h * nb + a] = v;
                }
    for (size_t h = 0; h < nh; h++) {
        const double *rl = ws->Gam + (h * nb + last) * NB;
        for (size_t a = 0; a < last; a++)
            row_axpy(NB, ws->mc[h * nb + a], rl, ws->Gam + (h * nb + a) * NB);
    }
    basis_coefficients(y, ws);
    apply_coefficients(ws, nv, nv, ws->Gam, NB, NB, ws->EG, NB);
    for (size_t r = 0; r < nv; r++)
        for (size_t g = 0; g < nh; g++) {
            double *pg = ws->EG + r * NB + g * nb;
            row_axpy(last, pg[last], ws->mc + g * nb, pg);
        }
    transpose(nv, NB, ws->EG, ws->GE);
    apply_coefficients(ws, 0, nv, ws->GE, nv, nv, ws->EG, nv);
    transpose(nv, nv, ws->EG, ws->S);
}

/* out = a Psi X for X of nr = 3 nh rows of L (out: nr rows of L), over
 * Psi's nonzero entries only: its first nh rows have nh + 2 each, its last
 * 2 nh one (a dense product was 2% of a run at H = K = 8). */
SW_VECTOR_CLONES
static void psi_times(y_newton *ws, size_t nr, double a, const double *X, size_t L, double *out)
{
    for (size_t i = 0; i < nr; i++) {
        size_t m = 0;
        for (size_t l = 0; l < nr; l++)
            if (ws->Psi[i * nr + l] != 0) {
                ws->coef[m] = a * ws->Psi[i * nr + l];
                ws->pcol[m++] = l;
            }
        combine_rows_at(L, 0, NULL, m, ws->coef, X, L, ws->pcol, out + i * L);
    }
}

/* The Schur complement S = A - E X, X = D^{-1} F, for all nh K columns at
 * once (see above: E X = E X0 + (E Y) Zt, E X0 from gram).  Column
 * j = (g, l) of A is delta_kl (delta_hg + c n M_hg). */
SW_VECTOR_CLONES
static void schur(const sw_y *y, y_newton *ws)
{
    size_t K = y->K, T = y->T, nh = y->nh, na = nh * T, nv = nh * K, nr = 3 * nh, ns = nh + K;
    double c = ws->c, n = y->mult;
    /* Q_h: J(s_h) applied to s_1..s_nh, rho_1..rho_K (SR's rows). */
    for (size_t h = 0; h < nh; h++) {
        /* J(s_h) SR_f = s_h o (SR_f - s_h . SR_f), the dot products kept
         * in mc (the same sums as sw_y_jvec's). */
        const double *restrict sh = ws->s + h * T, *mh = ws->mc + h * (ns + 1);
        for (size_t f = 0; f < ns; f++) {
            const double *restrict x = ws->SR + f * T;
            double *restrict q = ws->Q + (h * ns + f) * T, m = mh[f];
            for (size_t t = 0; t < T; t++)
                q[t] = sh[t] * (x[t] - m);
        }
    }
    /* Every head block of the columns of Y against Q_h, one product per
     * head. */
    for (size_t h = 0; h < nh; h++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)ns, (int)T, 1.0,
                    ws->Y + h * T, (int)na, ws->Q + h * ns * T, (int)T, 0.0, ws->PY + h * ns,
                    (int)(nh * ns));
    /* E Y and Y^T F along Y's columns (EG as scratch: gram writes it
     * later).  The product is taken as Y's rows against Q's and
     * transposed: the other orientation rounds differently in OpenBLAS. */
    transpose(nr, nh * ns, ws->PY, ws->PV);
    ey_ytf(y, ws, ws->EG);
    transpose(nv, nr, ws->EG, ws->YtF);
    /* Zt = cap^{-1} c Psi Y^T F; S = A - E X0 - (E Y) Zt. */
    psi_times(ws, nr, c, ws->YtF, nv, ws->Zt);
    lu_solve_many(nr, ws->cap, &ws->capf, ws->Zt, nv);
    gram(y, ws);
    for (size_t h = 0; h < nh; h++)
        for (size_t k = 0; k < K; k++) {
            double *Sr = ws->S + (h * K + k) * nv;
            for (size_t j = 0; j < nv; j++)
                Sr[j] = -Sr[j];
            for (size_t g = 0; g < nh; g++)
                Sr[g * K + k] += (h == g) + c * n * y->M[h * nh + g];
            for (size_t i = 0; i < nr; i++)
                ws->coef[i] = -ws->EY[(h * K + k) * nr + i];
            combine_rows(nv, 0, Sr, nr, ws->coef, ws->Zt, Sr);
        }
}

SW_VECTOR_CLONES
static int newton_setup_gram(const sw_model *m, void *p, const double *x, double c)
{
    const sw_y *y = m->ctx;
    y_newton *ws = p;
    size_t K = y->K, T = y->T, nh = y->nh, na = nh * T, nv = nh * K, nr = 3 * nh;
    double n = y->mult;
    evaluate(y, x);
    ws->c = c;
    /* SR's rows: s_1..s_nh (ws->s), rho_1..rho_K, then the ones. */
    memcpy(ws->SR, y->s, na * sizeof *ws->SR);
    memcpy(ws->SR + na, y->rho, K * T * sizeof *ws->SR);
    memcpy(ws->u, y->u, nv * sizeof *ws->u);
    for (size_t i = 0; i < nv; i++) {
        ws->nw[i] = n * y->w[i];
        ws->nu[i] = n * y->u[i];
    }
    for (size_t k = 0; k < K; k++)
        combine_rows(T, 0, NULL, K, y->G + k * K, y->rho, ws->Grho + k * T);
    for (size_t h = 0; h < nh; h++) {
        double *mh = ws->mc + h * (nh + K + 1);
        ws->sig[h] = sw_y_dot(y->s + h * T, y->g + h * T, T);
        rows_dot(ws->Grho, K, T, y->s + h * T, ws->sGr + h * K);
        /* s_h . rho_k: the vector field's dw_hk/dt (y->fw, summed as
         * sw_y_dot sums). */
        memcpy(mh + nh, y->fw + h * K, K * sizeof *mh);
        for (size_t g = 0; g < nh; g++) {
            mh[g] = y->M[h * nh + g] = sw_y_dot(y->s + h * T, y->s + g * T, T);
            y->c[h * nh + g] = sw_y_dot(y->u + h * K, y->w + g * K, K);
        }
    }

    size_t t = 0;
    for (; t + 4 <= T; t += 4) {
        double ratio;
        if (invert_blocks4(y, ws, t, &ratio)) {
            if (ratio < Y_PIVOT_MIN)
                return 1;
            continue;
        }
        for (size_t u = t; u < t + 4; u++)
            if (invert_block(y, ws, u) < Y_PIVOT_MIN)
                return 1;
    }
    for (; t < T; t++)
        if (invert_block(y, ws, t) < Y_PIVOT_MIN)
            return 1;

    memset(ws->Psi, 0, nr * nr * sizeof *ws->Psi);
    for (size_t h = 0; h < nh; h++) {
        const double *sh = y->s + h * T, *gh = y->g + h * T;
        double *Sv = ws->W + h * na + h * T, *Pv = ws->W + (nh + h) * na + h * T;
        memcpy(Sv, sh, T * sizeof *Sv);
        row_times(T, 1, gh, sh, Pv);
        for (size_t g = 0; g < nh; g++) {
            double *Zg = ws->W + (2 * nh + g) * na + h * T, chg = y->c[h * nh + g];
            row_times(T, chg, sh, y->s + g * T, Zg);
            ws->Psi[h * nr + g] = -n * chg * y->M[h * nh + g];
        }
        ws->Psi[h * nr + h] -= 2 * ws->sig[h];
        ws->Psi[h * nr + nh + h] = ws->Psi[(nh + h) * nr + h] = 1;
        ws->Psi[h * nr + 2 * nh + h] = ws->Psi[(2 * nh + h) * nr + h] = n;
    }
    for (size_t i = 0; i < nr; i++) {
        size_t h = i % nh;
        if (i < 2 * nh)
            solve_head(y, ws, h, ws->W + i * na + h * T, ws->Y + i * na);
        else
            blocks_apply(y, ws, ws->W + i * na, T, NULL, ws->Y + i * na, T);
    }
    /* W^T Y = W^T B^{-1} W is symmetric (so is every block of B): the
     * entries with a one-head column of W among i and j are taken as that
     * column's dot product (T long), the dense block's upper half once. */
    for (size_t i = 0; i < nr; i++) {
        double *row = ws->WtY + i * nr;
        if (i < 2 * nh) {
            size_t off = i % nh * T;
            rows_dot_ld(ws->Y + off, nr, T, na, ws->W + i * na + off, row);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            row[j] = ws->WtY[j * nr + i];
        rows_dot_ld(ws->Y + i * na, nr - i, na, na, ws->W + i * na, row + i);
    }
    psi_times(ws, nr, -c, ws->WtY, nr, ws->cap);
    for (size_t i = 0; i < nr; i++)
        ws->cap[i * nr + i] += 1;
    /* Rows of the capacitance matrix scale with c and with the heads'
     * gradients, so large steps made the pivot test (relative to the largest
     * entry) decline well-conditioned systems.  Each row, with Psi's row
     * that makes its right-hand side, is divided by its largest entry. */
    for (size_t i = 0; i < nr; i++) {
        double big = 0;
        for (size_t j = 0; j < nr; j++)
            big = fabs(ws->cap[i * nr + j]) > big ? fabs(ws->cap[i * nr + j]) : big;
        for (size_t j = 0; big > 0 && j < nr; j++) {
            ws->cap[i * nr + j] /= big;
            ws->Psi[i * nr + j] /= big;
        }
    }
    if (lu_factor(nr, ws->cap, &ws->capf) < Y_PIVOT_MIN)
        return 1;
    schur(y, ws);
    return lu_factor(nv, ws->S, &ws->Sf) < Y_PIVOT_MIN;
}

/* With q = B^{-1} b_a and z = cap^{-1} c Psi W^T q (so D^{-1} b_a = q + Y z):
 *   z_w = S^{-1} (b_w - E q - (E Y) z),
 *   z_a = q + B^{-1} (W (z - Zt z_w) - F z_w),
 * the last being D^{-1} b_a - X z_w with X = X0 + Y Zt as S was formed
 * (Y = B^{-1} W: applying W and B^{-1} once costs less than reading Y). */
SW_VECTOR_CLONES
static void newton_solve_gram(const sw_model *m, void *p, double *b)
{
    const sw_y *y = m->ctx;
    y_newton *ws = p;
    size_t K = y->K, T = y->T, nh = y->nh, na = nh * T, nv = nh * K, nr = 3 * nh, ld = y->stride;
    double c = ws->c, *tw = ws->tw;
    /* b's logits are read and written in place, head h at b + h ld + K. */
    for (size_t h = 0; h < nh; h++)
        for (size_t k = 0; k < K; k++)
            ws->bw[h * K + k] = b[h * ld + k];
    blocks_apply(y, ws, b + K, ld, NULL, ws->ra, T);
    /* W^T q from E q's dot products where they serve: s_h . q_h, and
     * Z_g . q = sum_h c_hg s_g . (s_h o q_h); only p_h . q_h is new. */
    apply_E(y, ws, ws->ra, ws->ew);
    for (size_t h = 0; h < nh; h++) {
        ws->z2[h] = ws->Pe[h * (nh + K + 1) + nh + K];
        ws->z2[nh + h] = sw_y_dot(ws->W + (nh + h) * na + h * T, ws->ra + h * T, T);
    }
    for (size_t g = 0; g < nh; g++) {
        double acc = 0;
        for (size_t h = 0; h < nh; h++)
            acc += y->c[h * nh + g] * ws->Pe[h * (nh + K + 1) + g];
        ws->z2[2 * nh + g] = acc;
    }
    rows_dot(ws->Psi, nr, nr, ws->z2, ws->z);
    for (size_t i = 0; i < nr; i++)
        ws->z[i] = c * ws->z[i];
    lu_solve(nr, ws->cap, &ws->capf, ws->z);
    rows_dot(ws->EY, nv, nr, ws->z, tw);
    for (size_t i = 0; i < nv; i++)
        ws->bw[i] -= ws->ew[i] + tw[i];
    lu_solve(nv, ws->S, &ws->Sf, ws->bw);
    rows_dot(ws->Zt, nr, nv, ws->bw, tw);
    for (size_t i = 0; i < nr; i++)
        ws->z[i] -= tw[i];
    apply_WF(y, ws, ws->z, ws->bw, ws->jv);
    blocks_apply(y, ws, ws->jv, y->T, ws->ra, b + K, ld);
    for (size_t h = 0; h < nh; h++)
        for (size_t k = 0; k < K; k++)
            b[h * ld + k] = ws->bw[h * K + k];
}

/* ---- y-full -------------------------------------------------------------- */

/* s_h from the logits and R_t = C_t - sum_h s_ht V_h. */
static void residual_full(const sw_y *y, const double *x)
{
    size_t T = y->T, dd = y->d * y->d;
    for (size_t h = 0; h < y->nh; h++)
        sw_softmax(x + h * y->stride + dd, T, y->s + h * T);
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

/* ---- capabilities ---------------------------------------------------------- */

/* One block of the state per head (y_common.c's layout); y-coupled's
 * single block is every head at once, so it declares no heads. */
static size_t heads_y(const sw_model *m)
{
    const sw_y *y = m->ctx;
    return y->nh;
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
            sw_softmax(a, y->T, a);
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

/* y-reduced, y-coupled and y-simplex are one flow in three coordinates:
 * the same operations (the state layout in ctx tells them apart), and the
 * structured Newton solve where the state holds logits. */
#define Y_GRAM_OPS                                                                             \
    .teardown = sw_y_teardown, .init = init_gram, .rhs = rhs_gram, .jac = jac_gram,           \
    .loss = loss_gram, .observe = observe_gram
#define Y_GRAM_NEWTON                                                                          \
    .newton_alloc = newton_alloc_gram, .newton_free = newton_free_gram,                        \
    .newton_setup = newton_setup_gram, .newton_solve = newton_solve_gram

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
    .heads = heads_y,
    .task = "regression",
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
    Y_GRAM_OPS,
    Y_GRAM_NEWTON,
    .heads = heads_y,
    .task = "regression",
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
    Y_GRAM_OPS,
    Y_GRAM_NEWTON,
    .task = "regression",
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
    Y_GRAM_OPS,
    .heads = heads_y,
    .task = "regression",
};
