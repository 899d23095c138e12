#include "blas.h"

/* OpenBLAS's own: 0 serial, 1 pthreads, 2 OpenMP.  Declared here because
 * its cblas.h clashes with GSL's. */
int openblas_get_parallel(void);

int sw_blas_concurrent(void)
{
    return openblas_get_parallel() != 0;
}
