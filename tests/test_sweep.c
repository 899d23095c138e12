/* Sweeps: list parsing and point enumeration, measures against closed
 * forms on `linear`, the 1-versus-2-thread identity of the result file,
 * resuming after a SIGKILL, the refusal to mix sweeps, failed points, the
 * start-Jacobian prediction on Z. */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "stagewise/stages.h"
#include "stagewise/sweep.h"

/* Runs `stagewise ARGS` and fails the test unless it exits with `want`. */
static void run_ok(int want, const char *fmt, ...) SW_PRINTF(2, 3);
static void run_ok(int want, const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char *err = NULL;
    int rc = swt_run(NULL, &err, "%s", args);
    if (rc != want)
        fail_msg("`stagewise %s`: exit %d (want %d): %s", args, rc, want, err);
    free(err);
}

/* ---- lists and points ---------------------------------------------------- */

static void expect_list(const sw_param_def *def, const char *text, const double *want, size_t n)
{
    sw_value v;
    sw_err e;
    if (sw_sweep_list_parse(def, text, &v, &e))
        fail_msg("'%s': %s", text, e.msg);
    if (v.n != n)
        fail_msg("'%s': %zu values, want %zu", text, v.n, n);
    /* Exact: values are rounded to 15 digits, so they equal the decimals. */
    for (size_t i = 0; i < n; i++)
        if (v.v[i] != want[i])
            fail_msg("'%s' value %zu: %.17g, want %.17g", text, i, v.v[i], want[i]);
    free(v.v);
}

static void lists_parse_to_their_values(void **state)
{
    (void)state;
    const sw_param_def real = {"x", SW_PARAM_REAL, "0", -10, 10, ""};
    const sw_param_def integer = {"T", SW_PARAM_INT, "1", 1, 1e6, ""};
    const sw_param_def list = {"A", SW_PARAM_LIST, "", -10, 10, ""};
    expect_list(&real, "1,2.5,-4", (double[]){1, 2.5, -4}, 3);
    expect_list(&real, "7", (double[]){7}, 1);
    expect_list(&real, "0:1:5", (double[]){0, 0.25, 0.5, 0.75, 1}, 5);
    expect_list(&real, "2:-2:3", (double[]){2, 0, -2}, 3);
    expect_list(&real, "1:1000:4:log", (double[]){1, 10, 100, 1000}, 4);
    expect_list(&real, "0:1:11", (double[]){0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}, 11);
    expect_list(&integer, "16:1024:7:log", (double[]){16, 32, 64, 128, 256, 512, 1024}, 7);
    /* 1, 1.33, 1.67, 2, .., 4 rounded, repeats dropped. */
    expect_list(&integer, "1:4:10", (double[]){1, 2, 3, 4}, 4);
    expect_list(&list, "-2:-1:3", (double[]){-2, -1.5, -1}, 3);

    const char *bad[] = {"",       "1,,2",  "a,b",      "1:2",     "1:2:1",   "1:2:x",
                         "1:2:2.5", "0:1:3:log", "1:2:3:lin", "nan:1:3", "1:2:3:log:5", "1:inf:3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sw_value v;
        sw_err e;
        if (sw_sweep_list_parse(&real, bad[i], &v, &e) != SW_EINPUT)
            fail_msg("'%s' was accepted", bad[i]);
        assert_null(v.v);
    }
    sw_value v;
    sw_err e;
    assert_int_equal(sw_sweep_list_parse(&list, "1,2,3", &v, &e), SW_EINPUT);
    assert_non_null(strstr(e.msg, "lo:hi:n"));
}

/* Published splitmix64 outputs from state 0 (Vigna's reference generator):
 * sw_sweep_seed(0, p) is the mix of splitmix64(0) ^ p, so choosing p to
 * cancel or advance the state reproduces the reference stream. */
static void seeds_are_splitmix64(void **state)
{
    (void)state;
    const uint64_t g = 0x9e3779b97f4a7c15ULL, out1 = 0xe220a8397b1dcdafULL;
    assert_true(sw_sweep_seed(0, out1) == out1);
    assert_true(sw_sweep_seed(0, out1 ^ g) == 0x6e789e6aa1b965f4ULL);
    assert_true(sw_sweep_seed(0, out1 ^ (2 * g)) == 0x06c45d188009454fULL);
}

/* The first axis varies slowest; each point's model carries its values and
 * a seed in the parameter's range, different for every point unless
 * same_seed asks to keep it. */
static void points_enumerate_in_order_with_their_seeds(void **state)
{
    (void)state;
    sw_model *base = swt_model("z-full", "seed=77", NULL);
    const sw_system *sys = base->sys;
    for (int same = 0; same <= 1; same++) {
        sw_sweep_axis axes[2] = {{sw_param_index(sys, "d"), {0, NULL}},
                                 {sw_param_index(sys, "T"), {0, NULL}}};
        sw_err e;
        const char *lists[2] = {"2,3", "4:16:3:log"};
        for (size_t a = 0; a < 2; a++)
            assert_int_equal(
                sw_sweep_list_parse(&sys->params[axes[a].param], lists[a], &axes[a].values, &e),
                SW_OK);
        sw_sweep_opts o;
        sw_sweep_opts_default(&o);
        o.same_seed = same;
        const char *ms[] = {"plateau"};
        sw_sweep *s;
        if (sw_sweep_alloc(base, 2, axes, 1, ms, &o, &s, &e))
            fail_msg("%s", e.msg);
        assert_int_equal(s->n_points, 6);
        double seeds[6];
        for (size_t p = 0; p < 6; p++) {
            sw_model *m;
            assert_int_equal(sw_sweep_model(s, p, &m, &e), SW_OK);
            assert_true(sw_model_get(m, "d") == (p < 3 ? 2 : 3));
            const double T[] = {4, 8, 16};
            assert_true(sw_model_get(m, "T") == T[p % 3]);
            seeds[p] = sw_model_get(m, "seed");
            assert_true(seeds[p] >= 1 && seeds[p] <= 4294967295.0);
            if (same)
                assert_true(seeds[p] == 77);
            for (size_t q = 0; !same && q < p; q++)
                assert_true(seeds[q] != seeds[p]);
            sw_model_free(m);
        }
        sw_sweep_free(s);
    }
    sw_model_free(base);
}

