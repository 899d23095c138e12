/* Sweeps across MPI ranks on this machine: three ranks write the file one
 * process with one thread writes (ODE and training sweeps), and a sweep
 * whose rank 1 is killed resumes on two ranks to that same file, every
 * point computed once.  Skipped (exit 77) when the build has no MPI. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#ifdef SW_MPIRUN

/* mpirun's own words: local ranks, more ranks than cores, root allowed
 * (CI runs as root), no core binding (ranks share 2 cores with threads). */
#define MPIRUN SW_MPIRUN " --oversubscribe --allow-run-as-root --bind-to none"

/* Runs a shell command line, output to dir/out and dir/err; its status. */
static int sh(const char *dir, const char *fmt, ...) SW_PRINTF(2, 3);
static int sh(const char *dir, const char *fmt, ...)
{
    char cmd[4096], full[4300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "%s >%s/out 2>%s/err </dev/null", cmd, dir, dir);
    int st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *file_in(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return swt_slurp(path);
}

/* The file without its `# mpi_ranks = N` line, which must be there with N. */
static char *without_ranks(char *text, int ranks)
{
    char want[64];
    snprintf(want, sizeof want, "# mpi_ranks = %d ", ranks);
    char *line = strstr(text, want);
    if (!line)
        fail_msg("no '%s' line", want);
    char *end = strchr(line, '\n');
    memmove(line, end + 1, strlen(end + 1) + 1);
    return text;
}

static void expect_same(const char *dir, const char *a, const char *b, int ranks_b)
{
    char *x = file_in(dir, a), *y = file_in(dir, b);
    assert_non_null(x);
    assert_non_null(y);
    without_ranks(y, ranks_b);
    if (strcmp(x, y) != 0)
        fail_msg("%s and %s differ beyond the mpi_ranks line", a, b);
    free(x);
    free(y);
}

/* A seeded ODE sweep (every point's value depends on its seed) and a
 * training sweep with seeds as an axis. */
static const char ode[] = "sweep z-full d=2:4:3 T=4:16:3:log sigma=0.3 seed=5,6 "
                          "--measure plateau --measure final:S --t-end 2000";
static const char train[] = "sweep train:toy d=4,6 T=16 seed=1:3:3 --measure 'event:loss<=0.1' "
                            "--measure final:loss --optim sgd --batch 8 --lr 0.1 --steps 600 "
                            "--eval-every 10";

static void three_ranks_write_the_one_thread_file(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    const char *sweeps[] = {ode, train};
    for (size_t i = 0; i < 2; i++) {
        if (sh(dir, "%s %s --threads 1 --out %s/one.csv", swt_bin(), sweeps[i], dir) != 0)
            fail_msg("one process: %s", file_in(dir, "err"));
        if (sh(dir, MPIRUN " -n 3 %s %s --threads 1 --out %s/three.csv", swt_bin(), sweeps[i],
               dir) != 0)
            fail_msg("three ranks: %s", file_in(dir, "err"));
        char *out = file_in(dir, "out");
        assert_non_null(strstr(out, "on 3 ranks x 1 thread"));
        free(out);
        expect_same(dir, "one.csv", "three.csv", 3);
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -f %s/one.csv %s/three.csv", dir, dir);
        assert_int_equal(system(cmd), 0);
    }
    swt_rm_rf(dir);
}

/* Data rows of a sweep file by point: fails on a point seen twice. */
static size_t distinct_rows(const char *path, size_t n_points)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    unsigned char *seen = calloc(n_points, 1);
    char line[4096];
    size_t rows = 0;
    int header = 1;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#' || !strchr(line, '\n'))
            continue;
        if (header) {
            header = 0;
            continue;
        }
        size_t p = strtoul(line, NULL, 10);
        assert_true(p < n_points);
        if (seen[p])
            fail_msg("point %zu is in %s twice", p, path);
        seen[p] = 1;
        rows++;
    }
    fclose(fp);
    free(seen);
    return rows;
}

/* The rank-1 process among mpirun's children, or -1. */
static pid_t rank_pid(pid_t mpirun, int rank)
{
    char want[64], cmd[128];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    snprintf(cmd, sizeof cmd, "pgrep -P %d", (int)mpirun);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int pid, found = -1;
    while (fscanf(p, "%d", &pid) == 1) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/environ", pid);
        FILE *fp = fopen(path, "r");
        if (!fp)
            continue;
        char var[4096];
        size_t k = 0;
        int c;
        while ((c = fgetc(fp)) != EOF) {
            if (c && k + 1 < sizeof var) {
                var[k++] = (char)c;
                continue;
            }
            var[k] = '\0';
            if (strcmp(var, want) == 0)
                found = pid;
            k = 0;
        }
        fclose(fp);
    }
    pclose(p);
    return found;
}

