/* The transformer's architecture, batch and parameter layout: the types
 * both precisions of model.c share (see model.h). */
#ifndef STAGEWISE_TF_CONFIG_H
#define STAGEWISE_TF_CONFIG_H

#include <stddef.h>

enum { SW_TF_MSE, SW_TF_CE };

/* The architecture and the shape of one batch (the same in both
 * precisions). */
typedef struct sw_tf_config {
    size_t L;     /* blocks */
    size_t H;     /* heads */
    size_t D;     /* d_model; the value width of a head is D / H */
    size_t dqk;   /* query/key width of a head */
    size_t F;     /* MLP hidden width (mlp_factor D); 0: attention only */
    size_t T;     /* sequence length */
    size_t q0;    /* first position read out: positions q0 .. T-1 */
    size_t d_in;  /* width of dense inputs; 0: token inputs */
    size_t vocab; /* token inputs: vocabulary */
    size_t d_out; /* readout width (regression target, or logits) */
    int ln;       /* pre-LayerNorm before attention, MLP and readout */
    int pos;      /* add sinusoidal positions to the embedding */
    int loss;     /* SW_TF_MSE: 1/2 |z - y|^2; SW_TF_CE: cross-entropy */
} sw_tf_config;

/* A batch of n sequences: inputs x (n T d_in floats) or tok (n T ints);
 * targets y (n Tq d_out floats, MSE) or target (n Tq ints, CE), where
 * Tq = T - q0 rows are read out per sequence. */
typedef struct sw_tf_batch {
    const float *x;
    const int *tok;
    const float *y;
    const int *target;
} sw_tf_batch;

/* Offsets of the parameter blocks in the flat parameter vector. */
typedef struct sw_tf_block_off {
    size_t ln1_g, ln1_b, Wq, Wk, Wv, Wo, ln2_g, ln2_b, W1, W2;
} sw_tf_block_off;

#endif
