/* The Z systems against finite differences, docs/math.md's closed forms,
 * each other, and Monte-Carlo averages over the data they describe. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_poly.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <json-c/json.h>

#include "helpers.h"
#include "jacobian.h"
#include "stagewise/ode.h"
#include "z.h"

static sw_model *zmodel(const char *sys, const sw_z_shape *z, const char *extra)
{
    char d[32], T[32], B[32], p[32], tied[32];
    snprintf(d, sizeof d, "d=%zu", z->d);
    snprintf(T, sizeof T, "T=%zu", z->T);
    snprintf(B, sizeof B, "B=%zu", z->B);
    snprintf(p, sizeof p, "p=%.17g", z->p);
    snprintf(tied, sizeof tied, "tied=%d", z->tied);
    return swt_model(sys, d, T, B, p, tied, extra, NULL);
}

static double max_abs(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

/* The analytic Jacobian of z-reduced against central differences, at
 * states before, inside and after the escape, both attention laws, with
 * and without cross-sample repetition.  Entries under 1e-3 of the largest
 * are compared on that scale: there both sides are mostly rounding. */
static void reduced_jacobian_matches_fd(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    double worst = 0;
    for (int tied = 0; tied <= 1; tied++)
        for (int ip = 0; ip < 2; ip++)
            for (size_t B = 1; B <= 4; B += 3) {
                sw_z_shape z = {16, 64, B, ip ? 0.3 : 0, tied};
                sw_model *m = zmodel("z-reduced", &z, NULL);
                for (int k = 0; k < 6; k++) {
                    double x[3] = {gsl_ran_flat(r, -0.5, 1.5), gsl_ran_flat(r, -0.5, 1.5),
                                   gsl_ran_flat(r, -4, 8)};
                    double Ja[9], Jf[9], work[6];
                    assert_int_equal(m->sys->jac(m, x, Ja), 0);
                    assert_int_equal(sw_jacobian_fd(m, x, Jf, work), SW_OK);
                    double err = swt_max_rel(Ja, Jf, 9, 1e-3 * max_abs(Ja, 9));
                    worst = fmax(worst, err);
                    if (!(err < 1e-6))
                        fail_msg("tied=%d p=%g B=%zu at (%g, %g, %g): relative error %.3g", tied,
                                 z.p, B, x[0], x[1], x[2], err);
                }
                sw_model_free(m);
            }
    printf("# reduced Jacobian vs FD: worst relative error %.3g\n", worst);
    gsl_rng_free(r);
}

/* docs/math.md's closed-form start Jacobian, typed in from the page. */
static void closed_form_start(const sw_z_shape *z, double J[9])
{
    double d = (double)z->d, T = (double)z->T, B = (double)z->B, p = z->p;
    double S = B / T, Q = (T - B) / (T * T), dS = S * (1 - S);
    double cpar = (1 - p) + p * d, cperp = (1 - p) * (d - 1);
    double kappa = z->tied ? B : 1, phi = kappa * (1 - S) + S;
    double M[9] = {
        -(S * S * cpar + Q) / d,  0, dS * cpar / d,
        0, -(S * S * (1 - p) + Q) / d, dS * (1 - p) / d,
        cpar * phi / (d * T), cperp * phi / (d * T), 0,
    };
    memcpy(J, M, sizeof M);
}

/* Largest real root of det(lambda I - J) = lambda^3 + a lambda^2 + b lambda
 * + c, coefficients from the trace, the principal 2x2 minors and the
 * determinant; an independent route to lambda+ (no eigen-solver). */
static double largest_root(const double J[9])
{
    double tr = J[0] + J[4] + J[8];
    double minors = (J[0] * J[4] - J[1] * J[3]) + (J[0] * J[8] - J[2] * J[6]) +
                    (J[4] * J[8] - J[5] * J[7]);
    double det = J[0] * (J[4] * J[8] - J[5] * J[7]) - J[1] * (J[3] * J[8] - J[5] * J[6]) +
                 J[2] * (J[3] * J[7] - J[4] * J[6]);
    double r[3] = {-INFINITY, -INFINITY, -INFINITY};
    int n = gsl_poly_solve_cubic(-tr, minors, -det, &r[0], &r[1], &r[2]);
    assert_true(n >= 1);
    return fmax(r[0], fmax(r[1], r[2]));
}

