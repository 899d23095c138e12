/* Linear solves with the Newton matrix N = I - c J of an implicit stepper:
 * through the system's structured solver when it has one (system.h), by a
 * dense LU of the Jacobian otherwise, or at the points where the structured
 * solver declines.  Everything is allocated by sw_newton_alloc; setup and
 * solve never allocate. */
#ifndef STAGEWISE_NEWTON_H
#define STAGEWISE_NEWTON_H

#include "stagewise/system.h"

typedef struct sw_newton sw_newton;

/* NULL: out of memory. */
sw_newton *sw_newton_alloc(const sw_model *m);
void sw_newton_free(sw_newton *nw);

/* Factors N for this c.  With fresh set, J is evaluated at x; otherwise the
 * last dense J is reused, which is what makes a dense Jacobian (analytic,
 * or 2 dim vector fields by differences) affordable.  The structured route
 * evaluates at x every time, at about the cost of one vector field.
 * Nonzero: J could not be evaluated or N is singular. */
int sw_newton_setup(sw_newton *nw, const double *x, double c, int fresh);

/* b <- N^{-1} b, for the last successful setup. */
void sw_newton_solve(sw_newton *nw, double *b);

/* b <- (I - c J)^{-1} b, approximately, for c = r c_f, where c_f is the
 * last setup's c (the caller, who chose when to set up, knows it), from
 * two solves with N = I - c_f J:
 * I - c J = (1 - r) I + r N, so the solution z solves r z + (1 - r) N^{-1} z
 * = N^{-1} b, whose operator has the eigenvalues r + (1 - r) / mu for
 * N's mu, between r and 1 where J's spectrum is real and not positive.
 * Two steps of the Chebyshev iteration for that interval leave at most
 * 2 p^2 / (1 + p^4) of the error of every such eigencomponent, p =
 * (sqrt(k) - 1) / (sqrt(k) + 1), k = max(r, 1 / r): 0.06 at r = 2 or 1/2,
 * 0.14 at r = 3, where one solve scaled by 2 / (1 + r) leaves (r - 1) / (r + 1),
 * 0.33 and 0.5.  At r = 1, one plain solve. */
void sw_newton_solve_at(sw_newton *nw, double r, double *b);

/* Whether every setup evaluates J afresh (the structured route), so the
 * caller need not track the age of the Jacobian. */
int sw_newton_jac_is_cheap(const sw_newton *nw);

/* Jacobian evaluations (dense or structured) and dense factorisations
 * since the workspace was allocated or the counters last cleared. */
typedef struct sw_newton_stats {
    unsigned long jac_evals;
    unsigned long setups;
    unsigned long dense_setups;
} sw_newton_stats;

const sw_newton_stats *sw_newton_stats_get(const sw_newton *nw);
void sw_newton_stats_clear(sw_newton *nw);

#endif
