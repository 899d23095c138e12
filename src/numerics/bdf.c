#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bdf.h"
#include "clones.h"
#include "newton.h"
#include "simd.h"

#define MAXQ 5

/* Shampine and Reichelt's NDF coefficients; kappa = 0 is the BDF. */
static const double kappa[MAXQ + 1] = {0, -0.1850, -1.0 / 9, -0.0823, -0.0415, 0};

/* Step control, CVODE's values: a step grows only by GROW_MIN or more (a
 * change costs a refactorisation, a small gain does not pay for it), by at
 * most GROW_MAX (GROW_FIRST after the first step, whose h0 is a guess);
 * the estimates are inflated by BIAS (BIAS_UP for a higher order) so the
 * next step is likely to pass. */
#define GROW_MIN 1.5
#define GROW_MAX 10.0
#define GROW_FIRST 1e4
#define BIAS 6.0
#define BIAS_UP 10.0
#define SHRINK_MIN 0.1
#define SHRINK_REPEAT 0.2 /* at most, from the second error-test failure on */
#define SHRINK_CONV 0.25  /* after a Newton failure */
#define MAX_ERR_FAILS 7
#define MAX_CONV_FAILS 10

/* Newton: at most NEWTON_ITERS iterations; it has converged when its
 * remaining error, estimated from the contraction rate, would take at most
 * NEWTON_SHARE of the error test; it diverges when a correction grows by
 * DIVERGE.  The matrix is refactored when c / c_fact leaves [C_RATIO_MIN,
 * C_RATIO_MAX] or after SETUP_AGE steps; a dense Jacobian is re-evaluated
 * after JAC_AGE.  (CVODE refactors when c moves by 30%, and so did this
 * stepper while it corrected a stale c by scaling alone: see correct.) */
#define NEWTON_ITERS 3
#define NEWTON_SHARE 0.1
#define RATE_DECAY 0.3
#define DIVERGE 2.0
#define C_RATIO_MIN 0.5
#define C_RATIO_MAX 3.0
#define SETUP_AGE 20
#define JAC_AGE 50

struct sw_bdf {
    const sw_model *m;
    size_t n;
    double rtol, atol;
    sw_newton *nw;
    double *D;          /* (MAXQ + 3) x n backward differences; D_0 is the solution */
    double *pred, *psi; /* the predicted solution; the history's share of the corrector */
    double *d, *y;      /* the correction y - pred and y */
    double *r, *wt;     /* Newton's residual and step; the error weights */
    double gam[MAXQ + 1], alpha[MAXQ + 1], errc[MAXQ + 1];
    double t, h;
    int q;
    int n_equal;     /* steps taken since the last change of h or q */
    double eta_next; /* pending change of h (1: none), applied by the next step */
    int q_next;
    double grow_max;
    double c_fact; /* the c of the current factorisation; 0: none */
    int need_fresh;
    unsigned long since_setup, since_jac;
    double crate; /* Newton's contraction rate, carried from step to step */
    sw_bdf_stats st;
};

sw_bdf *sw_bdf_alloc(const sw_model *m, double rtol, double atol)
{
    sw_bdf *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    size_t n = m->dim;
    b->m = m;
    b->n = n;
    b->rtol = rtol;
    b->atol = atol;
    b->nw = sw_newton_alloc(m);
    b->D = malloc((MAXQ + 3) * n * sizeof *b->D);
    b->pred = malloc(6 * n * sizeof *b->pred);
    if (!b->nw || !b->D || !b->pred) {
        sw_bdf_free(b);
        return NULL;
    }
    b->psi = b->pred + n;
    b->d = b->pred + 2 * n;
    b->y = b->pred + 3 * n;
    b->r = b->pred + 4 * n;
    b->wt = b->pred + 5 * n;
    /* gamma_q = sum_{j<=q} 1/j; the corrector of order q is
     * alpha_q (y - pred) + sum_{j=1..q} gamma_j D_j = h f(y), and its local
     * error is errc_q (y - pred). */
    for (int q = 1; q <= MAXQ; q++) {
        b->gam[q] = b->gam[q - 1] + 1.0 / q;
        b->alpha[q] = (1 - kappa[q]) * b->gam[q];
        b->errc[q] = kappa[q] * b->gam[q] + 1.0 / (q + 1);
    }
    return b;
}

