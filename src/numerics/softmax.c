#include <math.h>
#include <string.h>

#include "clones.h"
#include "simd.h"
#include "softmax.h"
#include "vexp.h"

double sw_softmax(const double *a, size_t n, double *s)
{
    double mx = a[0];
    for (size_t i = 1; i < n; i++)
        mx = a[i] > mx ? a[i] : mx;
    double z = 0;
    for (size_t i = 0; i < n; i++)
        z += s[i] = exp(a[i] - mx);
    for (size_t i = 0; i < n; i++)
        s[i] /= z;
    return mx + log(z);
}

/* The largest of a[0..n-1], four running maxima in the lanes of a vector
 * (a maximum does not depend on the order; one running maximum is a chain
 * of compares that the compiler does not vectorise). */
static inline double row_max(const double *a, size_t n)
{
    double mx = a[0];
    size_t i = 1;
    if (n >= 8) {
        sw_v4 m, v;
        memcpy(&m, a, sizeof m);
        for (i = 4; i + 4 <= n; i += 4) {
            memcpy(&v, a + i, sizeof v);
            m = SW_V4_SELECT(v > m, v, m);
        }
        mx = m[0];
        for (int l = 1; l < 4; l++)
            mx = m[l] > mx ? m[l] : mx;
    }
    for (; i < n; i++)
        mx = a[i] > mx ? a[i] : mx;
    return mx;
}

SW_VECTOR_CLONES
void sw_softmax_rows(const double *a, size_t rows, size_t n, double *s, double *lse)
{
    for (size_t r = 0; r < rows; r++) {
        const double *ar = a + r * n;
        double *sr = s + r * n, mx = row_max(ar, n);
        for (size_t i = 0; i < n; i++)
            sr[i] = ar[i] - mx;
        if (lse)
            lse[r] = mx;
    }
    sw_exp_vec(s, rows * n, s);
    for (size_t r = 0; r < rows; r++) {
        double *sr = s + r * n, z = 0;
        for (size_t i = 0; i < n; i++)
            z += sr[i];
        for (size_t i = 0; i < n; i++)
            sr[i] /= z;
        if (lse)
            lse[r] += log(z);
    }
}

void sw_softmax_backward(const double *s, size_t n, double *g)
{
    double sg = 0;
    for (size_t i = 0; i < n; i++)
        sg += s[i] * g[i];
    for (size_t i = 0; i < n; i++)
        g[i] = s[i] * (g[i] - sg);
}
