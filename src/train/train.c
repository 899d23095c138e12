/* The training loop shared by every task: data source, minibatches, the
 * optimisers, evaluation schedule and early stopping. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "clones.h"
#include "stagewise/budget.h"
#include "stagewise/train.h"
#include "transformer.h"

static const sw_task *const tasks[] = {&sw_task_regression, &sw_task_toy,         &sw_task_markov,
                                       &sw_task_tf_location, &sw_task_tf_recall, &sw_task_tf_markov};
#define N_TASKS (sizeof tasks / sizeof tasks[0])

const sw_task *sw_task_find(const char *name)
{
    for (size_t i = 0; i < N_TASKS; i++)
        if (strcmp(tasks[i]->name, name) == 0)
            return tasks[i];
    return NULL;
}

const char *sw_task_names(void)
{
    return "regression, toy, markov, tf-location, tf-recall, tf-markov";
}

int sw_learner_wrap(const sw_task *task, sw_model *m, sw_learner **out, sw_err *e)
{
    *out = NULL;
    sw_learner *l = calloc(1, sizeof *l);
    if (!l) {
        sw_model_free(m);
        return sw_fail(e, SW_EFAIL, "out of memory");
    }
    l->task = task;
    l->m = m;
    int rc = task->setup(l, e);
    if (rc) {
        sw_learner_free(l);
        return rc;
    }
    *out = l;
    return SW_OK;
}

int sw_learner_alloc(const sw_task *task, size_t n, const char *const *keys,
                     const char *const *values, sw_learner **out, sw_err *e)
{
    sw_model *m;
    int rc = sw_model_alloc(task->sys, n, keys, values, &m, e);
    if (rc) {
        *out = NULL;
        return rc;
    }
    return sw_learner_wrap(task, m, out, e);
}

void sw_learner_free(sw_learner *l)
{
    if (!l)
        return;
    if (l->ctx && l->task->teardown)
        l->task->teardown(l);
    sw_model_free(l->m);
    free(l);
}

int sw_learner_lift(const sw_learner *l, const sw_model *ode, const double *x, double *theta,
                    sw_err *e)
{
    if (ode->sys == l->m->sys) {
        memcpy(theta, x, l->m->dim * sizeof *theta);
        return SW_OK;
    }
    if (l->task->lift)
        return l->task->lift(l, ode, x, theta, e);
    return sw_fail(e, SW_EINPUT, "task %s cannot start from a state of %s (allowed: %s)",
                   l->task->name, ode->sys->name, l->m->sys->name);
}

/* splitmix64: neighbouring seeds and streams give unrelated MT seeds. */
gsl_rng *sw_train_rng(unsigned long seed, int stream)
{
    uint64_t z = (uint64_t)seed * 16 + (uint64_t)stream + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r)
        gsl_rng_set(r, (unsigned long)(z & 0xffffffffu));
    return r;
}

/* ---- settings ---------------------------------------------------------- */

/* Samples per gradient call: bounds the task's workspace (a Markov
 * minibatch holds every attention matrix) whatever the batch size. */
enum { CHUNK = 256 };

const char *const sw_train_opt_names[] = {"optim",    "lr",      "steps",    "batch",
                                          "n-train",  "eval-every", "grid", "points",
                                          "patience", "max-work", "max-memory", NULL};

const char sw_train_opts_help[] =
    "  --optim NAME     gd (full batch: population gradient, or the whole training\n"
    "                   set with --n-train), sgd (minibatches) or adam (default gd)\n"
    "  --lr X           learning rate, > 0; the CSV's time is t = step * lr (default 0.01)\n"
    "  --steps N        optimiser steps (default 1000)\n"
    "  --batch N        samples per step for sgd and adam (default 128)\n"
    "  --n-train N      fixed training set of N samples; 0 draws fresh samples every\n"
    "                   step (default 0)\n"
    "  --eval-every N   evaluate every N steps (default steps/200, at least 1)\n"
    "  --grid linear|log  evaluation steps evenly spaced, or log-spaced (default linear)\n"
    "  --points N       evaluations on the log grid, step 0 included (default 200)\n"
    "  --patience N     early stopping: stop after N evaluations without a lower\n"
    "                   held-out loss and keep the best parameters (default 0, off)\n"
    "  --max-work N     refuse a run of more than N coordinate evaluations, counted\n"
    "                   as steps x samples per step x parameters (default 1e11)\n"
    "  --max-memory SIZE  refuse a run whose estimated memory is larger; bytes with an\n"
    "                   optional K, M, G, T suffix (default half the machine's memory)\n";