/* ---- measures on closed forms ---------------------------------------------- */

/* dx/dt = a x, x(0) = 1: loss e^{2at}/2 reaches X at ln(2X)/(2a), a
 * fraction f of its start at ln(f)/(2a); x(t_end) = e^{a t_end}.  The
 * slowest rate misses the event before t-end: nan, status 1, a reason. */
static void linear_measures_match_closed_forms(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    char out[512];
    snprintf(out, sizeof out, "%s/lin.csv", dir);
    run_ok(0,
           "sweep linear n=1 b=0 x0=1 A=-3:-0.25:12 --measure 'event:loss<=0.01' "
           "--measure plateau:0.1 --measure final:x_1 --measure final:loss --t-end 3 "
           "--rtol 1e-11 --atol 0 --out %s",
           out);
    swt_csv c;
    assert_int_equal(swt_csv_read(out, &c), 0);
    assert_int_equal(c.rows, 12);
    char *text = swt_slurp(out);
    size_t unreached = 0;
    for (size_t i = 0; i < c.rows; i++) {
        double a = swt_csv_at(&c, i, "A");
        assert_true(swt_csv_at(&c, i, "point") == (double)i);
        assert_true(fabs(a - (-3 + 2.75 * (double)i / 11)) < 1e-15);
        double t_ev = log(0.02) / (2 * a), t_pl = log(0.1) / (2 * a), xf = exp(3 * a);
        double got = swt_csv_at(&c, i, "t_event");
        if (t_ev > 3) {
            /* Not reached: no value, status 1, and the reason beside the row. */
            assert_true(isnan(got));
            assert_true(swt_csv_at(&c, i, "status") == 1);
            char key[96];
            snprintf(key, sizeof key, "# failure_%zu = t_event: loss<=0.01 not reached", i);
            assert_non_null(strstr(text, key));
            unreached++;
        } else {
            if (fabs(got / t_ev - 1) > 1e-8)
                fail_msg("A = %g: t_event %.12g, closed form %.12g", a, got, t_ev);
            assert_true(swt_csv_at(&c, i, "status") == 0);
        }
        if (fabs(swt_csv_at(&c, i, "t_plateau_0.1") / t_pl - 1) > 1e-8)
            fail_msg("A = %g: t_plateau %.12g, closed form %.12g", a,
                     swt_csv_at(&c, i, "t_plateau_0.1"), t_pl);
        if (fabs(swt_csv_at(&c, i, "final_x_1") / xf - 1) > 1e-8)
            fail_msg("A = %g: x(3) %.12g, closed form %.12g", a, swt_csv_at(&c, i, "final_x_1"),
                     xf);
        assert_true(fabs(swt_csv_at(&c, i, "final_loss") / (0.5 * xf * xf) - 1) < 1e-8);
    }
    /* -0.25 and -0.5 need t = 7.8 and 3.9 > 3. */
    assert_int_equal(unreached, 2);
    free(text);
    swt_csv_free(&c);
    swt_rm_rf(dir);
}

/* x' = -x, y' = 0 from (1, eps): loss (e^{-2t} + eps^2)/2 falls from 1/2 to
 * a plateau at eps^2/2.  stage:1 must be what the stage detector finds on
 * the exact curve over the same output times (the integration adds
 * rtol-sized differences only), and near ln(2)/2, where the loss is
 * halfway between the two levels. */
static void stage_measure_is_the_detector_on_the_run(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    char out[512];
    snprintf(out, sizeof out, "%s/st.csv", dir);
    const double eps = 1e-3, t_end = 100;
    enum { NP = 300 };
    run_ok(0,
           "sweep linear n=2 A=-1,0,0,0 b=0,0 x0=1,%g --measure stage:1 --measure stage:2 "
           "--t-end %g --points %d --rtol 1e-11 --atol 0 --out %s",
           eps, t_end, NP, out);
    swt_csv c;
    assert_int_equal(swt_csv_read(out, &c), 0);
    assert_int_equal(c.rows, 1);

    /* The driver's log grid: 0, then t-end * 1e-6 .. t-end. */
    double t[NP], L[NP], t_first = t_end * 1e-6;
    t[0] = 0;
    for (size_t i = 1; i < NP; i++)
        t[i] = t_first * pow(t_end / t_first, (double)(i - 1) / (NP - 2));
    t[NP - 1] = t_end;
    for (size_t i = 0; i < NP; i++)
        L[i] = 0.5 * (exp(-2 * t[i]) + eps * eps);
    sw_stages_opts o;
    sw_stages_opts_default(&o);
    sw_stages st;
    sw_err e;
    assert_int_equal(sw_stages_detect(t, L, NP, &o, &st, &e), SW_OK);
    assert_int_equal(st.n_transitions, 1);
    double got = swt_csv_at(&c, 0, "t_stage_1");
    if (fabs(got / st.t_transition[0] - 1) > 1e-6)
        fail_msg("t_stage_1 %.12g, detector on the exact curve %.12g", got, st.t_transition[0]);
    assert_true(fabs(got / (log(2) / 2) - 1) < 0.05);
    /* There is no second transition. */
    assert_true(isnan(swt_csv_at(&c, 0, "t_stage_2")));
    assert_true(swt_csv_at(&c, 0, "status") == 1);
    sw_stages_clear(&st);
    swt_csv_free(&c);
    swt_rm_rf(dir);
}

/* level:K is the event at the halfway line between the model's own levels
 * L_{K-1} and L_K: the same time as that event given by hand. */
static void level_measure_crosses_the_halfway_line(void **state)
{
    (void)state;
    sw_model *m = swt_model("y-reduced", "H=3", "K=3", "T=8", "gamma=3", NULL);
    assert_true(m->n_levels >= 3);
    double thr = 0.5 * (m->levels[1] + m->levels[2]);
    sw_model_free(m);
    char *dir = swt_tmpdir();
    char out[512];
    snprintf(out, sizeof out, "%s/lv.csv", dir);
    run_ok(0,
           "sweep y-reduced H=3 K=3 T=8 gamma=3 --measure level:2 --measure 'event:loss<=%.17g' "
           "--t-end 1e4 --same-seed --out %s",
           thr, out);
    swt_csv c;
    assert_int_equal(swt_csv_read(out, &c), 0);
    double lv = swt_csv_at(&c, 0, "t_level_2"), ev = swt_csv_at(&c, 0, "t_event");
    assert_true(isfinite(lv) && lv > 0);
    assert_true(fabs(lv / ev - 1) < 1e-12);
    swt_csv_free(&c);
    swt_rm_rf(dir);
}

