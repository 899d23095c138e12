#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multiroots.h>
#include <lapacke.h>

#include "jacobian.h"
#include "stagewise/saddle.h"
#include "stagewise/stages.h"

int sw_point_parse(const char *text, sw_point *p, sw_err *e)
{
    memset(p, 0, sizeof *p);
    if (strcmp(text, "start") == 0) {
        p->kind = SW_POINT_START;
        return SW_OK;
    }
    if (strcmp(text, "slowest") == 0) {
        p->kind = SW_POINT_SLOWEST;
        return SW_OK;
    }
    if (strncmp(text, "t=", 2) == 0) {
        p->kind = SW_POINT_TIME;
        return sw_parse_real_in(text + 2, "point t", 0, INFINITY, &p->t, e);
    }
    if (strncmp(text, "plateau:", 8) == 0) {
        double n;
        int rc = sw_parse_real_in(text + 8, "point plateau", 1, 1e6, &n, e);
        if (rc)
            return rc;
        if (n != floor(n))
            return sw_fail(e, SW_EINPUT, "point: '%s': the plateau number is not an integer",
                           text);
        p->kind = SW_POINT_PLATEAU;
        p->plateau = (size_t)n;
        return SW_OK;
    }
    if (access(text, R_OK) != 0)
        return sw_fail(e, SW_EINPUT, "point: '%s' is not a point (allowed: " SW_POINT_FORMS ")",
                       text);
    p->kind = SW_POINT_FILE;
    p->file = text;
    return SW_OK;
}

double sw_speed(const sw_model *m, const double *x, double *f)
{
    if (m->sys->rhs(m, x, f))
        return NAN;
    double s = 0;
    for (size_t i = 0; i < m->dim; i++)
        s += f[i] * f[i];
    return sqrt(s);
}

/* Slowest recorded point with index in [i0, i1]; t = 0 is skipped because
 * a start at rest is not what a plateau or a run's slowest point means. */
static size_t slowest(const sw_model *m, const sw_traj *tr, size_t i0, size_t i1, double *f,
                      double *speed)
{
    size_t best = i0;
    *speed = INFINITY;
    for (size_t i = i0; i <= i1 && i < tr->n; i++) {
        if (tr->t[i] <= 0)
            continue;
        double s = sw_speed(m, tr->x + i * m->dim, f);
        if (s < *speed) {
            *speed = s;
            best = i;
        }
    }
    return best;
}

