/* The command line end to end: the bad-input contract of the foundation
 * (exit 2, one line naming the problem and what is allowed, no file left
 * behind), numerical failure (exit 3), presets, metadata. */
#include <math.h>
#include <sys/stat.h>
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

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Runs `stagewise integrate ARGS --out DIR/out.csv` in an empty DIR holding
 * only the given input files, and checks the failure contract. */
static void expect_failure(int code, const char *needle, const char *args)
{
    char *dir = swt_tmpdir();
    size_t before = swt_dir_entries(dir);

    char *err = NULL;
    int rc = swt_run(NULL, &err, "integrate %s --out %s/out.csv", args, dir);
    if (rc != code || !strstr(err, needle))
        fail_msg("`integrate %s`: exit %d (want %d), stderr: %s (want '%s')", args, rc, code,
                 err, needle);
    /* One line, prefixed with the program name. */
    assert_true(strncmp(err, "stagewise: ", 11) == 0);
    assert_non_null(strchr(err, '\n'));
    assert_true(strchr(err, '\n')[1] == '\0');
    assert_int_equal(swt_dir_entries(dir), before);

    free(err);
    swt_rm_rf(dir);
}

static void bad_input_exits_2_with_one_line(void **state)
{
    (void)state;
    expect_failure(2, "unknown system 'nosuch' (allowed: ", "nosuch");
    expect_failure(2, "unknown parameter 'gamma' for system linear (allowed: n, A, b, x0)",
                   "linear gamma=2");
    expect_failure(2, "rtol: 'abc' is not a number", "linear --rtol abc");
    expect_failure(2, "rtol: -1 is out of range (0, 1)", "linear --rtol -1");
    expect_failure(2, "t-end: 'nan' is not a finite number", "linear --t-end nan");
    expect_failure(2, "x0: 'nan' is not a finite number", "linear x0=1,nan");
    expect_failure(2, "n: '2.5' is not an integer", "linear n=2.5");
    expect_failure(2, "A: expected 4 values for n = 2, got 3", "linear A=1,2,3");
    expect_failure(2, "unknown solver 'rk9' (allowed: rk2, rk4, rkf45", "linear --solver rk9");
    expect_failure(2, "grid: 'cubic' is not allowed (allowed: log, linear)",
                   "linear --grid cubic");
    expect_failure(2, "unknown option '--bogus'", "linear --bogus 1");
    expect_failure(2, "until: unknown observable 'x_9'", "linear --until 'x_9<=1'");
    expect_failure(2, "until: 'loss<1' is not of the form", "linear --until 'loss<1'");
    expect_failure(2, "init: cannot read '/nonexistent/init.txt'",
                   "linear --init /nonexistent/init.txt");
    expect_failure(2, "preset: cannot read '/nonexistent.ini'", "linear --preset /nonexistent.ini");
}

/* Init files: unreadable (a directory), a non-number, too few values. */
static void bad_init_files(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    char sub[600], bad[600], shortf[600], args[2048];
    snprintf(sub, sizeof sub, "%s/isdir", dir);
    mkdir(sub, 0700);
    snprintf(bad, sizeof bad, "%s/bad.txt", dir);
    write_file(bad, "1.0 zwei\n");
    snprintf(shortf, sizeof shortf, "%s/short.txt", dir);
    write_file(shortf, "# one value, linear needs two\n1.0\n");
    snprintf(args, sizeof args, "linear --init %s", sub);
    expect_failure(2, "init: '", args);
    expect_failure(2, "isdir' is a directory (allowed: a file)", args);
    snprintf(args, sizeof args, "linear --init %s", bad);
    expect_failure(2, "init: 'zwei' in", args);
    snprintf(args, sizeof args, "linear --init %s", shortf);
    expect_failure(2, "has 1 values, system linear needs 2", args);
    swt_rm_rf(dir);
}