/* escape:EPS:COND is one row of `stagewise escape` with the symmetric base
 * and the seeded random direction: the same time, whatever computes it. */
static void escape_measure_is_a_row_of_the_escape_command(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    const char *model = "y-reduced H=3 K=3 T=8 sigma=0 seed=3";
    run_ok(0,
           "sweep %s --measure 'escape:1e-2:loss<=2' --measure 'escape:1e-3:loss<=2' "
           "--same-seed --solver msbdf --t-end 1e5 --out %s/sw.csv",
           model, dir);
    run_ok(0,
           "escape %s --until 'loss<=2' --eps 1e-2:1e-3:2 --solver msbdf --t-end 1e5 "
           "--out %s/esc.csv",
           model, dir);
    char p[512];
    swt_csv sw, es;
    snprintf(p, sizeof p, "%s/sw.csv", dir);
    assert_int_equal(swt_csv_read(p, &sw), 0);
    snprintf(p, sizeof p, "%s/esc.csv", dir);
    assert_int_equal(swt_csv_read(p, &es), 0);
    assert_int_equal(es.rows, 2);
    double a = swt_csv_at(&sw, 0, "t_escape"), b = swt_csv_at(&sw, 0, "t_escape_2");
    assert_true(isfinite(a) && isfinite(b) && b > a);
    assert_true(fabs(a / swt_csv_at(&es, 0, "t_escape") - 1) < 1e-12);
    assert_true(fabs(b / swt_csv_at(&es, 1, "t_escape") - 1) < 1e-12);
    swt_csv_free(&sw);
    swt_csv_free(&es);
    swt_rm_rf(dir);
}

/* ---- threads, resuming, refusing ----------------------------------------- */

/* A seeded system with random initial logits, so that every point's
 * result depends on its seed: the files from 1 and 2 threads must still be
 * byte for byte the same. */
static void one_and_two_threads_write_the_same_file(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    const char *args = "sweep z-full d=2:4:3 T=4:16:3:log sigma=0.3 seed=5,6 "
                       "--measure plateau --measure final:S --t-end 2000 --predict";
    run_ok(0, "%s --threads 1 --out %s/one.csv", args, dir);
    run_ok(0, "%s --threads 2 --out %s/two.csv", args, dir);
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/one.csv", dir);
    snprintf(p2, sizeof p2, "%s/two.csv", dir);
    char *a = swt_slurp(p1), *b = swt_slurp(p2);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);

    /* The seeds reach the model: the two replicates (seed=5, seed=6) of
     * each (d, T) start from different logits and escape at different
     * times, while lambda_plus (seed-free) agrees. */
    swt_csv c;
    assert_int_equal(swt_csv_read(p1, &c), 0);
    assert_int_equal(c.rows, 18);
    for (size_t i = 0; i < 18; i += 2) {
        size_t j = i + 1; /* seed is the last axis: fastest */
        assert_true(swt_csv_at(&c, i, "point_seed") != swt_csv_at(&c, j, "point_seed"));
        assert_true(swt_csv_at(&c, i, "t_plateau") != swt_csv_at(&c, j, "t_plateau"));
        assert_true(swt_csv_at(&c, i, "lambda_plus") == swt_csv_at(&c, j, "lambda_plus"));
        assert_true(swt_csv_at(&c, i, "status") == 0);
    }
    swt_csv_free(&c);
    free(a);
    free(b);
    swt_rm_rf(dir);
}

static size_t data_rows(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    size_t n = 0;
    char line[4096];
    while (fgets(line, sizeof line, fp))
        n += line[0] != '#' && strchr(line, '\n');
    fclose(fp);
    return n ? n - 1 : 0; /* the header */
}

/* Many cheap points, killed (SIGKILL: no chance to clean up) once three
 * are in the file, then rerun: every point exactly once, and the file the
 * same as an uninterrupted run's. */
static void killed_sweep_resumes_to_the_same_file(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    char part[512], whole[512];
    snprintf(part, sizeof part, "%s/part.csv", dir);
    snprintf(whole, sizeof whole, "%s/whole.csv", dir);
    enum { N = 60 };
    const char *argv[] = {"stagewise", "sweep", "linear", "n=1", "b=0", "x0=1", "A=-1:-0.5:60",
                          "--measure", "final:x_1", "--measure", "plateau", "--t-end", "1",
                          "--points", "20000", "--grid", "linear", "--threads", "2", "--out",
                          part, NULL};
    const char *bin = swt_bin();
    assert_true(swt_file_exists(bin));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(126);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    size_t seen = 0;
    for (int i = 0; i < 20000 && (seen = data_rows(part)) < 3; i++) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st));
    size_t kept = data_rows(part);
    if (kept < 3 || kept >= N)
        fail_msg("the kill left %zu rows (want 3 to %d): not an interruption mid-sweep", kept,
                 N - 1);

    char *err = NULL;
    int rc = swt_run(NULL, &err, "sweep linear n=1 b=0 x0=1 A=-1:-0.5:60 --measure final:x_1 "
                                 "--measure plateau --t-end 1 --points 20000 --grid linear "
                                 "--threads 2 --out %s",
                     part);
    if (rc != 0)
        fail_msg("resume: exit %d: %s", rc, err);
    assert_non_null(strstr(err, "resuming"));
    free(err);
    run_ok(0,
           "sweep linear n=1 b=0 x0=1 A=-1:-0.5:60 --measure final:x_1 --measure plateau "
           "--t-end 1 --points 20000 --grid linear --threads 1 --out %s",
           whole);

    swt_csv c;
    assert_int_equal(swt_csv_read(part, &c), 0);
    assert_int_equal(c.rows, N);
    for (size_t i = 0; i < N; i++)
        assert_true(swt_csv_at(&c, i, "point") == (double)i);
    swt_csv_free(&c);
    char *a = swt_slurp(part), *b = swt_slurp(whole);
    assert_string_equal(a, b);
    free(a);
    free(b);
    swt_rm_rf(dir);
}

