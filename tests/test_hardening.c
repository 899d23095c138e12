/* The reproducers of a bad-input campaign (issue 15), one test per family:
 * every bad request ends with exit 2 (bad input, including sizes over the
 * budgets) or 3 (a run that cannot finish, with what and at which t), one
 * line on standard error, no file left behind, and within seconds.  Each
 * command runs under `timeout`, so a regression to a hang fails the test
 * instead of stalling the suite. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

/* Seconds any one command may take before it counts as a hang. */
#define LIMIT 30

static int has_temp_file(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int found = 0;
    for (struct dirent *de; (de = readdir(d));)
        found |= strstr(de->d_name, ".tmp.") != NULL;
    closedir(d);
    return found;
}

static void write_bytes(const char *path, const char *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

/* Runs `timeout LIMIT stagewise ARGS` (shell text: ARGS may redirect) with
 * standard error captured, and checks the contract: exit status code, one
 * line starting "stagewise: " and holding needle, and no entry added to
 * dir (when dir is non-NULL). */
static void expect(int code, const char *needle, const char *dir, const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    size_t before = dir ? swt_dir_entries(dir) : 0;
    char *tdir = swt_tmpdir(), cmd[8192];
    snprintf(cmd, sizeof cmd, "timeout %d %s %s 2>%s/err </dev/null", LIMIT, swt_bin(), args,
             tdir);
    int st = system(cmd);
    char path[600];
    snprintf(path, sizeof path, "%s/err", tdir);
    char *err = swt_slurp(path);
    swt_rm_rf(tdir);
    int got = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    assert_non_null(err);
    if (got != code || !strstr(err, needle))
        fail_msg("`%s`: exit %d (want %d), stderr: %s (want '%s')", args, got, code, err, needle);
    if (code != 0) {
        assert_true(strncmp(err, "stagewise: ", 11) == 0);
        assert_non_null(strchr(err, '\n'));
        if (strchr(err, '\n')[1] != '\0')
            fail_msg("`%s`: more than one line on stderr: %s", args, err);
    }
    if (dir && code != 0)
        assert_int_equal(swt_dir_entries(dir), before);
    free(err);
}

/* A preset means exactly what its lines say, or it is refused. */
static void preset_means_what_it_says(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), ini[600], csv[600], sub[600];
    snprintf(ini, sizeof ini, "%s/p.ini", dir);
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);

    /* A comment longer than libinih's 200-byte buffer: its tail is not a
     * pair.  linear's default x0 is 1,0. */
    char text[400] = "#";
    memset(text + 1, 'x', 197);
    strcpy(text + 198, "x0 = 7,7\n");
    write_text(ini, text);
    expect(0, "", NULL, "integrate linear --preset %s --t-end 1 --points 2 --out %s", ini, csv);
    swt_csv c;
    assert_int_equal(swt_csv_read(csv, &c), 0);
    assert_true(swt_csv_at(&c, 0, "x_1") == 1.0);
    assert_true(swt_csv_at(&c, 0, "x_2") == 0.0);
    swt_csv_free(&c);
    unlink(csv);
    char json[600];
    snprintf(json, sizeof json, "%s/r.json", dir);
    unlink(json);

    write_text(ini, "x0 = 3,4\n  5,6\n"); /* no continuation lines */
    expect(2, "preset: '", dir, "integrate linear --preset %s --out %s", ini, csv);
    expect(2, "p.ini' line 2 is not KEY = VALUE", dir, "integrate linear --preset %s --out %s",
           ini, csv);
    write_bytes(ini, "x0 = 3,4\0junk\n", 14);
    expect(2, "p.ini' line 1 holds a NUL byte", dir, "integrate linear --preset %s --out %s", ini,
           csv);
    char big[6000];
    memset(big, 'x', sizeof big);
    big[0] = '#';
    big[sizeof big - 1] = '\0';
    write_text(ini, big);
    expect(2, "line 1 is longer than the limit of 4096 bytes", dir,
           "integrate linear --preset %s --out %s", ini, csv);
    write_text(ini, "[linear\nx0 = 3,4\n");
    expect(2, "line 1 is not a [section]", dir, "integrate linear --preset %s --out %s", ini, csv);
    write_text(ini, "x0 =\n");
    expect(2, "line 1 is not KEY = VALUE", dir, "integrate linear --preset %s --out %s", ini, csv);
    assert_int_equal(mkdir(sub, 0700), 0);
    expect(2, "sub' is a directory (allowed: a file)", dir,
           "integrate linear --preset %s --out %s", sub, csv);
    expect(2, "preset: '/dev/zero' line 1 holds a NUL byte", dir,
           "integrate linear --preset /dev/zero --out %s", csv);
    /* Random bytes: a control byte, or a line that is not a pair. */
    expect(2, "'/dev/urandom' line ", dir, "integrate linear --preset /dev/urandom --out %s",
           csv);
    swt_rm_rf(dir);
}

