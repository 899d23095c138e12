#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "stagewise/eigen.h"
#include "jacobian.h"

/* LAPACK runs column-major here: with the transpose copied in by hand, the
 * row-major LAPACKE wrappers' hidden allocations and copies are avoided,
 * and each eigenvector comes out contiguous. */
struct sw_eigen_work {
    double *a;      /* n x n, column-major copy of the input */
    double *vr;     /* n x n, eigenvectors as columns */
    double *wr, *wi;
    double *work;
    lapack_int lwork;
    lapack_int *iwork, liwork, *isuppz; /* dsyevr */
    double *swork;
    lapack_int lswork;
    size_t *order;
};

static int by_real_part_desc(const void *pa, const void *pb, void *ctx)
{
    const double *wr = ((double **)ctx)[0], *wi = ((double **)ctx)[1];
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    if (wr[a] != wr[b])
        return wr[a] > wr[b] ? -1 : 1;
    if (wi[a] != wi[b])
        return wi[a] > wi[b] ? -1 : 1;
    return a < b ? -1 : a > b;
}

void sw_eigen_free(sw_eigen *ev)
{
    if (!ev)
        return;
    if (ev->w) {
        sw_eigen_work *w = ev->w;
        free(w->a);
        free(w->vr);
        free(w->wr);
        free(w->wi);
        free(w->work);
        free(w->iwork);
        free(w->isuppz);
        free(w->swork);
        free(w->order);
        free(w);
    }
    free(ev->re);
    free(ev->im);
    free(ev->vre);
    free(ev->vim);
    free(ev);
}

sw_eigen *sw_eigen_alloc(size_t n)
{
    sw_eigen *ev = calloc(1, sizeof *ev);
    if (!ev)
        return NULL;
    ev->n = n;
    ev->w = calloc(1, sizeof *ev->w);
    ev->re = malloc(n * sizeof(double));
    ev->im = malloc(n * sizeof(double));
    ev->vre = malloc(n * n * sizeof(double));
    ev->vim = malloc(n * n * sizeof(double));
    if (!ev->w || !ev->re || !ev->im || !ev->vre || !ev->vim) {
        sw_eigen_free(ev);
        return NULL;
    }
    sw_eigen_work *w = ev->w;
    w->a = malloc(n * n * sizeof(double));
    w->vr = malloc(n * n * sizeof(double));
    w->wr = malloc(n * sizeof(double));
    w->wi = malloc(n * sizeof(double));
    w->isuppz = malloc(2 * n * sizeof(lapack_int));
    w->order = malloc(n * sizeof(size_t));
    if (!w->a || !w->vr || !w->wr || !w->wi || !w->isuppz || !w->order) {
        sw_eigen_free(ev);
        return NULL;
    }
    /* Workspace queries, once. */
    lapack_int N = (lapack_int)n, m, iq;
    double q;
    if (LAPACKE_dgeev_work(LAPACK_COL_MAJOR, 'N', 'V', N, w->a, N, w->wr, w->wi, NULL, 1, w->vr,
                           N, &q, -1) != 0) {
        sw_eigen_free(ev);
        return NULL;
    }
    w->lwork = (lapack_int)q;
    if (LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'V', 'A', 'U', N, w->a, N, 0, 0, 0, 0, 0, &m,
                            w->wr, w->vr, N, w->isuppz, &q, -1, &iq, -1) != 0) {
        sw_eigen_free(ev);
        return NULL;
    }
    w->lswork = (lapack_int)q;
    w->liwork = iq;
    w->work = malloc((size_t)(w->lwork > 1 ? w->lwork : 1) * sizeof(double));
    w->swork = malloc((size_t)(w->lswork > 1 ? w->lswork : 1) * sizeof(double));
    w->iwork = malloc((size_t)(w->liwork > 1 ? w->liwork : 1) * sizeof(lapack_int));
    if (!w->work || !w->swork || !w->iwork) {
        sw_eigen_free(ev);
        return NULL;
    }
    return ev;
}

static int load(sw_eigen *ev, const double *A, int symmetric, sw_err *e)
{
    size_t n = ev->n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double v = symmetric ? 0.5 * (A[i * n + j] + A[j * n + i]) : A[i * n + j];
            if (!isfinite(v))
                return sw_fail(e, SW_ENUMERIC, "eigen: matrix entry (%zu, %zu) is not finite",
                               i + 1, j + 1);
            ev->w->a[j * n + i] = v;
        }
    return SW_OK;
}

