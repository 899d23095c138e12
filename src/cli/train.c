/* `train`: a task's model trained by discrete steps, its evaluations in
 * the CSV schema of `integrate` so the two overlay. */
#include <math.h>
#include <stdlib.h>
#include <string.h>


#include "cli.h"
#include "markov.h"
#include "model.h"
#include "stagewise/output.h"
#include "train.h"
#include "transformer.h"

static const char help[] =
    "usage: stagewise train TASK [KEY=VALUE ...] [options]\n\n"
    "Trains TASK's model by discrete optimiser steps on sampled data and writes\n"
    "its evaluations as `integrate` writes a trajectory: provenance lines, then\n"
    "t = step * lr, loss and the observables of the matching system, then\n"
    "train_loss (mean minibatch loss since the previous evaluation) and step.\n\n"
    "tasks:\n"
    "  regression  y-full's model, features and parameters (stagewise describe y-full);\n"
    "              X iid N(0,1); loss is the population loss without the noise floor\n"
    "  toy         z-full's model, teacher and parameters (stagewise describe z-full);\n"
    "              loss is the population loss\n"
    "  markov      the minimal transformer on the Markov chain, parameters below;\n"
    "              loss is the cross-entropy on n_eval held-out sequences\n\n"
    "training options:\n%s"
    "  --noise X        regression, toy: std of Gaussian noise added to each target\n"
    "                   entry (default 0)\n"
    "  --restricted     markov: first train models restricted to context j m\n"
    "                   (j = 1..K) with the same settings; columns kl_ctx<j> give the\n"
    "                   KL from each to the model being trained\n"
    "  --threads N      tf-*: OpenMP threads inside a step (default 1); the numbers do\n"
    "                   not depend on it; one thread on the serial OpenBLAS\n"
    "  --stop-at-emergence  tf-location, tf-recall: end the run at the evaluation\n"
    "                   where every emergence criterion has been met\n"
    "  --profile        tf-*: time the model's phases (projections, attention, MLP,\n"
    "                   other; forward and backward, evaluations included) and add\n"
    "                   CPU seconds, GFLOP and GFLOP per CPU second of each to the JSON\n"
    "  --init FILE      initial parameters, in the state order `describe` lists\n"
    "  --preset FILE    INI file of KEY = VALUE parameters (the command line wins)\n"
    "  --out FILE.csv   evaluations (default -, standard output)\n"
    "  --meta FILE.json settings, statistics, wall time and speed (default FILE.json\n"
    "                   beside --out; none for standard output)\n\n"
    "";

/* After the help text: the parameters and columns of the tasks this
 * command's own models train. */
static void task_parameters(void)
{
    const sw_task *own[] = {&sw_task_markov, &sw_task_tf_location, &sw_task_tf_recall,
                            &sw_task_tf_markov};
    for (size_t k = 0; k < sizeof own / sizeof own[0]; k++) {
        const sw_system *sys = own[k]->sys;
        printf("%s parameters:\n", sys->name);
        for (size_t i = 0; i < sys->n_params; i++) {
            const sw_param_def *d = &sys->params[i];
            printf("  %-10s = %-6s %s\n", d->name, *d->def ? d->def : "(none)", d->doc);
        }
        printf("\n%s columns: %s\n\n", sys->name, sys->doc);
    }
}

/* ---- shared with crosscheck --------------------------------------------- */

size_t sw_cli_train_longopts(struct option *dst)
{
    size_t n = 0;
    for (; sw_train_opt_names[n]; n++)
        dst[n] = (struct option){sw_train_opt_names[n], required_argument, 0,
                                 SW_OPT_TRAIN + (int)n};
    return n;
}

int sw_cli_train_option(sw_train_opts *o, int opt, const char *arg, sw_err *e)
{
    if (opt < SW_OPT_TRAIN || opt > SW_OPT_TRAIN_MAX)
        return -1;
    return sw_train_opts_set(o, sw_train_opt_names[opt - SW_OPT_TRAIN], arg, e);
}

