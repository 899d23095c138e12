#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crosscheck.h"

struct cc {
    sw_model *ode;
    sw_learner *l;
    const sw_traj *tr;
    size_t every;
    int *map;  /* ODE column -> trainer observable index (-1: loss) */
    double *ode_row, *train_row, *ode_obs, *train_obs;
    sw_crosscheck_row row;
    void *user;
    sw_crosscheck_result *res;
    double lr;
};

static int compare(size_t step, const double *theta, double loss, double train_loss, void *p)
{
    (void)train_loss;
    struct cc *c = p;
    sw_crosscheck_result *r = c->res;
    size_t i = step / c->every;
    const double *x = c->tr->x + i * c->tr->dim;
    c->ode_row[0] = c->ode->sys->loss(c->ode, x);
    c->ode->sys->observe(c->ode, x, c->ode_obs);
    memcpy(c->ode_row + 1, c->ode_obs, c->ode->n_obs * sizeof(double));
    c->l->m->sys->observe(c->l->m, theta, c->train_obs);
    for (size_t k = 0; k < r->cols; k++)
        c->train_row[k] = c->map[k] < 0 ? loss : c->train_obs[c->map[k]];
    for (size_t k = 0; k < r->cols; k++) {
        double dev = fabs(c->train_row[k] - c->ode_row[k]);
        if (!(dev <= r->max_dev)) { /* NaN counts as the worst */
            r->max_dev = isnan(dev) ? INFINITY : dev;
            r->worst_col = (int)k;
            r->worst_step = step;
        }
        if (k == 0 && !(dev <= r->max_loss_dev))
            r->max_loss_dev = isnan(dev) ? INFINITY : dev;
    }
    r->rows++;
    return c->row ? c->row((double)step * c->lr, step, c->ode_row, c->train_row, c->user) : 0;
}

int sw_crosscheck_run(sw_model *ode, sw_learner *l, const sw_train_opts *o,
                      const sw_ode_opts *oo, sw_crosscheck_row row, void *user,
                      sw_crosscheck_result *res, sw_err *e)
{
    memset(res, 0, sizeof *res);
    size_t every = sw_train_eval_every(o);
    if (o->log_grid)
        return sw_fail(e, SW_EINPUT, "grid: crosscheck compares on the linear grid (allowed: "
                       "linear)");
    if (o->steps % every)
        return sw_fail(e, SW_EINPUT, "eval-every: %zu does not divide steps = %zu (the ODE "
                       "output grid must hit every evaluation)", every, o->steps);
    /* Bad training options are the user's (exit 2), found before any work;
     * after this a failed sw_trainer_alloc can only be memory. */
    int bad = sw_train_opts_check(o, l, e);
    if (bad)
        return bad;
    const sw_model *tm = l->m;
    res->cols = 1 + ode->n_obs;
    struct cc c = {.ode = ode, .l = l, .every = every, .row = row, .user = user, .res = res,
                   .lr = o->lr};
    c.map = malloc(res->cols * sizeof *c.map);
    c.ode_row = malloc(res->cols * sizeof(double));
    c.train_row = malloc(res->cols * sizeof(double));
    c.ode_obs = malloc((ode->n_obs + 1) * sizeof(double));
    c.train_obs = malloc((tm->n_obs + 1) * sizeof(double));
    double *x = malloc(ode->dim * sizeof *x), *theta = malloc(tm->dim * sizeof *theta);
    sw_traj tr = {.dim = ode->dim};
    sw_ode *w = NULL;
    sw_trainer *trn = NULL;
    int rc = SW_OK;
    if (!c.map || !c.ode_row || !c.train_row || !c.ode_obs || !c.train_obs || !x || !theta) {
        rc = sw_fail(e, SW_EFAIL, "out of memory");
        goto out;
    }
    c.map[0] = -1;
    for (size_t k = 0; k < ode->n_obs; k++) {
        c.map[k + 1] = sw_model_obs_index(tm, ode->obs_names[k]);
        if (c.map[k + 1] < 0) {
            rc = sw_fail(e, SW_EINPUT, "%s's column %s has no counterpart in task %s",
                         ode->sys->name, ode->obs_names[k], l->task->name);
            goto out;
        }
    }
    ode->sys->init(ode, x);
    if ((rc = sw_learner_lift(l, ode, x, theta, e)))
        goto out;
    sw_ode_opts grid = *oo;
    grid.t_end = (double)o->steps * o->lr;
    grid.points = o->steps / every + 1;
    grid.log_grid = 0;
    grid.until.active = 0;
    if (!(w = sw_ode_alloc(ode, &grid, e))) {
        rc = SW_EFAIL;
        goto out;
    }
    sw_ode_stats ost;
    if ((rc = sw_ode_run(w, x, sw_traj_record, &tr, &ost, e)))
        goto out;
    if (tr.n != grid.points) {
        rc = sw_fail(e, SW_EFAIL, "the ODE trajectory has %zu of %zu rows", tr.n, grid.points);
        goto out;
    }
    c.tr = &tr;
    sw_train_opts to = *o;
    to.eval_every = every;
    to.patience = 0;
    if (!(trn = sw_trainer_alloc(l, &to, e))) {
        rc = SW_EFAIL;
        goto out;
    }
    sw_train_stats st;
    rc = sw_train_run(trn, theta, compare, &c, &st, e);
out:
    sw_trainer_free(trn);
    sw_ode_free(w);
    sw_traj_clear(&tr);
    free(c.map);
    free(c.ode_row);
    free(c.train_row);
    free(c.ode_obs);
    free(c.train_obs);
    free(x);
    free(theta);
    return rc;
}
