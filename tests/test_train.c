/* The discrete trainer: hand-written gradients against finite differences,
 * samplers against the distributions they claim, sampled gradients against
 * the population gradient, and gradient descent against the ODE. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gsl/gsl_rng.h>

#include "helpers.h"
#include "crosscheck.h"
#include "evalcache.h"
#include "markov.h"
#include "softmax.h"
#include "stagewise/train.h"
#include "vexp.h"
#include "y_common.h"

/* A learner from "k=v" words, NULL-terminated. */
static sw_learner *learner(const sw_task *task, ...)
{
    swt_kv kv;
    va_list ap;
    va_start(ap, task);
    swt_kv_split(&kv, ap);
    va_end(ap);
    sw_learner *l = NULL;
    sw_err e = {{0}};
    if (sw_learner_alloc(task, kv.n, kv.keys, kv.vals, &l, &e))
        fail_msg("learner %s: %s", task->name, e.msg);
    return l;
}

static double *random_theta(const sw_learner *l, unsigned long seed, double scale)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    double *th = malloc(l->m->dim * sizeof *th);
    for (size_t i = 0; i < l->m->dim; i++)
        th[i] = scale * (2 * gsl_rng_uniform(r) - 1);
    gsl_rng_free(r);
    return th;
}

static void *draw(const sw_learner *l, size_t n, unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    void *data = malloc(n * l->task->sample_size(l));
    l->task->sample(l, r, n, data);
    gsl_rng_free(r);
    return data;
}

/* Central differences of the minibatch loss against the analytic gradient
 * at a generic point, every coordinate.  The step 1e-5 leaves a truncation
 * error ~1e-10 relative and rounding ~1e-11 / 1e-5; 1e-6 relative (with a
 * floor at 1e-6 of the gradient's scale) is far above both and far below
 * any real mistake (a wrong factor or index moves entries by O(1)).
 * every > 1 checks every every-th coordinate only, for models too large
 * to difference whole. */
static void check_fd(sw_learner *l, const double *theta, size_t n, unsigned long seed,
                     size_t every)
{
    size_t dim = l->m->dim;
    void *data = draw(l, n, seed);
    double *g = malloc(dim * sizeof *g), *fd = malloc(dim * sizeof *fd);
    double *th = malloc(dim * sizeof *th);
    memcpy(th, theta, dim * sizeof *th);
    assert_int_equal(l->task->reserve(l, n), SW_OK);
    double L = l->task->grad(l, th, data, n, g);
    assert_true(fabs(L - l->task->grad(l, th, data, n, NULL)) <= 1e-14 * fabs(L));
    double h = 1e-5, scale = 0;
    size_t m = 0;
    for (size_t i = 0; i < dim; i += every, m++) {
        double keep = th[i];
        th[i] = keep + h;
        double up = l->task->grad(l, th, data, n, NULL);
        th[i] = keep - h;
        double dn = l->task->grad(l, th, data, n, NULL);
        th[i] = keep;
        fd[m] = (up - dn) / (2 * h);
        g[m] = g[i];
        scale = fmax(scale, fabs(fd[m]));
    }
    assert_true(scale > 0);
    /* Entries agree to tol relative to themselves, or, below a floor, to
     * tol times the floor.  The quotient's own rounding, eps |L| / h
     * (2.6e-11 at L ~ 1), caps what tiny entries can show: the floor keeps
     * 30 times that within tol (so entries under ~1e-3 are held to ~1e-9
     * absolute, still far below what a wrong term gives). */
    const double tol = 1e-6, rounding = DBL_EPSILON * fabs(L) / h;
    double floor_ = fmax(tol * scale, 30 * rounding / tol);
    double worst = swt_max_rel(g, fd, m, floor_);
    if (!(worst < tol))
        fail_msg("%s: analytic vs finite-difference gradient differ by %.3g (relative)",
                 l->task->name, worst);
    free(data);
    free(g);
    free(fd);
    free(th);
}

static void regression_gradient_matches_fd(void **state)
{
    (void)state;
    sw_learner *l = learner(&sw_task_regression, "H=2", "K=2", "T=5", "d=3", "m=2", NULL);
    l->noise = 0.3;
    double *th = random_theta(l, 7, 1.0);
    check_fd(l, th, 6, 11, 1);
    free(th);
    sw_learner_free(l);
}