void sw_train_opts_default(sw_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->optim = SW_OPTIM_GD;
    o->lr = 0.01;
    o->steps = 1000;
    o->batch = 128;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->points = 200;
    o->max_work = SW_BUDGET_TRAIN_WORK_DEFAULT;
    o->max_memory = sw_budget_memory_default();
}

const char *sw_optim_name(sw_optim o)
{
    return o == SW_OPTIM_GD ? "gd" : o == SW_OPTIM_SGD ? "sgd" : "adam";
}

static int parse_count(const char *name, const char *value, double lo, size_t *out, sw_err *e)
{
    double v;
    int rc = sw_parse_real_in(value, name, lo, 1e12, &v, e);
    if (rc)
        return rc;
    if (v != floor(v))
        return sw_fail(e, SW_EINPUT, "%s: '%s' is not an integer", name, value);
    *out = (size_t)v;
    return SW_OK;
}

void sw_train_model_budget(const sw_train_opts *o, sw_model_budget *b)
{
    b->max_memory = o->max_memory;
    b->max_work = o->max_work * (SW_BUDGET_WORK_DEFAULT / SW_BUDGET_TRAIN_WORK_DEFAULT);
}

int sw_train_opts_set(sw_train_opts *o, const char *name, const char *value, sw_err *e)
{
    if (strcmp(name, "optim") == 0) {
        for (int k = SW_OPTIM_GD; k <= SW_OPTIM_ADAM; k++)
            if (strcmp(value, sw_optim_name((sw_optim)k)) == 0) {
                o->optim = (sw_optim)k;
                return SW_OK;
            }
        return sw_fail(e, SW_EINPUT, "optim: unknown optimiser '%s' (allowed: gd, sgd, adam)",
                       value);
    }
    if (strcmp(name, "lr") == 0) {
        int rc = sw_parse_real(value, "lr", &o->lr, e);
        if (rc == SW_OK && !(o->lr > 0 && o->lr <= 1e6))
            rc = sw_fail(e, SW_EINPUT, "lr: %s is out of range (0, 1e6]", value);
        return rc;
    }
    if (strcmp(name, "grid") == 0)
        return sw_parse_grid(value, &o->log_grid, e);
    if (strcmp(name, "steps") == 0)
        return parse_count(name, value, 1, &o->steps, e);
    if (strcmp(name, "batch") == 0)
        return parse_count(name, value, 1, &o->batch, e);
    if (strcmp(name, "n-train") == 0)
        return parse_count(name, value, 0, &o->n_train, e);
    if (strcmp(name, "eval-every") == 0)
        return parse_count(name, value, 1, &o->eval_every, e);
    if (strcmp(name, "points") == 0)
        return parse_count(name, value, 2, &o->points, e);
    if (strcmp(name, "patience") == 0)
        return parse_count(name, value, 0, &o->patience, e);
    if (strcmp(name, "max-work") == 0)
        return sw_parse_real_in(value, name, 1, INFINITY, &o->max_work, e);
    if (strcmp(name, "max-memory") == 0)
        return sw_parse_bytes(value, name, &o->max_memory, e);
    return sw_fail(e, SW_EINPUT,
                   "unknown training option '%s' (allowed: optim, lr, steps, batch, n-train, "
                   "eval-every, grid, points, patience, max-work, max-memory)",
                   name);
}