/* A file from another sweep is never extended: exit 2, one line, the file
 * untouched.  The same sweep again is a no-op on a finished file. */
static void a_different_sweep_is_refused(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    char out[512];
    snprintf(out, sizeof out, "%s/s.csv", dir);
    const char *base = "sweep linear n=1 b=0 --t-end 5";
    const char *same = "x0=1 A=-2:-1:5 --measure plateau";
    run_ok(0, "%s %s --out %s", base, same, out);
    char *before = swt_slurp(out);
    const char *other[] = {"x0=1 A=-2:-1:5 --measure plateau:0.25",
                           "x0=1 A=-2:-1:5 --measure plateau --rtol 1e-9",
                           "x0=1 A=-2:-1:5 --measure plateau --t-end 6",
                           "x0=2 A=-2:-1:5 --measure plateau",
                           "x0=1 A=-2:-1:6 --measure plateau",
                           "x0=1 A=-1:-2:5 --measure plateau"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        char *err = NULL;
        int rc = swt_run(NULL, &err, "%s %s --out %s", base, other[i], out);
        if (rc != 2 || !strstr(err, "holds a different sweep"))
            fail_msg("`%s`: exit %d, %s", other[i], rc, err);
        assert_non_null(strchr(err, '\n'));
        assert_true(strchr(err, '\n')[1] == '\0');
        free(err);
        char *after = swt_slurp(out);
        assert_string_equal(before, after);
        free(after);
    }
    run_ok(0, "%s %s --out %s", base, same, out);
    char *again = swt_slurp(out);
    assert_string_equal(before, again);
    free(again);
    free(before);
    swt_rm_rf(dir);
}

/* ---- failures --------------------------------------------------------------- */

static void bad_input_exits_2_and_leaves_nothing(void **state)
{
    (void)state;
    struct {
        const char *args, *needle;
    } cases[] = {
        {"linear n=1 b=0 x0=1 A=-1:-2:3 --measure bogus", "is not a measure"},
        {"linear n=1 b=0 x0=1 A=-1:-2:3 --measure bogus:1", "unknown kind"},
        {"linear n=1 b=0 x0=1 A=-1:-2 --measure plateau", "is not a list"},
        {"linear n=1 b=0 x0=1 A=-1,-2 --measure plateau", "A: expected 1 values"},
        {"linear n=1 b=0 x0=1 nosuch=1,2 --measure plateau", "unknown parameter 'nosuch'"},
        {"linear n=1 b=0 x0=1 A=-1 --measure final:nosuch", "unknown observable 'nosuch'"},
        {"linear n=1 b=0 x0=1 A=-1 --measure plateau:2", "out of range"},
        {"linear n=1 b=0 x0=1 A=-1 --measure stage:0", "out of range"},
        {"linear n=1 b=0 x0=1 A=-1 --measure level:1", "theoretical levels"},
        {"linear n=1 b=0 x0=1 A=-1 --measure 'escape:1e-3:loss<=1'", "has no heads"},
        {"y-reduced --measure 'escape:0:loss<=1'", "out of range"},
        {"y-reduced --measure escape:1e-3", "is not escape:EPS"},
        {"linear n=1 b=0 x0=1 A=-1 --measure plateau --predict", "declares no predicted rate"},
        {"linear n=1 b=0 x0=1 A=-1 --measure plateau --threads 0", "threads"},
        {"linear n=1 b=0 x0=1 A=-1 --measure plateau --threads 1024",
         "threads: 1024 is out of range"},
        {"linear n=1 b=0 x0=1 A=-1 --measure plateau --until 'loss<=1'", "until"},
        {"linear n=1 b=0 x0=1 A=-1", "at least one --measure"},
        {"z-reduced T=32 B=1,16,32 --measure plateau",
         "point 2 (T=32, B=32): B: 32 is out of range"},
        {"z-reduced T=32 T=64 --measure plateau", "given twice"},
        {"nosuch --measure plateau", "unknown system"},
        {"train:nosuch d=4 --measure plateau", "unknown task 'nosuch'"},
        {"train:toy d=4 --measure stage:1", "is for ODE sweeps"},
        {"train:toy d=4 --measure 'escape:1e-3:loss<=1'", "is for ODE sweeps"},
        {"train:toy d=4 --measure plateau --t-end 10", "t-end: not used by a training sweep"},
        {"train:toy d=4 --measure plateau --lr 0", "lr: 0 is out of range"},
        {"z-full d=4 --measure plateau --lr 0.1", "lr: a training option"},
        {"z-full d=4 --measure plateau --noise 0.1", "noise: for training sweeps only"},
        {"train:toy d=4 --measure plateau --summary /nonexistent/s.csv", "needs replicates"},
        {"train:toy d=4 --measure 'event:nosuch<=1'", "nosuch"},
    };
    /* One directory for all: every case must leave it empty. */
    char *dir = swt_tmpdir();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err = NULL;
        int rc = swt_run(NULL, &err, "sweep %s --out %s/x.csv", cases[i].args, dir);
        if (rc != 2 || !err || !strstr(err, cases[i].needle))
            fail_msg("`sweep %s`: exit %d, stderr %s (want 2, '%s')", cases[i].args, rc, err,
                     cases[i].needle);
        assert_true(strncmp(err, "stagewise: ", 11) == 0);
        assert_true(strchr(err, '\n')[1] == '\0');
        char path[512];
        snprintf(path, sizeof path, "%s/x.csv", dir);
        assert_false(swt_file_exists(path));
        free(err);
    }
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            fail_msg("a refused sweep left '%s'", de->d_name);
    closedir(d);
    swt_rm_rf(dir);
    char *err = NULL;
    assert_int_equal(swt_run(NULL, &err, "sweep linear --measure plateau"), 2);
    assert_non_null(strstr(err, "--out"));
    free(err);
}