static void toy_gradient_matches_fd(void **state)
{
    (void)state;
    sw_learner *l = learner(&sw_task_toy, "d=3", "T=6", "B=2", "p=0.5", NULL);
    double *th = random_theta(l, 8, 1.0);
    check_fd(l, th, 5, 12, 1);
    /* Tied copies: each relevant logit moves by the sum of their partials. */
    sw_learner *lt = learner(&sw_task_toy, "d=3", "T=6", "B=2", "p=0.5", "tied=1", NULL);
    void *data = draw(l, 5, 12);
    size_t dim = l->m->dim, dd = 9;
    double *g = malloc(dim * sizeof *g), *gt = malloc(dim * sizeof *gt);
    assert_int_equal(l->task->reserve(l, 5), SW_OK);
    assert_int_equal(lt->task->reserve(lt, 5), SW_OK);
    l->task->grad(l, th, data, 5, g);
    lt->task->grad(lt, th, data, 5, gt);
    assert_true(fabs(gt[dd] - (g[dd] + g[dd + 1])) < 1e-14);
    assert_true(fabs(gt[dd + 1] - gt[dd]) == 0);
    for (size_t i = dd + 2; i < dim; i++)
        assert_true(gt[i] == g[i]);
    free(g);
    free(gt);
    free(data);
    free(th);
    sw_learner_free(l);
    sw_learner_free(lt);
}

static void markov_gradient_matches_fd(void **state)
{
    (void)state;
    /* m = 2 and a window shorter than N exercise the block lags and the
     * restricted attention; V nonzero so every score matters.  The last:
     * keys in three blocks of eight, the last one partial, and a window
     * that leaves each block's earliest queries out of its value
     * gradient. */
    const struct {
        const char *kv[7];
        size_t n, every;
    } cfg[] = {{{"S=4", "N=7", "K=2", "m=2", "H=2", "n_eval=2", "window=0"}, 3, 1},
               {{"S=4", "N=7", "K=2", "m=2", "H=2", "n_eval=2", "window=3"}, 3, 1},
               {{"S=3", "N=19", "K=2", "m=1", "H=1", "n_eval=2", "window=5"}, 2, 1},
               /* Logit rows of two, three and four vectors (S padded to
                * 8, 12, 16): the value-gradient tiles' every width. */
               {{"S=6", "N=11", "K=2", "m=2", "H=2", "n_eval=2", "window=0"}, 2, 1},
               {{"S=10", "N=13", "K=2", "m=2", "H=3", "n_eval=2", "window=5"}, 2, 1},
               {{"S=13", "N=21", "K=3", "m=1", "H=2", "n_eval=2", "window=0"}, 2, 1},
               /* Too many (token, position) pairs for the pair tables:
                * every query takes its own exponentials and adds its own
                * score gradients.  60 000 coordinates, every 97th (coprime
                * to the row lengths, so every kind of entry is met). */
               {{"S=100", "N=100", "K=2", "m=1", "H=1", "n_eval=2", "window=0"}, 2, 97}};
    for (size_t i = 0; i < sizeof cfg / sizeof *cfg; i++) {
        const char *const *c = cfg[i].kv;
        sw_learner *l = learner(&sw_task_markov, c[0], c[1], c[2], c[3], c[4], c[5], c[6], NULL);
        double *th = random_theta(l, 9, 0.7);
        check_fd(l, th, cfg[i].n, 13, cfg[i].every);
        free(th);
        sw_learner_free(l);
    }
}

/* sw_exp_vec against libm's exp: evenly over the whole range where exp is
 * neither 0 nor inf nor 1 in double, at random bit patterns (every
 * exponent, both signs), and at the edges; every length from 1 to 9 (the
 * tails) and in place.  Within 2.5e-16 relative where the result is
 * normal and one least subnormal (4.9e-324) below. */
