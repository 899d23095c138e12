/* `sweep`: one measurement per point of a parameter grid, computed in
 * parallel, appended as each point finishes, resumable after an
 * interruption, and finally rewritten in point order. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "stagewise/output.h"
#include "stagewise/sweep.h"
#include "stagewise/table.h"
#include "train.h"
#include "mpi_sweep.h"
#include "sweep_file.h"

static const char help[] =
    "usage: stagewise sweep SYSTEM KEY=LIST ... --measure WHAT --out FILE [options]\n"
    "       stagewise sweep train:TASK KEY=LIST ... --measure WHAT --out FILE [options]\n\n"
    "Measures WHAT at every point of the Cartesian product of the lists, each point\n"
    "integrated from the system's own initial state (or, with train:TASK, trained\n"
    "as `stagewise train TASK` trains it), and writes one row per point:\n"
    "point, the swept parameters, point_seed (systems with a seed), one column per\n"
    "measure, lambda_plus and t_scale with --predict, status.\n\n"
    "lists:\n"
    "  KEY=a,b,c        these values\n"
    "  KEY=lo:hi:n      n values evenly spaced from lo to hi\n"
    "  KEY=lo:hi:n:log  n values evenly spaced in log (lo, hi > 0)\n"
    "  Integer parameters round a range and drop repeats. The first KEY varies\n"
    "  slowest. KEY=VALUE with one value fixes a parameter (and gives it a column).\n"
    "  A list-valued parameter (e.g. A of linear) takes one fixed value, or a range,\n"
    "  whose points are one-element lists.\n\n"
    "measures (--measure, repeatable, one column each):\n"
    "  event:'OBS<=X'   time at which loss or an observable first reaches X (also\n"
    "                   >=), located inside the step (column t_event)\n"
    "  plateau[:FRAC]   time at which loss <= FRAC x its initial value, 0 < FRAC < 1,\n"
    "                   default 0.5 (t_plateau, or t_plateau_FRAC)\n"
    "  stage:K          time of the K-th transition of the loss, as `stagewise\n"
    "                   stages` finds it on the --points/--grid times (t_stage_K)\n"
    "  level:K          time at which loss <= (L_{K-1} + L_K)/2, the system's\n"
    "                   theoretical plateau levels (`describe` lists them); unlike\n"
    "                   stage:K it also times plateaus too brief to look flat\n"
    "                   (t_level_K)\n"
    "  final:OBS        loss or an observable at t-end (final_OBS)\n"
    "  escape:EPS:'OBS<=X'  systems with heads: time to reach X from the start with\n"
    "                   every head a copy of head 1, kicked by EPS along a random\n"
    "                   symmetry-breaking unit direction drawn from the point's seed;\n"
    "                   one row of `stagewise escape --base symmetric --direction\n"
    "                   random` (t_escape)\n"
    "Event, plateau, level and escape runs stop at their condition; stage and final\n"
    "share one run to t-end. A point whose measure fails does not stop the sweep:\n"
    "its value is nan, its status 1 (not reached by t-end, or fewer transitions) or\n"
    "2 (numerical failure), and a line `# failure_POINT = reason` follows its row;\n"
    "the sweep exits 0 and counts the failed points on standard error.\n\n"
    "Training sweeps (train:TASK, TASK as `stagewise train` lists them; the KEYs are\n"
    "the task's parameters): every point is one training run from the task's initial\n"
    "parameters for its seed. event, plateau and level give the emergence step: the\n"
    "first evaluation step at which the condition holds on the loss the trainer\n"
    "evaluates (population or held-out) or on an observable (columns step_event,\n"
    "step_plateau, step_level_K; the resolution is the evaluation grid, --eval-every\n"
    "or --grid log --points N); final:OBS is the value at the last evaluation. A run\n"
    "stops once every condition holds, unless a final measure needs it all; one not\n"
    "reached by --steps is nan with status 1. stage and escape are for ODEs only.\n"
    "Seeds as an axis (seed=1:8:8) give replicates; --summary FILE then writes, per\n"
    "setting of the other axes, the median and quartiles of every column over the\n"
    "seeds (C_median, C_q25, C_q75, and C_n, the seeds with a value; a seed without\n"
    "one counts as later than all others): `stagewise fit FILE --y\n"
    "step_event_median --law 'C * d^a'` fits the medians. --summary works for ODE\n"
    "sweeps with a seed axis too.\n\n"
    "Seeds: for a system with a seed parameter, point i runs with a seed hashed\n"
    "(splitmix64) from seed and i, so no result depends on the thread count; with\n"
    "--same-seed every point keeps seed itself (the same random start wherever the\n"
    "state has the same shape: smoother curves, no independent replicates). A seed\n"
    "list (seed=1:10:10) gives replicates either way.\n\n"
    "Resuming: each finished point is appended to FILE.csv at once and synced to\n"
    "disk. Running the same command again skips the points already there; once\n"
    "every point is done the file is rewritten in point order, so it is the same\n"
    "whatever the threads or interruptions. A file written by a different sweep is\n"
    "refused; a last row cut short (kill -9, a crash) is dropped and its point\n"
    "computed again. The file is locked while a sweep runs: a second sweep into it\n"
    "exits 2. Ctrl-C stops after the points under way (twice: at once); nothing\n"
    "finished is lost.\n\n"
    "options:\n"
    "  --measure WHAT   what to measure (required, repeatable)\n"
    "  --out FILE.csv   the result (required; a file, to append to and resume)\n"
    "  --summary FILE.csv  medians and quartiles over the seed axis (see above)\n"
    "  --threads N      OpenMP threads, 1 to 4 x the cores (default: every core)\n"
    "  --same-seed      every point runs with seed as given (see Seeds)\n"
    "  --predict        Z systems: lambda_plus, the largest eigenvalue of the exact\n"
    "                   start Jacobian of (alpha, beta, Delta a), and t_scale =\n"
    "                   1/lambda_plus, the escape time scale it predicts\n\n"
    "ODE options:\n" SW_CLI_ODE_HELP
    "  (--init and --until do not apply: use --measure event:...)\n\n"
    "training options (train:TASK; --points and --grid are the evaluations here):\n"
    "%s"
    "  --noise X        regression, toy: std of Gaussian noise added to each target\n"
    "                   entry (default 0)\n";

#define MAX_MEASURES 16

/* Options that mean one thing for an ODE sweep and another (or nothing)
 * for a training sweep wait here until the target is known. */
