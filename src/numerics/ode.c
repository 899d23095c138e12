#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <gsl/gsl_roots.h>

#include "bdf.h"
#include "clones.h"
#include "dop853.h"
#include "jacobian.h"
#include "stagewise/budget.h"
#include "stagewise/ode.h"

/* Who steps: GSL's driver (type set), or one of stagewise's own steppers,
 * the BDF (bdf.h) or DOP853 (dop853.h).  For the budgets: vector-field
 * evaluations a step costs at least, and the dim x dim matrices the stepper
 * holds (0: explicit, it holds vectors only).  One row per solver in
 * SOLVERS: the table and the list of names are both made from it. */
enum stepper { GSL, OWN_BDF, OWN_DOP853 };
#define SOLVERS(X)                                                                             \
    X(rk2, GSL, &gsl_odeiv2_step_rk2, 3, 0)                                                    \
    X(rk4, GSL, &gsl_odeiv2_step_rk4, 12, 0)                                                   \
    X(rkf45, GSL, &gsl_odeiv2_step_rkf45, 6, 0)                                                \
    X(rkck, GSL, &gsl_odeiv2_step_rkck, 6, 0)                                                  \
    X(rk8pd, GSL, &gsl_odeiv2_step_rk8pd, 13, 0)                                               \
    X(rk1imp, GSL, &gsl_odeiv2_step_rk1imp, 1, 3)                                              \
    X(rk2imp, GSL, &gsl_odeiv2_step_rk2imp, 1, 3)                                              \
    X(rk4imp, GSL, &gsl_odeiv2_step_rk4imp, 2, 3)                                              \
    X(bsimp, GSL, &gsl_odeiv2_step_bsimp, 1, 4)                                                \
    X(msadams, GSL, &gsl_odeiv2_step_msadams, 1, 0)                                            \
    X(msbdf, GSL, &gsl_odeiv2_step_msbdf, 1, 3)                                                \
    X(bdf, OWN_BDF, NULL, 1, 2)                                                                \
    X(dop853, OWN_DOP853, NULL, 12, 0)
#define SOLVER_ROW(name, by, type, evals, matrices) {#name, by, type, evals, matrices},
static const struct {
    const char *name;
    enum stepper by;
    const gsl_odeiv2_step_type **type;
    int evals, matrices;
} solvers[] = {SOLVERS(SOLVER_ROW)};
#define N_SOLVERS (sizeof solvers / sizeof solvers[0])

/* The list the errors and --help print, ", rk2, ..." with its first
 * separator skipped. */
#define SOLVER_LISTED(name, by, type, evals, matrices) ", " #name
static const char solver_list[] = SOLVERS(SOLVER_LISTED);