static void exp_vec_matches_libm(void **state)
{
    (void)state;
    size_t n = 1 << 21, n_bits = 1 << 17;
    double *x = malloc((n + n_bits + 32) * sizeof *x), *y = malloc((n + n_bits + 32) * sizeof *y);
    for (size_t i = 0; i < n; i++)
        x[i] = -745.2 + (709.8 + 745.2) * ((double)i + 0.5) / (double)n;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 3);
    size_t m = n;
    while (m < n + n_bits) {
        uint64_t bits = (uint64_t)gsl_rng_get(r) << 32 | gsl_rng_get(r);
        memcpy(x + m, &bits, sizeof bits);
        if (isfinite(x[m]))
            m++;
    }
    const double edge[] = {0, -0.0, 1e-300, -1e-300, DBL_MIN, 709.78, 709.79, 710, 1e300,
                           -708.39, -708.4, -745.13, -745.14, -746, -1e300, INFINITY,
                           -INFINITY, NAN, 0.5 * M_LN2, -0.5 * M_LN2, 1023.5 * M_LN2};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++)
        x[m++] = edge[i];
    sw_exp_vec(x, m, y);
    double worst = 0, worst_sub = 0;
    for (size_t i = 0; i < m; i++) {
        double e = exp(x[i]);
        if (isnan(x[i]))
            assert_true(isnan(y[i]));
        else if (isinf(e) || e == 0)
            assert_true(y[i] == e);
        else if (e >= DBL_MIN)
            worst = fmax(worst, fabs(y[i] - e) / e);
        else
            worst_sub = fmax(worst_sub, fabs(y[i] - e));
    }
    if (!(worst <= 2.5e-16 && worst_sub <= 4.95e-324))
        fail_msg("sw_exp_vec: relative error %.3g, subnormal error %.3g", worst, worst_sub);
    /* Lengths 1..9 at an offset, in place, against the long call. */
    for (size_t len = 1; len <= 9; len++) {
        double z[9];
        memcpy(z, x + 1000 + len, len * sizeof *z);
        sw_exp_vec(z, len, z);
        assert_memory_equal(z, y + 1000 + len, len * sizeof *z);
    }
    gsl_rng_free(r);
    free(x);
    free(y);
}

/* sw_softmax_rows against sw_softmax (libm's exp) row by row. */
static void softmax_rows_matches_softmax(void **state)
{
    (void)state;
    enum { ROWS = 5, COLS = 7 };
    double a[ROWS * COLS], s[ROWS * COLS], lse[ROWS], one[COLS];
    for (size_t i = 0; i < ROWS * COLS; i++)
        a[i] = 30 * sin(1.3 * (double)i) * (i % COLS == 3 ? 20 : 1);
    sw_softmax_rows(a, ROWS, COLS, s, lse);
    for (size_t r = 0; r < ROWS; r++) {
        double l = sw_softmax(a + r * COLS, COLS, one);
        assert_true(fabs(lse[r] - l) <= 1e-15 * fabs(l));
        for (size_t j = 0; j < COLS; j++)
            assert_true(fabs(s[r * COLS + j] - one[j]) <= 1e-15 * one[j] + 1e-300);
    }
}

/* Mean and standard error of the minibatch gradient over `batches`
 * independent batches against the population gradient (minus rhs) and the
 * minibatch loss against the closed-form loss.  Every coordinate must lie
 * within 5 standard errors: a wrong scale, sign or index in the sampler or
 * the gradient shifts the mean by many of them. */
static void check_population(sw_learner *l, size_t batch, size_t batches, double noise_floor)
{
    size_t dim = l->m->dim;
    double *th = random_theta(l, 21, 0.5);
    double *pop = malloc(dim * sizeof *pop), *g = malloc(dim * sizeof *g);
    double *sum = calloc(dim, sizeof *sum), *sq = calloc(dim, sizeof *sq);
    l->m->sys->rhs(l->m, th, pop);
    assert_int_equal(l->task->reserve(l, batch), SW_OK);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 5);
    void *data = malloc(batch * l->task->sample_size(l));
    double lsum = 0, lsq = 0;
    for (size_t b = 0; b < batches; b++) {
        l->task->sample(l, r, batch, data);
        double L = l->task->grad(l, th, data, batch, g);
        lsum += L;
        lsq += L * L;
        for (size_t i = 0; i < dim; i++) {
            sum[i] += g[i];
            sq[i] += g[i] * g[i];
        }
    }
    double nb = (double)batches;
    for (size_t i = 0; i < dim; i++) {
        double mean = sum[i] / nb, se = sqrt(fmax(sq[i] / nb - mean * mean, 0) / nb);
        if (!(fabs(mean + pop[i]) <= 5 * se + 1e-12))
            fail_msg("%s: coordinate %s: sampled gradient %.6g, population %.6g (se %.3g)",
                     l->task->name, l->m->state_names[i], mean, -pop[i], se);
    }
    double lmean = lsum / nb, lse = sqrt((lsq / nb - lmean * lmean) / nb);
    double Lpop = l->m->sys->loss(l->m, th) + noise_floor;
    if (!(fabs(lmean - Lpop) <= 5 * lse))
        fail_msg("%s: sampled loss %.6g, population %.6g (se %.3g)", l->task->name, lmean, Lpop,
                 lse);
    gsl_rng_free(r);
    free(data);
    free(th);
    free(pop);
    free(g);
    free(sum);
    free(sq);
}

