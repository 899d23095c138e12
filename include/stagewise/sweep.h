/* Parameter sweeps: one measurement (a time, a final value) of every point
 * of a Cartesian product of parameter lists.
 *
 * A point is fully determined by its index: the axes are enumerated in a
 * fixed order (the first axis varies slowest, like nested loops in the
 * order the axes were given) and a system's `seed` is replaced by a hash of
 * its value and the point index (unless asked to keep it).  Points
 * therefore do not depend on which thread computes them or in which order,
 * which is what lets the command line run them in parallel, append each as
 * it finishes and resume an interrupted sweep. */
#ifndef STAGEWISE_SWEEP_H
#define STAGEWISE_SWEEP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stagewise/error.h"
#include "stagewise/ode.h"
#include "stagewise/param.h"
#include "stagewise/stages.h"
#include "stagewise/system.h"
#include "stagewise/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parses a list for parameter def: `a,b,c`, `lo:hi:n` (n values evenly
 * spaced, both ends included) or `lo:hi:n:log` (evenly spaced in log,
 * lo, hi > 0), rounded to 15 significant digits so that 0:1:11 holds 0.3
 * as typed.  For an integer parameter a range is rounded to integers and
 * repeats are dropped, so `T=16:1024:7:log` gives 16, 32, .., 1024.  A
 * list-valued parameter takes ranges only (`a,b,c` is one value of it);
 * its points are one-element lists.  Range checks against def are left to
 * the model (they may depend on other parameters).  out->v is allocated. */
int sw_sweep_list_parse(const sw_param_def *def, const char *text, sw_value *out, sw_err *e);

/* The seed of point `point` in a sweep whose base seed is `base`:
 * splitmix64 of the two, so neighbouring points get unrelated streams. */
uint64_t sw_sweep_seed(uint64_t base, uint64_t point);

typedef enum sw_measure_kind {
    SW_MEASURE_EVENT,   /* time at which OBS<=X (or >=) first holds */
    SW_MEASURE_PLATEAU, /* time at which loss <= frac * initial loss */
    SW_MEASURE_STAGE,   /* time of the k-th transition (sw_stages_detect) */
    SW_MEASURE_LEVEL,   /* time at which loss <= (L_{k-1} + L_k)/2, the model's levels */
    SW_MEASURE_FINAL,   /* loss or an observable at t-end */
    SW_MEASURE_ESCAPE   /* time to OBS<=X from the symmetric start kicked by eps */
} sw_measure_kind;

typedef struct sw_measure {
    sw_measure_kind kind;
    double frac;     /* plateau; eps of escape */
    size_t k;        /* stage and level, from 1 */
    char arg[96];    /* event or escape condition, or final observable */
    char text[128];  /* as given */
    char column[64]; /* its CSV column */
} sw_measure;

/* `event:OBS<=X`, `plateau[:FRAC]` (0 < FRAC < 1, default 0.5), `stage:K`,
 * `level:K` (K >= 1), `final:OBS` or `escape:EPS:OBS<=X`.  Names of
 * observables, the levels and the heads are checked later, against each
 * point's model.
 *
 * stage:K finds plateaus in the loss curve itself and misses one that is
 * too short to look flat; level:K needs the system's theoretical levels
 * but crosses the halfway line between L_{K-1} and L_K however brief the
 * plateau (the same halfway line the stage detector uses).
 *
 * escape:EPS:COND is one point of `stagewise escape --base symmetric
 * --direction random` (escape.h): from the start with every head a copy of
 * head 1, plus EPS times a unit gaussian direction (mt19937 seeded with the
 * point's seed) stripped of its symmetric part, the time until COND.
 *
 * In a training sweep (sw_sweep_opts.task) event, plateau and level give
 * the first evaluation step at which their condition holds on the loss the
 * trainer evaluates (population or held-out) or an observable, and final
 * the last evaluation's value; stage and escape are ODE-only. */
int sw_measure_parse(const char *text, sw_measure *ms, sw_err *e);

/* Outcome of one point. */
enum {
    SW_POINT_OK = 0,
    SW_POINT_UNREACHED = 1, /* event not reached by t-end, or fewer stages */
    SW_POINT_NUMERIC = 2    /* the integration failed */
};
#define SW_POINT_STATUS_DOC                                                                    \
    "0 ok, 1 not reached (event not reached by t-end or the last step, or fewer "              \
    "transitions), 2 numerical failure"

typedef struct sw_sweep_axis {
    int param; /* index into sys->params */
    sw_value values;
} sw_sweep_axis;

typedef struct sw_sweep_opts {
    sw_ode_opts ode;       /* event runs use t_end; stage and final runs the grid too */
    sw_stages_opts stages; /* for stage:K */
    int predict;           /* sys->predict: lambda_plus and t_scale = 1/lambda_plus */
    int same_seed;         /* every point keeps the seed as given: common random
                              numbers, e.g. the same initial logits across a gamma
                              sweep, at the price of independent replicates */
    const sw_task *task;   /* NULL: each point integrates its model's flow; else
                              each point trains task's model (task->sys) */
    sw_train_opts train;   /* with task */
    double noise;          /* with task: the learner's label noise */
} sw_sweep_opts;

