/* The Y systems: each form against the others on the invariant manifolds,
 * the analytic Jacobians against finite differences, the population loss
 * against Monte-Carlo, and the plateau structure docs/math.md predicts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "helpers.h"
#include "jacobian.h"
#include "stagewise/ode.h"
#include "y_common.h"

static double *state_of(const sw_model *m)
{
    double *x = malloc(m->dim * sizeof *x);
    assert_non_null(x);
    m->sys->init(m, x);
    return x;
}

/* Loss then observables at row i of a trajectory, into out (1 + n_obs). */
static void columns(const sw_model *m, const sw_traj *tr, size_t i, double *out)
{
    const double *x = tr->x + i * tr->dim;
    out[0] = m->sys->loss(m, x);
    m->sys->observe(m, x, out + 1);
}

/* Largest relative disagreement, over every row and every column (loss and
 * observables), of two runs of models with the same columns on the same
 * grid. */
static double runs_disagree(const sw_model *ma, const sw_traj *a, const sw_model *mb,
                            const sw_traj *b, double floor)
{
    assert_int_equal(ma->n_obs, mb->n_obs);
    for (size_t k = 0; k < ma->n_obs; k++)
        assert_string_equal(ma->obs_names[k], mb->obs_names[k]);
    assert_int_equal(a->n, b->n);
    size_t nc = 1 + ma->n_obs;
    double *ca = malloc(nc * sizeof *ca), *cb = malloc(nc * sizeof *cb), worst = 0;
    for (size_t i = 0; i < a->n; i++) {
        assert_true(a->t[i] == b->t[i]);
        columns(ma, a, i, ca);
        columns(mb, b, i, cb);
        worst = fmax(worst, swt_max_rel(ca, cb, nc, floor));
    }
    free(ca);
    free(cb);
    return worst;
}

/* ---- 1. Jacobians -------------------------------------------------------- */

/* max |a - b| / max(|a|, |b|, floor) over the entries, the floor 1e-3 of the
 * largest entry: below it both sides are mostly rounding of the differences. */
static double jac_disagreement(sw_model *m, const double *x)
{
    size_t n = m->dim;
    double *Ja = malloc(n * n * sizeof *Ja), *Jf = malloc(n * n * sizeof *Jf);
    double *work = malloc(2 * n * sizeof *work);
    assert_int_equal(m->sys->jac(m, x, Ja), 0);
    assert_int_equal(sw_jacobian_fd(m, x, Jf, work), SW_OK);
    double scale = 0;
    for (size_t i = 0; i < n * n; i++)
        scale = fmax(scale, fabs(Jf[i]));
    double worst = swt_max_rel(Ja, Jf, n * n, 1e-3 * scale);
    free(Ja);
    free(Jf);
    free(work);
    return worst;
}

/* At random states (values and logits of order one, so every term of the
 * Jacobian is of its natural size), orthogonal and overlapping features,
 * single positions and blocks. */