static void regression_samples_give_population_gradient(void **state)
{
    (void)state;
    sw_learner *l = learner(&sw_task_regression, "H=2", "K=2", "T=6", "d=3", NULL);
    /* The noise adds d noise^2 / 2 to the loss, nothing to the gradient. */
    l->noise = 0.5;
    check_population(l, 50, 400, 3 * 0.25 / 2);
    sw_learner_free(l);
}

static void toy_samples_give_population_gradient(void **state)
{
    (void)state;
    const char *tied[] = {"tied=0", "tied=1"};
    for (int i = 0; i < 2; i++) {
        sw_learner *l = learner(&sw_task_toy, "d=4", "T=6", "B=2", "p=0.4", tied[i], NULL);
        check_population(l, 50, 400, 0);
        sw_learner_free(l);
    }
    /* Noise on y adds (1/2d) d noise^2 = noise^2 / 2 to the toy's loss. */
    sw_learner *l = learner(&sw_task_toy, "d=4", "T=6", "B=2", "p=0.4", NULL);
    l->noise = 0.5;
    check_population(l, 50, 400, 0.25 / 2);
    sw_learner_free(l);
}

/* The toy's x*: xbar with probability p (a binomial count within 4
 * standard deviations), else N(0, I): the other tokens' second moment is 1
 * per entry, and the B copies are one token. */
static void toy_sampler_moments(void **state)
{
    (void)state;
    size_t d = 3, T = 5, B = 2, n = 20000;
    sw_learner *l = learner(&sw_task_toy, "d=3", "T=5", "B=2", "p=0.3", NULL);
    double *rec = draw(l, n, 3);
    size_t rs = T * d + d, fixed = 0;
    double m2 = 0;
    /* xbar is the token that repeats exactly across samples. */
    const double *xb = NULL;
    for (size_t i = 0; i < n && !xb; i++)
        for (size_t j = i + 1; j < i + 50 && j < n && !xb; j++)
            if (memcmp(rec + i * rs, rec + j * rs, d * sizeof(double)) == 0)
                xb = rec + i * rs;
    assert_non_null(xb);
    double nx = 0;
    for (size_t c = 0; c < d; c++)
        nx += xb[c] * xb[c];
    assert_true(fabs(nx - (double)d) < 1e-12);
    for (size_t i = 0; i < n; i++) {
        const double *X = rec + i * rs;
        fixed += memcmp(X, xb, d * sizeof(double)) == 0;
        assert_memory_equal(X, X + d, d * sizeof(double));
        for (size_t k = B * d; k < T * d; k++)
            m2 += X[k] * X[k];
    }
    double sd = sqrt(n * 0.3 * 0.7);
    assert_true(fabs((double)fixed - 0.3 * (double)n) < 4 * sd);
    m2 /= (double)(n * (T - B) * d);
    /* E x^2 = 1, Var x^2 = 2: standard error sqrt(2 / count). */
    assert_true(fabs(m2 - 1) < 4 * sqrt(2.0 / (double)(n * (T - B) * d)));
    free(rec);
    sw_learner_free(l);
}

/* The sampler draws groups of sequences with the table, and a sequence's
 * draws must come off the generator exactly as one by one: seven at once,
 * three then four, and one, one then five give the same bytes. */
static void markov_sampler_groups_draw_in_order(void **state)
{
    (void)state;
    sw_learner *l = learner(&sw_task_markov, NULL);
    size_t sz = l->task->sample_size(l);
    char *all = malloc(7 * sz), *parts = malloc(7 * sz);
    const size_t splits[2][3] = {{3, 4, 0}, {1, 1, 5}};
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 5);
    l->task->sample(l, r, 7, all);
    for (size_t k = 0; k < 2; k++) {
        gsl_rng_set(r, 5);
        memset(parts, 0xff, 7 * sz);
        for (size_t i = 0, at = 0; i < 3 && splits[k][i]; at += splits[k][i++])
            l->task->sample(l, r, splits[k][i], parts + at * sz);
        assert_memory_equal(all, parts, 7 * sz);
    }
    gsl_rng_free(r);
    free(all);
    free(parts);
    sw_learner_free(l);
}

/* Transition frequencies of a second-order chain (K = 2, m = 1) against
 * softmax(A_1 e_{x_t} + A_2 e_{x_{t-1}}) from the features; the first
 * K m tokens uniform.  Each count within 5 binomial standard deviations. */
