/* exp over arrays, vectorised. */
#ifndef STAGEWISE_VEXP_H
#define STAGEWISE_VEXP_H

#include <stddef.h>

/* y[i] = exp(x[i]), i < n; y may alias x.  Relative error at most 2.5e-16
 * from libm's exp (measured 2.2e-16: one unit in the last place) where the
 * result is a normal double, x >= -708.39; below that within 4.9e-324 (the
 * least subnormal) of it, 0 from x < -745.14; inf from x > 709.79; NaN for
 * NaN.  Tested against libm over the whole range (tests/test_train.c). */
void sw_exp_vec(const double *x, size_t n, double *y);

#endif
