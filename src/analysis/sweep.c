/* A sweep's points: the grid and its enumeration, each point's seed and
 * model, running many points on threads, and the result file's lines. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "blas.h"
#include "stagewise/sweep.h"
#include "sweep_impl.h"

const char *sw_sweep_num(double x, char *buf)
{
    for (int prec = 15; prec < 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return buf;
    }
    snprintf(buf, 32, "%.17g", x);
    return buf;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t sw_sweep_seed(uint64_t base, uint64_t point)
{
    return splitmix64(splitmix64(base) ^ point);
}

/* ---- the sweep ---------------------------------------------------------- */

void sw_sweep_free(sw_sweep *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->base && i < s->sys->n_params; i++)
        free(s->base[i].v);
    free(s->base);
    for (size_t a = 0; a < s->n_axes; a++)
        free(s->axes[a].values.v);
    free(s->axes);
    free(s->measures);
    free(s);
}

/* Coordinates of a point: the last axis varies fastest. */
static size_t axis_index(const sw_sweep *s, size_t a, size_t point)
{
    size_t stride = 1;
    for (size_t b = s->n_axes; b-- > a + 1;)
        stride *= s->axes[b].values.n;
    return point / stride % s->axes[a].values.n;
}

double sw_sweep_axis_value(const sw_sweep *s, size_t a, size_t point)
{
    return s->axes[a].values.v[axis_index(s, a, point)];
}

const char *sw_sweep_value_name(const sw_sweep *s, size_t j)
{
    if (j < s->n_measures)
        return s->measures[j].column;
    return j == s->n_measures ? "lambda_plus" : "t_scale";
}

/* The seed of a point: its base (the seed parameter's value there, swept
 * or not) hashed with the index, mapped into the parameter's range. */
static double point_seed(const sw_sweep *s, size_t point)
{
    const sw_param_def *d = &s->sys->params[s->seed_param];
    double base = s->base[s->seed_param].v[0];
    for (size_t a = 0; a < s->n_axes; a++)
        if (s->axes[a].param == s->seed_param)
            base = sw_sweep_axis_value(s, a, point);
    if (s->o.same_seed)
        return base;
    double span = fmin(d->hi - d->lo + 1, 9007199254740992.0); /* 2^53: exact in a double */
    return d->lo + (double)(sw_sweep_seed((uint64_t)base, point) % (uint64_t)span);
}

int sw_sweep_model(const sw_sweep *s, size_t point, sw_model **m, sw_err *e)
{
    size_t np = s->sys->n_params;
    sw_value *pv = malloc((np ? np : 1) * sizeof *pv);
    double *x = malloc((np ? np : 1) * sizeof *x);
    if (!pv || !x) {
        free(pv), free(x);
        return sw_fail(e, SW_EFAIL, "out of memory");
    }
    memcpy(pv, s->base, np * sizeof *pv);
    /* An axis of a list-valued parameter gives one-element lists. */
    for (size_t a = 0; a < s->n_axes; a++) {
        int i = s->axes[a].param;
        x[i] = sw_sweep_axis_value(s, a, point);
        pv[i] = (sw_value){1, &x[i]};
    }
    if (s->seed_param >= 0) {
        int i = s->seed_param;
        x[i] = point_seed(s, point);
        pv[i] = (sw_value){1, &x[i]};
    }
    sw_model_budget b;
    if (s->o.task)
        sw_train_model_budget(&s->o.train, &b);
    else
        sw_ode_model_budget(&s->o.ode, &b);
    int rc = sw_model_alloc_values_within(s->sys, pv, &b, m, e);
    free(pv), free(x);
    return rc;
}

/* Names the point in an error: "point 7 (d=4, T=64)". */
static void point_label(const sw_sweep *s, size_t point, char *buf, size_t len)
{
    char tmp[32];
    size_t used = (size_t)snprintf(buf, len, "point %zu (", point);
    for (size_t a = 0; a < s->n_axes && used < len; a++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", a ? ", " : "",
                                 s->sys->params[s->axes[a].param].name,
                                 sw_sweep_num(sw_sweep_axis_value(s, a, point), tmp));
    if (used < len)
        snprintf(buf + used, len - used, ")");
}