struct pending {
    int opt;
    const char *arg;
};

struct args {
    sw_cli_ode c;
    sw_train_opts train;
    int same_seed;
    const char *out, *summary;
    const char *measures[MAX_MEASURES];
    size_t n_measures;
    double threads;
    double noise;
    int has_noise;
    int predict;
    struct pending pend[64];
    size_t n_pend;
};

enum { OPT_OUT = 'o', OPT_MEASURE = 'm', OPT_THREADS = 'j', OPT_PREDICT = 'p',
       OPT_SAME_SEED = 's', OPT_SUMMARY = 2000, OPT_NOISE };

static int default_threads(void)
{
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

static int on_option(int opt, const char *arg, void *ctx, sw_err *e)
{
    struct args *a = ctx;
    switch (opt) {
    case OPT_OUT:
        a->out = arg;
        return SW_OK;
    case OPT_SUMMARY:
        a->summary = arg;
        return SW_OK;
    case OPT_MEASURE:
        if (a->n_measures == MAX_MEASURES)
            return sw_fail(e, SW_EINPUT, "measure: at most %d measures", MAX_MEASURES);
        a->measures[a->n_measures++] = arg;
        return SW_OK;
    case OPT_THREADS:
        /* More threads than that only contend (and libgomp may fail to
         * start them, ending the process from inside). */
        if (sw_parse_real_in(arg, "threads", 1, 4 * default_threads(), &a->threads, e))
            return SW_EINPUT;
        if (a->threads != floor(a->threads))
            return sw_fail(e, SW_EINPUT, "threads: '%s' is not an integer", arg);
        return SW_OK;
    case OPT_PREDICT:
        a->predict = 1;
        return SW_OK;
    case OPT_SAME_SEED:
        a->same_seed = 1;
        return SW_OK;
    case OPT_NOISE:
        a->has_noise = 1;
        return sw_parse_real_in(arg, "noise", 0, 1e6, &a->noise, e);
    case SW_OPT_INIT:
    case SW_OPT_UNTIL:
        return sw_fail(e, SW_EINPUT, "%s: not used by sweep (each point starts from its own "
                                     "initial state; allowed: --measure event:'OBS<=X')",
                       opt == SW_OPT_INIT ? "init" : "until");
    case SW_OPT_PRESET:
        return sw_cli_ode_option(&a->c, opt, arg, e);
    }
    if (a->n_pend == sizeof a->pend / sizeof a->pend[0])
        return sw_fail(e, SW_EINPUT, "too many options");
    a->pend[a->n_pend++] = (struct pending){opt, arg};
    return SW_OK;
}

static const char *option_name(const struct option *longopts, int opt)
{
    for (; longopts->name; longopts++)
        if (longopts->val == opt)
            return longopts->name;
    return "?";
}

/* The waiting options, now that the sweep is known to integrate (task
 * NULL) or to train: --points and --grid are the trainer's evaluations in
 * a training sweep, the solver's output grid otherwise. */
static int apply_pending(struct args *a, const sw_task *task, const struct option *longopts,
                         sw_err *e)
{
    if (!task && a->has_noise)
        return sw_fail(e, SW_EINPUT, "noise: for training sweeps only (allowed: train:TASK)");
    for (size_t i = 0; i < a->n_pend; i++) {
        int opt = a->pend[i].opt;
        const char *arg = a->pend[i].arg, *name = option_name(longopts, opt);
        int train_opt = opt >= SW_OPT_TRAIN && opt <= SW_OPT_TRAIN_MAX;
        int rc;
        if (!task && train_opt)
            rc = sw_fail(e, SW_EINPUT, "%s: a training option (allowed with train:TASK)", name);
        else if (!task)
            rc = sw_cli_ode_option(&a->c, opt, arg, e);
        else if (train_opt || opt == SW_OPT_POINTS || opt == SW_OPT_GRID)
            rc = sw_train_opts_set(&a->train, name, arg, e);
        else
            rc = sw_fail(e, SW_EINPUT,
                         "%s: not used by a training sweep (allowed: the training options; "
                         "its length is --steps)",
                         name);
        if (rc)
            return rc;
    }
    return SW_OK;
}

/* Splits the KEY=... words into axes (real and integer parameters, ranges
 * of list-valued ones) and fixed words (other list values, and unknown
 * parameters, which the model reports), then builds the base model from
 * the preset, the fixed words and each axis's first value. */
static int build_base(const sw_system *sys, const char *preset, int n, char **words,
                      const sw_model_budget *b, sw_sweep_axis *axes, size_t *n_axes,
                      sw_model **base, sw_err *e)
{
    char **bw = calloc((size_t)n + 1, sizeof *bw);
    if (!bw)
        return sw_fail(e, SW_EFAIL, "out of memory");
    int rc = SW_OK;
    *n_axes = 0;
    for (int i = 0; i < n && rc == SW_OK; i++) {
        const char *eq = strchr(words[i], '=');
        char key[64];
        int k = -1;
        if (eq && (size_t)(eq - words[i]) < sizeof key) {
            memcpy(key, words[i], (size_t)(eq - words[i]));
            key[eq - words[i]] = '\0';
            k = sw_param_index(sys, key);
        }
        for (int j = 0; k >= 0 && j < i && rc == SW_OK; j++)
            if (strncmp(words[j], words[i], (size_t)(eq - words[i]) + 1) == 0)
                rc = sw_fail(e, SW_EINPUT, "%s: given twice (allowed: one list per parameter)",
                             key);
        if (rc)
            break;
        if (k < 0 || (sys->params[k].kind == SW_PARAM_LIST && !strchr(eq, ':'))) {
            bw[i] = strdup(words[i]);
        } else {
            sw_sweep_axis *ax = &axes[(*n_axes)++];
            ax->param = k;
            if ((rc = sw_sweep_list_parse(&sys->params[k], eq + 1, &ax->values, e))) {
                (*n_axes)--;
                break;
            }
            if (asprintf(&bw[i], "%s=%.17g", key, ax->values.v[0]) < 0)
                bw[i] = NULL;
        }
        if (!bw[i])
            rc = sw_fail(e, SW_EFAIL, "out of memory");
    }
    if (rc == SW_OK)
        rc = sw_cli_model(sys, preset, n, bw, b, base, e);
    for (int i = 0; i < n; i++)
        free(bw[i]);
    free(bw);
    return rc;
}

struct sink {
    sw_sweep_results *R;
    FILE *fp; /* the output, opened for appending */
    const char *path;
    size_t done, todo;
    sw_progress bar; /* counts every rank's points */
    sw_syncer sync;
};

static int on_point(const sw_sweep_result *r, void *user, sw_err *e)
{
    struct sink *k = user;
    sw_sweep_results_keep(k->R, r->point, r->values, r->status, r->reason);
    sw_sweep_write_row(k->R->s, r, k->fp);
    /* One write(2) per row before the point counts as done: a killed
     * process loses no finished point (a torn row, at most, which a resume
     * drops); the syncer takes it to the disk. */
    if (fflush(k->fp) != 0)
        return sw_fail(e, SW_EFAIL, "cannot append to '%s': %s", k->path, strerror(errno));
    sw_syncer_note(&k->sync);
    k->done++;
    sw_progress_update(&k->bar, (double)k->done / (double)k->todo);
    return SW_OK;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Ctrl-C, kill and hang-up stop the sweep after the points under way; a
 * second signal ends the process at once. */
static const int stop_signals[3] = {SIGINT, SIGTERM, SIGHUP};

static void catch_signals(struct sigaction old[3])
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++)
        sigaction(stop_signals[i], &sa, &old[i]);
}