/* An init file on one line longer than any fixed buffer: 609 values. */
static void long_init_line(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    char st[600];
    snprintf(st, sizeof st, "%s/one_line.txt", dir);
    FILE *fp = fopen(st, "w");
    assert_non_null(fp);
    for (int i = 0; i < 609; i++)
        fprintf(fp, "%s%.17g", i ? "," : "", 0.001 * i - 0.123456789012345);
    fputc('\n', fp);
    fclose(fp);
    assert_int_equal(swt_run(NULL, NULL,
                             "integrate y-reduced T=200 --init %s --t-end 1 --points 2 "
                             "--out %s/r.csv --save-state %s/back.txt",
                             st, dir, dir),
                     0);
    swt_rm_rf(dir);
}

static void unwritable_output(void **state)
{
    (void)state;
    char *err = NULL;
    int rc = swt_run(NULL, &err, "integrate linear --out /nonexistent/dir/run.csv");
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "cannot write '/nonexistent/dir/run.csv'"));
    free(err);
}

/* x' = 1000 x overflows long before t = 10: exit 3 naming the time, and
 * nothing written. */
static void numerical_failure_exits_3(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), *err = NULL;
    int rc = swt_run(NULL, &err, "integrate linear n=1 A=1000 b=0 x0=1 --t-end 10 --out %s/r.csv",
                     dir);
    assert_int_equal(rc, 3);
    assert_non_null(strstr(err, " at t = "));
    assert_int_equal(swt_dir_entries(dir), 0);
    rmdir(dir);
    free(err);
    free(dir);
}

static json_object *read_json(const char *path)
{
    json_object *o = json_object_from_file(path);
    assert_non_null(o);
    return o;
}

static json_object *stats_of(json_object *meta)
{
    json_object *stats;
    assert_true(json_object_object_get_ex(meta, "stats", &stats));
    return stats;
}

static long long int_of(json_object *o, const char *key)
{
    json_object *v;
    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_int64(v);
}

static long long stat_of(json_object *meta, const char *key)
{
    return int_of(stats_of(meta), key);
}

/* `integrate ARGS --out csv` (whose metadata goes to meta, beside it), which
 * must succeed; its metadata, for json_object_put. */
static json_object *integrate_meta(const char *args, const char *csv, const char *meta)
{
    assert_int_equal(swt_run(NULL, NULL, "integrate %s --out %s", args, csv), 0);
    return read_json(meta);
}

/* msbdf evaluates the analytic Jacobian and says so; an explicit stepper
 * never does.  The event time in the metadata is the located crossing. */
static void metadata_records_statistics_and_events(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    char csv[600], meta[600];
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    snprintf(meta, sizeof meta, "%s/r.json", dir);
    json_object *o = integrate_meta("linear --solver msbdf --t-end 5", csv, meta);
    assert_true(stat_of(o, "jac_evals") > 0);
    assert_true(stat_of(o, "rhs_evals") > stat_of(o, "steps"));
    json_object *nw;
    assert_false(json_object_object_get_ex(stats_of(o), "newton", &nw)); /* GSL's: not counted */
    json_object_put(o);

    /* The BDF's Newton counts: a step takes at least one iteration, and
     * every vector field it evaluates past the start is one; on a stiff
     * diagonal system (rates -1 and -1e4) from a first step of 1e-2, the
     * error test must reject steps before h falls to the fast scale. */
    o = integrate_meta("linear A=-1,0,0,-1e4 b=0,0 x0=1,1 --solver bdf --h0 1e-2 --t-end 5", csv,
                       meta);
    assert_true(json_object_object_get_ex(stats_of(o), "newton", &nw));
    long long iters = int_of(nw, "iterations"), setups = int_of(nw, "setups");
    long long err_fails = int_of(nw, "err_fails");
    print_message("bdf: %lld steps, %lld iterations, %lld setups, %lld error-test failures\n",
                  stat_of(o, "steps"), iters, setups, err_fails);
    assert_true(iters >= stat_of(o, "steps"));
    assert_int_equal(stat_of(o, "rhs_evals"), iters + 1);
    assert_true(setups >= 1 && setups <= iters);
    assert_true(err_fails >= 1);
    json_object_put(o);

    o = integrate_meta("linear n=1 A=-1 b=0 x0=1 --rtol 1e-12 --atol 0 --until 'x_1<=0.25'", csv,
                       meta);
    assert_int_equal(stat_of(o, "jac_evals"), 0);
    json_object *events, *ev, *t;
    assert_true(json_object_object_get_ex(o, "events", &events));
    assert_int_equal(json_object_array_length(events), 1);
    ev = json_object_array_get_idx(events, 0);
    assert_true(json_object_object_get_ex(ev, "t", &t));
    assert_true(fabs(json_object_get_double(t) - log(4.0)) < 1e-9 * log(4.0));
    json_object_put(o);

    swt_csv c;
    assert_int_equal(swt_csv_read(csv, &c), 0);
    assert_true(fabs(swt_csv_at(&c, c.rows - 1, "x_1") - 0.25) < 1e-10);
    swt_csv_free(&c);
    swt_rm_rf(dir);
}