static int check_points(const sw_sweep *s, sw_err *e)
{
    for (size_t pt = 0; pt < s->n_points; pt++) {
        sw_model *m;
        sw_err pe;
        int rc = sw_sweep_model(s, pt, &m, &pe);
        for (size_t j = 0; rc == SW_OK && j < s->n_measures; j++)
            rc = sw_sweep_measure_check(s, &s->measures[j], m, &pe);
        if (rc == SW_OK && s->o.task) {
            /* The trainer's settings against this point's learner. */
            sw_learner *l;
            if ((rc = sw_learner_wrap(s->o.task, m, &l, &pe)) == SW_OK) {
                rc = sw_train_opts_check(&s->o.train, l, &pe);
                sw_learner_free(l);
            }
            m = NULL;
        }
        sw_model_free(m);
        if (rc) {
            char label[256];
            point_label(s, pt, label, sizeof label);
            return sw_fail(e, rc, "%s: %s", label, pe.msg);
        }
    }
    return SW_OK;
}

void sw_sweep_opts_default(sw_sweep_opts *o)
{
    memset(o, 0, sizeof *o);
    sw_ode_opts_default(&o->ode);
    sw_stages_opts_default(&o->stages);
}

int sw_sweep_alloc(const sw_model *base, size_t n_axes, sw_sweep_axis *axes,
                   size_t n_measures, const char *const *measures, const sw_sweep_opts *o,
                   sw_sweep **out, sw_err *e)
{
    const sw_system *sys = base->sys;
    sw_sweep *s = *out = calloc(1, sizeof *s);
    if (!s) {
        for (size_t a = 0; a < n_axes; a++)
            free(axes[a].values.v);
        return sw_fail(e, SW_EFAIL, "out of memory");
    }
    s->sys = sys;
    s->axes = malloc((n_axes ? n_axes : 1) * sizeof *s->axes);
    if (s->axes) {
        memcpy(s->axes, axes, n_axes * sizeof *axes);
        s->n_axes = n_axes;
    } else {
        for (size_t a = 0; a < n_axes; a++)
            free(axes[a].values.v);
    }
    s->base = calloc(sys->n_params, sizeof *s->base);
    s->measures = calloc(n_measures ? n_measures : 1, sizeof *s->measures);
    int rc = !s->axes || !s->base || !s->measures ? sw_fail(e, SW_EFAIL, "out of memory") : SW_OK;
    for (size_t i = 0; rc == SW_OK && i < sys->n_params; i++) {
        const sw_value *v = &base->pv[i];
        if (!(s->base[i].v = malloc((v->n ? v->n : 1) * sizeof *v->v)))
            rc = sw_fail(e, SW_EFAIL, "out of memory");
        else
            memcpy(s->base[i].v, v->v, (s->base[i].n = v->n) * sizeof *v->v);
    }
    if (rc == SW_OK && o->task && o->task->sys != sys)
        rc = sw_fail(e, SW_EINPUT, "sweep: task %s trains a model of %s, not of %s",
                     o->task->name, o->task->sys->name, sys->name);
    s->seed_param = sw_param_index(sys, "seed");
    s->o = *o;
    if (rc == SW_OK && n_measures == 0)
        rc = sw_fail(e, SW_EINPUT, "sweep needs at least one --measure (%s)",
                     sw_measure_allowed);
    /* Event and escape columns are numbered by occurrence; the other kinds
     * carry their argument in the column name already. */
    size_t n_events = 0, n_escapes = 0;
    for (size_t j = 0; rc == SW_OK && j < n_measures; j++) {
        sw_measure *ms = &s->measures[j];
        rc = sw_measure_parse(measures[j], ms, e);
        s->n_measures = j + 1;
        for (size_t i = 0; rc == SW_OK && i < j; i++)
            if (strcmp(s->measures[i].text, ms->text) == 0)
                rc = sw_fail(e, SW_EINPUT, "measure: '%s' is given twice", ms->text);
        if (rc == SW_OK && ms->kind == SW_MEASURE_EVENT && ++n_events > 1)
            snprintf(ms->column, sizeof ms->column, "t_event_%zu", n_events);
        if (rc == SW_OK && ms->kind == SW_MEASURE_ESCAPE && ++n_escapes > 1)
            snprintf(ms->column, sizeof ms->column, "t_escape_%zu", n_escapes);
        if (rc == SW_OK && o->task && strncmp(ms->column, "t_", 2) == 0) {
            char col[sizeof ms->column];
            snprintf(col, sizeof col, "step_%s", ms->column + 2);
            strcpy(ms->column, col);
        }
    }
    s->n_values = s->n_measures + (o->predict ? 2 : 0);
    if (rc == SW_OK && o->predict)
        rc = sw_sweep_predict_check(sys, e);
    double np = 1;
    for (size_t a = 0; rc == SW_OK && a < n_axes; a++) {
        np *= (double)axes[a].values.n;
        if (np > sw_sweep_max_points)
            rc = sw_fail(e, SW_EINPUT, "sweep: more than %.0f points", sw_sweep_max_points);
    }
    s->n_points = (size_t)np;
    if (rc == SW_OK)
        rc = check_points(s, e);
    if (rc) {
        sw_sweep_free(s);
        *out = NULL;
    }
    return rc;
}