int sw_train_opts_check(const sw_train_opts *o, const sw_learner *l, sw_err *e)
{
    const sw_model *m = l->m;
    if (o->optim == SW_OPTIM_GD && o->n_train == 0 && !m->sys->rhs)
        return sw_fail(e, SW_EINPUT,
                       "optim: gd needs a population gradient, which %s has not; give "
                       "--n-train N for full-batch steps on a training set (allowed: gd with "
                       "--n-train, sgd, adam)",
                       m->sys->name);
    if (o->optim != SW_OPTIM_GD && o->n_train && o->batch > o->n_train)
        return sw_fail(e, SW_EINPUT, "batch: %zu exceeds n-train %zu (allowed: 1 .. n-train)",
                       o->batch, o->n_train);
    if (o->log_grid && o->points > o->steps + 1)
        return sw_fail(e, SW_EINPUT, "points: %zu exceeds steps + 1 = %zu on a log grid",
                       o->points, o->steps + 1);
    /* Budgets, before anything is allocated: the training set, one chunk,
     * the evaluation schedule and the optimiser's vectors; the work. */
    double per_step = (double)(o->optim == SW_OPTIM_GD ? o->n_train : o->batch);
    double ssize = (double)l->task->sample_size(l), dim = (double)m->dim;
    double evals = o->log_grid ? (double)o->points : (double)o->steps / sw_train_eval_every(o);
    double bytes = (double)o->n_train * (ssize + sizeof(size_t)) +
                   fmin(fmax(per_step, 1), CHUNK) * ssize + (evals + 2) * sizeof(size_t) +
                   6 * dim * sizeof(double);
    char what[160];
    snprintf(what, sizeof what, "training %s (%zu parameters, %zu steps of %.0f samples)",
             m->sys->name, m->dim, o->steps, fmax(per_step, 1));
    int rc = sw_budget_memory(bytes, o->max_memory, what, e);
    if (rc == SW_OK)
        rc = sw_budget_work((double)o->steps * fmax(per_step, 1) * dim, o->max_work, what, e);
    return rc;
}

size_t sw_train_eval_every(const sw_train_opts *o)
{
    return o->eval_every ? o->eval_every : (o->steps / 200 ? o->steps / 200 : 1);
}

size_t *sw_train_schedule(const sw_train_opts *o, size_t *n)
{
    size_t every = sw_train_eval_every(o);
    size_t cap = o->log_grid ? o->points + 1 : o->steps / every + 2;
    size_t *s = malloc(cap * sizeof *s);
    if (!s)
        return NULL;
    size_t k = 0;
    s[k++] = 0;
    if (o->log_grid) {
        /* Log-spaced from step 1, rounded; rounding merges the first few,
         * so duplicates are skipped. */
        for (size_t i = 0; i + 1 < o->points; i++) {
            double f = o->points > 2 ? (double)i / (double)(o->points - 2) : 1;
            size_t st = (size_t)llround(pow((double)o->steps, f));
            if (st > s[k - 1] && k < cap)
                s[k++] = st;
        }
    } else {
        for (size_t st = every; st < o->steps; st += every)
            s[k++] = st;
    }
    if (s[k - 1] != o->steps)
        s[k++] = o->steps;
    *n = k;
    return s;
}

/* ---- the loop ---------------------------------------------------------- */

struct sw_trainer {
    sw_learner *l;
    sw_model *m;
    const sw_task *task;
    sw_train_opts o;
    size_t dim, ssize, chunk;
    gsl_rng *data, *shuffle;
    unsigned char *train; /* n_train samples */
    unsigned char *buf;   /* one chunk */
    size_t *perm, perm_pos;
    double *g, *gc, *m1, *m2, *best;
    size_t *sched, n_sched;
    sw_train_tick tick;
    void *tick_user;
};

void sw_trainer_free(sw_trainer *tr)
{
    if (!tr)
        return;
    gsl_rng_free(tr->data);
    gsl_rng_free(tr->shuffle);
    free(tr->train);
    free(tr->buf);
    free(tr->perm);
    free(tr->g);
    free(tr->gc);
    free(tr->m1);
    free(tr->m2);
    free(tr->best);
    free(tr->sched);
    free(tr);
}

