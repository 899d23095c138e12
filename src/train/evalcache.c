#include <stdlib.h>
#include <string.h>

#include "evalcache.h"

int sw_eval_cache_alloc(sw_eval_cache *c, const sw_model *m, sw_eval_pass pass)
{
    memset(c, 0, sizeof *c);
    c->pass = pass;
    c->theta = malloc((m->dim ? m->dim : 1) * sizeof(double));
    c->obs = malloc((m->n_obs ? m->n_obs : 1) * sizeof(double));
    return c->theta && c->obs ? SW_OK : SW_EFAIL;
}

void sw_eval_cache_free(sw_eval_cache *c)
{
    free(c->theta);
    free(c->obs);
    memset(c, 0, sizeof *c);
}

void sw_eval_cache_reset(sw_eval_cache *c)
{
    c->valid = 0;
}

static void evaluate(sw_eval_cache *c, const sw_model *m, const double *theta)
{
    if (c->valid && memcmp(c->theta, theta, m->dim * sizeof *theta) == 0)
        return;
    memset(c->obs, 0, m->n_obs * sizeof(double));
    c->pass(m, theta, &c->loss, c->obs);
    memcpy(c->theta, theta, m->dim * sizeof *theta);
    c->valid = 1;
}

double sw_eval_loss(sw_eval_cache *c, const sw_model *m, const double *theta)
{
    evaluate(c, m, theta);
    return c->loss;
}

void sw_eval_observe(sw_eval_cache *c, const sw_model *m, const double *theta, double *obs)
{
    evaluate(c, m, theta);
    memcpy(obs, c->obs, m->n_obs * sizeof *obs);
}
