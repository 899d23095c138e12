/* Stage detection on curves whose plateaus and transitions are known by
 * construction, and the parameter parser's edge cases. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "helpers.h"
#include "stagewise/ode.h"
#include "stagewise/stages.h"

/* L(t) = sum_j (L_j - L_{j+1}) (1 - sigmoid((ln t - ln t_j) / w)) + L_last:
 * plateaus at L_0.. with steps centred (loss halfway) at t_j. */
static void synth(const double *lv, const double *tj, size_t nstep, double w, double *t,
                  double *L, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        t[i] = pow(10.0, -2.0 + 9.0 * (double)i / (double)(n - 1));
        double s = lv[nstep];
        for (size_t j = 0; j < nstep; j++)
            s += (lv[j] - lv[j + 1]) / (1 + exp((log(t[i]) - log(tj[j])) / w));
        L[i] = s;
    }
}

/* Builds the curve of nstep steps (levels lv, centres tj, width w) on
 * 400 points and checks that detection with o finds every plateau within
 * 2% of its level and every transition within t_tol of its centre. */
static void finds_what_was_built(const double *lv, const double *tj, size_t nstep, double w,
                                 const sw_stages_opts *o, double t_tol)
{
    enum { N = 400 };
    double t[N], L[N];
    synth(lv, tj, nstep, w, t, L, N);
    sw_stages st;
    sw_err e;
    assert_int_equal(sw_stages_detect(t, L, N, o, &st, &e), SW_OK);
    assert_int_equal(st.n_plateaus, nstep + 1);
    assert_int_equal(st.n_transitions, nstep);
    for (size_t k = 0; k <= nstep; k++)
        if (fabs(st.plateaus[k].level / lv[k] - 1) > 0.02)
            fail_msg("plateau %zu at %g, built at %g", k, st.plateaus[k].level, lv[k]);
    for (size_t k = 0; k < nstep; k++)
        if (fabs(st.t_transition[k] / tj[k] - 1) > t_tol)
            fail_msg("transition %zu at %g, built at %g", k, st.t_transition[k], tj[k]);
    sw_stages_clear(&st);
}

static void finds_known_plateaus_and_transitions(void **state)
{
    (void)state;
    const double lv[] = {0.75, 0.25, 0.0625, 0.01}, tj[] = {10, 1e3, 1e5};
    sw_stages_opts o;
    sw_stages_opts_default(&o);
    /* The midpoint of a sigmoid step is its centre; neighbouring steps
     * shift it by far less than 2%. */
    finds_what_was_built(lv, tj, 3, 0.3, &o, 0.02);
}

/* A curve that falls to zero after its last plateau still has that final
 * transition; a curve with t = 0 first is fine (log axis ignores it). */
static void final_drop_to_zero_counts(void **state)
{
    (void)state;
    enum { N = 300 };
    double t[N + 1], L[N + 1];
    const double lv[] = {0.5, 0.125, 0.0}, tj[] = {1, 1e4};
    synth(lv, tj, 2, 0.2, t + 1, L + 1, N);
    t[0] = 0;
    L[0] = 0.5;
    sw_stages_opts o;
    sw_stages_opts_default(&o);
    sw_stages st;
    sw_err e;
    assert_int_equal(sw_stages_detect(t, L, N + 1, &o, &st, &e), SW_OK);
    assert_int_equal(st.n_plateaus, 2);
    assert_int_equal(st.n_transitions, 2);
    assert_true(fabs(st.t_transition[1] / 1e4 - 1) < 0.02);
    sw_stages_clear(&st);
}

/* Two falls less than a decade apart (t = 10 and 80) leave between them a
 * shoulder at 0.3 whose slope, 0.17, is above max_slope but a seventh of
 * the falls' (1.17 and 1.68): the shoulder test finds it, and without that
 * test it is lost.  At 10 and 60 the slope between (0.29, a quarter of the
 * falls') no longer makes a stage, and none is reported. */
static void shoulder_between_close_falls(void **state)
{
    (void)state;
    enum { N = 400 };
    double t[N], L[N];
    const double lv[] = {1, 0.3, 0.05}, close[] = {10, 80}, closer[] = {10, 60};
    sw_stages_opts o;
    sw_stages_opts_default(&o);
    finds_what_was_built(lv, close, 2, 0.25, &o, 0.05);

    sw_stages st;
    sw_err e;
    synth(lv, close, 2, 0.25, t, L, N);
    o.shoulder = 0;
    assert_int_equal(sw_stages_detect(t, L, N, &o, &st, &e), SW_OK);
    assert_int_equal(st.n_plateaus, 2);
    sw_stages_clear(&st);

    sw_stages_opts_default(&o);
    synth(lv, closer, 2, 0.25, t, L, N);
    assert_int_equal(sw_stages_detect(t, L, N, &o, &st, &e), SW_OK);
    assert_int_equal(st.n_plateaus, 2);
    sw_stages_clear(&st);
}