void sw_bdf_free(sw_bdf *b)
{
    if (!b)
        return;
    sw_newton_free(b->nw);
    free(b->D);
    free(b->pred);
    free(b);
}

/* The weighted RMS norm sqrt(sum (v_i w_i)^2 / n) of the passes below,
 * from the squares summed in the lanes of a vector (i mod 4, the tail
 * into lane 0), as sw_y_dot sums: one running sum is bound by the latency
 * of its additions.  Every norm the stepper takes is summed in a sweep
 * that already reads the vector. */
static inline double wrms_of(const sw_v4 *s, size_t n)
{
    return sqrt((((*s)[0] + (*s)[1]) + ((*s)[2] + (*s)[3])) / (double)n);
}

/* The vector passes over the differences each do one sweep over the state
 * where the textbook form does one per difference (at H = K = 3 the
 * stepper's own passes were 15% of a run), with q a constant (one copy per
 * order, picked by SW_BY_ORDER), so that the loops over the differences
 * unroll and the sweep vectorises. */
_Static_assert(MAXQ == 5, "SW_BY_ORDER spells out the orders 1 .. MAXQ");
#define SW_BY_ORDER(q, CALL)                                                                   \
    switch (q) {                                                                               \
    case 1:                                                                                    \
        CALL(1);                                                                               \
        break;                                                                                 \
    case 2:                                                                                    \
        CALL(2);                                                                               \
        break;                                                                                 \
    case 3:                                                                                    \
        CALL(3);                                                                               \
        break;                                                                                 \
    case 4:                                                                                    \
        CALL(4);                                                                               \
        break;                                                                                 \
    default:                                                                                   \
        CALL(5);                                                                               \
    }

/* D_m <- sum_j A_mj D_j for m <= q. */
static inline __attribute__((always_inline)) void
rescale_q(size_t n, const int q, double *restrict D, const double A[MAXQ + 1][MAXQ + 1])
{
    for (size_t i = 0; i < n; i++) {
        double in[MAXQ + 1];
        for (int j = 0; j <= q; j++)
            in[j] = D[(size_t)j * n + i];
        for (int m = 0; m <= q; m++) {
            double out = 0;
            for (int j = 0; j <= q; j++)
                out += A[m][j] * in[j];
            D[(size_t)m * n + i] = out;
        }
    }
}

SW_VECTOR_CLONES
static void rescale_apply(size_t n, int q, double *D, const double A[MAXQ + 1][MAXQ + 1])
{
#define RESCALE(Q) rescale_q(n, Q, D, A)
    SW_BY_ORDER(q, RESCALE)
#undef RESCALE
}

/* The differences of the same polynomial on a grid r times as wide:
 * D <- U R D with R_mj = prod_{i=1..j} (i - 1 - r m) / i, the polynomial's
 * basis functions at the new grid's nodes, and U = R at r = 1, which is
 * its own inverse. */
static void rescale(sw_bdf *b, double r)
{
    int q = b->q;
    size_t n = b->n;
    double R[MAXQ + 1][MAXQ + 1], U[MAXQ + 1][MAXQ + 1];
    for (int m = 0; m <= q; m++) {
        R[m][0] = U[m][0] = 1;
        for (int j = 1; j <= q; j++) {
            R[m][j] = R[m][j - 1] * (j - 1 - r * m) / j;
            U[m][j] = U[m][j - 1] * (double)(j - 1 - m) / j;
        }
    }
    double A[MAXQ + 1][MAXQ + 1];
    for (int m = 0; m <= q; m++)
        for (int j = 0; j <= q; j++) {
            double a = 0;
            for (int k = 0; k <= q; k++)
                a += U[m][k] * R[k][j];
            A[m][j] = a;
        }
    rescale_apply(n, q, b->D, A);
    b->h *= r;
    b->n_equal = 0;
}

