/* Escape times: against the closed form of a linear saddle, the law
 * ranking on synthetic times of each law, the hyperbolic law with
 * b = 1/lambda+ found by the command, and the non-hyperbolic escape from a
 * symmetric start of the Y flow. */
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
#include "stagewise/escape.h"

static void eps_grid(void **state)
{
    (void)state;
    double *eps;
    size_t n;
    sw_err e;
    assert_int_equal(sw_escape_parse_eps("1e-1:1e-9:17", &eps, &n, &e), SW_OK);
    assert_int_equal(n, 17);
    assert_true(eps[0] == 1e-1 && eps[16] == 1e-9);
    for (size_t i = 0; i < n; i++)
        assert_true(fabs(log10(eps[i]) - (-1 - 0.5 * (double)i)) < 1e-12);
    free(eps);
    static const char *bad[] = {"1e-1:1e-9", "1e-1:1e-9:1", "0:1e-9:5", "1e-1:1e-9:2.5",
                                "1e-1:1e-1:5", "a:b:c", "1e-1:-1:4", "1e-1:1e-9:17:3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (sw_escape_parse_eps(bad[i], &eps, &n, &e) != SW_EINPUT)
            fail_msg("eps '%s' accepted", bad[i]);
}

/* dx/dt = diag(-1, 1/2) x from eps (v1, v2): |x|^2 = eps^2 (v1^2 e^{-2t} +
 * v2^2 e^{t}) reaches 1 at the root of g(t) below (Newton, from the
 * dominant-term estimate). */
static double exact_escape(double eps, double v1, double v2)
{
    double t = log(1 / (eps * eps * v2 * v2));
    for (int k = 0; k < 100; k++) {
        double g = eps * eps * (v1 * v1 * exp(-2 * t) + v2 * v2 * exp(t)) - 1;
        double dg = eps * eps * (-2 * v1 * v1 * exp(-2 * t) + v2 * v2 * exp(t));
        double step = g / dg;
        t -= step;
        if (fabs(step) < 1e-15 * t)
            break;
    }
    return t;
}

static void linear_escape_times_exact(void **state)
{
    (void)state;
    sw_model *m = swt_model("linear", "A=-1,0,0,0.5", "b=0,0", NULL);
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    o.rtol = 1e-11;
    o.atol = 0;
    o.t_end = 200;
    sw_err e;
    assert_int_equal(sw_event_parse(m, "loss>=0.5", &o.until, &e), SW_OK);
    const double base[2] = {0, 0}, dir[2] = {0.6, 0.8};
    double *eps, T[9];
    size_t n;
    assert_int_equal(sw_escape_parse_eps("1e-1:1e-9:9", &eps, &n, &e), SW_OK);
    assert_int_equal(sw_escape_times(m, &o, base, dir, eps, n, T, NULL, NULL, &e), SW_OK);
    for (size_t i = 0; i < n; i++) {
        double want = exact_escape(eps[i], 0.6, 0.8);
        if (!(fabs(T[i] - want) < 1e-8 * want))
            fail_msg("eps %g: escape at %.15g, exact %.15g", eps[i], T[i], want);
    }
    /* Not reached by t_end: NaN, not an error. */
    o.t_end = 10;
    assert_int_equal(sw_escape_times(m, &o, base, dir, eps, n, T, NULL, NULL, &e), SW_OK);
    assert_true(isfinite(T[0]) && isnan(T[8]));
    free(eps);
    sw_model_free(m);
}

/* Times drawn from each law with noise: that law has the least AIC and its
 * estimates are near the truth on the scale of their intervals. */
static void law_ranking(void **state)
{
    (void)state;
    enum { N = 17 };
    double *eps, T[N];
    size_t n;
    sw_err e;
    assert_int_equal(sw_escape_parse_eps("1e-1:1e-9:17", &eps, &n, &e), SW_OK);
    const double truth[3][3] = {{3, 2, 0}, {5, 0.4, 0}, {2, 5, 0.3}};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 12);
    for (int law = 0; law < SW_ESCAPE_NLAWS; law++) {
        for (size_t i = 0; i < n; i++)
            T[i] = sw_escape_law_eval(law, truth[law], eps[i]) + 0.05 * gsl_ran_gaussian(rng, 1);
        sw_escape_law laws[SW_ESCAPE_NLAWS];
        int best;
        assert_int_equal(sw_escape_fit(eps, T, n, laws, &best, &e), SW_OK);
        print_message("truth %s: best %s, AICs %.1f %.1f %.1f\n", laws[law].key,
                      best >= 0 ? laws[best].key : "none",
                      laws[0].ok ? laws[0].fit.aic : NAN, laws[1].ok ? laws[1].fit.aic : NAN,
                      laws[2].ok ? laws[2].fit.aic : NAN);
        assert_int_equal(best, law);
        const sw_fit_result *r = &laws[law].fit;
        /* Within twice the interval's half-width: about four standard
         * errors, which chance alone exceeds once in 10^4. */
        for (size_t j = 0; j < r->k; j++)
            assert_true(fabs(r->p[j] - truth[law][j]) < r->hi[j] - r->lo[j]);
        sw_escape_laws_clear(laws);
    }
    /* Too few finite times: nothing fitted, said why. */
    for (size_t i = 3; i < n; i++)
        T[i] = NAN;
    sw_escape_law laws[SW_ESCAPE_NLAWS];
    int best;
    assert_int_equal(sw_escape_fit(eps, T, n, laws, &best, &e), SW_OK);
    assert_int_equal(best, -1);
    assert_non_null(strstr(laws[0].why, "4 are needed"));
    sw_escape_laws_clear(laws);
    gsl_rng_free(rng);
    free(eps);
}

