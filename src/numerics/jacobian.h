/* Jacobians of a model's vector field: the system's analytic one when it
 * has it, central finite differences otherwise or on request. */
#ifndef STAGEWISE_JACOBIAN_H
#define STAGEWISE_JACOBIAN_H

#include "stagewise/system.h"

/* Central differences, row-major J.  work holds 2 * dim doubles.  The step
 * for coordinate j is cbrt(DBL_EPSILON) * max(|x_j|, 1), which balances
 * truncation (h^2) against rounding (eps / h) error. */
int sw_jacobian_fd(const sw_model *m, const double *x, double *J, double *work);

/* The analytic Jacobian if the system has one, else sw_jacobian_fd. */
int sw_jacobian_eval(const sw_model *m, const double *x, double *J, double *work);

#endif