/* Sorts LAPACK's (wr, wi, vr) into ev, expanding the packed complex
 * eigenvectors (columns k, k+1 hold the real and imaginary parts of the
 * pair's first member). */
static void sort_into(sw_eigen *ev)
{
    sw_eigen_work *w = ev->w;
    size_t n = ev->n;
    for (size_t i = 0; i < n; i++)
        w->order[i] = i;
    double *ctx[2] = {w->wr, w->wi};
    qsort_r(w->order, n, sizeof *w->order, by_real_part_desc, ctx);
    for (size_t s = 0; s < n; s++) {
        size_t k = w->order[s];
        ev->re[s] = w->wr[k];
        ev->im[s] = w->wi[k];
        double *vr = ev->vre + s * n, *vi = ev->vim + s * n;
        if (w->wi[k] == 0) {
            memcpy(vr, w->vr + k * n, n * sizeof *vr);
            memset(vi, 0, n * sizeof *vi);
        } else {
            /* The first member of a pair has wi > 0. */
            size_t base = w->wi[k] > 0 ? k : k - 1;
            double sign = w->wi[k] > 0 ? 1 : -1;
            for (size_t i = 0; i < n; i++) {
                vr[i] = w->vr[base * n + i];
                vi[i] = sign * w->vr[(base + 1) * n + i];
            }
        }
    }
}

int sw_eigen_general(sw_eigen *ev, const double *A, sw_err *e)
{
    sw_eigen_work *w = ev->w;
    lapack_int N = (lapack_int)ev->n;
    int rc = load(ev, A, 0, e);
    if (rc)
        return rc;
    lapack_int info = LAPACKE_dgeev_work(LAPACK_COL_MAJOR, 'N', 'V', N, w->a, N, w->wr, w->wi,
                                         NULL, 1, w->vr, N, w->work, w->lwork);
    if (info != 0)
        return sw_fail(e, SW_ENUMERIC, "eigen: dgeev failed (info %d)", (int)info);
    sort_into(ev);
    return SW_OK;
}

int sw_eigen_symmetric(sw_eigen *ev, const double *A, sw_err *e)
{
    sw_eigen_work *w = ev->w;
    lapack_int N = (lapack_int)ev->n, m;
    int rc = load(ev, A, 1, e);
    if (rc)
        return rc;
    lapack_int info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'V', 'A', 'U', N, w->a, N, 0, 0, 0,
                                          0, 0, &m, w->wr, w->vr, N, w->isuppz, w->swork,
                                          w->lswork, w->iwork, w->liwork);
    if (info != 0)
        return sw_fail(e, SW_ENUMERIC, "eigen: dsyevr failed (info %d)", (int)info);
    memset(w->wi, 0, ev->n * sizeof *w->wi);
    sort_into(ev);
    return SW_OK;
}

double sw_eigen_zero_tol(const sw_eigen *ev, double rel)
{
    double r = 0;
    for (size_t i = 0; i < ev->n; i++)
        r = fmax(r, hypot(ev->re[i], ev->im[i]));
    return rel * r;
}

size_t sw_eigen_unstable(const sw_eigen *ev, double tol)
{
    size_t k = 0;
    for (size_t i = 0; i < ev->n; i++)
        k += ev->re[i] > tol;
    return k;
}

size_t sw_eigen_near_zero(const sw_eigen *ev, double tol)
{
    size_t k = 0;
    for (size_t i = 0; i < ev->n; i++)
        k += hypot(ev->re[i], ev->im[i]) <= tol;
    return k;
}

size_t sw_eigen_dominant(const sw_eigen *ev, size_t j, double share, size_t max, size_t *idx,
                         double *weight)
{
    size_t n = ev->n, count = 0;
    const double *vr = ev->vre + j * n, *vi = ev->vim + j * n;
    double total = 0, taken = 0;
    for (size_t i = 0; i < n; i++)
        total += vr[i] * vr[i] + vi[i] * vi[i];
    /* Selection by repeated maximum: max is a handful, n may be large. */
    while (count < max && count < n && taken < share * total) {
        size_t best = n;
        double bw = -1;
        for (size_t i = 0; i < n; i++) {
            double wgt = vr[i] * vr[i] + vi[i] * vi[i];
            int used = 0;
            for (size_t c = 0; c < count && !used; c++)
                used = idx[c] == i;
            if (!used && wgt > bw) {
                bw = wgt;
                best = i;
            }
        }
        idx[count] = best;
        weight[count] = total > 0 ? bw / total : 0;
        taken += bw;
        count++;
    }
    return count;
}

