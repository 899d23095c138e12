#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "stagewise/fit.h"

void sw_fit_result_clear(sw_fit_result *r)
{
    free(r->p);
    free(r->cov);
    free(r->lo);
    free(r->hi);
    free(r->fitted);
    free(r->resid);
    memset(r, 0, sizeof *r);
}

static int result_alloc(sw_fit_result *r, size_t n, size_t k)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->k = k;
    r->p = calloc(k, sizeof(double));
    r->cov = calloc(k * k, sizeof(double));
    r->lo = calloc(k, sizeof(double));
    r->hi = calloc(k, sizeof(double));
    r->fitted = calloc(n, sizeof(double));
    r->resid = calloc(n, sizeof(double));
    if (!r->p || !r->cov || !r->lo || !r->hi || !r->fitted || !r->resid) {
        sw_fit_result_clear(r);
        return SW_EFAIL;
    }
    return SW_OK;
}

/* Residuals, R^2, AIC and intervals from the estimates and covariance. */
static void finish(const sw_fit_problem *pb, sw_fit_result *r)
{
    size_t n = pb->n, k = pb->k;
    double mean = 0, ymax = 0;
    for (size_t i = 0; i < n; i++) {
        mean += pb->y[i] / (double)n;
        ymax = fmax(ymax, fabs(pb->y[i]));
    }
    double rss = 0, tss = 0;
    for (size_t i = 0; i < n; i++) {
        r->resid[i] = pb->y[i] - r->fitted[i];
        rss += r->resid[i] * r->resid[i];
        tss += (pb->y[i] - mean) * (pb->y[i] - mean);
    }
    r->rss = rss;
    r->r2 = tss > 0 ? 1 - rss / tss : NAN;
    /* A law that matches the data to rounding has RSS ~ 0 and ln(RSS) of
     * no meaning; residuals below rounding of y are not told apart. */
    double floor_ = (double)n * (DBL_EPSILON * ymax) * (DBL_EPSILON * ymax);
    r->aic = (double)n * log(fmax(rss, fmax(floor_, DBL_MIN)) / (double)n) + 2.0 * (double)k;
    /* gsl_multifit_linear returns the covariance scaled by the residual
     * variance already; gsl_multifit_nlinear_covar gives (J^T J)^-1. */
    if (pb->model)
        for (size_t j = 0; j < k * k; j++)
            r->cov[j] *= rss / (double)(n - k);
    double tq = gsl_cdf_tdist_Pinv(0.5 + SW_FIT_LEVEL / 2, (double)(n - k));
    for (size_t j = 0; j < k; j++) {
        double half = tq * sqrt(r->cov[j * k + j]);
        r->lo[j] = r->p[j] - half;
        r->hi[j] = r->p[j] + half;
    }
}

static int solve_linear(const sw_fit_problem *pb, sw_fit_result *r, sw_err *e)
{
    size_t n = pb->n, k = pb->k;
    gsl_matrix_const_view X = gsl_matrix_const_view_array(pb->X, n, k);
    gsl_vector_const_view y = gsl_vector_const_view_array(pb->y, n);
    gsl_vector_view c = gsl_vector_view_array(r->p, k);
    gsl_matrix_view cov = gsl_matrix_view_array(r->cov, k, k);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(n, k);
    if (!w)
        return sw_fail(e, SW_EFAIL, "out of memory");
    double chisq;
    size_t rank = 0;
    /* Singular values below this fraction of the largest are cut: a
     * regressor that is constant or a copy of another leaves the design
     * rank deficient, and its coefficient is then not identified. */
    int s = gsl_multifit_linear_tsvd(&X.matrix, &y.vector, 1e-12, &c.vector, &cov.matrix,
                                     &chisq, &rank, w);
    gsl_multifit_linear_free(w);
    if (s)
        return sw_fail(e, SW_ENUMERIC, "linear least squares failed: %s", gsl_strerror(s));
    if (rank < k)
        return sw_fail(e, SW_EINPUT,
                       "fit: the regressors are collinear or constant (rank %zu of %zu "
                       "parameters)",
                       rank, k);
    for (size_t i = 0; i < n; i++) {
        double f = 0;
        for (size_t j = 0; j < k; j++)
            f += pb->X[i * k + j] * r->p[j];
        r->fitted[i] = f;
    }
    return SW_OK;
}