/* x' = a x blows up for large a: those points fail (nan, status 2, the
 * solver's message with its t) and the others still get their values. */
static void numerical_failure_is_recorded_not_fatal(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    char out[512];
    snprintf(out, sizeof out, "%s/f.csv", dir);
    char *err = NULL;
    int rc = swt_run(NULL, &err,
                     "sweep linear n=1 b=0 x0=1 A=-1:100:3 --measure final:x_1 --t-end 10 "
                     "--out %s",
                     out);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    assert_non_null(strstr(err, "1 of 3 points have no value"));
    free(err);
    swt_csv c;
    assert_int_equal(swt_csv_read(out, &c), 0);
    assert_true(fabs(swt_csv_at(&c, 0, "final_x_1") / exp(-10) - 1) < 1e-6);
    assert_true(fabs(swt_csv_at(&c, 1, "final_x_1") / exp(49.5 * 10) - 1) < 1e-6);
    assert_true(isnan(swt_csv_at(&c, 2, "final_x_1")));
    assert_true(swt_csv_at(&c, 2, "status") == 2);
    char *text = swt_slurp(out);
    const char *line = strstr(text, "# failure_2 = final_x_1: ");
    assert_non_null(line);
    assert_non_null(strstr(line, "t = "));
    free(text);
    swt_csv_free(&c);
    swt_rm_rf(dir);
}

/* ---- hardening: torn rows, bad statuses, locks, syncs ------------------------- */

static const char small[] = "sweep linear n=1 b=0 x0=1 A=-1:-0.5:6 --measure final:x_1 "
                            "--measure plateau --t-end 1";

static void put_file(const char *path, const char *text, size_t n)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* The `small` sweep run whole into DIR/whole.csv: its text (caller frees),
 * and in part the path DIR/part.csv for the test's partial files. */
static char *whole_small(const char *dir, char *part, size_t len)
{
    char whole[512];
    snprintf(whole, sizeof whole, "%s/whole.csv", dir);
    snprintf(part, len, "%s/part.csv", dir);
    run_ok(0, "%s --threads 1 --out %s", small, whole);
    return swt_slurp(whole);
}

/* Bytes of text up to the end of its k-th data row (the header row not
 * counted). */
static size_t rows_end(const char *text, size_t k)
{
    const char *p = text;
    size_t seen = 0;
    int header = 1;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        if (*p != '#') {
            if (header)
                header = 0;
            else if (++seen > k)
                break;
        }
        p = nl + 1;
    }
    return (size_t)(p - text);
}

/* A kill -9 or a crash mid-append leaves half a row (no newline) or a row
 * short of fields; resuming drops it, says so, and computes that point
 * again: the file ends identical to an uninterrupted run's. */
static void torn_last_row_is_dropped_and_recomputed(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), part[512];
    char *w = whole_small(dir, part, sizeof part);
    size_t three = rows_end(w, 3), four = rows_end(w, 4);
    const char *row4 = w + three;
    const char *second_comma = strchr(strchr(row4, ',') + 1, ',');
    struct {
        const char *what;
        char text[8192];
        size_t n;
    } cases[3];
    /* half of row 4, no newline */
    cases[0].what = "half a row";
    memcpy(cases[0].text, w, three + 5);
    cases[0].n = three + 5;
    /* row 4 cut after two fields, newline kept */
    cases[1].what = "a short row";
    memcpy(cases[1].text, w, (size_t)(second_comma - w));
    cases[1].text[second_comma - w] = '\n';
    cases[1].n = (size_t)(second_comma - w) + 1;
    /* row 4 whole but its newline missing */
    cases[2].what = "a row without its newline";
    memcpy(cases[2].text, w, four - 1);
    cases[2].n = four - 1;
    for (size_t i = 0; i < 3; i++) {
        assert_true(cases[i].n < sizeof cases[i].text);
        put_file(part, cases[i].text, cases[i].n);
        char *err = NULL;
        int rc = swt_run(NULL, &err, "%s --threads 2 --out %s", small, part);
        if (rc != 0 || !strstr(err, "dropped a torn last row"))
            fail_msg("%s: exit %d: %s", cases[i].what, rc, err);
        assert_non_null(strstr(err, "3 of 6 points"));
        free(err);
        char *p = swt_slurp(part);
        if (strcmp(p, w) != 0)
            fail_msg("%s: the resumed file differs from the whole run's", cases[i].what);
        free(p);
    }
    free(w);
    swt_rm_rf(dir);
}

/* A status that is not a code (huge, nan, negative, fractional) is bad
 * input: exit 2 with one line naming it, the file untouched; never a cast
 * of 1e300 or nan to int. */
static void a_resumed_status_must_be_a_code(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), part[512];
    char *w = whole_small(dir, part, sizeof part);
    size_t two = rows_end(w, 2);
    const char *bad[] = {"1e300", "nan", "-1", "0.5", "3", "inf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* rows 1 and 2, their status replaced */
        char text[8192];
        assert_true(two < sizeof text - 32);
        memcpy(text, w, two);
        char *last_comma = text + two - 1;
        while (*last_comma != ',')
            last_comma--;
        int n = snprintf(last_comma + 1, 32, "%s\n", bad[i]);
        size_t len = (size_t)(last_comma + 1 - text) + (size_t)n;
        put_file(part, text, len);
        char *err = NULL;
        int rc = swt_run(NULL, &err, "%s --out %s", small, part);
        if (rc != 2 || !strstr(err, "is not a status") || strchr(err, '\n')[1] != '\0')
            fail_msg("status %s: exit %d: %s", bad[i], rc, err);
        free(err);
        char *p = swt_slurp(part);
        assert_int_equal(strlen(p), len);
        assert_memory_equal(p, text, len);
        free(p);
    }
    free(w);
    swt_rm_rf(dir);
}

/* A file shorter than this sweep's head: part of the head (a first run
 * killed while writing it) starts afresh; anything else is another file
 * and is refused, untouched. */