static void start_jacobian_is_closed_form(void **state)
{
    (void)state;
    static const sw_z_shape cases[] = {
        {16, 64, 1, 0, 0},   {16, 64, 1, 0.3, 0}, {16, 64, 4, 0, 1},  {16, 64, 4, 0.3, 1},
        {16, 64, 4, 0.3, 0}, {100, 1000, 10, 0.1, 1}, {6, 12, 3, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const sw_z_shape *z = &cases[i];
        sw_model *m = zmodel("z-reduced", z, NULL);
        double x[3], Jsys[9], Jpub[9], Jcf[9], lam;
        m->sys->init(m, x);
        assert_true(x[0] == 0 && x[1] == 0 && x[2] == 0);
        assert_int_equal(m->sys->jac(m, x, Jsys), 0);
        assert_int_equal(sw_z_start_jacobian(z, Jpub, NULL), SW_OK);
        closed_form_start(z, Jcf);
        double e1 = swt_max_rel(Jsys, Jcf, 9, 1e-300), e2 = swt_max_rel(Jpub, Jcf, 9, 1e-300);
        if (!(e1 < 1e-12) || !(e2 < 1e-12))
            fail_msg("case %zu: start Jacobian off the closed form by %.3g (jac), %.3g (public)",
                     i, e1, e2);
        assert_int_equal(sw_z_lambda_plus(z, &lam, NULL), SW_OK);
        double ref = largest_root(Jcf);
        if (!(fabs(lam - ref) < 1e-6 * ref))
            fail_msg("case %zu: lambda+ %.17g, characteristic polynomial %.17g", i, lam, ref);
        sw_model_free(m);
    }
    /* d = 16, T = 64, B = 1, p = 0: lambda^2 + lambda/1024 - 63/2^22 = 0 on
     * the symmetric subspace alpha = beta, root 7/2048. */
    sw_z_shape z = {16, 64, 1, 0, 0};
    double J[9], lam;
    closed_form_start(&z, J);
    assert_true(fabs(largest_root(J) - 0.00341796875) < 1e-12 * 0.00341796875);
    assert_int_equal(sw_z_lambda_plus(&z, &lam, NULL), SW_OK);
    assert_true(fabs(lam - 0.00341796875) < 1e-12 * 0.00341796875);
}

/* The leading-order laws for large d and T, which neglect the diagonal
 * of the Jacobian against the geometric mean of its off-diagonal pairs.
 * That ratio is ~1/sqrt(d) at B = 1, (B/T) / (sqrt(d) (1 - B/T)) for tied
 * copies and B^1.5 / (T sqrt(d (1 - B/T))) for untied ones, so the untied
 * law at B/T = 1/2 needs d >> T.  With the O(1/T) terms, every case below
 * is within about 0.5% of its law; 2% is allowed.  For tied copies the leading
 * order is (B/T)(1 - B/T)/sqrt(d), shown at B/T = 1/2 where it matters. */
static void lambda_plus_leading_order(void **state)
{
    (void)state;
    double d = 1e4, T = 1e6, lam;
    struct {
        sw_z_shape z;
        double law;
    } cases[] = {
        {{10000, 1000000, 1, 0, 0}, 1 / (sqrt(d) * T)},
        {{10000, 1000000, 1, 0.3, 0}, sqrt(1 + 0.09 * (d - 1)) / (sqrt(d) * T)},
        {{10000, 1000000, 1, 0.01, 0}, sqrt(1 + 1e-4 * (d - 1)) / (sqrt(d) * T)},
        {{1000000000, 1000, 500, 0, 0}, sqrt(500 * 0.5 / 1e9) / 1000},
        {{10000, 1000000, 100, 0, 0}, sqrt(100 * (1 - 1e-4) / d) / T},
        {{10000, 1000000, 500000, 0, 1}, 0.5 * 0.5 / sqrt(d)},
        {{10000, 1000000, 100, 0, 1}, 1e-4 * (1 - 1e-4) / sqrt(d)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(sw_z_lambda_plus(&cases[i].z, &lam, NULL), SW_OK);
        if (!(fabs(lam / cases[i].law - 1) < 0.02))
            fail_msg("case %zu: lambda+ = %.6g, leading order %.6g", i, lam, cases[i].law);
    }
}

/* rhs as a gradient flow of loss.  z-full: dW/dt = -dL/dW, and each logit
 * -dL/da_t, except that tied copies all move by the sum over R.  z-reduced
 * in (alpha, beta, Delta a): |dW/dalpha|_F = 1, |dW/dbeta|_F^2 = d-1, and a
 * shift of Delta a splits into a per-position gradient 1/B (1 tied) on R
 * and 1/(T-B) off it, so rhs = -diag(1, 1/(d-1), k) grad L with
 * k = 1/B + 1/(T-B) untied, 1 + 1/(T-B) tied. */
static void central_grad(const sw_model *m, const double *x, double *g)
{
    double *y = malloc(m->dim * sizeof *y);
    memcpy(y, x, m->dim * sizeof *y);
    for (size_t j = 0; j < m->dim; j++) {
        double h = 1e-5 * fmax(1, fabs(x[j]));
        y[j] = x[j] + h;
        double lp = m->sys->loss(m, y);
        y[j] = x[j] - h;
        double lm = m->sys->loss(m, y);
        y[j] = x[j];
        g[j] = (lp - lm) / (2 * h);
    }
    free(y);
}

static void rhs_is_gradient_of_loss(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 11);
    for (int tied = 0; tied <= 1; tied++) {
        sw_z_shape z = {6, 12, 3, 0.3, tied};
        sw_model *m = zmodel("z-full", &z, NULL);
        size_t n = m->dim, dd = 36;
        double *x = malloc(n * sizeof *x), *f = malloc(n * sizeof *f), *g = malloc(n * sizeof *g);
        for (size_t i = 0; i < n; i++)
            x[i] = i < dd ? gsl_ran_gaussian(r, 0.5) : gsl_ran_flat(r, -1, 1);
        assert_int_equal(m->sys->rhs(m, x, f), 0);
        central_grad(m, x, g);
        double gR = 0;
        for (size_t t = 0; t < z.B; t++)
            gR += g[dd + t];
        for (size_t i = 0; i < n; i++)
            g[i] = -(tied && i >= dd && i < dd + z.B ? gR : g[i]);
        double err = swt_max_rel(f, g, n, max_abs(g, n));
        if (!(err < 1e-7))
            fail_msg("z-full tied=%d: rhs off -grad L by %.3g", tied, err);
        free(x);
        free(f);
        free(g);
        sw_model_free(m);

        m = zmodel("z-reduced", &z, NULL);
        double xr[3] = {0.7, -0.2, 1.3}, fr[3], gr[3];
        assert_int_equal(m->sys->rhs(m, xr, fr), 0);
        central_grad(m, xr, gr);
        double k = (tied ? 1 : 1.0 / 3) + 1.0 / 9;
        gr[0] = -gr[0];
        gr[1] = -gr[1] / 5;
        gr[2] = -gr[2] * k;
        err = swt_max_rel(fr, gr, 3, max_abs(gr, 3));
        if (!(err < 1e-7))
            fail_msg("z-reduced tied=%d: rhs off the metric gradient by %.3g", tied, err);
        sw_model_free(m);
    }
    gsl_rng_free(r);
}

static void integrate(sw_model *m, double t_end, size_t points, int log_grid, sw_traj *tr)
{
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    o.rtol = 1e-10;
    o.atol = 1e-12;
    o.t_end = t_end;
    o.points = points;
    o.log_grid = log_grid;
    sw_err e;
    sw_ode *w = sw_ode_alloc(m, &o, &e);
    assert_non_null(w);
    double *x = malloc(m->dim * sizeof *x);
    m->sys->init(m, x);
    tr->dim = m->dim;
    sw_ode_stats st;
    int rc = sw_ode_run(w, x, sw_traj_record, tr, &st, &e);
    if (rc)
        fail_msg("%s: %s", m->sys->name, e.msg);
    assert_int_equal(tr->n, points);
    free(x);
    sw_ode_free(w);
}

/* Loss followed by the observables, at row i of a trajectory. */
static void columns(const sw_model *m, const sw_traj *tr, size_t i, double *out)
{
    out[0] = m->sys->loss(m, tr->x + i * tr->dim);
    m->sys->observe(m, tr->x + i * tr->dim, out + 1);
}

/* z-full from W = 0 and equal logits stays on the manifold and reproduces
 * z-reduced through the plateau, the escape and the approach to W = W*
 * (loss 0.5 -> 1e-4).  Both runs are accurate to ~1e-10, so 1e-7 leaves
 * room only for accumulated solver error, not for a wrong term. */
static void reduced_matches_full(void **state)
{
    (void)state;
    for (int tied = 0; tied <= 1; tied++) {
        sw_z_shape z = {6, 12, 3, 0.3, tied};
        sw_model *mf = zmodel("z-full", &z, "sigma=0"), *mr = zmodel("z-reduced", &z, "eps=0");
        sw_traj tf = {0}, trd = {0};
        integrate(mf, 1000, 81, 1, &tf);
        integrate(mr, 1000, 81, 1, &trd);
        double worst = 0;
        for (size_t i = 0; i < tf.n; i++) {
            double a[6], b[6]; /* loss, alpha, beta, delta_a, S, loss_p0 */
            columns(mf, &tf, i, a);
            columns(mr, &trd, i, b);
            worst = fmax(worst, swt_max_rel(a, b, 6, 1));
        }
        double last[6];
        columns(mr, &trd, trd.n - 1, last);
        assert_true(last[0] < 1e-3); /* the comparison covered the escape */
        assert_true(last[4] > 0.8);
        printf("# z-full vs z-reduced, tied=%d: worst difference %.3g\n", tied, worst);
        if (!(worst < 1e-7))
            fail_msg("tied=%d: z-full and z-reduced differ by %.3g", tied, worst);
        sw_traj_clear(&tf);
        sw_traj_clear(&trd);
        sw_model_free(mf);
        sw_model_free(mr);
    }
}

/* The teacher is what the header says, z-full's observables read the
 * manifold coordinates back, and the same seed gives the same teacher. */
static void teacher_and_observables(void **state)
{
    (void)state;
    enum { D = 6 };
    double Ws[D * D], xb[D], Ws2[D * D], xb2[D];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 5);
    assert_int_equal(sw_z_teacher(r, D, Ws, xb, NULL), SW_OK);
    gsl_rng_set(r, 5);
    assert_int_equal(sw_z_teacher(r, D, Ws2, xb2, NULL), SW_OK);
    assert_memory_equal(Ws, Ws2, sizeof Ws);
    double n2 = 0;
    for (size_t i = 0; i < D; i++) {
        n2 += xb[i] * xb[i];
        for (size_t j = 0; j < D; j++) {
            double g = 0;
            for (size_t k = 0; k < D; k++)
                g += Ws[k * D + i] * Ws[k * D + j];
            assert_true(fabs(g - (i == j)) < 1e-12);
        }
    }
    assert_true(fabs(n2 - D) < 1e-12);
    gsl_rng_free(r);

    sw_model *m = swt_model("z-full", "d=6", "T=12", "B=3", "seed=5", NULL);
    double x[D * D + 12], obs[5], al = 0.3, be = -0.8;
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++) {
            double v = 0; /* (W* (alpha P + beta (I - P)))_ij */
            for (size_t k = 0; k < D; k++)
                v += Ws[i * D + k] * ((al - be) * xb[k] * xb[j] / D + (k == j ? be : 0));
            x[i * D + j] = v;
        }
    for (size_t t = 0; t < 12; t++)
        x[D * D + t] = t < 3 ? 1.5 : -0.5;
    m->sys->observe(m, x, obs);
    double S = 3 * exp(1.5) / (3 * exp(1.5) + 9 * exp(-0.5));
    assert_true(fabs(obs[0] - al) < 1e-13 && fabs(obs[1] - be) < 1e-13);
    assert_true(fabs(obs[2] - 2.0) < 1e-13 && fabs(obs[3] - S) < 1e-13);
    /* loss_p0 = (|W* - S W|^2 + Q |W|^2)/(2d) on the manifold, by hand. */
    double Z = 3 * exp(1.5) + 9 * exp(-0.5), Q = 9 * exp(-1.0) / (Z * Z);
    double M2 = pow(1 - S * al, 2) + (D - 1) * pow(1 - S * be, 2), W2 = al * al + (D - 1) * be * be;
    assert_true(fabs(obs[4] - (M2 + Q * W2) / (2 * D)) < 1e-13);
    sw_model_free(m);
}

