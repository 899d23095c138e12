/* The measures of one sweep point: times of events, plateaus, levels and
 * stages on the point's ODE run, escape times, final values, the
 * start-Jacobian prediction, and the same events timed in steps on a
 * training run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stagewise/eigen.h"
#include "stagewise/escape.h"
#include "stagewise/sweep.h"
#include "sweep_impl.h"

/* Names of an observable-reading measure resolved against one model. */
int sw_sweep_measure_check(const sw_sweep *s, const sw_measure *ms, const sw_model *m,
                           sw_err *e)
{
    if (s->o.task && (ms->kind == SW_MEASURE_STAGE || ms->kind == SW_MEASURE_ESCAPE))
        return sw_fail(e, SW_EINPUT,
                       "measure: %s is for ODE sweeps (allowed in a training sweep: event, "
                       "plateau, level, final)",
                       ms->text);
    sw_event ev;
    if (ms->kind == SW_MEASURE_EVENT)
        return sw_event_parse(m, ms->arg, &ev, e);
    if (ms->kind == SW_MEASURE_ESCAPE) {
        sw_heads hs;
        int rc = sw_heads_find(m, &hs, e);
        sw_heads_clear(&hs);
        return rc ? rc : sw_event_parse(m, ms->arg, &ev, e);
    }
    if (ms->kind == SW_MEASURE_LEVEL && m->n_levels < ms->k + 1)
        return sw_fail(e, SW_EINPUT,
                       "measure: %s needs the theoretical levels L_0..L_%zu; %s has %zu here "
                       "(allowed: level:1 to level:%zu, or stage:K)",
                       ms->text, ms->k, m->sys->name, m->n_levels,
                       m->n_levels ? m->n_levels - 1 : 0);
    if (ms->kind == SW_MEASURE_FINAL && sw_model_obs_index(m, ms->arg) == -2)
        return sw_fail(e, SW_EINPUT,
                       "measure: unknown observable '%s' (allowed: loss or a column that "
                       "`stagewise describe %s` lists)",
                       ms->arg, m->sys->name);
    return SW_OK;
}

