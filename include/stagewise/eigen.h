/* Spectra at a state: LAPACK eigen-decompositions ordered the way a
 * stability analysis reads them, the Morse index, near-zero eigenvalues,
 * the state entries that carry an eigenvector; the loss Hessian; and the
 * head-permutation symmetry whose breaking the Y systems study.
 *
 * sw_eigen is a workspace in GSL's manner: allocate once per dimension
 * (the LAPACK work arrays are sized then), decompose as often as needed. */
#ifndef STAGEWISE_EIGEN_H
#define STAGEWISE_EIGEN_H

#include <stddef.h>

#include "stagewise/error.h"
#include "stagewise/system.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_eigen_work sw_eigen_work;

typedef struct sw_eigen {
    size_t n;
    /* Eigenvalues by decreasing real part; the two members of a complex
     * pair are adjacent, positive imaginary part first. */
    double *re, *im;
    /* Eigenvector j is row j (n entries): vre + i vim, unit 2-norm. */
    double *vre, *vim;
    sw_eigen_work *w;
} sw_eigen;

sw_eigen *sw_eigen_alloc(size_t n);
void sw_eigen_free(sw_eigen *ev);
/* A general real matrix, row-major n x n (dgeev).  SW_ENUMERIC if LAPACK
 * fails to converge or the matrix is not finite. */
int sw_eigen_general(sw_eigen *ev, const double *A, sw_err *e);
/* A symmetric matrix (dsyevr on its symmetric part); im and vim are 0. */
int sw_eigen_symmetric(sw_eigen *ev, const double *A, sw_err *e);

/* The threshold below which |lambda| counts as zero: rel times the
 * spectral radius (eigenvalues that small are rounding or finite-difference
 * noise, or a continuous symmetry of the flow). */
double sw_eigen_zero_tol(const sw_eigen *ev, double rel);
/* Morse index: eigenvalues with real part above tol. */
size_t sw_eigen_unstable(const sw_eigen *ev, double tol);
size_t sw_eigen_near_zero(const sw_eigen *ev, double tol);

/* The entries of eigenvector j that carry it: indices by decreasing
 * weight |v_i|^2 until their weights sum to share of the total (at most
 * max).  Returns the count; weight receives each entry's share. */
size_t sw_eigen_dominant(const sw_eigen *ev, size_t j, double share, size_t max, size_t *idx,
                         double *weight);

/* The spectral picture of a model at a state: its Jacobian (analytic where
 * the system has one, compared against central differences), the sorted
 * eigen-decomposition, the zero threshold, Morse index and near-zero
 * count. */
typedef struct sw_spectrum {
    size_t n;
    double *J;            /* n x n, the Jacobian used */
    int analytic;         /* J is the system's analytic Jacobian */
    double fd_disagreement; /* analytic only: max|J - J_fd| / max|J|, else NaN */
    size_t worst_row, worst_col; /* where that maximum is */
    sw_eigen *ev;
    double zero_tol;      /* zero_rel times the spectral radius */
    size_t morse, near_zero;
} sw_spectrum;

/* force_fd: use central differences even where an analytic Jacobian
 * exists.  Free with sw_spectrum_clear (safe after failure). */
int sw_spectrum_eval(const sw_model *m, const double *x, int force_fd, double zero_rel,
                     sw_spectrum *sp, sw_err *e);
void sw_spectrum_clear(sw_spectrum *sp);

/* Loss Hessian by central second differences of m->sys->loss, symmetric,
 * row-major.  Step per coordinate DBL_EPSILON^(1/4) max(|x_i|, 1) (the
 * balance of h^2 truncation against eps/h^2 rounding).  work: dim doubles.
 * 2 dim^2 loss evaluations. */
int sw_hessian_fd(const sw_model *m, const double *x, double *H, double *work, sw_err *e);

/* Head-permutation symmetry, as the system declares it (sw_system.heads):
 * H blocks of the state, one per head, entry r of each in the same role.
 * A role is named by head 1's state name without its `_h1` token, if any
 * (`a_h1_t5` -> `a_t5`). */
typedef struct sw_heads {
    size_t H, roles;
    size_t *coord;  /* roles x H: state index of role r in head h */
    char **role;    /* roles names, e.g. "a_t5" */
} sw_heads;

/* SW_EINPUT naming the system when its states carry no head structure. */
int sw_heads_find(const sw_model *m, sw_heads *hs, sw_err *e);
void sw_heads_clear(sw_heads *hs);
/* Makes the heads identical by copying head 1 into every other head (for
 * the Y systems this is the start y-coupled takes). */
void sw_heads_copy_first(const sw_heads *hs, double *x);
/* Removes from v its symmetric part (each role's mean over heads), leaving
 * the symmetry-breaking part. */
void sw_heads_break(const sw_heads *hs, double *v);
/* A = Q^T J Q (roles x roles, row-major) for J the dim x dim Jacobian at a
 * symmetric state and Q's column r the direction "head 1 minus head 2 in
 * role r, over sqrt 2".  At a symmetric state the Jacobian of a
 * permutation-equivariant field is A' (x) I + B (x) 1 1^T over roles x
 * heads, so each pattern c over heads with sum zero spans an invariant
 * copy on which J acts as A': the symmetry-breaking spectrum is that of A,
 * each eigenvalue H-1 times. */
void sw_heads_transverse(const sw_heads *hs, const double *J, size_t dim, double *A);
/* x in m's state from xc in the state of `coupled` (a system whose state
 * names are the roles): every head gets the coupled value.  SW_EINPUT
 * naming a role the coupled system lacks. */
int sw_heads_lift(const sw_heads *hs, const sw_model *coupled, const double *xc, double *x,
                  sw_err *e);

#ifdef __cplusplus
}
#endif

#endif
