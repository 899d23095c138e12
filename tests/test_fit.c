/* Least-squares fits: estimates against closed forms, and the 95% intervals
 * against their stated coverage on synthetic data with known parameters,
 * for the linear, log-log and nonlinear paths; then `stagewise fit` end to
 * end. */
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
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <json-c/json.h>

#include "helpers.h"
#include "stagewise/fit.h"

#define SETS 200 /* synthetic data sets per coverage test */

/* Coverage over SETS data sets with a 95% interval: binomial standard
 * deviation 0.015, so [0.90, 0.99] is about three of them either side. */
static void assert_coverage(size_t hits, const char *what)
{
    double c = (double)hits / SETS;
    print_message("coverage of %s: %.3f\n", what, c);
    if (!(c >= 0.90 && c <= 0.99))
        fail_msg("coverage of %s is %.3f, outside [0.90, 0.99]", what, c);
}

static int inside(const sw_fit_result *r, size_t j, double truth)
{
    return r->lo[j] <= truth && truth <= r->hi[j];
}

/* Straight line: every output against the textbook formulas. */
static void linear_matches_closed_form(void **state)
{
    (void)state;
    enum { N = 15 };
    double X[2 * N], y[N], x[N];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    double sx = 0, sy = 0;
    for (size_t i = 0; i < N; i++) {
        x[i] = 0.5 * (double)i;
        y[i] = 2 + 0.7 * x[i] + gsl_ran_gaussian(rng, 0.3);
        X[2 * i] = 1;
        X[2 * i + 1] = x[i];
        sx += x[i];
        sy += y[i];
    }
    gsl_rng_free(rng);
    double xb = sx / N, yb = sy / N, sxx = 0, sxy = 0, tss = 0;
    for (size_t i = 0; i < N; i++) {
        sxx += (x[i] - xb) * (x[i] - xb);
        sxy += (x[i] - xb) * (y[i] - yb);
        tss += (y[i] - yb) * (y[i] - yb);
    }
    double b = sxy / sxx, a = yb - b * xb, rss = 0;
    for (size_t i = 0; i < N; i++)
        rss += (y[i] - a - b * x[i]) * (y[i] - a - b * x[i]);
    double s2 = rss / (N - 2);
    /* t quantile 0.975 with 13 degrees of freedom (tables: 2.160369). */
    double tq = 2.1603686564610127;
    double se_b = sqrt(s2 / sxx), se_a = sqrt(s2 * (1.0 / N + xb * xb / sxx));

    sw_fit_problem pb = {.n = N, .k = 2, .y = y, .X = X};
    sw_fit_result r;
    sw_err e;
    assert_int_equal(sw_fit_solve(&pb, &r, &e), SW_OK);
    assert_true(fabs(r.p[0] - a) < 1e-12 * fabs(a));
    assert_true(fabs(r.p[1] - b) < 1e-12 * fabs(b));
    assert_true(fabs(r.cov[3] - se_b * se_b) < 1e-10 * se_b * se_b);
    assert_true(fabs(r.cov[0] - se_a * se_a) < 1e-10 * se_a * se_a);
    assert_true(fabs(r.hi[1] - (b + tq * se_b)) < 1e-9 * se_b);
    assert_true(fabs(r.lo[0] - (a - tq * se_a)) < 1e-9 * se_a);
    assert_true(fabs(r.rss - rss) < 1e-10 * rss);
    assert_true(fabs(r.r2 - (1 - rss / tss)) < 1e-12);
    assert_true(fabs(r.aic - (N * log(rss / N) + 4)) < 1e-10);
    for (size_t i = 0; i < N; i++)
        assert_true(fabs(r.resid[i] - (y[i] - a - b * x[i])) < 1e-12);
    sw_fit_result_clear(&r);
}

/* Few points (n = 8, 6 degrees of freedom): a normal quantile in place of
 * Student's would cover only about 0.90. */
