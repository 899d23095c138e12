/* The discrete trainer against the gradient flow it discretises.
 *
 * The trainer starts at the ODE's initial state (lifted into the
 * trainer's parameters when the ODE is a reduced form), takes its steps,
 * and at every evaluation step its loss and observables are compared with
 * the ODE's at t = step * lr.  With population gradients and plain steps
 * the difference is the Euler discretisation error, O(lr) over a fixed t;
 * with sampled minibatches it adds the gradient noise. */
#ifndef STAGEWISE_CROSSCHECK_H
#define STAGEWISE_CROSSCHECK_H

#include <stddef.h>

#include "stagewise/ode.h"
#include "stagewise/train.h"

typedef struct sw_crosscheck_result {
    size_t cols;     /* compared columns: loss, then the ODE's observables */
    double max_dev;  /* largest |trainer - ODE| over the run and the columns */
    int worst_col;   /* its column: 0 loss, 1 + i observable i of the ODE */
    size_t worst_step;
    double max_loss_dev; /* largest |trainer - ODE| of the loss alone */
    size_t rows;
} sw_crosscheck_result;

/* Called at every compared time with the two rows (cols entries each, in
 * the ODE's column order).  Nonzero stops the run (not an error). */
typedef int (*sw_crosscheck_row)(double t, size_t step, const double *ode_row,
                                 const double *train_row, void *user);

/* o must use the linear evaluation grid with eval_every dividing steps
 * (SW_EINPUT otherwise); oo supplies the stepper and tolerances (its time
 * grid is replaced by the trainer's).  Every ODE column must exist in the
 * trainer's model under the same name. */
int sw_crosscheck_run(sw_model *ode, sw_learner *l, const sw_train_opts *o,
                      const sw_ode_opts *oo, sw_crosscheck_row row, void *user,
                      sw_crosscheck_result *res, sw_err *e);

#endif