sw_trainer *sw_trainer_alloc(sw_learner *l, const sw_train_opts *o, sw_err *e)
{
    sw_model *m = l->m;
    if (sw_train_opts_check(o, l, e))
        return NULL;
    sw_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) {
        sw_fail(e, SW_EFAIL, "out of memory");
        return NULL;
    }
    tr->l = l;
    tr->m = m;
    tr->task = l->task;
    tr->o = *o;
    tr->dim = m->dim;
    tr->ssize = tr->task->sample_size(l);
    size_t per_step = o->optim == SW_OPTIM_GD ? o->n_train : o->batch;
    tr->chunk = per_step < CHUNK ? (per_step ? per_step : 1) : CHUNK;
    unsigned long seed = (unsigned long)sw_model_get(m, "seed");
    size_t n = tr->dim;
    tr->data = sw_train_rng(seed, SW_STREAM_TRAIN);
    tr->shuffle = sw_train_rng(seed, SW_STREAM_BATCH);
    tr->buf = malloc(tr->chunk * tr->ssize);
    tr->g = malloc(n * sizeof(double));
    tr->gc = malloc(n * sizeof(double));
    tr->m1 = calloc(n, sizeof(double));
    tr->m2 = calloc(n, sizeof(double));
    tr->best = malloc(n * sizeof(double));
    tr->sched = sw_train_schedule(o, &tr->n_sched);
    if (o->n_train) {
        tr->train = malloc(o->n_train * tr->ssize);
        tr->perm = malloc(o->n_train * sizeof(size_t));
    }
    if (!tr->data || !tr->shuffle || !tr->buf || !tr->g || !tr->gc || !tr->m1 || !tr->m2 ||
        !tr->best || !tr->sched || (o->n_train && (!tr->train || !tr->perm)) ||
        tr->task->reserve(l, tr->chunk)) {
        sw_trainer_free(tr);
        sw_fail(e, SW_EFAIL, "out of memory");
        return NULL;
    }
    if (o->n_train) {
        tr->task->sample(l, tr->data, o->n_train, tr->train);
        for (size_t i = 0; i < o->n_train; i++)
            tr->perm[i] = i;
        tr->perm_pos = o->n_train; /* shuffle before the first minibatch */
    }
    return tr;
}

/* The next n samples of the step into buf: fresh draws, the training set
 * in order (full batch), or the next slice of a per-epoch permutation. */
static const void *next_chunk(sw_trainer *tr, size_t n, int full_set, size_t offset)
{
    if (!tr->o.n_train) {
        tr->task->sample(tr->l, tr->data, n, tr->buf);
        return tr->buf;
    }
    if (full_set)
        return tr->train + offset * tr->ssize;
    for (size_t i = 0; i < n; i++) {
        if (tr->perm_pos == tr->o.n_train) {
            gsl_ran_shuffle(tr->shuffle, tr->perm, tr->o.n_train, sizeof(size_t));
            tr->perm_pos = 0;
        }
        memcpy(tr->buf + i * tr->ssize, tr->train + tr->perm[tr->perm_pos++] * tr->ssize,
               tr->ssize);
    }
    return tr->buf;
}

/* Mean loss and gradient of one step into tr->g, accumulated over chunks
 * weighted by their share of the step's samples. */
static double step_gradient(sw_trainer *tr, const double *theta)
{
    const sw_task *task = tr->task;
    if (tr->o.optim == SW_OPTIM_GD && !tr->o.n_train) {
        /* The loss is not needed here: the evaluations report it. */
        tr->m->sys->rhs(tr->m, theta, tr->g);
        for (size_t i = 0; i < tr->dim; i++)
            tr->g[i] = -tr->g[i];
        return 0;
    }
    int full_set = tr->o.optim == SW_OPTIM_GD;
    size_t total = full_set ? tr->o.n_train : tr->o.batch;
    double loss = 0;
    memset(tr->g, 0, tr->dim * sizeof(double));
    for (size_t done = 0; done < total;) {
        size_t n = total - done < tr->chunk ? total - done : tr->chunk;
        const void *data = next_chunk(tr, n, full_set, done);
        double w = (double)n / (double)total;
        loss += w * task->grad(tr->l, theta, data, n, tr->gc);
        for (size_t i = 0; i < tr->dim; i++)
            tr->g[i] += w * tr->gc[i];
        done += n;
    }
    return loss;
}