static void markov_sampler_frequencies(void **state)
{
    (void)state;
    size_t S = 3, N = 12, n = 4000, len = N + 1;
    sw_learner *l = learner(&sw_task_markov, "S=3", "N=12", "K=2", "m=1", "gamma=3", "c=1",
                            "n_eval=1", NULL);
    const double *A = sw_markov_features(l->m);
    /* Features: A_k^T A_k = lambda_k^2 I with lambda = 3, 1. */
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < S; i++)
            for (size_t j = 0; j < S; j++) {
                double dot = 0;
                for (size_t s = 0; s < S; s++)
                    dot += A[k * S * S + s * S + i] * A[k * S * S + s * S + j];
                double lam2 = k == 0 ? 9 : 1;
                assert_true(fabs(dot - (i == j ? lam2 : 0)) < 1e-12);
            }
    int *x = draw(l, n, 4);
    double count[3][3][3] = {{{0}}}, first[3] = {0};
    for (size_t i = 0; i < n; i++) {
        const int *q = x + i * len;
        first[q[0]]++;
        first[q[1]]++;
        for (size_t t = 1; t + 1 < len; t++)
            count[q[t]][q[t - 1]][q[t + 1]]++;
    }
    for (size_t s = 0; s < S; s++)
        assert_true(fabs(first[s] - 2.0 * n / 3) < 5 * sqrt(2.0 * n * 2 / 9));
    for (size_t a = 0; a < S; a++)
        for (size_t b = 0; b < S; b++) {
            double lg[3], p[3], tot = 0, z = 0;
            for (size_t s = 0; s < S; s++) {
                lg[s] = A[s * S + a] + A[S * S + s * S + b];
                tot += count[a][b][s];
            }
            for (size_t s = 0; s < S; s++)
                z += p[s] = exp(lg[s]);
            assert_true(tot > 500);
            for (size_t s = 0; s < S; s++) {
                p[s] /= z;
                double sd = sqrt(tot * p[s] * (1 - p[s]));
                if (!(fabs(count[a][b][s] - tot * p[s]) < 5 * sd + 1))
                    fail_msg("context (%zu,%zu) -> %zu: %g of %g, expected p = %.4f", a, b, s,
                             count[a][b][s], tot, p[s]);
            }
        }
    free(x);
    sw_learner_free(l);
}

/* Regression samples: E x = 0, E x x^T = I and y - noise = sum_t C_t x_t,
 * so E y x_{lag j}^T = A_k / m for lag j in group k: the projection of that
 * cross-moment on A_k, divided by lambda_k^2, estimates 1/m. */
static void regression_sampler_cross_moment(void **state)
{
    (void)state;
    size_t d = 3, T = 6, n = 40000, dd = d * d;
    sw_learner *l = learner(&sw_task_regression, "H=1", "K=2", "T=6", "m=2", "d=3", NULL);
    const double *A = sw_y_features(l->m);
    double *rec = draw(l, n, 5);
    size_t rs = T * d + d;
    for (size_t j = 1; j <= T; j++) {
        double M[9] = {0};
        for (size_t i = 0; i < n; i++) {
            const double *X = rec + i * rs, *y = X + T * d, *xt = X + (T - j) * d;
            for (size_t a = 0; a < d; a++)
                for (size_t b = 0; b < d; b++)
                    M[a * d + b] += y[a] * xt[b];
        }
        for (size_t k = 0; k < 2; k++) {
            double proj = 0, lam2 = 0;
            for (size_t q = 0; q < dd; q++) {
                proj += M[q] / (double)n * A[k * dd + q];
                lam2 += A[k * dd + q] * A[k * dd + q];
            }
            double want = (j - 1) / 2 == k ? 0.5 : 0;
            /* An entry of the mean has standard error about sqrt(E|y|^2 / (d n))
             * = 0.005 here, so 0.05 is some ten of them. */
            assert_true(fabs(proj / lam2 - want) < 0.05);
        }
    }
    free(rec);
    sw_learner_free(l);
}

/* ---- the loop ------------------------------------------------------------ */

struct curve {
    size_t n;
    double loss[4096], train[4096];
    size_t step[4096];
};

static int record(size_t step, const double *theta, double loss, double train_loss, void *user)
{
    (void)theta;
    struct curve *c = user;
    if (c->n < 4096) {
        c->step[c->n] = step;
        c->loss[c->n] = loss;
        c->train[c->n++] = train_loss;
    }
    return 0;
}

static int train(sw_learner *l, const sw_train_opts *o, double *theta, struct curve *c,
                 sw_train_stats *st)
{
    sw_err e;
    sw_trainer *tr = sw_trainer_alloc(l, o, &e);
    if (!tr)
        fail_msg("trainer: %s", e.msg);
    l->m->sys->init(l->m, theta);
    int rc = sw_train_run(tr, theta, record, c, st, &e);
    sw_trainer_free(tr);
    return rc;
}