static void analytic_jacobians_match_fd(void **state)
{
    (void)state;
    static const char *cases[][3] = {
        {"y-reduced", "overlap=0", "m=1"}, {"y-reduced", "overlap=0.3", "m=1"},
        {"y-reduced", "overlap=0", "m=2"}, {"y-reduced", "overlap=0.3", "m=2"},
        {"y-coupled", "overlap=0", "m=1"}, {"y-coupled", "overlap=0.3", "m=2"},
        {"y-simplex", "overlap=0", "m=1"}, {"y-simplex", "overlap=0.3", "m=2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int seed = 1; seed <= 2; seed++) {
            char sd[16];
            snprintf(sd, sizeof sd, "seed=%d", seed);
            sw_model *m = swt_model(cases[i][0], cases[i][1], cases[i][2], "T=8", "w0=0.5",
                                    "sigma=1", sd, NULL);
            double *x = state_of(m);
            double worst = jac_disagreement(m, x);
            if (!(worst < 1e-6))
                fail_msg("%s %s %s %s: Jacobian disagreement %.3g", cases[i][0], cases[i][1],
                         cases[i][2], sd, worst);
            free(x);
            sw_model_free(m);
        }
}

/* ---- 2. reduced against full -------------------------------------------- */

/* Through every transition (with these parameters the loss rests near L_1
 * around t = 6, near L_2 around t = 17 and is below L_2/10 from t = 40), from
 * the default start, which the two forms draw identically. */
static void reduced_follows_full(void **state)
{
    (void)state;
    static const char *overlaps[] = {"overlap=0", "overlap=0.3"};
    for (size_t i = 0; i < 2; i++) {
        sw_model *mf = swt_model("y-full", overlaps[i], "w0=0.2", "sigma=0.1", NULL);
        sw_model *mr = swt_model("y-reduced", overlaps[i], "w0=0.2", "sigma=0.1", NULL);
        double *xf = state_of(mf), *xr = state_of(mr);
        sw_traj tf = swt_traj(mf, xf, "rk8pd", 1e-10, 1e-12, 200, 60, 0.1, NULL);
        sw_traj tr = swt_traj(mr, xr, "rk8pd", 1e-10, 1e-12, 200, 60, 0.1, NULL);
        if (i == 0) {
            /* The run rests near L_1 and L_2 and passes both. */
            int near[2] = {0, 0};
            for (size_t k = 0; k < tr.n; k++) {
                double L = mr->sys->loss(mr, tr.x + k * tr.dim);
                for (size_t j = 1; j <= 2; j++)
                    near[j - 1] |= fabs(L / mr->levels[j] - 1) < 0.1;
            }
            assert_true(near[0] && near[1]);
            assert_true(mr->sys->loss(mr, tr.x + (tr.n - 1) * tr.dim) < 0.1 * mr->levels[2]);
        }
        double worst = runs_disagree(mf, &tf, mr, &tr, 1e-6);
        print_message("%s: full vs reduced %.3g\n", overlaps[i], worst);
        assert_true(worst < 1e-7);
        sw_traj_clear(&tf);
        sw_traj_clear(&tr);
        free(xf);
        free(xr);
        sw_model_free(mf);
        sw_model_free(mr);
    }
}

/* ---- 3. coupled against reduced ----------------------------------------- */

/* y-reduced started with every head equal to y-coupled's one head. */
static void coupled_follows_symmetric_reduced(void **state)
{
    (void)state;
    static const char *overlaps[] = {"overlap=0", "overlap=0.3"};
    for (size_t i = 0; i < 2; i++) {
        sw_model *mc = swt_model("y-coupled", overlaps[i], "w0=0.3", "sigma=0.5", NULL);
        sw_model *mr = swt_model("y-reduced", overlaps[i], "w0=0.3", "sigma=0.5", NULL);
        double *xc = state_of(mc), *xr = malloc(mr->dim * sizeof *xr);
        for (size_t h = 0; h < 3; h++)
            memcpy(xr + h * mc->dim, xc, mc->dim * sizeof *xc);
        sw_traj tc = swt_traj(mc, xc, "rk8pd", 1e-10, 1e-12, 1000, 60, 0.1, NULL);
        sw_traj tr = swt_traj(mr, xr, "rk8pd", 1e-10, 1e-12, 1000, 60, 0.1, NULL);
        double worst = runs_disagree(mc, &tc, mr, &tr, 1e-6);
        print_message("%s: coupled vs reduced %.3g\n", overlaps[i], worst);
        assert_true(worst < 1e-8);
        sw_traj_clear(&tc);
        sw_traj_clear(&tr);
        free(xc);
        free(xr);
        sw_model_free(mc);
        sw_model_free(mr);
    }
}

/* ---- 4. simplex against logits ------------------------------------------ */

static void simplex_follows_logits(void **state)
{
    (void)state;
    static const char *overlaps[] = {"overlap=0", "overlap=0.3"};
    for (size_t i = 0; i < 2; i++) {
        sw_model *ms = swt_model("y-simplex", overlaps[i], "sigma=0.1", NULL);
        sw_model *mr = swt_model("y-reduced", overlaps[i], "sigma=0.1", NULL);
        double *xs = state_of(ms), *xr = state_of(mr);
        /* The simplex start is softmax of the logit start. */
        for (size_t h = 0; h < 3; h++) {
            double s[16];
            sw_softmax(xr + h * 19 + 3, 16, s);
            assert_true(swt_max_rel(s, xs + h * 19 + 3, 16, 0) < 1e-15);
        }
        sw_traj ts = swt_traj(ms, xs, "rk8pd", 1e-10, 1e-12, 1000, 60, 0.1, NULL);
        sw_traj tr = swt_traj(mr, xr, "rk8pd", 1e-10, 1e-12, 1000, 60, 0.1, NULL);
        double worst = runs_disagree(ms, &ts, mr, &tr, 1e-6);
        print_message("%s: simplex vs logits %.3g\n", overlaps[i], worst);
        assert_true(worst < 1e-7);
        sw_traj_clear(&ts);
        sw_traj_clear(&tr);
        free(xs);
        free(xr);
        sw_model_free(ms);
        sw_model_free(mr);
    }
}

/* ---- 5. population loss -------------------------------------------------- */

/* 1/2 |sum_k A_k X pi_k - sum_h V_h X s_h|^2 averaged over N draws of X with
 * iid N(0, 1) entries, written from the model's definition (not from the
 * residual formula under test); returns the mean and its standard error. */
static void monte_carlo_loss(const sw_model *m, const double *x, size_t N, double *mean, double *se)
{
    size_t H = 3, K = 3, T = 16, d = 4, dd = d * d, stride = dd + T;
    const double *A = sw_y_features(m);
    double s[3][16], X[16][4];
    for (size_t h = 0; h < H; h++)
        sw_softmax(x + h * stride + dd, T, s[h]);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 2024);
    double sum = 0, sum2 = 0;
    for (size_t n = 0; n < N; n++) {
        for (size_t t = 0; t < T; t++)
            for (size_t i = 0; i < d; i++)
                X[t][i] = gsl_ran_gaussian_ziggurat(r, 1.0);
        double res[4] = {0};
        /* Pattern k reads lag k: position T-k (m = 1). */
        for (size_t k = 0; k < K; k++)
            for (size_t i = 0; i < d; i++)
                for (size_t j = 0; j < d; j++)
                    res[i] += A[k * dd + i * d + j] * X[T - 1 - k][j];
        for (size_t h = 0; h < H; h++) {
            double xs[4] = {0};
            for (size_t t = 0; t < T; t++)
                for (size_t j = 0; j < d; j++)
                    xs[j] += s[h][t] * X[t][j];
            const double *V = x + h * stride;
            for (size_t i = 0; i < d; i++)
                for (size_t j = 0; j < d; j++)
                    res[i] -= V[i * d + j] * xs[j];
        }
        double l = 0;
        for (size_t i = 0; i < d; i++)
            l += 0.5 * res[i] * res[i];
        sum += l;
        sum2 += l * l;
    }
    gsl_rng_free(r);
    *mean = sum / (double)N;
    *se = sqrt((sum2 / (double)N - *mean * *mean) / (double)(N - 1));
}