static int solver_index(const char *name)
{
    for (size_t i = 0; i < N_SOLVERS; i++)
        if (strcmp(solvers[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *sw_ode_solver_names(void)
{
    return solver_list + 2;
}

int sw_ode_solver_known(const char *name)
{
    return solver_index(name) >= 0;
}

void sw_ode_opts_default(sw_ode_opts *o)
{
    memset(o, 0, sizeof *o);
    o->solver = "rk8pd";
    o->rtol = 1e-8;
    o->atol = 1e-10;
    o->h0 = 1e-4;
    o->t_end = 1e4;
    o->t_first = 0; /* 0: the smaller of t_end * 1e-6 and 1e-2 */
    o->points = 200;
    o->log_grid = 1;
    o->max_steps = SW_BUDGET_STEPS_DEFAULT;
    o->max_work = SW_BUDGET_WORK_DEFAULT;
    o->max_memory = sw_budget_memory_default();
}

int sw_ode_opts_set(sw_ode_opts *o, const char *name, const char *value, sw_err *e)
{
    double v;
    int rc, s;
    if (strcmp(name, "solver") == 0) {
        if ((s = solver_index(value)) < 0)
            return sw_fail(e, SW_EINPUT, "unknown solver '%s' (allowed: %s)", value,
                           sw_ode_solver_names());
        o->solver = solvers[s].name; /* the table's copy outlives the caller's text */
        return SW_OK;
    }
    if (strcmp(name, "rtol") == 0)
        return sw_parse_real(value, "rtol", &o->rtol, e);
    if (strcmp(name, "atol") == 0)
        return sw_parse_real(value, "atol", &o->atol, e);
    if (strcmp(name, "h0") == 0)
        return sw_parse_real(value, "h0", &o->h0, e);
    if (strcmp(name, "t-end") == 0)
        return sw_parse_real(value, "t-end", &o->t_end, e);
    if (strcmp(name, "t-first") == 0)
        return sw_parse_real(value, "t-first", &o->t_first, e);
    if (strcmp(name, "points") == 0) {
        if ((rc = sw_parse_real_in(value, "points", 2, 1e8, &v, e)))
            return rc;
        if (v != floor(v))
            return sw_fail(e, SW_EINPUT, "points: '%s' is not an integer", value);
        o->points = (size_t)v;
        return SW_OK;
    }
    if (strcmp(name, "grid") == 0)
        return sw_parse_grid(value, &o->log_grid, e);
    if (strcmp(name, "max-steps") == 0) {
        if ((rc = sw_parse_real_in(value, "max-steps", 1, 1e15, &v, e)))
            return rc;
        o->max_steps = (unsigned long)v;
        return SW_OK;
    }
    if (strcmp(name, "max-work") == 0)
        return sw_parse_real_in(value, "max-work", 1, INFINITY, &o->max_work, e);
    if (strcmp(name, "max-memory") == 0)
        return sw_parse_bytes(value, "max-memory", &o->max_memory, e);
    return sw_fail(e, SW_EINPUT, "unknown integrator option '%s' (allowed: solver, rtol, atol, "
                                 "h0, t-end, t-first, points, grid, max-steps, max-work, "
                                 "max-memory)", name);
}

int sw_ode_opts_check(const sw_ode_opts *o, sw_err *e)
{
    if (!sw_ode_solver_known(o->solver))
        return sw_fail(e, SW_EINPUT, "unknown solver '%s' (allowed: %s)", o->solver,
                       sw_ode_solver_names());
    if (!(o->rtol > 0 && o->rtol < 1))
        return sw_fail(e, SW_EINPUT, "rtol: %g is out of range (0, 1)", o->rtol);
    /* Below this no double-precision step can pass the error test: the run
     * would only shrink its steps until it underflows or never ends. */
    if (o->rtol < SW_ODE_RTOL_FLOOR)
        return sw_fail(e, SW_EINPUT, "rtol: %g is below the floor %g that double precision "
                                     "can meet (allowed: [%g, 1))",
                       o->rtol, SW_ODE_RTOL_FLOOR, SW_ODE_RTOL_FLOOR);
    if (!(o->atol >= 0) || !isfinite(o->atol))
        return sw_fail(e, SW_EINPUT, "atol: %g is out of range [0, inf)", o->atol);
    if (!(o->h0 > 0) || !isfinite(o->h0))
        return sw_fail(e, SW_EINPUT, "h0: %g is out of range (0, inf)", o->h0);
    if (!(o->t_end > 0) || !isfinite(o->t_end))
        return sw_fail(e, SW_EINPUT, "t-end: %g is out of range (0, inf)", o->t_end);
    if (o->t_first != 0 && !(o->t_first > 0 && o->t_first < o->t_end))
        return sw_fail(e, SW_EINPUT, "t-first: %g is out of range (0, t-end)", o->t_first);
    if (o->points < 2)
        return sw_fail(e, SW_EINPUT, "points: %zu is out of range [2, inf)", o->points);
    if (o->max_steps < 1)
        return sw_fail(e, SW_EINPUT, "max-steps: 0 is out of range [1, inf)");
    return SW_OK;
}

void sw_ode_model_budget(const sw_ode_opts *o, sw_model_budget *b)
{
    b->max_memory = o->max_memory;
    b->max_work = o->max_work;
}

int sw_ode_budget(const sw_model *m, const sw_ode_opts *o, sw_err *e)
{
    int rc = sw_ode_opts_check(o, e);
    if (rc)
        return rc;
    int k = solver_index(o->solver);
    double n = (double)m->dim, d = sizeof(double);
    /* Vectors: the stepper's stages and scratch (at most about 20 per
     * stage count), ours (5); the output grid; the dense matrices. */
    double bytes = d * (n * (20 + 2.0 * solvers[k].evals) + (double)o->points) +
                   d * solvers[k].matrices * n * n;
    char what[160];
    snprintf(what, sizeof what, "integrating %s (%zu coordinates, solver %s, %zu points)",
             m->sys->name, m->dim, o->solver, o->points);
    if ((rc = sw_budget_memory(bytes, o->max_memory, what, e)))
        return rc;
    /* All but the BDF stop at every output time, so at least one step per
     * interval; an implicit stepper also needs a Jacobian, by central
     * differences (2 dim evaluations) unless the system has its own. */
    double steps = solvers[k].by == OWN_BDF ? 1 : (double)(o->points - 1);
    if (steps > (double)o->max_steps)
        return sw_fail(e, SW_EINPUT, "%s needs at least %zu steps (one per output time), over "
                                     "the step budget of %lu (--max-steps raises it)",
                       what, o->points - 1, o->max_steps);
    double work = steps * solvers[k].evals * n;
    if (solvers[k].matrices && !m->sys->jac)
        work += 2 * n * n;
    return sw_budget_work(work, o->max_work, what, e);
}

int sw_event_parse(const sw_model *m, const char *text, sw_event *ev, sw_err *e)
{
    memset(ev, 0, sizeof *ev);
    const char *op = strstr(text, "<=");
    if (!op)
        op = strstr(text, ">=");
    if (!op || op == text)
        return sw_fail(e, SW_EINPUT, "until: '%s' is not of the form OBS<=X or OBS>=X", text);
    char name[64];
    size_t len = (size_t)(op - text);
    if (len >= sizeof name)
        return sw_fail(e, SW_EINPUT, "until: observable name in '%s' is too long", text);
    memcpy(name, text, len);
    name[len] = '\0';
    int idx = sw_model_obs_index(m, name);
    if (idx == -2)
        return sw_fail(e, SW_EINPUT,
                       "until: unknown observable '%s' (allowed: loss or a column that "
                       "`stagewise describe %s` lists)",
                       name, m->sys->name);
    int rc = sw_parse_real(op + 2, "until threshold", &ev->thr, e);
    if (rc)
        return rc;
    ev->active = 1;
    ev->obs = idx;
    ev->ge = op[0] == '>';
    snprintf(ev->text, sizeof ev->text, "%s", text);
    return SW_OK;
}

double sw_event_gap_of(const sw_event *ev, double loss, const double *obs)
{
    double v = ev->obs < 0 ? loss : obs[ev->obs];
    return ev->ge ? ev->thr - v : v - ev->thr;
}

double sw_event_gap(const sw_model *m, const sw_event *ev, const double *x, double *obs)
{
    if (ev->obs < 0)
        return sw_event_gap_of(ev, m->sys->loss(m, x), obs);
    m->sys->observe(m, x, obs);
    return sw_event_gap_of(ev, NAN, obs);
}

struct sw_ode {
    sw_model *m;
    sw_ode_opts o;
    gsl_odeiv2_system sys;
    gsl_odeiv2_driver *d; /* the GSL steppers */
    sw_bdf *bdf;          /* or the BDF */
    sw_dop853 *dop;       /* or DOP853 */
    double *work;         /* 2 dim: finite-difference Jacobian scratch */
    double *x0;           /* dim: state at the start of the current step */
    double *xe;           /* dim: state during event location */
    double *obs;          /* n_obs */
    double *grid;         /* points */
    unsigned long rhs_evals, jac_evals;
    double window_t, window_step; /* the crawl check's last window (over_budget) */
};

static int gsl_rhs(double t, const double *x, double *f, void *p)
{
    (void)t;
    sw_ode *w = p;
    w->rhs_evals++;
    return w->m->sys->rhs(w->m, x, f) ? GSL_EBADFUNC : GSL_SUCCESS;
}

static int gsl_jac(double t, const double *x, double *J, double *dfdt, void *p)
{
    (void)t;
    sw_ode *w = p;
    w->jac_evals++;
    /* Autonomous systems: no explicit time dependence. */
    memset(dfdt, 0, w->m->dim * sizeof *dfdt);
    return sw_jacobian_eval(w->m, x, J, w->work) ? GSL_EBADFUNC : GSL_SUCCESS;
}

sw_ode *sw_ode_alloc(sw_model *m, const sw_ode_opts *o, sw_err *e)
{
    if (sw_ode_budget(m, o, e))
        return NULL;
    sw_ode *w = calloc(1, sizeof *w);
    if (!w) {
        sw_fail(e, SW_EFAIL, "out of memory");
        return NULL;
    }
    size_t n = m->dim;
    w->m = m;
    w->o = *o;
    /* Every system here leaves its first plateau after t = 0.1 at the
     * earliest: a long run's grid must still start below that. */
    if (w->o.t_first == 0)
        w->o.t_first = fmin(o->t_end * 1e-6, 1e-2);
    w->sys = (gsl_odeiv2_system){gsl_rhs, gsl_jac, n, w};
    w->work = malloc(2 * n * sizeof(double));
    w->x0 = malloc(n * sizeof(double));
    w->xe = malloc(n * sizeof(double));
    w->obs = malloc((m->n_obs + 1) * sizeof(double));
    w->grid = malloc(o->points * sizeof(double));
    int k = solver_index(o->solver);
    switch (solvers[k].by) {
    case GSL:
        w->d = gsl_odeiv2_driver_alloc_y_new(&w->sys, *solvers[k].type, o->h0, o->atol, o->rtol);
        break;
    case OWN_BDF:
        w->bdf = sw_bdf_alloc(m, o->rtol, o->atol);
        break;
    case OWN_DOP853:
        w->dop = sw_dop853_alloc(&w->sys, o->rtol, o->atol);
        break;
    }
    if (!w->work || !w->x0 || !w->xe || !w->obs || !w->grid || (!w->d && !w->bdf && !w->dop)) {
        sw_ode_free(w);
        sw_fail(e, SW_EFAIL, "out of memory");
        return NULL;
    }
    size_t np = o->points;
    w->grid[0] = 0;
    for (size_t i = 1; i < np; i++) {
        if (w->o.log_grid)
            w->grid[i] = np == 2 ? o->t_end
                                 : w->o.t_first * pow(o->t_end / w->o.t_first,
                                                      (double)(i - 1) / (double)(np - 2));
        else
            w->grid[i] = o->t_end * (double)i / (double)(np - 1);
    }
    w->grid[np - 1] = o->t_end; /* exact, whatever pow rounded to */
    return w;
}

void sw_ode_free(sw_ode *w)
{
    if (!w)
        return;
    if (w->d)
        gsl_odeiv2_driver_free(w->d);
    sw_bdf_free(w->bdf);
    sw_dop853_free(w->dop);
    free(w->work);
    free(w->x0);
    free(w->xe);
    free(w->obs);
    free(w->grid);
    free(w);
}

/* The explicit steppers, GSL's or DOP853, behind one call. */
static int explicit_step(sw_ode *w, double *t, double bound, double *h, double *x)
{
    if (w->dop)
        return sw_dop853_apply(w->dop, t, bound, h, x);
    return gsl_odeiv2_evolve_apply(w->d->e, w->d->c, w->d->s, &w->sys, t, bound, h, x);
}

struct locate {
    sw_ode *w;
    double t0;
    int failed;
};

/* The state at tau inside the last step, into xe.  The explicit steppers
 * have no dense output: integrate again from the saved step start (t0, x0)
 * with the same stepper and tolerances, so the event time inherits the
 * run's accuracy.  The BDF interpolates. */
static double gap_at(double tau, void *p)
{
    struct locate *L = p;
    sw_ode *w = L->w;
    size_t n = w->m->dim;
    if (w->bdf) {
        sw_bdf_eval(w->bdf, tau, w->xe);
        return sw_event_gap(w->m, &w->o.until, w->xe, w->obs);
    }
    memcpy(w->xe, w->x0, n * sizeof(double));
    if (w->d)
        gsl_odeiv2_driver_reset(w->d);
    double t = L->t0;
    double h = fmin(w->o.h0, tau - L->t0);
    while (t < tau) {
        if (explicit_step(w, &t, tau, &h, w->xe) != GSL_SUCCESS) {
            L->failed = 1;
            return 0;
        }
    }
    return sw_event_gap(w->m, &w->o.until, w->xe, w->obs);
}

static int locate_event(sw_ode *w, double t0, double t1, double *x, double *t_event)
{
    struct locate L = {w, t0, 0};
    gsl_function F = {gap_at, &L};
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (!s)
        return SW_EFAIL;
    /* The bracket [t0, t1] has gap > 0 at t0 and <= 0 at t1. */
    int rc = gsl_root_fsolver_set(s, &F, t0, t1);
    double lo = t0, hi = t1;
    for (int it = 0; rc == GSL_SUCCESS && it < 200 && !L.failed; it++) {
        rc = gsl_root_fsolver_iterate(s);
        lo = gsl_root_fsolver_x_lower(s);
        hi = gsl_root_fsolver_x_upper(s);
        if (gsl_root_test_interval(lo, hi, 0, 1e-14) == GSL_SUCCESS)
            break;
    }
    gsl_root_fsolver_free(s);
    /* Report the upper end, where the condition holds, so the state
     * written at the event satisfies it. */
    *t_event = hi;
    gap_at(hi, &L);
    if (L.failed)
        return SW_ENUMERIC;
    memcpy(x, w->xe, w->m->dim * sizeof(double));
    return SW_OK;
}

/* The run's budgets: a step count and work (coordinate evaluations), so a
 * run whose steps shrink to nothing ends with a message, not never. */
/* Steps per window of the crawl check. */
enum { CRAWL_WINDOW = 10000 };

/* The run's budgets: a step count and work (coordinate evaluations), so a
 * run whose steps shrink to nothing ends with a message, not never.  A run
 * that will plainly not make it ends early: when the mean step of the last
 * window has stopped growing (a stiff problem's explicit steps sit at their
 * stability limit) and t-end at that pace is ten times more steps away than
 * the budget has left.  Steps only grow on a plateau, so no run that would
 * finish within the budget is stopped. */
static int over_budget(sw_ode *w, const sw_ode_stats *st, double t, double h, sw_err *e)
{
    unsigned long evals = w->rhs_evals;
    if (w->bdf) {
        sw_bdf_stats bs;
        sw_bdf_stats_get(w->bdf, &bs);
        evals = bs.rhs_evals;
        h = sw_bdf_step_size(w->bdf);
    }
    double work = (double)evals * (double)w->m->dim;
    int steps_out = st->steps >= w->o.max_steps, crawl = 0;
    double pace = 0, need = 0;
    if (st->steps % CRAWL_WINDOW == 0) {
        pace = (t - w->window_t) / CRAWL_WINDOW;
        need = (w->o.t_end - t) / pace;
        /* Ten times the steps left: a long stretch of short steps inside
         * a transition must not end a run that then speeds up. */
        crawl = w->window_step > 0 && pace <= 2 * w->window_step &&
                need > 10 * (double)(w->o.max_steps - st->steps);
        w->window_t = t;
        w->window_step = pace;
    }
    if (!steps_out && !crawl && work <= w->o.max_work)
        return SW_OK;
    int k = solver_index(w->o.solver);
    char budget[160];
    if (crawl)
        snprintf(budget, sizeof budget, "step budget of %lu steps (--max-steps) cannot reach "
                 "t-end %g: at the mean step %.3g of the last %d, that is %.3g more steps; "
                 "stopped", w->o.max_steps, w->o.t_end, pace, CRAWL_WINDOW, need);
    else if (steps_out)
        snprintf(budget, sizeof budget, "step budget of %lu steps (--max-steps) used up",
                 w->o.max_steps);
    else
        snprintf(budget, sizeof budget, "work budget of %.3g coordinate evaluations "
                 "(--max-work) used up", w->o.max_work);
    /* Steps far shorter than the horizon from an explicit stepper: the
     * usual cause is stiffness, which the implicit ones handle. */
    if (solvers[k].matrices == 0)
        return sw_fail(e, SW_ENUMERIC, "%s at t = %.17g (step size %.3g): the explicit solver "
                                       "%s is crawling, the system looks stiff; try --solver bdf",
                       budget, t, h, w->o.solver);
    return sw_fail(e, SW_ENUMERIC, "%s at t = %.17g (step size %.3g); raise the budget or "
                                   "loosen --rtol/--atol",
                   budget, t, h);
}

SW_VECTOR_CLONES
static int finite_state(const double *x, size_t n)
{
    /* x * 0 is NaN exactly for an infinite or NaN x: a sum the compiler
     * vectorises (its order does not matter: 0 or NaN), where a test per
     * element with an early exit is not. */
    double z = 0;
#pragma omp simd reduction(+ : z)
    for (size_t i = 0; i < n; i++)
        z += x[i] * 0;
    return z == 0;
}

/* One step from (*t, x) towards bound, never past it. */
static int advance(sw_ode *w, double *t, double bound, double *h, double *x, sw_err *e)
{
    if (w->bdf) {
        int rc = sw_bdf_step(w->bdf, bound, e);
        *t = sw_bdf_time(w->bdf);
        memcpy(x, sw_bdf_state(w->bdf), w->m->dim * sizeof *x);
        return rc;
    }
    int s = explicit_step(w, t, bound, h, x);
    if (s == GSL_SUCCESS)
        return SW_OK;
    return sw_fail(e, SW_ENUMERIC, "%s at t = %.17g (step size %.3g)",
                   s == GSL_EBADFUNC ? "the vector field could not be evaluated"
                                     : "step size underflow",
                   *t, *h);
}

/* Hands a row to the caller.  Returns nonzero to stop the run: the caller
 * asked to (a positive return) or failed (a negative one, made an error in
 * *rc so a truncated run is never mistaken for a finished one). */
static int emit(sw_ode_output out, void *user, double t, const double *x, int *rc, sw_err *e)
{
    int r = out ? out(t, x, user) : 0;
    if (r < 0)
        *rc = sw_fail(e, SW_EFAIL, "recording the run failed at t = %.17g (out of memory)", t);
    return r != 0;
}

int sw_ode_run(sw_ode *w, double *x, sw_ode_output out, void *user, sw_ode_stats *st,
               sw_err *e)
{
    size_t n = w->m->dim, np = w->o.points;
    sw_ode_stats unused;
    if (!st)
        st = &unused;
    memset(st, 0, sizeof *st);
    w->rhs_evals = w->jac_evals = 0;
    w->window_t = w->window_step = 0;
    double t = 0, h = w->o.h0;
    int rc = SW_OK;
    const sw_event *ev = &w->o.until;

    if (!finite_state(x, n)) {
        rc = sw_fail(e, SW_ENUMERIC, "non-finite initial state at t = 0");
        goto done;
    }
    if (w->bdf) {
        if ((rc = sw_bdf_reset(w->bdf, 0, x, w->o.h0, e)))
            goto done;
    } else if (w->d) {
        gsl_odeiv2_driver_reset(w->d); /* DOP853 keeps nothing between steps */
    }
    if (ev->active && sw_event_gap(w->m, ev, x, w->obs) <= 0) {
        st->event_hit = 1;
        st->event_t = 0;
        emit(out, user, 0, x, &rc, e);
        goto done;
    }
    if (emit(out, user, 0, x, &rc, e))
        goto done;
    for (size_t i = 1; i < np;) {
        /* The explicit steppers stop at every grid time; the BDF steps
         * through them and interpolates. */
        double bound = w->bdf ? w->o.t_end : w->grid[i];
        if (ev->active) /* event location restarts from the step's start */
            memcpy(w->x0, x, n * sizeof(double));
        double t0 = t;
        if ((rc = advance(w, &t, bound, &h, x, e)))
            goto done;
        st->steps++;
        if ((rc = over_budget(w, st, t, h, e)))
            goto done;
        if (!finite_state(x, n)) {
            rc = sw_fail(e, SW_ENUMERIC, "non-finite state at t = %.17g", t);
            goto done;
        }
        int fired = ev->active && sw_event_gap(w->m, ev, x, w->obs) <= 0;
        if (fired) {
            rc = locate_event(w, t0, t, x, &st->event_t);
            if (rc) {
                rc = sw_fail(e, rc, "event location failed near t = %.17g", t0);
                goto done;
            }
        }
        /* Grid times this step reached (only those before the event). */
        for (; i < np && (fired ? w->grid[i] < st->event_t : w->grid[i] <= t); i++) {
            const double *xi = x;
            /* The explicit steppers stop exactly on each grid time; only
             * the BDF steps past them and interpolates back. */
            if (w->bdf && w->grid[i] != t) {
                sw_bdf_eval(w->bdf, w->grid[i], w->xe);
                xi = w->xe;
            }
            if (emit(out, user, w->grid[i], xi, &rc, e)) {
                memmove(x, xi, n * sizeof *x);
                t = w->grid[i];
                goto done;
            }
        }
        if (fired) {
            t = st->event_t;
            st->event_hit = 1;
            emit(out, user, t, x, &rc, e);
            goto done;
        }
    }
done:
    st->t_final = t;
    st->rhs_evals = w->rhs_evals;
    st->jac_evals = w->jac_evals;
    if (w->bdf) {
        sw_bdf_stats bs;
        sw_bdf_stats_get(w->bdf, &bs);
        st->rhs_evals = bs.rhs_evals;
        st->jac_evals = bs.jac_evals;
        st->setups = bs.setups;
        st->newton_iters = bs.newton_iters;
        st->err_fails = bs.err_fails;
        st->conv_fails = bs.conv_fails;
    }
    return rc;
}

int sw_traj_record(double t, const double *x, void *user)
{
    sw_traj *tr = user;
    if (tr->n == tr->cap) {
        size_t cap = tr->cap ? 2 * tr->cap : 256;
        double *nt = realloc(tr->t, cap * sizeof *nt);
        if (!nt)
            return -1;
        tr->t = nt;
        double *nx = realloc(tr->x, cap * tr->dim * sizeof *nx);
        if (!nx)
            return -1;
        tr->x = nx;
        tr->cap = cap;
    }
    tr->t[tr->n] = t;
    memcpy(tr->x + tr->n * tr->dim, x, tr->dim * sizeof *x);
    tr->n++;
    return 0;
}

void sw_traj_clear(sw_traj *tr)
{
    free(tr->t);
    free(tr->x);
    tr->t = tr->x = NULL;
    tr->n = tr->cap = 0;
}