/* Population-gradient descent on y-full against y-reduced through two
 * stages (loss 10.5 -> 2.5 near t = 5, 2.5 -> 0.5 near t = 35): every
 * column within 0.1 at lr = 0.01, and the deviation halves with lr, which
 * is what an O(lr) Euler error does and a modelling mismatch does not. */
static double crosscheck(const char *system, double lr, size_t steps)
{
    sw_model *ode = swt_model(system, NULL);
    const sw_task *task = system[0] == 'y' ? &sw_task_regression : &sw_task_toy;
    sw_learner *l = learner(task, NULL);
    sw_train_opts o;
    sw_train_opts_default(&o);
    o.lr = lr;
    o.steps = steps;
    o.eval_every = steps / 100;
    sw_ode_opts oo;
    sw_ode_opts_default(&oo);
    sw_crosscheck_result r;
    sw_err e;
    if (sw_crosscheck_run(ode, l, &o, &oo, NULL, NULL, &r, &e))
        fail_msg("crosscheck: %s", e.msg);
    assert_int_equal(r.rows, 101);
    sw_learner_free(l);
    sw_model_free(ode);
    return r.max_dev;
}

static void gd_follows_y_reduced_through_two_stages(void **state)
{
    (void)state;
    double d1 = crosscheck("y-reduced", 0.01, 6000);
    double d2 = crosscheck("y-reduced", 0.005, 12000);
    if (!(d1 < 0.1) || !(d2 / d1 > 0.4 && d2 / d1 < 0.6))
        fail_msg("deviation %.4g at lr 0.01, %.4g at lr 0.005", d1, d2);
    /* And the trainer did pass both stages: the loss ends near L_2 = 0.5. */
    sw_learner *l = learner(&sw_task_regression, NULL);
    sw_train_opts o;
    sw_train_opts_default(&o);
    o.steps = 6000;
    o.eval_every = 60;
    double *th = malloc(l->m->dim * sizeof *th);
    static struct curve c;
    c.n = 0;
    sw_train_stats st;
    assert_int_equal(train(l, &o, th, &c, &st), SW_OK);
    assert_true(c.loss[0] > 10.4 && c.loss[c.n - 1] < 0.6);
    size_t mid = 2000 / 60; /* t = 20: between the two transitions */
    assert_true(c.loss[mid] > 2.4 && c.loss[mid] < 2.7);
    free(th);
    sw_learner_free(l);
}

/* The toy's plateau and escape (near t = 350 for the defaults d = 16,
 * T = 64): gd on z-full from z-reduced's start, every column within 0.08
 * (the worst is Delta a, which climbs to about 6) and O(lr) again. */
static void gd_follows_z_reduced(void **state)
{
    (void)state;
    double d1 = crosscheck("z-reduced", 0.2, 2000);
    double d2 = crosscheck("z-reduced", 0.1, 4000);
    if (!(d1 < 0.08) || !(d2 / d1 > 0.4 && d2 / d1 < 0.6))
        fail_msg("deviation %.4g at lr 0.2, %.4g at lr 0.1", d1, d2);
}

/* Same seed and settings, same numbers; another seed, other numbers. */
static void training_is_deterministic(void **state)
{
    (void)state;
    static struct curve a, b, c;
    a.n = b.n = c.n = 0;
    sw_train_opts o;
    sw_train_opts_default(&o);
    o.optim = SW_OPTIM_ADAM;
    o.batch = 8;
    o.steps = 30;
    o.eval_every = 10;
    o.n_train = 20;
    sw_train_stats st;
    const char *seeds[] = {"seed=3", "seed=3", "seed=4"};
    struct curve *cs[] = {&a, &b, &c};
    for (int i = 0; i < 3; i++) {
        sw_learner *l = learner(&sw_task_markov, "S=4", "N=6", "K=2", "H=2", "n_eval=8",
                                seeds[i], NULL);
        double *th = malloc(l->m->dim * sizeof *th);
        assert_int_equal(train(l, &o, th, cs[i], &st), SW_OK);
        free(th);
        sw_learner_free(l);
    }
    assert_int_equal(a.n, 4);
    assert_memory_equal(a.loss, b.loss, a.n * sizeof(double));
    assert_memory_equal(a.train, b.train, a.n * sizeof(double));
    assert_true(a.loss[3] != c.loss[3]);
}

/* Adam on fresh Markov sequences learns: the held-out loss falls most of
 * the way from log S towards the chain's entropy (loss - kl_K), and the
 * KL to the full truth falls by more than half. */