static void linear_interval_coverage(void **state)
{
    (void)state;
    enum { N = 8 };
    double X[2 * N], y[N];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 2024);
    size_t hit_a = 0, hit_b = 0;
    for (int set = 0; set < SETS; set++) {
        for (size_t i = 0; i < N; i++) {
            double x = (double)i;
            X[2 * i] = 1;
            X[2 * i + 1] = x;
            y[i] = 2 + 0.7 * x + gsl_ran_gaussian(rng, 0.3);
        }
        sw_fit_problem pb = {.n = N, .k = 2, .y = y, .X = X};
        sw_fit_result r;
        sw_err e;
        assert_int_equal(sw_fit_solve(&pb, &r, &e), SW_OK);
        hit_a += inside(&r, 0, 2);
        hit_b += inside(&r, 1, 0.7);
        sw_fit_result_clear(&r);
    }
    gsl_rng_free(rng);
    assert_coverage(hit_a, "intercept (linear)");
    assert_coverage(hit_b, "slope (linear)");
}

static void line_model(const double *p, const double *x, double *f, double *dfdp, void *user)
{
    (void)user;
    *f = p[0] + p[1] * x[0];
    if (dfdp) {
        dfdp[0] = 1;
        dfdp[1] = x[0];
    }
}

/* The nonlinear path on a model that happens to be linear must give the
 * linear path's estimates and covariance: this pins its covariance
 * scaling (RSS/(n-k) times (J^T J)^-1). */
static void nonlinear_agrees_with_linear(void **state)
{
    (void)state;
    enum { N = 20 };
    double X[2 * N], xs[N], y[N];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    for (size_t i = 0; i < N; i++) {
        xs[i] = 0.3 * (double)i;
        X[2 * i] = 1;
        X[2 * i + 1] = xs[i];
        y[i] = -1 + 2.5 * xs[i] + gsl_ran_gaussian(rng, 0.5);
    }
    gsl_rng_free(rng);
    double p0[2] = {0, 0};
    sw_fit_problem lin = {.n = N, .k = 2, .y = y, .X = X};
    sw_fit_problem nl = {.n = N, .k = 2, .y = y, .X = xs, .dx = 1, .model = line_model,
                         .p0 = p0};
    sw_fit_result a, b;
    sw_err e;
    assert_int_equal(sw_fit_solve(&lin, &a, &e), SW_OK);
    assert_int_equal(sw_fit_solve(&nl, &b, &e), SW_OK);
    assert_true(swt_max_rel(a.p, b.p, 2, 1e-12) < 1e-9);
    assert_true(swt_max_rel(a.cov, b.cov, 4, 1e-12) < 1e-7);
    assert_true(swt_max_rel(a.lo, b.lo, 2, 1e-12) < 1e-7);
    assert_true(fabs(a.aic - b.aic) < 1e-8);
    sw_fit_result_clear(&a);
    sw_fit_result_clear(&b);
}

/* y = C x^a + t0 with additive noise: nonlinear least squares. */
static void nonlinear_interval_coverage(void **state)
{
    (void)state;
    enum { N = 25 };
    const double C = 3, a = -0.7, t0 = 1.5;
    double x[N], y[N];
    sw_law law;
    sw_err e;
    assert_int_equal(sw_law_parse("C * x^a + t0", &law, &e), SW_OK);
    assert_false(sw_law_log_space(&law));
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 77);
    size_t hit[3] = {0};
    for (int set = 0; set < SETS; set++) {
        for (size_t i = 0; i < N; i++) {
            x[i] = pow(100.0, (double)i / (N - 1));
            y[i] = C * pow(x[i], a) + t0 + gsl_ran_gaussian(rng, 0.02);
        }
        sw_fit_result r;
        if (sw_law_fit(&law, x, y, N, &r, &e))
            fail_msg("set %d: %s", set, e.msg);
        hit[0] += inside(&r, 0, C);
        hit[1] += inside(&r, 1, a);
        hit[2] += inside(&r, 2, t0);
        sw_fit_result_clear(&r);
    }
    gsl_rng_free(rng);
    assert_coverage(hit[0], "C (nonlinear)");
    assert_coverage(hit[1], "a (nonlinear)");
    assert_coverage(hit[2], "t0 (nonlinear)");
}