static void loss_matches_monte_carlo(void **state)
{
    (void)state;
    static const char *overlaps[] = {"overlap=0", "overlap=0.3"};
    for (size_t i = 0; i < 2; i++) {
        sw_model *mf = swt_model("y-full", overlaps[i], "w0=0.3", "sigma=1", NULL);
        double *x = state_of(mf);
        /* Off the reduced manifold too: the full loss holds for any V. */
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(r, 99);
        for (size_t h = 0; h < 3; h++)
            for (size_t q = 0; q < 16; q++)
                x[h * 32 + q] += gsl_ran_gaussian(r, 0.3);
        gsl_rng_free(r);
        double L = mf->sys->loss(mf, x), mean, se;
        monte_carlo_loss(mf, x, 200000, &mean, &se);
        print_message("%s: loss %.6g, Monte-Carlo %.6g +- %.2g\n", overlaps[i], L, mean, se);
        assert_true(se < 0.01 * L); /* the comparison has power */
        assert_true(fabs(mean - L) < 4 * se);
        free(x);
        sw_model_free(mf);
    }
}

/* The reduced loss and observables equal the full ones at V_h = sum_k w_hk
 * A_k, with the same logits. */
static void reduced_loss_equals_full(void **state)
{
    (void)state;
    static const char *overlaps[] = {"overlap=0", "overlap=0.3"};
    for (size_t i = 0; i < 2; i++) {
        sw_model *mf = swt_model("y-full", overlaps[i], "w0=0.5", "sigma=1", "seed=5", NULL);
        sw_model *mr = swt_model("y-reduced", overlaps[i], "w0=0.5", "sigma=1", "seed=5", NULL);
        double *xr = state_of(mr), *xf = calloc(mf->dim, sizeof *xf);
        const double *A = sw_y_features(mf);
        /* A different point from either start: scale w, shift logits. */
        for (size_t h = 0; h < 3; h++) {
            for (size_t k = 0; k < 3; k++) {
                xr[h * 19 + k] *= 1.5 + (double)h;
                for (size_t q = 0; q < 16; q++)
                    xf[h * 32 + q] += xr[h * 19 + k] * A[k * 16 + q];
            }
            for (size_t t = 0; t < 16; t++)
                xf[h * 32 + 16 + t] = xr[h * 19 + 3 + t] += 0.1 * (double)t;
        }
        double Lf = mf->sys->loss(mf, xf), Lr = mr->sys->loss(mr, xr);
        assert_true(fabs(Lf - Lr) <= 1e-12 * Lf);
        double of[1 + 2 * 9 + 4], orr[1 + 2 * 9 + 4];
        mf->sys->observe(mf, xf, of);
        mr->sys->observe(mr, xr, orr);
        assert_true(swt_max_rel(of, orr, mf->n_obs, 1e-12) < 1e-11);
        free(xr);
        free(xf);
        sw_model_free(mf);
        sw_model_free(mr);
    }
}

