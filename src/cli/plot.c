/* `plot`: one gnuplot script per figure in plots/, fed the result files.
 * gnuplot runs as a child process without a shell, so file names cannot
 * inject commands, and draws into a temporary file that is renamed on
 * success like every other result. */
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "stagewise/output.h"
#include "stagewise/table.h"

extern char **environ;

static const char help[] =
    "usage: stagewise plot FIGURE INPUT.csv... --out FILE.png\n\n"
    "Draws FIGURE from result files with gnuplot (a run-time dependency; without it\n"
    "the data files are left as they are). Figures are the scripts in plots/:\n"
    "  stages       loss against log t with the theoretical levels L_j, and each head's\n"
    "               attention on each pattern (INPUT: one integrate run)\n"
    "  competitive  a symmetric start against a slightly perturbed one (two runs)\n"
    "  escape       escape time against eps with the fitted laws (an escape CSV)\n"
    "  fit          data and fitted law on log-log axes (a fit CSV)\n"
    "  markov       KL to each truncated truth and each head's attention on each lag\n"
    "               group (a `train markov` CSV)\n"
    "The directory of scripts is $SW_PLOTS, else plots/ beside the build.\n";

/* Where the figure scripts live: $SW_PLOTS, plots/ next to the build
 * directory, the source tree the build was configured from, or the
 * installed data directory. */
static int plots_dir(char *buf, size_t len)
{
    const char *env = getenv("SW_PLOTS");
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return SW_OK;
    }
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(buf, len, "%s/../plots", exe);
        struct stat st;
        if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
            return SW_OK;
    }
    /* A build directory anywhere else still finds the scripts of the tree
     * it was configured from, before the installed ones. */
    struct stat st;
    if (stat(SW_SOURCE_PLOTS, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(buf, len, "%s", SW_SOURCE_PLOTS);
    else
        snprintf(buf, len, "%s", SW_DATADIR "/plots");
    return SW_OK;
}

/* Appends `name='value'; ` to a gnuplot -e string; gnuplot single quotes
 * have no escapes, so a value holding one is refused. */
static int gp_var(char *buf, size_t len, const char *name, const char *value, sw_err *e)
{
    if (strchr(value, '\''))
        return sw_fail(e, SW_EINPUT, "plot: '%s' contains a single quote, which gnuplot "
                                     "cannot take in a file name", value);
    size_t used = strlen(buf);
    int k = snprintf(buf + used, len - used, "%s='%s'; ", name, value);
    if (k < 0 || (size_t)k >= len - used)
        return sw_fail(e, SW_EINPUT, "plot: arguments too long");
    return SW_OK;
}

/* Space-separated names of the columns that match, for the scripts to
 * iterate over. */
static void columns_like(const sw_table *tb, int (*match)(const char *), char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < tb->cols && used < len; k++)
        if (match(tb->names[k]))
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "",
                                     tb->names[k]);
}

/* att_h<h>_k<k>: a head's attention on a pattern (not att_h<h>_lag<j>). */
static int is_att(const char *name)
{
    return strncmp(name, "att_h", 5) == 0 && strstr(name, "_k") != NULL;
}

/* kl_<j>: KL to the truth truncated to j groups (not kl_ctx<j>). */
static int is_kl(const char *name)
{
    return strncmp(name, "kl_", 3) == 0 && name[3] >= '0' && name[3] <= '9';
}

/* The run's theoretical levels L_j, space-separated, for the guides. */
static void levels_of(const sw_table *tb, char *buf, size_t len)
{
    double lv[64];
    size_t n = sw_table_levels(tb, lv, 64), used = 0;
    buf[0] = '\0';
    for (size_t j = 0; j < n && used < len; j++)
        used += (size_t)snprintf(buf + used, len - used, "%s%.17g", j ? " " : "", lv[j]);
}