/* Population loss against sampled data: x_t ~ N(0, I) off R, x* on all of
 * R (xbar with probability p, else fresh), y = W* x*, per-sample loss
 * |y - yhat|^2 / (2d), at a generic state (W off the manifold, unequal
 * logits).  Also Zucchet et al.'s two-variable loss at p = 0. */
static void loss_matches_monte_carlo(void **state)
{
    (void)state;
    enum { D = 6, T = 12, B = 3, N = 100000 };
    const double p = 0.3;
    sw_model *m = swt_model("z-full", "d=6", "T=12", "B=3", "p=0.3", "seed=3", NULL);
    double Ws[D * D], xb[D];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 3);
    assert_int_equal(sw_z_teacher(r, D, Ws, xb, NULL), SW_OK);
    gsl_rng_set(r, 99);
    double x[D * D + T], s[T], sum = 0;
    for (size_t i = 0; i < D * D; i++)
        x[i] = gsl_ran_gaussian(r, 0.4);
    for (size_t t = 0; t < T; t++) {
        x[D * D + t] = gsl_ran_flat(r, -1.5, 1.5);
        s[t] = exp(x[D * D + t]);
        sum += s[t];
    }
    for (size_t t = 0; t < T; t++)
        s[t] /= sum;
    double L = m->sys->loss(m, x);

    double mean = 0, m2 = 0;
    for (size_t n = 0; n < N; n++) {
        double xs[D], z[D], y[D], l = 0;
        int fixed = gsl_rng_uniform(r) < p;
        for (size_t i = 0; i < D; i++) {
            xs[i] = fixed ? xb[i] : gsl_ran_gaussian(r, 1);
            z[i] = 0;
        }
        for (size_t t = 0; t < T; t++)
            for (size_t i = 0; i < D; i++)
                z[i] += s[t] * (t < B ? xs[i] : gsl_ran_gaussian(r, 1));
        for (size_t i = 0; i < D; i++) {
            y[i] = 0;
            for (size_t j = 0; j < D; j++)
                y[i] += Ws[i * D + j] * xs[j] - x[i * D + j] * z[j];
            l += y[i] * y[i];
        }
        l /= 2 * D;
        double dl = l - mean; /* Welford */
        mean += dl / (double)(n + 1);
        m2 += dl * (l - mean);
    }
    double se = sqrt(m2 / (N - 1) / N);
    printf("# population loss %.6f, Monte Carlo %.6f +- %.6f\n", L, mean, se);
    assert_true(se < 0.01 * L); /* the check has teeth */
    if (!(fabs(mean - L) < 4 * se))
        fail_msg("population loss %.6g vs Monte Carlo %.6g (standard error %.3g)", L, mean, se);
    gsl_rng_free(r);
    sw_model_free(m);

    sw_z_shape z = {16, 64, 5, 0, 0};
    m = zmodel("z-reduced", &z, NULL);
    for (double w = -0.5; w <= 1.5; w += 0.25)
        for (double da = -3; da <= 6; da += 1.5) {
            double xr[3] = {w, w, da};
            double Z = 5 * exp(da) + 59, Sv = 5 * exp(da) / Z, Qv = 59 / (Z * Z);
            double want = 0.5 * ((1 - Sv * w) * (1 - Sv * w) + Qv * w * w);
            assert_true(fabs(m->sys->loss(m, xr) - want) < 1e-13 * want);
        }
    sw_model_free(m);
}