/* T = C d^a (T/B)^b with log-normal noise: the log-log path, two columns. */
static void loglog_interval_coverage(void **state)
{
    (void)state;
    enum { N = 16 };
    const double C = 1.51, a = 0.49, b = 0.99;
    double x[2 * N], y[N];
    sw_law law;
    sw_err e;
    assert_int_equal(sw_law_parse("C*d^a*T^b", &law, &e), SW_OK);
    assert_true(sw_law_log_space(&law));
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 9);
    size_t hit[3] = {0};
    for (int set = 0; set < SETS; set++) {
        for (size_t i = 0; i < N; i++) {
            x[2 * i] = 4 << (i % 4);
            x[2 * i + 1] = 16 << (i / 4);
            y[i] = C * pow(x[2 * i], a) * pow(x[2 * i + 1], b) * exp(gsl_ran_gaussian(rng, 0.05));
        }
        sw_fit_result r;
        assert_int_equal(sw_law_fit(&law, x, y, N, &r, &e), SW_OK);
        hit[0] += inside(&r, 0, C);
        hit[1] += inside(&r, 1, a);
        hit[2] += inside(&r, 2, b);
        sw_fit_result_clear(&r);
    }
    gsl_rng_free(rng);
    assert_coverage(hit[0], "C (log-log)");
    assert_coverage(hit[1], "a (log-log)");
    assert_coverage(hit[2], "b (log-log)");
}

/* For many points the percentile bootstrap and the t interval estimate
 * the same thing; the bootstrap's own Monte-Carlo error with 2000 refits is
 * a few percent of the half-width.  Same seed, same numbers. */
static void bootstrap_agrees_with_t_interval(void **state)
{
    (void)state;
    enum { N = 400, REPS = 2000 };
    double *X = malloc(2 * N * sizeof *X), *y = malloc(N * sizeof *y);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    for (size_t i = 0; i < N; i++) {
        X[2 * i] = 1;
        X[2 * i + 1] = gsl_rng_uniform(rng);
        y[i] = 1 + 4 * X[2 * i + 1] + gsl_ran_gaussian(rng, 1.0);
    }
    gsl_rng_free(rng);
    sw_fit_problem pb = {.n = N, .k = 2, .y = y, .X = X};
    sw_fit_result r;
    sw_err e;
    assert_int_equal(sw_fit_solve(&pb, &r, &e), SW_OK);
    double lo[2], hi[2], lo2[2], hi2[2];
    size_t failed;
    assert_int_equal(sw_fit_bootstrap(&pb, REPS, 42, lo, hi, &failed, &e), SW_OK);
    assert_int_equal(failed, 0);
    for (size_t j = 0; j < 2; j++) {
        double half = (r.hi[j] - r.lo[j]) / 2;
        print_message("param %zu: t [%g, %g], bootstrap [%g, %g]\n", j, r.lo[j], r.hi[j], lo[j],
                      hi[j]);
        assert_true(fabs(lo[j] - r.lo[j]) < 0.15 * half);
        assert_true(fabs(hi[j] - r.hi[j]) < 0.15 * half);
    }
    assert_int_equal(sw_fit_bootstrap(&pb, REPS, 42, lo2, hi2, &failed, &e), SW_OK);
    assert_memory_equal(lo, lo2, sizeof lo);
    assert_memory_equal(hi, hi2, sizeof hi);
    sw_fit_result_clear(&r);
    free(X);
    free(y);
}

static void degenerate_problems_are_input_errors(void **state)
{
    (void)state;
    double X[6] = {1, 2, 1, 2, 1, 2}, y[3] = {1, 2, 3};
    sw_fit_result r;
    sw_err e;
    sw_fit_problem collinear = {.n = 3, .k = 2, .y = y, .X = X};
    assert_int_equal(sw_fit_solve(&collinear, &r, &e), SW_EINPUT);
    sw_fit_problem exact = {.n = 2, .k = 2, .y = y, .X = X};
    assert_int_equal(sw_fit_solve(&exact, &r, &e), SW_EINPUT);
    sw_law law;
    assert_int_equal(sw_law_parse("C * x^a", &law, &e), SW_OK);
    double xs[3] = {1, -2, 3};
    assert_int_equal(sw_law_fit(&law, xs, y, 3, &r, &e), SW_EINPUT);
    assert_non_null(strstr(e.msg, "'x'"));
}

