/* Spectra: LAPACK eigen-decompositions against matrices built from known
 * eigenvalues, the Jacobians of every system against central differences,
 * the loss Hessian against the Jacobian of a Euclidean gradient flow, and
 * the head-symmetry decomposition against the full spectrum. */
#include <complex.h>
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
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "helpers.h"
#include "stagewise/eigen.h"
#include "jacobian.h"
#include "stagewise/saddle.h"

/* A = S B S^-1 for B block diagonal with the given real eigenvalues and
 * one rotation block (p +- i q), S a random well-conditioned matrix. */
static void build(size_t n, const double *real, double p, double q, double *A, unsigned long seed)
{
    gsl_matrix *S = gsl_matrix_alloc(n, n), *Si = gsl_matrix_alloc(n, n);
    gsl_matrix *B = gsl_matrix_calloc(n, n), *T = gsl_matrix_alloc(n, n);
    gsl_permutation *perm = gsl_permutation_alloc(n);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            gsl_matrix_set(S, i, j, (i == j) + 0.3 * gsl_ran_gaussian(rng, 1.0));
    gsl_matrix_set(B, 0, 0, p);
    gsl_matrix_set(B, 0, 1, -q);
    gsl_matrix_set(B, 1, 0, q);
    gsl_matrix_set(B, 1, 1, p);
    for (size_t i = 2; i < n; i++)
        gsl_matrix_set(B, i, i, real[i - 2]);
    gsl_matrix_memcpy(T, S);
    int sgn;
    gsl_linalg_LU_decomp(T, perm, &sgn);
    gsl_linalg_LU_invert(T, perm, Si);
    gsl_matrix_view Av = gsl_matrix_view_array(A, n, n);
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, S, B, 0.0, T);
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, T, Si, 0.0, &Av.matrix);
    gsl_matrix_free(S), gsl_matrix_free(Si), gsl_matrix_free(B), gsl_matrix_free(T);
    gsl_permutation_free(perm);
    gsl_rng_free(rng);
}

static void general_spectrum_exact(void **state)
{
    (void)state;
    enum { N = 6 };
    const double real[] = {2.0, -1.0, 0.5, -3.0};
    double A[N * N];
    build(N, real, 0.3, 1.2, A, 7);
    sw_eigen *ev = sw_eigen_alloc(N);
    sw_err e;
    assert_int_equal(sw_eigen_general(ev, A, &e), SW_OK);
    /* By decreasing real part, the pair adjacent with +i first. */
    const double want_re[N] = {2.0, 0.5, 0.3, 0.3, -1.0, -3.0};
    const double want_im[N] = {0, 0, 1.2, -1.2, 0, 0};
    for (size_t j = 0; j < N; j++) {
        assert_true(fabs(ev->re[j] - want_re[j]) < 1e-12 * 4);
        assert_true(fabs(ev->im[j] - want_im[j]) < 1e-12 * 4);
        /* A v = lambda v in complex arithmetic, v of unit norm. */
        double complex lam = ev->re[j] + I * ev->im[j];
        double worst = 0, norm = 0;
        for (size_t i = 0; i < N; i++) {
            double complex Av = 0;
            for (size_t k = 0; k < N; k++)
                Av += A[i * N + k] * (ev->vre[j * N + k] + I * ev->vim[j * N + k]);
            double complex vi = ev->vre[j * N + i] + I * ev->vim[j * N + i];
            worst = fmax(worst, cabs(Av - lam * vi));
            norm += creal(vi * conj(vi));
        }
        assert_true(worst < 1e-12 * 4);
        assert_true(fabs(norm - 1) < 1e-12);
    }
    double tol = sw_eigen_zero_tol(ev, 1e-8);
    assert_true(fabs(tol - 3e-8) < 1e-20);
    assert_int_equal(sw_eigen_unstable(ev, tol), 4);
    assert_int_equal(sw_eigen_near_zero(ev, tol), 0);
    sw_eigen_free(ev);
}