/* Gradient flow: the loss never rises (beyond the 1e-10 the solver is
 * allowed), through plateau and escape, on the manifold and, for z-full,
 * from a generic start with random logits. */
static void loss_never_increases(void **state)
{
    (void)state;
    static const struct {
        const char *sys, *extra;
        sw_z_shape z;
        double t_end;
    } runs[] = {
        {"z-reduced", "eps=0", {16, 64, 1, 0, 0}, 3000},
        {"z-reduced", "eps=-1", {16, 64, 4, 0.3, 1}, 3000},
        {"z-full", "sigma=1", {6, 12, 3, 0.3, 0}, 1000},
        {"z-full", "sigma=1", {6, 12, 3, 0.3, 1}, 1000},
    };
    for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
        sw_model *m = zmodel(runs[k].sys, &runs[k].z, runs[k].extra);
        sw_traj tr = {0};
        integrate(m, runs[k].t_end, 600, 0, &tr);
        double prev = m->sys->loss(m, tr.x), first = prev;
        for (size_t i = 1; i < tr.n; i++) {
            double l = m->sys->loss(m, tr.x + i * tr.dim);
            if (!(l <= prev * (1 + 1e-10)))
                fail_msg("run %zu: loss rises from %.17g to %.17g at t = %g", k, prev, l,
                         tr.t[i]);
            prev = l;
        }
        assert_true(prev < 0.01 * first); /* the run went through the escape */
        sw_traj_clear(&tr);
        sw_model_free(m);
    }
}