int sw_bdf_reset(sw_bdf *b, double t, const double *x, double h0, sw_err *e)
{
    size_t n = b->n;
    memset(&b->st, 0, sizeof b->st);
    sw_newton_stats_clear(b->nw);
    memcpy(b->D, x, n * sizeof *x);
    b->st.rhs_evals = 1;
    if (b->m->sys->rhs(b->m, x, b->D + n))
        return sw_fail(e, SW_ENUMERIC, "the vector field could not be evaluated at t = %.17g", t);
    for (size_t i = 0; i < n; i++) {
        b->D[n + i] *= h0;
        b->wt[i] = 1 / (b->atol + b->rtol * fabs(x[i]));
    }
    b->t = t;
    b->h = h0;
    b->q = b->q_next = 1;
    b->eta_next = 1;
    b->n_equal = 0;
    b->grow_max = GROW_FIRST;
    b->c_fact = 0;
    b->need_fresh = 1;
    b->since_setup = b->since_jac = 0;
    b->crate = 1;
    return SW_OK;
}

/* r <- c r - psi - d (d NULL: 0). */
SW_VECTOR_CLONES
static void newton_residual(size_t n, double c, double *restrict r, const double *restrict psi,
                            const double *restrict d)
{
    if (d)
        for (size_t i = 0; i < n; i++)
            r[i] = c * r[i] - psi[i] - d[i];
    else
        for (size_t i = 0; i < n; i++)
            r[i] = c * r[i] - psi[i];
}

/* The Newton step r added to d and y, or, on the first iteration (pred
 * given), d = r and y = pred + r; returns the step's norm and puts the new
 * d's in *dnorm (the error test's), both summed as wrms_of expects, in the same
 * sweep. */
SW_VECTOR_CLONES
static double newton_update(size_t n, const double *restrict r, double *restrict d,
                            double *restrict y, const double *restrict pred,
                            const double *restrict wt, double *dnorm)
{
    sw_v4 sr = {0, 0, 0, 0}, sd = sr;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        sw_v4 rv, dv, yv, w;
        memcpy(&rv, r + i, sizeof rv);
        memcpy(&w, wt + i, sizeof w);
        if (pred) {
            memcpy(&yv, pred + i, sizeof yv);
            dv = rv;
        } else {
            memcpy(&yv, y + i, sizeof yv);
            memcpy(&dv, d + i, sizeof dv);
            dv += rv;
        }
        yv += rv;
        memcpy(d + i, &dv, sizeof dv);
        memcpy(y + i, &yv, sizeof yv);
        rv *= w;
        sr += rv * rv;
        dv *= w;
        sd += dv * dv;
    }
    for (; i < n; i++) {
        if (pred) {
            d[i] = r[i];
            y[i] = pred[i] + r[i];
        } else {
            d[i] += r[i];
            y[i] += r[i];
        }
        double a = r[i] * wt[i], e = d[i] * wt[i];
        sr[0] += a * a;
        sd[0] += e * e;
    }
    *dnorm = wrms_of(&sd, n);
    return wrms_of(&sr, n);
}

/* Solves the corrector for d = y - pred by modified Newton with the
 * factored I - c_fact J; returns whether it converged, with d's wrms norm
 * (the error test's) in *dnorm.  The matrix is refactored when stale, and
 * once more with a fresh Jacobian if Newton fails with an old one. */