/* Initial states and CSV inputs: the same limits, whatever the command. */
static void readers_refuse_devices_and_junk(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), csv[600], junk[600];
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    snprintf(junk, sizeof junk, "%s/junk.csv", dir);
    expect(2, "init: '/dev/zero' line 1 holds a NUL byte", dir,
           "integrate linear --init /dev/zero --out %s", csv);
    /* A control byte, or a token of other bytes that is not a number. */
    expect(2, "'/dev/urandom' line ", dir, "integrate linear --init /dev/urandom --out %s", csv);
    expect(2, "'/dev/zero' line 1 holds a NUL byte", dir, "stages /dev/zero --out %s", csv);
    expect(2, "'/dev/urandom' line ", dir, "fit /dev/urandom --y t --law 'C * d^a' --out %s", csv);
    expect(2, "is a directory", dir, "stages %s --out %s", dir, csv);
    /* A token longer than a message (fuzz_init found this read past it). */
    char tok[700];
    memset(tok, '.', sizeof tok - 2);
    tok[sizeof tok - 2] = '\n';
    tok[sizeof tok - 1] = '\0';
    write_text(junk, tok);
    expect(2, "...' in '", dir, "integrate linear --init %s --out %s", junk, csv);
    write_text(junk, "1,2\n3,4\n");
    expect(2, "numbers where the header row of column names belongs", dir, "stages %s --out %s",
           junk, csv);
    swt_rm_rf(dir);
}

/* Output through standard output or a device is checked like a file. */
static void failed_writes_are_reported(void **state)
{
    (void)state;
    expect(1, "cannot write to standard output: No space left on device", NULL,
           "list >/dev/full");
    expect(1, "cannot write to standard output: No space left on device", NULL,
           "describe y-full >/dev/full");
    char *dir = swt_tmpdir(), csv[600], png[600], cmd[1400];
    /* The data fails after its metadata was written: the pair goes whole. */
    expect(1, "cannot write '/dev/full': No space left on device", dir,
           "integrate linear --t-end 1 --out /dev/full --meta %s/r.json", dir);

    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    snprintf(png, sizeof png, "%s/full.png", dir);
    expect(0, "", NULL, "integrate y-reduced --t-end 100 --points 20 --out %s", csv);
    snprintf(cmd, sizeof cmd, "ln -s /dev/full %s", png);
    assert_int_equal(system(cmd), 0);
    expect(1, "full.png': No space left on device", dir, "plot stages %s --out %s", csv, png);
    swt_rm_rf(dir);
}

/* Requests too large for the machine or the budgets: refused before any
 * allocation, naming the limit and the estimate. */
static void sizes_refused_before_allocation(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), csv[600];
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    expect(2, "(65600 coordinates, solver msbdf, 200 points) needs about 96.2 GiB of memory, "
              "over the limit of",
           dir, "integrate z-full d=256 --solver msbdf --out %s", csv);
    expect(2, "needs about 2.06 TiB of memory", dir,
           "integrate y-simplex H=64 K=64 T=4096 --solver bsimp --out %s", csv);
    expect(2,
           "saddle refinement on y-reduced (266240 coordinates, 6 dense 266240 x 266240 "
           "matrices) needs about",
           dir, "saddle y-reduced H=64 K=64 T=4096 --out %s", csv);
    expect(2, "needs about 2.64 KiB of memory, over the limit of 1 KiB (--max-memory raises it)",
           dir, "integrate z-reduced --max-memory 1K --out %s", csv);
    expect(2, "max-memory: 'lots' is not a size", dir,
           "integrate z-reduced --max-memory lots --out %s", csv);
    expect(2, "needs at least 99999999 steps (one per output time), over the step budget", dir,
           "integrate z-reduced --points 1e8 --out %s", csv);
    /* z-full's teacher is a d x d QR: at d = 4096 about 15 s of CPU, refused
     * before it starts (d^3/32 + d^2 counted), from integrate and from the
     * trainer, whose budget converts at the ratio of the defaults. */
    expect(2, "z-full's setup needs at least 2.16e+09 coordinate evaluations of work, over the "
              "limit of 1e+09 (--max-work raises it)",
           dir, "integrate z-full d=4096 --t-end 1e-3 --out %s", csv);
    expect(2, "z-full's setup needs at least 2.16e+09 coordinate evaluations of work", dir,
           "train toy d=4096 --steps 1 --out %s", csv);
    expect(2, "z-full's setup needs about 896 MiB of memory, over the limit of 100 MiB", dir,
           "integrate z-full d=4096 --max-memory 100M --max-work 1e10 --out %s", csv);
    /* 199 intervals x 13 stages x (1024^2 + 64) coordinates. */
    expect(2, "needs at least 2.71e+09 coordinate evaluations of work, over the limit of 1e+09",
           dir, "integrate z-full d=1024 --t-end 1e-3 --out %s", csv);
    expect(2, "(6552 parameters, 1000 steps of 1000000000000 samples) needs at least 6.55e+18 "
              "coordinate evaluations of work, over the limit of 1e+11 (--max-work raises it)",
           dir, "train markov --optim sgd --batch 1e12 --out %s", csv);
    expect(2, "over the limit of 1e+11 (--max-work raises it)", dir,
           "train markov --optim sgd --steps 1e12 --out %s", csv);
    swt_rm_rf(dir);
}

