/* exp(x) = 2^k exp(r), k the integer nearest x / ln 2 and |r| <= ln2 / 2,
 * four at a time with no branch and no library call.
 *
 * r = x - k ln2 is computed with ln 2 split in two (Cody and Waite): the
 * high part has 33 significant bits, so k times it is exact for |k| < 2^20
 * and x - k ln2_hi loses nothing; the low part's product adds an error of
 * about 2^-53 |r|.  exp(r) is its Taylor series to r^13 (truncation below
 * 6e-18 relative for |r| <= ln2 / 2).  The scale 2^k is
 * applied as two powers of two of half the exponent each, so both are
 * normal numbers for every k from the clamped range (|k| <= 1077) and
 * results that underflow to subnormals are rounded once, by the last
 * product. */
#include <string.h>

#include "clones.h"
#include "simd.h"
#include "vexp.h"

/* Beyond these exp(x) is 0 or inf in double; clamping keeps k small. */
#define X_LO (-746.0)
#define X_HI 710.0

/* y[0..3] = exp(x[0..3]).  (Pointers, not vector values: passing those
 * would depend on the target's ABI.) */
static inline __attribute__((always_inline)) void exp4(const double *in, double *out)
{
    sw_v4 x;
    memcpy(&x, in, sizeof x);
    const double log2e = 0x1.71547652b82fep0, ln2_hi = 0x1.62e42feep-1,
                 ln2_lo = 0x1.a39ef35793c76p-33, round = 0x1.8p52;
    /* Clamp, keeping NaN: a comparison with NaN is false. */
    const sw_v4 xlo = {X_LO, X_LO, X_LO, X_LO}, xhi = {X_HI, X_HI, X_HI, X_HI};
    sw_v4i lo = x < xlo, hi = x > xhi;
    x = (sw_v4)(((sw_v4i)x & ~(lo | hi)) | ((sw_v4i)xlo & lo) | ((sw_v4i)xhi & hi));
    /* k = nearest integer to x log2(e) (ties to even) by adding and
     * subtracting 1.5 2^52; its bits then hold k + 1.5 2^52 exactly. */
    sw_v4 t = x * log2e + round;
    sw_v4 k = t - round;
    sw_v4 r = (x - k * ln2_hi) - k * ln2_lo;
    /* exp(r) = 1 + (r + r^2 T(r)), T's twelve coefficients 1/2! .. 1/13!
     * by Estrin's scheme (a tree, not Horner's chain: a quarter of the
     * latency); T's roundings are scaled by r^2 <= 0.12. */
    sw_v4 r2 = r * r, r4 = r2 * r2;
    sw_v4 e0 = r * (1.0 / 6) + 1.0 / 2, e1 = r * (1.0 / 120) + 1.0 / 24,
          e2 = r * (1.0 / 5040) + 1.0 / 720, e3 = r * (1.0 / 362880) + 1.0 / 40320,
          e4 = r * (1.0 / 39916800) + 1.0 / 3628800,
          e5 = r * (1.0 / 6227020800.0) + 1.0 / 479001600;
    sw_v4 f0 = e1 * r2 + e0, f1 = e3 * r2 + e2, f2 = e5 * r2 + e4;
    sw_v4 T = (f2 * r4 + f1) * r4 + f0;
    sw_v4 p = (r2 * T + r) + 1.0;
    /* 2^k = 2^k1 2^k2, k1 = floor((k + 2048) / 2) - 1024, k2 = k - k1:
     * unsigned shifts of k + 2048 >= 0, built into exponent fields. */
    sw_v4u kb = (sw_v4u)t - (sw_v4u)(sw_v4){round, round, round, round} + 2048;
    sw_v4u k1 = kb >> 1, k2 = kb - k1;
    sw_v4 s1 = (sw_v4)((k1 - 1024 + 1023) << 52), s2 = (sw_v4)((k2 - 1024 + 1023) << 52);
    p = (p * s1) * s2;
    memcpy(out, &p, sizeof p);
}

SW_VECTOR_CLONES
void sw_exp_vec(const double *x, size_t n, double *y)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        exp4(x + i, y + i);
    if (i < n) {
        double tail[4] = {0, 0, 0, 0};
        memcpy(tail, x + i, (n - i) * sizeof(double));
        exp4(tail, tail);
        memcpy(y + i, tail, (n - i) * sizeof(double));
    }
}
