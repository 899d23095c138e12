#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stagewise/stages.h"

void sw_stages_opts_default(sw_stages_opts *o)
{
    o->max_slope = 0.1;
    o->min_decades = 0.5;
    o->min_drop = 1.2;
    o->shoulder = 0.2;
}

/* Half-width, in decades, of the window over which the log-log slope is
 * measured: wide enough to average over SGD noise in trainer curves, narrow
 * next to the shortest plateau we accept. */
#define SLOPE_HALF_DECADES 0.05

/* How far, in decades, a shoulder looks for the transitions that frame it:
 * stages of these flows that merge into shoulders sit within a decade of
 * their neighbours (y-reduced at gamma = 1.5: a quarter of a decade). */
#define SHOULDER_DECADES 1.0

/* The steepest |slope| within `reach` (in log t) of point i, on the side
 * dir (-1 before, +1 after); 0 when there is no point on that side. */
static double steepest(const double *lt, const double *slope, size_t m, size_t i, int dir,
                       double reach)
{
    double top = 0;
    for (size_t j = i; dir < 0 ? j-- > 0 : ++j < m;) {
        if (fabs(lt[j] - lt[i]) > reach)
            break;
        top = fmax(top, fabs(slope[j]));
    }
    return top;
}

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
    double *slope = malloc(m * sizeof *slope), *slow = malloc(m * sizeof *slow);
    out->plateaus = malloc(m * sizeof *out->plateaus);
    out->t_transition = malloc(m * sizeof *out->t_transition);
    if (!lt || !L || !ll || !slope || !slow || !out->plateaus || !out->t_transition) {
        free(lt), free(L), free(ll), free(slope), free(slow);
        sw_stages_clear(out);
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
        slope[i] = (ll[b] - ll[a]) / (lt[b] - lt[a]);
    }

    /* A plateau point is where the curve is slowest within a window of
     * min_decades around it, and slow enough.  Real stages of these flows
     * are often brief (a fraction of a decade) and approached like 1/t, so
     * "flat for a long stretch" misses them while "locally slowest" does
     * not.  When two patterns are learned close together (importances
     * nearly equal) the stage between them never flattens fully: it is a
     * shoulder, slow only against the falls that frame it, so "slow
     * enough" is also relative to those.  Its extent is the run of points
     * around it that are slow by the same measure. */
    const double half_win = 0.5 * o->min_decades * log(10.0);
    const double reach = SHOULDER_DECADES * log(10.0);
    size_t np = 0;
    for (size_t i = 0; i < m; i++) {
        double si = fabs(slope[i]), thr = o->max_slope;
        if (!(si < thr) && o->shoulder > 0)
            thr = o->shoulder * fmin(steepest(lt, slope, m, i, -1, reach),
                                     steepest(lt, slope, m, i, +1, reach));
        if (!(si < thr))
            continue;
        int slowest = 1;
        for (size_t j = i; j-- > 0 && lt[i] - lt[j] <= half_win && slowest;)
            slowest = fabs(slope[j]) > si;
        for (size_t j = i + 1; j < m && lt[j] - lt[i] <= half_win && slowest; j++)
            slowest = fabs(slope[j]) >= si;
        if (!slowest)
            continue;
        size_t b = i, en = i;
        while (b > 0 && fabs(slope[b - 1]) < thr)
            b--;
        while (en + 1 < m && fabs(slope[en + 1]) < thr)
            en++;
        sw_plateau p = {first + b, first + en, t[first + b], t[first + en], L[i]};
        /* One slow stretch, or two whose levels hardly differ, is one
         * plateau; it keeps the level of its slowest point. */
        sw_plateau *q = np ? &out->plateaus[np - 1] : NULL;
        if (q && (q->i_end >= p.i_begin || q->level / p.level < o->min_drop)) {
            if (si < slow[np - 1]) {
                q->level = p.level;
                slow[np - 1] = si;
            }
            q->i_end = p.i_end;
            q->t_end = p.t_end;
        } else {
            slow[np] = si;
            out->plateaus[np++] = p;
        }
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
    free(lt), free(L), free(ll), free(slope), free(slow);
    return SW_OK;
}

void sw_stages_clear(sw_stages *s)
{
    free(s->plateaus);
    free(s->t_transition);
    memset(s, 0, sizeof *s);
}