static double json_event_t(const char *path)
{
    json_object *o = json_object_from_file(path), *ev, *t;
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "events", &ev));
    assert_int_equal(json_object_array_length(ev), 1);
    assert_true(json_object_object_get_ex(json_object_array_get_idx(ev, 0), "t", &t));
    double v = json_object_get_double(t);
    json_object_put(o);
    return v;
}

/* `--until 'loss<=0.25'` with the defaults (d = 16, T = 64, B = 1, p = 0):
 * the crossing is announced, recorded in the metadata, written as the last
 * row exactly on the threshold, and agrees with a tighter library run. */
static void cli_until_crossing(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), *err = NULL, csv[512], meta[512];
    snprintf(csv, sizeof csv, "%s/z.csv", dir);
    snprintf(meta, sizeof meta, "%s/z.json", dir);
    int rc = swt_run(NULL, &err, "integrate z-reduced --until 'loss<=0.25' --out %s", csv);
    assert_int_equal(rc, 0);
    const char *tag = "stagewise: loss<=0.25 reached at t = ";
    char *at = strstr(err, tag);
    assert_non_null(at);
    double t_err = strtod(at + strlen(tag), NULL), t_json = json_event_t(meta);
    assert_true(t_err == t_json);

    swt_csv c;
    assert_int_equal(swt_csv_read(csv, &c), 0);
    assert_true(fabs(swt_csv_at(&c, c.rows - 1, "loss") - 0.25) < 1e-9);
    assert_true(fabs(swt_csv_at(&c, c.rows - 1, "t") - t_json) <= 1e-12 * t_json);
    assert_true(swt_csv_at(&c, c.rows - 2, "loss") > 0.25);
    swt_csv_free(&c);

    sw_model *m = swt_model("z-reduced", NULL);
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    o.rtol = 1e-12;
    o.atol = 1e-14;
    sw_err e;
    assert_int_equal(sw_event_parse(m, "loss<=0.25", &o.until, &e), SW_OK);
    sw_ode *w = sw_ode_alloc(m, &o, &e);
    double x[3];
    m->sys->init(m, x);
    sw_ode_stats st;
    assert_int_equal(sw_ode_run(w, x, NULL, NULL, &st, &e), SW_OK);
    assert_true(st.event_hit);
    printf("# loss <= 0.25 at t = %.10g (CLI), %.10g (rtol 1e-12); 1/lambda+ = %.10g\n", t_json,
           st.event_t, 2048.0 / 7);
    assert_true(fabs(t_json - st.event_t) < 1e-6 * st.event_t);
    sw_ode_free(w);
    sw_model_free(m);
    remove(csv);
    remove(meta);
    remove(dir);
    free(dir);
    free(err);
}

