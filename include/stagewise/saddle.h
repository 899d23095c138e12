/* Where a flow is slow: named points of a trajectory (the start, a time,
 * the slowest point of a plateau or of the whole run) and fixed points
 * refined from them by GSL's hybridsj with the model's Jacobian.
 *
 * The saddles of the attention flows sit at infinite logits, where Newton's
 * method keeps taking steps of the same size while the residual falls
 * geometrically; the refinement recognises that pattern and names the
 * coordinates that run off instead of reporting a far-out point as a
 * fixed point. */
#ifndef STAGEWISE_SADDLE_H
#define STAGEWISE_SADDLE_H

#include <stddef.h>

#include "stagewise/error.h"
#include "stagewise/ode.h"
#include "stagewise/system.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sw_point_kind {
    SW_POINT_START,
    SW_POINT_TIME,
    SW_POINT_PLATEAU,
    SW_POINT_SLOWEST,
    SW_POINT_FILE
} sw_point_kind;

typedef struct sw_point {
    sw_point_kind kind;
    double t;       /* SW_POINT_TIME */
    size_t plateau; /* SW_POINT_PLATEAU, from 1 */
    const char *file;
} sw_point;

#define SW_POINT_FORMS "start, slowest, t=X, plateau:N or a readable state file"

/* `start`, `slowest`, `t=X`, `plateau:N`, else the name of a state file
 * (which must be readable: a misspelt keyword is reported as such). */
int sw_point_parse(const char *text, sw_point *p, sw_err *e);

typedef struct sw_point_info {
    double t;     /* time of the point on the trajectory (0 for start and files) */
    double speed; /* |f(x)|, Euclidean */
    double loss;
    size_t n_plateaus;          /* plateau and slowest points: plateaus of the run */
    double t_begin, t_end, level; /* plateau points: the plateau */
} sw_point_info;

/* x holds the start on entry (for SW_POINT_FILE the caller has read the
 * file into it) and the point on return.  Time, plateau and slowest points
 * integrate from x with o (its grid is where the slowest point is looked
 * for; t=X ignores o's points and until, and must not pass its t-end).
 * SW_EINPUT for a t past t-end, or a plateau
 * the run does not have. */
int sw_point_locate(sw_model *m, const sw_ode_opts *o, const sw_point *p, double *x,
                    sw_point_info *info, sw_err *e);

/* |f(x)|, Euclidean; f is scratch of dim doubles. */
double sw_speed(const sw_model *m, const double *x, double *f);

typedef struct sw_saddle_opts {
    double tol;      /* converged: |f|_inf <= tol ... (default 1e-10) */
    double step_tol; /* ... and the last step |dx|_inf <= step_tol max(1, |x|_inf) (1e-8) */
    size_t max_iter; /* default 500 */
} sw_saddle_opts;

void sw_saddle_opts_default(sw_saddle_opts *o);

typedef struct sw_saddle {
    int finite;        /* a fixed point was found at x */
    int runaway;       /* none: coordinates ran off (a fixed point at infinity) */
    size_t iterations;
    size_t conserved;  /* conserved linear quantities found and held (see saddle.c) */
    double residual;   /* |f|_inf at x */
    double *x;         /* the fixed point, or the last iterate */
    size_t n_off;
    size_t *off;       /* runaway: the coordinates that run off, largest drift first */
    int *off_sign;     /* +1 toward +inf, -1 toward -inf */
    char reason[160];  /* neither: why the solver stopped */
} sw_saddle;

/* Refines from x0.  SW_OK whatever the outcome (read r); an error only when
 * memory runs out.  Free r with sw_saddle_clear (safe after failure). */
int sw_saddle_refine(sw_model *m, const double *x0, const sw_saddle_opts *o, sw_saddle *r,
                     sw_err *e);
void sw_saddle_clear(sw_saddle *r);

#ifdef __cplusplus
}
#endif

#endif