static void markov_adam_learns(void **state)
{
    (void)state;
    sw_learner *l = learner(&sw_task_markov, "S=5", "N=8", "K=2", "H=2", "n_eval=64",
                            "gamma=3", "c=1", NULL);
    sw_train_opts o;
    sw_train_opts_default(&o);
    o.optim = SW_OPTIM_ADAM;
    o.lr = 0.03;
    o.batch = 32;
    o.steps = 400;
    o.eval_every = 400;
    static struct curve c;
    c.n = 0;
    double *th = malloc(l->m->dim * sizeof *th), *obs = malloc(l->m->n_obs * sizeof *obs);
    sw_train_stats st;
    l->m->sys->init(l->m, th);
    l->m->sys->observe(l->m, th, obs);
    double kl0 = obs[2];
    assert_int_equal(train(l, &o, th, &c, &st), SW_OK);
    assert_true(fabs(c.loss[0] - log(5.0)) < 0.02);
    l->m->sys->observe(l->m, th, obs);
    if (!(obs[2] < 0.5 * kl0))
        fail_msg("kl_2 %.4g -> %.4g", kl0, obs[2]);
    free(th);
    free(obs);
    sw_learner_free(l);
}

/* A training set of 4 sequences is memorised: the held-out loss turns up,
 * patience stops the run and hands back the best parameters. */
static void early_stopping_keeps_the_best(void **state)
{
    (void)state;
    sw_learner *l = learner(&sw_task_markov, "S=5", "N=8", "K=2", "H=2", "n_eval=64", NULL);
    sw_train_opts o;
    sw_train_opts_default(&o);
    o.optim = SW_OPTIM_ADAM;
    o.lr = 0.05;
    o.batch = 4;
    o.n_train = 4;
    o.steps = 3000;
    o.eval_every = 10;
    o.patience = 5;
    static struct curve c;
    c.n = 0;
    double *th = malloc(l->m->dim * sizeof *th);
    sw_train_stats st;
    assert_int_equal(train(l, &o, th, &c, &st), SW_OK);
    assert_true(st.stopped_early);
    assert_true(st.steps < 3000);
    assert_int_equal(st.steps, st.best_step + 5 * 10);
    assert_true(fabs(l->m->sys->loss(l->m, th) - st.best_loss) == 0);
    /* Memorised: the train loss is well below the held-out loss. */
    assert_true(c.train[c.n - 1] < c.loss[c.n - 1] - 0.1);
    free(th);
    sw_learner_free(l);
}

static void schedule_and_options(void **state)
{
    (void)state;
    sw_train_opts o;
    sw_train_opts_default(&o);
    o.steps = 1000;
    o.eval_every = 300;
    size_t n, *s = sw_train_schedule(&o, &n);
    assert_int_equal(n, 5);
    assert_true(s[0] == 0 && s[1] == 300 && s[3] == 900 && s[4] == 1000);
    free(s);
    o.log_grid = 1;
    o.points = 20;
    s = sw_train_schedule(&o, &n);
    assert_true(n <= 20 && n >= 10 && s[0] == 0 && s[1] == 1 && s[n - 1] == 1000);
    for (size_t i = 1; i < n; i++)
        assert_true(s[i] > s[i - 1]);
    free(s);
    sw_err e;
    assert_int_equal(sw_train_opts_set(&o, "optim", "lbfgs", &e), SW_EINPUT);
    assert_non_null(strstr(e.msg, "allowed: gd, sgd, adam"));
    assert_int_equal(sw_train_opts_set(&o, "lr", "nan", &e), SW_EINPUT);
    assert_int_equal(sw_train_opts_set(&o, "lr", "0", &e), SW_EINPUT);
    assert_int_equal(sw_train_opts_set(&o, "steps", "2.5", &e), SW_EINPUT);
}

/* ---- the command line ---------------------------------------------------- */

