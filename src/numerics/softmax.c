#include <math.h>

#include "softmax.h"

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

void sw_softmax_backward(const double *s, size_t n, double *g)
{
    double sg = 0;
    for (size_t i = 0; i < n; i++)
        sg += s[i] * g[i];
    for (size_t i = 0; i < n; i++)
        g[i] = s[i] * (g[i] - sg);
}
