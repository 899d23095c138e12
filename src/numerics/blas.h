/* What the BLAS this process runs on allows. */
#ifndef STAGEWISE_BLAS_H
#define STAGEWISE_BLAS_H

/* 1 when BLAS and LAPACK may be called from several threads at once.
 * OpenBLAS's threaded builds (OpenMP, pthreads) may; its serial build shares
 * its buffers between calls (two `train tf-location --threads 2` runs on it
 * gave different, wrong numbers).  Which build runs is settled when the
 * process loads (LD_LIBRARY_PATH can swap it), so callers ask at run time
 * before putting BLAS work on several threads: the systems' Newton solves and
 * products, LAPACK's factorisations, the trainers' products. */
int sw_blas_concurrent(void);

#endif
