/* dx/dt = A x + b: the reference system.  Its flow is known in closed form,
 * so every integrator, the event locator and the saddle analyses can be
 * checked against exact answers; with eigenvalues of both signs the fixed
 * point -A^{-1} b is a hyperbolic saddle. */
#include <stdlib.h>

#include "systems.h"

/* Positions in params[], for the inner loop (no lookups by name there). */
enum { P_N, P_A, P_B, P_X0 };

static const sw_param_def params[] = {
    {"n", SW_PARAM_INT, "2", 1, 64, "dimension of the state"},
    {"A", SW_PARAM_LIST, "-1,0,0,0.5", -1e6, 1e6, "n*n entries of A, row by row"},
    {"b", SW_PARAM_LIST, "0,0", -1e6, 1e6, "n entries of b"},
    {"x0", SW_PARAM_LIST, "1,0", -1e6, 1e6,
     "n entries of the initial state (the default lies on the saddle's stable manifold, so a "
     "run of any length ends at the saddle; x0=1,0.001 leaves it along x_2)"},
};

static int check_len(const sw_model *m, const char *name, size_t want, sw_err *e)
{
    size_t got = sw_model_value(m, name)->n;
    if (got != want)
        return sw_fail(e, SW_EINPUT, "%s: expected %zu values for n = %zu, got %zu", name, want,
                       (size_t)sw_model_get(m, "n"), got);
    return SW_OK;
}

static int setup(sw_model *m, sw_err *e)
{
    size_t n = (size_t)sw_model_get(m, "n");
    int rc;
    if ((rc = check_len(m, "A", n * n, e)) || (rc = check_len(m, "b", n, e)) ||
        (rc = check_len(m, "x0", n, e)))
        return rc;
    if (sw_model_shape(m, n, n, 0))
        return sw_fail(e, SW_EFAIL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        sw_model_name_state(m, i, "x_%zu", i + 1);
        sw_model_name_obs(m, i, "x_%zu", i + 1);
    }
    return SW_OK;
}

static void init(const sw_model *m, double *x)
{
    const sw_value *x0 = sw_model_value(m, "x0");
    for (size_t i = 0; i < m->dim; i++)
        x[i] = x0->v[i];
}

static int rhs(const sw_model *m, const double *x, double *f)
{
    const double *A = m->pv[P_A].v, *b = m->pv[P_B].v;
    size_t n = m->dim;
    for (size_t i = 0; i < n; i++) {
        double s = b[i];
        for (size_t j = 0; j < n; j++)
            s += A[i * n + j] * x[j];
        f[i] = s;
    }
    return 0;
}

static int jac(const sw_model *m, const double *x, double *J)
{
    (void)x;
    const double *A = m->pv[P_A].v;
    for (size_t i = 0; i < m->dim * m->dim; i++)
        J[i] = A[i];
    return 0;
}

/* No gradient flow here; half the squared norm gives `loss` a meaning that
 * thresholds and plots can use. */
static double loss(const sw_model *m, const double *x)
{
    double s = 0;
    for (size_t i = 0; i < m->dim; i++)
        s += x[i] * x[i];
    return 0.5 * s;
}

static void observe(const sw_model *m, const double *x, double *obs)
{
    for (size_t i = 0; i < m->dim; i++)
        obs[i] = x[i];
}

const sw_system sw_system_linear = {
    .name = "linear",
    .summary = "dx/dt = A x + b, the closed-form reference (a saddle when A has eigenvalues of "
               "both signs)",
    .doc = "State x_1..x_n. loss = |x|^2 / 2 (not a gradient flow). Observables x_1..x_n.",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .jac_doc = "analytic (A)",
    .setup = setup,
    .teardown = NULL,
    .init = init,
    .rhs = rhs,
    .jac = jac,
    .loss = loss,
    .observe = observe,
};