static void symmetric_spectrum_exact(void **state)
{
    (void)state;
    enum { N = 5 };
    /* Q diag(d) Q^T with Q from the QR of a random matrix. */
    const double d[N] = {-2, 0, 1e-12, 3, 0.25};
    gsl_matrix *M = gsl_matrix_alloc(N, N), *Q = gsl_matrix_alloc(N, N), *R = gsl_matrix_alloc(N, N);
    gsl_vector *tau = gsl_vector_alloc(N);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    for (size_t i = 0; i < N * N; i++)
        M->data[i] = gsl_ran_gaussian(rng, 1.0);
    gsl_linalg_QR_decomp(M, tau);
    gsl_linalg_QR_unpack(M, tau, Q, R);
    double A[N * N];
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0;
            for (size_t k = 0; k < N; k++)
                s += gsl_matrix_get(Q, i, k) * d[k] * gsl_matrix_get(Q, j, k);
            A[i * N + j] = s;
        }
    sw_eigen *ev = sw_eigen_alloc(N);
    sw_err e;
    assert_int_equal(sw_eigen_symmetric(ev, A, &e), SW_OK);
    const double want[N] = {3, 0.25, 1e-12, 0, -2};
    for (size_t j = 0; j < N; j++) {
        assert_true(fabs(ev->re[j] - want[j]) < 1e-14 * 8);
        assert_true(ev->im[j] == 0);
        for (size_t k = 0; k < N; k++) {
            double dot = 0;
            for (size_t i = 0; i < N; i++)
                dot += ev->vre[j * N + i] * ev->vre[k * N + i];
            assert_true(fabs(dot - (j == k)) < 1e-12);
        }
    }
    /* Both tiny eigenvalues count as zero; 3 and 0.25 are unstable. */
    double tol = sw_eigen_zero_tol(ev, 1e-8);
    assert_int_equal(sw_eigen_near_zero(ev, tol), 2);
    assert_int_equal(sw_eigen_unstable(ev, tol), 2);
    sw_eigen_free(ev);
    gsl_matrix_free(M), gsl_matrix_free(Q), gsl_matrix_free(R);
    gsl_vector_free(tau);
    gsl_rng_free(rng);
}

/* The linear saddle: eigenvalues exactly those of A, Morse index 1, the
 * unstable direction named after the coordinate that carries it. */
static void linear_saddle_spectrum(void **state)
{
    (void)state;
    sw_model *m = swt_model("linear", "n=3", "A=-1,0,0,0,0.25,0,0,0,-2", "b=0,0,0",
                            "x0=0.3,0.2,0.1", NULL);
    double x[3] = {0.3, 0.2, 0.1};
    sw_spectrum sp;
    sw_err e;
    assert_int_equal(sw_spectrum_eval(m, x, 0, 1e-8, &sp, &e), SW_OK);
    assert_true(sp.analytic);
    assert_true(sp.fd_disagreement < 1e-9);
    assert_true(sp.ev->re[0] == 0.25 && sp.ev->re[1] == -1 && sp.ev->re[2] == -2);
    assert_int_equal(sp.morse, 1);
    assert_int_equal(sp.near_zero, 0);
    size_t idx[4];
    double w[4];
    assert_int_equal(sw_eigen_dominant(sp.ev, 0, 0.9, 4, idx, w), 1);
    assert_string_equal(m->state_names[idx[0]], "x_2");
    assert_true(fabs(w[0] - 1) < 1e-15);
    sw_spectrum_clear(&sp);
    /* Forced central differences: the same spectrum to FD accuracy. */
    assert_int_equal(sw_spectrum_eval(m, x, 1, 1e-8, &sp, &e), SW_OK);
    assert_false(sp.analytic);
    assert_true(isnan(sp.fd_disagreement));
    assert_true(fabs(sp.ev->re[0] - 0.25) < 1e-9);
    sw_spectrum_clear(&sp);
    sw_model_free(m);
}