/* A preset supplies parameters; the command line overrides it. */
static void preset_then_command_line(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    char ini[600], csv[600];
    snprintf(ini, sizeof ini, "%s/p.ini", dir);
    write_file(ini, "; a decaying pair\n[linear]\nA = -1,0,0,-2\nx0 = 3,4\n");
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    assert_int_equal(swt_run(NULL, NULL,
                             "integrate linear --preset %s x0=5,4 --grid linear --t-end 1 "
                             "--points 3 --rtol 1e-12 --atol 0 --out %s",
                             ini, csv),
                     0);
    swt_csv c;
    assert_int_equal(swt_csv_read(csv, &c), 0);
    assert_true(swt_csv_at(&c, 0, "x_1") == 5.0);
    assert_true(swt_csv_at(&c, 0, "x_2") == 4.0);
    /* A from the preset: x_2(1) = 4 e^{-2}. */
    assert_true(fabs(swt_csv_at(&c, 2, "x_2") - 4 * exp(-2.0)) < 1e-10);
    swt_csv_free(&c);

    write_file(ini, "A = -1,0,0,-2\nthis line is not a pair\n");
    char *err = NULL;
    assert_int_equal(swt_run(NULL, &err, "integrate linear --preset %s --out %s", ini, csv), 2);
    assert_non_null(strstr(err, "line 2 is not KEY = VALUE"));
    free(err);
    swt_rm_rf(dir);
}

/* Integrating to t = 1, saving, and continuing for 1 more lands where one
 * run to t = 2 does: x_1 = e^{-2}, x_2 = 1e-3 e^{t/2} for the default A. */
static void saved_state_continues_the_run(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    char csv[600], st[600];
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    snprintf(st, sizeof st, "%s/state.txt", dir);
    const char *tol = "x0=1,0.001 --rtol 1e-12 --atol 0 --grid linear --points 2 --t-end 1";
    assert_int_equal(swt_run(NULL, NULL, "integrate linear %s --out %s --save-state %s", tol,
                             csv, st), 0);
    assert_int_equal(swt_run(NULL, NULL, "integrate linear %s --init %s --out %s", tol, st, csv),
                     0);
    swt_csv c;
    assert_int_equal(swt_csv_read(csv, &c), 0);
    assert_true(fabs(swt_csv_at(&c, 1, "x_1") - exp(-2.0)) < 1e-11);
    assert_true(fabs(swt_csv_at(&c, 1, "x_2") - 1e-3 * exp(1.0)) < 1e-13);
    swt_csv_free(&c);
    swt_rm_rf(dir);
}

