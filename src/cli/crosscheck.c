/* `crosscheck`: the trainer against the ODE it discretises. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crosscheck.h"
#include "stagewise/output.h"
#include "train.h"

static const char help[] =
    "usage: stagewise crosscheck SYSTEM [KEY=VALUE ...] [options]\n\n"
    "Trains the model of SYSTEM's task from SYSTEM's initial state and compares\n"
    "loss and observables with the integrated flow at t = step * lr, column by\n"
    "column.  Prints the largest absolute deviation over the run; with --out,\n"
    "also writes t, step, loss (ODE), loss_train, max_dev and dev_<column> at\n"
    "every evaluation.\n\n"
    "systems: y-full, y-reduced, y-coupled, y-simplex (task regression, which\n"
    "trains y-full's model), z-full, z-reduced (task toy: z-full's model).  Each\n"
    "KEY=VALUE goes to whichever of the ODE and the trainer's system declares it.\n"
    "The defaults (--optim gd, no --n-train) step along the population gradient,\n"
    "so the deviation is the Euler error, O(lr); --optim sgd --batch N uses\n"
    "sampled minibatches instead.\n\n"
    "training options:\n%s"
    "  --noise X        std of Gaussian noise on sampled targets (default 0)\n"
    "  --solver NAME, --rtol X, --atol X   the ODE's stepper and tolerances\n"
    "                   (defaults rk8pd, 1e-8, 1e-10)\n"
    "  --tol X          exit 3 if the largest deviation exceeds X\n"
    "  --out FILE.csv   per-evaluation comparison (default: none)\n";

/* The systems that declare a trainer task, for messages. */
static const char *trainable(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sw_system_count() && used < len; i++)
        if (sw_system_at(i)->task)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                                     sw_system_at(i)->name);
    return buf;
}

struct args {
    sw_train_opts o;
    sw_cli_ode c;
    double noise, tol;
    const char *out;
};

enum { OPT_NOISE = 1, OPT_TOL, OPT_OUT };

static int on_option(int opt, const char *arg, void *ctx, sw_err *e)
{
    struct args *a = ctx;
    switch (opt) {
    case OPT_NOISE:
        return sw_parse_real_in(arg, "noise", 0, 1e6, &a->noise, e);
    case OPT_TOL:
        return sw_parse_real_in(arg, "tol", 0, 1e300, &a->tol, e);
    case SW_OPT_SOLVER:
    case SW_OPT_RTOL:
    case SW_OPT_ATOL:
        return sw_cli_ode_option(&a->c, opt, arg, e);
    default:
        return sw_cli_train_option(&a->o, opt, arg, e);
    }
}

/* Sends each KEY=VALUE to the systems that declare KEY. */
static int split_words(const sw_system *ode, const sw_system *trn, int n, char **words,
                       char **to_ode, int *n_ode, char **to_trn, int *n_trn, sw_err *e)
{
    *n_ode = *n_trn = 0;
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(words[i], '=');
        if (!eq || eq == words[i])
            return sw_fail(e, SW_EINPUT, "'%s' is not KEY=VALUE", words[i]);
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - words[i]), words[i]);
        int in_ode = sw_param_index(ode, key) >= 0, in_trn = sw_param_index(trn, key) >= 0;
        if (!in_ode && !in_trn)
            return sw_fail(e, SW_EINPUT, "unknown parameter '%s' (allowed: those of %s and %s, "
                           "see stagewise describe)", key, ode->name, trn->name);
        if (in_ode)
            to_ode[(*n_ode)++] = words[i];
        if (in_trn)
            to_trn[(*n_trn)++] = words[i];
    }
    return SW_OK;
}

struct sink {
    FILE *fp; /* NULL without --out: rows only move the progress line */
    size_t cols, steps;
    sw_progress bar;
};

static int write_row(double t, size_t step, const double *ode_row, const double *train_row,
                     void *user)
{
    struct sink *s = user;
    sw_progress_update(&s->bar, (double)step / (double)s->steps);
    if (!s->fp)
        return 0;
    double worst = 0;
    for (size_t k = 0; k < s->cols; k++)
        worst = fmax(worst, fabs(train_row[k] - ode_row[k]));
    fprintf(s->fp, "%.17g,%zu,%.17g,%.17g,%.17g", t, step, ode_row[0], train_row[0], worst);
    for (size_t k = 0; k < s->cols; k++)
        fprintf(s->fp, ",%.17g", fabs(train_row[k] - ode_row[k]));
    fputc('\n', s->fp);
    return 0;
}

