/* The regression variant of the high-order Markov task (systems y-full,
 * y-reduced, y-coupled, y-simplex): the pieces the four forms share.
 *
 * The four forms are one flow seen in different coordinates, so they share
 * one parameter table, one setup, one initial draw and one set of
 * observables; that is what lets their CSV files be compared column by
 * column.  The reduced forms (reduced, coupled, simplex) also share one
 * vector field: a coupled model is a reduced model with a single state head
 * standing for H identical copies, and the simplex form differs from the
 * logit form only in how s is read from the state and how dL/ds is turned
 * into a velocity.
 *
 * Initial draws, from gsl_rng_mt19937 seeded with `seed`:
 *   for h = 1..H: w_{h,1..K} ~ U[-w0, w0], then u_{h,1..T} ~ U[-sigma, sigma];
 *   eps = 0: head h's logits are u_h (independent heads);
 *   eps > 0: then, for t = 1..T and within it h = 1..H, a perturbation
 *            ~ U[-eps, eps] added to u_{1,t} (the symmetric start is head 1's
 *            draw, so it is the same numbers as head 1 of the eps = 0 start).
 * y-coupled takes w_1 and u_1 and ignores eps (its one head is the symmetric
 * start).  Values and logits are drawn even when w0 or sigma is zero and the
 * perturbations come last, so no parameter shifts the draws of another.
 * y-full's features come from a second mt19937 seeded with
 * (2654435761 * seed + 2654435769) mod 2^32, so the draws above do not
 * depend on d or overlap. */
#ifndef STAGEWISE_SYSTEMS_Y_COMMON_H
#define STAGEWISE_SYSTEMS_Y_COMMON_H

#include <stddef.h>
#include <string.h>

#include "simd.h"
#include "softmax.h"
#include "stagewise/system.h"

typedef enum sw_y_form { SW_Y_FULL, SW_Y_REDUCED, SW_Y_COUPLED, SW_Y_SIMPLEX } sw_y_form;

/* Positions in sw_y_params; d is last so the reduced forms take the table
 * without it. */
enum {
    SW_Y_H,
    SW_Y_K,
    SW_Y_T,
    SW_Y_M,
    SW_Y_GAMMA,
    SW_Y_C,
    SW_Y_LAMBDAS,
    SW_Y_SIGMA,
    SW_Y_SEED,
    SW_Y_EPS,
    SW_Y_W0,
    SW_Y_OVERLAP,
    SW_Y_D,
    SW_Y_NPARAMS
};

extern const sw_param_def sw_y_params[SW_Y_NPARAMS];

typedef struct sw_y {
    sw_y_form form;
    size_t H, K, T, m, d;
    size_t nh;      /* heads in the state: H, or 1 for y-coupled */
    size_t stride;  /* state entries per head: K + T, or d*d + T */
    double mult;    /* model heads per state head: 1, or H for y-coupled */
    double *lambda; /* K */
    double *G;      /* K x K, <A_k, A_l> */
    double *pi;     /* K x T, pattern weights */

    /* Scratch for the vector field, sized once in setup. */
    double *s;    /* nh x T attention */
    double *w;    /* nh x K value coefficients (y-full: projections) */
    double *rho;  /* K x T residual coefficients */
    double *u;    /* nh x K, G w_h */
    double *fw;   /* nh x K, dw/dt */
    double *g;    /* nh x T, dL/ds */
    double *jg;   /* T, J(s_h) g_h (simplex Jacobian) */
    double *coef; /* nh + K, weights of combinations of rows */
    double *Grho; /* K x T, G rho (Jacobian), or a truncated residual */
    double *M;    /* nh x nh, s_h . s_g */
    double *c;    /* nh x nh, w_h^T G w_g */

    /* y-full only. */
    double *A;    /* K x d*d features, row-major matrices */
    double *C;    /* T x d*d, C_t = sum_k pi_kt A_k */
    double *R;    /* T x d*d residual */
    double *Ginv; /* K x K */
    double *tmp;  /* d*d */
} sw_y;

int sw_y_setup(sw_model *m, sw_y_form form, sw_err *e);
void sw_y_teardown(sw_model *m);

/* Fills the value coefficients (w_{h,k} at w[h*wstride + k]) and logits
 * (a[h*astride + t]) of `heads` heads in the documented order; perturb = 0
 * leaves out the eps perturbation. */
void sw_y_draw(const sw_model *m, size_t heads, int perturb, double *w, size_t wstride, double *a,
               size_t astride);

/* a.b with four partial sums (lanes of a GNU C vector, i mod 4): a single
 * running sum is bound by the latency of each addition (no reassociation
 * without -ffast-math), and the dot products over positions are most of
 * the vector field's work.  Written with a vector so the compiler need not
 * discover the four sums: one AVX2 register in a function's x86-64-v3
 * clone (clones.h), two SSE2 ones otherwise, the same numbers in both. */
static inline double sw_y_dot(const double *a, const double *b, size_t n)
{
    sw_v4 p = {0, 0, 0, 0}, va, vb;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        memcpy(&va, a + i, sizeof va);
        memcpy(&vb, b + i, sizeof vb);
        p += va * vb;
    }
    double p0 = p[0];
    for (; i < n; i++)
        p0 += a[i] * b[i];
    return (p0 + p[1]) + (p[2] + p[3]);
}

/* v <- J(s) v, T entries. */
void sw_y_jvec(const double *s, size_t T, double *v);
/* X <- J(s) X for X of T rows and ncols columns, row stride ld. */
void sw_y_jleft(const double *s, size_t T, double *X, size_t ncols, size_t ld);
/* X <- X J(s) for X of nrows rows and T columns, row stride ld. */
void sw_y_jright(const double *s, size_t T, double *X, size_t nrows, size_t ld);

/* Writes att_h<h>_k<k> and w_h<h>_k<k> (= lambda_k w_hk) from y->s and y->w;
 * a model with one state head reports it for every head. */
void sw_y_observe_heads(const sw_y *y, double *obs);

/* y-full's features A_1..A_K (K x d*d, row-major), for checks that sample
 * data; NULL for the reduced forms. */
const double *sw_y_features(const sw_model *m);

#endif
