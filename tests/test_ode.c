/* The integration engine against the closed-form flow of `linear`. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"
#include "jacobian.h"
#include "stagewise/ode.h"

/* dx/dt = A x + b with A = [[a, -w], [w, a]]: a decaying rotation about the
 * fixed point x* = -A^{-1} b, so x(t) = x* + e^{at} R(wt) (x0 - x*). */
static const double a_ = -0.5, w_ = 2.0, b1 = 1.0, b2 = 0.0, x01 = 1.0, x02 = 1.0;

static void exact(double t, double x[2])
{
    double det = a_ * a_ + w_ * w_;
    /* A^{-1} = [[a, w], [-w, a]] / det */
    double s1 = -(a_ * b1 + w_ * b2) / det, s2 = -(-w_ * b1 + a_ * b2) / det;
    double y1 = x01 - s1, y2 = x02 - s2, e = exp(a_ * t), c = cos(w_ * t), s = sin(w_ * t);
    x[0] = s1 + e * (c * y1 - s * y2);
    x[1] = s2 + e * (s * y1 + c * y2);
}

static double run_error(const char *solver, double rtol)
{
    sw_model *m = swt_model("linear", "A=-0.5,-2,2,-0.5", "b=1,0", "x0=1,1", NULL);
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    o.solver = solver;
    o.rtol = rtol;
    o.atol = 0;
    o.t_end = 5;
    o.points = 11;
    o.log_grid = 0;
    sw_err e;
    sw_ode *w = sw_ode_alloc(m, &o, &e);
    assert_non_null(w);
    sw_traj tr = {.dim = 2};
    double x[2];
    m->sys->init(m, x);
    sw_ode_stats st;
    assert_int_equal(sw_ode_run(w, x, sw_traj_record, &tr, &st, &e), SW_OK);
    assert_int_equal(tr.n, 11);
    /* The Newton statistics are the BDF's own and no other stepper's: a
     * step takes at least one iteration, each evaluates the field once past
     * the start, and a matrix is factored at least once. */
    if (strcmp(solver, "bdf") == 0) {
        assert_true(st.setups > 0 && st.setups <= st.newton_iters);
        assert_true(st.newton_iters >= st.steps);
        assert_int_equal(st.rhs_evals, st.newton_iters + 1);
    } else {
        assert_true(st.setups == 0 && st.newton_iters == 0 && st.err_fails == 0 &&
                    st.conv_fails == 0);
    }
    /* Errors relative to the trajectory's scale: pointwise relative error
     * is meaningless where a component passes through zero. */
    double worst = 0, scale = 0;
    for (size_t i = 0; i < tr.n; i++) {
        double ref[2];
        exact(tr.t[i], ref);
        worst = fmax(worst, fmax(fabs(tr.x[2 * i] - ref[0]), fabs(tr.x[2 * i + 1] - ref[1])));
        scale = fmax(scale, fmax(fabs(ref[0]), fabs(ref[1])));
    }
    worst /= scale;
    assert_true(fabs(tr.t[tr.n - 1] - 5.0) == 0);
    sw_traj_clear(&tr);
    sw_ode_free(w);
    sw_model_free(m);
    return worst;
}

/* Every stepper tracks the closed form; the global error stays within a
 * stepper-dependent multiple of rtol (a first-order method's error scales
 * like sqrt(rtol): its local error is h^2) and falls when rtol falls.
 * "Every": these are the solvers the library lists, no more, no fewer. */
static void every_stepper_matches_closed_form(void **state)
{
    (void)state;
    static const char *steppers[] = {"rk2",   "rk4",     "rkf45", "rkck", "rk8pd",
                                     "rk1imp", "rk2imp", "rk4imp", "bsimp", "msadams",
                                     "msbdf",  "bdf",    "dop853"};
    char listed[256] = "";
    for (size_t i = 0; i < sizeof steppers / sizeof *steppers; i++) {
        snprintf(listed + strlen(listed), sizeof listed - strlen(listed), "%s%s", i ? ", " : "",
                 steppers[i]);
        assert_true(sw_ode_solver_known(steppers[i]));
    }
    assert_string_equal(sw_ode_solver_names(), listed);
    for (size_t i = 0; i < sizeof steppers / sizeof *steppers; i++) {
        double loose = run_error(steppers[i], 1e-4), tight = run_error(steppers[i], 1e-7);
        int first_order = strcmp(steppers[i], "rk1imp") == 0;
        double bound = first_order ? 10 * sqrt(1e-7) : 100 * 1e-7;
        /* bsimp's extrapolation is exact to rounding on a linear field. */
        int falls = tight < loose / 10 || tight < 1e-13;
        if (!(tight < bound) || !falls)
            fail_msg("%s: error %.3g at rtol 1e-7 (bound %.3g), %.3g at 1e-4", steppers[i],
                     tight, bound, loose);
    }
}