/* ---- many points ------------------------------------------------------------ */

int sw_sweep_run_from(const sw_sweep *s, sw_sweep_next next, void *src, int threads,
                      volatile sig_atomic_t *stop, sw_sweep_done done, void *user, sw_err *e)
{
    int rc = SW_OK, halt = 0;
    if (!sw_blas_concurrent())
        threads = 1; /* points reach BLAS and LAPACK (blas.h) */
    (void)threads; /* without OpenMP the loop below runs on one thread */
#pragma omp parallel num_threads(threads)
    {
#ifdef _OPENMP
        /* A point is one thread's: a parallel region inside it (a trainer's)
         * runs on that thread alone, with --threads 1 as with 8, so no
         * result depends on the thread count. */
        omp_set_num_threads(1);
#endif
        double *values = malloc((s->n_values ? s->n_values : 1) * sizeof *values);
        for (;;) {
            int h;
            size_t point;
#pragma omp atomic read
            h = halt;
            if (h || (stop && *stop) || !next(src, &point))
                break;
            sw_sweep_result r = {.point = point, .values = values};
            sw_err pe;
            int prc = values ? sw_sweep_eval(s, &r, &pe) : sw_fail(&pe, SW_EFAIL, "out of memory");
#pragma omp critical(sw_sweep_done)
            {
                if (!halt) {
                    if (prc == SW_OK)
                        prc = done(&r, user, &pe);
                    if (prc) {
                        rc = prc;
                        *e = pe;
#pragma omp atomic write
                        halt = 1;
                    }
                }
            }
        }
        free(values);
    }
    return rc;
}

/* A list's points, handed out in order to whichever thread asks. */
struct list_src {
    const size_t *todo;
    size_t n, next;
};

static int list_next(void *src, size_t *point)
{
    struct list_src *l = src;
    size_t i;
#pragma omp atomic capture
    i = l->next++;
    if (i >= l->n)
        return 0;
    *point = l->todo[i];
    return 1;
}

int sw_sweep_run(const sw_sweep *s, const size_t *todo, size_t n, int threads,
                 volatile sig_atomic_t *stop, sw_sweep_done done, void *user, sw_err *e)
{
    struct list_src l = {todo, n, 0};
    return sw_sweep_run_from(s, list_next, &l, threads, stop, done, user, e);
}

/* A parameter value as the parser reads it back. */
static void put_value(FILE *fp, const sw_value *v)
{
    char tmp[32];
    for (size_t k = 0; k < v->n; k++)
        fprintf(fp, "%s%s", k ? "," : "", sw_sweep_num(v->v[k], tmp));
}

/* Every trainer setting a point's numbers depend on. */
static void put_train(FILE *fp, const sw_sweep *s)
{
    const sw_train_opts *t = &s->o.train;
    char t1[32], t2[32], t3[32], t4[32];
    fprintf(fp, "# task = %s\n", s->o.task->name);
    fprintf(fp, "# train = optim=%s lr=%s steps=%zu batch=%zu n_train=%zu noise=%s\n",
            sw_optim_name(t->optim), sw_sweep_num(t->lr, t1), t->steps, t->batch, t->n_train,
            sw_sweep_num(s->o.noise, t2));
    if (t->optim == SW_OPTIM_ADAM)
        fprintf(fp, "# adam = beta1=%s beta2=%s eps=%s\n", sw_sweep_num(t->beta1, t1),
                sw_sweep_num(t->beta2, t3), sw_sweep_num(t->eps, t4));
    if (t->log_grid)
        fprintf(fp, "# evaluations = log points=%zu patience=%zu\n", t->points, t->patience);
    else
        fprintf(fp, "# evaluations = every %zu steps patience=%zu\n", sw_train_eval_every(t),
                t->patience);
}