void sw_cli_train_provenance(FILE *fp, const sw_learner *l, const sw_train_opts *o)
{
    sw_csv_provenance(fp, "task", "%s", l->task->name);
    sw_csv_provenance(fp, "optim", "%s lr=%.17g steps=%zu batch=%zu n_train=%zu noise=%.17g",
                      sw_optim_name(o->optim), o->lr, o->steps, o->batch, o->n_train, l->noise);
    sw_csv_provenance(fp, "time", "t = step * lr");
}

json_object *sw_cli_train_json(const sw_train_opts *o, const sw_learner *l)
{
    json_object *t = json_object_new_object();
    json_object_object_add(t, "task", json_object_new_string(l->task->name));
    json_object_object_add(t, "optim", json_object_new_string(sw_optim_name(o->optim)));
    json_object_object_add(t, "lr", json_object_new_double(o->lr));
    json_object_object_add(t, "steps", json_object_new_int64((int64_t)o->steps));
    json_object_object_add(t, "batch", json_object_new_int64((int64_t)o->batch));
    json_object_object_add(t, "n_train", json_object_new_int64((int64_t)o->n_train));
    json_object_object_add(t, "noise", json_object_new_double(l->noise));
    json_object_object_add(t, "patience", json_object_new_int64((int64_t)o->patience));
    if (o->optim == SW_OPTIM_ADAM) {
        json_object_object_add(t, "beta1", json_object_new_double(o->beta1));
        json_object_object_add(t, "beta2", json_object_new_double(o->beta2));
        json_object_object_add(t, "eps", json_object_new_double(o->eps));
    }
    return t;
}

/* ---- train -------------------------------------------------------------- */

struct args {
    sw_train_opts o;
    double noise, threads;
    int profile, stop_at_emergence;
    int restricted;
    const char *init, *preset, *out, *meta;
};

enum { OPT_NOISE = 1, OPT_THREADS, OPT_PROFILE, OPT_STOP_EMERGED, OPT_RESTRICTED, OPT_INIT, OPT_PRESET, OPT_OUT, OPT_META };

static int on_option(int opt, const char *arg, void *ctx, sw_err *e)
{
    struct args *a = ctx;
    switch (opt) {
    case OPT_NOISE:
        return sw_parse_real_in(arg, "noise", 0, 1e6, &a->noise, e);
    case OPT_THREADS:
        return sw_parse_real_in(arg, "threads", 1, 256, &a->threads, e);
    case OPT_STOP_EMERGED:
        a->stop_at_emergence = 1;
        return SW_OK;
    case OPT_PROFILE:
        a->profile = 1;
        return SW_OK;
    case OPT_RESTRICTED:
        a->restricted = 1;
        return SW_OK;
    case OPT_INIT:
        a->init = arg;
        return SW_OK;
    case OPT_PRESET:
        a->preset = arg;
        return SW_OK;
    default:
        return sw_cli_train_option(&a->o, opt, arg, e);
    }
}

/* The learner of task from the preset and words, plus extra words that
 * override them (the restricted runs' window). */
static int build(const sw_task *task, const struct args *a, int n, char **words,
                 const char *const *extra, int n_extra, sw_learner **out, sw_err *e)
{
    char **all = malloc((size_t)(n + n_extra + 1) * sizeof *all);
    if (!all)
        return sw_fail(e, SW_EFAIL, "out of memory");
    for (int i = 0; i < n; i++)
        all[i] = words[i];
    for (int i = 0; i < n_extra; i++)
        all[n + i] = (char *)extra[i];
    sw_model *m;
    sw_model_budget b;
    sw_train_model_budget(&a->o, &b);
    int rc = sw_cli_model(task->sys, a->preset, n + n_extra, all, &b, &m, e);
    free(all);
    if (rc)
        return rc;
    if ((rc = sw_learner_wrap(task, m, out, e)))
        return rc;
    (*out)->noise = a->noise;
    return SW_OK;
}

