#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "stagewise/eigen.h"
#include "stagewise/escape.h"

int sw_escape_symmetric_base(const sw_model *m, double *x, sw_err *e)
{
    sw_heads hs;
    int rc = sw_heads_find(m, &hs, e);
    if (rc)
        return rc;
    sw_heads_copy_first(&hs, x);
    sw_heads_clear(&hs);
    return SW_OK;
}

int sw_escape_random_direction(const sw_model *m, unsigned long seed, int break_symmetry,
                               double *v, sw_err *e)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng)
        return sw_fail(e, SW_EFAIL, "out of memory");
    gsl_rng_set(rng, seed);
    for (size_t i = 0; i < m->dim; i++)
        v[i] = gsl_ran_gaussian(rng, 1.0);
    gsl_rng_free(rng);
    if (break_symmetry) {
        sw_heads hs;
        int rc = sw_heads_find(m, &hs, e);
        if (rc)
            return rc;
        sw_heads_break(&hs, v);
        sw_heads_clear(&hs);
    }
    double norm = 0;
    for (size_t i = 0; i < m->dim; i++)
        norm += v[i] * v[i];
    if (!(norm > 0))
        return sw_fail(e, SW_EINPUT, "direction: the random direction has no "
                                     "symmetry-breaking part");
    for (size_t i = 0; i < m->dim; i++)
        v[i] /= sqrt(norm);
    return SW_OK;
}

int sw_escape_parse_eps(const char *text, double **eps, size_t *n, sw_err *e)
{
    *eps = NULL;
    *n = 0;
    char buf[3][64];
    const char *p = text;
    for (int k = 0; k < 3; k++) {
        const char *colon = k < 2 ? strchr(p, ':') : p + strlen(p);
        if (!colon || (size_t)(colon - p) >= sizeof buf[k])
            return sw_fail(e, SW_EINPUT, "eps: '%s' is not A:B:N (e.g. 1e-1:1e-9:17)", text);
        memcpy(buf[k], p, (size_t)(colon - p));
        buf[k][colon - p] = '\0';
        p = colon + 1;
    }
    double a, b, nn;
    int rc;
    if ((rc = sw_parse_real_in(buf[0], "eps A", 1e-300, 1e300, &a, e)) ||
        (rc = sw_parse_real_in(buf[1], "eps B", 1e-300, 1e300, &b, e)) ||
        (rc = sw_parse_real_in(buf[2], "eps N", 2, 1e6, &nn, e)))
        return rc;
    if (nn != floor(nn))
        return sw_fail(e, SW_EINPUT, "eps: N = '%s' is not an integer", buf[2]);
    if (a == b)
        return sw_fail(e, SW_EINPUT, "eps: A and B are equal in '%s'", text);
    *n = (size_t)nn;
    *eps = malloc(*n * sizeof **eps);
    if (!*eps)
        return sw_fail(e, SW_EFAIL, "out of memory");
    for (size_t i = 0; i < *n; i++)
        (*eps)[i] = a * pow(b / a, (double)i / (double)(*n - 1));
    (*eps)[*n - 1] = b; /* exact, whatever pow rounded to */
    return SW_OK;
}

int sw_escape_times(sw_model *m, const sw_ode_opts *o, const double *base, const double *dir,
                    const double *eps, size_t n, double *times, sw_escape_tick tick,
                    void *user, sw_err *e)
{
    if (!o->until.active)
        return sw_fail(e, SW_EINPUT, "escape: a stopping condition (--until) is needed");
    sw_ode_opts q = *o;
    q.points = 2; /* nothing is written: one stretch from 0 to t_end */
    q.t_first = 0;
    size_t dim = m->dim;
    double *x = malloc(dim * sizeof *x);
    sw_ode *ode = x ? sw_ode_alloc(m, &q, e) : NULL;
    if (!x || !ode) {
        free(x);
        return x ? SW_EFAIL : sw_fail(e, SW_EFAIL, "out of memory");
    }
    int rc = SW_OK;
    for (size_t i = 0; i < n && rc == SW_OK; i++) {
        for (size_t j = 0; j < dim; j++)
            x[j] = base[j] + eps[i] * dir[j];
        sw_ode_stats st;
        rc = sw_ode_run(ode, x, NULL, NULL, &st, e);
        if (rc) {
            sw_err inner = *e;
            sw_fail(e, rc, "escape from eps = %g: %s", eps[i], inner.msg);
        }
        times[i] = st.event_hit ? st.event_t : NAN;
        if (tick)
            tick(i + 1, n, user);
    }
    sw_ode_free(ode);
    free(x);
    return rc;
}

double sw_escape_law_eval(int law, const double *p, double eps)
{
    double L = log(1 / eps);
    switch (law) {
    case SW_ESCAPE_LOG:
        return p[0] + p[1] * L;
    case SW_ESCAPE_LOG2:
        return p[0] + p[1] * L * L;
    default:
        return p[0] + p[1] * exp(p[2] * L);
    }
}

/* a + b exp(c L) with L = ln(1/eps) the input: eps^(-c) without pow. */
static void power_model(const double *p, const double *x, double *f, double *dfdp, void *user)
{
    (void)user;
    double g = exp(p[2] * x[0]);
    *f = p[0] + p[1] * g;
    if (dfdp) {
        dfdp[0] = 1;
        dfdp[1] = g;
        dfdp[2] = p[1] * x[0] * g;
    }
}

