#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "stagewise/eigen.h"
#include "stagewise/escape.h"
#include "stagewise/sweep.h"

/* Points in one sweep: far more than anyone integrates, small enough that
 * the product of the axes never overflows on its way there. */
#define MAX_POINTS 100000000.0

/* The shortest of %.15g, %.16g, %.17g that reads back as x: exact like
 * %.17g, but 0.3 stays "0.3" in columns and provenance.  buf holds 32. */
static const char *num(double x, char *buf)
{
    for (int prec = 15; prec < 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return buf;
    }
    snprintf(buf, 32, "%.17g", x);
    return buf;
}

/* ---- lists ------------------------------------------------------------ */

/* `lo:hi:n[:log]`; the fields are split by hand so that an empty one is
 * reported rather than skipped. */
static int parse_range(const sw_param_def *def, const char *text, sw_value *out, sw_err *e)
{
    char buf[256], *f[5];
    size_t nf = 0;
    if (strlen(text) >= sizeof buf)
        return sw_fail(e, SW_EINPUT, "%s: list '%.40s...' is too long", def->name, text);
    strcpy(buf, text);
    for (char *p = buf; nf < 5;) {
        f[nf++] = p;
        char *c = strchr(p, ':');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    int log_scale = nf == 4 && strcmp(f[3], "log") == 0;
    if (nf < 3 || nf > 4 || (nf == 4 && !log_scale))
        return sw_fail(e, SW_EINPUT,
                       "%s: '%s' is not a list (allowed: a,b,c or lo:hi:n or lo:hi:n:log)",
                       def->name, text);
    double lo, hi, n;
    int rc;
    if ((rc = sw_parse_real(f[0], def->name, &lo, e)) ||
        (rc = sw_parse_real(f[1], def->name, &hi, e)) ||
        (rc = sw_parse_real_in(f[2], def->name, 2, MAX_POINTS, &n, e)))
        return rc;
    if (n != floor(n))
        return sw_fail(e, SW_EINPUT, "%s: count '%s' in '%s' is not an integer", def->name, f[2],
                       text);
    if (log_scale && !(lo > 0 && hi > 0))
        return sw_fail(e, SW_EINPUT, "%s: a log range needs lo, hi > 0 (got '%s')", def->name,
                       text);
    size_t cnt = (size_t)n;
    out->v = malloc(cnt * sizeof *out->v);
    if (!out->v)
        return sw_fail(e, SW_EFAIL, "out of memory");
    out->n = 0;
    for (size_t i = 0; i < cnt; i++) {
        double f_ = (double)i / (double)(cnt - 1);
        double x = log_scale ? lo * pow(hi / lo, f_) : lo + (hi - lo) * f_;
        /* 15 digits: 0:1:11 then gives 0.3, not 0.30000000000000004, and
         * 4:64:5:log gives 8, as the user would have typed them. */
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%.15g", x);
        x = i == cnt - 1 ? hi : strtod(tmp, NULL);
        if (def->kind == SW_PARAM_INT) {
            x = round(x);
            if (out->n && out->v[out->n - 1] == x)
                continue;
        }
        out->v[out->n++] = x;
    }
    return SW_OK;
}

int sw_sweep_list_parse(const sw_param_def *def, const char *text, sw_value *out, sw_err *e)
{
    out->n = 0;
    out->v = NULL;
    if (strchr(text, ':')) {
        int rc = parse_range(def, text, out, e);
        if (rc) {
            free(out->v);
            out->v = NULL;
            out->n = 0;
        }
        return rc;
    }
    /* For a list-valued parameter `a,b,c` is one value, not three. */
    if (def->kind == SW_PARAM_LIST)
        return sw_fail(e, SW_EINPUT, "%s: a list-valued parameter is swept by a range only "
                                     "(allowed: lo:hi:n, lo:hi:n:log)",
                       def->name);
    /* The parameter parser reads `a,b,c` already; a list-kind twin of def
     * without its range (the model checks that, point by point). */
    sw_param_def as_list = {def->name, SW_PARAM_LIST, "", -INFINITY, INFINITY, ""};
    int rc = sw_param_parse(&as_list, text, out, e);
    if (rc == SW_OK && out->n == 0)
        rc = sw_fail(e, SW_EINPUT, "%s: empty list (allowed: a,b,c or lo:hi:n or lo:hi:n:log)",
                     def->name);
    if (rc) {
        free(out->v);
        out->v = NULL;
        out->n = 0;
    }
    return rc;
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

/* ---- measures ------------------------------------------------------------ */

static const char allowed[] = "allowed: event:OBS<=X, event:OBS>=X, plateau, plateau:FRAC, "
                              "stage:K, level:K, final:OBS, escape:EPS:OBS<=X";

int sw_measure_parse(const char *text, sw_measure *ms, sw_err *e)
{
    memset(ms, 0, sizeof *ms);
    if (strlen(text) >= sizeof ms->text)
        return sw_fail(e, SW_EINPUT, "measure: '%.40s...' is too long", text);
    strcpy(ms->text, text);
    const char *colon = strchr(text, ':');
    size_t klen = colon ? (size_t)(colon - text) : strlen(text);
    const char *arg = colon ? colon + 1 : NULL;
    double v;
    int rc;
    if (klen == 7 && strncmp(text, "plateau", 7) == 0) {
        ms->kind = SW_MEASURE_PLATEAU;
        ms->frac = 0.5;
        if (arg && (rc = sw_parse_real(arg, "measure plateau fraction", &ms->frac, e)))
            return rc;
        if (!(ms->frac > 0 && ms->frac < 1))
            return sw_fail(e, SW_EINPUT, "measure: plateau fraction %s is out of range (0, 1)",
                           arg);
        if (arg)
            snprintf(ms->column, sizeof ms->column, "t_plateau_%s", arg);
        else
            strcpy(ms->column, "t_plateau");
        return SW_OK;
    }
    if (!arg || !*arg)
        return sw_fail(e, SW_EINPUT, "measure: '%s' is not a measure (%s)", text, allowed);
    if (strlen(arg) >= sizeof ms->arg)
        return sw_fail(e, SW_EINPUT, "measure: '%.40s...' is too long", text);
    int escape = klen == 6 && strncmp(text, "escape", 6) == 0;
    if (escape) {
        /* EPS, then the condition. */
        const char *c2 = strchr(arg, ':');
        char eps[64];
        if (!c2 || (size_t)(c2 - arg) >= sizeof eps)
            return sw_fail(e, SW_EINPUT, "measure: '%s' is not escape:EPS:OBS<=X", text);
        memcpy(eps, arg, (size_t)(c2 - arg));
        eps[c2 - arg] = '\0';
        if ((rc = sw_parse_real(eps, "measure escape eps", &ms->frac, e)))
            return rc;
        if (!(ms->frac > 0))
            return sw_fail(e, SW_EINPUT, "measure: escape eps %s is out of range (0, inf)", eps);
        arg = c2 + 1;
    }
    if (escape || (klen == 5 && strncmp(text, "event", 5) == 0)) {
        if (!strstr(arg, "<=") && !strstr(arg, ">="))
            return sw_fail(e, SW_EINPUT, "measure: '%s' needs a condition OBS<=X or OBS>=X",
                           text);
        ms->kind = escape ? SW_MEASURE_ESCAPE : SW_MEASURE_EVENT;
        strcpy(ms->arg, arg);
        strcpy(ms->column, escape ? "t_escape" : "t_event");
        return SW_OK;
    }
    int stage = klen == 5 && strncmp(text, "stage", 5) == 0;
    if (stage || (klen == 5 && strncmp(text, "level", 5) == 0)) {
        const char *what = stage ? "measure stage" : "measure level";
        if ((rc = sw_parse_real_in(arg, what, 1, 1000, &v, e)))
            return rc;
        if (v != floor(v))
            return sw_fail(e, SW_EINPUT, "%s: '%s' is not an integer", what, arg);
        ms->kind = stage ? SW_MEASURE_STAGE : SW_MEASURE_LEVEL;
        ms->k = (size_t)v;
        snprintf(ms->column, sizeof ms->column, "t_%s_%zu", stage ? "stage" : "level", ms->k);
        return SW_OK;
    }
    if (klen == 5 && strncmp(text, "final", 5) == 0) {
        ms->kind = SW_MEASURE_FINAL;
        strcpy(ms->arg, arg);
        snprintf(ms->column, sizeof ms->column, "final_%s", arg);
        return SW_OK;
    }
    return sw_fail(e, SW_EINPUT, "measure: unknown kind in '%s' (%s)", text, allowed);
}

/* Names of an observable-reading measure resolved against one model. */
static int measure_check(const sw_measure *ms, const sw_model *m, sw_err *e)
{
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

/* ---- the sweep ---------------------------------------------------------- */

void sw_sweep_free(sw_sweep *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->base && i < s->sys->n_params; i++)
        free(s->base[i]);
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
    double base = strtod(s->base[s->seed_param], NULL);
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
    const char **keys = malloc(np * sizeof *keys), **vals = malloc(np * sizeof *vals);
    char(*text)[32] = malloc(np * sizeof *text);
    if (!keys || !vals || !text) {
        free(keys), free(vals), free(text);
        return sw_fail(e, SW_EFAIL, "out of memory");
    }
    for (size_t i = 0; i < np; i++) {
        keys[i] = s->sys->params[i].name;
        vals[i] = s->base[i];
    }
    for (size_t a = 0; a < s->n_axes; a++) {
        int i = s->axes[a].param;
        vals[i] = num(sw_sweep_axis_value(s, a, point), text[i]);
    }
    if (s->seed_param >= 0) {
        int i = s->seed_param;
        vals[i] = num(point_seed(s, point), text[i]);
    }
    int rc = sw_model_alloc(s->sys, np, keys, vals, m, e);
    free(keys), free(vals), free(text);
    return rc;
}

/* A parameter value as the parser reads it back. */
static char *value_text(const sw_value *v)
{
    size_t cap = 33 * v->n + 1;
    char *buf = malloc(cap), tmp[32];
    if (!buf)
        return NULL;
    buf[0] = '\0';
    for (size_t k = 0, used = 0; k < v->n && used < cap; k++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", k ? "," : "", num(v->v[k], tmp));
    return buf;
}

/* Names the point in an error: "point 7 (d=4, T=64)". */
static void point_label(const sw_sweep *s, size_t point, char *buf, size_t len)
{
    char tmp[32];
    size_t used = (size_t)snprintf(buf, len, "point %zu (", point);
    for (size_t a = 0; a < s->n_axes && used < len; a++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", a ? ", " : "",
                                 s->sys->params[s->axes[a].param].name,
                                 num(sw_sweep_axis_value(s, a, point), tmp));
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
            rc = measure_check(&s->measures[j], m, &pe);
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
    for (size_t i = 0; rc == SW_OK && i < sys->n_params; i++)
        if (!(s->base[i] = value_text(&base->pv[i])))
            rc = sw_fail(e, SW_EFAIL, "out of memory");
    s->seed_param = sw_param_index(sys, "seed");
    s->o = *o;
    if (rc == SW_OK && n_measures == 0)
        rc = sw_fail(e, SW_EINPUT, "sweep needs at least one --measure (%s)", allowed);
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
    }
    s->n_values = s->n_measures + (o->predict ? 2 : 0);
    if (rc == SW_OK && o->predict && !sys->predict)
        rc = sw_fail(e, SW_EINPUT,
                     "predict: %s declares no predicted rate lambda+ (allowed: a system with "
                     "a predict hook, such as z-reduced and z-full)",
                     sys->name);
    double np = 1;
    for (size_t a = 0; rc == SW_OK && a < n_axes; a++) {
        np *= (double)axes[a].values.n;
        if (np > MAX_POINTS)
            rc = sw_fail(e, SW_EINPUT, "sweep: more than %.0f points", MAX_POINTS);
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

/* ---- one point ------------------------------------------------------------ */

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
        snprintf(msg, sizeof msg, "%s not reached by t-end = %s", cond, num(s->o.ode.t_end, tmp));
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

static void eval_predict(const sw_model *m, double *values, sw_sweep_result *r)
{
    sw_err ze;
    if (m->sys->predict(m, &values[0], &ze)) {
        note(r, SW_POINT_NUMERIC, "lambda_plus", ze.msg);
        return;
    }
    values[1] = 1 / values[0];
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
            snprintf(ev.text, sizeof ev.text, "loss<=%s", num(ev.thr, tmp));
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
    if (rc == SW_OK && s->o.predict)
        eval_predict(m, r->values + s->n_measures, r);
done:
    sw_traj_clear(&tr);
    free(loss);
    free(x0);
    free(x);
    free(obs);
    sw_model_free(m);
    return rc;
}

/* ---- many points ------------------------------------------------------------ */

int sw_sweep_run(const sw_sweep *s, const size_t *todo, size_t n, int threads,
                 volatile sig_atomic_t *stop, sw_sweep_done done, void *user, sw_err *e)
{
    int rc = SW_OK, halt = 0;
    (void)threads; /* without OpenMP the loop below runs on one thread */
#pragma omp parallel num_threads(threads)
    {
        double *values = malloc((s->n_values ? s->n_values : 1) * sizeof *values);
#pragma omp for schedule(dynamic, 1)
        for (size_t i = 0; i < n; i++) {
            int h;
#pragma omp atomic read
            h = halt;
            if (h || (stop && *stop))
                continue;
            sw_sweep_result r = {.point = todo[i], .values = values};
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

void sw_sweep_write_head(const sw_sweep *s, FILE *fp)
{
    const sw_system *sys = s->sys;
    char t1[32], t2[32], t3[32];
    fprintf(fp, "# stagewise = %s\n# command = sweep\n# system = %s\n", SW_VERSION, sys->name);
    for (size_t i = 0; i < sys->n_params; i++) {
        const sw_value *axis = NULL;
        for (size_t a = 0; a < s->n_axes; a++)
            if (s->axes[a].param == (int)i)
                axis = &s->axes[a].values;
        fprintf(fp, "# %s = ", sys->params[i].name);
        if (axis)
            for (size_t k = 0; k < axis->n; k++)
                fprintf(fp, "%s%s", k ? "," : "", num(axis->v[k], t1));
        else
            fputs(s->base[i], fp);
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
                num(d->lo, t1), num(fmin(d->hi - d->lo + 1, 9007199254740992.0), t2));
    }
    for (size_t j = 0; j < s->n_measures; j++)
        fprintf(fp, "# %s = %s\n", s->measures[j].column, s->measures[j].text);
    if (s->o.predict)
        fputs("# lambda_plus = largest eigenvalue of the Jacobian of (alpha, beta, Delta a) at "
              "the start; t_scale = 1/lambda_plus\n",
              fp);
    const sw_ode_opts *o = &s->o.ode;
    fprintf(fp, "# solver = %s rtol=%s atol=%s h0=%s\n", o->solver, num(o->rtol, t1),
            num(o->atol, t2), num(o->h0, t3));
    fprintf(fp, "# grid = t_end=%s points=%zu %s t_first=%s\n", num(o->t_end, t1), o->points,
            o->log_grid ? "log" : "linear", num(o->t_first, t2));
    for (size_t j = 0; j < s->n_measures; j++)
        if (s->measures[j].kind == SW_MEASURE_STAGE) {
            fprintf(fp, "# stages = max_slope=%s min_decades=%s min_drop=%s\n",
                    num(s->o.stages.max_slope, t1), num(s->o.stages.min_decades, t2),
                    num(s->o.stages.min_drop, t3));
            break;
        }
    fputs("# status = " SW_POINT_STATUS_DOC "; the reason of a nonzero status is on a line "
          "`# failure_POINT = ...`\n",
          fp);
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
        fprintf(fp, ",%s", num(sw_sweep_axis_value(s, a, r->point), tmp));
    if (s->seed_param >= 0)
        fprintf(fp, ",%s", num(point_seed(s, r->point), tmp));
    for (size_t j = 0; j < s->n_values; j++)
        fprintf(fp, ",%s", num(r->values[j], tmp));
    fprintf(fp, ",%d\n", r->status);
    if (r->status != SW_POINT_OK)
        fprintf(fp, "# failure_%zu = %s\n", r->point, r->reason);
}