int sw_point_locate(sw_model *m, const sw_ode_opts *o, const sw_point *p, double *x,
                    sw_point_info *info, sw_err *e)
{
    size_t n = m->dim;
    memset(info, 0, sizeof *info);
    double *f = malloc(n * sizeof *f);
    if (!f)
        return sw_fail(e, SW_EFAIL, "out of memory");
    int rc = SW_OK;
    sw_ode *ode = NULL;
    sw_traj tr = {.dim = n};
    sw_stages st = {0};
    sw_ode_stats stats;
    if (p->kind == SW_POINT_TIME && p->t > o->t_end) {
        free(f);
        return sw_fail(e, SW_EINPUT, "point t=%g is past t-end %g (allowed: 0 to t-end; raise "
                                     "--t-end to go further)",
                       p->t, o->t_end);
    }
    if (p->kind == SW_POINT_TIME && p->t > 0) {
        sw_ode_opts to = *o;
        to.t_end = p->t;
        to.t_first = 0;
        to.points = 2;
        to.until.active = 0;
        /* The budget first, for its SW_EINPUT: sw_ode_alloc only says NULL. */
        if ((rc = sw_ode_budget(m, &to, e)) == SW_OK)
            rc = (ode = sw_ode_alloc(m, &to, e)) ? sw_ode_run(ode, x, NULL, NULL, &stats, e)
                                                  : SW_EFAIL;
        info->t = p->t;
    } else if (p->kind == SW_POINT_PLATEAU || p->kind == SW_POINT_SLOWEST) {
        if (!(ode = sw_ode_alloc(m, o, e)))
            rc = SW_EFAIL;
        else
            rc = sw_ode_run(ode, x, sw_traj_record, &tr, &stats, e);
        double *loss = NULL;
        if (rc == SW_OK && !(loss = malloc(tr.n * sizeof *loss)))
            rc = sw_fail(e, SW_EFAIL, "out of memory");
        for (size_t i = 0; rc == SW_OK && i < tr.n; i++)
            loss[i] = m->sys->loss(m, tr.x + i * n);
        if (rc == SW_OK) {
            sw_stages_opts so;
            sw_stages_opts_default(&so);
            rc = sw_stages_detect(tr.t, loss, tr.n, &so, &st, e);
        }
        free(loss);
        if (rc == SW_OK) {
            size_t i0 = 0, i1 = tr.n - 1;
            info->n_plateaus = st.n_plateaus;
            if (p->kind == SW_POINT_PLATEAU) {
                if (p->plateau > st.n_plateaus) {
                    rc = sw_fail(e, SW_EINPUT,
                                 "point: plateau:%zu asked for, the run to t = %g has %zu "
                                 "plateau%s (try a larger --t-end)",
                                 p->plateau, stats.t_final, st.n_plateaus,
                                 st.n_plateaus == 1 ? "" : "s");
                } else {
                    const sw_plateau *pl = &st.plateaus[p->plateau - 1];
                    i0 = pl->i_begin;
                    i1 = pl->i_end;
                    info->t_begin = pl->t_begin;
                    info->t_end = pl->t_end;
                    info->level = pl->level;
                }
            }
            if (rc == SW_OK) {
                double speed;
                size_t i = slowest(m, &tr, i0, i1, f, &speed);
                memcpy(x, tr.x + i * n, n * sizeof *x);
                info->t = tr.t[i];
            }
        }
    }
    if (rc == SW_OK) {
        info->speed = sw_speed(m, x, f);
        info->loss = m->sys->loss(m, x);
    }
    sw_stages_clear(&st);
    sw_traj_clear(&tr);
    sw_ode_free(ode);
    free(f);
    return rc;
}

void sw_saddle_opts_default(sw_saddle_opts *o)
{
    o->tol = 1e-10;
    o->step_tol = 1e-8;
    o->max_iter = 500;
}

void sw_saddle_clear(sw_saddle *r)
{
    free(r->x);
    free(r->off);
    free(r->off_sign);
    memset(r, 0, sizeof *r);
}

/* The root problem.  A flow that conserves linear quantities u^T x (the
 * softmax flows conserve each head's logit sum, whose shift softmax does
 * not see) has a singular Jacobian everywhere and a continuum of fixed
 * points, one per value of the conserved quantities, and Newton's direction
 * is undefined; with the conserved directions as orthonormal columns of N,
 * F(x) = f(x) + N N^T (x - x0) has the fixed point with x0's values as an
 * isolated root: N^T F = N^T (x - x0) since N^T f = 0, so F = 0 exactly
 * when f = 0 and N^T x = N^T x0. */
struct problem {
    const sw_model *m;
    double *work; /* 2 dim, finite-difference Jacobian */
    const double *x0;
    double *N;    /* dim x g, row-major */
    size_t g;
};

static int root_f(const gsl_vector *x, void *p, gsl_vector *f)
{
    struct problem *pb = p;
    size_t n = pb->m->dim;
    if (pb->m->sys->rhs(pb->m, x->data, f->data))
        return GSL_EBADFUNC;
    for (size_t c = 0; c < pb->g; c++) {
        double proj = 0;
        for (size_t i = 0; i < n; i++)
            proj += pb->N[i * pb->g + c] * (x->data[i] - pb->x0[i]);
        for (size_t i = 0; i < n; i++)
            f->data[i] += pb->N[i * pb->g + c] * proj;
    }
    return GSL_SUCCESS;
}