void sw_escape_laws_clear(sw_escape_law laws[SW_ESCAPE_NLAWS])
{
    for (int k = 0; k < SW_ESCAPE_NLAWS; k++)
        sw_fit_result_clear(&laws[k].fit);
}

/* Straight-line fit of t against g(L) for the laws linear in (a, b). */
static int fit_ab(const double *g, const double *t, size_t n, double *X, sw_fit_result *r,
                  sw_err *e)
{
    for (size_t i = 0; i < n; i++) {
        X[2 * i] = 1;
        X[2 * i + 1] = g[i];
    }
    sw_fit_problem pb = {.n = n, .k = 2, .y = t, .X = X};
    return sw_fit_solve(&pb, r, e);
}

/* Exponents of the start grid for the power law: from nearly the log law
 * (small c) to a steep power. */
#define C_GRID 60
#define C_MIN 1e-3
#define C_MAX 3.0

int sw_escape_fit(const double *eps, const double *times, size_t n,
                  sw_escape_law laws[SW_ESCAPE_NLAWS], int *best, sw_err *e)
{
    static const char *keys[] = {"log", "log2", "power"};
    static const char *formulas[] = {"a + b ln(1/eps)", "a + b ln(1/eps)^2", "a + b eps^(-c)"};
    static const char *params[] = {"ab", "ab", "abc"};
    memset(laws, 0, SW_ESCAPE_NLAWS * sizeof *laws);
    for (int k = 0; k < SW_ESCAPE_NLAWS; k++) {
        laws[k].key = keys[k];
        laws[k].formula = formulas[k];
        laws[k].params = params[k];
    }
    *best = -1;
    double *L = malloc(n * sizeof *L), *t = malloc(n * sizeof *t), *g = malloc(n * sizeof *g);
    double *X = malloc(2 * n * sizeof *X);
    if (!L || !t || !g || !X) {
        free(L), free(t), free(g), free(X);
        return sw_fail(e, SW_EFAIL, "out of memory");
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(times[i])) {
            L[m] = log(1 / eps[i]);
            t[m++] = times[i];
        }
    if (m < 4) {
        for (int k = 0; k < SW_ESCAPE_NLAWS; k++)
            snprintf(laws[k].why, sizeof laws[k].why,
                     "%zu escape times reached the condition, 4 are needed", m);
    } else {
        sw_err fe;
        for (size_t i = 0; i < m; i++)
            g[i] = L[i];
        if (!(laws[SW_ESCAPE_LOG].ok = !fit_ab(g, t, m, X, &laws[SW_ESCAPE_LOG].fit, &fe)))
            snprintf(laws[SW_ESCAPE_LOG].why, sizeof laws[SW_ESCAPE_LOG].why, "%s", fe.msg);
        for (size_t i = 0; i < m; i++)
            g[i] = L[i] * L[i];
        if (!(laws[SW_ESCAPE_LOG2].ok = !fit_ab(g, t, m, X, &laws[SW_ESCAPE_LOG2].fit, &fe)))
            snprintf(laws[SW_ESCAPE_LOG2].why, sizeof laws[SW_ESCAPE_LOG2].why, "%s", fe.msg);

        /* For fixed c the power law is a straight line in exp(c L): the
         * best c of a grid starts the nonlinear fit near its optimum. */
        double p0[3] = {0, 0, 0}, best_rss = INFINITY;
        for (int j = 0; j < C_GRID; j++) {
            double c = C_MIN * pow(C_MAX / C_MIN, (double)j / (C_GRID - 1));
            for (size_t i = 0; i < m; i++)
                g[i] = exp(c * L[i]);
            sw_fit_result r;
            if (fit_ab(g, t, m, X, &r, &fe) == SW_OK) {
                if (r.rss < best_rss) {
                    best_rss = r.rss;
                    p0[0] = r.p[0];
                    p0[1] = r.p[1];
                    p0[2] = c;
                }
                sw_fit_result_clear(&r);
            }
        }
        sw_escape_law *pw = &laws[SW_ESCAPE_POWER];
        sw_fit_problem pb = {.n = m, .k = 3, .y = t, .X = L, .dx = 1, .model = power_model,
                             .p0 = p0};
        if (!isfinite(best_rss))
            snprintf(pw->why, sizeof pw->why, "no exponent c in [%g, %g] gives a fit", C_MIN,
                     C_MAX);
        else if (!(pw->ok = !sw_fit_solve(&pb, &pw->fit, &fe)))
            snprintf(pw->why, sizeof pw->why, "%s (from c = %.3g)", fe.msg, p0[2]);
        else if (!(pw->fit.p[2] > 0)) {
            pw->ok = 0;
            snprintf(pw->why, sizeof pw->why,
                     "the exponent went to c = %.3g <= 0, where the law is not a power",
                     pw->fit.p[2]);
            sw_fit_result_clear(&pw->fit);
        }
    }
    for (int k = 0; k < SW_ESCAPE_NLAWS; k++)
        if (laws[k].ok && (*best < 0 || laws[k].fit.aic < laws[*best].fit.aic))
            *best = k;
    free(L), free(t), free(g), free(X);
    return SW_OK;
}