int sw_cmd_crosscheck(int argc, char **argv)
{
    struct option longopts[32] = {0};
    size_t k = sw_cli_train_longopts(longopts);
    longopts[k++] = (struct option){"noise", required_argument, 0, OPT_NOISE};
    longopts[k++] = (struct option){"tol", required_argument, 0, OPT_TOL};
    longopts[k++] = (struct option){"out", required_argument, 0, OPT_OUT};
    longopts[k++] = (struct option){"solver", required_argument, 0, SW_OPT_SOLVER};
    longopts[k++] = (struct option){"rtol", required_argument, 0, SW_OPT_RTOL};
    longopts[k++] = (struct option){"atol", required_argument, 0, SW_OPT_ATOL};

    struct args a = {.tol = -1};
    sw_train_opts_default(&a.o);
    sw_cli_ode_default(&a.c);
    const sw_cli_output outs[] = {{"out", &a.out}, {0}};
    const sw_cli_command cmd = {.help = help, .help_arg = sw_train_opts_help, .longopts = longopts,
                                .on_option = on_option};
    int first, rc;
    if (sw_cli_start(&cmd, outs, argc, argv, &a, &first, &rc))
        return rc;
    char names[512];
    if (first >= argc)
        return sw_cli_die(SW_EINPUT, "crosscheck needs a SYSTEM (allowed: %s)",
                          trainable(names, sizeof names));
    const sw_system *sys = sw_system_find(argv[first]);
    const sw_task *task = sys && sys->task ? sw_task_find(sys->task) : NULL;
    if (!task)
        return sw_cli_die(SW_EINPUT, "crosscheck: no trainer for system '%s' (allowed: %s)",
                          argv[first], trainable(names, sizeof names));
    sw_err e;
    if ((rc = sw_ode_opts_check(&a.c.o, &e)))
        return sw_cli_report(rc, &e);

    int n = argc - first - 1;
    char **words = argv + first + 1;
    char **to_ode = malloc((size_t)(n + 1) * sizeof *to_ode);
    char **to_trn = malloc((size_t)(n + 1) * sizeof *to_trn);
    sw_model *ode = NULL, *tm = NULL;
    sw_learner *l = NULL;
    sw_outfile csv = {0};
    int n_ode, n_trn;
    if (!to_ode || !to_trn) {
        rc = sw_fail(&e, SW_EFAIL, "out of memory");
        goto out;
    }
    sw_model_budget bo, bt;
    sw_ode_model_budget(&a.c.o, &bo);
    sw_train_model_budget(&a.o, &bt);
    if ((rc = split_words(sys, task->sys, n, words, to_ode, &n_ode, to_trn, &n_trn, &e)) ||
        (rc = sw_cli_model(sys, NULL, n_ode, to_ode, &bo, &ode, &e)) ||
        (rc = sw_cli_model(task->sys, NULL, n_trn, to_trn, &bt, &tm, &e)) ||
        (rc = sw_learner_wrap(task, tm, &l, &e)))
        goto out;
    l->noise = a.noise;

    struct sink sink = {.cols = 1 + ode->n_obs, .steps = a.o.steps};
    if (a.out) {
        if ((rc = sw_outfile_open(&csv, a.out, &e)))
            goto out;
        sink.fp = csv.fp;
        sw_csv_model_provenance(csv.fp, ode);
        sw_cli_train_provenance(csv.fp, l, &a.o);
        sw_csv_solver_provenance(csv.fp, &a.c.o);
        fputs("t,step,loss,loss_train,max_dev,dev_loss", csv.fp);
        for (size_t i = 0; i < ode->n_obs; i++)
            fprintf(csv.fp, ",dev_%s", ode->obs_names[i]);
        fputc('\n', csv.fp);
    }
    sw_crosscheck_result res;
    sw_progress_begin(&sink.bar, "crosscheck");
    sw_progress_total(&sink.bar, a.o.steps, "steps");
    rc = sw_crosscheck_run(ode, l, &a.o, &a.c.o, write_row, &sink, &res, &e);
    sw_progress_end(&sink.bar);
    if (rc)
        goto out;
    const char *col = res.worst_col == 0 ? "loss" : ode->obs_names[res.worst_col - 1];
    printf("crosscheck %s against task %s (%s, lr %g, %zu steps, %zu comparisons):\n"
           "  largest deviation %.6g in %s at t = %.10g (step %zu)\n"
           "  largest loss deviation %.6g\n",
           sys->name, task->name, sw_optim_name(a.o.optim), a.o.lr, a.o.steps, res.rows,
           res.max_dev, col, (double)res.worst_step * a.o.lr, res.worst_step, res.max_loss_dev);
    if (a.out && (rc = sw_outfile_commit(&csv, &e)))
        goto out;
    if (a.tol >= 0 && !(res.max_dev <= a.tol))
        rc = sw_fail(&e, SW_ENUMERIC, "deviation %.6g in %s at t = %.10g exceeds tol %g", res.max_dev,
                     col, (double)res.worst_step * a.o.lr, a.tol);
out:
    sw_outfile_abort(&csv);
    free(to_ode);
    free(to_trn);
    sw_learner_free(l);
    sw_model_free(ode);
    return sw_cli_report(rc, &e);
}