/* The first evaluation step that meets each emergence criterion. */
typedef struct emergence {
    size_t n;
    sw_tf_criterion c[2];
    sw_event ev[2];
    long step[2]; /* -1: not reached */
} emergence;

struct sink {
    int stop_at_emergence;
    FILE *fp;
    sw_learner *l;
    double *obs;
    double lr;
    size_t steps;
    sw_progress bar;
    emergence em;
};

static int emergence_init(emergence *em, const sw_model *m, sw_err *e)
{
    const sw_task *tf[] = {&sw_task_tf_location, &sw_task_tf_recall, &sw_task_tf_markov};
    em->n = 0;
    for (size_t k = 0; k < 3; k++)
        if (m->sys == tf[k]->sys)
            em->n = sw_tf_emergence(m, em->c);
    for (size_t i = 0; i < em->n; i++) {
        int rc = sw_event_parse(m, em->c[i].condition, &em->ev[i], e);
        if (rc)
            return rc;
        em->step[i] = -1;
    }
    return SW_OK;
}

static void emergence_check(emergence *em, size_t step, double loss, const double *obs)
{
    for (size_t i = 0; i < em->n; i++)
        if (em->step[i] < 0 && sw_event_gap_of(&em->ev[i], loss, obs) <= 0)
            em->step[i] = (long)step;
}

static json_object *emergence_json(const emergence *em, const sw_model *m)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < em->n; i++) {
        const sw_event *ev = &em->ev[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "column", json_object_new_string(
                                                ev->obs < 0 ? "loss" : m->obs_names[ev->obs]));
        json_object_object_add(o, "threshold", json_object_new_double(ev->thr));
        json_object_object_add(o, "direction", json_object_new_string(ev->ge ? ">=" : "<="));
        json_object_object_add(o, "criterion", json_object_new_string(em->c[i].doc));
        /* As transformer.h writes it, for readers that look a criterion up. */
        json_object_object_add(o, "condition", json_object_new_string(em->c[i].condition));
        json_object_object_add(o, "step", em->step[i] >= 0 ? json_object_new_int64(em->step[i])
                                                            : NULL);
        json_object_array_add(a, o);
    }
    return a;
}

void sw_cli_emergence_each(const char *json, sw_cli_emergence_fn fn, void *user)
{
    json_object *root = json_object_from_file(json), *a = NULL;
    if (root && json_object_object_get_ex(root, "emergence", &a) &&
        json_object_is_type(a, json_type_array))
        for (size_t i = 0; i < json_object_array_length(a); i++) {
            json_object *o = json_object_array_get_idx(a, i), *v;
            sw_cli_emergence en = {.threshold = NAN, .step = -1};
            if (!json_object_object_get_ex(o, "column", &v))
                continue;
            en.column = json_object_get_string(v);
            if (json_object_object_get_ex(o, "condition", &v))
                en.condition = json_object_get_string(v);
            if (json_object_object_get_ex(o, "direction", &v))
                en.direction = json_object_get_string(v);
            if (json_object_object_get_ex(o, "threshold", &v))
                en.threshold = json_object_get_double(v);
            if (json_object_object_get_ex(o, "step", &v) && v)
                en.step = (long)json_object_get_int64(v);
            fn(&en, user);
        }
    json_object_put(root);
}

static int write_row(size_t step, const double *theta, double loss, double train_loss,
                     void *user)
{
    struct sink *s = user;
    const sw_model *m = s->l->m;
    fprintf(s->fp, "%.17g,%.17g", (double)step * s->lr, loss);
    m->sys->observe(m, theta, s->obs);
    for (size_t i = 0; i < m->n_obs; i++)
        fprintf(s->fp, ",%.17g", s->obs[i]);
    fprintf(s->fp, ",%.17g,%zu\n", train_loss, step);
    emergence_check(&s->em, step, loss, s->obs);
    if (s->stop_at_emergence && s->em.n) {
        size_t met = 0;
        for (size_t i = 0; i < s->em.n; i++)
            met += s->em.step[i] >= 0;
        if (met == s->em.n)
            return 1;
    }
    return 0;
}

