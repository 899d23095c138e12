/* stagewise's own implicit integrator, `bdf`: variable order (1 to 5) and
 * variable step, in the quasi-constant step form of Shampine and Reichelt
 * (the MATLAB ode15s family): the method carries the backward differences
 * of its interpolating polynomial on an equally spaced grid and rescales
 * them when the step changes.  Orders 1 to 4 use the numerical
 * differentiation formulas (NDF), which take about a quarter larger steps
 * than the BDF at equal accuracy and stability nearly as good; order 5 is
 * the BDF.
 *
 * Why not GSL's msbdf: its Newton matrix I - c J is a dense LU, refactored
 * whenever the step changes by 20%, and its linear algebra cannot be
 * replaced.  Here the Newton solves go through sw_newton (the system's
 * structured solver when it has one) and the matrix is refactored only
 * when c has moved outside [c_fact / 2, 3 c_fact] (a stale one is
 * corrected for by a second solve, sw_newton_solve_at; CVODE refactors at
 * a 30% move and corrects by scaling), after 20 steps, or when Newton
 * fails; a dense Jacobian is kept up to 50 steps.  Step and order
 * selection, error and convergence tests follow CVODE's heuristics.  Norms
 * are weighted RMS with weights 1 / (atol + rtol |y|) at the start of the
 * step.
 *
 * It steps freely and interpolates: sw_bdf_step makes one accepted step,
 * ending exactly at a bound it would otherwise pass, and sw_bdf_eval gives
 * the solution anywhere inside the last step from the polynomial the method
 * carries (its error is of the order of the local error). */
#ifndef STAGEWISE_BDF_H
#define STAGEWISE_BDF_H

#include "stagewise/error.h"
#include "stagewise/system.h"

typedef struct sw_bdf sw_bdf;

typedef struct sw_bdf_stats {
    unsigned long steps;        /* accepted */
    unsigned long rhs_evals;    /* vector fields, not counting differences for J */
    unsigned long jac_evals;    /* Jacobians (dense or structured) */
    unsigned long setups;       /* factorisations of I - c J */
    unsigned long dense_setups; /* of which dense */
    unsigned long newton_iters;
    unsigned long err_fails;  /* steps rejected by the error test */
    unsigned long conv_fails; /* steps rejected because Newton failed */
} sw_bdf_stats;

/* NULL: out of memory.  The model is used, not owned. */
sw_bdf *sw_bdf_alloc(const sw_model *m, double rtol, double atol);
void sw_bdf_free(sw_bdf *b);

/* Starts afresh from (t, x) with first trial step h0, at order 1; clears
 * the statistics.  SW_ENUMERIC if the vector field fails at x. */
int sw_bdf_reset(sw_bdf *b, double t, const double *x, double h0, sw_err *e);

/* One accepted step, not past bound (> the current time).  SW_ENUMERIC
 * with the time in the message on step-size underflow or when Newton keeps
 * failing. */
int sw_bdf_step(sw_bdf *b, double bound, sw_err *e);

double sw_bdf_time(const sw_bdf *b);
/* The step size it will try next. */
double sw_bdf_step_size(const sw_bdf *b);
const double *sw_bdf_state(const sw_bdf *b);

/* The solution at tau inside the last step, into x. */
void sw_bdf_eval(const sw_bdf *b, double tau, double *x);

void sw_bdf_stats_get(const sw_bdf *b, sw_bdf_stats *st);

#endif