void sw_spectrum_clear(sw_spectrum *sp)
{
    free(sp->J);
    sw_eigen_free(sp->ev);
    memset(sp, 0, sizeof *sp);
}

int sw_spectrum_eval(const sw_model *m, const double *x, int force_fd, double zero_rel,
                     sw_spectrum *sp, sw_err *e)
{
    size_t n = m->dim;
    memset(sp, 0, sizeof *sp);
    /* J, its difference quotient, and sw_eigen's four. */
    int rc = sw_model_dense_within(m, 6, "a Jacobian spectrum", e);
    if (rc)
        return rc;
    sp->n = n;
    sp->J = malloc(n * n * sizeof *sp->J);
    double *Jfd = malloc(n * n * sizeof *Jfd), *work = malloc(2 * n * sizeof *work);
    sp->ev = sw_eigen_alloc(n);
    if (!sp->J || !Jfd || !work || !sp->ev) {
        rc = sw_fail(e, SW_EFAIL, "out of memory");
        goto out;
    }
    if (sw_jacobian_fd(m, x, Jfd, work)) {
        rc = sw_fail(e, SW_ENUMERIC, "jacobian: the vector field cannot be evaluated near the "
                                     "state");
        goto out;
    }
    sp->analytic = m->sys->jac && !force_fd;
    sp->fd_disagreement = NAN;
    if (sp->analytic) {
        if (m->sys->jac(m, x, sp->J)) {
            rc = sw_fail(e, SW_ENUMERIC, "jacobian: the analytic Jacobian failed at the state");
            goto out;
        }
        double scale = 0, worst = -1;
        for (size_t i = 0; i < n * n; i++)
            scale = fmax(scale, fabs(sp->J[i]));
        for (size_t i = 0; i < n * n; i++) {
            double d = fabs(sp->J[i] - Jfd[i]);
            if (!(d <= worst)) {
                worst = isnan(d) ? INFINITY : d;
                sp->worst_row = i / n;
                sp->worst_col = i % n;
            }
        }
        sp->fd_disagreement = scale > 0 ? worst / scale : worst;
    } else {
        memcpy(sp->J, Jfd, n * n * sizeof *Jfd);
    }
    if ((rc = sw_eigen_general(sp->ev, sp->J, e)))
        goto out;
    sp->zero_tol = sw_eigen_zero_tol(sp->ev, zero_rel);
    sp->morse = sw_eigen_unstable(sp->ev, sp->zero_tol);
    sp->near_zero = sw_eigen_near_zero(sp->ev, sp->zero_tol);
out:
    free(Jfd);
    free(work);
    if (rc)
        sw_spectrum_clear(sp);
    return rc;
}

int sw_hessian_fd(const sw_model *m, const double *x, double *H, double *work, sw_err *e)
{
    size_t n = m->dim;
    double (*L)(const sw_model *, const double *) = m->sys->loss;
    double *xp = work;
    memcpy(xp, x, n * sizeof *xp);
    double l0 = L(m, x);
    for (size_t i = 0; i < n; i++) {
        double hi = pow(DBL_EPSILON, 0.25) * fmax(fabs(x[i]), 1.0);
        xp[i] = x[i] + hi;
        double lp = L(m, xp);
        xp[i] = x[i] - hi;
        double lm = L(m, xp);
        H[i * n + i] = (lp - 2 * l0 + lm) / (hi * hi);
        for (size_t j = 0; j < i; j++) {
            double hj = pow(DBL_EPSILON, 0.25) * fmax(fabs(x[j]), 1.0);
            double s = 0;
            for (int a = -1; a <= 1; a += 2)
                for (int b = -1; b <= 1; b += 2) {
                    xp[i] = x[i] + a * hi;
                    xp[j] = x[j] + b * hj;
                    s += a * b * L(m, xp);
                }
            xp[j] = x[j];
            H[i * n + j] = H[j * n + i] = s / (4 * hi * hj);
        }
        xp[i] = x[i];
    }
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(H[i]))
            return sw_fail(e, SW_ENUMERIC, "hessian: the loss is not finite near the state");
    return SW_OK;
}

/* ---- head symmetry ---------------------------------------------------- */

/* A role's name: head 1's state name without its `_h1` token where it has
 * one (`a_h1_t5` -> `a_t5`, the name the coupled system gives that role),
 * else the state name itself. */