static int nl_f(const gsl_vector *p, void *data, gsl_vector *f)
{
    const sw_fit_problem *pb = data;
    for (size_t i = 0; i < pb->n; i++) {
        double v;
        pb->model(p->data, pb->X + i * pb->dx, &v, NULL, pb->user);
        gsl_vector_set(f, i, v - pb->y[i]);
    }
    return GSL_SUCCESS;
}

static int nl_df(const gsl_vector *p, void *data, gsl_matrix *J)
{
    const sw_fit_problem *pb = data;
    for (size_t i = 0; i < pb->n; i++) {
        double v;
        pb->model(p->data, pb->X + i * pb->dx, &v, gsl_matrix_ptr(J, i, 0), pb->user);
    }
    return GSL_SUCCESS;
}

static int solve_nonlinear(const sw_fit_problem *pb, sw_fit_result *r, sw_err *e)
{
    size_t n = pb->n, k = pb->k;
    gsl_multifit_nlinear_fdf fdf = {.f = nl_f, .df = nl_df, .fvv = NULL, .n = n, .p = k,
                                    .params = (void *)pb};
    gsl_multifit_nlinear_parameters par = gsl_multifit_nlinear_default_parameters();
    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &par, n, k);
    if (!w)
        return sw_fail(e, SW_EFAIL, "out of memory");
    gsl_vector_const_view p0 = gsl_vector_const_view_array(pb->p0, k);
    int info = 0, s = gsl_multifit_nlinear_init(&p0.vector, &fdf, w);
    if (s == GSL_SUCCESS)
        s = gsl_multifit_nlinear_driver(500, 1e-12, 1e-12, 0.0, NULL, NULL, &info, w);
    const gsl_vector *p = gsl_multifit_nlinear_position(w);
    const gsl_matrix *J = gsl_multifit_nlinear_jac(w);
    const gsl_vector *f = gsl_multifit_nlinear_residual(w);
    r->iterations = gsl_multifit_nlinear_niter(w);
    /* No further progress from a point where the gradient has vanished is
     * convergence too (typical for data the model fits exactly). */
    if (s == GSL_ENOPROG) {
        gsl_vector *g = gsl_vector_alloc(k);
        if (g) {
            gsl_blas_dgemv(CblasTrans, 1.0, J, f, 0.0, g);
            double jn = 0, fn = gsl_blas_dnrm2(f);
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < k; j++)
                    jn = fmax(jn, fabs(gsl_matrix_get(J, i, j)));
            if (gsl_blas_dnrm2(g) <= 1e-8 * jn * fmax(fn, DBL_MIN) * sqrt((double)n))
                s = GSL_SUCCESS;
            gsl_vector_free(g);
        }
    }
    int finite = 1;
    for (size_t j = 0; j < k; j++)
        finite &= isfinite(gsl_vector_get(p, j));
    if (s != GSL_SUCCESS || !finite) {
        gsl_multifit_nlinear_free(w);
        return sw_fail(e, SW_ENUMERIC, "nonlinear least squares did not converge after %zu "
                                       "iterations (%s)",
                       r->iterations, finite ? gsl_strerror(s) : "parameters ran off");
    }
    for (size_t j = 0; j < k; j++)
        r->p[j] = gsl_vector_get(p, j);
    for (size_t i = 0; i < n; i++)
        r->fitted[i] = pb->y[i] + gsl_vector_get(f, i);
    gsl_matrix_view cov = gsl_matrix_view_array(r->cov, k, k);
    gsl_multifit_nlinear_covar(J, 0.0, &cov.matrix);
    gsl_multifit_nlinear_free(w);
    return SW_OK;
}

int sw_fit_solve(const sw_fit_problem *pb, sw_fit_result *r, sw_err *e)
{
    memset(r, 0, sizeof *r);
    if (pb->k == 0)
        return sw_fail(e, SW_EINPUT, "fit: no parameters");
    if (pb->n <= pb->k)
        return sw_fail(e, SW_EINPUT,
                       "fit: %zu points for %zu parameters (need at least %zu to leave a "
                       "degree of freedom for the intervals)",
                       pb->n, pb->k, pb->k + 1);
    for (size_t i = 0; i < pb->n; i++)
        if (!isfinite(pb->y[i]))
            return sw_fail(e, SW_EINPUT, "fit: observation %zu is not finite", i + 1);
    if (result_alloc(r, pb->n, pb->k))
        return sw_fail(e, SW_EFAIL, "out of memory");
    int rc = pb->model ? solve_nonlinear(pb, r, e) : solve_linear(pb, r, e);
    if (rc) {
        sw_fit_result_clear(r);
        return rc;
    }
    finish(pb, r);
    return SW_OK;
}

