/* The problem side of stagewise: what an ODE family must provide, kept
 * apart from every integrator and analysis (in the spirit of CVODE's split
 * between the user's problem and the solver).
 *
 * An sw_system is a static description plus function pointers; an sw_model
 * is one instance of it with parameter values, names and the system's
 * private workspace.  All the papers' flows are autonomous, so the vector
 * field takes no t.  rhs and jac run in the integrator's inner loop: they
 * must not allocate; setup allocates whatever they need into ctx. */
#ifndef STAGEWISE_SYSTEM_H
#define STAGEWISE_SYSTEM_H

#include <stddef.h>

#include "stagewise/error.h"
#include "stagewise/param.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_model sw_model;

typedef struct sw_system {
    const char *name;
    const char *summary; /* one line, for `list` */
    const char *doc;     /* state layout and observables, for `describe` */
    const sw_param_def *params;
    size_t n_params;
    const char *jac_doc; /* how the Jacobian is obtained, for `describe` */

    /* Reads m->pv, checks cross-parameter constraints, sets dim, n_obs,
     * names and levels through the sw_model_* helpers, allocates ctx. */
    int (*setup)(sw_model *m, sw_err *e);
    void (*teardown)(sw_model *m);
    /* Default initial state (uses the seed parameter where there is one). */
    void (*init)(const sw_model *m, double *x);
    /* Returns 0, or nonzero if the state cannot be evaluated. */
    int (*rhs)(const sw_model *m, const double *x, double *f);
    /* Row-major dim x dim, J[i*dim+j] = d f_i / d x_j.  NULL: the library
     * uses central finite differences. */
    int (*jac)(const sw_model *m, const double *x, double *J);
    double (*loss)(const sw_model *m, const double *x);
    /* obs[0 .. n_obs-1], in the order of obs_names (loss not included). */
    void (*observe)(const sw_model *m, const double *x, double *obs);

    /* Optional: structured solves with the Newton matrix N = I - c J(x) of
     * the implicit steppers that use them (bdf).  A dense LU of N costs
     * O(dim^3) and each solve O(dim^2); a Jacobian made of small diagonal
     * blocks plus low rank can do both in O(dim).  newton_alloc returns a
     * workspace (NULL: out of memory) that newton_free releases.
     * newton_setup evaluates at x what N needs (ctx's scratch may be used,
     * but whatever the solves read must live in ws: rhs runs between
     * solves) and factors it; newton_solve overwrites b with N^{-1} b for
     * the last setup.  Both run in the integrator's inner loop: no
     * allocation.  A nonzero return from setup declines: N is too close to
     * singular for the structured route at this x and c, and the stepper
     * factors the dense I - c J instead.  Leave all four NULL for the dense
     * route always. */
    void *(*newton_alloc)(const sw_model *m);
    void (*newton_free)(void *ws);
    int (*newton_setup)(const sw_model *m, void *ws, const double *x, double c);
    void (*newton_solve)(const sw_model *m, void *ws, double *b);

    /* Capabilities.  Analyses ask these instead of testing names, so a new
     * system gets each feature by declaring it; NULL means "not offered"
     * and the feature says so naming the system. */

    /* Optional: the growth rate lambda+ > 0 of the linearised flow at the
     * initial state (its largest eigenvalue), whose inverse predicts how
     * long the start plateau lasts up to a factor; `sweep --predict` writes
     * lambda_plus and t_scale = 1/lambda_plus.  SW_ENUMERIC (with a
     * message) when it cannot be computed for these parameters. */
    int (*predict)(const sw_model *m, double *lambda_plus, sw_err *e);
    /* Optional: the head layout.  Returns H when the state is H consecutive
     * blocks of equal length, one per attention head, entry r of every
     * block playing the same role, and the flow is equivariant under
     * permuting the blocks; 0 when these parameters give no such symmetry.
     * The symmetric start and symmetry-breaking directions of `escape
     * --base symmetric`, `sweep --measure escape:` and `jacobian
     * --transverse` rest on it (eigen.h, sw_heads_find). */
    size_t (*heads)(const sw_model *m);
    /* Optional: the trainer task (train.h, by name) whose model this flow
     * is the gradient flow of, and which can start from this system's
     * states: `crosscheck` trains it against the ODE.  NULL: none. */
    const char *task;
    /* Optional: what setup will cost, from m->pv alone (nothing else of m
     * is set yet): the bytes it allocates and its work in coordinate
     * evaluations (budget.h).  The model constructors check both against
     * their budgets before setup runs, so a size that cannot fit is refused
     * at once rather than after the work.  NULL: setup costs about one
     * state, which the integrators' own budgets cover.  (Last, so that the
     * fields before it keep their offsets for bindings such as Python's.) */
    void (*setup_cost)(const sw_model *m, double *bytes, double *work);
} sw_system;

