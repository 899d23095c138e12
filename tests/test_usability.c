/* What a new user meets first: progress on long runs, help and version,
 * defaults that run cleanly, examples that keep the repository clean, and
 * the documented behaviour of the stage detector, the steppers and the
 * escape law (issue 11's smaller slips, each pinned by a number). */
#include <json-c/json.h>
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

static char *tmp_path(const char *dir, const char *name)
{
    char *p = NULL;
    assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static double json_at(const char *file, const char *ptr)
{
    json_object *root = json_object_from_file(file), *v = NULL;
    assert_non_null(root);
    if (json_pointer_get(root, ptr, &v) != 0)
        fail_msg("%s: no %s", file, ptr);
    double x = json_object_get_double(v);
    json_object_put(root);
    return x;
}

/* Off a terminal, progress is plain lines: with SW_PROGRESS_EVERY=0 one
 * per whole percent, each with the count, the rate and the time, the
 * percentages increasing, then a closing line.  --quiet, anywhere on the
 * line, leaves standard error empty. */
static void progress_lines_off_a_terminal(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), *csv = tmp_path(dir, "toy.csv"), *err = NULL;
    setenv("SW_PROGRESS_EVERY", "0", 1);
    assert_int_equal(swt_run(NULL, &err, "train toy --steps 400 --out %s", csv), 0);
    int last = -1;
    size_t lines = 0;
    for (char *l = strtok(err, "\n"); l; l = strtok(NULL, "\n")) {
        int pct;
        unsigned long k;
        double rate, el;
        if (sscanf(l, "toy: %d%% %lu/400 steps, %lf steps/s, %lf s", &pct, &k, &rate, &el) == 4) {
            assert_true(pct > last);
            assert_true(labs((long)k - 4 * pct) <= 4); /* k/400 is the percentage */
            assert_true(rate >= 0 && el >= 0);
            last = pct;
            lines++;
        } else if (strncmp(l, "toy: done in ", 13) != 0) {
            fail_msg("unexpected line on standard error: %s", l);
        }
    }
    assert_true(lines >= 50);
    assert_true(last >= 99);
    free(err);
    assert_int_equal(swt_run(NULL, &err, "train toy --steps 400 --out %s --quiet", csv), 0);
    assert_string_equal(err, "");
    free(err);
    unsetenv("SW_PROGRESS_EVERY");
    free(csv);
    swt_rm_rf(dir);
}

/* On a terminal (a pseudo-terminal from script(1)), one line redrawn in
 * place: carriage return, erase, label, bar. */
static void progress_bar_on_a_terminal(void **state)
{
    (void)state;
    if (system("command -v script >/dev/null 2>&1") != 0)
        skip();
    char *dir = swt_tmpdir(), *log = tmp_path(dir, "tty.log"), cmd[2048];
    snprintf(cmd, sizeof cmd,
             "SW_PROGRESS_EVERY=0 script -qec '%s train toy --steps 400 --out %s/t.csv' %s "
             ">/dev/null 2>&1",
             swt_bin(), dir, log);
    assert_int_equal(system(cmd), 0);
    char *text = swt_slurp(log);
    assert_non_null(text);
    assert_non_null(strstr(text, "\r\033[Ktoy ["));
    assert_non_null(strstr(text, "/400 steps"));
    assert_null(strstr(text, "toy: done in")); /* the bar is erased, not closed by a line */
    free(text);
    free(log);
    swt_rm_rf(dir);
}

/* `help CMD` is `CMD --help`; `version` and `--version` print the
 * version; a training task can be described. */
static void help_version_and_tasks(void **state)
{
    (void)state;
    char *a = NULL, *b = NULL;
    assert_int_equal(swt_run(&a, NULL, "help describe"), 0);
    assert_int_equal(swt_run(&b, NULL, "describe --help"), 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(swt_run(NULL, &a, "help describe integrate"), 2);
    assert_non_null(strstr(a, "help takes one COMMAND"));
    free(a);
    assert_int_equal(swt_run(&a, NULL, "version"), 0);
    assert_int_equal(swt_run(&b, NULL, "--version"), 0);
    assert_string_equal(a, b);
    assert_true(strncmp(a, "stagewise ", 10) == 0);
    free(a);
    free(b);
    assert_int_equal(swt_run(&a, NULL, "describe markov H=2"), 0);
    assert_non_null(strstr(a, "task markov"));
    assert_non_null(strstr(a, "att_h2_k3")); /* two heads, three groups */
    assert_null(strstr(a, "att_h3_k1"));
    free(a);
    assert_int_equal(swt_run(&a, NULL, "describe toy"), 0);
    assert_non_null(strstr(a, "z-full"));
    free(a);
    /* The transformer names none of its 1.6 million parameters: describe
     * says so instead of listing a placeholder for each. */
    assert_int_equal(swt_run(&a, NULL, "describe tf-location"), 0);
    assert_non_null(strstr(a, "state (1581568 entries"));
    assert_non_null(strstr(a, "not named entry by entry"));
    assert_null(strstr(a, "(null)"));
    assert_true(strlen(a) < 10000);
    free(a);
    assert_int_equal(swt_run(NULL, &b, "describe nosuch"), 2);
    assert_non_null(strstr(b, "unknown system 'nosuch'"));
    free(b);
}

/* The reference system runs cleanly with its defaults: it starts on the
 * saddle's stable manifold, x_1 = e^{-t}, x_2 = 0. */
static void linear_defaults_run_cleanly(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), *csv = tmp_path(dir, "lin.csv");
    assert_int_equal(swt_run(NULL, NULL, "integrate linear --rtol 1e-12 --atol 0 --out %s", csv),
                     0);
    swt_csv c;
    assert_int_equal(swt_csv_read(csv, &c), 0);
    for (size_t i = 0; i < c.rows; i++) {
        double t = swt_csv_at(&c, i, "t");
        assert_true(fabs(swt_csv_at(&c, i, "x_1") - exp(-t)) < 1e-10);
        assert_true(swt_csv_at(&c, i, "x_2") == 0);
    }
    assert_true(swt_csv_at(&c, c.rows - 1, "t") == 1e4);
    swt_csv_free(&c);
    free(csv);
    swt_rm_rf(dir);
}