/* The default y-reduced run (H = K = 3, gamma = 2, sigma = 0.01) passes
 * the plateaus L_0, L_1, L_2 and then falls to zero: three transitions,
 * each plateau within 5% of its theoretical level. */
static void default_y_reduced_has_three_stages(void **state)
{
    (void)state;
    sw_model *m = swt_model("y-reduced", NULL);
    assert_int_equal(m->n_levels, 4);
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    o.t_end = 1e4;
    o.points = 400;
    sw_err e;
    sw_ode *w = sw_ode_alloc(m, &o, &e);
    double *x = malloc(m->dim * sizeof *x);
    m->sys->init(m, x);
    sw_traj tr = {.dim = m->dim};
    sw_ode_stats st;
    assert_int_equal(sw_ode_run(w, x, sw_traj_record, &tr, &st, &e), SW_OK);
    double *L = malloc(tr.n * sizeof *L);
    for (size_t i = 0; i < tr.n; i++)
        L[i] = m->sys->loss(m, tr.x + i * m->dim);
    sw_stages_opts so;
    sw_stages_opts_default(&so);
    sw_stages sg;
    assert_int_equal(sw_stages_detect(tr.t, L, tr.n, &so, &sg, &e), SW_OK);
    assert_int_equal(sg.n_transitions, 3);
    assert_int_equal(sg.n_plateaus, 3);
    for (size_t k = 0; k < 3; k++)
        if (fabs(sg.plateaus[k].level / m->levels[k] - 1) > 0.05)
            fail_msg("plateau %zu at %g, L_%zu = %g", k, sg.plateaus[k].level, k, m->levels[k]);
    /* Stages come in order, each after the last. */
    assert_true(sg.t_transition[0] < sg.t_transition[1] && sg.t_transition[1] < sg.t_transition[2]);
    sw_stages_clear(&sg);
    free(L);
    free(x);
    sw_traj_clear(&tr);
    sw_ode_free(w);
    sw_model_free(m);
}

static void too_few_points_is_input_error(void **state)
{
    (void)state;
    double t[] = {0, 1}, L[] = {1, 0.5};
    sw_stages_opts o;
    sw_stages_opts_default(&o);
    sw_stages st;
    sw_err e;
    assert_int_equal(sw_stages_detect(t, L, 2, &o, &st, &e), SW_EINPUT);
}

static void parser_edge_cases(void **state)
{
    (void)state;
    sw_param_def list = {"l", SW_PARAM_LIST, "", -10, 10, ""};
    sw_param_def integer = {"k", SW_PARAM_INT, "1", 1, 5, ""};
    sw_value v;
    sw_err e;
    assert_int_equal(sw_param_parse(&list, "1,-2.5,3e0", &v, &e), SW_OK);
    assert_int_equal(v.n, 3);
    assert_true(v.v[0] == 1 && v.v[1] == -2.5 && v.v[2] == 3);
    char buf[128];
    sw_value_format(&v, buf, sizeof buf);
    free(v.v);
    assert_int_equal(sw_param_parse(&list, buf, &v, &e), SW_OK); /* round trip */
    assert_true(v.n == 3 && v.v[1] == -2.5);
    free(v.v);
    assert_int_equal(sw_param_parse(&list, "", &v, &e), SW_OK);
    assert_int_equal(v.n, 0);
    free(v.v);
    assert_int_equal(sw_param_parse(&list, "1,,2", &v, &e), SW_EINPUT);
    assert_int_equal(sw_param_parse(&list, "1,11", &v, &e), SW_EINPUT);
    assert_int_equal(sw_param_parse(&list, "inf", &v, &e), SW_EINPUT);
    assert_int_equal(sw_param_parse(&integer, "3", &v, &e), SW_OK);
    free(v.v);
    assert_int_equal(sw_param_parse(&integer, "3.5", &v, &e), SW_EINPUT);
    assert_int_equal(sw_param_parse(&integer, "6", &v, &e), SW_EINPUT);
    assert_int_equal(sw_param_parse(&integer, "3x", &v, &e), SW_EINPUT);
    assert_int_equal(sw_param_parse(&integer, "", &v, &e), SW_EINPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_known_plateaus_and_transitions),
        cmocka_unit_test(final_drop_to_zero_counts),
        cmocka_unit_test(shoulder_between_close_falls),
        cmocka_unit_test(default_y_reduced_has_three_stages),
        cmocka_unit_test(too_few_points_is_input_error),
        cmocka_unit_test(parser_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
