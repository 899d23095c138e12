#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "clones.h"
#include "jacobian.h"
#include "newton.h"

struct sw_newton {
    const sw_model *m;
    void *ws;       /* the system's structured workspace, or NULL */
    int structured; /* whether the last setup went the structured way */
    int have_jac;   /* whether J holds a dense Jacobian */
    double *J;      /* dim x dim, row-major */
    double *N;      /* dim x dim: I - c J, then its LU */
    double *work;   /* 2 dim: finite-difference scratch, sw_newton_solve_at's */
    lapack_int *piv;
    sw_newton_stats st;
};

sw_newton *sw_newton_alloc(const sw_model *m)
{
    sw_newton *nw = calloc(1, sizeof *nw);
    if (!nw)
        return NULL;
    size_t n = m->dim;
    nw->m = m;
    /* The dense route is kept even beside a structured one, for the points
     * where the structured route declines. */
    nw->J = malloc(n * n * sizeof *nw->J);
    nw->N = malloc(n * n * sizeof *nw->N);
    nw->work = malloc(2 * n * sizeof *nw->work);
    nw->piv = malloc(n * sizeof *nw->piv);
    if (m->sys->newton_alloc)
        nw->ws = m->sys->newton_alloc(m);
    if (!nw->J || !nw->N || !nw->work || !nw->piv || (m->sys->newton_alloc && !nw->ws)) {
        sw_newton_free(nw);
        return NULL;
    }
    return nw;
}

void sw_newton_free(sw_newton *nw)
{
    if (!nw)
        return;
    if (nw->ws)
        nw->m->sys->newton_free(nw->ws);
    free(nw->J);
    free(nw->N);
    free(nw->work);
    free(nw->piv);
    free(nw);
}

int sw_newton_jac_is_cheap(const sw_newton *nw)
{
    return nw->ws != NULL;
}

int sw_newton_setup(sw_newton *nw, const double *x, double c, int fresh)
{
    const sw_model *m = nw->m;
    size_t n = m->dim;
    nw->st.setups++;
    if (nw->ws) {
        nw->st.jac_evals++;
        nw->structured = m->sys->newton_setup(m, nw->ws, x, c) == 0;
        if (nw->structured)
            return SW_OK;
        /* Declined: the dense Jacobian must be the one at x. */
        fresh = 1;
    }
    if (fresh || !nw->have_jac) {
        nw->st.jac_evals++;
        nw->have_jac = 0;
        if (sw_jacobian_eval(m, x, nw->J, nw->work))
            return SW_ENUMERIC;
        nw->have_jac = 1;
    }
    nw->st.dense_setups++;
    for (size_t i = 0; i < n * n; i++)
        nw->N[i] = -c * nw->J[i];
    for (size_t i = 0; i < n; i++)
        nw->N[i * n + i] += 1;
    /* Row-major N read as column-major is N^T: factor that, and solve with
     * its transpose, so LAPACK never copies the matrix. */
    lapack_int ln = (lapack_int)n;
    return LAPACKE_dgetrf_work(LAPACK_COL_MAJOR, ln, ln, nw->N, ln, nw->piv) == 0 ? SW_OK
                                                                                  : SW_ENUMERIC;
}

void sw_newton_solve(sw_newton *nw, double *b)
{
    if (nw->structured) {
        nw->m->sys->newton_solve(nw->m, nw->ws, b);
        return;
    }
    lapack_int ln = (lapack_int)nw->m->dim;
    LAPACKE_dgetrs_work(LAPACK_COL_MAJOR, 'T', ln, 1, nw->N, ln, nw->piv, b, ln);
}

/* sw_newton_solve_at's two passes over the state (vectorised; the same
 * divisions). */
SW_VECTOR_CLONES
static void chebyshev_first(size_t n, double l1, double *restrict b, double *restrict y,
                            double *restrict x)
{
    for (size_t i = 0; i < n; i++) {
        y[i] = b[i];
        b[i] = x[i] = y[i] / l1;
    }
}

SW_VECTOR_CLONES
static void chebyshev_second(size_t n, double r, double l2, double *restrict b,
                             const double *restrict y, const double *restrict x)
{
    for (size_t i = 0; i < n; i++)
        b[i] += (y[i] - r * b[i] - (1 - r) * x[i]) / l2;
}

void sw_newton_solve_at(sw_newton *nw, double r, double *b)
{
    sw_newton_solve(nw, b);
    if (r == 1)
        return;
    /* Chebyshev's two steps for the interval [lo, hi]: the residual
     * polynomial vanishes at the nodes mid -+ half / sqrt(2). */
    size_t n = nw->m->dim;
    double lo = fmin(r, 1), hi = fmax(r, 1), mid = (lo + hi) / 2, half = (hi - lo) / 2;
    double l1 = mid + half / sqrt(2), l2 = mid - half / sqrt(2);
    double *y = nw->work, *x = nw->work + n;
    chebyshev_first(n, l1, b, y, x);
    sw_newton_solve(nw, x);
    chebyshev_second(n, r, l2, b, y, x);
}

const sw_newton_stats *sw_newton_stats_get(const sw_newton *nw)
{
    return &nw->st;
}

void sw_newton_stats_clear(sw_newton *nw)
{
    memset(&nw->st, 0, sizeof nw->st);
}