static json_object *law_obj(json_object *root, const char *key)
{
    return json_object_object_get(json_object_object_get(root, "laws"), key);
}

static double law_param(json_object *root, const char *key, int j)
{
    json_object *p = json_object_array_get_idx(json_object_object_get(law_obj(root, key), "params"), j);
    return json_object_get_double(json_object_object_get(p, "estimate"));
}

/* The done-when test: a saddle of `linear` (rotated, with a spiral in the
 * stable plane) left from the refined fixed point along a random
 * direction: the hyperbolic law wins and b is 1/lambda+. */
static void linear_saddle_escape_is_hyperbolic(void **state)
{
    (void)state;
    /* A = S diag-block(0.25 | [-1 -2; 2 -1]) S^T, S a rotation about the
     * axis (1,1,1)/sqrt3 by 90 degrees; fixed point -A^-1 b. */
    double S[9], c = 1.0 / 3, s = 1 / sqrt(3.0);
    const double K[9] = {0, -s, s, s, 0, -s, -s, s, 0}; /* cross-product matrix */
    for (int i = 0; i < 9; i++)
        S[i] = K[i] + c; /* cos 90 = 0, sin 90 = 1: S = [u]x + u u^T */
    const double B[9] = {0.25, 0, 0, 0, -1, -2, 0, 2, -1};
    double A[9] = {0}, T[9] = {0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
                T[i * 3 + j] += S[i * 3 + k] * B[k * 3 + j];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
                A[i * 3 + j] += T[i * 3 + k] * S[j * 3 + k];
    char args[512];
    snprintf(args, sizeof args, "n=3 'A=%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g' "
                                "b=0,0,0 x0=0.3,-0.2,0.1",
             A[0], A[1], A[2], A[3], A[4], A[5], A[6], A[7], A[8]);
    char *dir = swt_tmpdir(), csv[512], meta[512], png[512], *out, *err;
    snprintf(csv, sizeof csv, "%s/esc.csv", dir);
    snprintf(meta, sizeof meta, "%s/esc.json", dir);
    snprintf(png, sizeof png, "%s/esc.png", dir);
    int rc = swt_run(&out, &err, "escape linear %s --base saddle --direction random --seed 3 "
                                 "--until 'loss>=0.5' --t-end 500 --rtol 1e-10 --out %s",
                     args, csv);
    if (rc)
        fail_msg("escape failed (%d): %s", rc, err);
    free(out), free(err);
    json_object *root = json_object_from_file(meta);
    assert_non_null(root);
    assert_string_equal(json_object_get_string(json_object_object_get(root, "best")), "log");
    double lp = json_object_get_double(json_object_object_get(root, "lambda_plus"));
    assert_true(fabs(lp - 0.25) < 1e-12);
    double b = law_param(root, "log", 1);
    print_message("b = %.8g, 1/lambda+ = %.8g\n", b, 1 / lp);
    assert_true(fabs(b * lp - 1) < 0.02);
    json_object_put(root);
    swt_csv t;
    assert_int_equal(swt_csv_read(csv, &t), 0);
    assert_int_equal(t.rows, 17);
    for (size_t i = 0; i < t.rows; i++) {
        double fitted = swt_csv_at(&t, i, "law_log"), meas = swt_csv_at(&t, i, "t_escape");
        assert_true(fabs(fitted - meas) < 1e-3 * meas);
    }
    swt_csv_free(&t);
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "gnuplot -e \"in='%s'; out='%s'\" %s/escape.gp", csv, png,
                 getenv("SW_PLOTS"));
        assert_int_equal(system(cmd), 0);
        assert_true(swt_file_exists(png));
        unlink(png);
    }
    /* Along the unstable eigenvector itself the law is exact:
     * T = (1/lambda+) ln(1/eps) for |x| = 1 from a saddle at the origin. */
    rc = swt_run(&out, &err, "escape linear %s --base saddle --direction unstable "
                             "--until 'loss>=0.5' --t-end 500 --rtol 1e-11 --atol 0 --out %s",
                 args, csv);
    if (rc)
        fail_msg("%s", err);
    free(out), free(err);
    root = json_object_from_file(meta);
    assert_true(fabs(law_param(root, "log", 1) - 4) < 1e-6);
    assert_true(fabs(law_param(root, "log", 0)) < 1e-5);
    json_object_put(root);
    unlink(csv), unlink(meta), rmdir(dir);
    free(dir);
}