static void tick(size_t step, size_t steps, void *user)
{
    sw_progress_update(&((struct sink *)user)->bar, (double)step / (double)steps);
}

/* Trains l from its own initial state (or init) into theta. */
static int run(sw_learner *l, const struct args *a, double *theta, sw_train_output out,
               struct sink *sink, const char *label, sw_train_stats *st, sw_err *e)
{
    int rc = sw_cli_init_state(l->m, a->init, theta, e);
    if (rc)
        return rc;
    sw_trainer *tr = sw_trainer_alloc(l, &a->o, e);
    if (!tr)
        return SW_EFAIL;
    sw_progress_begin(&sink->bar, label);
    sw_progress_total(&sink->bar, a->o.steps, "steps");
    sw_trainer_set_tick(tr, tick, sink);
    rc = sw_train_run(tr, theta, out, sink, st, e);
    sw_progress_end(&sink->bar);
    sw_trainer_free(tr);
    return rc;
}

/* Fig. 3 (right) of Yuksel et al.: models that can only see the last j m
 * tokens, trained with the same settings, become the references of the
 * main model's kl_ctx<j> columns. */
static int train_restricted(const struct args *a, int n, char **words, sw_learner *main_l,
                            sw_err *e)
{
    size_t K = (size_t)sw_model_get(main_l->m, "K"), mg = (size_t)sw_model_get(main_l->m, "m");
    double *logp = malloc(sw_markov_pred_size(main_l->m) * sizeof *logp);
    if (!logp)
        return sw_fail(e, SW_EFAIL, "out of memory");
    int rc = SW_OK;
    for (size_t j = 1; j <= K && rc == SW_OK; j++) {
        char window[32], label[48];
        snprintf(window, sizeof window, "window=%zu", j * mg);
        snprintf(label, sizeof label, "context %zu", j * mg);
        const char *extra[] = {"compare=0", window};
        sw_learner *l = NULL;
        double *theta = NULL;
        struct sink sink = {.lr = a->o.lr, .steps = a->o.steps};
        sw_train_stats st;
        if (!(rc = build(&sw_task_markov, a, n, words, extra, 2, &l, e))) {
            if (!(theta = malloc(l->m->dim * sizeof *theta)))
                rc = sw_fail(e, SW_EFAIL, "out of memory");
            else if (!(rc = run(l, a, theta, NULL, &sink, label, &st, e))) {
                sw_markov_predict(l->m, theta, logp);
                rc = sw_markov_set_reference(main_l->m, j, logp, e);
            }
        }
        free(theta);
        sw_learner_free(l);
    }
    free(logp);
    return rc;
}

static json_object *metadata(const sw_learner *l, const struct args *a, const sw_train_stats *st,
                             const emergence *em, double wall)
{
    const sw_model *m = l->m;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "stagewise", json_object_new_string(SW_VERSION));
    json_object_object_add(o, "task", json_object_new_string(l->task->name));
    json_object_object_add(o, "system", json_object_new_string(m->sys->name));
    json_object_object_add(o, "params", sw_json_params(m));
    json_object_object_add(o, "seed", json_object_new_int64((int64_t)sw_model_get(m, "seed")));
    json_object_object_add(o, "init", json_object_new_string(a->init ? a->init : "default"));
    json_object_object_add(o, "training", sw_cli_train_json(&a->o, l));
    json_object_object_add(o, "restricted", json_object_new_boolean(a->restricted));
    json_object *s = json_object_new_object();
    json_object_object_add(s, "steps", json_object_new_int64((int64_t)st->steps));
    json_object_object_add(s, "stopped_early", json_object_new_boolean(st->stopped_early));
    json_object_object_add(s, "best_step", json_object_new_int64((int64_t)st->best_step));
    json_object_object_add(s, "best_loss", json_object_new_double(st->best_loss));
    json_object_object_add(o, "stats", s);
    if (em->n)
        json_object_object_add(o, "emergence", emergence_json(em, m));
    json_object_object_add(o, "wall_seconds", json_object_new_double(wall));
    json_object_object_add(o, "steps_per_second",
                           json_object_new_double(wall > 0 ? (double)st->steps / wall : 0));
    return o;
}