static void law_grammar(void **state)
{
    (void)state;
    sw_law law;
    sw_err e;
    assert_int_equal(sw_law_parse(" C*d^a *T^b+t0 ", &law, &e), SW_OK);
    assert_int_equal(law.m, 2);
    assert_string_equal(law.prefactor, "C");
    assert_string_equal(law.column[1], "T");
    assert_string_equal(law.exponent[0], "a");
    assert_string_equal(law.offset, "t0");
    assert_int_equal(sw_law_nparams(&law), 4);
    double p[4] = {2, 0.5, -1, 3}, x[2] = {4, 8};
    assert_true(fabs(sw_law_eval(&law, p, x) - (2 * 2.0 / 8 + 3)) < 1e-15);
    /* Prefactor first is not required: it is the one bare name. */
    assert_int_equal(sw_law_parse("x^a * K", &law, &e), SW_OK);
    assert_string_equal(law.prefactor, "K");
    static const char *bad[] = {"",          "C",         "C * x",     "C * x^",  "C * x^2",
                                "C * x^a +", "C * x^a -", "C x^a",     "C * x^C", "C * x^a * x^b",
                                "C * x^a + a", "C ** x^a", "C * x^a + t0 + t1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        e.msg[0] = '\0';
        if (sw_law_parse(bad[i], &law, &e) != SW_EINPUT)
            fail_msg("law '%s' was accepted", bad[i]);
        assert_non_null(strstr(e.msg, "law"));
    }
}

/* ---- the command ------------------------------------------------------ */

static json_object *param(json_object *root, const char *name)
{
    json_object *ps = json_object_object_get(root, "params");
    for (size_t i = 0; i < json_object_array_length(ps); i++) {
        json_object *p = json_object_array_get_idx(ps, i);
        if (strcmp(json_object_get_string(json_object_object_get(p, "name")), name) == 0)
            return p;
    }
    fail_msg("no parameter %s in the JSON", name);
    return NULL;
}

static double ci(json_object *p, const char *key, int end)
{
    return json_object_get_double(json_object_array_get_idx(json_object_object_get(p, key), end));
}

static void fit_command(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), path[512], out[512], meta[512];
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    snprintf(out, sizeof out, "%s/fit.csv", dir);
    snprintf(meta, sizeof meta, "%s/fit.json", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "# system = synthetic\nd,T,B,tp,neg\n");
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);
    for (int i = 0; i < 20; i++) {
        double d = 4 << (i % 5), T = 16 << (i / 5);
        fprintf(fp, "%g,%g,1,%.17g,%d\n", d, T,
                2.0 * pow(d, 0.5) * T * exp(gsl_ran_gaussian(rng, 0.02)), i - 3);
    }
    fprintf(fp, "8,64,2,nan,1\n"); /* a run that never escaped: skipped */
    fclose(fp);
    gsl_rng_free(rng);

    char *so, *se;
    int rc = swt_run(&so, &se, "fit %s --y tp --law 'C * d^a * T^b' --where B=1 --bootstrap 300 "
                               "--seed 4 --out %s",
                     path, out);
    if (rc != 0)
        fail_msg("fit failed (%d): %s", rc, se);
    assert_non_null(strstr(so, "bootstrap"));
    free(so);
    free(se);
    json_object *root = json_object_from_file(meta);
    assert_non_null(root);
    assert_int_equal(json_object_get_int(json_object_object_get(root, "n")), 20);
    json_object *a = param(root, "a"), *b = param(root, "b"), *C = param(root, "C");
    assert_true(ci(a, "ci95", 0) < 0.5 && 0.5 < ci(a, "ci95", 1));
    assert_true(ci(b, "ci95", 0) < 1.0 && 1.0 < ci(b, "ci95", 1));
    assert_true(ci(C, "ci95", 0) < 2.0 && 2.0 < ci(C, "ci95", 1));
    assert_true(ci(a, "bootstrap_ci95", 0) < ci(a, "bootstrap_ci95", 1));
    double est[3] = {json_object_get_double(json_object_object_get(C, "estimate")),
                     json_object_get_double(json_object_object_get(a, "estimate")),
                     json_object_get_double(json_object_object_get(b, "estimate"))};
    assert_true(fabs(est[1] - 0.5) < 0.02 && fabs(est[2] - 1) < 0.02);
    json_object_put(root);

    /* The rows file: fitted values are the law at the reported estimates,
     * residuals are in logs. */
    swt_csv c;
    assert_int_equal(swt_csv_read(out, &c), 0);
    assert_int_equal(c.rows, 20);
    for (size_t i = 0; i < c.rows; i++) {
        double d = swt_csv_at(&c, i, "d"), T = swt_csv_at(&c, i, "T");
        double fitted = swt_csv_at(&c, i, "fitted"), obs = swt_csv_at(&c, i, "observed");
        assert_true(fabs(fitted - est[0] * pow(d, est[1]) * pow(T, est[2])) < 1e-12 * fitted);
        assert_true(fabs(swt_csv_at(&c, i, "residual") - log(obs / fitted)) < 1e-12);
    }
    swt_csv_free(&c);

    /* Range filters: d in {8, 16, 32}, 4 values of T each. */
    rc = swt_run(NULL, &se, "fit %s --y tp --law 'C * d^a * T^b' --where 'd>=8' --where 'd<64' "
                            "--out %s",
                 path, out);
    if (rc != 0)
        fail_msg("fit with ranges failed (%d): %s", rc, se);
    free(se);
    root = json_object_from_file(meta);
    assert_int_equal(json_object_get_int(json_object_object_get(root, "n")), 12);
    json_object_put(root);
    assert_int_equal(swt_csv_read(out, &c), 0);
    for (size_t i = 0; i < c.rows; i++)
        assert_true(swt_csv_at(&c, i, "d") >= 8 && swt_csv_at(&c, i, "d") < 64);
    swt_csv_free(&c);

    /* The figure script draws from that file. */
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
        char cmd[2048], png[512];
        snprintf(png, sizeof png, "%s/fit.png", dir);
        snprintf(cmd, sizeof cmd, "gnuplot -e \"in='%s'; out='%s'\" %s/fit.gp", out, png,
                 getenv("SW_PLOTS"));
        assert_int_equal(system(cmd), 0);
        assert_true(swt_file_exists(png));
        unlink(png);
    }

    /* Bad input: exit 2 and exactly one line on standard error. */
    static const char *bad[] = {
        "--y tp --law 'C * q^a'",          /* unknown column */
        "--y nope --law 'C * d^a'",        /* unknown response */
        "--y tp --law 'C * neg^a'",        /* non-positive under a log */
        "--y tp --law 'C * d^a * T^b' --where d=4 --where T=16", /* 1 row, 3 parameters */
        "--y tp --law 'C * d^'",           /* malformed law */
        "--y tp --law 'C * d^a' --bootstrap nan",
        "--y tp --law 'C * d^a' --where d",
        "--y tp --law 'C * d^a' --where 'q<3'",
        "--y tp --law 'C * d^a' --where 'd>=x'",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc = swt_run(NULL, &se, "fit %s %s", path, bad[i]);
        if (rc != 2)
            fail_msg("'%s' exited %d", bad[i], rc);
        assert_true(strncmp(se, "stagewise: ", 11) == 0);
        assert_non_null(strchr(se, '\n'));
        assert_true(*(strchr(se, '\n') + 1) == '\0');
        free(se);
    }
    rc = swt_run(NULL, &se, "fit %s/missing.csv --y tp --law 'C * d^a'", dir);
    assert_int_equal(rc, 2);
    free(se);
    unlink(out);
    unlink(meta);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* The offset law through the command, on exact data: the estimates are
 * the truth to solver tolerance. */