static int correct(sw_bdf *b, double c, double *dnorm)
{
    size_t n = b->n;
    int q = b->q;
    int cheap = sw_newton_jac_is_cheap(b->nw);
    for (;;) {
        int current = 0;
        double ratio = c / b->c_fact; /* +inf with no factorisation (c_fact = 0) */
        if (!(ratio >= C_RATIO_MIN && ratio <= C_RATIO_MAX) || b->since_setup >= SETUP_AGE ||
            b->need_fresh) {
            int fresh = b->need_fresh || b->since_jac >= JAC_AGE;
            b->c_fact = 0;
            if (sw_newton_setup(b->nw, b->pred, c, fresh))
                return 0; /* singular here: a smaller step changes c */
            b->c_fact = c;
            ratio = 1;
            b->since_setup = 0;
            b->crate = 1;
            b->need_fresh = 0;
            if (fresh || cheap) {
                b->since_jac = 0;
                current = 1;
            }
        }
        /* A matrix factored for another c gives corrections too long (stiff
         * components) or too short (the others) by up to c / c_fact.
         * CVODE scales them by 2 / (1 + c / c_fact), which leaves an error
         * of up to |c - c_fact| / (c + c_fact) of the correction: with a
         * refactorisation at every 30% move of c, 227 of 295 at H = K = 8
         * on y-reduced; let further, Newton's inexact corrections cost more
         * steps and error-test failures than the factorisations saved.
         * sw_newton_solve_at's second solve brings that error down to a
         * few percent (docs/performance.md, the growth goal). */
        double delp = 0;
        for (int it = 0; it < NEWTON_ITERS; it++) {
            b->st.rhs_evals++;
            b->st.newton_iters++;
            /* The first iterate is the prediction (d = 0). */
            if (b->m->sys->rhs(b->m, it ? b->y : b->pred, b->r))
                break;
            newton_residual(n, c, b->r, b->psi, it ? b->d : NULL);
            sw_newton_solve_at(b->nw, ratio, b->r);
            double del =
                newton_update(n, b->r, b->d, b->y, it ? NULL : b->pred, b->wt, dnorm);
            if (it > 0)
                b->crate = fmax(RATE_DECAY * b->crate, del / delp);
            if (del * fmin(1, b->crate) * b->errc[q] <= NEWTON_SHARE)
                return 1;
            if (it > 0 && del > DIVERGE * delp)
                break;
            delp = del;
        }
        if (current)
            return 0;
        b->need_fresh = 1;
    }
}

/* Whether the step just accepted weighs the neighbouring orders q - 1 and
 * q + 1: only when the step may grow, and once q + 1 equal steps make
 * their differences meaningful. */
static int weighs_orders(const sw_bdf *b)
{
    return b->grow_max > 1 && b->n_equal >= b->q + 1;
}

/* After an accepted step with error estimate err: the next step's size
 * and order, from the error estimates at orders q - 1, q and q + 1, the
 * neighbours from nq (the wrms norms of D_q and D_{q+2}, the accepting
 * sweep's), which is NULL unless weighs_orders. */
static void plan_next(sw_bdf *b, double err, const double *nq)
{
    int q = b->q;
    b->eta_next = 1;
    b->q_next = q;
    if (b->grow_max <= 1)
        return;
    double eta = 1 / (pow(BIAS * err, 1.0 / (q + 1)) + 1e-6);
    int q_new = q;
    if (nq) {
        if (q > 1) {
            double e_m = b->errc[q - 1] * nq[0];
            double eta_m = 1 / (pow(BIAS * e_m, 1.0 / q) + 1e-6);
            if (eta_m > eta) {
                eta = eta_m;
                q_new = q - 1;
            }
        }
        if (q < MAXQ) {
            double e_p = b->errc[q + 1] * nq[1];
            double eta_p = 1 / (pow(BIAS_UP * e_p, 1.0 / (q + 2)) + 1e-6);
            if (eta_p > eta) {
                eta = eta_p;
                q_new = q + 1;
            }
        }
        /* Without a change, look at the orders again two steps on. */
        b->n_equal = q - 1;
    }
    if (!(eta >= GROW_MIN))
        return;
    b->eta_next = fmin(eta, b->grow_max);
    b->q_next = q_new;
}

/* pred = sum_{j<=q} D_j and psi = sum_{1<=j<=q} gamma_j / alpha_q D_j. */
static inline __attribute__((always_inline)) void
predict_q(size_t n, const int q, const double *restrict D, const double *g, double *restrict pred,
          double *restrict psi)
{
    for (size_t i = 0; i < n; i++) {
        double p = D[i], s = 0;
        for (int j = 1; j <= q; j++) {
            double v = D[(size_t)j * n + i];
            p += v;
            s += g[j] * v;
        }
        pred[i] = p;
        psi[i] = s;
    }
}