static json_object *profile_json(void)
{
    double sec[SW_TF_PHASES], flop[SW_TF_PHASES];
    sw_tf_profile_read(sec, flop);
    json_object *arr = json_object_new_array();
    for (int k = 0; k < SW_TF_PHASES; k++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "phase", json_object_new_string(sw_tf_phase_names[k]));
        json_object_object_add(o, "cpu_seconds", json_object_new_double(sec[k]));
        json_object_object_add(o, "gflop", json_object_new_double(1e-9 * flop[k]));
        json_object_object_add(o, "gflop_per_second",
                               json_object_new_double(sec[k] > 0 ? 1e-9 * flop[k] / sec[k] : 0));
        json_object_array_add(arr, o);
    }
    return arr;
}

int sw_cmd_train(int argc, char **argv)
{
    struct option longopts[32] = {0};
    size_t k = sw_cli_train_longopts(longopts);
    longopts[k++] = (struct option){"noise", required_argument, 0, OPT_NOISE};
    longopts[k++] = (struct option){"threads", required_argument, 0, OPT_THREADS};
    longopts[k++] = (struct option){"profile", no_argument, 0, OPT_PROFILE};
    longopts[k++] = (struct option){"stop-at-emergence", no_argument, 0, OPT_STOP_EMERGED};
    longopts[k++] = (struct option){"restricted", no_argument, 0, OPT_RESTRICTED};
    longopts[k++] = (struct option){"init", required_argument, 0, OPT_INIT};
    longopts[k++] = (struct option){"preset", required_argument, 0, OPT_PRESET};
    longopts[k++] = (struct option){"out", required_argument, 0, OPT_OUT};
    longopts[k++] = (struct option){"meta", required_argument, 0, OPT_META};

    struct args a = {.out = "-", .threads = 1};
    sw_train_opts_default(&a.o);
    const sw_cli_output outs[] = {{"out", &a.out}, {"meta", &a.meta}, {0}};
    const sw_cli_command cmd = {.help = help, .help_arg = sw_train_opts_help,
                                .help_more = task_parameters, .longopts = longopts,
                                .on_option = on_option};
    int first, rc;
    if (sw_cli_start(&cmd, outs, argc, argv, &a, &first, &rc))
        return rc;
    if (first >= argc)
        return sw_cli_die(SW_EINPUT, "train needs a TASK (allowed: %s)", sw_task_names());
    const sw_task *task = sw_task_find(argv[first]);
    if (!task)
        return sw_cli_die(SW_EINPUT, "unknown task '%s' (allowed: %s)", argv[first],
                          sw_task_names());
    if (a.restricted && task != &sw_task_markov)
        return sw_cli_die(SW_EINPUT, "restricted: only the markov task has restricted-context "
                          "models (allowed: markov)");
    if (a.noise > 0 && task != &sw_task_regression && task != &sw_task_toy)
        return sw_cli_die(SW_EINPUT, "noise: %s targets have no noise option (allowed: "
                          "regression, toy)", task->name);
    if (a.threads != (int)a.threads)
        return sw_cli_die(SW_EINPUT, "threads: %g is not an integer (allowed: 1 .. 256)",
                          a.threads);
    a.threads = sw_cli_blas_threads((int)a.threads);
    sw_tf_set_threads((int)a.threads);
    sw_tf_profile(a.profile);

    sw_err e;
    int n = argc - first - 1;
    char **words = argv + first + 1;
    static const char *const compare[] = {"compare=1"};
    sw_learner *l = NULL;
    double *theta = NULL;
    struct sink sink = {.lr = a.o.lr, .steps = a.o.steps};
    sw_outfile csv = {0};
    char *meta_path = NULL;
    if ((rc = build(task, &a, n, words, compare, a.restricted, &l, &e)) ||
        (rc = sw_train_opts_check(&a.o, l, &e)))
        goto out;
    const sw_model *m = l->m;
    theta = malloc(m->dim * sizeof *theta);
    sink.obs = malloc((m->n_obs + 1) * sizeof *sink.obs);
    if (!theta || !sink.obs) {
        rc = sw_fail(&e, SW_EFAIL, "out of memory");
        goto out;
    }
    /* Open the output before any training so an unwritable path fails at
     * once. */
    if ((rc = sw_meta_path(a.meta, a.out, &meta_path, &e)) ||
        (rc = sw_outfile_open(&csv, a.out, &e)))
        goto out;
    double t0 = sw_cli_now();
    if (a.restricted && (rc = train_restricted(&a, n, words, l, &e)))
        goto out;
    sink.fp = csv.fp;
    sink.l = l;
    if ((rc = emergence_init(&sink.em, m, &e)))
        goto out;
    sink.stop_at_emergence = a.stop_at_emergence;
    if (a.stop_at_emergence && !sink.em.n) {
        rc = sw_fail(&e, SW_EINPUT, "stop-at-emergence: %s has no emergence criterion "
                     "(allowed: tf-location, tf-recall)", task->name);
        goto out;
    }
    sw_csv_model_provenance(csv.fp, m);
    sw_cli_train_provenance(csv.fp, l, &a.o);
    fputs("t,loss", csv.fp);
    for (size_t i = 0; i < m->n_obs; i++)
        fprintf(csv.fp, ",%s", m->obs_names[i]);
    fputs(",train_loss,step\n", csv.fp);
    sw_train_stats st;
    double t1 = sw_cli_now(), c1 = sw_cli_cpu_now();
    if ((rc = run(l, &a, theta, write_row, &sink, task->name, &st, &e)))
        goto out;
    /* CPU time of the process, every thread, over the training loop alone:
     * beside the wall time, it shows what a run costs on a shared machine. */
    double wall = sw_cli_now() - t1, cpu = sw_cli_cpu_now() - c1;
    json_object *meta = NULL;
    if (meta_path) {
        meta = metadata(l, &a, &st, &sink.em, wall);
        json_object_object_add(meta, "wall_seconds_total", json_object_new_double(sw_cli_now() - t0));
        json_object_object_add(meta, "cpu_seconds", json_object_new_double(cpu));
        if (a.profile)
            json_object_object_add(meta, "profile", profile_json());
    }
    rc = sw_result_commit(&csv, meta_path, meta, &e);
    json_object_put(meta);
    if (!rc && st.stopped_early)
        fprintf(stderr, "stagewise: stopped early at step %zu; kept step %zu (loss %.6g)\n",
                st.steps, st.best_step, st.best_loss);
    for (size_t i = 0; !rc && i < sink.em.n; i++) {
        if (sink.em.step[i] >= 0)
            fprintf(stderr, "stagewise: emergence at step %ld: %s\n", sink.em.step[i],
                    sink.em.c[i].doc);
        else
            fprintf(stderr, "stagewise: no emergence within %zu steps: %s\n", st.steps,
                    sink.em.c[i].doc);
    }
out:
    sw_outfile_abort(&csv);
    free(meta_path);
    free(theta);
    free(sink.obs);
    sw_learner_free(l);
    return sw_cli_report(rc, &e);
}
