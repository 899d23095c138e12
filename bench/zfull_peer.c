/* stagewise's own z-full vector field for SciPy's solve_ivp (ctypes), so the
 * peer integrates literally the same equations (as bench/cvode_run.c does for
 * CVODE).  bench/zfull.sh builds it as a shared object.
 *
 *   zp_make("d=128", "T=256", ...)  -> state dimension, or 0 on bad input
 *   zp_init(x)                        the system's own start
 *   zp_rhs(x, f)                      f = dx/dt
 *   zp_loss(x)                        the loss */
#include <stdio.h>

#include "stagewise/system.h"

static sw_model *model;

size_t zp_make(int n, const char **keys, const char **vals)
{
    sw_err e;
    if (sw_model_alloc(sw_system_find("z-full"), (size_t)n, keys, vals, &model, &e)) {
        fprintf(stderr, "zfull_peer: %s\n", e.msg);
        return 0;
    }
    return model->dim;
}

void zp_init(double *x)
{
    model->sys->init(model, x);
}

int zp_rhs(const double *x, double *f)
{
    return model->sys->rhs(model, x, f);
}

double zp_loss(const double *x)
{
    return model->sys->loss(model, x);
}