/* The README's examples write under out/, which git ignores. */
static void readme_examples_write_under_out(void **state)
{
    (void)state;
    const char *plots = getenv("SW_PLOTS");
    assert_non_null(plots);
    char path[1024];
    snprintf(path, sizeof path, "%s/../README.md", plots);
    char *readme = swt_slurp(path);
    snprintf(path, sizeof path, "%s/../.gitignore", plots);
    char *ignore = swt_slurp(path);
    assert_non_null(readme);
    assert_non_null(ignore);
    assert_non_null(strstr(ignore, "/out/\n"));
    size_t outs = 0;
    for (char *p = readme; (p = strstr(p, "build/stagewise ")); p++) {
        char *eol = strchr(p, '\n');
        for (char *o = p; (o = strstr(o, "--out ")) && (!eol || o < eol); o++, outs++)
            if (strncmp(o + 6, "out/", 4) != 0)
                fail_msg("README example writes outside out/: %.*s", (int)(eol - p), p);
        /* a positional result file is read from out/ too */
        if (strncmp(p, "build/stagewise stages ", 23) == 0 ||
            strncmp(p, "build/stagewise fit ", 20) == 0) {
            char *arg = strchr(p + 16, ' ') + 1;
            assert_true(strncmp(arg, "out/", 4) == 0);
        }
    }
    assert_true(outs >= 4);
    free(readme);
    free(ignore);
}

static size_t plateaus_found(const char *args, const char *stages_opts)
{
    char *dir = swt_tmpdir(), *csv = tmp_path(dir, "y.csv"), *out = NULL;
    assert_int_equal(swt_run(NULL, NULL, "integrate y-reduced %s --out %s", args, csv), 0);
    assert_int_equal(swt_run(&out, NULL, "stages %s %s", csv, stages_opts), 0);
    size_t n = 0;
    assert_int_equal(sscanf(out, "%zu plateaus", &n), 1);
    free(out);
    free(csv);
    swt_rm_rf(dir);
    return n;
}

/* A long run's log grid starts below the first plateau's end (default
 * t-first: the smaller of t-end x 1e-6 and 0.01), so all three stages of
 * gamma = 4 are found at t-end 1e6; gamma = 1.5's middle stage is a
 * shoulder (log-slope 0.23 between falls of 1.5 and 5) that the default
 * shoulder test finds and the absolute threshold alone does not. */
static void stages_of_long_runs(void **state)
{
    (void)state;
    assert_int_equal(plateaus_found("gamma=4 --solver bdf --t-end 1e6", ""), 3);
    assert_int_equal(plateaus_found("gamma=1.5 --solver bdf --t-end 1e6", ""), 3);
    assert_int_equal(plateaus_found("gamma=1.5 --solver bdf --t-end 1e6", "--shoulder 0"), 2);
}

/* docs/reproduce.md's caution: rk4imp keeps identical heads identical
 * (the symmetric plateau at L_1 = 2.5 holds), bdf breaks the symmetry at
 * rounding level and every pattern is eventually learned. */
static void which_steppers_keep_the_symmetry(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), *a = tmp_path(dir, "a.csv"), *b = tmp_path(dir, "b.csv");
    assert_int_equal(swt_run(NULL, NULL, "integrate y-reduced sigma=0 --solver rk4imp "
                                         "--t-end 1e4 --out %s", a), 0);
    assert_int_equal(swt_run(NULL, NULL, "integrate y-reduced sigma=0 --solver bdf "
                                         "--t-end 1e5 --out %s", b), 0);
    swt_csv c;
    assert_int_equal(swt_csv_read(a, &c), 0);
    assert_true(fabs(swt_csv_at(&c, c.rows - 1, "loss") - 2.5) < 1e-3);
    swt_csv_free(&c);
    assert_int_equal(swt_csv_read(b, &c), 0);
    assert_true(swt_csv_at(&c, c.rows - 1, "loss") < 1e-3);
    swt_csv_free(&c);
    free(a);
    free(b);
    swt_rm_rf(dir);
}

