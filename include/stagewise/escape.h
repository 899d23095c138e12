/* Escape from a slow point: the time the flow started at base + eps * dir
 * needs to meet a stopping condition, over a range of eps, and the laws
 * T(eps) that could describe it.
 *
 * A hyperbolic saddle with unstable eigenvalue lambda+ is left in
 * T = a + (1/lambda+) ln(1/eps); the attention saddles, at infinite logits,
 * are not hyperbolic and their escape times grow faster.  Three laws are
 * fitted and ranked by AIC (fit.h):
 *   log    a + b ln(1/eps)          linear least squares
 *   log2   a + b ln(1/eps)^2        linear least squares
 *   power  a + b eps^(-c)           nonlinear, started from the best c of a
 *                                   grid on which the law is linear */
#ifndef STAGEWISE_ESCAPE_H
#define STAGEWISE_ESCAPE_H

#include <stddef.h>

#include "stagewise/error.h"
#include "stagewise/fit.h"
#include "stagewise/ode.h"
#include "stagewise/system.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "A:B:N": N values from A to B, evenly spaced in log (A, B > 0, N >= 2;
 * either order).  *eps is allocated. */
int sw_escape_parse_eps(const char *text, double **eps, size_t *n, sw_err *e);

/* The symmetric base: x with every head replaced by head 1, which the flow
 * keeps symmetric (the start y-coupled takes).  SW_EINPUT if m has no
 * heads. */
int sw_escape_symmetric_base(const sw_model *m, double *x, sw_err *e);

/* A unit direction of iid normal entries from gsl_rng_mt19937(seed); with
 * break_symmetry, only its part where the heads differ (a symmetric part
 * would only move along the coupled flow). */
int sw_escape_random_direction(const sw_model *m, unsigned long seed, int break_symmetry,
                               double *v, sw_err *e);

/* Called after each eps with the number done, for progress reports. */
typedef void (*sw_escape_tick)(size_t done, size_t total, void *user);

/* times[i] for eps[i]: the event time of o->until (which must be active)
 * from base + eps[i] * dir, NaN where the run reaches o->t_end first.  The
 * integration writes no output, so o's grid is ignored. */
int sw_escape_times(sw_model *m, const sw_ode_opts *o, const double *base, const double *dir,
                    const double *eps, size_t n, double *times, sw_escape_tick tick,
                    void *user, sw_err *e);

enum { SW_ESCAPE_LOG, SW_ESCAPE_LOG2, SW_ESCAPE_POWER, SW_ESCAPE_NLAWS };

typedef struct sw_escape_law {
    const char *key;     /* "log", "log2", "power" */
    const char *formula; /* e.g. "a + b ln(1/eps)" */
    const char *params;  /* parameter names, e.g. "abc" */
    int ok;              /* fitted; else why says what failed */
    char why[600];     /* room for an sw_err message and a note */
    sw_fit_result fit;   /* p = (a, b[, c]) with intervals, R^2, AIC */
} sw_escape_law;

/* Fits every law to the finite times (at least four are needed).  *best is
 * the fitted law of least AIC, or -1 if none could be fitted.  Free with
 * sw_escape_laws_clear. */
int sw_escape_fit(const double *eps, const double *times, size_t n,
                  sw_escape_law laws[SW_ESCAPE_NLAWS], int *best, sw_err *e);
void sw_escape_laws_clear(sw_escape_law laws[SW_ESCAPE_NLAWS]);
/* A law's value at eps for parameters p. */
double sw_escape_law_eval(int law, const double *p, double eps);

#ifdef __cplusplus
}
#endif

#endif