static void cli_train_and_crosscheck(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), *err = NULL, *out = NULL;
    int rc = swt_run(NULL, &err, "train toy d=4 T=8 --optim sgd --batch 16 --lr 0.1 --steps 200 "
                     "--eval-every 50 --out %s/toy.csv",
                     dir);
    assert_int_equal(rc, 0);
    free(err);
    char path[512];
    snprintf(path, sizeof path, "%s/toy.csv", dir);
    swt_csv c;
    assert_int_equal(swt_csv_read(path, &c), 0);
    assert_int_equal(c.rows, 5);
    assert_true(swt_csv_col(&c, "alpha") == 2 && swt_csv_col(&c, "train_loss") >= 0);
    assert_true(fabs(swt_csv_at(&c, 4, "t") - 20) < 1e-12);
    assert_true(swt_csv_at(&c, 4, "step") == 200);
    /* z-full's population loss at W = 0 is 1/2. */
    assert_true(fabs(swt_csv_at(&c, 0, "loss") - 0.5) < 1e-12);
    swt_csv_free(&c);
    snprintf(path, sizeof path, "%s/toy.json", dir);
    assert_true(swt_file_exists(path));

    static const char *bad[] = {
        "train lasso",
        "train markov --optim gd --steps 10",
        "train toy --lr -1",
        "train toy --restricted",
        "train markov --noise 0.1",
        "train toy frobnicate=2",
        "crosscheck linear",
        "crosscheck y-reduced --steps 100 --eval-every 7",
        "crosscheck y-reduced d=0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc = swt_run(&out, &err, "%s --out %s/bad.csv", bad[i], dir);
        if (rc != 2 || strncmp(err, "stagewise: ", 11) || strchr(err, '\n') != err + strlen(err) - 1)
            fail_msg("'%s': exit %d, stderr '%s'", bad[i], rc, err);
        free(out);
        free(err);
    }
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    assert_false(swt_file_exists(path));

    rc = swt_run(&out, &err, "crosscheck z-reduced d=4 T=8 --lr 0.1 --steps 500 --tol 1e-9");
    assert_int_equal(rc, 3);
    assert_non_null(strstr(out, "largest deviation"));
    free(out);
    free(err);
    snprintf(path, sizeof path, "%s/toy.csv", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/toy.json", dir);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* A pass that counts its calls: loss = theta[0] + calls, obs[i] += i +
 * theta[0] (so obs not zeroed on entry would show). */
static int eval_calls;

static void counting_pass(const sw_model *m, const double *theta, double *loss, double *obs)
{
    eval_calls++;
    *loss = theta[0] + eval_calls;
    for (size_t i = 0; i < m->n_obs; i++)
        obs[i] += (double)i + theta[0];
}

/* One pass per parameter vector: the loss and then the observables at the
 * same theta share it, a new theta or a reset runs another. */
static void eval_cache_one_pass_per_theta(void **state)
{
    (void)state;
    sw_model *m = swt_model("y-reduced", NULL);
    assert_true(m->dim > 1 && m->n_obs > 0);
    sw_eval_cache c;
    assert_int_equal(sw_eval_cache_alloc(&c, m, counting_pass), SW_OK);
    double *theta = calloc(m->dim, sizeof *theta), *obs = malloc(m->n_obs * sizeof *obs);
    theta[0] = 0.5;
    eval_calls = 0;
    assert_true(sw_eval_loss(&c, m, theta) == 1.5);
    sw_eval_observe(&c, m, theta, obs);
    assert_int_equal(eval_calls, 1);
    for (size_t i = 0; i < m->n_obs; i++)
        assert_true(obs[i] == (double)i + 0.5);
    theta[m->dim - 1] = 1e-300;
    assert_true(sw_eval_loss(&c, m, theta) == 2.5);
    sw_eval_observe(&c, m, theta, obs);
    assert_int_equal(eval_calls, 2);
    assert_true(obs[m->n_obs - 1] == (double)(m->n_obs - 1) + 0.5);
    sw_eval_cache_reset(&c);
    assert_true(sw_eval_loss(&c, m, theta) == 3.5);
    assert_int_equal(eval_calls, 3);
    sw_eval_cache_free(&c);
    free(theta);
    free(obs);
    sw_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regression_gradient_matches_fd),
        cmocka_unit_test(toy_gradient_matches_fd),
        cmocka_unit_test(markov_gradient_matches_fd),
        cmocka_unit_test(regression_samples_give_population_gradient),
        cmocka_unit_test(toy_samples_give_population_gradient),
        cmocka_unit_test(toy_sampler_moments),
        cmocka_unit_test(markov_sampler_frequencies),
        cmocka_unit_test(markov_sampler_groups_draw_in_order),
        cmocka_unit_test(exp_vec_matches_libm),
        cmocka_unit_test(eval_cache_one_pass_per_theta),
        cmocka_unit_test(softmax_rows_matches_softmax),
        cmocka_unit_test(regression_sampler_cross_moment),
        cmocka_unit_test(gd_follows_y_reduced_through_two_stages),
        cmocka_unit_test(gd_follows_z_reduced),
        cmocka_unit_test(training_is_deterministic),
        cmocka_unit_test(markov_adam_learns),
        cmocka_unit_test(early_stopping_keeps_the_best),
        cmocka_unit_test(schedule_and_options),
        cmocka_unit_test(cli_train_and_crosscheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