/* The budgets a model's setup is held to: bytes and coordinate
 * evaluations (budget.h); the _within constructors take them from the
 * caller's --max-memory and --max-work. */
typedef struct sw_model_budget {
    double max_memory, max_work;
} sw_model_budget;

/* A model belongs to one thread at a time: rhs, jac, loss and observe may
 * write scratch in ctx.  The sw_system it points to is static and may be
 * shared (stagewise.h has the whole picture). */
struct sw_model {
    const sw_system *sys;
    sw_value *pv; /* parameter values, in sys->params order */
    size_t dim;
    size_t n_obs;
    char **state_names; /* dim entries, e.g. "a_h2_t5" */
    char **obs_names;   /* n_obs entries */
    size_t n_levels;
    double *levels; /* theoretical plateau levels, largest first; may be NULL */
    void *ctx;      /* the system's private workspace */
    /* The budgets it was made within, which also hold the analyses that
     * keep dense dim x dim matrices (sw_model_dense_within). */
    sw_model_budget budget;
};

/* Registry. */
size_t sw_system_count(void);
const sw_system *sw_system_at(size_t i);
const sw_system *sw_system_find(const char *name);
/* Comma-separated list of system names, for error messages. */
const char *sw_system_names(void);

/* Builds a model from KEY=VALUE pairs (parameters not given take their
 * defaults).  A later key overrides an earlier one, so callers pass preset
 * values first and command-line values after them.  The setup's cost
 * (setup_cost) is held to the default budgets (budget.h). */
int sw_model_alloc(const sw_system *sys, size_t n, const char *const *keys,
                   const char *const *values, sw_model **out, sw_err *e);
/* Builds a model from values (pv: one per parameter, in sys->params
 * order, copied), checked as the parser would check their text. */
int sw_model_alloc_values(const sw_system *sys, const sw_value *pv, sw_model **out, sw_err *e);

void sw_model_budget_default(sw_model_budget *b);
/* Refuses (SW_EINPUT, naming WHAT, the count and the size) an analysis
 * about to hold `matrices` dense dim x dim matrices of doubles that would
 * not fit m's memory budget: checked where they are allocated, before any
 * is, because malloc grants such sizes lazily and the machine runs out only
 * when they are filled. */
int sw_model_dense_within(const sw_model *m, int matrices, const char *what, sw_err *e);
int sw_model_alloc_within(const sw_system *sys, size_t n, const char *const *keys,
                          const char *const *values, const sw_model_budget *b, sw_model **out,
                          sw_err *e);
int sw_model_alloc_values_within(const sw_system *sys, const sw_value *pv,
                                 const sw_model_budget *b, sw_model **out, sw_err *e);
void sw_model_free(sw_model *m);

/* Index of the named parameter in sys->params, or -1. */
int sw_param_index(const sw_system *sys, const char *name);
/* Scalar value of a named parameter; the name must exist (programming error
 * otherwise). */
double sw_model_get(const sw_model *m, const char *name);
const sw_value *sw_model_value(const sw_model *m, const char *name);

/* For setup: allocate the name tables and fill them in. */
int sw_model_shape(sw_model *m, size_t dim, size_t n_obs, size_t n_levels);
void sw_model_name_state(sw_model *m, size_t i, const char *fmt, ...) SW_PRINTF(3, 4);
void sw_model_name_obs(sw_model *m, size_t i, const char *fmt, ...) SW_PRINTF(3, 4);

/* Column index of an observable by name: -1 for "loss", 0.. for observables,
 * -2 if unknown. */
int sw_model_obs_index(const sw_model *m, const char *name);

#ifdef __cplusplus
}
#endif

#endif
