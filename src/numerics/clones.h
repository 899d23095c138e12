/* Loops over long vectors that the baseline x86-64 target runs two doubles
 * at a time without FMA get a clone for AVX2 + FMA machines, picked once at
 * load time (a glibc ifunc).  The Markov trainer's kernels get an AVX-512
 * (x86-64-v4) clone too: 32 vector registers, and two-table permutations
 * that look a block of keys up by token in two instructions.  Off where
 * ifuncs or sanitizers get in the way; every clone computes the same
 * things. */
#ifndef STAGEWISE_CLONES_H
#define STAGEWISE_CLONES_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__) &&   \
    !defined(__SANITIZE_ADDRESS__)
#define SW_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define SW_BLOCK_CLONES                                                                         \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
/* Whether the x86-64-v4 clone is the one running: code that is fast
 * there and slow elsewhere (permutations by a variable index, GCC's
 * __builtin_shuffle, emulated lane by lane without AVX-512) asks this
 * once, and is compiled only where SW_BLOCK_PERMUTE is defined. */
#define SW_BLOCK_CLONE_V4() __builtin_cpu_supports("x86-64-v4")
#define SW_BLOCK_PERMUTE 1
#else
#define SW_VECTOR_CLONES
#define SW_BLOCK_CLONES
#define SW_BLOCK_CLONE_V4() 0
#endif

#endif