static void fit_command_offset_law(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/esc.csv", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "x,t\n");
    for (int i = 0; i < 12; i++) {
        double x = pow(10.0, i / 3.0);
        fprintf(fp, "%.17g,%.17g\n", x, 5 * pow(x, 0.3) - 2);
    }
    fclose(fp);
    char *so, *se;
    int rc = swt_run(&so, &se, "fit %s --y t --law 'A * x^c + t0'", path);
    if (rc)
        fail_msg("%s", se);
    double A, c, t0;
    char *p = strstr(so, "\nA ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "\nA %lf", &A), 1);
    assert_int_equal(sscanf(strstr(so, "\nc "), "\nc %lf", &c), 1);
    assert_int_equal(sscanf(strstr(so, "\nt0 "), "\nt0 %lf", &t0), 1);
    assert_true(fabs(A - 5) < 1e-5 && fabs(c - 0.3) < 1e-5 && fabs(t0 + 2) < 1e-4);
    free(so);
    free(se);
    unlink(path);
    rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linear_matches_closed_form),
        cmocka_unit_test(linear_interval_coverage),
        cmocka_unit_test(nonlinear_agrees_with_linear),
        cmocka_unit_test(nonlinear_interval_coverage),
        cmocka_unit_test(loglog_interval_coverage),
        cmocka_unit_test(bootstrap_agrees_with_t_interval),
        cmocka_unit_test(degenerate_problems_are_input_errors),
        cmocka_unit_test(law_grammar),
        cmocka_unit_test(fit_command),
        cmocka_unit_test(fit_command_offset_law),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