/* Adam's step, element by element, with c1 and c2 its bias corrections.
 * Vectorised: train.c is compiled with -fno-math-errno (meson.build), so
 * that sqrt needs no call to set errno (its argument is never negative);
 * vector division and square root round as the scalar ones do. */
SW_VECTOR_CLONES
static void adam_step(const sw_train_opts *o, size_t n, double c1, double c2,
                      const double *restrict g, double *restrict m1, double *restrict m2,
                      double *restrict theta)
{
    double b1 = o->beta1, b2 = o->beta2, lr = o->lr, eps = o->eps;
    for (size_t i = 0; i < n; i++) {
        m1[i] = b1 * m1[i] + (1 - b1) * g[i];
        m2[i] = b2 * m2[i] + (1 - b2) * g[i] * g[i];
        theta[i] -= lr * (m1[i] / c1) / (sqrt(m2[i] / c2) + eps);
    }
}

static void update(sw_trainer *tr, double *theta, size_t step)
{
    const sw_train_opts *o = &tr->o;
    const double *g = tr->g;
    if (o->optim != SW_OPTIM_ADAM) {
        for (size_t i = 0; i < tr->dim; i++)
            theta[i] -= o->lr * g[i];
        return;
    }
    double c1 = 1 - pow(o->beta1, (double)step), c2 = 1 - pow(o->beta2, (double)step);
    adam_step(o, tr->dim, c1, c2, g, tr->m1, tr->m2, theta);
}

static int finite_vec(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

void sw_trainer_set_tick(sw_trainer *tr, sw_train_tick tick, void *user)
{
    tr->tick = tick;
    tr->tick_user = user;
}

int sw_train_run(sw_trainer *tr, double *theta, sw_train_output out, void *user,
                 sw_train_stats *st, sw_err *e)
{
    memset(st, 0, sizeof *st);
    st->best_loss = INFINITY;
    memset(tr->m1, 0, tr->dim * sizeof(double));
    memset(tr->m2, 0, tr->dim * sizeof(double));
    memcpy(tr->best, theta, tr->dim * sizeof(double));
    int population = tr->o.optim == SW_OPTIM_GD && !tr->o.n_train;
    size_t next = 0, since_best = 0, n_acc = 0;
    double acc = 0;
    /* The gradient at theta_step is computed before the evaluation of
     * step, so the train loss reported there includes theta_step itself. */
    for (size_t step = 0; step <= tr->o.steps; step++) {
        double batch_loss = step_gradient(tr, theta);
        if (!isfinite(batch_loss) || !finite_vec(tr->g, tr->dim))
            return sw_fail(e, SW_ENUMERIC, "non-finite training loss or gradient at step %zu "
                           "(t = %.17g)", step, (double)step * tr->o.lr);
        acc += batch_loss;
        n_acc++;
        st->steps = step;
        if (next < tr->n_sched && tr->sched[next] == step) {
            next++;
            double held = tr->m->sys->loss(tr->m, theta);
            if (!isfinite(held))
                return sw_fail(e, SW_ENUMERIC, "non-finite loss at step %zu (t = %.17g)", step,
                               (double)step * tr->o.lr);
            if (held < st->best_loss) {
                st->best_loss = held;
                st->best_step = step;
                memcpy(tr->best, theta, tr->dim * sizeof(double));
                since_best = 0;
            } else {
                since_best++;
            }
            double train_loss = population ? held : acc / (double)n_acc;
            if (out && out(step, theta, held, train_loss, user))
                break;
            acc = 0;
            n_acc = 0;
            if (tr->o.patience && since_best >= tr->o.patience) {
                st->stopped_early = 1;
                memcpy(theta, tr->best, tr->dim * sizeof(double));
                break;
            }
        }
        if (tr->tick)
            tr->tick(step, tr->o.steps, tr->tick_user);
        if (step < tr->o.steps)
            update(tr, theta, step + 1);
    }
    return SW_OK;
}
