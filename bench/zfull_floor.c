/* Where z-full's in-process time goes under dop853, measured apart:
 *
 *   field   z-full's vector field alone, per evaluation;
 *   stepper dop853's own work per step (stage sums, error norms, copies),
 *           on a vector field of the same size that costs one pass (f = -x
 *           / 1000), every step accepted, minus that field's 12 passes;
 *   copy    memcpy of one state vector among 14 such buffers, the cache
 *           level the stage vectors really live in, as the machine's
 *           streaming rate.
 *
 *   zfull_floor STEPS EVALS KEY=VALUE...
 *
 * prints each, then STEPS * stepper + EVALS * field (the time a run with
 * those counts is made of), STEPS * stepper alone (what the run would cost
 * with a free vector field), and the traffic floor: the time to move the
 * run's bytes at memcpy's rate with no arithmetic at all.  A dop853 step
 * reads or writes a state vector STEP_PASSES times (stages 2-12: the state
 * 11 times, the 50 earlier stages their rows use, 11 writes; the new state
 * and error norms: 8 stages, the state, one write; its copy: 2), and
 * z-full's field 3 times (W, W*, f).  bench/zfull.sh passes the counts of
 * its dop853 run.  Best of several repetitions each, CPU time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>

#include "dop853.h"
#include "stagewise/system.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int z_field(double t, const double *x, double *f, void *p)
{
    (void)t;
    sw_model *m = p;
    return m->sys->rhs(m, x, f) ? GSL_EBADFUNC : GSL_SUCCESS;
}

static int pass_field(double t, const double *x, double *f, void *p)
{
    (void)t;
    size_t n = *(size_t *)p;
    for (size_t i = 0; i < n; i++)
        f[i] = -1e-3 * x[i];
    return GSL_SUCCESS;
}

enum { REPEATS = 5, BUFFERS = 14, STEP_PASSES = 84, FIELD_PASSES = 3 };

/* Seconds per call of f(x) -> out, best of REPEATS batches of `calls`. */
static double per_call(gsl_odeiv2_system *sys, const double *x, double *out, int calls)
{
    double best = 1e300;
    for (int r = 0; r < REPEATS; r++) {
        double c0 = cpu_now();
        for (int i = 0; i < calls; i++)
            sys->function(0, x, out, sys->params);
        double c = (cpu_now() - c0) / calls;
        best = c < best ? c : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: zfull_floor STEPS EVALS KEY=VALUE...\n");
        return 2;
    }
    double steps = atof(argv[1]), evals = atof(argv[2]);
    size_t np = (size_t)argc - 3;
    const char **keys = calloc(np + 1, sizeof *keys), **vals = calloc(np + 1, sizeof *vals);
    char **words = calloc(np + 1, sizeof *words);
    for (size_t i = 0; i < np; i++) {
        words[i] = strdup(argv[i + 3]);
        char *eq = strchr(words[i], '=');
        if (!eq) {
            fprintf(stderr, "zfull_floor: '%s' is not KEY=VALUE\n", words[i]);
            return 2;
        }
        *eq = '\0';
        keys[i] = words[i];
        vals[i] = eq + 1;
    }
    sw_model *m;
    sw_err e;
    if (sw_model_alloc(sw_system_find("z-full"), np, keys, vals, &m, &e)) {
        fprintf(stderr, "zfull_floor: %s\n", e.msg);
        return 2;
    }
    size_t n = m->dim;
    double *buf[BUFFERS];
    for (int i = 0; i < BUFFERS; i++)
        buf[i] = calloc(n, sizeof(double));
    /* Off the start (W = 0) so the field does its full arithmetic. */
    m->sys->init(m, buf[0]);
    for (size_t i = 0; i < n; i++)
        buf[0][i] += 1e-3 * (double)(i % 7);

    gsl_odeiv2_system zsys = {z_field, NULL, n, m}, psys = {pass_field, NULL, n, &n};
    double field = per_call(&zsys, buf[0], buf[1], 200);
    double pass = per_call(&psys, buf[0], buf[1], 200);

    double copy = 1e300;
    for (int r = 0; r < REPEATS; r++) {
        double c0 = cpu_now();
        for (int i = 0; i < 200; i++)
            memcpy(buf[(i + 1) % BUFFERS], buf[i % BUFFERS], n * sizeof(double));
        double c = (cpu_now() - c0) / 200;
        copy = c < copy ? c : copy;
    }

    /* Every step accepted: atol far above any error. */
    sw_dop853 *s = sw_dop853_alloc(&psys, 1e-3, 1e300);
    double stepper = 1e300;
    for (int r = 0; r < REPEATS; r++) {
        double t = 0, h = 1;
        double c0 = cpu_now();
        for (int i = 0; i < 200; i++)
            sw_dop853_apply(s, &t, t + 1, &h, buf[2]);
        double c = (cpu_now() - c0) / 200 - 12 * pass;
        stepper = c < stepper ? c : stepper;
    }
    sw_dop853_free(s);

    double mb = (double)n * sizeof(double) / 1e6;
    printf("field=%.2fus/eval stepper=%.2fus/step copy=%.2fus (%.1f GB/s over %.3f MB vectors)\n",
           field * 1e6, stepper * 1e6, copy * 1e6, 2 * mb / copy / 1e3, mb);
    /* A copy is two passes. */
    double traffic = (steps * STEP_PASSES + evals * FIELD_PASSES) / 2 * copy;
    printf("explained=%.4fs (%g steps x stepper + %g evals x field) free_field_floor=%.4fs "
           "traffic_floor=%.4fs stepper_in_copies=%.1f (traffic alone: %d)\n",
           steps * stepper + evals * field, steps, evals, steps * stepper, traffic,
           stepper / copy, STEP_PASSES / 2);
    for (int i = 0; i < BUFFERS; i++)
        free(buf[i]);
    sw_model_free(m);
    for (size_t i = 0; i < np; i++)
        free(words[i]);
    free(words);
    free(keys);
    free(vals);
    return 0;
}
