/* Softmax, shared by the systems and the trainer. */
#ifndef STAGEWISE_SOFTMAX_H
#define STAGEWISE_SOFTMAX_H

#include <stddef.h>

/* s = softmax(a) over n entries, computed with the maximum subtracted so no
 * exponential overflows; s may alias a.  Returns the log of the normaliser
 * (log-sum-exp), which cross-entropies need. */
double sw_softmax(const double *a, size_t n, double *s);

/* The softmax of each row of a rows x n matrix into s (which may alias
 * a), the exponentials all in one sw_exp_vec call (vexp.h: within an ulp
 * of libm's, several times faster on short rows); lse[r] = row r's
 * log-sum-exp unless lse is NULL.  y-reduced and z-full call it for one
 * row too: the vectorised exp is the point, not the batching. */
void sw_softmax_rows(const double *a, size_t rows, size_t n, double *s, double *lse);

/* g <- J(s) g = s * (g - <s, g>): the chain rule through a softmax. */
void sw_softmax_backward(const double *s, size_t n, double *g);

#endif
