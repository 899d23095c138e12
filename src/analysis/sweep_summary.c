/* A sweep's replicates summarised: the median and quartiles of every value
 * over the seed axis, one row per setting of the other axes.  Emergence
 * is stochastic; a law is fitted to the medians, and the quartiles say how
 * far single seeds scatter around them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stagewise/sweep.h"
#include "sweep_impl.h"

static int seed_axis(const sw_sweep *s)
{
    for (size_t a = 0; a < s->n_axes; a++)
        if (s->axes[a].param == s->seed_param)
            return (int)a;
    return -1;
}

int sw_sweep_summary_check(const sw_sweep *s, sw_err *e)
{
    if (s->seed_param < 0 || seed_axis(s) < 0)
        return sw_fail(e, SW_EINPUT,
                       "summary: needs replicates, a seed axis (allowed: e.g. seed=1:10:10%s)",
                       s->seed_param < 0 ? "; this system has no seed" : "");
    return SW_OK;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile q of the n sorted values x (linear interpolation between order
 * statistics, numpy's default).  A replicate without a value sorts as
 * +inf: it is later than every reached one.  A quantile that touches one
 * is unknown (NaN). */
static double quantile(const double *x, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    double f = h - (double)lo;
    if (f == 0)
        return isfinite(x[lo]) ? x[lo] : NAN;
    if (!isfinite(x[lo]) || !isfinite(x[lo + 1]))
        return NAN;
    return x[lo] + f * (x[lo + 1] - x[lo]);
}

int sw_sweep_write_summary(const sw_sweep *s, const double *values, FILE *fp, sw_err *e)
{
    int rc = sw_sweep_summary_check(s, e);
    if (rc)
        return rc;
    size_t sa = (size_t)seed_axis(s), nr = s->axes[sa].values.n, stride = 1;
    for (size_t b = sa + 1; b < s->n_axes; b++)
        stride *= s->axes[b].values.n;
    double *x = malloc(nr * sizeof *x);
    if (!x)
        return sw_fail(e, SW_EFAIL, "out of memory");
    char tmp[32];

    sw_sweep_write_provenance(s, fp);
    fprintf(fp, "# summary = over the seed axis (%zu replicates): per value C, C_median, "
                "C_q25, C_q75 (linear interpolation between order statistics) and C_n (the "
                "replicates with a value); a replicate without one counts as later than every "
                "other, and a statistic that falls on such replicates is nan\n",
            nr);
    const char *sep = "";
    for (size_t a = 0; a < s->n_axes; a++)
        if (a != sa) {
            fprintf(fp, "%s%s", sep, s->sys->params[s->axes[a].param].name);
            sep = ",";
        }
    fprintf(fp, "%sreplicates", sep);
    for (size_t j = 0; j < s->n_values; j++) {
        const char *c = sw_sweep_value_name(s, j);
        fprintf(fp, ",%s_median,%s_q25,%s_q75,%s_n", c, c, c, c);
    }
    fputc('\n', fp);

    size_t groups = s->n_points / nr;
    for (size_t g = 0; g < groups; g++) {
        size_t p0 = g / stride * stride * nr + g % stride;
        sep = "";
        for (size_t a = 0; a < s->n_axes; a++)
            if (a != sa) {
                fprintf(fp, "%s%s", sep, sw_sweep_num(sw_sweep_axis_value(s, a, p0), tmp));
                sep = ",";
            }
        fprintf(fp, "%s%zu", sep, nr);
        for (size_t j = 0; j < s->n_values; j++) {
            size_t have = 0;
            for (size_t k = 0; k < nr; k++) {
                double v = values[(p0 + k * stride) * s->n_values + j];
                have += !isnan(v);
                x[k] = isnan(v) ? INFINITY : v;
            }
            qsort(x, nr, sizeof *x, by_value);
            fprintf(fp, ",%s", sw_sweep_num(quantile(x, nr, 0.5), tmp));
            fprintf(fp, ",%s", sw_sweep_num(quantile(x, nr, 0.25), tmp));
            fprintf(fp, ",%s,%zu", sw_sweep_num(quantile(x, nr, 0.75), tmp), have);
        }
        fputc('\n', fp);
    }
    free(x);
    return SW_OK;
}