static void a_short_file_is_a_partial_head_or_refused(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), part[512];
    char *w = whole_small(dir, part, sizeof part);
    put_file(part, w, 10);
    run_ok(0, "%s --threads 1 --out %s", small, part);
    char *p = swt_slurp(part);
    assert_string_equal(p, w);
    free(p);
    put_file(part, "x,y\n1,2\n", 8);
    char *err = NULL;
    int rc = swt_run(NULL, &err, "%s --out %s", small, part);
    if (rc != 2 || !strstr(err, "holds a different sweep"))
        fail_msg("exit %d: %s", rc, err);
    free(err);
    p = swt_slurp(part);
    assert_string_equal(p, "x,y\n1,2\n");
    free(p);
    free(w);
    swt_rm_rf(dir);
}

/* While one sweep holds the file, a second into it is refused (exit 2,
 * one line) instead of computing every point beside the first. */
static void a_second_sweep_into_a_busy_file_is_refused(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    char out[512];
    snprintf(out, sizeof out, "%s/busy.csv", dir);
    int fd = open(out, O_RDWR | O_CREAT, 0666);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0); /* as a running sweep holds it */
    char *err = NULL;
    int rc = swt_run(NULL, &err, "%s --out %s", small, out);
    if (rc != 2 || !strstr(err, "in use by another sweep") || strchr(err, '\n')[1] != '\0')
        fail_msg("exit %d: %s", rc, err);
    free(err);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_size, 0);
    close(fd); /* the first sweep ends */
    run_ok(0, "%s --out %s", small, out);
    swt_csv c;
    assert_int_equal(swt_csv_read(out, &c), 0);
    assert_int_equal(c.rows, 6);
    swt_csv_free(&c);

    /* Two real sweeps: the second starts while the first runs. */
    snprintf(out, sizeof out, "%s/race.csv", dir);
    const char *argv[] = {"stagewise", "sweep", "linear", "n=1", "b=0", "x0=1", "A=-1:-0.5:60",
                          "--measure", "final:x_1", "--t-end", "1", "--points", "20000",
                          "--grid", "linear", "--threads", "1", "--out", out, NULL};
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(126);
        execv(swt_bin(), (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 20000 && data_rows(out) < 1; i++) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    err = NULL;
    rc = swt_run(NULL, &err,
                 "sweep linear n=1 b=0 x0=1 A=-1:-0.5:60 --measure final:x_1 --t-end 1 "
                 "--points 20000 --grid linear --threads 1 --out %s",
                 out);
    size_t rows_then = data_rows(out);
    int st2;
    waitpid(pid, &st2, 0);
    if (rc != 2 || !strstr(err, "in use by another sweep"))
        fail_msg("a second sweep while the first had %zu rows: exit %d: %s", rows_then, rc,
                 err);
    free(err);
    assert_true(WIFEXITED(st2) && WEXITSTATUS(st2) == 0);
    assert_int_equal(data_rows(out), 60);
    swt_rm_rf(dir);
}

/* Appended rows are synced while the sweep runs, and a machine crash loses
 * at most the row each thread has in flight: strace sees every row written
 * while at most 2 earlier rows (one per thread) wait for an fdatasync that
 * has finished, and an fdatasync after the last row, before the final
 * rewrite (which begins with the header).  The 60 points take microseconds each, far less than a sync, so
 * rows pile up unless the writers wait for the disk. */
static void appended_rows_are_synced(void **state)
{
    (void)state;
    if (system("strace -o /dev/null true >/dev/null 2>&1") != 0) {
        printf("# skipped: strace is missing or cannot trace here\n");
        return;
    }
    char *dir = swt_tmpdir();
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             /* LeakSanitizer cannot run under ptrace */
             "ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=write,fdatasync,rename -o "
             "%s/trace %s sweep linear n=1 b=0 x0=1 A=-1:-0.5:60 --measure final:x_1 "
             "--t-end 1 --threads 2 --out %s/s.csv >/dev/null 2>&1",
             dir, swt_bin(), dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/trace", dir);
    FILE *fp = fopen(cmd, "r");
    assert_non_null(fp);
    /* Lines "[PID ]call(FD, ...) = ..." in time order (the PID once there
     * are threads); rows start with a digit: `write(FD, "3,`.  A call that
     * blocks while another thread runs is split: "fdatasync(3 <unfinished
     * ...>" then "<... fdatasync resumed>) = 0".  A sync covers the rows
     * written before it started (the syncer may cover fewer: it counts
     * them a moment earlier, so this bound is the weaker one). */
    char line[8192];
    int fd = -1, synced_after_last_row = 0;
    size_t rows = 0, syncs = 0, started_at = 0, synced = 0, worst = 0;
    while (fgets(line, sizeof line, fp)) {
        const char *call = line + strspn(line, "0123456789 ");
        int f;
        char c;
        if (sscanf(call, "write(%d, \"%c", &f, &c) == 2 && f == fd && c == '#' && rows) {
            break; /* the final rewrite, into a file that got the same descriptor */
        } else if (sscanf(call, "write(%d, \"%c", &f, &c) == 2 && c >= '0' && c <= '9') {
            if (fd < 0)
                fd = f;
            if (f == fd) {
                worst = rows - synced > worst ? rows - synced : worst;
                rows++;
            }
            synced_after_last_row = synced_after_last_row && f != fd;
        } else if (sscanf(call, "fdatasync(%d", &f) == 1 && f == fd) {
            started_at = rows;
            if (!strstr(call, "<unfinished")) {
                syncs++;
                synced = started_at;
                synced_after_last_row = 1;
            }
        } else if (strncmp(call, "<... fdatasync resumed>", 23) == 0) {
            syncs++;
            synced = started_at;
            synced_after_last_row = started_at == rows;
        }
    }
    fclose(fp);
    if (rows != 60 || !syncs || worst > 2 || !synced_after_last_row)
        fail_msg("%zu rows appended, %zu syncs, at most %zu rows unsynced at a write, last row "
                 "synced: %d",
                 rows, syncs, worst, synced_after_last_row);
    swt_rm_rf(dir);
}

/* ---- training sweeps ----------------------------------------------------------- */

static const char toy_opts[] = "--optim sgd --batch 8 --lr 0.1 --steps 600 --eval-every 10";

