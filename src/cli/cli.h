/* Pieces shared by the subcommands: one parser for KEY=VALUE parameters,
 * presets, initial-state files and integration options, so every command
 * that builds and integrates a model accepts the same words the same way. */
#ifndef STAGEWISE_CLI_H
#define STAGEWISE_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "stagewise/eigen.h"
#include "stagewise/fit.h"
#include "stagewise/ode.h"
#include "stagewise/output.h"
#include "stagewise/saddle.h"
#include "stagewise/system.h"

/* Prints "stagewise: <msg>" and returns code (so `return sw_cli_die(...)`). */
int sw_cli_report(int code, const sw_err *e);
int sw_cli_die(int code, const char *fmt, ...) SW_PRINTF(2, 3);

int sw_cli_system(const char *name, const sw_system **out, sw_err *e);

/* Builds the model from a preset (may be NULL) and KEY=VALUE words; its
 * setup is held to budget b (NULL: the defaults). */
int sw_cli_model(const sw_system *sys, const char *preset, int n, char *const *words,
                 const sw_model_budget *b, sw_model **out, sw_err *e);

/* Fills x (dim entries) from file, or from the system's init when file is
 * NULL.  The file holds exactly dim numbers separated by white space or
 * commas; '#' starts a comment. */
int sw_cli_init_state(const sw_model *m, const char *file, double *x, sw_err *e);

/* Writes x in the format sw_cli_init_state reads: one value per line,
 * named in a comment, after an optional `# header` line. */
int sw_cli_write_state(const char *path, const sw_model *m, const double *x, const char *header,
                       sw_err *e);

/* Integration options, as getopt_long entries and their handler. */
enum {
    SW_OPT_SOLVER = 1000,
    SW_OPT_RTOL,
    SW_OPT_ATOL,
    SW_OPT_H0,
    SW_OPT_TEND,
    SW_OPT_TFIRST,
    SW_OPT_POINTS,
    SW_OPT_GRID,
    SW_OPT_INIT,
    SW_OPT_PRESET,
    SW_OPT_UNTIL,
    SW_OPT_MAX_STEPS,
    SW_OPT_MAX_WORK,
    SW_OPT_MAX_MEMORY,
    SW_OPT_LAST
};

#define SW_CLI_ODE_OPTIONS                                                                     \
    {"solver", required_argument, 0, SW_OPT_SOLVER}, {"rtol", required_argument, 0, SW_OPT_RTOL}, \
        {"atol", required_argument, 0, SW_OPT_ATOL}, {"h0", required_argument, 0, SW_OPT_H0},     \
        {"t-end", required_argument, 0, SW_OPT_TEND},                                            \
        {"t-first", required_argument, 0, SW_OPT_TFIRST},                                        \
        {"points", required_argument, 0, SW_OPT_POINTS},                                         \
        {"grid", required_argument, 0, SW_OPT_GRID}, {"init", required_argument, 0, SW_OPT_INIT}, \
        {"preset", required_argument, 0, SW_OPT_PRESET},                                         \
        {"until", required_argument, 0, SW_OPT_UNTIL},                                           \
        {"max-steps", required_argument, 0, SW_OPT_MAX_STEPS},                                   \
        {"max-work", required_argument, 0, SW_OPT_MAX_WORK},                                     \
        {"max-memory", required_argument, 0, SW_OPT_MAX_MEMORY}

#define SW_CLI_ODE_HELP                                                                        \
    "  --solver NAME    GSL stepper: rk2 rk4 rkf45 rkck rk8pd rk1imp rk2imp rk4imp\n"          \
    "                   bsimp msadams msbdf; or bdf, stagewise's variable-order BDF\n"         \
    "                   with structured Newton solves, the fastest on long stiff runs;\n"      \
    "                   or dop853, stagewise's explicit Dormand-Prince 8(5,3), fewer\n"       \
    "                   steps than rk8pd at the same tolerances (default rk8pd)\n"            \
    "  --rtol X         relative tolerance, in (0,1) (default 1e-8)\n"                          \
    "  --atol X         absolute tolerance, >= 0 (default 1e-10)\n"                             \
    "  --h0 X           first trial step (default 1e-4)\n"                                      \
    "  --t-end X        final time (default 1e4)\n"                                            \
    "  --t-first X      first nonzero output time of a log grid (default the smaller\n"          \
    "                   of t-end * 1e-6 and 0.01, below every system's first plateau)\n"      \
    "  --points N       output rows including t = 0 (default 200)\n"                           \
    "  --grid log|linear  output time grid (default log)\n"                                    \
    "  --init FILE      initial state: dim numbers in the order `describe` lists\n"            \
    "  --preset FILE    INI file of KEY = VALUE parameters (the command line wins)\n"          \
    "  --until 'OBS<=X' stop when loss or an observable crosses X (also >=); the\n"            \
    "                   crossing is located inside the step to solver tolerance\n"      \
    "  --max-steps N    step budget: more steps end the run with exit 3 (default 1e6)\n"   \
    "  --max-work N     work budget in coordinate evaluations (one vector-field call on\n" \
    "                   a state of dim coordinates is dim); a request that needs more is\n"\
    "                   refused, a run that uses more ends with exit 3 (default 1e9)\n"    \
    "  --max-memory SIZE  refuse a request whose estimated memory is larger; bytes with\n" \
    "                   an optional K, M, G, T suffix (default half the machine's memory)\n"

typedef struct sw_cli_ode {
    sw_ode_opts o;
    const char *init;
    const char *preset;
    const char *until;
} sw_cli_ode;

void sw_cli_ode_default(sw_cli_ode *c);
/* Handles one integration option: SW_OK, SW_EINPUT with e set, or -1 if
 * opt is not an integration option. */
