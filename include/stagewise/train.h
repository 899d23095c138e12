/* The discrete trainer: the models of the ODE systems (and the Markov-chain
 * transformer) trained by discrete steps on sampled data, so that the
 * gradient flows can be checked against what an optimiser actually does.
 *
 * A task trains the model of one system: its state is the vector theta of
 * trainable parameters.  regression trains y-full's (V_h, a_h), toy trains
 * z-full's (W, a), markov trains the transformer of its own (unregistered)
 * system.  Building on the system means the parameters, their defaults,
 * the initial state for a seed, the loss (population in closed form, or
 * on a held-out set where there is none), the observables and their
 * names, and the population gradient (minus rhs; NULL rhs: none) are
 * the ODE's own, so trainer and ODE curves share a schema by construction.
 * The task adds what an ODE has no use for: sampling data and the
 * gradient on a minibatch.
 *
 * The loop (sw_train_run) owns everything that is not the model: the
 * training set or the stream of fresh samples, minibatches, the optimiser,
 * the evaluation schedule and early stopping. */
#ifndef STAGEWISE_TRAIN_H
#define STAGEWISE_TRAIN_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "stagewise/error.h"
#include "stagewise/system.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_learner sw_learner;

typedef struct sw_task {
    const char *name;
    const char *summary;
    const sw_system *sys; /* the system whose model is trained */
    /* Builds the sampler (teacher, features) from l->m into l->ctx. */
    int (*setup)(sw_learner *l, sw_err *e);
    void (*teardown)(sw_learner *l);
    /* Bytes of one sample (one example, or one sequence). */
    size_t (*sample_size)(const sw_learner *l);
    /* Draws n samples from the task's data distribution into dst. */
    void (*sample)(const sw_learner *l, gsl_rng *r, size_t n, void *dst);
    /* Sizes the minibatch workspace for up to n samples. */
    int (*reserve)(sw_learner *l, size_t n);
    /* Mean loss over the n samples in data; with g non-NULL, also its
     * gradient with respect to theta.  Runs in the training loop: uses the
     * workspace that reserve sized (n never exceeds it), never allocates. */
    double (*grad)(sw_learner *l, const double *theta, const void *data, size_t n, double *g);
    /* theta for the state x of a model of another system that describes the
     * same flow (a reduced form), or of task->sys itself; SW_EINPUT if the
     * task cannot lift that system's states.  NULL: only task->sys. */
    int (*lift)(const sw_learner *l, const sw_model *ode, const double *x, double *theta,
                sw_err *e);
} sw_task;

struct sw_learner {
    const sw_task *task;
    sw_model *m;  /* of task->sys; owned */
    void *ctx;    /* the task's sampler and workspace */
    double noise; /* regression, toy: std of Gaussian noise added to each target
                     entry (0 by default; the closed-form loss leaves it out) */
};

extern const sw_task sw_task_regression, sw_task_toy, sw_task_markov;

const sw_task *sw_task_find(const char *name);
/* "regression, toy, markov", for error messages. */
const char *sw_task_names(void);

/* The learner for task with the parameters of its system as KEY=VALUE
 * pairs (as sw_model_alloc takes them). */
int sw_learner_alloc(const sw_task *task, size_t n, const char *const *keys,
                     const char *const *values, sw_learner **out, sw_err *e);
/* Takes ownership of a model of task->sys built elsewhere (the CLI's
 * presets), freeing it on failure. */
int sw_learner_wrap(const sw_task *task, sw_model *m, sw_learner **out, sw_err *e);
void sw_learner_free(sw_learner *l);
/* theta from the state of a model of ode->sys (see sw_task.lift). */
int sw_learner_lift(const sw_learner *l, const sw_model *ode, const double *x, double *theta,
                    sw_err *e);

/* The independent random streams of one run, all derived from the `seed`
 * parameter, so the same seed and parameters give the same numbers and no
 * two uses share draws. */