SW_VECTOR_CLONES
static void predict_all(size_t n, int q, const double *D, const double *g, double *pred,
                        double *psi)
{
#define PREDICT(Q) predict_q(n, Q, D, g, pred, psi)
    SW_BY_ORDER(q, PREDICT)
#undef PREDICT
}

static void predict(sw_bdf *b)
{
    double g[MAXQ + 1];
    for (int j = 1; j <= b->q; j++)
        g[j] = b->gam[j] / b->alpha[b->q];
    predict_all(b->n, b->q, b->D, g, b->pred, b->psi);
}

/* The differences of the polynomial through the accepted point, from the
 * correction d: D_{q+2} = d - D_{q+1}, D_{q+1} = d, then D_j += D_{j+1}
 * from j = q down to 0; and the next step's error weights from the new
 * solution.  In the same sweep, summed as wrms_of expects, the norms in the new
 * weights that choose the next step: d's into norm[0], and where ORDERS,
 * the new D_q's and D_{q+2}'s into norm[1] and norm[2]. */
static inline __attribute__((always_inline)) void
accept_q(size_t n, const int q, const int ORDERS, double *restrict D, const double *restrict d,
         double *restrict wt, double rtol, double atol, double norm[3])
{
    double *Dq1 = D + (size_t)(q + 1) * n, *Dq2 = Dq1 + n;
    sw_v4 s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0;
    size_t i = 0;
    /* By hand in blocks of four: the compiler cannot tell that the rows
     * of D written here do not overlap, and leaves the loop scalar. */
    for (; i + 4 <= n; i += 4) {
        sw_v4 acc, v, dq = {0, 0, 0, 0}, dv;
        memcpy(&acc, d + i, sizeof acc);
        dv = acc;
        memcpy(&v, Dq1 + i, sizeof v);
        v = acc - v;
        sw_v4 d2 = v;
        memcpy(Dq2 + i, &v, sizeof v);
        memcpy(Dq1 + i, &acc, sizeof acc);
        for (int j = q; j >= 0; j--) {
            memcpy(&v, D + (size_t)j * n + i, sizeof v);
            acc += v;
            memcpy(D + (size_t)j * n + i, &acc, sizeof acc);
            if (j == q)
                dq = acc;
        }
        v = 1 / (atol + rtol * SW_V4_ABS(acc));
        memcpy(wt + i, &v, sizeof v);
        dv *= v;
        s0 += dv * dv;
        if (ORDERS) {
            dq *= v;
            s1 += dq * dq;
            d2 *= v;
            s2 += d2 * d2;
        }
    }
    for (; i < n; i++) {
        double acc = d[i], dq = 0, d2 = acc - Dq1[i];
        Dq2[i] = d2;
        Dq1[i] = acc;
        for (int j = q; j >= 0; j--) {
            acc += D[(size_t)j * n + i];
            D[(size_t)j * n + i] = acc;
            if (j == q)
                dq = acc;
        }
        double w = wt[i] = 1 / (atol + rtol * fabs(acc)), a = d[i] * w;
        s0[0] += a * a;
        if (ORDERS) {
            a = dq * w;
            s1[0] += a * a;
            a = d2 * w;
            s2[0] += a * a;
        }
    }
    norm[0] = wrms_of(&s0, n);
    if (ORDERS) {
        norm[1] = wrms_of(&s1, n);
        norm[2] = wrms_of(&s2, n);
    }
}

SW_VECTOR_CLONES
static void accept_all(size_t n, int q, int orders, double *D, const double *d, double *wt,
                       double rtol, double atol, double norm[3])
{
#define ACCEPT(Q)                                                                              \
    if (orders)                                                                                \
        accept_q(n, Q, 1, D, d, wt, rtol, atol, norm);                                         \
    else                                                                                       \
        accept_q(n, Q, 0, D, d, wt, rtol, atol, norm)
    SW_BY_ORDER(q, ACCEPT)
#undef ACCEPT
}