/* ---- 6.-9. the dynamics --------------------------------------------------- */

static void loss_never_increases(void **state)
{
    (void)state;
    sw_model *m = swt_model("y-reduced", "w0=0.5", "sigma=0.3", "overlap=0.2", NULL);
    double *x = state_of(m);
    sw_traj tr = swt_traj(m, x, "rk8pd", 1e-10, 1e-12, 1000, 2000, 1e-3, NULL);
    double prev = m->sys->loss(m, tr.x), worst = 0;
    for (size_t i = 1; i < tr.n; i++) {
        double L = m->sys->loss(m, tr.x + i * tr.dim);
        worst = fmax(worst, (L - prev) / prev);
        prev = L;
    }
    print_message("largest relative increase %.3g, loss %.6g -> %.6g\n", worst,
                  m->sys->loss(m, tr.x), prev);
    assert_true(worst <= 1e-9);
    assert_true(prev < 1e-2 * m->sys->loss(m, tr.x)); /* the flow went somewhere */
    sw_traj_clear(&tr);
    free(x);
    sw_model_free(m);
}

/* First grid time at which the loss is at or below v, interpolated in
 * log t and log L between the grid points around it. */
static double crossing_time(const sw_model *m, const sw_traj *tr, double v)
{
    double prev = m->sys->loss(m, tr->x);
    for (size_t i = 1; i < tr->n; i++) {
        double L = m->sys->loss(m, tr->x + i * tr->dim);
        if (L <= v && prev > v && i > 1) {
            double f = log(prev / v) / log(prev / L);
            return exp(log(tr->t[i - 1]) + f * log(tr->t[i] / tr->t[i - 1]));
        }
        prev = L;
    }
    return INFINITY;
}