/* The symmetric start's escape time: b of a + b ln(1/eps)^2 over the
 * smallest eps (1e-5..1e-9) is 3.46, below the frozen-rate value
 * 1/(4 C^2) = 4.15 that docs/math.md derives as its eps -> 0 limit. */
static void escape_slope_below_its_limit(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), *csv = tmp_path(dir, "e.csv"), *js = tmp_path(dir, "e.json");
    assert_int_equal(swt_run(NULL, NULL, "escape y-reduced --base symmetric --direction random "
                                         "--eps 1e-5:1e-9:9 --until 'loss<=1.5' --t-end 1e6 "
                                         "--out %s", csv), 0);
    double b = json_at(js, "/laws/log2/params/1/estimate");
    assert_true(b > 3.40 && b < 3.52);
    assert_true(b < 1 / (4 * 0.245 * 0.245));
    free(csv);
    free(js);
    swt_rm_rf(dir);
}

/* plateau:N is found on the run's output grid, so it moves with
 * --points (as the help says): 100 and 400 points pick different times
 * inside the same competitive plateau at L_1 = 2.5. */
static void plateau_point_depends_on_points(void **state)
{
    (void)state;
    char *help = NULL;
    assert_int_equal(swt_run(&help, NULL, "jacobian --help"), 0);
    assert_non_null(strstr(help, "N and the point move with them"));
    free(help);
    char *dir = swt_tmpdir(), *j1 = tmp_path(dir, "a.json"), *j4 = tmp_path(dir, "b.json");
    assert_int_equal(swt_run(NULL, NULL, "jacobian y-reduced --at plateau:2 --t-end 1e4 "
                                         "--points 100 --json %s", j1), 0);
    assert_int_equal(swt_run(NULL, NULL, "jacobian y-reduced --at plateau:2 --t-end 1e4 "
                                         "--points 400 --json %s", j4), 0);
    double t1 = json_at(j1, "/point/t"), t4 = json_at(j4, "/point/t");
    assert_true(fabs(t1 - t4) > 0.5);
    assert_true(fabs(json_at(j1, "/point/loss") - 2.5) < 0.05);
    assert_true(fabs(json_at(j4, "/point/loss") - 2.5) < 0.05);
    free(j1);
    free(j4);
    swt_rm_rf(dir);
}

/* plot --set hands a script its variables; names plot itself passes are
 * refused, one line, exit 2; the generic xy figure draws expressions of
 * a result's columns. */
static void plot_takes_variables(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), *csv = tmp_path(dir, "z.csv"), *png = tmp_path(dir, "z.png"),
         *err = NULL;
    assert_int_equal(swt_run(NULL, NULL, "integrate z-reduced --t-end 1000 --out %s", csv), 0);
    assert_int_equal(swt_run(NULL, &err, "plot xy %s --set out=x --out %s", csv, png), 2);
    assert_non_null(strstr(err, "--set 'out=x' is not NAME=VALUE"));
    assert_null(strchr(strchr(err, '\n') + 1, '\n')); /* one line */
    free(err);
    /* without ys gnuplot would stop on an undefined variable, exit 1 */
    assert_int_equal(swt_run(NULL, &err, "plot xy %s --set 'x=column(\"t\")' --out %s", csv,
                             png), 2);
    assert_non_null(strstr(err, "plot xy needs --set x=EXPR"));
    free(err);
    /* a run where a crosscheck result belongs: named, exit 2 */
    assert_int_equal(swt_run(NULL, &err, "plot crosscheck %s --out %s", csv, png), 2);
    assert_non_null(strstr(err, "has no column 'loss_train' (allowed: a `crosscheck --out` CSV)"));
    free(err);
    assert_int_equal(swt_run(NULL, NULL, "plot xy %s --set 'x=column(\"t\")' --set "
                                         "'ys=column(\"loss\")|column(\"loss_p0\")' --set logx=1 "
                                         "--out %s", csv, png), 0);
    char *bytes = swt_slurp(png);
    assert_non_null(bytes);
    assert_memory_equal(bytes, "\x89PNG", 4);
    free(bytes);
    free(csv);
    free(png);
    swt_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(progress_lines_off_a_terminal),
        cmocka_unit_test(progress_bar_on_a_terminal),
        cmocka_unit_test(help_version_and_tasks),
        cmocka_unit_test(linear_defaults_run_cleanly),
        cmocka_unit_test(readme_examples_write_under_out),
        cmocka_unit_test(stages_of_long_runs),
        cmocka_unit_test(which_steppers_keep_the_symmetry),
        cmocka_unit_test(escape_slope_below_its_limit),
        cmocka_unit_test(plateau_point_depends_on_points),
        cmocka_unit_test(plot_takes_variables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