static void release_signals(struct sigaction old[3])
{
    for (int i = 0; i < 3; i++)
        sigaction(stop_signals[i], &old[i], NULL);
}

/* Runs the points not yet in R, appending each to the file behind fd; with
 * other MPI ranks, on theirs too. */
static int run_points(const sw_mpi_world *w, const sw_sweep *s, sw_sweep_results *R, int fd,
                      const char *path, int threads, sw_err *e)
{
    size_t n = 0;
    size_t *todo = malloc((s->n_points ? s->n_points : 1) * sizeof *todo);
    if (!todo)
        return sw_fail(e, SW_EFAIL, "out of memory");
    for (size_t p = 0; p < s->n_points; p++)
        if (!R->have[p])
            todo[n++] = p;
    /* A second descriptor of the locked file: closing it keeps the lock. */
    int dfd = n ? dup(fd) : -1;
    FILE *fp = dfd >= 0 ? fdopen(dfd, "a") : NULL;
    if (dfd >= 0 && !fp)
        close(dfd);
    if (n && !fp) {
        free(todo);
        return sw_fail(e, SW_EINPUT, "out: cannot append to '%s': %s", path, strerror(errno));
    }
    struct sink k = {R, fp, path, 0, n, {0}, {0}};
    /* No idle threads for a short list. */
    int nt = (size_t)threads < n ? threads : n ? (int)n : 1;
    /* Every thread of every rank has at most one row in flight. */
    unsigned long workers = (unsigned long)nt * (unsigned long)(w->size > 1 ? w->size : 1);
    if (fp && sw_syncer_start(&k.sync, fileno(fp), workers) != 0) {
        fclose(fp);
        free(todo);
        return sw_fail(e, SW_EFAIL, "cannot start the thread that syncs '%s'", path);
    }
    sw_progress_begin(&k.bar, "sweep");
    sw_progress_total(&k.bar, n, "points");
    int rc = SW_OK;
    if (w->size > 1) /* the other ranks wait for points, or for word that there are none */
        rc = sw_mpi_sweep_lead(w, s, todo, n, nt, &interrupted, on_point, &k, e);
    else if (n)
        rc = sw_sweep_run(s, todo, n, nt, &interrupted, on_point, &k, e);
    sw_progress_end(&k.bar);
    int serr = fp ? sw_syncer_stop(&k.sync) : 0;
    if (serr && rc == SW_OK)
        rc = sw_fail(e, SW_EFAIL, "cannot sync '%s': %s", path, strerror(serr));
    if (fp && fclose(fp) != 0 && rc == SW_OK)
        rc = sw_fail(e, SW_EFAIL, "cannot append to '%s': %s", path, strerror(errno));
    free(todo);
    return rc;
}