static int root_df(const gsl_vector *x, void *p, gsl_matrix *J)
{
    struct problem *pb = p;
    size_t n = pb->m->dim;
    /* gsl_multiroot allocates J itself, so its rows are contiguous. */
    if (sw_jacobian_eval(pb->m, x->data, J->data, pb->work))
        return GSL_EBADFUNC;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            for (size_t c = 0; c < pb->g; c++)
                J->data[i * n + j] += pb->N[i * pb->g + c] * pb->N[j * pb->g + c];
    return GSL_SUCCESS;
}

static int root_fdf(const gsl_vector *x, void *p, gsl_vector *f, gsl_matrix *J)
{
    int s = root_f(x, p, f);
    return s ? s : root_df(x, p, J);
}

static double inf_norm(const double *v, size_t n)
{
    double r = 0;
    for (size_t i = 0; i < n; i++)
        r = fmax(r, fabs(v[i]));
    return r;
}

/* Conserved linear quantities u^T x (u^T f = 0 wherever the flow goes):
 * left null vectors of the Jacobian, kept when u^T f vanishes at two
 * points.  The points are taken a little way along f from x0, x0 + h f0
 * and x0 + 2 h f0: an accidental degeneracy of x0 itself (every logit
 * direction when all values are zero) is gone there, while an invariant
 * set the flow lives on (the simplex) is left only to second order.
 * Columns of N, orthonormal; returns their number. */
static size_t conserved(const sw_model *m, const double *x0, double *N, double *work)
{
    size_t n = m->dim, g = 0;
    double *xs = malloc(2 * n * sizeof *xs), *J = malloc(n * n * sizeof *J);
    double *u = malloc(n * n * sizeof *u), *sv = malloc(n * sizeof *sv);
    double *sup = malloc(n * sizeof *sup), *f = malloc(2 * n * sizeof *f);
    if (!xs || !J || !u || !sv || !sup || !f || m->sys->rhs(m, x0, f))
        goto out;
    double fmax0 = inf_norm(f, n), h = 0;
    for (size_t i = 0; i < n; i++)
        h = fmax(h, fabs(x0[i]));
    h = fmax0 > 0 ? 1e-2 * fmax(1, h) / fmax0 : 0;
    for (size_t i = 0; i < n; i++) {
        xs[i] = x0[i] + h * f[i];
        xs[n + i] = x0[i] + 2 * h * f[i];
    }
    if (sw_jacobian_eval(m, xs, J, work) || m->sys->rhs(m, xs, f) ||
        m->sys->rhs(m, xs + n, f + n) ||
        LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'A', 'N', (lapack_int)n, (lapack_int)n, J,
                       (lapack_int)n, sv, u, (lapack_int)n, NULL, 1, sup) != 0)
        goto out;
    for (size_t j = 0; j < n; j++) {
        if (!(sv[j] <= 1e-10 * sv[0]))
            continue;
        int kept = 1;
        for (int p = 0; p < 2 && kept; p++) {
            double dot = 0, scale = 0;
            for (size_t i = 0; i < n; i++) {
                dot += u[i * n + j] * f[p * n + i];
                scale += fabs(f[p * n + i]);
            }
            /* Exact zero up to the rounding inside f, which cancellation
             * can make far larger than the rounding of f's own entries. */
            kept = fabs(dot) <= 1e-8 * scale;
        }
        if (!kept)
            continue;
        for (size_t i = 0; i < n; i++)
            N[i * n + g] = u[i * n + j];
        g++;
    }
    /* Compact the columns to stride g. */
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < g; c++)
            N[i * g + c] = N[i * n + c];
out:
    free(xs), free(J), free(u), free(sv), free(sup), free(f);
    return g;
}