/* H = K = 3, gamma = 2, sigma = 0.01: levels 10.5, 2.5, 0.5, 0.  The loss
 * rests near L_1 and L_2 (|d log L / d log t| < 0.05 while within 5% of the
 * level) and falls below 1e-3 L_0 by t = 1000 (measured: 390). */
static void default_run_passes_the_plateaus(void **state)
{
    (void)state;
    sw_model *m = swt_model("y-reduced", NULL);
    assert_int_equal(m->n_levels, 4);
    double want[4] = {10.5, 2.5, 0.5, 0};
    for (size_t j = 0; j < 4; j++)
        assert_true(fabs(m->levels[j] - want[j]) < 1e-15);
    double *x = state_of(m);
    sw_traj tr = swt_traj(m, x, "rk8pd", 1e-10, 1e-12, 1000, 2000, 1e-2, NULL);
    for (size_t j = 1; j <= 2; j++) {
        double Lj = m->levels[j], best = INFINITY;
        double lprev = log(m->sys->loss(m, tr.x + tr.dim));
        for (size_t i = 2; i < tr.n; i++) {
            double L = m->sys->loss(m, tr.x + i * tr.dim);
            double rate = fabs((log(L) - lprev) / log(tr.t[i] / tr.t[i - 1]));
            if (fabs(L / Lj - 1) < 0.05)
                best = fmin(best, rate);
            lprev = log(L);
        }
        print_message("L_%zu = %g: smallest loss rate within 5%%: %.3g\n", j, Lj, best);
        assert_true(best < 0.05);
    }
    for (size_t j = 0; j < 3; j++)
        print_message("loss crosses (L_%zu + L_%zu)/2 at t = %.4g\n", j, j + 1,
                      crossing_time(m, &tr, 0.5 * (m->levels[j] + m->levels[j + 1])));
    double Lend = m->sys->loss(m, tr.x + (tr.n - 1) * tr.dim);
    assert_true(Lend < 1e-3 * m->levels[0]);
    sw_traj_clear(&tr);
    free(x);
    sw_model_free(m);
}

/* From w = 0 and generic logits the coupled flow learns pattern 1 only and
 * settles at 1/2 sum_{k>=2} lambda_k^2 / m (= L_1). */
static void coupled_learns_one_pattern(void **state)
{
    (void)state;
    static const char *blocks[][2] = {{"m=1", "T=16"}, {"m=2", "T=16"}};
    for (size_t i = 0; i < 2; i++) {
        sw_model *m = swt_model("y-coupled", blocks[i][0], blocks[i][1], "sigma=0.5", NULL);
        double *x = state_of(m);
        double mb = (double)(i + 1), level = 0.5 * (4.0 + 1.0) / mb;
        assert_true(fabs(m->levels[1] - level) < 1e-15);
        sw_traj tr = swt_traj(m, x, "rk8pd", 1e-8, 1e-12, 5000, 3, 1, NULL);
        double L = m->sys->loss(m, tr.x + (tr.n - 1) * tr.dim);
        print_message("%s: coupled loss %.8g, level %.8g\n", blocks[i][0], L, level);
        assert_true(fabs(L / level - 1) < 1e-3);
        sw_traj_clear(&tr);
        free(x);
        sw_model_free(m);
    }
}

/* sigma = 0: every head starts equal and an explicit stepper keeps them
 * exactly equal, so the flow is the coupled one and stays on the first
 * plateau; its loss approaches L_1 from above like 1/t. */
static void symmetric_start_stays_on_first_plateau(void **state)
{
    (void)state;
    sw_model *m = swt_model("y-reduced", "sigma=0", NULL);
    double *x = state_of(m);
    sw_traj tr = swt_traj(m, x, "rkck", 1e-8, 1e-12, 4e5, 20, 1, NULL);
    double L1 = m->levels[1];
    for (size_t i = 0; i < tr.n; i++) {
        const double *xi = tr.x + i * tr.dim;
        assert_true(m->sys->loss(m, xi) > L1);
        for (size_t h = 1; h < 3; h++)
            assert_true(swt_max_rel(xi, xi + h * 19, 19, 1e-300) == 0);
    }
    double L = m->sys->loss(m, tr.x + (tr.n - 1) * tr.dim);
    print_message("loss at t = 4e5: L_1 (1 + %.3g)\n", L / L1 - 1);
    assert_true(L / L1 - 1 < 1e-6);
    sw_traj_clear(&tr);
    free(x);
    sw_model_free(m);
}