/* First row of a train CSV whose loss is <= thr: its step, or -1. */
static double first_step_below(const swt_csv *c, double thr)
{
    for (size_t i = 0; i < c->rows; i++)
        if (swt_csv_at(c, i, "loss") <= thr)
            return swt_csv_at(c, i, "step");
    return -1;
}

/* A training point is `stagewise train` with the point's seed: its
 * emergence step is the first evaluation at or below the threshold in that
 * run's CSV, its final loss the CSV's last, its plateau step the first at
 * half the initial loss; with only conditions to meet, the run stops early
 * and finds the same step. */
static void a_training_point_is_the_train_run(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    run_ok(0,
           "sweep train:toy d=4 T=16 seed=3 --same-seed --measure 'event:loss<=0.1' --measure "
           "final:loss --measure plateau --measure final:S %s --out %s/sw.csv",
           toy_opts, dir);
    run_ok(0, "sweep train:toy d=4 T=16 seed=3 --same-seed --measure 'event:loss<=0.1' %s "
              "--out %s/early.csv",
           toy_opts, dir);
    run_ok(0, "train toy d=4 T=16 seed=3 %s --out %s/tr.csv", toy_opts, dir);
    char p[512];
    swt_csv sw, early, tr;
    snprintf(p, sizeof p, "%s/sw.csv", dir);
    assert_int_equal(swt_csv_read(p, &sw), 0);
    snprintf(p, sizeof p, "%s/early.csv", dir);
    assert_int_equal(swt_csv_read(p, &early), 0);
    snprintf(p, sizeof p, "%s/tr.csv", dir);
    assert_int_equal(swt_csv_read(p, &tr), 0);
    double want = first_step_below(&tr, 0.1);
    assert_true(want > 0 && want < 600);
    assert_true(swt_csv_at(&sw, 0, "step_event") == want);
    assert_true(swt_csv_at(&early, 0, "step_event") == want);
    assert_true(swt_csv_at(&sw, 0, "step_plateau") ==
                first_step_below(&tr, 0.5 * swt_csv_at(&tr, 0, "loss")));
    assert_true(swt_csv_at(&sw, 0, "final_loss") == swt_csv_at(&tr, tr.rows - 1, "loss"));
    assert_true(swt_csv_at(&sw, 0, "final_S") == swt_csv_at(&tr, tr.rows - 1, "S"));
    assert_true(swt_csv_at(&sw, 0, "status") == 0);
    swt_csv_free(&sw);
    swt_csv_free(&early);
    swt_csv_free(&tr);

    /* Not reached by --steps: nan, status 1 and the reason. */
    run_ok(0, "sweep train:toy d=4 T=16 --measure 'event:loss<=1e-9' %s --out %s/no.csv",
           toy_opts, dir);
    snprintf(p, sizeof p, "%s/no.csv", dir);
    char *text = swt_slurp(p);
    assert_non_null(strstr(text, "# failure_0 = step_event: loss<=1e-9 not reached by step 600"));
    free(text);
    swt_rm_rf(dir);
}

/* Seeds as an axis on 1 and 2 threads, and resumed: the same file, byte
 * for byte, with replicates that differ; the summary's medians and quartiles are the
 * order statistics of each group's column. */
static void training_sweeps_are_deterministic_and_summarised(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    const char *args = "sweep train:toy d=4,6 T=16 seed=1:4:4 --measure 'event:loss<=0.1' "
                       "--measure final:loss --measure 'event:loss<=-1'";
    run_ok(0, "%s %s --threads 1 --out %s/one.csv --summary %s/sum.csv", args, toy_opts, dir,
           dir);
    run_ok(0, "%s %s --threads 2 --out %s/two.csv", args, toy_opts, dir);
    char p1[512], p2[512], ps[512];
    snprintf(p1, sizeof p1, "%s/one.csv", dir);
    snprintf(p2, sizeof p2, "%s/two.csv", dir);
    snprintf(ps, sizeof ps, "%s/sum.csv", dir);
    char *a = swt_slurp(p1), *b = swt_slurp(p2);
    assert_string_equal(a, b);
    /* Resumed from its first three rows (and half the fourth): the same. */
    put_file(p2, a, rows_end(a, 3) + 7);
    run_ok(0, "%s %s --threads 2 --out %s", args, toy_opts, p2);
    free(b);
    b = swt_slurp(p2);
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* Other trainer settings are another sweep. */
    char *err = NULL;
    int rc = swt_run(NULL, &err, "%s %s --lr 0.2 --out %s", args, toy_opts, p2);
    if (rc != 2 || !strstr(err, "holds a different sweep") || !strstr(err, "lr=0.2"))
        fail_msg("--lr 0.2 into an lr 0.1 sweep: exit %d: %s", rc, err);
    free(err);

    swt_csv c, s;
    assert_int_equal(swt_csv_read(p1, &c), 0);
    assert_int_equal(swt_csv_read(ps, &s), 0);
    assert_int_equal(c.rows, 8);
    assert_int_equal(s.rows, 2);
    for (size_t g = 0; g < 2; g++) {
        double x[4];
        for (size_t k = 0; k < 4; k++)
            x[k] = swt_csv_at(&c, 4 * g + k, "final_loss");
        assert_true(x[0] != x[1] && x[1] != x[2]); /* the seeds matter */
        for (size_t i = 1; i < 4; i++) /* insertion sort */
            for (size_t j = i; j > 0 && x[j - 1] > x[j]; j--) {
                double t = x[j];
                x[j] = x[j - 1];
                x[j - 1] = t;
            }
        /* n = 4: the median halves x[1], x[2]; q25 at 0.75 of x[0]..x[1] */
        assert_true(swt_csv_at(&s, g, "d") == (g ? 6 : 4));
        assert_true(swt_csv_at(&s, g, "replicates") == 4);
        assert_true(fabs(swt_csv_at(&s, g, "final_loss_median") - (x[1] + x[2]) / 2) <
                    1e-15 * x[3]);
        assert_true(fabs(swt_csv_at(&s, g, "final_loss_q25") - (x[0] + 0.75 * (x[1] - x[0]))) <
                    1e-15 * x[3]);
        assert_true(fabs(swt_csv_at(&s, g, "final_loss_q75") - (x[2] + 0.25 * (x[3] - x[2]))) <
                    1e-15 * x[3]);
        assert_true(swt_csv_at(&s, g, "final_loss_n") == 4);
        /* never reached: no statistic, no replicate with a value */
        assert_true(isnan(swt_csv_at(&s, g, "step_event_2_median")));
        assert_true(swt_csv_at(&s, g, "step_event_2_n") == 0);
        /* d = 6 emerges after the 600 steps: none of its seeds has a value */
        assert_true(swt_csv_at(&s, g, "step_event_n") == (g ? 0 : 4));
        assert_true(isnan(swt_csv_at(&s, g, "step_event_median")) == (g == 1));
    }
    swt_csv_free(&c);
    swt_csv_free(&s);
    swt_rm_rf(dir);
}

