/* dop853: its order on problems with closed forms, its step control, its
 * failures, and agreement with GSL's rk8pd on the z systems. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_errno.h>

#include "dop853.h"
#include "helpers.h"
#include "stagewise/ode.h"

/* y1' = 2 cos(2t) y1 and the logistic y2' = 4 y2 (1 - y2) from (1, 1/2):
 * y1 = exp(sin 2t), y2 = 1 / (1 + exp(-4t)).  The first depends on t (the
 * stage times c_i matter), the second is nonlinear (the order conditions
 * beyond linear problems matter). */
struct counted {
    unsigned long evals;
    int fail_after; /* > 0: the vector field fails from this evaluation on */
    int nan_after;  /* > 0: it returns NaN from this evaluation on */
};

static int field(double t, const double *y, double *f, void *p)
{
    struct counted *c = p;
    c->evals++;
    if (c->fail_after && c->evals >= (unsigned long)c->fail_after)
        return GSL_EBADFUNC;
    f[0] = 2 * cos(2 * t) * y[0];
    f[1] = 4 * y[1] * (1 - y[1]);
    if (c->nan_after && c->evals >= (unsigned long)c->nan_after)
        f[1] = NAN;
    return GSL_SUCCESS;
}

static void exact(double t, double y[2])
{
    y[0] = exp(sin(2 * t));
    y[1] = 1 / (1 + exp(-4 * t));
}

/* The errors of both components at t = 2 after `steps` equal steps:
 * tolerances so loose that every step passes, each call bounded at the
 * next grid time. */
static void fixed_step_errors(int steps, double err[2])
{
    struct counted c = {0};
    gsl_odeiv2_system sys = {field, NULL, 2, &c};
    sw_dop853 *s = sw_dop853_alloc(&sys, 1e-3, 1e300);
    assert_non_null(s);
    double y[2] = {1, 0.5}, t = 0;
    for (int i = 1; i <= steps; i++) {
        double hs = 2; /* longer than the way to the bound: the step ends there */
        assert_int_equal(sw_dop853_apply(s, &t, 2.0 * i / steps, &hs, y), GSL_SUCCESS);
        assert_true(t == 2.0 * i / steps);
    }
    /* 12 evaluations a step, no rejection. */
    assert_int_equal(c.evals, 12 * (unsigned long)steps);
    sw_dop853_free(s);
    double ref[2];
    exact(2, ref);
    err[0] = fabs(y[0] - ref[0]);
    err[1] = fabs(y[1] - ref[1]);
}

/* Eighth order: halving the step (1/4 to 1/8) divides each error by about
 * 2^8 = 256 (measured 298 and 290; both still 1000 times above rounding).
 * A wrong digit in a weight or a stage coefficient drops the ratio to 2^7
 * = 128 or less. */
static void order_is_eight(void **state)
{
    (void)state;
    double e8[2], e16[2];
    fixed_step_errors(8, e8);
    fixed_step_errors(16, e16);
    for (int k = 0; k < 2; k++) {
        double p = log2(e8[k] / e16[k]);
        print_message("y%d: errors %.3g, %.3g: observed order %.3f\n", k + 1, e8[k], e16[k], p);
        assert_true(e16[k] > 1e-14);
        assert_true(p > 7.6 && p < 8.6);
    }
}

struct adaptive {
    double err;
    unsigned long steps, evals;
};

static struct adaptive adaptive_run(double rtol, double h0)
{
    struct counted c = {0};
    gsl_odeiv2_system sys = {field, NULL, 2, &c};
    sw_dop853 *s = sw_dop853_alloc(&sys, rtol, 0);
    double y[2] = {1, 0.5}, t = 0, h = h0;
    struct adaptive r = {0};
    while (t < 20) {
        assert_int_equal(sw_dop853_apply(s, &t, 20, &h, y), GSL_SUCCESS);
        r.steps++;
    }
    assert_true(t == 20); /* the last step lands exactly on the bound */
    double ref[2];
    exact(20, ref);
    r.err = fmax(fabs(y[0] - ref[0]) / ref[0], fabs(y[1] - ref[1]) / ref[1]);
    r.evals = c.evals;
    sw_dop853_free(s);
    return r;
}

/* Tolerance proportionality: the global error follows rtol (within a
 * modest factor, and falls by more than 100 when rtol falls by 1e4), and
 * the step count grows like rtol^(-1/8) (10^0.5 = 3.2 for 1e4). */
static void steps_and_errors_follow_the_tolerance(void **state)
{
    (void)state;
    struct adaptive loose = adaptive_run(1e-6, 1e-3), tight = adaptive_run(1e-10, 1e-3);
    print_message("rtol 1e-6: error %.3g in %lu steps; 1e-10: %.3g in %lu steps\n", loose.err,
                  loose.steps, tight.err, tight.steps);
    assert_true(loose.err < 100 * 1e-6 && tight.err < 100 * 1e-10);
    assert_true(tight.err < loose.err / 100);
    double growth = (double)tight.steps / (double)loose.steps;
    assert_true(growth > 2 && growth < 5);
}