/* ---- 10. bad input --------------------------------------------------------- */

/* sw_model_alloc on the NULL-terminated KEY=VALUE words must fail with
 * SW_EINPUT and a message that starts with the offending parameter. */
static void expect_rejected(const char *system, const char *param, ...)
{
    const char *keys[4], *vals[4];
    char store[4][64], words[256] = "";
    size_t n = 0;
    va_list ap;
    va_start(ap, param);
    for (const char *w; (w = va_arg(ap, const char *)) && n < 4; n++) {
        snprintf(store[n], sizeof store[n], "%s", w);
        strncat(words, w, sizeof words - strlen(words) - 2);
        strcat(words, " ");
        char *eq = strchr(store[n], '=');
        assert_non_null(eq);
        *eq = '\0';
        keys[n] = store[n];
        vals[n] = eq + 1;
    }
    va_end(ap);
    sw_model *m = NULL;
    sw_err e = {{0}};
    int rc = sw_model_alloc(sw_system_find(system), n, keys, vals, &m, &e);
    if (rc != SW_EINPUT)
        fail_msg("%s %s: status %d, not SW_EINPUT", system, words, rc);
    assert_null(m);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%s: ", param);
    if (strncmp(e.msg, prefix, strlen(prefix)) != 0)
        fail_msg("%s %s: message '%s' does not start with '%s'", system, words, e.msg, prefix);
}

static void bad_input_is_rejected(void **state)
{
    (void)state;
    expect_rejected("y-reduced", "T", "m=6", NULL); /* 3*6 > 16 */
    expect_rejected("y-coupled", "T", "K=5", "T=4", NULL);
    expect_rejected("y-full", "T", "m=2", "T=5", NULL);
    expect_rejected("y-reduced", "lambdas", "lambdas=4,2", NULL);
    expect_rejected("y-simplex", "lambdas", "lambdas=4,2,1,1", NULL);
    expect_rejected("y-full", "d", "d=2", "K=4", "overlap=0.3", NULL); /* 4 < K+1 */
    expect_rejected("y-full", "d", "d=1", NULL);
    expect_rejected("y-reduced", "overlap", "overlap=1", NULL);
    expect_rejected("y-reduced", "gamma", "gamma=1e6", "K=64", "T=64", NULL);
    expect_rejected("y-reduced", "sigma", "sigma=-1", NULL);
    expect_rejected("y-reduced", "sigma", "sigma=nan", NULL);
    expect_rejected("y-reduced", "H", "H=2.5", NULL);
    /* The boundaries themselves are allowed: d*d = K orthogonal features,
     * d*d = K+1 with overlap, K*m = T. */
    sw_model_free(swt_model("y-full", "d=2", "K=4", "T=4", NULL));
    sw_model_free(swt_model("y-full", "d=2", "K=3", "overlap=0.3", NULL));
    sw_model_free(swt_model("y-reduced", "m=4", "K=4", "T=16", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(analytic_jacobians_match_fd),
        cmocka_unit_test(reduced_follows_full),
        cmocka_unit_test(coupled_follows_symmetric_reduced),
        cmocka_unit_test(simplex_follows_logits),
        cmocka_unit_test(loss_matches_monte_carlo),
        cmocka_unit_test(reduced_loss_equals_full),
        cmocka_unit_test(loss_never_increases),
        cmocka_unit_test(default_run_passes_the_plateaus),
        cmocka_unit_test(coupled_learns_one_pattern),
        cmocka_unit_test(symmetric_start_stays_on_first_plateau),
        cmocka_unit_test(bad_input_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