static int on_option(int opt, const char *arg, void *ctx, sw_err *e)
{
    (void)e;
    if (opt != 'o')
        return SW_EINPUT;
    *(const char **)ctx = arg;
    return SW_OK;
}

int sw_cmd_plot(int argc, char **argv)
{
    if (sw_cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    static const struct option longopts[] = {{"out", required_argument, 0, 'o'}, {0, 0, 0, 0}};
    const char *out = NULL;
    sw_err e;
    int first, rc = sw_cli_getopt(argc, argv, longopts, on_option, &out, &first, &e);
    if (rc)
        return sw_cli_report(rc, &e);
    if (argc - first < 2)
        return sw_cli_die(SW_EINPUT, "plot needs a FIGURE and at least one INPUT.csv "
                                     "(figures: stages, competitive, escape, fit, markov)");
    if (!out || strcmp(out, "-") == 0)
        return sw_cli_die(SW_EINPUT, "plot needs --out FILE.png (a file: gnuplot cannot draw "
                                     "to standard output here)");
    const char *fig = argv[first];
    char dir[4096], script[4200];
    plots_dir(dir, sizeof dir);
    snprintf(script, sizeof script, "%s/%s.gp", dir, fig);
    if (access(script, R_OK) != 0)
        return sw_cli_die(SW_EINPUT, "unknown figure '%s', or its script %s is missing "
                                     "(figures: stages, "
                                     "competitive, escape, fit, markov)", fig, script);

    /* Every input must be a readable result before gnuplot sees it. */
    char vars[16384] = "", cols[4096] = "", kls[1024] = "", levels[2048] = "";
    for (int i = first + 1; i < argc && rc == SW_OK; i++) {
        sw_table tb;
        if ((rc = sw_table_read(argv[i], &tb, &e)))
            break;
        if (i == first + 1) {
            columns_like(&tb, is_att, cols, sizeof cols);
            columns_like(&tb, is_kl, kls, sizeof kls);
            levels_of(&tb, levels, sizeof levels);
        }
        sw_table_free(&tb);
        char name[16];
        snprintf(name, sizeof name, "in%d", i - first);
        rc = gp_var(vars, sizeof vars, name, argv[i], &e);
    }
    if (rc)
        return sw_cli_report(rc, &e);
    char nin[16];
    snprintf(nin, sizeof nin, "%d", argc - first - 1);
    sw_outfile f;
    if ((rc = gp_var(vars, sizeof vars, "n", nin, &e)) ||
        (rc = gp_var(vars, sizeof vars, "atts", cols, &e)) ||
        (rc = gp_var(vars, sizeof vars, "kls", kls, &e)) ||
        (rc = gp_var(vars, sizeof vars, "levels", levels, &e)) ||
        (rc = sw_outfile_open(&f, out, &e)))
        return sw_cli_report(rc, &e);
    /* gnuplot writes the file; a device is written in place (no tmp). */
    fclose(f.fp);
    f.fp = NULL;
    /* f.tmp is NULL when the destination is a device written in place. */
    if ((rc = gp_var(vars, sizeof vars, "out", f.tmp ? f.tmp : out, &e))) {
        sw_outfile_abort(&f);
        return sw_cli_report(rc, &e);
    }

    char *args[] = {"gnuplot", "-e", vars, script, NULL};
    pid_t pid;
    int err = posix_spawnp(&pid, "gnuplot", NULL, NULL, args, environ);
    if (err) {
        sw_outfile_abort(&f);
        return sw_cli_die(SW_EFAIL, "cannot run gnuplot (%s): install it (apt-get install "
                                    "gnuplot-nox); the data files are kept",
                          strerror(err));
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        sw_outfile_abort(&f);
        return sw_cli_die(SW_EFAIL, "gnuplot failed on %s (its messages are above); the data "
                                    "files are kept",
                          script);
    }
    rc = sw_outfile_commit(&f, &e);
    return sw_cli_report(rc, &e);
}