/* From the symmetric start of y-reduced the heads separate, but not like a
 * hyperbolic saddle: the log law is clearly worse than the best. */
static void y_symmetric_escape_is_not_hyperbolic(void **state)
{
    (void)state;
    if (!sw_system_find("y-reduced"))
        skip();
    char *dir = swt_tmpdir(), csv[512], meta[512], *out, *err;
    snprintf(csv, sizeof csv, "%s/y.csv", dir);
    snprintf(meta, sizeof meta, "%s/y.json", dir);
    int rc = swt_run(&out, &err, "escape y-reduced --base symmetric --until 'loss<=1.5' "
                                 "--eps 1e-1:1e-9:9 --t-end 1e6 --out %s", csv);
    if (rc)
        fail_msg("%s", err);
    free(out), free(err);
    json_object *root = json_object_from_file(meta);
    const char *best = json_object_get_string(json_object_object_get(root, "best"));
    double aic_log = json_object_get_double(json_object_object_get(law_obj(root, "log"), "aic"));
    double aic_best = json_object_get_double(json_object_object_get(law_obj(root, best), "aic"));
    print_message("best %s, AIC(log) - AIC(best) = %.2f\n", best, aic_log - aic_best);
    assert_string_not_equal(best, "log");
    assert_true(aic_log - aic_best > 10);
    /* The power law again through `fit`, whose start comes from a log-log
     * fit instead of escape's grid in c: the same least-squares optimum. */
    double b = law_param(root, "power", 1), c = law_param(root, "power", 2);
    json_object_put(root);
    char fcsv[512], fmeta[512];
    snprintf(fcsv, sizeof fcsv, "%s/f.csv", dir);
    snprintf(fmeta, sizeof fmeta, "%s/f.json", dir);
    rc = swt_run(&out, &err, "fit %s --y t_escape --law 'C * eps^c + a' --out %s", csv, fcsv);
    if (rc)
        fail_msg("%s", err);
    free(out), free(err);
    root = json_object_from_file(fmeta);
    double C2 = json_object_get_double(json_object_object_get(
        json_object_array_get_idx(json_object_object_get(root, "params"), 0), "estimate"));
    double c2 = json_object_get_double(json_object_object_get(
        json_object_array_get_idx(json_object_object_get(root, "params"), 1), "estimate"));
    print_message("power law: escape b = %.8g c = %.8g; fit C = %.8g c = %.8g\n", b, c, C2, c2);
    assert_true(fabs(C2 - b) < 1e-5 * b && fabs(c2 + c) < 1e-5 * c);
    json_object_put(root);
    unlink(fcsv), unlink(fmeta);
    unlink(csv), unlink(meta), rmdir(dir);
    free(dir);
}

static void escape_command_errors(void **state)
{
    (void)state;
    static const char *bad[] = {
        "escape linear --base saddle",                                  /* no --until */
        "escape linear --base saddle --until 'loss>=0.5' --eps 1:2",    /* bad eps */
        "escape linear --until 'loss>=0.5'",                            /* no heads */
        "escape linear --base saddle --until 'nope>=1'",
        "escape linear 'A=-1,0,0,-2' --base saddle --direction unstable --until 'loss>=1'",
        "escape linear --base saddle --direction /no/file --until 'loss>=1'",
        "escape y-coupled --base saddle --until 'loss<=1' --t-end 100", /* at infinity */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (strstr(bad[i], "y-coupled") && !sw_system_find("y-coupled"))
            continue;
        char *err;
        int rc = swt_run(NULL, &err, "%s", bad[i]);
        if (rc != 2)
            fail_msg("'%s' exited %d: %s", bad[i], rc, err);
        assert_true(strncmp(err, "stagewise: ", 11) == 0);
        assert_true(strchr(err, '\n')[1] == '\0');
        free(err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eps_grid),
        cmocka_unit_test(linear_escape_times_exact),
        cmocka_unit_test(law_ranking),
        cmocka_unit_test(linear_saddle_escape_is_hyperbolic),
        cmocka_unit_test(y_symmetric_escape_is_not_hyperbolic),
        cmocka_unit_test(escape_command_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