/* A first step far too long is rejected and shrunk, keeping the first
 * stage (11 evaluations per rejection, 12 per accepted step), and the
 * answer still meets the tolerance. */
static void rejected_steps_shrink_and_recover(void **state)
{
    (void)state;
    struct adaptive r = adaptive_run(1e-8, 10);
    print_message("h0 = 10: %lu steps, %lu evaluations, error %.3g\n", r.steps, r.evals, r.err);
    assert_true(r.err < 1e-6);
    unsigned long rejections = (r.evals - 12 * r.steps) / 11;
    assert_true(rejections >= 1);
    assert_int_equal(r.evals, 12 * r.steps + 11 * rejections);
}

/* A failing vector field stops the step with GSL_EBADFUNC; a NaN one
 * shrinks the step until t cannot resolve it (GSL_FAILURE), leaving the
 * state and time as they were. */
static void failures_are_reported(void **state)
{
    (void)state;
    struct counted c = {.fail_after = 5};
    gsl_odeiv2_system sys = {field, NULL, 2, &c};
    sw_dop853 *s = sw_dop853_alloc(&sys, 1e-8, 1e-10);
    double y[2] = {1, 0.5}, t = 0, h = 0.1;
    assert_int_equal(sw_dop853_apply(s, &t, 1, &h, y), GSL_EBADFUNC);
    sw_dop853_free(s);

    c = (struct counted){.nan_after = 13};
    s = sw_dop853_alloc(&sys, 1e-8, 1e-10);
    y[0] = 1;
    y[1] = 0.5;
    t = 0;
    h = 0.1;
    assert_int_equal(sw_dop853_apply(s, &t, 1, &h, y), GSL_SUCCESS);
    double t1 = t, y1[2] = {y[0], y[1]};
    assert_int_equal(sw_dop853_apply(s, &t, 1, &h, y), GSL_FAILURE);
    assert_true(t == t1 && y[0] == y1[0] && y[1] == y1[1]);
    sw_dop853_free(s);
}

/* Loss and observables at each of `points` log-spaced times. */
static double *observed(sw_model *m, const char *solver, double rtol, double t_end, size_t points)
{
    sw_traj tr = swt_traj(m, NULL, solver, rtol, 1e-12, t_end, points, 0, NULL);
    size_t nc = m->n_obs + 1;
    double *v = malloc(points * nc * sizeof *v);
    for (size_t i = 0; i < points; i++) {
        v[i * nc] = m->sys->loss(m, tr.x + i * m->dim);
        m->sys->observe(m, tr.x + i * m->dim, v + i * nc + 1);
    }
    sw_traj_clear(&tr);
    return v;
}

/* dop853 and rk8pd through plateau, escape and convergence of both z
 * forms (z-full off the reduced manifold, with cross-sample repetition),
 * at rtol 1e-10: every observable on 40 rows agrees to 1e-6 relative
 * (floor 1e-8), far below any difference the tolerance would allow to
 * matter, and each converges: the same comparison at rtol 1e-6 is worse. */
static void agrees_with_rk8pd_on_the_z_systems(void **state)
{
    (void)state;
    static const char *const systems[][6] = {
        {"z-reduced", "d=16", "T=64", NULL},
        {"z-full", "d=8", "T=16", "B=2", "p=0.3", "sigma=0.5"},
    };
    for (size_t k = 0; k < 2; k++) {
        const char *const *a = systems[k];
        sw_model *m = swt_model(a[0], a[1], a[2], a[3], a[4], a[5], NULL);
        size_t n = 40 * (m->n_obs + 1);
        double *ref = observed(m, "rk8pd", 1e-12, 1e5, 40);
        double *tight = observed(m, "dop853", 1e-10, 1e5, 40);
        double *loose = observed(m, "dop853", 1e-6, 1e5, 40);
        double dt = swt_max_rel(ref, tight, n, 1e-8), dl = swt_max_rel(ref, loose, n, 1e-8);
        print_message("%s: dop853 against rk8pd %.3g at rtol 1e-10, %.3g at 1e-6\n", a[0], dt,
                      dl);
        assert_true(dt < 1e-6);
        assert_true(dt < dl);
        free(ref);
        free(tight);
        free(loose);
        sw_model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_is_eight),
        cmocka_unit_test(steps_and_errors_follow_the_tolerance),
        cmocka_unit_test(rejected_steps_shrink_and_recover),
        cmocka_unit_test(failures_are_reported),
        cmocka_unit_test(agrees_with_rk8pd_on_the_z_systems),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
