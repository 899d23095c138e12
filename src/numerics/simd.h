/* Short vectors for hand-blocked loops: GNU C vectors of four or eight
 * doubles.  An sw_v8 is one AVX-512 register in the x86-64-v4 clone of a
 * function (clones.h), two AVX2 ones in the x86-64-v3 clone, four SSE2
 * ones in the baseline copy.  No FMA contraction in any (ISO C mode), and
 * every copy does the same operations lane by lane in the same order, so
 * all give the same numbers, bit for bit.  Moved to and from memory with
 * memcpy, and never passed by value: that would depend on the target's
 * calling convention. */
#ifndef STAGEWISE_SIMD_H
#define STAGEWISE_SIMD_H

#include <stdint.h>

typedef double sw_v4 __attribute__((vector_size(4 * sizeof(double))));
typedef int64_t sw_v4i __attribute__((vector_size(4 * sizeof(int64_t))));
typedef uint64_t sw_v4u __attribute__((vector_size(4 * sizeof(uint64_t))));
typedef double sw_v8 __attribute__((vector_size(8 * sizeof(double))));
typedef int64_t sw_v8i __attribute__((vector_size(8 * sizeof(int64_t))));

#endif
