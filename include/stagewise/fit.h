/* Least-squares fits with the statistics a fitted law has to carry: the
 * estimates, their covariance and 95% confidence intervals, R^2, the
 * residuals and the AIC that ranks competing laws.
 *
 * One problem description serves both paths.  Without a model function the
 * problem is linear in a design matrix and goes to gsl_multifit_linear;
 * with one it goes to gsl_multifit_nlinear (trust region, the model's own
 * Jacobian).  Escape-time laws and the `fit` command's power laws are
 * both built on this, as is the case-resampling bootstrap. */
#ifndef STAGEWISE_FIT_H
#define STAGEWISE_FIT_H

#include <stddef.h>

#include "stagewise/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SW_FIT_LEVEL 0.95 /* confidence level of every interval */

/* One observation of a nonlinear model: its value at inputs x for
 * parameters p and, if dfdp is non-NULL, the k partial derivatives. */
typedef void (*sw_fit_model)(const double *p, const double *x, double *f, double *dfdp,
                             void *user);

typedef struct sw_fit_problem {
    size_t n, k;       /* observations, parameters */
    const double *y;   /* n */
    const double *X;   /* linear: n x k design; nonlinear: n x dx inputs (row-major) */
    size_t dx;         /* inputs per observation (nonlinear only) */
    sw_fit_model model; /* NULL: linear least squares */
    void *user;
    const double *p0;  /* nonlinear: starting point, k values */
} sw_fit_problem;

typedef struct sw_fit_result {
    size_t n, k;
    double *p;         /* k estimates */
    double *cov;       /* k x k; residual variance RSS/(n-k) times the inverse normal matrix */
    double *lo, *hi;   /* k: SW_FIT_LEVEL Student-t confidence interval */
    double *fitted;    /* n */
    double *resid;     /* n: y - fitted */
    double rss, r2;
    double aic;        /* n ln(RSS/n) + 2k, RSS floored at rounding level */
    size_t iterations; /* nonlinear only */
} sw_fit_result;

/* SW_EINPUT when n <= k (no degrees of freedom left for an interval) or the
 * design is rank deficient; SW_ENUMERIC when the nonlinear solver does not
 * converge.  r is allocated here; free it with sw_fit_result_clear (also
 * safe after a failure). */
int sw_fit_solve(const sw_fit_problem *pb, sw_fit_result *r, sw_err *e);
void sw_fit_result_clear(sw_fit_result *r);

/* Percentile SW_FIT_LEVEL intervals from `reps` case-resampled refits
 * (gsl_rng_mt19937 seeded with seed).  Resamples whose fit fails (a
 * degenerate draw) are skipped and counted in *failed; SW_ENUMERIC if more
 * than a tenth fail.  For a nonlinear problem pass p0 = the full-sample
 * estimate: every refit starts there. */
int sw_fit_bootstrap(const sw_fit_problem *pb, size_t reps, unsigned long seed, double *lo,
                     double *hi, size_t *failed, sw_err *e);

/* Power laws `C * x1^a1 * ... * xm^am`, optionally `+ t0`.  Without the
 * offset the law is linear in logarithms and fitted there (every column and
 * y must be positive); with it the fit is nonlinear in y itself, started
 * from the log-log fit.  Parameters are ordered prefactor, exponents,
 * offset. */
#define SW_LAW_MAX_FACTORS 8
#define SW_LAW_NAME 64

typedef struct sw_law {
    size_t m;                                     /* factors */
    char prefactor[SW_LAW_NAME];                  /* C */
    char column[SW_LAW_MAX_FACTORS][SW_LAW_NAME]; /* x_j: data columns */
    char exponent[SW_LAW_MAX_FACTORS][SW_LAW_NAME];
    char offset[SW_LAW_NAME]; /* empty: no offset */
} sw_law;

/* Grammar: law := factor ('*' factor)* ['+' NAME]; factor := NAME | NAME '^' NAME.
 * Exactly one bare NAME (the prefactor); every NAME^NAME is column^exponent.
 * Names: a letter or '_' then letters, digits, '_' or '.'. */
int sw_law_parse(const char *text, sw_law *law, sw_err *e);
size_t sw_law_nparams(const sw_law *law);
const char *sw_law_param(const sw_law *law, size_t j);
double sw_law_eval(const sw_law *law, const double *p, const double *x);

/* x is n x m (the law's columns, row-major), y is n.  The result is
 * reported in the law's own terms: p[0] is C (its interval the exponential
 * of the interval of ln C on the log-log path), fitted is the law's value;
 * resid, R^2 and AIC are those of the space the fit was made in (logs for
 * the log-log path, see sw_law_log_space).  SW_EINPUT for a non-positive
 * value under a logarithm, naming the column. */
int sw_law_fit(const sw_law *law, const double *x, const double *y, size_t n,
               sw_fit_result *r, sw_err *e);
int sw_law_log_space(const sw_law *law);
/* Bootstrap intervals for the law's parameters, as sw_law_fit reports
 * them; est is the full-sample fit. */
int sw_law_bootstrap(const sw_law *law, const double *x, const double *y, size_t n,
                     const sw_fit_result *est, size_t reps, unsigned long seed, double *lo,
                     double *hi, size_t *failed, sw_err *e);

#ifdef __cplusplus
}
#endif

#endif
