/* Points of a flow and fixed points: refinement to the exact fixed point of
 * `linear`, and the verdict "at infinity" with the right coordinates on the
 * attention flows, whose saddles sit at infinite logits. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "helpers.h"
#include "stagewise/eigen.h"
#include "stagewise/saddle.h"

/* A 3x3 with eigenvalues of both signs (a saddle), b != 0, started far
 * from the fixed point: hybridsj lands on -A^-1 b. */
static void refines_linear_saddle(void **state)
{
    (void)state;
    sw_model *m = swt_model("linear", "n=3", "A=0.5,1,0,0,-1,2,1,0,-3", "b=1,-2,0.5",
                            "x0=40,-30,25", NULL);
    /* x* solves A x = -b; Cramer's rule by hand. */
    const double A[9] = {0.5, 1, 0, 0, -1, 2, 1, 0, -3}, b[3] = {1, -2, 0.5};
    double det = A[0] * (A[4] * A[8] - A[5] * A[7]) - A[1] * (A[3] * A[8] - A[5] * A[6]) +
                 A[2] * (A[3] * A[7] - A[4] * A[6]);
    double want[3];
    for (int c = 0; c < 3; c++) {
        double M[9];
        memcpy(M, A, sizeof M);
        for (int r = 0; r < 3; r++)
            M[r * 3 + c] = -b[r];
        want[c] = (M[0] * (M[4] * M[8] - M[5] * M[7]) - M[1] * (M[3] * M[8] - M[5] * M[6]) +
                   M[2] * (M[3] * M[7] - M[4] * M[6])) /
                  det;
    }
    double x0[3] = {40, -30, 25};
    sw_saddle_opts o;
    sw_saddle_opts_default(&o);
    sw_saddle r;
    sw_err e;
    assert_int_equal(sw_saddle_refine(m, x0, &o, &r, &e), SW_OK);
    assert_true(r.finite);
    assert_false(r.runaway);
    assert_int_equal(r.conserved, 0);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(r.x[i] - want[i]) < 1e-10 * fmax(1, fabs(want[i])));
    assert_true(r.residual <= 1e-10);
    sw_saddle_clear(&r);
    sw_model_free(m);
}

/* A flow without a fixed point (x1' = 1) is not mistaken for one, nor for a
 * fixed point at infinity (the residual never falls). */
static void no_fixed_point_is_not_invented(void **state)
{
    (void)state;
    sw_model *m = swt_model("linear", "A=0,0,0,-1", "b=1,0", NULL);
    double x0[2] = {0, 1};
    sw_saddle_opts o;
    sw_saddle_opts_default(&o);
    sw_saddle r;
    sw_err e;
    assert_int_equal(sw_saddle_refine(m, x0, &o, &r, &e), SW_OK);
    assert_false(r.finite);
    assert_false(r.runaway);
    assert_true(r.reason[0] != '\0');
    sw_saddle_clear(&r);
    sw_model_free(m);
}