/* Each bad value: exit 2 and one line on stderr that starts with the
 * parameter's name; nothing written. */
static void bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *args, *name;
    } cases[] = {
        {"B=64", "B"},       {"T=10 B=10", "B"}, {"B=20 T=12", "B"}, {"tied=2", "tied"},
        {"tied=0.5", "tied"}, {"p=1.5", "p"},    {"p=nan", "p"},     {"d=1", "d"},
    };
    static const char *const systems[] = {"z-reduced", "z-full"};
    for (size_t s = 0; s < 2; s++)
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            char *out = NULL, *err = NULL, prefix[64];
            int rc = swt_run(&out, &err, "integrate %s %s", systems[s], cases[i].args);
            snprintf(prefix, sizeof prefix, "stagewise: %s: ", cases[i].name);
            size_t lines = 0;
            for (const char *q = err; *q; q++)
                lines += *q == '\n';
            if (rc != 2 || lines != 1 || strncmp(err, prefix, strlen(prefix)) != 0 || *out)
                fail_msg("%s %s: exit %d, stderr '%s'", systems[s], cases[i].args, rc, err);
            free(out);
            free(err);
        }
}

/* Tied copies are one logit: with a random start (sigma > 0) its B
 * positions start equal and stay equal along the flow. */
static void tied_logits_start_and_stay_equal(void **state)
{
    (void)state;
    sw_model *m = swt_model("z-full", "d=4", "T=8", "B=3", "tied=1", "sigma=1", NULL);
    double *x = malloc(m->dim * sizeof *x);
    m->sys->init(m, x);
    size_t a = 16; /* logits follow the 4 x 4 W */
    assert_true(x[a] == x[a + 1] && x[a] == x[a + 2]);
    assert_true(x[a] != x[a + 3]);
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    o.t_end = 100;
    sw_err e;
    sw_ode *w = sw_ode_alloc(m, &o, &e);
    sw_ode_stats st;
    assert_int_equal(sw_ode_run(w, x, NULL, NULL, &st, &e), SW_OK);
    assert_true(fabs(x[a + 1] - x[a]) <= 1e-12 * fabs(x[a]));
    assert_true(fabs(x[a + 2] - x[a]) <= 1e-12 * fabs(x[a]));
    assert_true(fabs(x[a]) > 1); /* the shared logit moved */
    sw_ode_free(w);
    free(x);
    sw_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tied_logits_start_and_stay_equal),
        cmocka_unit_test(reduced_jacobian_matches_fd),
        cmocka_unit_test(start_jacobian_is_closed_form),
        cmocka_unit_test(lambda_plus_leading_order),
        cmocka_unit_test(rhs_is_gradient_of_loss),
        cmocka_unit_test(reduced_matches_full),
        cmocka_unit_test(teacher_and_observables),
        cmocka_unit_test(loss_matches_monte_carlo),
        cmocka_unit_test(loss_never_increases),
        cmocka_unit_test(cli_until_crossing),
        cmocka_unit_test(bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
