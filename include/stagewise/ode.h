/* The integrator side: GSL odeiv2 steppers driven over a model, with output
 * on a time grid and one threshold event located inside the step that
 * crosses it.
 *
 * Usage follows GSL's workspace pattern: sw_ode_alloc once per model and
 * options, sw_ode_run as often as needed (each run starts afresh),
 * sw_ode_free. */
#ifndef STAGEWISE_ODE_H
#define STAGEWISE_ODE_H

#include <stddef.h>

#include "stagewise/error.h"
#include "stagewise/system.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A stopping condition `OBS<=X` or `OBS>=X` on loss or an observable. */
typedef struct sw_event {
    int active;
    int obs; /* -1: loss; >= 0: index into the model's observables */
    int ge;  /* 1: fires when the value is >= thr; 0: when <= thr */
    double thr;
    char text[96];
} sw_event;

int sw_event_parse(const sw_model *m, const char *text, sw_event *ev, sw_err *e);
/* Signed distance to the threshold: <= 0 once the event condition holds.
 * obs is scratch of n_obs doubles. */
double sw_event_gap(const sw_model *m, const sw_event *ev, const double *x, double *obs);
/* The same for a loss and observables already at hand (a trainer's
 * evaluation). */
double sw_event_gap_of(const sw_event *ev, double loss, const double *obs);

typedef struct sw_ode_opts {
    const char *solver; /* GSL stepper name */
    double rtol, atol;
    double h0;      /* first trial step */
    double t_end;
    double t_first; /* first nonzero output time on a log grid (0: the smaller of
                       t_end * 1e-6 and 1e-2) */
    size_t points;  /* output rows, t = 0 included */
    int log_grid;
    sw_event until;
    /* Budgets (budget.h): a run past max_steps steps or max_work coordinate
     * evaluations ends with SW_ENUMERIC; sw_ode_alloc refuses a request whose
     * memory (bytes) or least work is over its limit. */
    unsigned long max_steps;
    double max_work, max_memory;
} sw_ode_opts;

/* The smallest rtol accepted: a few hundred ulps. */
#define SW_ODE_RTOL_FLOOR 1e-14

void sw_ode_opts_default(sw_ode_opts *o);
/* One setting by its command-line name (solver, rtol, atol, h0, t-end,
 * t-first, points, grid: log or linear; the budgets max-steps, max-work,
 * max-memory), value as text; the message names
 * the option and what is allowed.  The command line and the Python module
 * both set options through this. */
int sw_ode_opts_set(sw_ode_opts *o, const char *name, const char *value, sw_err *e);
/* Checks the options against each other; the message names the option. */
int sw_ode_opts_check(const sw_ode_opts *o, sw_err *e);
/* The budgets for a model's setup (system.h): the run's own. */
void sw_ode_model_budget(const sw_ode_opts *o, sw_model_budget *b);

/* The options checked, then the memory and the least work of a run of m
 * estimated against the budgets: SW_EINPUT naming the limit and the
 * estimate.  sw_ode_alloc calls it; a caller may call it first to refuse a
 * request before doing anything else. */
int sw_ode_budget(const sw_model *m, const sw_ode_opts *o, sw_err *e);

/* Comma-separated stepper names, and whether name is one of them. */
const char *sw_ode_solver_names(void);
int sw_ode_solver_known(const char *name);

typedef struct sw_ode_stats {
    unsigned long steps;
    unsigned long rhs_evals;
    unsigned long jac_evals;
    int event_hit;
    double event_t;
    double t_final;
    /* The BDF's own counts (0 for the other solvers): factorisations of
     * I - c J, Newton iterations, and steps rejected by the error test or
     * because Newton failed. */
    unsigned long setups, newton_iters, err_fails, conv_fails;
} sw_ode_stats;

/* Called at each grid time and, if the event fires, at the event time.
 * Returning a positive value stops the run early (not an error); a
 * negative one says the callback failed, and the run ends with SW_EFAIL. */
typedef int (*sw_ode_output)(double t, const double *x, void *user);

/* A workspace for one model, used by one thread at a time; separate
 * workspaces on separate models run in parallel (as sweep points do). */
typedef struct sw_ode sw_ode;

sw_ode *sw_ode_alloc(sw_model *m, const sw_ode_opts *o, sw_err *e);
void sw_ode_free(sw_ode *w);
/* x holds the initial state on entry and the final state on return; st
 * receives the run's statistics (may be NULL).
 * SW_ENUMERIC on step-size underflow or a non-finite state, with t. */
int sw_ode_run(sw_ode *w, double *x, sw_ode_output out, void *user, sw_ode_stats *st,
               sw_err *e);

/* A trajectory kept in memory: an sw_ode_output that appends (t, x) rows
 * (and fails, returning -1, when it cannot grow).
 * Zero-initialise with dim set, pass as user data, free with
 * sw_traj_clear. */
typedef struct sw_traj {
    size_t dim;
    size_t n, cap;
    double *t; /* n */
    double *x; /* n x dim, row-major */
} sw_traj;

int sw_traj_record(double t, const double *x, void *traj);
void sw_traj_clear(sw_traj *tr);

#ifdef __cplusplus
}
#endif

#endif