/* A sweep over transformer runs (tf-location, two seeds): the same file on
 * 1 and 2 threads, resumed to the same file from a cut one, and each
 * point's emergence step is the one `train` reports in its JSON for that
 * point's seed. */
static void transformer_sweeps_are_deterministic_and_are_train_runs(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    const char *model = "L=1 heads=2 d_model=16 d_qk=8 d=4 n_test=64";
    const char *opts = "--optim adam --lr 1e-2 --batch 16 --steps 400 --eval-every 10";
    run_ok(0, "sweep train:tf-location T=4,8 seed=1:2:2 %s --measure 'event:loss<=0.1' %s "
              "--threads 1 --out %s/one.csv", model, opts, dir);
    run_ok(0, "sweep train:tf-location T=4,8 seed=1:2:2 %s --measure 'event:loss<=0.1' %s "
              "--threads 2 --out %s/two.csv", model, opts, dir);
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/one.csv", dir);
    snprintf(p2, sizeof p2, "%s/two.csv", dir);
    char *a = swt_slurp(p1), *b = swt_slurp(p2);
    assert_string_equal(a, b);
    /* Cut inside the third row: the resumed file is the whole run's. */
    put_file(p2, a, rows_end(a, 2) + 5);
    run_ok(0, "sweep train:tf-location T=4,8 seed=1:2:2 %s --measure 'event:loss<=0.1' %s "
              "--threads 2 --out %s", model, opts, p2);
    free(b);
    b = swt_slurp(p2);
    assert_string_equal(a, b);
    free(a);
    free(b);

    swt_csv c;
    assert_int_equal(swt_csv_read(p1, &c), 0);
    assert_int_equal(c.rows, 4);
    /* Seeds are replicates: two different steps at one T, all emerged. */
    assert_true(swt_csv_at(&c, 2, "step_event") != swt_csv_at(&c, 3, "step_event") ||
                swt_csv_at(&c, 0, "step_event") != swt_csv_at(&c, 1, "step_event"));
    for (size_t i = 0; i < 4; i++) {
        double step = swt_csv_at(&c, i, "step_event");
        assert_true(step > 0 && step < 400);
        run_ok(0, "train tf-location T=%.0f seed=%.0f %s %s --stop-at-emergence --out %s/r.csv",
               swt_csv_at(&c, i, "T"), swt_csv_at(&c, i, "point_seed"), model, opts, dir);
        char pj[600];
        snprintf(pj, sizeof pj, "%s/r.json", dir);
        char *json = swt_slurp(pj), *em = strstr(json, "\"emergence\"");
        char *at = em ? strstr(em, "\"step\":") : NULL;
        if (!at || strtod(at + 7, NULL) != step)
            fail_msg("point %zu: the sweep's step %.0f is not train's: %s", i, step,
                     at ? at : json);
        free(json);
    }
    swt_csv_free(&c);
    swt_rm_rf(dir);
}

/* ---- prediction ------------------------------------------------------------- */

/* docs/math.md's worked example: d = 16, T = 64, B = 1, p = 0 has
 * lambda+ = 0.00341796875 exactly (7/2048). */
static void predict_gives_the_start_eigenvalue(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    char out[512];
    snprintf(out, sizeof out, "%s/p.csv", dir);
    run_ok(0, "sweep z-reduced d=16 T=64 B=1 p=0 --measure plateau --predict --t-end 1e5 --out %s",
           out);
    swt_csv c;
    assert_int_equal(swt_csv_read(out, &c), 0);
    double lp = swt_csv_at(&c, 0, "lambda_plus");
    assert_true(fabs(lp / 0.00341796875 - 1) < 1e-12);
    /* 1/lambda+ = 2048/7 exactly (docs/math.md's example). */
    assert_true(fabs(swt_csv_at(&c, 0, "t_scale") / (2048.0 / 7.0) - 1) < 1e-12);
    swt_csv_free(&c);
    swt_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lists_parse_to_their_values),
        cmocka_unit_test(seeds_are_splitmix64),
        cmocka_unit_test(points_enumerate_in_order_with_their_seeds),
        cmocka_unit_test(linear_measures_match_closed_forms),
        cmocka_unit_test(stage_measure_is_the_detector_on_the_run),
        cmocka_unit_test(level_measure_crosses_the_halfway_line),
        cmocka_unit_test(escape_measure_is_a_row_of_the_escape_command),
        cmocka_unit_test(one_and_two_threads_write_the_same_file),
        cmocka_unit_test(killed_sweep_resumes_to_the_same_file),
        cmocka_unit_test(a_different_sweep_is_refused),
        cmocka_unit_test(bad_input_exits_2_and_leaves_nothing),
        cmocka_unit_test(numerical_failure_is_recorded_not_fatal),
        cmocka_unit_test(predict_gives_the_start_eigenvalue),
        cmocka_unit_test(torn_last_row_is_dropped_and_recomputed),
        cmocka_unit_test(a_resumed_status_must_be_a_code),
        cmocka_unit_test(a_short_file_is_a_partial_head_or_refused),
        cmocka_unit_test(a_second_sweep_into_a_busy_file_is_refused),
        cmocka_unit_test(appended_rows_are_synced),
        cmocka_unit_test(a_training_point_is_the_train_run),
        cmocka_unit_test(training_sweeps_are_deterministic_and_summarised),
        cmocka_unit_test(transformer_sweeps_are_deterministic_and_are_train_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