/* Appends "column: message" to the point's reason and raises its status. */
static void note(sw_sweep_result *r, int status, const char *column, const char *msg)
{
    if (status > r->status)
        r->status = status;
    size_t used = strlen(r->reason);
    /* A long reason is cut, not an error: the status code carries the verdict. */
    if (used + 1 < sizeof r->reason &&
        snprintf(r->reason + used, sizeof r->reason - used, "%s%s: %s", used ? "; " : "", column,
                 msg) < 0)
        r->reason[used] = '\0';
    /* The reason goes on one provenance line. */
    for (char *p = r->reason; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

/* ---- the start-Jacobian prediction ----------------------------------------- */

/* The system declares its predicted rate (sw_system.predict). */
int sw_sweep_predict_check(const sw_system *sys, sw_err *e)
{
    if (sys->predict)
        return SW_OK;
    return sw_fail(e, SW_EINPUT,
                   "predict: %s declares no predicted rate lambda+ (allowed: a system with "
                   "a predict hook, such as z-reduced and z-full)",
                   sys->name);
}

static void eval_predict(const sw_model *m, double *values, sw_sweep_result *r)
{
    sw_err ze;
    if (m->sys->predict(m, &values[0], &ze)) {
        note(r, SW_POINT_NUMERIC, "lambda_plus", ze.msg);
        return;
    }
    values[1] = 1 / values[0];
}

/* ---- one ODE point ---------------------------------------------------------- */

/* Integrates from x0 with the sweep's solver options; `until` (may be
 * NULL) stops the run, `traj` (may be NULL) records it.  Returns SW_OK,
 * SW_ENUMERIC with the solver's message in e, or SW_EFAIL. */
static int integrate(const sw_sweep *s, sw_model *m, const double *x0, const sw_event *until,
                     sw_traj *traj, double *x, sw_ode_stats *st, sw_err *e)
{
    sw_ode_opts o = s->o.ode;
    if (until) {
        /* Only the event time matters; output times would just cut steps. */
        o.until = *until;
        o.points = 2;
    }
    sw_ode *ode = sw_ode_alloc(m, &o, e);
    if (!ode)
        return SW_EFAIL;
    memcpy(x, x0, m->dim * sizeof *x);
    int rc = sw_ode_run(ode, x, traj ? sw_traj_record : NULL, traj, st, e);
    sw_ode_free(ode);
    return rc;
}

/* Files the outcome of one run timed to `cond`: its time t (NaN if the
 * run ended first), or, for a numerical failure (rc), the solver's word. */
static int settle(const sw_sweep *s, const sw_measure *ms, const char *cond, int rc,
                  const sw_err *ie, double t, double *value, sw_sweep_result *r, sw_err *e)
{
    if (rc == SW_ENUMERIC) {
        note(r, SW_POINT_NUMERIC, ms->column, ie->msg);
    } else if (rc) {
        *e = *ie;
        return rc;
    } else if (isnan(t)) {
        char msg[160], tmp[32];
        snprintf(msg, sizeof msg, "%s not reached by t-end = %s", cond,
                 sw_sweep_num(s->o.ode.t_end, tmp));
        note(r, SW_POINT_UNREACHED, ms->column, msg);
    } else {
        *value = t;
    }
    return SW_OK;
}

static int eval_event(const sw_sweep *s, sw_model *m, const double *x0, const sw_event *ev,
                      const sw_measure *ms, double *x, double *value, sw_sweep_result *r,
                      sw_err *e)
{
    sw_ode_stats st;
    sw_err ie;
    int rc = integrate(s, m, x0, ev, NULL, x, &st, &ie);
    return settle(s, ms, ev->text, rc, &ie, rc == SW_OK && st.event_hit ? st.event_t : NAN,
                  value, r, e);
}

/* The symmetric start into base and the seeded symmetry-breaking unit
 * direction into dir, as `stagewise escape --base symmetric --direction
 * random` makes them, so a sweep point can be checked against that command. */
static int escape_start(const sw_model *m, const double *x0, double *base, double *dir,
                        sw_err *e)
{
    int k = sw_param_index(m->sys, "seed");
    memcpy(base, x0, m->dim * sizeof *base);
    int rc = sw_escape_symmetric_base(m, base, e);
    return rc ? rc
              : sw_escape_random_direction(m, k >= 0 ? (unsigned long)m->pv[k].v[0] : 1, 1, dir,
                                           e);
}

static int eval_escape(const sw_sweep *s, sw_model *m, const double *x0, const sw_measure *ms,
                       double *value, sw_sweep_result *r, sw_err *e)
{
    size_t n = m->dim;
    double *base = malloc(2 * n * sizeof *base), t = NAN;
    if (!base)
        return sw_fail(e, SW_EFAIL, "out of memory");
    sw_ode_opts o = s->o.ode;
    int rc = sw_event_parse(m, ms->arg, &o.until, e);
    if (rc == SW_OK)
        rc = escape_start(m, x0, base, base + n, e);
    if (rc == SW_OK) {
        sw_err ie;
        rc = sw_escape_times(m, &o, base, base + n, &ms->frac, 1, &t, NULL, NULL, &ie);
        rc = settle(s, ms, o.until.text, rc, &ie, t, value, r, e);
    }
    free(base);
    return rc;
}

static void eval_stage(const sw_sweep *s, const sw_model *m, const sw_traj *tr,
                       const sw_measure *ms, double *value, sw_sweep_result *r, double *loss)
{
    for (size_t i = 0; i < tr->n; i++)
        loss[i] = m->sys->loss(m, tr->x + i * tr->dim);
    sw_stages st;
    sw_err se;
    if (sw_stages_detect(tr->t, loss, tr->n, &s->o.stages, &st, &se)) {
        note(r, SW_POINT_UNREACHED, ms->column, se.msg);
        return;
    }
    if (st.n_transitions >= ms->k) {
        *value = st.t_transition[ms->k - 1];
    } else {
        char msg[96];
        snprintf(msg, sizeof msg, "%zu transition%s by t-end, not %zu", st.n_transitions,
                 st.n_transitions == 1 ? "" : "s", ms->k);
        note(r, SW_POINT_UNREACHED, ms->column, msg);
    }
    sw_stages_clear(&st);
}

/* The ODE measures of one point: its model m, the values into r. */
static int eval_ode(const sw_sweep *s, sw_model *m, sw_sweep_result *r, sw_err *e)
{
    int rc = SW_OK;
    size_t dim = m->dim;
    double *x0 = malloc(dim * sizeof *x0), *x = malloc(dim * sizeof *x);
    double *obs = malloc((m->n_obs + 1) * sizeof *obs);
    sw_traj tr = {.dim = dim};
    double *loss = NULL;
    if (!x0 || !x || !obs) {
        rc = sw_fail(e, SW_EFAIL, "out of memory");
        goto done;
    }
    m->sys->init(m, x0);

    /* The stage and final measures share one recorded run to t-end. */
    int need_traj = 0;
    for (size_t j = 0; j < s->n_measures; j++)
        need_traj |= s->measures[j].kind == SW_MEASURE_STAGE ||
                     s->measures[j].kind == SW_MEASURE_FINAL;
    int traj_ok = 0;
    sw_err traj_err;
    if (need_traj) {
        sw_ode_stats st;
        rc = integrate(s, m, x0, NULL, &tr, x, &st, &traj_err);
        if (rc && rc != SW_ENUMERIC) {
            *e = traj_err;
            goto done;
        }
        traj_ok = rc == SW_OK;
        rc = SW_OK;
        if (traj_ok && !(loss = malloc(tr.n * sizeof *loss))) {
            rc = sw_fail(e, SW_EFAIL, "out of memory");
            goto done;
        }
    }

    for (size_t j = 0; j < s->n_measures && rc == SW_OK; j++) {
        const sw_measure *ms = &s->measures[j];
        sw_event ev;
        char tmp[32];
        if ((ms->kind == SW_MEASURE_STAGE || ms->kind == SW_MEASURE_FINAL) && !traj_ok) {
            note(r, SW_POINT_NUMERIC, ms->column, traj_err.msg);
            continue;
        }
        switch (ms->kind) {
        case SW_MEASURE_EVENT:
            if ((rc = sw_event_parse(m, ms->arg, &ev, e)))
                break;
            rc = eval_event(s, m, x0, &ev, ms, x, &r->values[j], r, e);
            break;
        case SW_MEASURE_ESCAPE:
            rc = eval_escape(s, m, x0, ms, &r->values[j], r, e);
            break;
        case SW_MEASURE_PLATEAU:
        case SW_MEASURE_LEVEL:
            ev = (sw_event){.active = 1, .obs = -1, .ge = 0};
            ev.thr = ms->kind == SW_MEASURE_PLATEAU
                         ? ms->frac * m->sys->loss(m, x0)
                         : 0.5 * (m->levels[ms->k - 1] + m->levels[ms->k]);
            snprintf(ev.text, sizeof ev.text, "loss<=%s", sw_sweep_num(ev.thr, tmp));
            rc = eval_event(s, m, x0, &ev, ms, x, &r->values[j], r, e);
            break;
        case SW_MEASURE_STAGE:
            eval_stage(s, m, &tr, ms, &r->values[j], r, loss);
            break;
        case SW_MEASURE_FINAL: {
            int k = sw_model_obs_index(m, ms->arg);
            const double *xf = tr.x + (tr.n - 1) * dim;
            if (k == -1) {
                r->values[j] = m->sys->loss(m, xf);
            } else {
                m->sys->observe(m, xf, obs);
                r->values[j] = obs[k];
            }
            break;
        }
        }
    }
done:
    sw_traj_clear(&tr);
    free(loss);
    free(x0);
    free(x);
    free(obs);
    return rc;
}

/* ---- one training point ------------------------------------------------------ */

/* Watches a training run's evaluations for the measures' conditions. */
struct watch {
    const sw_sweep *s;
    const sw_model *m;
    sw_event *ev;   /* per measure: the condition of event, plateau, level */
    double *obs;    /* n_obs */
    double *values; /* the point's values: a step once reached */
    size_t pending; /* conditions not reached yet */
    int has_final;  /* a final measure needs the whole run */
};

static int watch_eval(size_t step, const double *theta, double loss, double train_loss,
                      void *user)
{
    (void)train_loss;
    struct watch *w = user;
    const sw_sweep *s = w->s;
    if (w->m->n_obs)
        w->m->sys->observe(w->m, theta, w->obs);
    for (size_t j = 0; j < s->n_measures; j++) {
        const sw_measure *ms = &s->measures[j];
        if (ms->kind == SW_MEASURE_FINAL) {
            int k = sw_model_obs_index(w->m, ms->arg);
            w->values[j] = k == -1 ? loss : w->obs[k];
            continue;
        }
        sw_event *ev = &w->ev[j];
        if (step == 0 && ms->kind == SW_MEASURE_PLATEAU) {
            char tmp[32];
            ev->thr = ms->frac * loss;
            snprintf(ev->text, sizeof ev->text, "loss<=%s", sw_sweep_num(ev->thr, tmp));
        }
        if (!isnan(w->values[j]))
            continue;
        double v = ev->obs < 0 ? loss : w->obs[ev->obs];
        if (ev->ge ? v >= ev->thr : v <= ev->thr) {
            w->values[j] = (double)step;
            w->pending--;
        }
    }
    return w->pending == 0 && !w->has_final;
}

/* The training measures of one point: trains m (taken over) once from the
 * task's initial parameters, stopping when every condition is reached
 * unless a final value needs the whole run. */
static int eval_train(const sw_sweep *s, sw_model *m, sw_sweep_result *r, sw_err *e)
{
    size_t nm = s->n_measures;
    struct watch w = {.s = s, .m = m, .values = r->values};
    w.ev = calloc(nm ? nm : 1, sizeof *w.ev);
    w.obs = malloc((m->n_obs + 1) * sizeof *w.obs);
    double *theta = malloc(m->dim * sizeof *theta);
    sw_learner *l = NULL;
    sw_trainer *tr = NULL;
    int rc = w.ev && w.obs && theta ? SW_OK : sw_fail(e, SW_EFAIL, "out of memory");
    for (size_t j = 0; rc == SW_OK && j < nm; j++) {
        const sw_measure *ms = &s->measures[j];
        sw_event *ev = &w.ev[j];
        char tmp[32];
        if (ms->kind == SW_MEASURE_FINAL) {
            w.has_final = 1;
            continue;
        }
        w.pending++;
        if (ms->kind == SW_MEASURE_EVENT) {
            rc = sw_event_parse(m, ms->arg, ev, e);
        } else {
            /* plateau's threshold waits for the first evaluation */
            *ev = (sw_event){.active = 1, .obs = -1, .ge = 0};
            if (ms->kind == SW_MEASURE_LEVEL) {
                ev->thr = 0.5 * (m->levels[ms->k - 1] + m->levels[ms->k]);
                snprintf(ev->text, sizeof ev->text, "loss<=%s", sw_sweep_num(ev->thr, tmp));
            }
        }
    }
    if (rc == SW_OK) {
        m->sys->init(m, theta);
        rc = sw_learner_wrap(s->o.task, m, &l, e);
        m = NULL; /* the learner's now, freed with it (or already, on failure) */
    }
    if (rc == SW_OK) {
        l->noise = s->o.noise;
        if (!(tr = sw_trainer_alloc(l, &s->o.train, e)))
            rc = SW_EFAIL;
    }
    if (rc == SW_OK) {
        sw_train_stats st = {0};
        sw_err te;
        int trc = sw_train_run(tr, theta, watch_eval, &w, &st, &te);
        if (trc && trc != SW_ENUMERIC) {
            *e = te;
            rc = trc;
        }
        for (size_t j = 0; rc == SW_OK && j < nm; j++) {
            const sw_measure *ms = &s->measures[j];
            char msg[200];
            if (trc == SW_ENUMERIC && (ms->kind == SW_MEASURE_FINAL || isnan(r->values[j]))) {
                r->values[j] = NAN;
                note(r, SW_POINT_NUMERIC, ms->column, te.msg);
            } else if (isnan(r->values[j])) {
                snprintf(msg, sizeof msg, "%s not reached by step %zu%s", w.ev[j].text,
                         st.steps, st.stopped_early ? " (stopped early)" : "");
                note(r, SW_POINT_UNREACHED, ms->column, msg);
            }
        }
    }
    sw_trainer_free(tr);
    sw_learner_free(l);
    sw_model_free(m);
    free(theta);
    free(w.obs);
    free(w.ev);
    return rc;
}

int sw_sweep_eval(const sw_sweep *s, sw_sweep_result *r, sw_err *e)
{
    r->status = SW_POINT_OK;
    r->reason[0] = '\0';
    for (size_t j = 0; j < s->n_values; j++)
        r->values[j] = NAN;
    sw_model *m;
    int rc = sw_sweep_model(s, r->point, &m, e);
    if (rc)
        return rc;
    /* From the parameters alone, before a training run takes the model over. */
    if (s->o.predict)
        eval_predict(m, r->values + s->n_measures, r);
    if (s->o.task)
        return eval_train(s, m, r, e);
    rc = eval_ode(s, m, r, e);
    sw_model_free(m);
    return rc;
}