/* Runs that could never finish end with exit 3, what and at which t. */
static void runs_end_within_their_budget(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), csv[600], init[600];
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    expect(3, "cannot reach t-end 1e+12", dir, "integrate z-reduced --t-end 1e12 --out %s", csv);
    expect(3, "the explicit solver rk8pd is crawling, the system looks stiff; try --solver bdf",
           dir, "integrate y-reduced --t-end 1e12 --out %s", csv);
    expect(3, "cannot reach t-end 1e+308", dir, "integrate z-reduced --t-end 1e308 --out %s",
           csv);
    expect(3, "try --solver bdf", dir, "integrate linear A=-1e6,0,0,-1 --t-end 1e4 --out %s",
           csv);
    expect(3, "step budget of 50 steps (--max-steps) used up at t = ", dir,
           "integrate y-reduced --max-steps 50 --points 10 --out %s", csv);
    expect(2, "rtol: 1e-300 is below the floor 1e-14", dir,
           "integrate y-reduced --rtol 1e-300 --atol 0 --out %s", csv);
    expect(2, "point t=1e+12 is past t-end 10000", NULL, "jacobian y-reduced --at t=1e12");
    expect(3, "escape from eps = 0.1: step budget", NULL,
           "escape y-reduced --until 'loss<=-1' --t-end 1e12");
    expect(3, "cannot reach t-end 1e+08", NULL, "crosscheck y-reduced --lr 1e6 --steps 100");
    snprintf(init, sizeof init, "%s/init.txt", dir);
    write_text(init, "7000000000 0 0\n");
    expect(3, "try --solver bdf", dir, "integrate z-reduced --init %s --out %s", init, csv);
    /* The stiff solver the message suggests does finish. */
    expect(0, "", NULL, "integrate y-reduced --t-end 1e12 --solver bdf --out %s", csv);
    swt_rm_rf(dir);
}

/* A direction of huge entries is still a direction: same escape times as
 * the same direction at unit scale. */
static void escape_direction_is_scaled_safely(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), small[600], large[600], a[600], b[600];
    snprintf(small, sizeof small, "%s/small.txt", dir);
    snprintf(large, sizeof large, "%s/large.txt", dir);
    snprintf(a, sizeof a, "%s/a.csv", dir);
    snprintf(b, sizeof b, "%s/b.csv", dir);
    FILE *fs = fopen(small, "w"), *fl = fopen(large, "w");
    for (int i = 0; i < 57; i++) { /* y-reduced: 57 coordinates */
        fprintf(fs, "%d\n", 1 + i % 3);
        fprintf(fl, "%de200\n", 1 + i % 3);
    }
    fclose(fs);
    fclose(fl);
    const char *run = "escape y-reduced --until 'loss<=1.5' --eps 1e-2:1e-4:3";
    expect(0, "", NULL, "%s --direction %s --out %s >/dev/null", run, small, a);
    expect(0, "", NULL, "%s --direction %s --out %s >/dev/null", run, large, b);
    swt_csv ca, cb;
    assert_int_equal(swt_csv_read(a, &ca), 0);
    assert_int_equal(swt_csv_read(b, &cb), 0);
    assert_int_equal(ca.rows, 3);
    assert_int_equal(cb.rows, 3);
    for (size_t r = 0; r < 3; r++) {
        double ta = swt_csv_at(&ca, r, "t_escape"), tb = swt_csv_at(&cb, r, "t_escape");
        assert_true(isfinite(ta));
        assert_true(fabs(ta - tb) <= 1e-9 * ta);
    }
    /* And the times do depend on eps: the kick is not zero. */
    assert_true(swt_csv_at(&ca, 2, "t_escape") > swt_csv_at(&ca, 0, "t_escape") + 1);
    swt_csv_free(&ca);
    swt_csv_free(&cb);
    swt_rm_rf(dir);
}