/* Every system with an analytic Jacobian agrees with central differences,
 * at its start and along its trajectory (where the attention has moved
 * away from uniform and the values from zero). */
static void analytic_jacobians_match_differences(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t s = 0; s < sw_system_count(); s++) {
        const sw_system *sys = sw_system_at(s);
        if (!sys->jac)
            continue;
        sw_model *m = swt_model(sys->name, NULL);
        double *x = malloc(m->dim * sizeof *x);
        sw_ode_opts o;
        sw_ode_opts_default(&o);
        const double times[] = {0, 0.7, 30};
        for (size_t k = 0; k < 3; k++) {
            m->sys->init(m, x);
            sw_point p = {.kind = SW_POINT_TIME, .t = times[k]};
            sw_point_info info;
            sw_err e;
            assert_int_equal(sw_point_locate(m, &o, &p, x, &info, &e), SW_OK);
            sw_spectrum sp;
            assert_int_equal(sw_spectrum_eval(m, x, 0, 1e-8, &sp, &e), SW_OK);
            print_message("%-10s t = %-4g FD disagreement %.2e\n", sys->name, times[k],
                          sp.fd_disagreement);
            if (!(sp.fd_disagreement < 1e-7))
                fail_msg("%s at t = %g: analytic and FD Jacobians differ by %g (d f(%s)/d %s)",
                         sys->name, times[k], sp.fd_disagreement,
                         m->state_names[sp.worst_row], m->state_names[sp.worst_col]);
            sw_spectrum_clear(&sp);
        }
        checked++;
        free(x);
        sw_model_free(m);
    }
    assert_true(checked >= 1);
}

/* Central second differences of the loss: exact Hessian of linear's
 * |x|^2/2, and minus the Jacobian of y-full, whose flow is the Euclidean
 * gradient flow of its loss in its own coordinates. */
static void hessian_against_gradient_flow(void **state)
{
    (void)state;
    sw_err e;
    sw_model *m = swt_model("linear", "n=3", "A=1,2,3,4,5,6,7,8,9", "b=0,0,0", "x0=1,2,3", NULL);
    double x[3] = {1, -2, 0.5}, H[9], work[3];
    assert_int_equal(sw_hessian_fd(m, x, H, work, &e), SW_OK);
    for (size_t i = 0; i < 9; i++)
        assert_true(fabs(H[i] - (i % 4 == 0)) < 1e-6);
    sw_model_free(m);

    if (!sw_system_find("y-full"))
        skip();
    m = swt_model("y-full", "d=3", "T=5", "K=2", "H=2", NULL);
    size_t n = m->dim;
    double *y = malloc(n * sizeof *y), *J = malloc(n * n * sizeof *J);
    double *Hs = malloc(n * n * sizeof *Hs), *w = malloc(2 * n * sizeof *w);
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    m->sys->init(m, y);
    sw_point p = {.kind = SW_POINT_TIME, .t = 2.0};
    sw_point_info info;
    assert_int_equal(sw_point_locate(m, &o, &p, y, &info, &e), SW_OK);
    assert_int_equal(sw_jacobian_eval(m, y, J, w), SW_OK);
    assert_int_equal(sw_hessian_fd(m, y, Hs, w, &e), SW_OK);
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n * n; i++) {
        scale = fmax(scale, fabs(J[i]));
        worst = fmax(worst, fabs(Hs[i] + J[i]));
    }
    print_message("y-full: max|H + J| / max|J| = %.2e\n", worst / scale);
    assert_true(worst < 1e-5 * scale);
    free(y), free(J), free(Hs), free(w);
    sw_model_free(m);
}

/* ---- head symmetry ---------------------------------------------------- */

/* Sorts complex numbers by real then imaginary part, for multiset
 * comparison. */