int sw_fit_bootstrap(const sw_fit_problem *pb, size_t reps, unsigned long seed, double *lo,
                     double *hi, size_t *failed, sw_err *e)
{
    size_t n = pb->n, k = pb->k, cols = pb->model ? pb->dx : k;
    double *Xb = malloc(n * cols * sizeof *Xb), *yb = malloc(n * sizeof *yb);
    double *samples = malloc(reps * k * sizeof *samples), *col = malloc(reps * sizeof *col);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int rc = SW_OK;
    if (!Xb || !yb || !samples || !col || !rng) {
        rc = sw_fail(e, SW_EFAIL, "out of memory");
        goto out;
    }
    gsl_rng_set(rng, seed);
    sw_fit_problem b = *pb;
    b.X = Xb;
    b.y = yb;
    size_t good = 0;
    *failed = 0;
    for (size_t rep = 0; rep < reps; rep++) {
        for (size_t i = 0; i < n; i++) {
            size_t src = gsl_rng_uniform_int(rng, n);
            memcpy(Xb + i * cols, pb->X + src * cols, cols * sizeof *Xb);
            yb[i] = pb->y[src];
        }
        sw_fit_result r;
        sw_err ignored;
        if (sw_fit_solve(&b, &r, &ignored)) {
            (*failed)++;
            continue;
        }
        memcpy(samples + good * k, r.p, k * sizeof *samples);
        good++;
        sw_fit_result_clear(&r);
    }
    if (good < 2 || *failed * 10 > reps) {
        rc = sw_fail(e, SW_ENUMERIC, "bootstrap: %zu of %zu resampled fits failed", *failed,
                     reps);
        goto out;
    }
    for (size_t j = 0; j < k; j++) {
        for (size_t i = 0; i < good; i++)
            col[i] = samples[i * k + j];
        gsl_sort(col, 1, good);
        lo[j] = gsl_stats_quantile_from_sorted_data(col, 1, good, 0.5 - SW_FIT_LEVEL / 2);
        hi[j] = gsl_stats_quantile_from_sorted_data(col, 1, good, 0.5 + SW_FIT_LEVEL / 2);
    }
out:
    free(Xb);
    free(yb);
    free(samples);
    free(col);
    if (rng)
        gsl_rng_free(rng);
    return rc;
}

/* ---- power laws ------------------------------------------------------- */

typedef struct lexer {
    const char *text, *p;
    char name[SW_LAW_NAME];
} lexer;

enum { TOK_END, TOK_NAME, TOK_STAR, TOK_CARET, TOK_PLUS, TOK_BAD };

static int next_token(lexer *lx)
{
    while (isspace((unsigned char)*lx->p))
        lx->p++;
    char c = *lx->p;
    if (!c)
        return TOK_END;
    if (isalpha((unsigned char)c) || c == '_') {
        size_t len = 0;
        while (isalnum((unsigned char)lx->p[len]) || lx->p[len] == '_' || lx->p[len] == '.')
            len++;
        if (len >= SW_LAW_NAME)
            return TOK_BAD;
        memcpy(lx->name, lx->p, len);
        lx->name[len] = '\0';
        lx->p += len;
        return TOK_NAME;
    }
    lx->p++;
    return c == '*' ? TOK_STAR : c == '^' ? TOK_CARET : c == '+' ? TOK_PLUS : TOK_BAD;
}

#define LAW_GRAMMAR "grammar: C * x^a * y^b ... [+ t0]"

static int law_error(const lexer *lx, sw_err *e, const char *what)
{
    return sw_fail(e, SW_EINPUT, "law: %s at position %d of '%s' (" LAW_GRAMMAR ")", what,
                   (int)(lx->p - lx->text), lx->text);
}