/* stages: losses and levels are numbers that mean what they say. */
static void stages_refuses_bad_losses_and_levels(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), run[600], out[600];
    snprintf(run, sizeof run, "%s/run.csv", dir);
    snprintf(out, sizeof out, "%s/st.csv", dir);
    write_text(run, "t,loss\n0,1\n1,0.9\n2,0.5\n3,-0.1\n4,0.01\n");
    expect(2, "run.csv' row 4: loss -0.1 is not positive", dir, "stages %s --out %s", run, out);
    write_text(run, "t,loss\n0,1\n1,0.9\n2,0\n3,0.1\n4,0.01\n");
    expect(2, "run.csv' row 3: loss 0 is not positive", dir, "stages %s --out %s", run, out);
    write_text(run, "# level_0 = garbage\nt,loss\n0,1\n1,0.9\n2,0.5\n3,0.1\n4,0.01\n");
    expect(2, "run.csv' provenance level_0: 'garbage' is not a number", dir,
           "stages %s --out %s", run, out);
    swt_rm_rf(dir);
}

/* Starts `stagewise ARGS...` without a shell, waits for its temporary
 * file to appear in dir, sends sig, and returns how it ended. */
static int interrupt(int sig, const char *dir, char *const argv[])
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        execv(argv[0], argv);
        _exit(127);
    }
    /* Up to 30 s (a loaded sanitizer run).  The outputs' check before the
     * run makes and removes a temporary file of its own (sw_outfile_check):
     * the run's is the one still there 50 ms later. */
    int seen = 0;
    for (int i = 0; i < 3000 && !seen; i++) {
        usleep(10000);
        if (has_temp_file(dir)) {
            usleep(50000);
            seen = has_temp_file(dir);
        }
    }
    assert_true(seen); /* the run is under way */
    kill(pid, sig);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

/* An interrupted run keeps the old result and leaves no temporary file. */
static void signals_leave_no_temporary_files(void **state)
{
    (void)state;
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t k = 0; k < 3; k++) {
        char *dir = swt_tmpdir(), csv[600];
        snprintf(csv, sizeof csv, "%s/r.csv", dir);
        write_text(csv, "old\n");
        /* About 3e7 explicit steps of a stiff pair: seconds of work, within
         * the budget given. */
        char *argv[] = {(char *)swt_bin(), "integrate", "linear", "A=-1e5,0,0,-1", "--t-end",
                        "1e3", "--max-steps", "1e9", "--out", csv, NULL};
        int st = interrupt(sigs[k], dir, argv);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), sigs[k]);
        assert_false(has_temp_file(dir));
        assert_int_equal(swt_dir_entries(dir), 1);
        char *text = swt_slurp(csv);
        assert_string_equal(text, "old\n");
        free(text);
        swt_rm_rf(dir);
    }
}

/* Every output path is checked before the run: all are written or none. */
static void outputs_checked_before_the_run(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), csv[600], sub[600], name[600];
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    expect(2, "save-state: cannot write '/nonexistent/dir/s.txt': No such file or directory", dir,
           "integrate linear --t-end 1 --save-state /nonexistent/dir/s.txt --out %s", csv);
    /* The run would crawl for its whole budget: the empty name fails first. */
    expect(2, "out: the file name is empty", dir,
           "integrate y-reduced --t-end 1e12 --max-steps 1e9 --out ''");
    expect(2, "meta: the file name is empty", dir, "integrate linear --meta '' --out %s", csv);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    expect(2, "out: '", dir, "integrate linear --t-end 1 --out %s", sub);
    expect(2, "sub' is a directory (allowed: a file name)", dir,
           "integrate linear --t-end 1 --out %s", sub);
    expect(2, "out: cannot write '/nonexistent/r.csv'", NULL,
           "train markov --optim sgd --steps 10 --out /nonexistent/r.csv");
    /* Every output of every command, by its option's full name and by an
     * abbreviation of it: the outputs are found by name (sw_cli_start). */
    static const struct {
        const char *line, *opt, *abbrev;
    } outs[] = {
        {"integrate linear --t-end 1", "out", "ou"},
        {"integrate linear --t-end 1", "meta", "me"},
        {"integrate linear --t-end 1", "save-state", "sa"},
        {"jacobian linear", "out", "o"},
        {"jacobian linear", "json", "j"},
        {"saddle linear", "out", "o"},
        {"saddle linear", "json", "js"},
        {"escape z-reduced --until 'loss<=0.1'", "out", "ou"},
        {"stages %s", "out", "o"},
        {"fit %s --y loss --law power", "out", "ou"},
        {"train markov --steps 10", "out", "ou"},
        {"train markov --steps 10", "meta", "met"},
        {"crosscheck z-reduced --steps 10", "out", "ou"},
    };
    expect(0, "", NULL, "integrate linear --t-end 1 --points 3 --out %s", csv);
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        char line[700], want[100];
        snprintf(line, sizeof line, outs[i].line, csv);
        snprintf(want, sizeof want, "%s: cannot write '/nonexistent/x'", outs[i].opt);
        expect(2, want, dir, "%s --%s /nonexistent/x", line, outs[i].opt);
        expect(2, want, dir, "%s --%s=/nonexistent/x", line, outs[i].abbrev);
    }
    /* A valid name of 250 bytes: the temporary suffix must not break it. */
    int k = snprintf(name, sizeof name, "%s/", dir);
    memset(name + k, 'n', 246);
    strcpy(name + k + 246, ".csv");
    expect(0, "", NULL, "integrate linear --t-end 1 --points 3 --out %s", name);
    assert_true(swt_file_exists(name));
    assert_false(has_temp_file(dir));
    swt_rm_rf(dir);
}

