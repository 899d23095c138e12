/* A system defined outside stagewise, built against the installed library:
 *
 *   cc saddle2d.c $(pkg-config --cflags --libs stagewise) -o saddle2d
 *
 * The gradient flow of L(x, y) = x^4/4 - x^2/2 + y^2/2, i.e.
 * dx/dt = x - x^3, dy/dt = -y: a saddle at the origin (eigenvalues 1 and
 * -1) between the minima (+-1, 0), where L = -1/4.  The program integrates
 * it from next to the saddle's stable manifold, then prints the spectrum
 * at the origin and at the minimum it reached. */
#include <stdio.h>
#include <stdlib.h>

#include <stagewise/stagewise.h>

static const sw_param_def params[] = {
    {"x0", SW_PARAM_REAL, "1e-3", -10, 10, "initial x"},
    {"y0", SW_PARAM_REAL, "1", -10, 10, "initial y"},
};

static int setup(sw_model *m, sw_err *e)
{
    if (sw_model_shape(m, 2, 2, 0))
        return sw_fail(e, SW_EFAIL, "out of memory");
    sw_model_name_state(m, 0, "x");
    sw_model_name_state(m, 1, "y");
    sw_model_name_obs(m, 0, "x");
    sw_model_name_obs(m, 1, "y");
    return SW_OK;
}

static void init(const sw_model *m, double *x)
{
    x[0] = sw_model_get(m, "x0");
    x[1] = sw_model_get(m, "y0");
}

static int rhs(const sw_model *m, const double *x, double *f)
{
    (void)m;
    f[0] = x[0] - x[0] * x[0] * x[0];
    f[1] = -x[1];
    return 0;
}

static int jac(const sw_model *m, const double *x, double *J)
{
    (void)m;
    J[0] = 1 - 3 * x[0] * x[0];
    J[1] = 0;
    J[2] = 0;
    J[3] = -1;
    return 0;
}

static double loss(const sw_model *m, const double *x)
{
    (void)m;
    return x[0] * x[0] * x[0] * x[0] / 4 - x[0] * x[0] / 2 + x[1] * x[1] / 2;
}

static void observe(const sw_model *m, const double *x, double *obs)
{
    (void)m;
    obs[0] = x[0];
    obs[1] = x[1];
}

static const sw_system saddle2d = {
    .name = "saddle2d",
    .summary = "gradient flow of x^4/4 - x^2/2 + y^2/2",
    .doc = "State x, y.",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .jac_doc = "analytic",
    .setup = setup,
    .init = init,
    .rhs = rhs,
    .jac = jac,
    .loss = loss,
    .observe = observe,
};

static int spectrum(const sw_model *m, const char *where, const double *x, sw_err *e)
{
    sw_spectrum sp;
    int rc = sw_spectrum_eval(m, x, 0, 1e-8, &sp, e);
    if (rc == SW_OK) {
        printf("spectrum at %s (%.6g, %.6g):", where, x[0], x[1]);
        for (size_t i = 0; i < sp.n; i++)
            printf(" %.10g", sp.ev->re[i]);
        printf("; Morse index %zu\n", sp.morse);
    }
    sw_spectrum_clear(&sp);
    return rc;
}

int main(void)
{
    sw_init();
    printf("stagewise %s (headers %s)\n", sw_version(), STAGEWISE_VERSION);
    sw_err e;
    sw_model *m = NULL;
    sw_ode *ode = NULL;
    sw_traj traj = {.dim = 2};
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    o.solver = "rk8pd";
    o.t_end = 30;
    o.points = 7;
    o.log_grid = 0;
    o.rtol = 1e-10;
    o.atol = 1e-12;
    double x[2], origin[2] = {0, 0};
    int rc = sw_model_alloc(&saddle2d, 0, NULL, NULL, &m, &e);
    if (rc == SW_OK && !(ode = sw_ode_alloc(m, &o, &e)))
        rc = SW_EFAIL;
    if (rc == SW_OK) {
        m->sys->init(m, x);
        rc = sw_ode_run(ode, x, sw_traj_record, &traj, NULL, &e);
    }
    if (rc == SW_OK) {
        printf("%4s %22s %22s %22s\n", "t", "x", "y", "loss");
        for (size_t i = 0; i < traj.n; i++) {
            const double *xi = traj.x + i * traj.dim;
            printf("%4g %22.15g %22.15g %22.15g\n", traj.t[i], xi[0], xi[1], loss(m, xi));
        }
        rc = spectrum(m, "the saddle", origin, &e);
    }
    if (rc == SW_OK)
        rc = spectrum(m, "the end", x, &e);
    if (rc)
        fprintf(stderr, "saddle2d: %s\n", e.msg);
    sw_traj_clear(&traj);
    sw_ode_free(ode);
    sw_model_free(m);
    return rc;
}
