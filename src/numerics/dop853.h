/* stagewise's own explicit Runge-Kutta integrator, `dop853`: the 12-stage
 * pair of order 8 of Dormand and Prince with the error estimate of Hairer,
 * Norsett and Wanner (Solving Ordinary Differential Equations I, 2nd ed.,
 * Sec. II.10).  The local error is estimated twice, by an embedded 5th-order
 * and a 3rd-order solution; their weighted RMS norms err5 and err3 are
 * blended into |h| err5^2 / sqrt(err5^2 + 0.01 err3^2), which behaves like
 * an 8th-order error when the step is small and like the cautious 5th-order
 * one when it is not.  Weights are 1 / (atol + rtol max(|y|, |y_new|)).
 *
 * Why beside GSL's rk8pd: GSL's pair controls the 8th-minus-7th-order
 * difference in a max norm and evaluates 13 stages a step; this one takes
 * fewer steps at the same tolerances on the z systems, evaluates 12 stages
 * a step (11 after a rejection, which keeps the first), and combines its
 * stages block by block so each stage vector is read once per combination
 * while the block being built stays in cache.
 *
 * The problem stays apart: it sees the system only through a
 * gsl_odeiv2_system, and its calls mirror gsl_odeiv2_evolve_apply. */
#ifndef STAGEWISE_DOP853_H
#define STAGEWISE_DOP853_H

#include <gsl/gsl_odeiv2.h>

typedef struct sw_dop853 sw_dop853;

/* NULL: out of memory.  The system is used, not owned. */
sw_dop853 *sw_dop853_alloc(const gsl_odeiv2_system *sys, double rtol, double atol);
void sw_dop853_free(sw_dop853 *s);

/* One accepted step from (*t, y) towards bound (> *t), never past it,
 * ending exactly on it when it gets there.  *h is the first step to try
 * and, on return, the one proposed for the next step.  Returns
 * GSL_SUCCESS, GSL_EBADFUNC when the vector field fails, or GSL_FAILURE
 * when the step shrinks below what t can resolve (y unchanged then). */
int sw_dop853_apply(sw_dop853 *s, double *t, double bound, double *h, double *y);

#endif