/* plot checks what each figure reads before gnuplot runs. */
static void plot_checks_its_inputs(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), in[600], png[600];
    snprintf(in, sizeof in, "%s/in.csv", dir);
    snprintf(png, sizeof png, "%s/f.png", dir);
    write_text(in, "0,1\n1,0.5\n2,0.25\n");
    expect(2, "numbers where the header row of column names belongs", dir,
           "plot stages %s --out %s", in, png);
    write_text(in, "t,loss\n0,1\n1,0.5\n");
    expect(2, "plot stages: '", dir, "plot stages %s --out %s", in, png);
    expect(2, "in.csv' has 1 row(s) with t > 0 (of 2); its log axis needs at least 2", dir,
           "plot stages %s --out %s", in, png);
    write_text(in, "t,los\n1,1\n2,0.5\n");
    expect(2, "plot stages: ", dir, "plot stages %s --out %s", in, png);
    expect(2, "in.csv has no column 'loss' (allowed: an `integrate` CSV)", dir,
           "plot stages %s --out %s", in, png);
    write_text(in, "t,loss\n-2,1\n-1,0.5\n0,0.25\n");
    expect(2, "has 0 row(s) with t > 0 (of 3)", dir, "plot stages %s --out %s", in, png);
    write_text(in, "t,loss\n1,1\n2,0.5\n");
    expect(2, "in.csv has no column 'eps' (allowed: an `escape` CSV)", dir,
           "plot escape %s --out %s", in, png);
    expect(2, "plot competitive takes 2 input file(s), got 1", dir,
           "plot competitive %s --out %s", in, png);
    expect(2, "out: the file name is empty", dir, "plot stages %s --out ''", in);
    swt_rm_rf(dir);
}

/* Numbers: a subnormal is a value; what cannot be one is named exactly. */
static void numbers_are_judged_precisely(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), csv[600];
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    expect(0, "", NULL, "integrate linear x0=1e-320,0 --t-end 1 --points 2 --out %s", csv);
    swt_csv c;
    assert_int_equal(swt_csv_read(csv, &c), 0);
    assert_true(swt_csv_at(&c, 0, "x_1") == 1e-320);
    swt_csv_free(&c);
    expect(2, "x0: '1e-400' is too small for a double, it would round to 0", NULL,
           "integrate linear x0=1e-400,0 --out %s", csv);
    expect(2, "t-end: '1e400' is too large for a double", NULL,
           "integrate linear --t-end 1e400 --out %s", csv);
    swt_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(preset_means_what_it_says),
        cmocka_unit_test(readers_refuse_devices_and_junk),
        cmocka_unit_test(failed_writes_are_reported),
        cmocka_unit_test(sizes_refused_before_allocation),
        cmocka_unit_test(runs_end_within_their_budget),
        cmocka_unit_test(escape_direction_is_scaled_safely),
        cmocka_unit_test(stages_refuses_bad_losses_and_levels),
        cmocka_unit_test(signals_leave_no_temporary_files),
        cmocka_unit_test(outputs_checked_before_the_run),
        cmocka_unit_test(plot_checks_its_inputs),
        cmocka_unit_test(numbers_are_judged_precisely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
