/* The Markov task's gradient of one batch (128 sequences, default
 * parameters), timed in one process for several copies of libstagewise
 * side by side: each library given is loaded on its own (dlopen,
 * RTLD_LOCAL), and they take turns, ten gradients each, ROUNDS times
 * (default 40).  Thread CPU time per gradient: least, 10th and 25th
 * percentiles and median, and the batch loss as a check that the copies
 * compute the same thing.  Taking turns within one process puts the
 * copies under the same load, which whole-process CPU times of separate
 * runs on a shared machine do not.
 *   cc -O2 -Iinclude bench/markov_grad.c -o markov_grad -ldl -lgsl -lgslcblas
 *   ./markov_grad build/libstagewise.so.0.1.0 OTHER/libstagewise.so.0.1.0 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_rng.h>

#include "stagewise/train.h"

enum { MAX_LIBS = 8, TURN = 10, BATCH = 128 };

typedef int (*alloc_fn)(const sw_task *, size_t, const char *const *, const char *const *,
                        sw_learner **, sw_err *);

static double thread_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int nlib = argc - 1, rounds = getenv("ROUNDS") ? atoi(getenv("ROUNDS")) : 40;
    if (nlib < 1 || nlib > MAX_LIBS || rounds < 1) {
        fprintf(stderr, "usage: [ROUNDS=n] markov_grad LIB.so [LIB.so ...] (1 to %d)\n",
                MAX_LIBS);
        return 2;
    }
    sw_learner *l[MAX_LIBS];
    double *theta[MAX_LIBS], *g[MAX_LIBS], *times[MAX_LIBS], loss[MAX_LIBS];
    void *data[MAX_LIBS];
    for (int i = 0; i < nlib; i++) {
        void *h = dlopen(argv[i + 1], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "markov_grad: %s\n", dlerror());
            return 2;
        }
        alloc_fn learner_alloc = (alloc_fn)dlsym(h, "sw_learner_alloc");
        const sw_task *task = dlsym(h, "sw_task_markov");
        sw_err e;
        memset(&e, 0, sizeof e);
        if (!learner_alloc || !task || learner_alloc(task, 0, NULL, NULL, &l[i], &e) ||
            task->reserve(l[i], BATCH)) {
            fprintf(stderr, "markov_grad: %s: no markov learner\n", argv[i + 1]);
            return 2;
        }
        /* The same parameters and batches for every copy. */
        size_t dim = l[i]->m->dim;
        theta[i] = malloc(dim * sizeof(double));
        g[i] = malloc(dim * sizeof(double));
        data[i] = malloc(TURN * BATCH * task->sample_size(l[i]));
        times[i] = malloc((size_t)rounds * TURN * sizeof(double));
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(r, 5);
        for (size_t j = 0; j < dim; j++)
            theta[i][j] = 0.3 * (2 * gsl_rng_uniform(r) - 1);
        task->sample(l[i], r, TURN * BATCH, data[i]);
        gsl_rng_free(r);
    }
    size_t bytes = BATCH * l[0]->task->sample_size(l[0]);
    for (int k = 0; k < rounds; k++)
        for (int i = 0; i < nlib; i++)
            for (int c = 0; c < TURN; c++) {
                double t0 = thread_cpu();
                loss[i] = l[i]->task->grad(l[i], theta[i], (char *)data[i] + c * bytes, BATCH,
                                           g[i]);
                times[i][k * TURN + c] = thread_cpu() - t0;
            }
    for (int i = 0; i < nlib; i++) {
        size_t n = (size_t)rounds * TURN;
        qsort(times[i], n, sizeof(double), by_value);
        printf("%s: ms per gradient: least %.3f p10 %.3f p25 %.3f median %.3f (last loss %.17g)\n",
               argv[i + 1], 1e3 * times[i][0], 1e3 * times[i][n / 10], 1e3 * times[i][n / 4],
               1e3 * times[i][n / 2], loss[i]);
    }
    return 0;
}