static char *role_name(const char *name)
{
    for (const char *p = name; (p = strstr(p, "_h1")) != NULL; p++)
        if (p[3] == '_' || p[3] == '\0') {
            size_t len = strlen(name) - 3;
            char *r = malloc(len + 1);
            if (r)
                snprintf(r, len + 1, "%.*s%s", (int)(p - name), name, p + 3);
            return r;
        }
    return strdup(name);
}

void sw_heads_clear(sw_heads *hs)
{
    if (hs->role)
        for (size_t r = 0; r < hs->roles; r++)
            free(hs->role[r]);
    free(hs->role);
    free(hs->coord);
    memset(hs, 0, sizeof *hs);
}

int sw_heads_find(const sw_model *m, sw_heads *hs, sw_err *e)
{
    memset(hs, 0, sizeof *hs);
    size_t n = m->dim, H = m->sys->heads ? m->sys->heads(m) : 0;
    if (H == 0) {
        /* The list from the registry, so a new system with heads is named too. */
        char with[256] = "";
        for (size_t i = 0, used = 0; i < sw_system_count() && used < sizeof with; i++)
            if (sw_system_at(i)->heads)
                used += (size_t)snprintf(with + used, sizeof with - used, "%s%s",
                                         used ? ", " : "", sw_system_at(i)->name);
        return sw_fail(e, SW_EINPUT, "system %s has no heads: it declares no head layout "
                                     "(systems with heads: %s)",
                       m->sys->name, with);
    }
    if (H < 2 || n % H != 0)
        return sw_fail(e, SW_EINPUT, "system %s: %zu heads do not split %zu states evenly "
                                     "(need at least 2 heads)",
                       m->sys->name, H, n);
    hs->H = H;
    hs->roles = n / H;
    hs->coord = malloc(n * sizeof *hs->coord);
    hs->role = calloc(hs->roles, sizeof *hs->role);
    int ok = hs->coord && hs->role;
    for (size_t r = 0; ok && r < hs->roles; r++) {
        for (size_t h = 0; h < H; h++)
            hs->coord[r * H + h] = h * hs->roles + r;
        ok = (hs->role[r] = role_name(m->state_names[r])) != NULL;
    }
    if (!ok) {
        sw_heads_clear(hs);
        return sw_fail(e, SW_EFAIL, "out of memory");
    }
    return SW_OK;
}

void sw_heads_copy_first(const sw_heads *hs, double *x)
{
    for (size_t r = 0; r < hs->roles; r++)
        for (size_t h = 1; h < hs->H; h++)
            x[hs->coord[r * hs->H + h]] = x[hs->coord[r * hs->H]];
}

void sw_heads_break(const sw_heads *hs, double *v)
{
    for (size_t r = 0; r < hs->roles; r++) {
        const size_t *c = hs->coord + r * hs->H;
        double mean = 0;
        for (size_t h = 0; h < hs->H; h++)
            mean += v[c[h]];
        mean /= (double)hs->H;
        for (size_t h = 0; h < hs->H; h++)
            v[c[h]] -= mean;
    }
}

void sw_heads_transverse(const sw_heads *hs, const double *J, size_t dim, double *A)
{
    size_t R = hs->roles, H = hs->H;
    for (size_t r = 0; r < R; r++) {
        size_t r1 = hs->coord[r * H], r2 = hs->coord[r * H + 1];
        for (size_t q = 0; q < R; q++) {
            size_t q1 = hs->coord[q * H], q2 = hs->coord[q * H + 1];
            A[r * R + q] = 0.5 * (J[r1 * dim + q1] - J[r1 * dim + q2] - J[r2 * dim + q1] +
                                  J[r2 * dim + q2]);
        }
    }
}

int sw_heads_lift(const sw_heads *hs, const sw_model *coupled, const double *xc, double *x,
                  sw_err *e)
{
    if (coupled->dim != hs->roles)
        return sw_fail(e, SW_EINPUT, "system %s has %zu states, one head of the lifted system "
                                     "has %zu",
                       coupled->sys->name, coupled->dim, hs->roles);
    for (size_t r = 0; r < hs->roles; r++) {
        size_t k = 0;
        while (k < coupled->dim && strcmp(coupled->state_names[k], hs->role[r]) != 0)
            k++;
        if (k == coupled->dim)
            return sw_fail(e, SW_EINPUT, "system %s has no state '%s' to copy into every head",
                           coupled->sys->name, hs->role[r]);
        for (size_t h = 0; h < hs->H; h++)
            x[hs->coord[r * hs->H + h]] = xc[k];
    }
    return SW_OK;
}