/* SYSTEM, or train:TASK (then *task is set and *sys is the task's). */
static int target(const char *word, const sw_system **sys, const sw_task **task, sw_err *e)
{
    *task = NULL;
    if (strncmp(word, "train:", 6) != 0)
        return sw_cli_system(word, sys, e);
    if (!(*task = sw_task_find(word + 6)))
        return sw_fail(e, SW_EINPUT, "unknown task '%s' (allowed: train:TASK with TASK one of %s)",
                       word + 6, sw_task_names());
    *sys = (*task)->sys;
    return SW_OK;
}

/* Everything the sweep needs before its file: built alike on every rank. */
struct setup {
    const sw_system *sys;
    const sw_task *task;
    sw_model *base;
    sw_sweep *s;
    char *head;
    sw_sweep_results R;
};

static void setup_free(struct setup *S)
{
    sw_sweep_results_free(&S->R);
    free(S->head);
    sw_sweep_free(S->s);
    sw_model_free(S->base);
}

static int set_up(struct args *a, const struct option *longopts, int n_words, char **words,
                  const char *target_word, struct setup *S, sw_err *e)
{
    sw_sweep_axis *axes = calloc((size_t)n_words + 1, sizeof *axes);
    size_t n_axes = 0;
    if (!axes)
        return sw_fail(e, SW_EFAIL, "out of memory");
    int rc;
    if ((rc = target(target_word, &S->sys, &S->task, e)) ||
        (rc = apply_pending(a, S->task, longopts, e))) {
        free(axes);
        return rc;
    }
    sw_model_budget b;
    if (S->task)
        sw_train_model_budget(&a->train, &b);
    else
        sw_ode_model_budget(&a->c.o, &b);
    if ((rc = build_base(S->sys, a->c.preset, n_words, words, &b, axes, &n_axes, &S->base, e)) ||
        (rc = S->task ? SW_OK : sw_ode_opts_check(&a->c.o, e))) {
        for (size_t i = 0; i < n_axes; i++)
            free(axes[i].values.v);
        free(axes);
        return rc;
    }
    sw_sweep_opts so;
    sw_sweep_opts_default(&so);
    so.ode = a->c.o;
    so.predict = a->predict;
    so.same_seed = a->same_seed;
    so.task = S->task;
    so.train = a->train;
    so.noise = a->noise;
    rc = sw_sweep_alloc(S->base, n_axes, axes, a->n_measures, a->measures, &so, &S->s, e);
    free(axes);
    if (rc || (a->summary && (rc = sw_sweep_summary_check(S->s, e))))
        return rc;
    if (a->summary && strcmp(a->summary, a->out) == 0)
        return sw_fail(e, SW_EINPUT, "summary: '%s' is the --out file (allowed: another file)",
                       a->summary);
    if (!(S->head = sw_sweep_head_text(S->s)) || sw_sweep_results_alloc(&S->R, S->s))
        return sw_fail(e, SW_EFAIL, "out of memory");
    return SW_OK;
}

