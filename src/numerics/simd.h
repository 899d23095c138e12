/* Short vectors for hand-blocked loops: GNU C vectors of four doubles (one
 * AVX2 register, two SSE2 ones), and a way to compile a hot function twice,
 * for the baseline x86-64 target and for AVX2 + FMA machines, the copy
 * picked at load time. */
#ifndef STAGEWISE_SIMD_H
#define STAGEWISE_SIMD_H

#include <stdint.h>

typedef double sw_v4 __attribute__((vector_size(4 * sizeof(double))));
typedef int64_t sw_v4i __attribute__((vector_size(4 * sizeof(int64_t))));
typedef uint64_t sw_v4u __attribute__((vector_size(4 * sizeof(uint64_t))));

/* The baseline target runs the loops two doubles at a time; the clone for
 * x86-64-v3 four at a time (a glibc ifunc picks it; GCC only; the
 * sanitized build keeps one copy).  No FMA contraction in either (ISO C
 * mode), so both copies give the same numbers. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__) &&   \
    !defined(__SANITIZE_ADDRESS__)
#define SW_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SW_VECTOR_CLONES
#endif

#endif