static void point_forms(void **state)
{
    (void)state;
    sw_point p;
    sw_err e;
    assert_int_equal(sw_point_parse("start", &p, &e), SW_OK);
    assert_int_equal(p.kind, SW_POINT_START);
    assert_int_equal(sw_point_parse("slowest", &p, &e), SW_OK);
    assert_int_equal(p.kind, SW_POINT_SLOWEST);
    assert_int_equal(sw_point_parse("t=2.5", &p, &e), SW_OK);
    assert_true(p.kind == SW_POINT_TIME && p.t == 2.5);
    assert_int_equal(sw_point_parse("plateau:3", &p, &e), SW_OK);
    assert_true(p.kind == SW_POINT_PLATEAU && p.plateau == 3);
    static const char *bad[] = {"t=", "t=-1", "t=inf", "plateau:0", "plateau:1.5", "platau:1",
                                "/no/such/state"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (sw_point_parse(bad[i], &p, &e) != SW_EINPUT)
            fail_msg("point '%s' accepted", bad[i]);

    /* t=X: the closed-form flow of linear, x = x0 e^{At}. */
    sw_model *m = swt_model("linear", "A=-1,0,0,0.5", "b=0,0", "x0=1,0.001", NULL);
    double x[2] = {1, 0.001};
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    o.rtol = 1e-11;
    o.atol = 0;
    sw_point_info info;
    assert_int_equal(sw_point_parse("t=3", &p, &e), SW_OK);
    assert_int_equal(sw_point_locate(m, &o, &p, x, &info, &e), SW_OK);
    assert_true(fabs(x[0] - exp(-3.0)) < 1e-10 * exp(-3.0));
    assert_true(fabs(x[1] - 0.001 * exp(1.5)) < 1e-10 * 0.001 * exp(1.5));
    assert_true(info.t == 3);
    assert_true(fabs(info.loss - 0.5 * (x[0] * x[0] + x[1] * x[1])) < 1e-15);
    sw_model_free(m);
}

/* The system `name` at its defaults, moved from its start to the slowest
 * point of its second plateau: the model, its state there in *x (malloc'd)
 * and where that is in *info.  Skips the test in a build without it. */
static sw_model *at_plateau_2(const char *name, double **x, sw_point_info *info)
{
    if (!sw_system_find(name))
        skip();
    sw_model *m = swt_model(name, NULL);
    *x = malloc(m->dim * sizeof **x);
    m->sys->init(m, *x);
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    sw_point p = {.kind = SW_POINT_PLATEAU, .plateau = 2};
    sw_err e;
    assert_int_equal(sw_point_locate(m, &o, &p, *x, info, &e), SW_OK);
    return m;
}

/* plateau:N is the slowest point of that plateau: on y-coupled the second
 * plateau is the competitive one at L_1 = 1/2 sum_{k>=2} lambda_k^2. */
static void plateau_point(void **state)
{
    (void)state;
    double *x;
    sw_point_info info;
    sw_model *m = at_plateau_2("y-coupled", &x, &info);
    double *f = malloc(m->dim * sizeof *f);
    assert_true(info.n_plateaus >= 2);
    double L1 = m->levels[1];
    print_message("plateau 2: t = %g in [%g, %g], loss %.8g (L_1 = %g), |f| = %.3g\n", info.t,
                  info.t_begin, info.t_end, info.loss, L1, info.speed);
    assert_true(fabs(info.loss - L1) < 1e-2 * L1);
    assert_true(info.t >= info.t_begin && info.t <= info.t_end);
    assert_true(fabs(sw_speed(m, x, f) - info.speed) == 0);
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    sw_point p = {.kind = SW_POINT_PLATEAU, .plateau = 9};
    sw_err e;
    m->sys->init(m, x);
    assert_int_equal(sw_point_locate(m, &o, &p, x, &info, &e), SW_EINPUT);
    free(x), free(f);
    sw_model_free(m);
}

/* The competitive end point of y-coupled: attention on pattern 1 (lag 1,
 * position T), reached only as its logit runs off to +inf relative to the
 * others.  The logit sum, which the flow conserves, is held. */
static void y_coupled_saddle_is_at_infinity(void **state)
{
    (void)state;
    double *x;
    sw_point_info info;
    sw_model *m = at_plateau_2("y-coupled", &x, &info);
    sw_err e;
    double sum0 = 0;
    for (size_t i = 0; i < m->dim; i++)
        if (m->state_names[i][0] == 'a')
            sum0 += x[i];
    sw_saddle_opts so;
    sw_saddle_opts_default(&so);
    sw_saddle r;
    assert_int_equal(sw_saddle_refine(m, x, &so, &r, &e), SW_OK);
    assert_false(r.finite);
    assert_true(r.runaway);
    assert_int_equal(r.conserved, 1);
    assert_true(r.n_off >= 1);
    char want[32];
    snprintf(want, sizeof want, "a_t%d", (int)sw_model_get(m, "T"));
    assert_string_equal(m->state_names[r.off[0]], want);
    assert_int_equal(r.off_sign[0], 1);
    assert_true(r.residual < 0.1 * info.speed); /* progress, while running off */
    double sum = 0;
    for (size_t i = 0; i < m->dim; i++)
        if (m->state_names[i][0] == 'a')
            sum += r.x[i];
    /* Held by the pinning term, up to the trust region's partial steps,
     * while the run-off logit moves by order 1. */
    print_message("logit sum %.12g -> %.12g; %s moved by %.3g\n", sum0, sum, want,
                  r.x[r.off[0]] - x[r.off[0]]);
    assert_true(r.x[r.off[0]] - x[r.off[0]] > 0.5);
    assert_true(fabs(sum - sum0) < 1e-5);
    sw_saddle_clear(&r);
    free(x);
    sw_model_free(m);
}

/* The simplex form of the same flow has its saddles on the simplex's edge,
 * a finite distance away: whatever hybridsj makes of them, it must not be
 * called a fixed point at infinity. */
static void simplex_saddle_is_not_at_infinity(void **state)
{
    (void)state;
    double *x;
    sw_point_info info;
    sw_model *m = at_plateau_2("y-simplex", &x, &info);
    sw_err e;
    sw_saddle_opts so;
    sw_saddle_opts_default(&so);
    sw_saddle r;
    assert_int_equal(sw_saddle_refine(m, x, &so, &r, &e), SW_OK);
    print_message("y-simplex: finite %d, runaway %d, %s\n", r.finite, r.runaway, r.reason);
    assert_false(r.runaway);
    sw_saddle_clear(&r);
    free(x);
    sw_model_free(m);
}

static void saddle_command(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), st[512], js[512], *out, *err;
    snprintf(st, sizeof st, "%s/fp.txt", dir);
    snprintf(js, sizeof js, "%s/fp.json", dir);
    int rc = swt_run(&out, &err, "saddle linear 'A=-1,2,0,0.5' b=1,1 --out %s --json %s", st, js);
    if (rc)
        fail_msg("%s", err);
    assert_non_null(strstr(out, "fixed point after"));
    assert_non_null(strstr(out, "Morse index 1"));
    free(out), free(err);
    /* The state file reads back as a point, where the field vanishes; the
     * JSON holds the fixed point -A^-1 b = (-3, -2). */
    double x[2];
    rc = swt_run(&out, &err, "jacobian linear 'A=-1,2,0,0.5' b=1,1 --at %s", st);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "|f| = 0\n"));
    free(out), free(err);
    json_object *o = json_object_from_file(js);
    assert_non_null(o);
    assert_string_equal(json_object_get_string(json_object_object_get(o, "outcome")),
                        "fixed point");
    json_object *s = json_object_object_get(json_object_object_get(o, "point"), "state");
    x[0] = json_object_get_double(json_object_object_get(s, "x_1"));
    x[1] = json_object_get_double(json_object_object_get(s, "x_2"));
    assert_true(fabs(x[0] + 3) < 1e-12 && fabs(x[1] + 2) < 1e-12);
    assert_int_equal(json_object_get_int(json_object_object_get(
                         json_object_object_get(o, "spectrum"), "morse_index")),
                     1);
    json_object_put(o);

    if (sw_system_find("y-coupled")) {
        rc = swt_run(&out, &err, "saddle y-coupled --from plateau:2 --json %s", js);
        if (rc)
            fail_msg("%s", err);
        assert_non_null(strstr(out, "no finite fixed point"));
        assert_non_null(strstr(out, "a_t16 (+inf)"));
        free(out), free(err);
        o = json_object_from_file(js);
        assert_string_equal(json_object_get_string(json_object_object_get(o, "outcome")),
                            "at infinity");
        json_object_put(o);
    }
    static const char *bad[] = {"saddle linear --from nowhere", "saddle linear --max-iter 0",
                                "saddle linear --tol -1", "saddle"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc = swt_run(NULL, &err, "%s", bad[i]);
        if (rc != 2)
            fail_msg("'%s' exited %d", bad[i], rc);
        assert_true(strchr(err, '\n')[1] == '\0');
        free(err);
    }
    /* No fixed point at all: a verdict-less stall is exit 3, one line. */
    rc = swt_run(&out, &err, "saddle linear A=0,0,0,-1 b=1,0 --t-end 10");
    assert_int_equal(rc, 3);
    assert_true(strncmp(err, "stagewise: saddle:", 18) == 0);
    free(out), free(err);
    unlink(st);
    unlink(js);
    rmdir(dir);
    free(dir);
}

