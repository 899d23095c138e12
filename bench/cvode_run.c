/* Peer benchmark: SUNDIALS CVODE (BDF, dense direct solver, CVODE's own
 * difference-quotient Jacobian) on a stagewise system's vector field, so
 * both integrators see exactly the same equations and start.
 *
 *   cvode_run SYSTEM RTOL ATOL T_END INIT_FILE [KEY=VALUE ...]
 *
 * Prints: final loss, wall and CPU seconds, steps, rhs evaluations.  Built on
 * demand by bench/ode.sh; not part of the library or the tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cvode/cvode.h>
#include <nvector/nvector_serial.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunmatrix/sunmatrix_dense.h>

#include "stagewise/system.h"

static int rhs(sunrealtype t, N_Vector x, N_Vector f, void *user)
{
    (void)t;
    const sw_model *m = user;
    return m->sys->rhs(m, N_VGetArrayPointer(x), N_VGetArrayPointer(f)) ? -1 : 0;
}

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: cvode_run SYSTEM RTOL ATOL T_END INIT_FILE [KEY=VALUE ...]\n");
        return 2;
    }
    const sw_system *sys = sw_system_find(argv[1]);
    if (!sys) {
        fprintf(stderr, "cvode_run: unknown system %s\n", argv[1]);
        return 2;
    }
    double rtol = atof(argv[2]), atol = atof(argv[3]), t_end = atof(argv[4]);
    int np = argc - 6;
    const char **keys = calloc((size_t)np + 1, sizeof *keys), **vals = calloc((size_t)np + 1, sizeof *vals);
    for (int i = 0; i < np; i++) {
        char *eq = strchr(argv[6 + i], '=');
        *eq = '\0';
        keys[i] = argv[6 + i];
        vals[i] = eq + 1;
    }
    sw_model *m;
    sw_err e;
    if (sw_model_alloc(sys, (size_t)np, keys, vals, &m, &e)) {
        fprintf(stderr, "cvode_run: %s\n", e.msg);
        return 2;
    }
    SUNContext ctx;
    SUNContext_Create(NULL, &ctx);
    sunindextype n = (sunindextype)m->dim;
    N_Vector x = N_VNew_Serial(n, ctx);
    double *xp = N_VGetArrayPointer(x);
    FILE *fp = fopen(argv[5], "r");
    char line[256];
    for (sunindextype i = 0; i < n && fgets(line, sizeof line, fp);)
        if (line[0] != '#')
            xp[i++] = strtod(line, NULL);
    fclose(fp);

    double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    void *mem = CVodeCreate(CV_BDF, ctx);
    CVodeInit(mem, rhs, 0.0, x);
    CVodeSStolerances(mem, rtol, atol);
    CVodeSetUserData(mem, m);
    CVodeSetMaxNumSteps(mem, 10000000);
    SUNMatrix A = SUNDenseMatrix(n, n, ctx);
    SUNLinearSolver LS = SUNLinSol_Dense(x, A, ctx);
    CVodeSetLinearSolver(mem, LS, A);
    sunrealtype t;
    int flag = CVode(mem, t_end, x, &t, CV_NORMAL);
    double wall = now(CLOCK_MONOTONIC) - t0, cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    long steps, fevals, fe_ls;
    CVodeGetNumSteps(mem, &steps);
    CVodeGetNumRhsEvals(mem, &fevals);
    CVodeGetNumLinRhsEvals(mem, &fe_ls);
    printf("cvode flag=%d loss=%.12g wall=%.6f cpu=%.6f steps=%ld rhs_evals=%ld\n", flag,
           m->sys->loss(m, xp), wall, cpu, steps, fevals + fe_ls);
    N_VDestroy(x);
    CVodeFree(&mem);
    SUNLinSolFree(LS);
    SUNMatDestroy(A);
    SUNContext_Free(&ctx);
    sw_model_free(m);
    free(keys);
    free(vals);
    return flag < 0;
}