/* Output rows per point: what makes a point last long enough (some 30 ms)
 * for the kill to land mid-sweep; the sanitizers' build is slower by
 * itself.  On a loaded machine finding rank 1 can take longer than the
 * whole sweep, so a sweep that finished before the kill is run again with
 * points twice as long. */
#ifdef __SANITIZE_ADDRESS__
#define POINT_ROWS 15000
#else
#define POINT_ROWS 30000
#endif

/* Starts `mpirun -n 3` on args, kills rank 1 (SIGKILL) once four rows are
 * in, and returns how many distinct rows the file kept. */
static size_t run_and_kill_rank_1(const char *args, const char *part, size_t n)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "exec " MPIRUN " -n 3 %s %s --out %s >/dev/null 2>&1", swt_bin(),
             args, part);
    pid_t pid = fork(); /* mpirun itself: `exec` replaces the shell */
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* Rank 1 first (finding it takes a pgrep), then the moment four rows
     * are in: the kill lands early, however fast the points are. */
    pid_t victim = -1;
    for (int i = 0; i < 3000 && victim < 0; i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
        victim = rank_pid(pid, 1);
    }
    for (int i = 0; i < 100000 && victim > 0 && distinct_rows(part, n) < 4; i++) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    int st;
    if (victim > 0)
        kill(victim, SIGKILL);
    waitpid(pid, &st, 0);
    size_t kept = distinct_rows(part, n);
    if (kept < n)
        assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return kept;
}

/* Rank 1 killed (SIGKILL) once a few points are in: mpirun ends the job,
 * the file keeps what rank 0 received, each point once.  Two ranks then
 * finish it, computing exactly the missing points, into the file one
 * process writes. */
static void a_killed_rank_resumes_on_two(void **state)
{
    (void)state;
    char *dir = swt_tmpdir();
    enum { N = 60 };
    char part[600], args[512];
    snprintf(part, sizeof part, "%s/part.csv", dir);
    size_t kept = N;
    for (int attempt = 0; attempt < 4 && kept >= N; attempt++) {
        snprintf(args, sizeof args,
                 "sweep linear n=1 b=0 x0=1 A=-1:-0.5:60 --measure final:x_1 --measure "
                 "plateau --t-end 1 --points %d --grid linear --threads 1",
                 POINT_ROWS << attempt);
        unlink(part);
        kept = run_and_kill_rank_1(args, part, N);
    }
    if (kept < 4 || kept >= N)
        fail_msg("the kill left %zu rows (want 4 to %d): not mid-sweep", kept, N - 1);

    if (sh(dir, MPIRUN " -n 2 %s %s --out %s", swt_bin(), args, part) != 0)
        fail_msg("resume on 2 ranks: %s", file_in(dir, "err"));
    char *out = file_in(dir, "out"), want[64];
    snprintf(want, sizeof want, "(%zu computed", (size_t)N - kept);
    if (!strstr(out, want))
        fail_msg("%zu rows were kept, so the resume should say '%s': %s", kept, want, out);
    free(out);
    if (sh(dir, "%s %s --out %s/one.csv", swt_bin(), args, dir) != 0)
        fail_msg("one process: %s", file_in(dir, "err"));
    expect_same(dir, "one.csv", "part.csv", 2);
    swt_rm_rf(dir);
}

int main(void)
{
    /* Under ASan: Open MPI's own allocations are not ours to report; its
     * components stay loaded and stacks are unwound in full (they lack
     * frame pointers), so the suppressions can name them. */
    setenv("LSAN_OPTIONS", "suppressions=" SW_LSAN_SUPP ":fast_unwind_on_malloc=0", 0);
    setenv("OMPI_MCA_mca_base_component_disable_dlclose", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_ranks_write_the_one_thread_file),
        cmocka_unit_test(a_killed_rank_resumes_on_two),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
    printf("skipped: this build has no MPI (meson's mpi feature found no MPI library, or "
           "mpirun is missing)\n");
    return 77;
}

#endif
