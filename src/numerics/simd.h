/* Short vectors for hand-blocked loops: GNU C vectors of four doubles, one
 * AVX2 register in the x86-64-v3 and x86-64-v4 clones of a function
 * (clones.h).  The baseline copy, with SSE2 only, mostly keeps them on the
 * stack and runs several times slower (the Markov trainer's gradient: 9.9
 * ms against 1.4, docs/performance.md): it is there for machines without
 * AVX2, not for speed.  (Vectors of eight doubles would be one AVX-512
 * register, but GCC keeps them on the stack in the AVX2 copy too.)  No FMA
 * contraction in any (meson.build passes -ffp-contract=off), and every
 * copy does the same operations lane by lane in the same order, so all
 * give the same numbers, bit for bit.  Moved to and from memory with
 * memcpy, and never passed by value: that would depend on the target's
 * calling convention. */
#ifndef STAGEWISE_SIMD_H
#define STAGEWISE_SIMD_H

#include <stdint.h>

typedef double sw_v4 __attribute__((vector_size(4 * sizeof(double))));
typedef int64_t sw_v4i __attribute__((vector_size(4 * sizeof(int64_t))));
typedef uint64_t sw_v4u __attribute__((vector_size(4 * sizeof(uint64_t))));

/* |v| lane by lane (the sign bits cleared), and a where the lanes of mask
 * (a comparison's result) are set, b elsewhere: no branches.  Macros, since
 * vectors are not passed by value. */
#define SW_V4_ABS(v) ((sw_v4)((sw_v4i)(v) & (sw_v4i){INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX}))
#define SW_V4_SELECT(mask, a, b)                                                                   \
    ((sw_v4)(((mask) & (sw_v4i)(a)) | (~(mask) & (sw_v4i)(b))))

#endif
