#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stagewise/stages.h"

void sw_stages_opts_default(sw_stages_opts *o)
{
    o->max_slope = 0.05;
    o->min_decades = 0.3;
    o->min_drop = 1.2;
}

/* Half-width, in decades, of the window over which the log-log slope is
 * measured: wide enough to average over SGD noise in trainer curves, narrow
 * next to the shortest plateau we accept. */
#define SLOPE_HALF_DECADES 0.05

/* Time at which the loss first crosses `level` going down between i0 and
 * i1, interpolating linearly in log t. */
static double crossing(const double *lt, const double *L, size_t i0, size_t i1, double level)
{
    for (size_t i = i0; i < i1; i++)
        if (L[i] >= level && L[i + 1] < level) {
            double f = (L[i] - level) / (L[i] - L[i + 1]);
            return exp(lt[i] + f * (lt[i + 1] - lt[i]));
        }
    return exp(lt[i1]);
}

int sw_stages_detect(const double *t, const double *loss, size_t n, const sw_stages_opts *o,
                     sw_stages *out, sw_err *e)
{
    memset(out, 0, sizeof *out);
    size_t first = 0;
    while (first < n && !(t[first] > 0))
        first++;
    size_t m = n - first;
    if (m < 3)
        return sw_fail(e, SW_EINPUT, "stages: need at least 3 points with t > 0, got %zu", m);
    double *lt = malloc(m * sizeof *lt), *L = malloc(m * sizeof *L), *ll = malloc(m * sizeof *ll);
    unsigned char *flat = malloc(m);
    out->plateaus = malloc(m * sizeof *out->plateaus);
    out->t_transition = malloc(m * sizeof *out->t_transition);
    if (!lt || !L || !ll || !flat || !out->plateaus || !out->t_transition) {
        free(lt), free(L), free(ll), free(flat);
        sw_stages_free(out);
        return sw_fail(e, SW_EFAIL, "out of memory");
    }
    double floor_ = INFINITY;
    for (size_t i = 0; i < m; i++)
        if (loss[first + i] > 0 && loss[first + i] < floor_)
            floor_ = loss[first + i];
    if (!isfinite(floor_))
        floor_ = 1e-300;
    for (size_t i = 0; i < m; i++) {
        lt[i] = log(t[first + i]);
        L[i] = fmax(loss[first + i], floor_);
        ll[i] = log(L[i]);
    }

    const double half = SLOPE_HALF_DECADES * log(10.0);
    size_t lo = 0, hi = 0;
    for (size_t i = 0; i < m; i++) {
        while (lt[i] - lt[lo] > half)
            lo++;
        if (hi < i)
            hi = i;
        while (hi + 1 < m && lt[hi + 1] - lt[i] <= half)
            hi++;
        size_t a = lo == i && i > 0 ? i - 1 : lo, b = hi == i && i + 1 < m ? i + 1 : hi;
        double slope = (ll[b] - ll[a]) / (lt[b] - lt[a]);
        flat[i] = fabs(slope) < o->max_slope;
    }

    const double min_span = o->min_decades * log(10.0);
    size_t np = 0;
    for (size_t i = 0; i < m;) {
        if (!flat[i]) {
            i++;
            continue;
        }
        size_t j = i;
        while (j + 1 < m && flat[j + 1])
            j++;
        if (lt[j] - lt[i] >= min_span) {
            double s = 0;
            for (size_t k = i; k <= j; k++)
                s += ll[k];
            sw_plateau p = {first + i, first + j, t[first + i], t[first + j],
                            exp(s / (double)(j - i + 1))};
            /* A slow stretch inside one stage can break a plateau in two;
             * levels that hardly differ are the same plateau. */
            if (np && out->plateaus[np - 1].level / p.level < o->min_drop) {
                sw_plateau *q = &out->plateaus[np - 1];
                size_t n0 = q->i_end - q->i_begin + 1, n1 = j - i + 1;
                q->level = exp((n0 * log(q->level) + n1 * log(p.level)) / (double)(n0 + n1));
                q->i_end = p.i_end;
                q->t_end = p.t_end;
            } else {
                out->plateaus[np++] = p;
            }
        }
        i = j + 1;
    }
    out->n_plateaus = np;

    size_t nt = 0;
    for (size_t k = 0; k + 1 < np; k++) {
        sw_plateau *a = &out->plateaus[k], *b = &out->plateaus[k + 1];
        out->t_transition[nt++] = crossing(lt, L, a->i_end - first, b->i_begin - first,
                                           0.5 * (a->level + b->level));
    }
    /* A curve that leaves its last plateau and keeps falling (to zero loss,
     * say) has one more transition, measured against where it ends. */
    if (np) {
        sw_plateau *a = &out->plateaus[np - 1];
        if (L[m - 1] * o->min_drop < a->level && L[m - 1] < 0.5 * a->level)
            out->t_transition[nt++] =
                crossing(lt, L, a->i_end - first, m - 1, 0.5 * (a->level + L[m - 1]));
    }
    out->n_transitions = nt;
    free(lt), free(L), free(ll), free(flat);
    return SW_OK;
}

void sw_stages_free(sw_stages *s)
{
    free(s->plateaus);
    free(s->t_transition);
    memset(s, 0, sizeof *s);
}