/* A fixed point at infinity, read off the accepted iterates.  Over the last
 * third of them (at least MIN_RUN) the residual keeps falling, the steps
 * keep their size (a converging Newton iteration shrinks them at least
 * geometrically), and the coordinate that moved most moved one way only,
 * and by now by more than one unit from the start.
 * The coordinates that run off are those that moved, one way, by a fifth
 * of that or more. */
#define MIN_RUN 24

struct history {
    double *x;   /* cap x dim accepted iterates, x0 first */
    double *res; /* |f|_inf at each */
    size_t k, cap, n;
};

static int history_push(struct history *h, const double *x, double res)
{
    if (h->k == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        double *nx = realloc(h->x, cap * h->n * sizeof *nx);
        if (!nx)
            return SW_EFAIL;
        h->x = nx;
        double *nr = realloc(h->res, cap * sizeof *nr);
        if (!nr)
            return SW_EFAIL;
        h->res = nr;
        h->cap = cap;
    }
    memcpy(h->x + h->k * h->n, x, h->n * sizeof *x);
    h->res[h->k++] = res;
    return SW_OK;
}

/* Path length of coordinate i over iterates [a, b]. */
static double path(const struct history *h, size_t i, size_t a, size_t b)
{
    double p = 0;
    for (size_t j = a; j < b; j++)
        p += fabs(h->x[(j + 1) * h->n + i] - h->x[j * h->n + i]);
    return p;
}

static double mean_step(const struct history *h, size_t a, size_t b)
{
    double s = 0;
    for (size_t j = a; j < b; j++) {
        double d = 0;
        for (size_t i = 0; i < h->n; i++)
            d = fmax(d, fabs(h->x[(j + 1) * h->n + i] - h->x[j * h->n + i]));
        s += d;
    }
    return s / (double)(b - a);
}

static int runaway(const struct history *h, sw_saddle *r)
{
    size_t n = h->n, last = h->k - 1, a = last - last / 3, m = a - (a - last / 3) / 2;
    if (h->k < MIN_RUN + 1)
        return 0;
    if (!(h->res[last] < 0.5 * h->res[a]))
        return 0;
    if (!(mean_step(h, a, last) >= 0.1 * mean_step(h, m, a)))
        return 0;
    const double *xa = h->x + a * n, *xb = h->x + last * n;
    size_t top = 0;
    for (size_t i = 1; i < n; i++)
        if (fabs(xb[i] - xa[i]) > fabs(xb[top] - xa[top]))
            top = i;
    double D = fabs(xb[top] - xa[top]);
    if (!(D > 0 && path(h, top, a, last) <= 1.5 * D))
        return 0;
    /* And it has gone a long way: a finite fixed point approached down a
     * slow valley (a continuum of them, a degenerate one, one on the edge
     * of the simplex) can show the same steady pattern for a while, over
     * distances below the unit of a logit, an e-fold of attention. */
    if (!(fabs(xb[top] - h->x[top]) >= 1))
        return 0;
    r->n_off = 0;
    for (size_t i = 0; i < n; i++) {
        double d = xb[i] - xa[i];
        if (fabs(d) >= 0.2 * D && path(h, i, a, last) <= 1.5 * fabs(d)) {
            r->off[r->n_off] = i;
            r->off_sign[r->n_off++] = d > 0 ? 1 : -1;
        }
    }
    /* Largest move first; insertion sort, the list is short. */
    for (size_t u = 1; u < r->n_off; u++)
        for (size_t v = u; v > 0; v--) {
            size_t i = r->off[v], j = r->off[v - 1];
            if (fabs(xb[i] - xa[i]) <= fabs(xb[j] - xa[j]))
                break;
            r->off[v] = j;
            r->off[v - 1] = i;
            int sg = r->off_sign[v];
            r->off_sign[v] = r->off_sign[v - 1];
            r->off_sign[v - 1] = sg;
        }
    return 1;
}

