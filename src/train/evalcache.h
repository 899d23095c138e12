/* The held-out evaluation of a trained model, cached: a trainer asks for
 * the loss and then the observables at the same parameters, and one pass
 * over the held-out set gives both.  The systems of the trainer's tasks
 * (markov, tf-*) supply the pass; this keeps the parameters it was last
 * run at, its loss and its observables. */
#ifndef STAGEWISE_EVALCACHE_H
#define STAGEWISE_EVALCACHE_H

#include "stagewise/system.h"

/* One pass at theta: the loss into *loss and the observables into obs
 * (m->n_obs entries, zero on entry). */
typedef void (*sw_eval_pass)(const sw_model *m, const double *theta, double *loss, double *obs);

typedef struct sw_eval_cache {
    sw_eval_pass pass;
    double *theta, *obs, loss;
    int valid;
} sw_eval_cache;

/* SW_OK, or SW_EFAIL out of memory (then sw_eval_cache_free is still safe). */
int sw_eval_cache_alloc(sw_eval_cache *c, const sw_model *m, sw_eval_pass pass);
void sw_eval_cache_free(sw_eval_cache *c);
/* Forgets the last pass (what it depends on besides theta changed). */
void sw_eval_cache_reset(sw_eval_cache *c);

/* The loss and the observables at theta, from one pass unless the last
 * was at theta. */
double sw_eval_loss(sw_eval_cache *c, const sw_model *m, const double *theta);
void sw_eval_observe(sw_eval_cache *c, const sw_model *m, const double *theta, double *obs);

#endif
