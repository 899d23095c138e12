#include <math.h>

#include "clones.h"
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

SW_VECTOR_CLONES
void sw_softmax_rows(const double *a, size_t rows, size_t n, double *s, double *lse)
{
    for (size_t r = 0; r < rows; r++) {
        const double *ar = a + r * n;
        double *sr = s + r * n, mx = ar[0];
        for (size_t i = 1; i < n; i++)
            mx = ar[i] > mx ? ar[i] : mx;
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