static int sweep(const sw_mpi_world *w, int argc, char **argv, sw_err *e)
{
    struct option longopts[32 + SW_OPT_TRAIN_MAX - SW_OPT_TRAIN + 1] = {
        SW_CLI_ODE_OPTIONS,
        {"out", required_argument, 0, OPT_OUT},
        {"measure", required_argument, 0, OPT_MEASURE},
        {"threads", required_argument, 0, OPT_THREADS},
        {"predict", no_argument, 0, OPT_PREDICT},
        {"same-seed", no_argument, 0, OPT_SAME_SEED},
        {"summary", required_argument, 0, OPT_SUMMARY},
        {"noise", required_argument, 0, OPT_NOISE},
    };
    /* After the ODE options, so --points and --grid parse as theirs (and
     * mean the trainer's in a training sweep: apply_pending). */
    size_t n_own = 0;
    while (longopts[n_own].name)
        n_own++;
    sw_cli_train_longopts(longopts + n_own);
    struct args a = {0};
    sw_cli_ode_default(&a.c);
    sw_train_opts_default(&a.train);
    a.threads = default_threads();
    int first;
    struct setup S = {0};
    int rc = sw_cli_getopt(argc, argv, longopts, on_option, &a, &first, e);
    if (rc == SW_OK && first >= argc)
        rc = sw_fail(e, SW_EINPUT, "sweep needs a SYSTEM or train:TASK (allowed: %s; tasks %s)",
                     sw_system_names(), sw_task_names());
    if (rc == SW_OK && (!a.out || strcmp(a.out, "-") == 0))
        rc = sw_fail(e, SW_EINPUT, "out: sweep needs --out FILE.csv (allowed: a file, which "
                                   "it appends to and resumes from)");
    if (rc == SW_OK)
        rc = set_up(&a, longopts, argc - first - 1, argv + first + 1, argv[first], &S, e);
    /* Points of every system and task may reach BLAS or LAPACK (Newton
     * solves, products, the trainers'). */
    if (rc == SW_OK)
        a.threads = sw_cli_blas_threads((int)a.threads);
    /* Every rank built the same sweep, or none goes on. */
    int all = sw_mpi_agree(w, rc);
    if (all && !rc)
        rc = sw_fail(e, all, "another MPI rank could not set up the sweep");
    if (rc)
        goto out;

    /* Rank 0 alone touches the file. */
    const sw_sweep *s = S.s;
    sw_sweep_results *R = &S.R;
    int fd = -1;
    if (w->rank == 0 && (rc = sw_sweep_out_lock(a.out, &fd, e)) == SW_OK &&
        (rc = sw_sweep_out_resume(R, fd, a.out, S.head, e)) == SW_OK && R->n_have)
        fprintf(stderr, "stagewise: resuming: %zu of %zu points are in %s already\n", R->n_have,
                s->n_points, a.out);
    if (sw_mpi_share(w, rc) != SW_OK) {
        rc = rc ? rc : SW_EFAIL;
        goto out_fd;
    }

    size_t had = R->n_have;
    double t0 = sw_cli_now();
    struct sigaction old[3];
    catch_signals(old);
    rc = w->rank ? sw_mpi_sweep_follow(s, (int)a.threads, &interrupted, e)
                 : run_points(w, s, R, fd, a.out, (int)a.threads, e);
    release_signals(old);
    if (rc || w->rank)
        goto out_fd;
    double wall = sw_cli_now() - t0;
    if (R->n_have < s->n_points) {
        rc = sw_fail(e, SW_EFAIL,
                     "interrupted: %zu of %zu points are in %s; the same command resumes",
                     R->n_have, s->n_points, a.out);
        goto out_fd;
    }
    if ((rc = sw_sweep_out_finish(R, w->on ? w->size : 0, a.out, e)) ||
        (a.summary && (rc = sw_sweep_out_summary(R, a.summary, e))))
        goto out_fd;
    size_t ran = R->n_have - had;
    char where[64];
    snprintf(where, sizeof where, "%d thread%s", (int)a.threads, a.threads == 1 ? "" : "s");
    if (w->size > 1)
        snprintf(where, sizeof where, "%d ranks x %d thread%s", w->size, (int)a.threads,
                 a.threads == 1 ? "" : "s");
    printf("sweep: %zu point%s (%zu computed in %.3f s on %s, %.4g points/s) -> %s\n",
           s->n_points, s->n_points == 1 ? "" : "s", ran, wall, where,
           ran && wall > 0 ? (double)ran / wall : 0.0, a.out);
    if (R->n_failed)
        fprintf(stderr, "stagewise: %zu of %zu point%s no value (status column; reasons on "
                        "the failure_POINT lines of %s)\n",
                R->n_failed, s->n_points, s->n_points == 1 ? " has" : "s have", a.out);
out_fd:
    if (fd >= 0)
        close(fd); /* the lock goes with it, after the final rewrite */
out:
    setup_free(&S);
    return rc;
}

int sw_cmd_sweep(int argc, char **argv)
{
    if (sw_cli_wants_help(argc, argv)) {
        printf(help, sw_train_opts_help);
        return 0;
    }
    sw_mpi_world w;
    sw_err e;
    int rc = sw_mpi_init(&argc, &argv, &w, &e);
    if (rc == SW_OK)
        rc = sweep(&w, argc, argv, &e);
    /* Rank 0 speaks for the job; the others fail (or not) quietly. */
    int quiet = w.rank != 0;
    sw_mpi_finalize(&w);
    return quiet ? rc : sw_cli_report(rc, &e);
}