void sw_sweep_write_provenance(const sw_sweep *s, FILE *fp)
{
    const sw_system *sys = s->sys;
    char t1[32], t2[32], t3[32], t4[32];
    fprintf(fp, "# stagewise = %s\n# command = sweep\n# system = %s\n", SW_VERSION, sys->name);
    for (size_t i = 0; i < sys->n_params; i++) {
        const sw_value *axis = NULL;
        for (size_t a = 0; a < s->n_axes; a++)
            if (s->axes[a].param == (int)i)
                axis = &s->axes[a].values;
        fprintf(fp, "# %s = ", sys->params[i].name);
        put_value(fp, axis ? axis : &s->base[i]);
        fputc('\n', fp);
    }
    fputs("# axes = ", fp);
    for (size_t a = 0; a < s->n_axes; a++)
        fprintf(fp, "%s%s", a ? "," : "", sys->params[s->axes[a].param].name);
    fprintf(fp, " (the first varies slowest)\n# points = %zu\n", s->n_points);
    if (s->seed_param >= 0 && s->o.same_seed) {
        fputs("# point_seed = seed (the same at every point)\n", fp);
    } else if (s->seed_param >= 0) {
        const sw_param_def *d = &sys->params[s->seed_param];
        fprintf(fp, "# point_seed = %s + splitmix64(splitmix64(seed) ^ point) mod %s\n",
                sw_sweep_num(d->lo, t1),
                sw_sweep_num(fmin(d->hi - d->lo + 1, 9007199254740992.0), t2));
    }
    for (size_t j = 0; j < s->n_measures; j++)
        fprintf(fp, "# %s = %s\n", s->measures[j].column, s->measures[j].text);
    if (s->o.predict)
        fputs("# lambda_plus = largest eigenvalue of the Jacobian of (alpha, beta, Delta a) at "
              "the start; t_scale = 1/lambda_plus\n",
              fp);
    const sw_ode_opts *o = &s->o.ode;
    if (s->o.task)
        put_train(fp, s);
    else
        fprintf(fp, "# solver = %s rtol=%s atol=%s h0=%s\n", o->solver,
                sw_sweep_num(o->rtol, t1), sw_sweep_num(o->atol, t2), sw_sweep_num(o->h0, t3));
    if (!s->o.task)
        fprintf(fp, "# grid = t_end=%s points=%zu %s t_first=%s\n",
                sw_sweep_num(o->t_end, t1), o->points, o->log_grid ? "log" : "linear",
                sw_sweep_num(o->t_first, t2));
    for (size_t j = 0; j < s->n_measures; j++)
        if (s->measures[j].kind == SW_MEASURE_STAGE) {
            fprintf(fp, "# stages = max_slope=%s shoulder=%s min_decades=%s min_drop=%s\n",
                    sw_sweep_num(s->o.stages.max_slope, t1),
                    sw_sweep_num(s->o.stages.shoulder, t2),
                    sw_sweep_num(s->o.stages.min_decades, t3),
                    sw_sweep_num(s->o.stages.min_drop, t4));
            break;
        }
    fputs("# status = " SW_POINT_STATUS_DOC "; the reason of a nonzero status is on a line "
          "`# failure_POINT = ...`\n",
          fp);
}

void sw_sweep_write_head(const sw_sweep *s, FILE *fp)
{
    const sw_system *sys = s->sys;
    sw_sweep_write_provenance(s, fp);
    fputs("point", fp);
    for (size_t a = 0; a < s->n_axes; a++)
        fprintf(fp, ",%s", sys->params[s->axes[a].param].name);
    if (s->seed_param >= 0)
        fputs(",point_seed", fp);
    for (size_t j = 0; j < s->n_values; j++)
        fprintf(fp, ",%s", sw_sweep_value_name(s, j));
    fputs(",status\n", fp);
}

void sw_sweep_write_row(const sw_sweep *s, const sw_sweep_result *r, FILE *fp)
{
    char tmp[32];
    fprintf(fp, "%zu", r->point);
    for (size_t a = 0; a < s->n_axes; a++)
        fprintf(fp, ",%s", sw_sweep_num(sw_sweep_axis_value(s, a, r->point), tmp));
    if (s->seed_param >= 0)
        fprintf(fp, ",%s", sw_sweep_num(point_seed(s, r->point), tmp));
    for (size_t j = 0; j < s->n_values; j++)
        fprintf(fp, ",%s", sw_sweep_num(r->values[j], tmp));
    fprintf(fp, ",%d\n", r->status);
    if (r->status != SW_POINT_OK)
        fprintf(fp, "# failure_%zu = %s\n", r->point, r->reason);
}
