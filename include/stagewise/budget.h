/* Budgets that keep a request from hanging or exhausting the machine: the
 * memory a run needs and the work it does are estimated before anything is
 * allocated and refused (SW_EINPUT, naming the limit and the estimate) when
 * over the limit; runs also count their work as they go (ode.h, train.h).
 *
 * Work is counted in coordinate evaluations: one evaluation of the vector
 * field on a state of dim coordinates is dim of them, about the cost of
 * dim multiply-adds for the systems here. */
#ifndef STAGEWISE_BUDGET_H
#define STAGEWISE_BUDGET_H

#include "stagewise/error.h"

/* Defaults: half the machine's memory; 1e9 coordinate evaluations (5 to 20
 * seconds of one core for the systems here, docs/reliability.md); a million
 * solver steps. */
double sw_budget_memory_default(void);
#define SW_BUDGET_WORK_DEFAULT 1e9
/* Training counts steps x samples x parameters, a coarser measure (a
 * sample's gradient costs less than a pass over every parameter): 1e11 is
 * five times the largest training run of `reproduce` (the transformer's,
 * 1.9e10; docs/reliability.md). */
#define SW_BUDGET_TRAIN_WORK_DEFAULT 1e11
#define SW_BUDGET_STEPS_DEFAULT 1000000ul

/* SW_EINPUT "WHAT needs about X of memory, over the limit of Y (--max-memory
 * raises it)" when bytes > limit. */
int sw_budget_memory(double bytes, double limit, const char *what, sw_err *e);
/* The same for work (--max-work). */
int sw_budget_work(double work, double limit, const char *what, sw_err *e);

/* A size in bytes: a number with an optional K, M, G or T suffix (powers of
 * 1024), > 0. */
int sw_parse_bytes(const char *text, const char *what, double *out, sw_err *e);

#endif