int sw_bdf_step(sw_bdf *b, double bound, sw_err *e)
{
    size_t n = b->n;
    if (b->q_next != b->q || b->eta_next != 1) {
        b->q = b->q_next;
        rescale(b, b->eta_next);
        b->eta_next = 1;
    }
    b->grow_max = b->st.steps == 0 ? GROW_FIRST : GROW_MAX;
    int err_fails = 0, conv_fails = 0;
    double t_new, err;
    for (;;) {
        double hmin = 10 * (nextafter(b->t, INFINITY) - b->t);
        if (!(b->h >= hmin))
            return sw_fail(e, SW_ENUMERIC, "step size underflow at t = %.17g (step size %.3g)",
                           b->t, b->h);
        t_new = b->t + b->h;
        if (t_new >= bound || bound - t_new < hmin) {
            rescale(b, (bound - b->t) / b->h);
            t_new = bound;
        }
        int q = b->q;
        double c = b->h / b->alpha[q], dnorm;
        predict(b);
        if (!correct(b, c, &dnorm)) {
            b->st.conv_fails++;
            if (++conv_fails >= MAX_CONV_FAILS)
                return sw_fail(e, SW_ENUMERIC,
                               "the implicit corrector does not converge at t = %.17g (step "
                               "size %.3g)",
                               b->t, b->h);
            b->need_fresh = 1;
            b->grow_max = 1;
            rescale(b, SHRINK_CONV);
            continue;
        }
        err = b->errc[q] * dnorm;
        if (err <= 1)
            break;
        b->st.err_fails++;
        if (++err_fails >= MAX_ERR_FAILS)
            return sw_fail(e, SW_ENUMERIC,
                           "the error test keeps failing at t = %.17g (step size %.3g)", b->t,
                           b->h);
        double eta = SHRINK_MIN;
        if (err_fails <= 3) {
            eta = fmax(SHRINK_MIN, 1 / (pow(BIAS * err, 1.0 / (q + 1)) + 1e-6));
            if (err_fails >= 2)
                eta = fmin(eta, SHRINK_REPEAT);
        } else if (q > 1) {
            b->q--; /* an order lower copes better with what went wrong */
        }
        b->grow_max = 1;
        rescale(b, eta);
    }

    /* Accept: the differences of the polynomial through the new point,
     * and the next step's error weights. The next step and order come
     * from the error estimates of orders q - 1, q and q + 1, all three in
     * those weights, the ones the next error test uses (as SciPy's BDF;
     * CVODE weighs them in the old ones); so err, tested above in the old
     * weights, is measured again. */
    b->t = t_new;
    b->st.steps++;
    b->n_equal++;
    b->since_setup++;
    b->since_jac++;
    int orders = weighs_orders(b);
    double norm[3];
    accept_all(n, b->q, orders, b->D, b->d, b->wt, b->rtol, b->atol, norm);
    plan_next(b, b->errc[b->q] * norm[0], orders ? norm + 1 : NULL);
    return SW_OK;
}

double sw_bdf_time(const sw_bdf *b)
{
    return b->t;
}

double sw_bdf_step_size(const sw_bdf *b)
{
    return b->h;
}

const double *sw_bdf_state(const sw_bdf *b)
{
    return b->D;
}

/* p(t + s h) = sum_j D_j prod_{i<j} (s + i) / (i + 1): Newton's backward
 * form on the grid t, t - h, ..., t - q h. */
void sw_bdf_eval(const sw_bdf *b, double tau, double *x)
{
    size_t n = b->n;
    double s = (tau - b->t) / b->h, p = 1;
    memcpy(x, b->D, n * sizeof *x);
    for (int j = 1; j <= b->q; j++) {
        p *= (s + j - 1) / j;
        const double *Dj = b->D + (size_t)j * n;
        for (size_t i = 0; i < n; i++)
            x[i] += p * Dj[i];
    }
}

void sw_bdf_stats_get(const sw_bdf *b, sw_bdf_stats *st)
{
    const sw_newton_stats *ns = sw_newton_stats_get(b->nw);
    *st = b->st;
    st->jac_evals = ns->jac_evals;
    st->setups = ns->setups;
    st->dense_setups = ns->dense_setups;
}