/* Analyses that hold dense dim x dim matrices refuse, before allocating,
 * what the model's memory budget cannot hold, and let through what it can;
 * the refusal names the count. A point past a refused work budget is
 * refused too (it once fell through to running a NULL solver). */
static void budgets_hold_the_analyses(void **state)
{
    (void)state;
    sw_model *m = swt_model("linear", "n=3", "A=0.5,1,0,0,-1,2,1,0,-3", "b=1,-2,0.5",
                            "x0=1,2,3", NULL);
    double x0[3] = {1, 2, 3}, x[3];
    sw_saddle_opts o;
    sw_saddle_opts_default(&o);
    sw_saddle r;
    sw_spectrum sp;
    sw_err e;
    /* Six 3 x 3 matrices of doubles: 432 bytes. */
    m->budget.max_memory = 431;
    assert_int_equal(sw_saddle_refine(m, x0, &o, &r, &e), SW_EINPUT);
    assert_non_null(strstr(e.msg, "saddle refinement on linear (3 coordinates, 6 dense 3 x 3"));
    assert_null(r.x);
    assert_int_equal(sw_spectrum_eval(m, x0, 0, 1e-8, &sp, &e), SW_EINPUT);
    assert_non_null(strstr(e.msg, "a Jacobian spectrum on linear"));
    assert_null(sp.J);
    m->budget.max_memory = 432;
    assert_int_equal(sw_saddle_refine(m, x0, &o, &r, &e), SW_OK);
    assert_true(r.finite);
    sw_saddle_clear(&r);
    assert_int_equal(sw_spectrum_eval(m, x0, 0, 1e-8, &sp, &e), SW_OK);
    assert_int_equal(sp.n, 3);
    sw_spectrum_clear(&sp);

    sw_ode_opts oo;
    sw_ode_opts_default(&oo);
    oo.max_work = 10;
    sw_point p = {.kind = SW_POINT_TIME, .t = 100};
    sw_point_info info;
    memcpy(x, x0, sizeof x);
    assert_int_equal(sw_point_locate(m, &oo, &p, x, &info, &e), SW_EINPUT);
    assert_non_null(strstr(e.msg, "--max-work"));
    sw_model_free(m);

    /* The command line's --max-memory is the model's budget. */
    char *err;
    static const char *cmds[] = {"saddle", "jacobian", "escape --until 'loss<=5'"};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        int rc = swt_run(NULL, &err, "%s y-reduced --max-memory 100K", cmds[i]);
        if (rc != 2 || !strstr(err, "(57 coordinates, 6 dense 57 x 57 matrices) needs about "
                                    "152 KiB of memory, over the limit of 100 KiB"))
            fail_msg("'%s' exited %d: %s", cmds[i], rc, err);
        free(err);
    }
    assert_int_equal(swt_run(NULL, &err, "jacobian y-reduced --hessian --max-memory 200K"), 2);
    assert_non_null(strstr(err, "10 dense 57 x 57 matrices"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refines_linear_saddle),
        cmocka_unit_test(no_fixed_point_is_not_invented),
        cmocka_unit_test(point_forms),
        cmocka_unit_test(plateau_point),
        cmocka_unit_test(y_coupled_saddle_is_at_infinity),
        cmocka_unit_test(simplex_saddle_is_not_at_infinity),
        cmocka_unit_test(saddle_command),
        cmocka_unit_test(budgets_hold_the_analyses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
