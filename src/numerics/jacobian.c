#include <float.h>
#include <math.h>
#include <string.h>

#include "jacobian.h"

int sw_jacobian_fd(const sw_model *m, const double *x, double *J, double *work)
{
    size_t n = m->dim;
    double *xp = work, *fp = work + n;
    /* f(x+h) is parked in column j of J and replaced by the difference once
     * f(x-h) is known, so no third vector is needed. */
    memcpy(xp, x, n * sizeof *xp);
    for (size_t j = 0; j < n; j++) {
        double h = cbrt(DBL_EPSILON) * fmax(fabs(x[j]), 1.0);
        xp[j] = x[j] + h;
        /* Recompute h as the step actually representable in floating point. */
        double hp = xp[j] - x[j];
        if (m->sys->rhs(m, xp, fp))
            return SW_ENUMERIC;
        for (size_t i = 0; i < n; i++)
            J[i * n + j] = fp[i];
        xp[j] = x[j] - h;
        double hm = x[j] - xp[j];
        if (m->sys->rhs(m, xp, fp))
            return SW_ENUMERIC;
        for (size_t i = 0; i < n; i++)
            J[i * n + j] = (J[i * n + j] - fp[i]) / (hp + hm);
        xp[j] = x[j];
    }
    return SW_OK;
}

int sw_jacobian_eval(const sw_model *m, const double *x, double *J, double *work)
{
    if (m->sys->jac)
        return m->sys->jac(m, x, J) ? SW_ENUMERIC : SW_OK;
    return sw_jacobian_fd(m, x, J, work);
}