int sw_cli_ode_option(sw_cli_ode *c, int opt, const char *arg, sw_err *e);
/* The usual start of a command on a system: SYSTEM is argv[first], its
 * KEY=VALUE words follow; builds the model (with c->preset) and finishes
 * the integration options against it. */
int sw_cli_ode_model(int argc, char **argv, int first, sw_cli_ode *c, sw_model **m, sw_err *e);

/* Runs getopt_long over argv (GNU permutation: options and positional words
 * may mix).  Each option goes to fn; the positional words end up in
 * argv[*first .. argc-1].  Unknown options and missing arguments are
 * SW_EINPUT with a message. */
typedef int (*sw_cli_opt_fn)(int opt, const char *arg, void *ctx, sw_err *e);
int sw_cli_getopt(int argc, char **argv, const struct option *longopts, sw_cli_opt_fn fn,
                  void *ctx, int *first, sw_err *e);

/* An output file of a command: the long option that names it and the
 * command's field that receives the path (NULL, or a default, when not
 * given). */
typedef struct sw_cli_output {
    const char *what;
    const char **path;
} sw_cli_output;

/* What a command's opening needs to know. */
typedef struct sw_cli_command {
    /* --help prints help, as a printf format with help_arg when that is
     * set, then calls help_more if set (listings built at run time). */
    const char *help, *help_arg;
    void (*help_more)(void);
    const struct option *longopts;
    sw_cli_opt_fn on_option;
} sw_cli_command;

/* The opening every command shares: help when -h or --help stands
 * anywhere (so it works next to bad arguments); else the options, each to
 * cmd->on_option with args, except those of the outputs (outs: ended by
 * {0}, may be NULL), whose paths are stored; then every output path given
 * is checked with sw_outfile_check, before the command does any work, so
 * that it writes all of its files or none.  Returns 1 when the command ends
 * here, with *status its exit status (0 after help, else the error's code,
 * reported); 0 with the positional words in argv[*first .. argc-1]. */
int sw_cli_start(const sw_cli_command *cmd, const sw_cli_output *outs, int argc, char **argv,
                 void *args, int *first, int *status);

/* The threads a command may put BLAS and LAPACK work on: `threads`, or 1
 * with a note on standard error when the process runs on a BLAS that
 * cannot take calls from several threads at once (blas.h). */
int sw_cli_blas_threads(int threads);

/* Whether argv holds -h or --help anywhere (checked before anything else,
 * so help works even next to bad arguments). */
int sw_cli_wants_help(int argc, char **argv);

/* Progress of a long run on standard error.  On a terminal: one line,
 * redrawn in place, with a bar, the count and rate (when a total is set),
 * elapsed time and ETA, from 1 s into the run (or $SW_PROGRESS_EVERY, if
 * sooner).  Anywhere else (a log, a
 * pipe): a plain line every $SW_PROGRESS_EVERY seconds (default 5), the
 * first after that long, and a closing line if any was printed; runs
 * shorter than that print nothing.  sw_progress_quiet (the global --quiet)
 * silences both. */
extern int sw_progress_quiet;
typedef struct sw_progress {
    int mode; /* 0 off, 1 bar on a terminal, 2 plain lines */
    double t_start, t_shown, every;
    const char *label;
    size_t total; /* 0: unknown */
    const char *unit;
    int last_pct; /* plain lines: the percentage last printed */
    int shown;
} sw_progress;
void sw_progress_begin(sw_progress *p, const char *label);
/* Optional, after begin: the work is `total` `unit`s (steps, runs, ...),
 * so the line can show the count done and the rate. */
void sw_progress_total(sw_progress *p, size_t total, const char *unit);
/* frac in [0, 1]; cheap when nothing is drawn, so it may be called often. */
void sw_progress_update(sw_progress *p, double frac);
void sw_progress_end(sw_progress *p);

/* Seconds: of a monotonic clock, and of this process's CPU (all threads). */
double sw_cli_now(void);
double sw_cli_cpu_now(void);

/* Points and spectra, shared by jacobian and saddle (src/cli/jacobian.c).
 * sw_cli_point parses POINT (saddle.h), reads the start (c->init) or the
 * point's file into x, and moves x to the point. */
int sw_cli_point(sw_model *m, const sw_cli_ode *c, const char *text, sw_point *p, double *x,
                 sw_point_info *info, sw_err *e);
void sw_cli_point_describe(const sw_point *p, const sw_point_info *info, char *buf, size_t len);
void sw_cli_spectrum_print(FILE *fp, const sw_model *m, const sw_spectrum *sp);
json_object *sw_cli_spectrum_json(const sw_model *m, const sw_spectrum *sp);
json_object *sw_cli_state_json(const sw_model *m, const double *x);
/* A fit's estimates and 95% intervals (bootstrap ones if blo is non-NULL),
 * n, R^2, AIC and RSS, shared by fit and escape (src/cli/fit.c). */
json_object *sw_cli_fit_json(const sw_fit_result *r, const char *const *names,
                             const double *blo, const double *bhi);

int sw_cmd_list(int argc, char **argv);
int sw_cmd_describe(int argc, char **argv);
int sw_cmd_integrate(int argc, char **argv);
int sw_cmd_stages(int argc, char **argv);
int sw_cmd_sweep(int argc, char **argv);
int sw_cmd_plot(int argc, char **argv);
int sw_cmd_reproduce(int argc, char **argv);
int sw_cmd_fit(int argc, char **argv);
int sw_cmd_jacobian(int argc, char **argv);
int sw_cmd_saddle(int argc, char **argv);
int sw_cmd_escape(int argc, char **argv);
int sw_cmd_train(int argc, char **argv);
int sw_cmd_crosscheck(int argc, char **argv);

#endif
