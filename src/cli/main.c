/* stagewise: one binary, one file per subcommand (git's builtin/ layout). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cli.h"
#include "stagewise/output.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"list", sw_cmd_list, "list the systems"},
    {"describe", sw_cmd_describe, "parameters, state layout and observables of a system"},
    {"integrate", sw_cmd_integrate, "integrate a system and write its trajectory"},
    {"stages", sw_cmd_stages, "plateaus and transitions of a run's loss curve"},
    {"sweep", sw_cmd_sweep, "measure plateau times and more over a parameter grid, in parallel"},
    {"plot", sw_cmd_plot, "draw a figure from result files with gnuplot"},
    {"reproduce", sw_cmd_reproduce, "reproduce the papers' results into a report"},
    {"fit", sw_cmd_fit, "fit a power law to columns of a result file, with intervals"},
    {"jacobian", sw_cmd_jacobian, "Jacobian spectrum and Morse index at a point"},
    {"saddle", sw_cmd_saddle, "refine a fixed point, or find that it lies at infinity"},
    {"escape", sw_cmd_escape, "escape times from a perturbed base point and their law"},
    {"train", sw_cmd_train, "train a task's model by discrete steps (same CSV schema)"},
    {"crosscheck", sw_cmd_crosscheck, "trainer against the ODE: largest deviation"},
};

static void usage(FILE *fp)
{
    fprintf(fp, "usage: stagewise COMMAND [ARGS]   (stagewise COMMAND --help for details)\n\n"
                "Learning dynamics of sparse attention: gradient flows, saddles, plateaus.\n\n"
                "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(fp, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n  help COMMAND  the same as COMMAND --help\n"
                "  version       the version (also --version)\n"
                "\nprogress: runs longer than a second or two report on standard error, as a\n"
                "bar with rate and ETA on a terminal, else as a line every $SW_PROGRESS_EVERY\n"
                "seconds (default 5); --quiet, anywhere on the line, silences it.\n"
                "\nexit status: 0 ok, 2 bad usage or input, 3 numerical failure, 1 other\n");
}

/* An interrupted run keeps the previous result and leaves no temporary
 * file: remove them, then die of the signal as if unhandled. */
static void on_signal(int sig)
{
    sw_outfile_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Output to standard output is part of the result: a failed write (a full
 * disk, a closed pipe) must not end in exit status 0. */
static int finish(int rc)
{
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
        fprintf(stderr, "stagewise: cannot write to standard output: %s\n",
                errno ? strerror(errno) : "write error");
        return 1;
    }
    return rc;
}

static int run(int argc, char **argv)
{
    /* Our matrices are small (a few hundred rows at most): OpenBLAS's
     * worker threads only spin and yield on them (measured 1.8x slower on
     * y-reduced with msbdf), and sweeps take the cores with OpenMP. */
    openblas_set_num_threads(1);
    sw_init();
    /* --quiet is global: taken out wherever it stands, before the
     * command parses its own options. */
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quiet") == 0)
            sw_progress_quiet = 1;
        else
            argv[kept++] = argv[i];
    }
    argc = kept;
    argv[argc] = NULL;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    /* `help COMMAND` is `COMMAND --help`. */
    char help_flag[] = "--help";
    if (strcmp(argv[1], "help") == 0 && argc > 3) {
        fprintf(stderr, "stagewise: help takes one COMMAND, not %d words\n", argc - 2);
        return 2;
    }
    if (strcmp(argv[1], "help") == 0 && argc == 3) {
        argv[1] = argv[2];
        argv[2] = help_flag;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("stagewise %s\n", SW_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "stagewise: unknown command '%s' (allowed:", argv[1]);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(stderr, " %s", commands[i].name);
    fprintf(stderr, ", help, version)\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        /* A signal the caller ignores (nohup) stays ignored. */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            signal(sigs[i], on_signal);
    }
    atexit(sw_outfile_cleanup);
    return finish(run(argc, argv));
}