static int cmp_c(const void *a, const void *b)
{
    const double *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* At the lift of a coupled state: the reduced field is the lift of the
 * coupled field (the symmetric subspace is invariant), every sum-zero
 * pattern over heads spans an invariant copy on which J acts as the
 * transverse block A, and the full spectrum is the symmetric block's
 * together with A's taken H-1 times. */
static void transverse_decomposition(void **state)
{
    (void)state;
    if (!sw_system_find("y-coupled") || !sw_system_find("y-reduced"))
        skip();
    sw_model *mc = swt_model("y-coupled", "H=3", "K=2", "T=5", NULL);
    sw_model *mr = swt_model("y-reduced", "H=3", "K=2", "T=5", NULL);
    sw_heads hs;
    sw_err e;
    assert_int_equal(sw_heads_find(mr, &hs, &e), SW_OK);
    assert_int_equal(hs.H, 3);
    assert_int_equal(hs.roles, mc->dim);
    size_t n = mr->dim, R = hs.roles, H = hs.H;
    double *xc = malloc(mc->dim * sizeof *xc), *fc = malloc(mc->dim * sizeof *fc);
    double *x = malloc(n * sizeof *x), *f = malloc(n * sizeof *f), *flift = malloc(n * sizeof *f);
    double *J = malloc(n * n * sizeof *J), *w = malloc(2 * n * sizeof *w);
    double *A = malloc(R * R * sizeof *A), *As = malloc(R * R * sizeof *As);
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    mc->sys->init(mc, xc);
    sw_point p = {.kind = SW_POINT_TIME, .t = 3.0};
    sw_point_info info;
    assert_int_equal(sw_point_locate(mc, &o, &p, xc, &info, &e), SW_OK);
    assert_int_equal(sw_heads_lift(&hs, mc, xc, x, &e), SW_OK);

    mc->sys->rhs(mc, xc, fc);
    mr->sys->rhs(mr, x, f);
    assert_int_equal(sw_heads_lift(&hs, mc, fc, flift, &e), SW_OK);
    assert_true(swt_max_rel(f, flift, n, 1e-12) < 1e-12);
    assert_true(fabs(mc->sys->loss(mc, xc) - mr->sys->loss(mr, x)) < 1e-12);

    assert_int_equal(sw_jacobian_eval(mr, x, J, w), SW_OK);
    sw_heads_transverse(&hs, J, n, A);
    /* Contrasts c over heads: (1,-1,0)/sqrt2 and (1,1,-2)/sqrt6.  J maps
     * role-vector v (x) c to (A v) (x) c, with no part along the other. */
    const double c[2][3] = {{M_SQRT1_2, -M_SQRT1_2, 0}, {1 / sqrt(6), 1 / sqrt(6), -2 / sqrt(6)}};
    double worst = 0, scale = 0;
    for (size_t a = 0; a < 2; a++)
        for (size_t b = 0; b < 2; b++)
            for (size_t r = 0; r < R; r++)
                for (size_t q = 0; q < R; q++) {
                    double s = 0;
                    for (size_t h = 0; h < H; h++)
                        for (size_t g = 0; g < H; g++)
                            s += c[a][h] * c[b][g] * J[hs.coord[r * H + h] * n + hs.coord[q * H + g]];
                    double want = a == b ? A[r * R + q] : 0;
                    worst = fmax(worst, fabs(s - want));
                    scale = fmax(scale, fabs(A[r * R + q]));
                }
    assert_true(worst < 1e-13 * fmax(scale, 1));
    /* Symmetric block: along (1,1,1)/sqrt3 in every role. */
    for (size_t r = 0; r < R; r++)
        for (size_t q = 0; q < R; q++) {
            double s = 0;
            for (size_t h = 0; h < H; h++)
                for (size_t g = 0; g < H; g++)
                    s += J[hs.coord[r * H + h] * n + hs.coord[q * H + g]] / 3;
            As[r * R + q] = s;
        }
    sw_eigen *full = sw_eigen_alloc(n), *et = sw_eigen_alloc(R), *es = sw_eigen_alloc(R);
    assert_int_equal(sw_eigen_general(full, J, &e), SW_OK);
    assert_int_equal(sw_eigen_general(et, A, &e), SW_OK);
    assert_int_equal(sw_eigen_general(es, As, &e), SW_OK);
    double *u = malloc(2 * n * sizeof *u), *v = malloc(2 * n * sizeof *v);
    size_t k = 0;
    for (size_t j = 0; j < R; j++) {
        u[2 * k] = es->re[j], u[2 * k + 1] = es->im[j], k++;
        for (size_t h = 1; h < H; h++)
            u[2 * k] = et->re[j], u[2 * k + 1] = et->im[j], k++;
    }
    for (size_t j = 0; j < n; j++)
        v[2 * j] = full->re[j], v[2 * j + 1] = full->im[j];
    assert_int_equal(k, n);
    qsort(u, n, 2 * sizeof *u, cmp_c);
    qsort(v, n, 2 * sizeof *v, cmp_c);
    double rad = sw_eigen_zero_tol(full, 1.0);
    print_message("transverse growth rate at t = 3: %.6g (radius %.3g)\n", et->re[0], rad);
    for (size_t j = 0; j < 2 * n; j++)
        assert_true(fabs(u[j] - v[j]) < 1e-9 * rad);
    assert_true(et->re[0] > 0); /* the heads do separate */
    sw_eigen_free(full), sw_eigen_free(et), sw_eigen_free(es);
    free(u), free(v), free(xc), free(fc), free(x), free(f), free(flift), free(J), free(w);
    free(A), free(As);
    sw_heads_clear(&hs);
    sw_model_free(mc);
    sw_model_free(mr);
}

static void heads_helpers(void **state)
{
    (void)state;
    if (!sw_system_find("y-reduced"))
        skip();
    sw_model *m = swt_model("y-reduced", "H=3", "K=2", "T=4", "sigma=0.5", NULL);
    sw_heads hs;
    sw_err e;
    assert_int_equal(sw_heads_find(m, &hs, &e), SW_OK);
    double *x = malloc(m->dim * sizeof *x), *v = malloc(m->dim * sizeof *v);
    m->sys->init(m, x);
    sw_heads_copy_first(&hs, x);
    for (size_t r = 0; r < hs.roles; r++)
        for (size_t h = 1; h < hs.H; h++)
            assert_true(x[hs.coord[r * hs.H + h]] == x[hs.coord[r * hs.H]]);
    for (size_t i = 0; i < m->dim; i++)
        v[i] = (double)(i * i % 7);
    sw_heads_break(&hs, v);
    for (size_t r = 0; r < hs.roles; r++) {
        double s = 0;
        for (size_t h = 0; h < hs.H; h++)
            s += v[hs.coord[r * hs.H + h]];
        assert_true(fabs(s) < 1e-12);
    }
    free(x), free(v);
    sw_heads_clear(&hs);
    sw_model_free(m);
    m = swt_model("linear", NULL);
    assert_int_equal(sw_heads_find(m, &hs, &e), SW_EINPUT);
    assert_non_null(strstr(e.msg, "no heads"));
    sw_model_free(m);
}

/* ---- the command ------------------------------------------------------ */

static void jacobian_command(void **state)
{
    (void)state;
    char *out, *err;
    int rc = swt_run(&out, &err, "jacobian linear 'A=-1,0,0,0.5' b=0,0");
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "Morse index 1"));
    assert_non_null(strstr(out, "unstable: +x_2 100%"));
    free(out), free(err);

    static const char *bad[] = {
        "jacobian linear --at bogus",
        "jacobian linear --at t=nan",
        "jacobian linear --at plateau:0",
        "jacobian linear --at plateau:9 --t-end 10",
        "jacobian linear --zero-tol 2",
        "jacobian nosuch",
        "jacobian linear --transverse linear",
        "jacobian linear --out x.csv",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc = swt_run(NULL, &err, "%s", bad[i]);
        if (rc != 2)
            fail_msg("'%s' exited %d: %s", bad[i], rc, err);
        assert_true(strncmp(err, "stagewise: ", 11) == 0);
        assert_true(strchr(err, '\n')[1] == '\0');
        free(err);
    }
}