int sw_law_parse(const char *text, sw_law *law, sw_err *e)
{
    memset(law, 0, sizeof *law);
    lexer lx = {text, text, {0}};
    int tok;
    for (;;) {
        if ((tok = next_token(&lx)) != TOK_NAME)
            return law_error(&lx, e, "expected a name");
        char name[SW_LAW_NAME];
        memcpy(name, lx.name, sizeof name);
        const char *mark = lx.p;
        tok = next_token(&lx);
        if (tok == TOK_CARET) {
            if (next_token(&lx) != TOK_NAME)
                return law_error(&lx, e, "expected an exponent name after '^'");
            if (law->m == SW_LAW_MAX_FACTORS)
                return law_error(&lx, e, "too many factors (at most 8)");
            memcpy(law->column[law->m], name, SW_LAW_NAME);
            memcpy(law->exponent[law->m], lx.name, SW_LAW_NAME);
            law->m++;
            mark = lx.p;
            tok = next_token(&lx);
        } else {
            if (law->prefactor[0])
                return law_error(&lx, e, "a second bare name (only the prefactor goes "
                                         "without an exponent)");
            memcpy(law->prefactor, name, SW_LAW_NAME);
        }
        if (tok == TOK_STAR)
            continue;
        if (tok == TOK_PLUS) {
            if (next_token(&lx) != TOK_NAME)
                return law_error(&lx, e, "expected an offset name after '+'");
            memcpy(law->offset, lx.name, SW_LAW_NAME);
            mark = lx.p;
            tok = next_token(&lx);
        }
        if (tok != TOK_END) {
            lx.p = mark;
            return law_error(&lx, e, "unexpected text");
        }
        break;
    }
    if (!law->prefactor[0])
        return sw_fail(e, SW_EINPUT, "law: '%s' has no prefactor (" LAW_GRAMMAR ")", text);
    if (law->m == 0)
        return sw_fail(e, SW_EINPUT, "law: '%s' has no factor COLUMN^EXPONENT (" LAW_GRAMMAR
                                     ")", text);
    size_t np = sw_law_nparams(law);
    for (size_t i = 0; i < np; i++)
        for (size_t j = i + 1; j < np; j++)
            if (strcmp(sw_law_param(law, i), sw_law_param(law, j)) == 0)
                return sw_fail(e, SW_EINPUT, "law: parameter '%s' is named twice in '%s'",
                               sw_law_param(law, i), text);
    for (size_t i = 0; i < law->m; i++)
        for (size_t j = i + 1; j < law->m; j++)
            if (strcmp(law->column[i], law->column[j]) == 0)
                return sw_fail(e, SW_EINPUT, "law: column '%s' appears twice in '%s'",
                               law->column[i], text);
    return SW_OK;
}

size_t sw_law_nparams(const sw_law *law)
{
    return 1 + law->m + (law->offset[0] != '\0');
}

const char *sw_law_param(const sw_law *law, size_t j)
{
    if (j == 0)
        return law->prefactor;
    if (j <= law->m)
        return law->exponent[j - 1];
    return law->offset;
}

int sw_law_log_space(const sw_law *law)
{
    return law->offset[0] == '\0';
}

double sw_law_eval(const sw_law *law, const double *p, const double *x)
{
    double v = p[0];
    for (size_t j = 0; j < law->m; j++)
        v *= pow(x[j], p[1 + j]);
    return v + (sw_law_log_space(law) ? 0 : p[1 + law->m]);
}

static void law_model(const double *p, const double *x, double *f, double *dfdp, void *user)
{
    const sw_law *law = user;
    double prod = 1;
    for (size_t j = 0; j < law->m; j++)
        prod *= pow(x[j], p[1 + j]);
    *f = p[0] * prod + p[1 + law->m];
    if (dfdp) {
        dfdp[0] = prod;
        for (size_t j = 0; j < law->m; j++)
            dfdp[1 + j] = p[0] * prod * log(x[j]);
        dfdp[1 + law->m] = 1;
    }
}

/* The least-squares problem behind a law.  The log-log path owns a design
 * matrix and log y (in *store, freed by the caller); the nonlinear path
 * reads x and y as they are and needs p0 set. */