/* A device is written in place, never replaced by a renamed file. */
static void device_output_stays_a_device(void **state)
{
    (void)state;
    assert_int_equal(swt_run(NULL, NULL, "integrate linear --t-end 1 --out /dev/null "
                                         "--meta /dev/null --save-state /dev/null"),
                     0);
    char *dir = swt_tmpdir(), *err = NULL;
    assert_int_equal(swt_run(NULL, NULL, "integrate linear --t-end 1 --out %s/r.csv", dir), 0);
    assert_int_equal(swt_run(NULL, NULL, "plot stages %s/r.csv --out /dev/null", dir), 0);
    /* gnuplot cannot draw to our standard output: refused, not crashed. */
    assert_int_equal(swt_run(NULL, &err, "plot stages %s/r.csv --out -", dir), 2);
    assert_non_null(strstr(err, "plot needs --out FILE.png"));
    struct stat st;
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    free(err);
    swt_rm_rf(dir);
}

/* Result files get 0666 & ~umask like any tool's output, and a long list
 * parameter and the tolerances read back whole from the CSV provenance. */
static void result_files_are_readable_and_whole(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), A[2048] = "";
    double want[64];
    for (int i = 0; i < 64; i++) {
        want[i] = i % 9 == 0 ? -1.0 - 1e-3 * i : 1e-3 * i;
        snprintf(A + strlen(A), sizeof A - strlen(A), "%s%.17g", i ? "," : "", want[i]);
    }
    mode_t old = umask(022);
    assert_int_equal(swt_run(NULL, NULL,
                             "integrate linear n=8 A=%s b=0,0,0,0,0,0,0,0 x0=1,1,1,1,1,1,1,1 "
                             "--t-end 0.1 --rtol 1.2345678901e-9 --atol 9.87654321e-13 "
                             "--out %s/r.csv",
                             A, dir),
                     0);
    umask(old);
    char path[600];
    struct stat st;
    snprintf(path, sizeof path, "%s/r.csv", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    char *text = swt_slurp(path), *line = strstr(text, "# A = ");
    assert_non_null(line);
    char *end = strchr(line, '\n');
    *end = '\0';
    /* Every one of the 64 values, exactly (17 digits round-trip). */
    char *p = line + 6;
    for (int i = 0; i < 64; i++) {
        assert_true(strtod(p, &p) == want[i]);
        assert_true(*p == (i < 63 ? ',' : '\0'));
        p++;
    }
    *end = '\n';
    line = strstr(text, "# solver = rk8pd rtol=");
    assert_non_null(line);
    assert_true(strtod(line + 22, &p) == 1.2345678901e-9);
    assert_true(strncmp(p, " atol=", 6) == 0);
    assert_true(strtod(p + 6, NULL) == 9.87654321e-13);
    free(text);
    swt_rm_rf(dir);
}

static void every_command_has_help(void **state)
{
    (void)state;
    static const char *cmds[] = {"list", "describe", "integrate", "stages", "plot"};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        char *out = NULL;
        assert_int_equal(swt_run(&out, NULL, "%s --help", cmds[i]), 0);
        assert_non_null(strstr(out, "usage: stagewise"));
        free(out);
    }
    char *err = NULL;
    assert_int_equal(swt_run(NULL, &err, "frobnicate"), 2);
    assert_non_null(strstr(err, "unknown command 'frobnicate' (allowed: list"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_input_exits_2_with_one_line),
        cmocka_unit_test(bad_init_files),
        cmocka_unit_test(long_init_line),
        cmocka_unit_test(unwritable_output),
        cmocka_unit_test(numerical_failure_exits_3),
        cmocka_unit_test(metadata_records_statistics_and_events),
        cmocka_unit_test(preset_then_command_line),
        cmocka_unit_test(saved_state_continues_the_run),
        cmocka_unit_test(device_output_stays_a_device),
        cmocka_unit_test(result_files_are_readable_and_whole),
        cmocka_unit_test(every_command_has_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