/* The transverse CSV: each growth rate is an eigenvalue of the reduced
 * Jacobian at the lifted state, H-1 times over; the rates fall along the
 * competitive plateau (the saddle there is at infinity, not hyperbolic). */
static void transverse_command(void **state)
{
    (void)state;
    if (!sw_system_find("y-coupled") || !sw_system_find("y-reduced"))
        skip();
    char *dir = swt_tmpdir(), path[512], *err;
    snprintf(path, sizeof path, "%s/tr.csv", dir);
    int rc = swt_run(NULL, &err, "jacobian y-coupled --transverse y-reduced --t-end 1000 "
                                 "--points 40 --out %s", path);
    if (rc)
        fail_msg("%s", err);
    free(err);
    swt_csv c;
    assert_int_equal(swt_csv_read(path, &c), 0);
    assert_int_equal(c.rows, 40);
    assert_int_equal(c.cols, 2 + 2 * 19);
    sw_model *mc = swt_model("y-coupled", NULL), *mr = swt_model("y-reduced", NULL);
    sw_heads hs;
    sw_err e;
    assert_int_equal(sw_heads_find(mr, &hs, &e), SW_OK);
    size_t n = mr->dim;
    double *xc = malloc(mc->dim * sizeof *xc), *x = malloc(n * sizeof *x);
    double *J = malloc(n * n * sizeof *J), *w = malloc(2 * n * sizeof *w);
    sw_eigen *full = sw_eigen_alloc(n);
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    const size_t rows[] = {5, 25, 39};
    for (size_t k = 0; k < 3; k++) {
        double t = swt_csv_at(&c, rows[k], "t"), g = swt_csv_at(&c, rows[k], "re_1");
        mc->sys->init(mc, xc);
        sw_point p = {.kind = SW_POINT_TIME, .t = t};
        sw_point_info info;
        assert_int_equal(sw_point_locate(mc, &o, &p, xc, &info, &e), SW_OK);
        assert_int_equal(sw_heads_lift(&hs, mc, xc, x, &e), SW_OK);
        assert_int_equal(sw_jacobian_eval(mr, x, J, w), SW_OK);
        assert_int_equal(sw_eigen_general(full, J, &e), SW_OK);
        size_t mult = 0;
        for (size_t j = 0; j < n; j++)
            mult += hypot(full->re[j] - g, full->im[j]) < 1e-7 * fmax(fabs(g), 1e-3);
        print_message("t = %g: growth rate %.6g, multiplicity %zu\n", t, g, mult);
        assert_true(mult >= hs.H - 1);
    }
    /* Along the plateau at L_1 = 2.5 the rate keeps falling. */
    assert_true(swt_csv_at(&c, 39, "loss") < 2.51);
    assert_true(swt_csv_at(&c, 39, "re_1") < 0.5 * swt_csv_at(&c, 30, "re_1"));
    sw_eigen_free(full);
    free(xc), free(x), free(J), free(w);
    sw_heads_clear(&hs);
    sw_model_free(mc), sw_model_free(mr);
    swt_csv_free(&c);
    unlink(path);
    rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(general_spectrum_exact),
        cmocka_unit_test(symmetric_spectrum_exact),
        cmocka_unit_test(linear_saddle_spectrum),
        cmocka_unit_test(analytic_jacobians_match_differences),
        cmocka_unit_test(hessian_against_gradient_flow),
        cmocka_unit_test(transverse_decomposition),
        cmocka_unit_test(heads_helpers),
        cmocka_unit_test(jacobian_command),
        cmocka_unit_test(transverse_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