static int law_problem(const sw_law *law, const double *x, const double *y, size_t n,
                       sw_fit_problem *pb, double **store, sw_err *e)
{
    size_t m = law->m, k = sw_law_nparams(law);
    *store = NULL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            if (!(x[i * m + j] > 0))
                return sw_fail(e, SW_EINPUT, "law: column '%s' has the non-positive value %g "
                                             "(data row %zu); it is raised to a fitted power",
                               law->column[j], x[i * m + j], i + 1);
    memset(pb, 0, sizeof *pb);
    pb->n = n;
    pb->k = k;
    if (!sw_law_log_space(law)) {
        pb->X = x;
        pb->dx = m;
        pb->y = y;
        pb->model = law_model;
        pb->user = (void *)law;
        return SW_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (!(y[i] > 0))
            return sw_fail(e, SW_EINPUT, "law: y has the non-positive value %g (data row %zu); "
                                         "a law without offset is fitted in logarithms",
                           y[i], i + 1);
    double *s = malloc(n * (k + 1) * sizeof *s);
    if (!s)
        return sw_fail(e, SW_EFAIL, "out of memory");
    double *X = s, *ly = s + n * k;
    for (size_t i = 0; i < n; i++) {
        X[i * k] = 1;
        for (size_t j = 0; j < m; j++)
            X[i * k + 1 + j] = log(x[i * m + j]);
        ly[i] = log(y[i]);
    }
    pb->X = X;
    pb->y = ly;
    *store = s;
    return SW_OK;
}

/* Start for the offset law: exponents from a log-log fit of y shifted to
 * be positive, then prefactor and offset by linear least squares with the
 * exponents held, which leaves the solver only a local correction. */
static int law_start(const sw_law *law, const double *x, const double *y, size_t n, double *p0,
                     sw_err *e)
{
    size_t m = law->m, k = m + 2;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        lo = fmin(lo, y[i]);
        hi = fmax(hi, y[i]);
    }
    double shift = lo > 0 ? 0 : lo - 0.1 * (hi - lo) - DBL_MIN;
    double *ys = malloc(n * sizeof *ys), *D = malloc(2 * n * sizeof *D);
    if (!ys || !D) {
        free(ys);
        free(D);
        return sw_fail(e, SW_EFAIL, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        ys[i] = y[i] - shift;
    sw_law plain = *law;
    plain.offset[0] = '\0';
    sw_fit_result r = {0};
    int rc = sw_law_fit(&plain, x, ys, n, &r, e);
    if (rc == SW_OK) {
        for (size_t j = 0; j < m; j++)
            p0[1 + j] = r.p[1 + j];
        sw_fit_result_clear(&r);
        for (size_t i = 0; i < n; i++) {
            double prod = 1;
            for (size_t j = 0; j < m; j++)
                prod *= pow(x[i * m + j], p0[1 + j]);
            D[2 * i] = prod;
            D[2 * i + 1] = 1;
        }
        sw_fit_problem lin = {.n = n, .k = 2, .y = y, .X = D};
        rc = sw_fit_solve(&lin, &r, e);
        if (rc == SW_OK) {
            p0[0] = r.p[0];
            p0[k - 1] = r.p[1];
        }
    }
    sw_fit_result_clear(&r);
    free(ys);
    free(D);
    return rc;
}

static void law_report(const sw_law *law, sw_fit_result *r, const double *x)
{
    if (!sw_law_log_space(law))
        return;
    r->p[0] = exp(r->p[0]);
    r->lo[0] = exp(r->lo[0]);
    r->hi[0] = exp(r->hi[0]);
    for (size_t i = 0; i < r->n; i++)
        r->fitted[i] = sw_law_eval(law, r->p, x + i * law->m);
}

int sw_law_fit(const sw_law *law, const double *x, const double *y, size_t n,
               sw_fit_result *r, sw_err *e)
{
    memset(r, 0, sizeof *r);
    sw_fit_problem pb;
    double *store, p0[SW_LAW_MAX_FACTORS + 2];
    int rc = law_problem(law, x, y, n, &pb, &store, e);
    if (rc)
        return rc;
    if (pb.model) {
        if (n <= pb.k)
            return sw_fail(e, SW_EINPUT, "fit: %zu points for %zu parameters (need at least "
                                         "%zu)", n, pb.k, pb.k + 1);
        if ((rc = law_start(law, x, y, n, p0, e)))
            return rc;
        pb.p0 = p0;
    }
    rc = sw_fit_solve(&pb, r, e);
    free(store);
    if (rc == SW_OK)
        law_report(law, r, x);
    return rc;
}

int sw_law_bootstrap(const sw_law *law, const double *x, const double *y, size_t n,
                     const sw_fit_result *est, size_t reps, unsigned long seed, double *lo,
                     double *hi, size_t *failed, sw_err *e)
{
    sw_fit_problem pb;
    double *store;
    int rc = law_problem(law, x, y, n, &pb, &store, e);
    if (rc)
        return rc;
    pb.p0 = est->p;
    rc = sw_fit_bootstrap(&pb, reps, seed, lo, hi, failed, e);
    free(store);
    if (rc == SW_OK && sw_law_log_space(law)) {
        lo[0] = exp(lo[0]);
        hi[0] = exp(hi[0]);
    }
    return rc;
}
