/* The single-location toy (systems z-full and z-reduced): the pieces other
 * modules need without building a model.
 *
 * The escape from the start is governed by the linearisation of the
 * reduced flow (alpha, beta, Delta a) at alpha = beta = Delta a = 0; its
 * largest eigenvalue lambda+ is what sweeps compare measured plateau
 * lengths against.  The teacher (W*, xbar) is exposed so that anything
 * sampling data for z-full (Monte-Carlo checks, the trainer) sees exactly
 * the teacher the ODE was built with. */
#ifndef STAGEWISE_Z_H
#define STAGEWISE_Z_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "stagewise/error.h"

/* What the start linearisation depends on.  tied: 1 if the B copies of
 * the relevant token share one logit. */
typedef struct sw_z_shape {
    size_t d, T, B;
    double p;
    int tied;
} sw_z_shape;

/* SW_EINPUT unless d >= 2, 1 <= B < T, 0 <= p <= 1 and tied is 0 or 1;
 * the message names the offending field. */
int sw_z_shape_check(const sw_z_shape *z, sw_err *e);

/* Row-major 3x3 Jacobian of (alpha, beta, Delta a) at the start. */
int sw_z_start_jacobian(const sw_z_shape *z, double J[9], sw_err *e);

/* Largest real part among the eigenvalues of that Jacobian (they are real:
 * the matrix is similar to a symmetric one). */
int sw_z_lambda_plus(const sw_z_shape *z, double *lambda_plus, sw_err *e);

/* Draws the teacher from r: W* (d x d, row-major) Haar-orthogonal, from the
 * QR factorisation of a Gaussian matrix with R's diagonal made positive,
 * then xbar Gaussian rescaled to |xbar|^2 = d. */
int sw_z_teacher(gsl_rng *r, size_t d, double *Wstar, double *xbar, sw_err *e);

#endif