static double crossing(const char *A, const char *x0, const char *until)
{
    sw_model *m = swt_model("linear", "n=1", A, "b=0", x0, NULL);
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    o.rtol = 1e-12;
    o.atol = 0;
    o.t_end = 10;
    sw_err e;
    assert_int_equal(sw_event_parse(m, until, &o.until, &e), SW_OK);
    sw_ode *w = sw_ode_alloc(m, &o, &e);
    double x[1];
    m->sys->init(m, x);
    sw_ode_stats st;
    sw_traj tr = {.dim = 1};
    assert_int_equal(sw_ode_run(w, x, sw_traj_record, &tr, &st, &e), SW_OK);
    assert_true(st.event_hit);
    /* The run stops at the event and its last row is the event. */
    assert_true(tr.t[tr.n - 1] == st.event_t);
    sw_traj_clear(&tr);
    sw_ode_free(w);
    sw_model_free(m);
    return st.event_t;
}

/* x' = -x from 1 reaches 1/2 at ln 2; x' = x/2 from 1 has loss x^2/2 >= 2 at
 * x = 2, t = 2 ln 2.  The crossing is located inside the step, not at the
 * next grid point (the grid is far coarser than 1e-8). */
static void until_crossing_is_exact(void **state)
{
    (void)state;
    double t1 = crossing("A=-1", "x0=1", "x_1<=0.5");
    assert_true(fabs(t1 - log(2.0)) / log(2.0) < 1e-8);
    double t2 = crossing("A=0.5", "x0=1", "loss>=2");
    assert_true(fabs(t2 - 2 * log(2.0)) / (2 * log(2.0)) < 1e-8);
}

static void log_grid_spans_requested_times(void **state)
{
    (void)state;
    sw_model *m = swt_model("linear", NULL);
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    o.t_end = 100;
    o.points = 8;
    sw_err e;
    sw_ode *w = sw_ode_alloc(m, &o, &e);
    sw_traj tr = {.dim = 2};
    double x[2];
    m->sys->init(m, x);
    sw_ode_stats st;
    assert_int_equal(sw_ode_run(w, x, sw_traj_record, &tr, &st, &e), SW_OK);
    assert_int_equal(tr.n, 8);
    assert_true(tr.t[0] == 0);
    /* t-first defaults to t-end * 1e-6; then equal ratios up to t-end. */
    assert_true(fabs(tr.t[1] - 1e-4) < 1e-16);
    for (size_t i = 2; i < tr.n; i++)
        assert_true(fabs(tr.t[i] / tr.t[i - 1] - 10.0) < 1e-9);
    assert_true(st.steps > 0 && st.rhs_evals > st.steps);
    sw_traj_clear(&tr);
    sw_ode_free(w);
    sw_model_free(m);
}

/* Central differences reproduce the analytic Jacobian of a nonlinear-free
 * system exactly up to rounding. */
static void fd_jacobian_matches_linear(void **state)
{
    (void)state;
    sw_model *m = swt_model("linear", "n=3", "A=1,2,3,-4,5,-6,0.5,0.25,-7", "b=1,2,3",
                            "x0=0.3,-20,7", NULL);
    double x[3] = {0.3, -20, 7}, J[9], work[6];
    assert_int_equal(sw_jacobian_fd(m, x, J, work), SW_OK);
    assert_true(swt_max_rel(J, m->pv[1].v, 9, 1.0) < 1e-8);
    sw_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_stepper_matches_closed_form),
        cmocka_unit_test(until_crossing_is_exact),
        cmocka_unit_test(log_grid_spans_requested_times),
        cmocka_unit_test(fd_jacobian_matches_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