void sw_sweep_opts_default(sw_sweep_opts *o);

typedef struct sw_sweep {
    const sw_system *sys;
    sw_value *base; /* every parameter's value, as the base model had it */
    int seed_param; /* index of `seed`, or -1 */
    size_t n_axes;
    sw_sweep_axis *axes;
    size_t n_points;
    size_t n_measures;
    sw_measure *measures;
    size_t n_values;  /* columns per point: the measures, then with predict
                         lambda_plus and t_scale = 1/lambda_plus */
    sw_sweep_opts o;
} sw_sweep;

/* Builds a sweep over `axes` (taken over: their values are freed with the
 * sweep, also on failure) around `base`, a model built with every fixed
 * parameter; the parameters not on an axis keep base's values.  Then checks
 * that every point gives a valid model and that every measure names
 * observables the model has: a bad point is SW_EINPUT naming it, before
 * anything is integrated.  o->predict needs a system with a predict hook. */
int sw_sweep_alloc(const sw_model *base, size_t n_axes, sw_sweep_axis *axes,
                   size_t n_measures, const char *const *measures, const sw_sweep_opts *o,
                   sw_sweep **out, sw_err *e);
void sw_sweep_free(sw_sweep *s);

/* Training sweeps: the measures' columns say `step_` where ODE sweeps say
 * `t_` (step_event, step_plateau, step_level_K). */

/* Column name of value j (0 <= j < n_values). */
const char *sw_sweep_value_name(const sw_sweep *s, size_t j);
/* Value of axis a at point `point`. */
double sw_sweep_axis_value(const sw_sweep *s, size_t a, size_t point);
/* The model of a point: base values, the point's axis values, its seed. */
int sw_sweep_model(const sw_sweep *s, size_t point, sw_model **m, sw_err *e);

typedef struct sw_sweep_result {
    size_t point;
    double *values; /* n_values; NaN where a measure has no value */
    int status;     /* SW_POINT_*, the worst over the measures */
    char reason[256];
} sw_sweep_result;

/* Evaluates every measure on the model of r->point from its initial state
 * (a training sweep trains it once, from the task's initial parameters).
 * A measure that fails is NaN with its status and reason; the return value
 * is nonzero only when nothing could be tried (out of memory). */
int sw_sweep_eval(const sw_sweep *s, sw_sweep_result *r, sw_err *e);

/* Called once per finished point, one call at a time, in completion order.
 * Returning nonzero stops the sweep (points under way still finish). */
typedef int (*sw_sweep_done)(const sw_sweep_result *r, void *user, sw_err *e);

/* Evaluates the n points listed in `todo` on `threads` threads (OpenMP;
 * each point gets its own model and integrator workspace; one thread when
 * the process runs on a BLAS that cannot take calls from several threads
 * at once, the serial OpenBLAS: the numbers are the same either way).  Stops early,
 * with SW_OK, once *stop becomes nonzero (stop may be NULL).  The return
 * value is the first error of eval or done. */
int sw_sweep_run(const sw_sweep *s, const size_t *todo, size_t n, int threads,
                 volatile sig_atomic_t *stop, sw_sweep_done done, void *user, sw_err *e);

/* Where the points of a run come from: sets *point and returns 1, or
 * returns 0 when there are no more.  Called from every thread at once
 * (src must take care of that). */
typedef int (*sw_sweep_next)(void *src, size_t *point);
/* sw_sweep_run over the points next hands out (a queue shared with other
 * processes, say), each thread asking for its next when it is free. */
int sw_sweep_run_from(const sw_sweep *s, sw_sweep_next next, void *src, int threads,
                      volatile sig_atomic_t *stop, sw_sweep_done done, void *user, sw_err *e);

/* The provenance lines and header row of the sweep's CSV: version, system,
 * every parameter (fixed value or list), seeding, measures, solver and grid
 * (a training sweep: task and trainer settings), status codes; then `point,<axes>[,point_seed],<values>,status`.  Two
 * sweeps write the same text exactly when they compute the same points. */
void sw_sweep_write_head(const sw_sweep *s, FILE *fp);
/* One point's row; a point with a nonzero status is followed by a line
 * `# failure_POINT = reason`, which the table reader keeps as provenance. */
void sw_sweep_write_row(const sw_sweep *s, const sw_sweep_result *r, FILE *fp);

/* Replicates summarised (sweep_summary.c): for every setting of the axes
 * other than seed, the median and quartiles of each value over the seed
 * axis and how many replicates have one; a replicate without a value
 * (not reached, failed) counts as later than every other.  values holds
 * every point's values in point order (n_points x n_values).  The file
 * starts with the sweep's provenance.  SW_EINPUT without a seed axis. */
int sw_sweep_summary_check(const sw_sweep *s, sw_err *e);
int sw_sweep_write_summary(const sw_sweep *s, const double *values, FILE *fp, sw_err *e);

#ifdef __cplusplus
}
#endif

#endif