int sw_saddle_refine(sw_model *m, const double *x0, const sw_saddle_opts *o, sw_saddle *r,
                     sw_err *e)
{
    size_t n = m->dim;
    memset(r, 0, sizeof *r);
    /* The conserved quantities' basis, the Jacobian and left vectors they
     * are found from, and hybridsj's Jacobian and QR factors. */
    int rc = sw_model_dense_within(m, 6, "saddle refinement", e);
    if (rc)
        return rc;
    r->x = malloc(n * sizeof *r->x);
    r->off = malloc(n * sizeof *r->off);
    r->off_sign = malloc(n * sizeof *r->off_sign);
    double *f = malloc(n * sizeof *f);
    struct history h = {.n = n};
    struct problem pb = {m, malloc(2 * n * sizeof(double)), x0, malloc(n * n * sizeof(double)), 0};
    gsl_multiroot_fdfsolver *s = gsl_multiroot_fdfsolver_alloc(gsl_multiroot_fdfsolver_hybridsj, n);
    if (!r->x || !r->off || !r->off_sign || !f || !pb.work || !pb.N || !s) {
        rc = sw_fail(e, SW_EFAIL, "out of memory");
        goto out;
    }
    pb.g = conserved(m, x0, pb.N, pb.work);
    r->conserved = pb.g;
    gsl_multiroot_function_fdf fdf = {root_f, root_df, root_fdf, n, &pb};
    gsl_vector_const_view xv = gsl_vector_const_view_array(x0, n);
    memcpy(r->x, x0, n * sizeof *r->x);
    if (gsl_multiroot_fdfsolver_set(s, &fdf, &xv.vector)) {
        snprintf(r->reason, sizeof r->reason, "the vector field cannot be evaluated at the start");
        r->residual = NAN;
        goto out;
    }
    r->residual = inf_norm(s->f->data, n);
    if (history_push(&h, x0, r->residual)) {
        rc = sw_fail(e, SW_EFAIL, "out of memory");
        goto out;
    }
    for (size_t k = 1; k <= o->max_iter; k++) {
        int status = gsl_multiroot_fdfsolver_iterate(s);
        r->iterations = k;
        if (status) {
            snprintf(r->reason, sizeof r->reason, "hybridsj stopped after %zu iterations: %s", k,
                     gsl_strerror(status));
            break;
        }
        /* The residual of f itself: F adds the pinning term. */
        if (m->sys->rhs(m, s->x->data, f)) {
            snprintf(r->reason, sizeof r->reason, "the vector field cannot be evaluated after "
                                                  "%zu iterations", k);
            break;
        }
        memcpy(r->x, s->x->data, n * sizeof *r->x);
        r->residual = inf_norm(f, n);
        /* dx is the trial step, whether or not the trust region took it:
         * small means Newton sees nothing left to correct. */
        double trial = inf_norm(s->dx->data, n);
        if (r->residual <= o->tol && trial <= o->step_tol * fmax(1, inf_norm(r->x, n))) {
            r->finite = 1;
            break;
        }
        if (k == o->max_iter)
            snprintf(r->reason, sizeof r->reason, "no convergence in %zu iterations", k);
        if (memcmp(r->x, h.x + (h.k - 1) * n, n * sizeof *r->x) == 0)
            continue; /* a rejected trial step */
        if (history_push(&h, r->x, r->residual)) {
            rc = sw_fail(e, SW_EFAIL, "out of memory");
            goto out;
        }
        if ((r->runaway = runaway(&h, r)))
            break;
    }
    /* A stalled solver may have been crawling off to infinity all along. */
    if (!r->finite && !r->runaway && r->reason[0] && (r->runaway = runaway(&h, r)))
        r->reason[0] = '\0';
out:
    if (s)
        gsl_multiroot_fdfsolver_free(s);
    free(pb.work);
    free(pb.N);
    free(h.x);
    free(h.res);
    free(f);
    if (rc)
        sw_saddle_clear(r);
    return rc;
}