enum { SW_STREAM_INIT, SW_STREAM_TASK, SW_STREAM_TRAIN, SW_STREAM_EVAL, SW_STREAM_BATCH };
gsl_rng *sw_train_rng(unsigned long seed, int stream);

typedef enum sw_optim { SW_OPTIM_GD, SW_OPTIM_SGD, SW_OPTIM_ADAM } sw_optim;

typedef struct sw_train_opts {
    sw_optim optim;
    double lr;
    size_t steps;
    size_t batch;   /* samples per step for sgd and adam */
    size_t n_train; /* 0: fresh samples every step */
    double beta1, beta2, eps; /* Adam */
    /* Evaluations at step 0, every eval_every steps and at the last step;
     * or, with log_grid, at `points` steps spaced evenly in log(step). */
    size_t eval_every;
    int log_grid;
    size_t points;
    size_t patience; /* early stopping: evaluations without a better loss; 0 off */
    double max_work, max_memory; /* budgets (budget.h), checked before allocating */
} sw_train_opts;

void sw_train_opts_default(sw_train_opts *o);
/* The budgets for the task model's setup (system.h): max_memory, and
 * max_work converted from training units (steps x samples x parameters)
 * to coordinate evaluations in the ratio of the two defaults, so that
 * raising --max-work tenfold raises both tenfold. */
void sw_train_model_budget(const sw_train_opts *o, sw_model_budget *b);
/* One setting by its option name (lr, steps, ..., without dashes), value
 * as text: the message names the option and what is allowed. */
int sw_train_opts_set(sw_train_opts *o, const char *name, const char *value, sw_err *e);
/* The option names sw_train_opts_set accepts, NULL-terminated, and their
 * help text (one line each, `  --name VALUE  meaning`). */
extern const char *const sw_train_opt_names[];
extern const char sw_train_opts_help[];
const char *sw_optim_name(sw_optim o);
/* Checks the settings against each other and against the task. */
int sw_train_opts_check(const sw_train_opts *o, const sw_learner *l, sw_err *e);

/* The linear grid's spacing: eval_every, or steps / 200 (at least 1). */
size_t sw_train_eval_every(const sw_train_opts *o);
/* The evaluation steps, increasing, 0 and o->steps included.  Caller frees. */
size_t *sw_train_schedule(const sw_train_opts *o, size_t *n);

/* Called at every evaluation step with the model's loss (population or
 * held-out, as the task defines it) and the train loss: the mean
 * minibatch loss over the steps since the previous evaluation, this
 * step's parameters included (for population gradients, the loss itself).
 * Nonzero stops the run early (not an error). */
typedef int (*sw_train_output)(size_t step, const double *theta, double loss,
                               double train_loss, void *user);

typedef struct sw_train_stats {
    size_t steps;     /* steps taken */
    size_t best_step; /* early stopping: the step whose parameters theta holds */
    double best_loss;
    int stopped_early;
} sw_train_stats;

typedef struct sw_trainer sw_trainer;

/* l must stay alive (its workspace is written to) while the trainer is in
 * use. */
sw_trainer *sw_trainer_alloc(sw_learner *l, const sw_train_opts *o, sw_err *e);
void sw_trainer_free(sw_trainer *tr);
/* Called after every step (progress reports: evaluations may be far apart
 * on a log grid). */
typedef void (*sw_train_tick)(size_t step, size_t steps, void *user);
void sw_trainer_set_tick(sw_trainer *tr, sw_train_tick tick, void *user);
/* theta holds the initial parameters on entry, the final ones on return
 * (with early stopping: the best ones).  SW_ENUMERIC names the step where
 * the loss or the parameters stopped being finite. */
int sw_train_run(sw_trainer *tr, double *theta, sw_train_output out, void *user,
                 sw_train_stats *st, sw_err *e);

#ifdef __cplusplus
}
#endif

#endif
