/* Short vectors for hand-blocked loops: GNU C vectors of four doubles, one
 * AVX2 register in the x86-64-v3 clone of a function (clones.h), two SSE2
 * ones in the baseline copy.  No FMA contraction in either (ISO C mode),
 * so both copies give the same numbers.  Moved to and from memory with
 * memcpy, and never passed by value: that would depend on the target's
 * calling convention. */
#ifndef STAGEWISE_SIMD_H
#define STAGEWISE_SIMD_H

#include <stdint.h>

typedef double sw_v4 __attribute__((vector_size(4 * sizeof(double))));
typedef int64_t sw_v4i __attribute__((vector_size(4 * sizeof(int64_t))));
typedef uint64_t sw_v4u __attribute__((vector_size(4 * sizeof(uint64_t))));

#endif
