/* The transformer's layers and the net that chains them (see model.h).
 *
 * Threads: the big products split their rows (or, for weight gradients,
 * their output columns) into pieces fixed by the shape, and attention runs
 * one sequence per iteration, so every number is computed by the same
 * operations in the same order whatever the thread count.  Sums over rows
 * that would race (LayerNorm gains, token embeddings) stay serial: they
 * cost O(rows D), nothing beside the products. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_randist.h>

#include "blas.h"
#include "model.h"

#ifdef SW_TF_DOUBLE
#define GEMM cblas_dgemm
#define EXP exp
#define SQRT sqrt
#define TANH tanh
#else
#define GEMM cblas_sgemm
#define EXP exp_fast
#define SQRT sqrtf
#define TANH tanh_fast
#endif

#ifndef SW_TF_DOUBLE
/* exp and tanh without library calls, so the GELU loops vectorise
 * (glibc's tanhf took a quarter of a training step).  exp(x) = 2^k e^r
 * with |r| <= ln2/2 and e^r by its Taylor series to r^6 (relative error
 * 2e-6 at |x| = 20, from rounding x log2(e)); tanh = (e - 1)/(e + 1),
 * e = exp(2u): absolute error 1.4e-7 over all u, float rounding; beyond
 * |u| = 9 tanh is 1 in float. */
static inline float exp_fast(float x)
{
    x = x < 88 ? x : 88;
    x = x > -87 ? x : -87;
    float t = x * 1.44269504f;
    /* Round to nearest by the 1.5 * 2^23 trick: branch-free, so it
     * vectorises. */
    float k = (t + 12582912.0f) - 12582912.0f;
    float r = (t - k) * 0.693147181f;
    float p = 1 + r * (1 + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
                                                                          r * (1.0f / 720))))));
    int bits = ((int)k + 127) << 23;
    float s;
    memcpy(&s, &bits, sizeof s);
    return p * s;
}

static inline float tanh_fast(float u)
{
    u = u < 9 ? u : 9;
    u = u > -9 ? u : -9;
    float e = exp_fast(2 * u);
    return (e - 1) / (e + 1);
}
#endif

typedef tf_real R;

/* A product is split into at most MAX_SPLIT pieces of at least MIN_ROWS
 * rows (MIN_COLS columns for weight gradients), a split that depends on
 * the shape only, never on the thread count.  Fewer, larger pieces run
 * faster on one thread: OpenBLAS packs the shared operand once per piece
 * (128-row pieces cost a quarter of the forward products' time). */
enum { MAX_SPLIT = 4, MIN_ROWS = 512, MIN_COLS = 128 };

static size_t piece(size_t m, size_t min)
{
    size_t k = m / min;
    k = k < 1 ? 1 : k > MAX_SPLIT ? MAX_SPLIT : k;
    return (m + k - 1) / k;
}

/* Threads of the parallel loops: 1 unless asked (sw_tf_set_threads), since
 * OpenMP threads spinning at barriers cost more than they give on a
 * loaded machine. */
static int n_threads = 1;

void TF(set_threads)(int n)
{
    n_threads = n > 0 && sw_blas_concurrent() ? n : 1;
}

/* ---- where the time goes (sw_tf_profile) -------------------------------- */

static struct {
    int on, cur;
    double t_mark;
    double sec[SW_TF_PHASES], flop[SW_TF_PHASES];
} prof;

const char *const TF(phase_names)[SW_TF_PHASES] = {
    "projections fwd", "attention fwd", "mlp fwd", "other fwd",
    "projections bwd", "attention bwd", "mlp bwd", "other bwd"};

/* CPU time of the process (all threads): on a shared machine wall time
 * measures the neighbours as much as the code. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Closes the running phase and opens ph (-1: none). */
static void mark(int ph)
{
    if (!prof.on)
        return;
    double t = now();
    if (prof.cur >= 0)
        prof.sec[prof.cur] += t - prof.t_mark;
    prof.cur = ph;
    prof.t_mark = t;
}

void TF(profile)(int on)
{
    memset(&prof, 0, sizeof prof);
    prof.on = on;
    prof.cur = -1;
}

void TF(profile_read)(double sec[SW_TF_PHASES], double flop[SW_TF_PHASES])
{
    memcpy(sec, prof.sec, sizeof prof.sec);
    memcpy(flop, prof.flop, sizeof prof.flop);
}

/* The products of one forward pass of n sequences by phase; a backward
 * pass does twice each (input and weight gradients). */
static void count_flops(const sw_tf_config *c, size_t n, int backward)
{
    if (!prof.on)
        return;
    double T = (double)c->T, D = (double)c->D, HQ = (double)(c->H * c->dqk), N = (double)n;
    double f[4] = {0, 0, 0, 2 * N * T * (double)c->d_in * D};
    for (size_t l = 0; l < c->L; l++) {
        double Tq = l + 1 == c->L ? (double)(c->T - c->q0) : T;
        f[0] += 2 * N * (T * D * (HQ + D) + Tq * D * HQ + Tq * D * D);
        f[1] += 2 * N * (double)c->H * Tq * T * (double)(c->dqk + c->D / c->H);
        f[2] += 4 * N * Tq * D * (double)c->F;
    }
    f[3] += 2 * N * (double)(c->T - c->q0) * D * (double)c->d_out;
    for (int k = 0; k < 4; k++)
        prof.flop[k + 4 * backward] += (backward ? 2 : 1) * f[k];
}

/* ---- products ---------------------------------------------------------- */

/* C (m x n) = A (m x k) op(B) + beta C, op(B) = B (k x n) or B^T (B: n x k),
 * rows in fixed chunks. */
static void mm_rows(int transB, size_t m, size_t k, size_t n, const R *A, size_t lda,
                    const R *B, size_t ldb, R beta, R *C, size_t ldc)
{
    size_t step = piece(m, MIN_ROWS);
    long chunks = (long)((m + step - 1) / step);
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_threads > 1 && chunks > 1)
    for (long c = 0; c < chunks; c++) {
        size_t r0 = (size_t)c * step, rn = m - r0 < step ? m - r0 : step;
        GEMM(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)rn, (int)n,
             (int)k, 1, A + r0 * lda, (int)lda, B, (int)ldb, beta, C + r0 * ldc, (int)ldc);
    }
}

/* C (k x n) += A^T B over m rows (A: m x k, B: m x n), output columns in
 * fixed chunks. */
static void mm_tn(size_t m, size_t k, size_t n, const R *A, size_t lda, const R *B, size_t ldb,
                  R *C, size_t ldc)
{
    size_t step = piece(n, MIN_COLS);
    long chunks = (long)((n + step - 1) / step);
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_threads > 1 && chunks > 1)
    for (long c = 0; c < chunks; c++) {
        size_t c0 = (size_t)c * step, cn = n - c0 < step ? n - c0 : step;
        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)cn, (int)m, 1, A, (int)lda,
             B + c0, (int)ldb, 1, C + c0, (int)ldc);
    }
}

/* ---- layers ------------------------------------------------------------ */

void TF(linear_forward)(const R *X, size_t n, size_t din, const R *W, size_t dout, R *Y)
{
    mm_rows(0, n, din, dout, X, din, W, dout, 0, Y, dout);
}

void TF(linear_backward)(const R *X, size_t n, size_t din, const R *W, size_t dout, const R *dY,
                         R *dX, R *dW)
{
    if (dX)
        mm_rows(1, n, dout, din, dY, dout, W, dout, 1, dX, din);
    mm_tn(n, din, dout, X, din, dY, dout, dW, dout);
}

#define LN_EPS 1e-5

void TF(layernorm_forward)(const R *X, size_t n, size_t D, const R *g, const R *b, R *Y,
                           R *mean, R *rstd)
{
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_threads > 1 && n >= 1024)
    for (size_t i = 0; i < n; i++) {
        const R *x = X + i * D;
        R *y = Y + i * D;
        R mu = 0, var = 0;
        for (size_t j = 0; j < D; j++)
            mu += x[j];
        mu /= (R)D;
        for (size_t j = 0; j < D; j++)
            var += (x[j] - mu) * (x[j] - mu);
        R rs = 1 / SQRT(var / (R)D + (R)LN_EPS);
        for (size_t j = 0; j < D; j++)
            y[j] = (x[j] - mu) * rs * g[j] + b[j];
        mean[i] = mu;
        rstd[i] = rs;
    }
}

void TF(layernorm_backward)(const R *X, size_t n, size_t D, const R *g, const R *mean,
                            const R *rstd, const R *dY, R *dX, R *dg, R *db)
{
    for (size_t i = 0; i < n; i++) {
        const R *x = X + i * D, *dy = dY + i * D;
        R mu = mean[i], rs = rstd[i], s1 = 0, s2 = 0;
        for (size_t j = 0; j < D; j++) {
            R xh = (x[j] - mu) * rs, dxh = dy[j] * g[j];
            dg[j] += dy[j] * xh;
            db[j] += dy[j];
            s1 += dxh;
            s2 += dxh * xh;
        }
        s1 /= (R)D;
        s2 /= (R)D;
        R *dx = dX + i * D;
        for (size_t j = 0; j < D; j++) {
            R xh = (x[j] - mu) * rs;
            dx[j] += rs * (dy[j] * g[j] - s1 - xh * s2);
        }
    }
}

#define GELU_C 0.7978845608028654 /* sqrt(2 / pi) */

void TF(gelu_forward)(const R *X, size_t n, R *Y)
{
#pragma omp parallel for simd schedule(static) num_threads(n_threads) if (parallel : n_threads > 1 && n >= 65536)
    for (size_t i = 0; i < n; i++) {
        R x = X[i];
        Y[i] = (R)0.5 * x * (1 + TANH((R)GELU_C * (x + (R)0.044715 * x * x * x)));
    }
}

void TF(gelu_backward)(const R *X, size_t n, const R *dY, R *dX)
{
#pragma omp parallel for simd schedule(static) num_threads(n_threads) if (parallel : n_threads > 1 && n >= 65536)
    for (size_t i = 0; i < n; i++) {
        R x = X[i], u = (R)GELU_C * (x + (R)0.044715 * x * x * x);
        R th = TANH(u);
        R du = (R)GELU_C * (1 + 3 * (R)0.044715 * x * x);
        dX[i] += dY[i] * ((R)0.5 * (1 + th) + (R)0.5 * x * (1 - th * th) * du);
    }
}

/* In place over the first len entries of a row; zeroes the rest. */
static void softmax_row(R *s, size_t len, size_t T)
{
    R mx = s[0];
    for (size_t j = 1; j < len; j++)
        mx = s[j] > mx ? s[j] : mx;
    for (size_t j = 0; j < len; j++) /* apart from the sum, so it vectorises */
        s[j] = EXP(s[j] - mx);
    R z = 0;
    for (size_t j = 0; j < len; j++)
        z += s[j];
    R inv = 1 / z;
    for (size_t j = 0; j < len; j++)
        s[j] *= inv;
    memset(s + len, 0, (T - len) * sizeof(R));
}

void TF(attention_forward)(const R *Q, const R *K, const R *V, size_t T, size_t q0, size_t H,
                           size_t dqk, size_t dv, R *P, R *O)
{
    size_t Tq = T - q0, HQ = H * dqk, D = H * dv;
    R scale = 1 / SQRT((R)dqk);
    for (size_t h = 0; h < H; h++) {
        R *Ph = P + h * Tq * T;
        /* Keys beyond the last query are never visible. */
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Tq, (int)T, (int)dqk, scale,
             Q + h * dqk, (int)HQ, K + h * dqk, (int)HQ, 0, Ph, (int)T);
        for (size_t i = 0; i < Tq; i++)
            softmax_row(Ph + i * T, q0 + i + 1, T);
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Tq, (int)dv, (int)T, 1, Ph, (int)T,
             V + h * dv, (int)D, 0, O + h * dv, (int)D);
    }
}

void TF(attention_backward)(const R *Q, const R *K, const R *V, size_t T, size_t q0, size_t H,
                            size_t dqk, size_t dv, const R *P, const R *dO, R *dP, R *dQ, R *dK,
                            R *dV)
{
    size_t Tq = T - q0, HQ = H * dqk, D = H * dv;
    R scale = 1 / SQRT((R)dqk);
    for (size_t h = 0; h < H; h++) {
        const R *Ph = P + h * Tq * T;
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Tq, (int)T, (int)dv, 1, dO + h * dv,
             (int)D, V + h * dv, (int)D, 0, dP, (int)T);
        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)dv, (int)Tq, 1, Ph, (int)T,
             dO + h * dv, (int)D, 1, dV + h * dv, (int)D);
        /* Through the softmax: dS = P (dP - <P, dP>), times the score scale. */
        for (size_t i = 0; i < Tq; i++) {
            const R *p = Ph + i * T;
            R *d = dP + i * T, dot = 0;
            size_t len = q0 + i + 1;
            for (size_t j = 0; j < len; j++)
                dot += p[j] * d[j];
            for (size_t j = 0; j < len; j++)
                d[j] = scale * p[j] * (d[j] - dot);
            memset(d + len, 0, (T - len) * sizeof(R));
        }
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Tq, (int)dqk, (int)T, 1, dP, (int)T,
             K + h * dqk, (int)HQ, 1, dQ + h * dqk, (int)HQ);
        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)dqk, (int)Tq, 1, dP, (int)T,
             Q + h * dqk, (int)HQ, 1, dK + h * dqk, (int)HQ);
    }
}

void TF(embed_forward)(const int *tok, size_t n, const R *E, size_t D, R *Y)
{
    for (size_t i = 0; i < n; i++)
        memcpy(Y + i * D, E + (size_t)tok[i] * D, D * sizeof(R));
}

void TF(embed_backward)(const int *tok, size_t n, size_t D, const R *dY, R *dE)
{
    for (size_t i = 0; i < n; i++) {
        R *e = dE + (size_t)tok[i] * D;
        for (size_t j = 0; j < D; j++)
            e[j] += dY[i * D + j];
    }
}

void TF(positions)(size_t T, size_t D, R *PE)
{
    for (size_t t = 0; t < T; t++)
        for (size_t j = 0; j < D; j++) {
            double f = pow(10000.0, -(double)(j - j % 2) / (double)D);
            PE[t * D + j] = (R)(j % 2 ? cos((double)t * f) : sin((double)t * f));
        }
}

double TF(mse_loss)(const R *Z, const float *y, size_t n, size_t k, R *dZ)
{
    double loss = 0;
    for (size_t i = 0; i < n * k; i++) {
        R r = Z[i] - (R)y[i];
        loss += 0.5 * (double)r * (double)r;
        dZ[i] = r / (R)n;
    }
    return loss / (double)n;
}

double TF(ce_loss)(R *Z, const int *target, size_t n, size_t k, R *dZ)
{
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        R *z = Z + i * k, *dz = dZ + i * k, mx = z[0], s = 0;
        for (size_t j = 1; j < k; j++)
            mx = z[j] > mx ? z[j] : mx;
        for (size_t j = 0; j < k; j++)
            s += EXP(z[j] - mx);
        R lse = mx + (R)log((double)s);
        for (size_t j = 0; j < k; j++) {
            z[j] -= lse;
            dz[j] = EXP(z[j]) / (R)n;
        }
        dz[target[i]] -= 1 / (R)n;
        loss -= (double)z[target[i]];
    }
    return loss / (double)n;
}

/* ---- the net ----------------------------------------------------------- */

typedef struct blk_act {
    R *X;              /* cap T x D: input of the block */
    R *A, *m1, *r1;    /* LayerNorm 1 (A = X without LayerNorm) */
    R *Aq, *Xq;        /* the query rows of A and X (= A, X unless Tq < T) */
    R *Q, *K, *V, *P, *O;
    R *X1;             /* cap Tq x D: after attention */
    R *Bn, *m2, *r2;   /* LayerNorm 2 (Bn = X1 without LayerNorm) */
    R *Hh, *G;         /* MLP hidden, before and after GELU */
    R *Y;              /* cap Tq x D: the output (= X1 without MLP) */
} blk_act;

struct TF(net) {
    sw_tf_config c;
    size_t cap, n_params, emb, lnf, out;
    sw_tf_block_off *off;
    blk_act *act;
    R *Nf, *mf, *rf, *Z, *dZ; /* final LayerNorm and readout */
    R *xin; /* dense inputs in R */
    R *PE;  /* T x D positions */
    R *gIn, *gOut, *g1, *g2, *g3, *gQ, *gK, *gV, *gH, *gH2, *gP;
    R *mem;
    size_t n_cur; /* sequences of the last forward */
};

size_t TF(layout)(const sw_tf_config *c, sw_tf_block_off *blk, size_t *emb, size_t *lnf,
                  size_t *out)
{
    size_t D = c->D, HQ = c->H * c->dqk, o = 0;
    /* Dense inputs get a bias: without one, and without positions, no
     * query has a constant part to select the marked token with. */
    *emb = o;
    o += (c->d_in ? c->d_in + 1 : c->vocab) * D;
    for (size_t l = 0; l < c->L; l++) {
        sw_tf_block_off b = {0};
        if (c->ln) {
            b.ln1_g = o, o += D;
            b.ln1_b = o, o += D;
        }
        b.Wq = o, o += D * HQ;
        b.Wk = o, o += D * HQ;
        b.Wv = o, o += D * D;
        b.Wo = o, o += D * D;
        if (c->F && c->ln) {
            b.ln2_g = o, o += D;
            b.ln2_b = o, o += D;
        }
        if (c->F) {
            b.W1 = o, o += D * c->F;
            b.W2 = o, o += c->F * D;
        }
        if (blk)
            blk[l] = b;
    }
    *lnf = o;
    if (c->ln)
        o += 2 * D;
    *out = o;
    o += D * c->d_out;
    return o;
}

size_t TF(net_n_params)(const TF(net) *net)
{
    return net->n_params;
}

void TF(net_free)(TF(net) *net)
{
    if (!net)
        return;
    free(net->mem);
    free(net->off);
    free(net->act);
    free(net);
}

/* Hands out slices of one buffer: a first pass with base NULL counts. */
static R *take(R *base, size_t *used, size_t n)
{
    R *p = base ? base + *used : NULL;
    *used += n;
    return p;
}

static size_t carve(TF(net) *net, R *base)
{
    const sw_tf_config *c = &net->c;
    size_t cap = net->cap, T = c->T, D = c->D, HQ = c->H * c->dqk, F = c->F, u = 0;
    size_t rows = cap * T, Tq_last = T - c->q0;
    for (size_t l = 0; l < c->L; l++) {
        blk_act *a = &net->act[l];
        size_t Tq = l + 1 == c->L ? Tq_last : T, rq = cap * Tq;
        a->X = l ? net->act[l - 1].Y : take(base, &u, rows * D);
        a->A = a->X;
        if (c->ln) {
            a->A = take(base, &u, rows * D);
            a->m1 = take(base, &u, rows);
            a->r1 = take(base, &u, rows);
        }
        a->Aq = a->A;
        a->Xq = a->X;
        if (Tq < T) {
            a->Aq = take(base, &u, rq * D);
            a->Xq = take(base, &u, rq * D);
        }
        a->Q = take(base, &u, rq * HQ);
        a->K = take(base, &u, rows * HQ);
        a->V = take(base, &u, rows * D);
        a->P = take(base, &u, cap * c->H * Tq * T);
        a->O = take(base, &u, rq * D);
        a->X1 = take(base, &u, rq * D);
        a->Y = a->X1;
        if (F) {
            a->Bn = a->X1;
            if (c->ln) {
                a->Bn = take(base, &u, rq * D);
                a->m2 = take(base, &u, rq);
                a->r2 = take(base, &u, rq);
            }
            a->Hh = take(base, &u, rq * F);
            a->G = take(base, &u, rq * F);
            a->Y = take(base, &u, rq * D);
        }
    }
    size_t rq = cap * Tq_last;
    net->Nf = net->act[c->L - 1].Y;
    if (c->ln) {
        net->Nf = take(base, &u, rq * D);
        net->mf = take(base, &u, rq);
        net->rf = take(base, &u, rq);
    }
    net->Z = take(base, &u, rq * c->d_out);
    net->dZ = take(base, &u, rq * c->d_out);
    net->gIn = take(base, &u, rows * D);
    net->gOut = take(base, &u, rows * D);
    net->g1 = take(base, &u, rows * D);
    net->g2 = take(base, &u, rows * D);
    net->g3 = take(base, &u, rows * D);
    net->gQ = take(base, &u, rows * HQ);
    net->gK = take(base, &u, rows * HQ);
    net->gV = take(base, &u, rows * D);
    net->gH = take(base, &u, rows * F);
    net->gH2 = take(base, &u, rows * F);
    net->xin = take(base, &u, rows * c->d_in);
    net->PE = take(base, &u, T * D);
    net->gP = take(base, &u, cap * T * T);
    return u;
}

TF(net) *TF(net_alloc)(const sw_tf_config *c, size_t cap)
{
    TF(net) *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    net->c = *c;
    net->cap = cap;
    net->off = calloc(c->L, sizeof *net->off);
    net->act = calloc(c->L, sizeof *net->act);
    if (!net->off || !net->act) {
        TF(net_free)(net);
        return NULL;
    }
    net->n_params = TF(layout)(c, net->off, &net->emb, &net->lnf, &net->out);
    size_t total = carve(net, NULL);
    /* calloc's pages would be touched, and faulted in, by the first step. */
    if (!(net->mem = malloc(total * sizeof(R)))) {
        TF(net_free)(net);
        return NULL;
    }
    memset(net->mem, 0, total * sizeof(R));
    carve(net, net->mem);
    TF(positions)(c->T, c->D, net->PE);
    return net;
}

void TF(net_init)(const TF(net) *net, R *theta, gsl_rng *r)
{
    const sw_tf_config *c = &net->c;
    double proj = 0.02 / sqrt(2.0 * (double)c->L);
    for (size_t i = 0; i < net->n_params; i++)
        theta[i] = (R)gsl_ran_gaussian(r, 0.02);
    for (size_t l = 0; l < c->L; l++) {
        const sw_tf_block_off *b = &net->off[l];
        for (size_t i = 0; i < c->D * c->D; i++)
            theta[b->Wo + i] *= (R)(proj / 0.02);
        for (size_t i = 0; c->F && i < c->F * c->D; i++)
            theta[b->W2 + i] *= (R)(proj / 0.02);
        for (size_t j = 0; c->ln && j < c->D; j++) {
            theta[b->ln1_g + j] = 1;
            theta[b->ln1_b + j] = 0;
            if (c->F) {
                theta[b->ln2_g + j] = 1;
                theta[b->ln2_b + j] = 0;
            }
        }
    }
    for (size_t j = 0; c->d_in && j < c->D; j++)
        theta[net->emb + c->d_in * c->D + j] = 0;
    for (size_t j = 0; c->ln && j < c->D; j++) {
        theta[net->lnf + j] = 1;
        theta[net->lnf + c->D + j] = 0;
    }
}

/* Rows q0 .. T-1 of each of n sequences of src into dst, or back (add). */
static void gather(const R *src, size_t n, size_t T, size_t q0, size_t D, R *dst)
{
    size_t Tq = T - q0;
    for (size_t i = 0; i < n; i++)
        memcpy(dst + i * Tq * D, src + (i * T + q0) * D, Tq * D * sizeof(R));
}

static void scatter_add(const R *src, size_t n, size_t T, size_t q0, size_t D, R *dst)
{
    size_t Tq = T - q0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < Tq * D; k++)
            dst[(i * T + q0) * D + k] += src[i * Tq * D + k];
}

double TF(net_forward)(TF(net) *net, const R *theta, const sw_tf_batch *b, size_t n)
{
    const sw_tf_config *c = &net->c;
    size_t T = c->T, D = c->D, H = c->H, dqk = c->dqk, HQ = H * dqk, dv = D / H, F = c->F;
    size_t rows = n * T;
    net->n_cur = n;
    count_flops(c, n, 0);
    mark(3);
    R *X0 = net->act[0].X;
    if (c->d_in) {
        /* Dense inputs arrive as floats; the double build widens them. */
        for (size_t i = 0; i < rows * c->d_in; i++)
            net->xin[i] = (R)b->x[i];
        TF(linear_forward)(net->xin, rows, c->d_in, theta + net->emb, D, X0);
        const R *bias = theta + net->emb + c->d_in * D;
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < D; j++)
                X0[i * D + j] += bias[j];
    } else {
        TF(embed_forward)(b->tok, rows, theta + net->emb, D, X0);
    }
    for (size_t i = 0; c->pos && i < n; i++)
        for (size_t k = 0; k < T * D; k++)
            X0[i * T * D + k] += net->PE[k];
    for (size_t l = 0; l < c->L; l++) {
        const sw_tf_block_off *o = &net->off[l];
        blk_act *a = &net->act[l];
        size_t q0 = l + 1 == c->L ? c->q0 : 0, Tq = T - q0, rq = n * Tq;
        if (c->ln)
            TF(layernorm_forward)(a->X, rows, D, theta + o->ln1_g, theta + o->ln1_b, a->A, a->m1,
                                  a->r1);
        if (Tq < T) {
            gather(a->A, n, T, q0, D, a->Aq);
            gather(a->X, n, T, q0, D, a->Xq);
        }
        mark(0);
        TF(linear_forward)(a->Aq, rq, D, theta + o->Wq, HQ, a->Q);
        TF(linear_forward)(a->A, rows, D, theta + o->Wk, HQ, a->K);
        TF(linear_forward)(a->A, rows, D, theta + o->Wv, D, a->V);
        mark(1);
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_threads > 1 && n > 1)
        for (size_t i = 0; i < n; i++)
            TF(attention_forward)(a->Q + i * Tq * HQ, a->K + i * T * HQ, a->V + i * T * D, T, q0,
                                  H, dqk, dv, a->P + i * H * Tq * T, a->O + i * Tq * D);
        mark(0);
        memcpy(a->X1, a->Xq, rq * D * sizeof(R));
        mm_rows(0, rq, D, D, a->O, D, theta + o->Wo, D, 1, a->X1, D);
        mark(3);
        if (F) {
            if (c->ln)
                TF(layernorm_forward)(a->X1, rq, D, theta + o->ln2_g, theta + o->ln2_b, a->Bn,
                                      a->m2, a->r2);
            mark(2);
            TF(linear_forward)(a->Bn, rq, D, theta + o->W1, F, a->Hh);
            TF(gelu_forward)(a->Hh, rq * F, a->G);
            memcpy(a->Y, a->X1, rq * D * sizeof(R));
            mm_rows(0, rq, F, D, a->G, F, theta + o->W2, D, 1, a->Y, D);
            mark(3);
        }
    }
    size_t rq = n * (T - c->q0);
    if (c->ln)
        TF(layernorm_forward)(net->act[c->L - 1].Y, rq, D, theta + net->lnf,
                              theta + net->lnf + D, net->Nf, net->mf, net->rf);
    TF(linear_forward)(net->Nf, rq, D, theta + net->out, c->d_out, net->Z);
    double loss = c->loss == SW_TF_MSE ? TF(mse_loss)(net->Z, b->y, rq, c->d_out, net->dZ)
                                       : TF(ce_loss)(net->Z, b->target, rq, c->d_out, net->dZ);
    mark(-1);
    return loss;
}

void TF(net_backward)(TF(net) *net, const R *theta, const sw_tf_batch *b, size_t n, R *g)
{
    const sw_tf_config *c = &net->c;
    size_t T = c->T, D = c->D, H = c->H, dqk = c->dqk, HQ = H * dqk, dv = D / H, F = c->F;
    size_t rows = n * T, rq = n * (T - c->q0);
    count_flops(c, n, 1);
    mark(7);
    memset(g, 0, net->n_params * sizeof(R));
    R *dOut = net->gOut, *dIn = net->gIn;
    memset(dOut, 0, rq * D * sizeof(R));
    if (c->ln) {
        memset(net->g2, 0, rq * D * sizeof(R));
        TF(linear_backward)(net->Nf, rq, D, theta + net->out, c->d_out, net->dZ, net->g2,
                            g + net->out);
        TF(layernorm_backward)(net->act[c->L - 1].Y, rq, D, theta + net->lnf, net->mf, net->rf,
                               net->g2, dOut, g + net->lnf, g + net->lnf + D);
    } else {
        TF(linear_backward)(net->Nf, rq, D, theta + net->out, c->d_out, net->dZ, dOut,
                            g + net->out);
    }
    for (size_t l = c->L; l-- > 0;) {
        const sw_tf_block_off *o = &net->off[l];
        blk_act *a = &net->act[l];
        size_t q0 = l + 1 == c->L ? c->q0 : 0, Tq = T - q0;
        rq = n * Tq;
        /* g1: gradient at X1 (the residual after attention). */
        R *dX1 = net->g1;
        memcpy(dX1, dOut, rq * D * sizeof(R));
        if (F) {
            mark(6);
            R *dG = net->gH;
            memset(dG, 0, rq * F * sizeof(R));
            TF(linear_backward)(a->G, rq, F, theta + o->W2, D, dOut, dG, g + o->W2);
            R *dHh = net->gH2;
            memset(dHh, 0, rq * F * sizeof(R));
            TF(gelu_backward)(a->Hh, rq * F, dG, dHh);
            if (c->ln) {
                memset(net->g2, 0, rq * D * sizeof(R));
                TF(linear_backward)(a->Bn, rq, D, theta + o->W1, F, dHh, net->g2, g + o->W1);
                mark(7);
                TF(layernorm_backward)(a->X1, rq, D, theta + o->ln2_g, a->m2, a->r2, net->g2,
                                       dX1, g + o->ln2_g, g + o->ln2_b);
            } else {
                TF(linear_backward)(a->Bn, rq, D, theta + o->W1, F, dHh, dX1, g + o->W1);
            }
        }
        /* Attention: the residual passes dX1 to the query rows of X. */
        R *dO = net->g3;
        memset(dO, 0, rq * D * sizeof(R));
        mark(4);
        TF(linear_backward)(a->O, rq, D, theta + o->Wo, D, dX1, dO, g + o->Wo);
        mark(5);
        memset(net->gQ, 0, rq * HQ * sizeof(R));
        memset(net->gK, 0, rows * HQ * sizeof(R));
        memset(net->gV, 0, rows * D * sizeof(R));
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_threads > 1 && n > 1)
        for (size_t i = 0; i < n; i++)
            TF(attention_backward)(a->Q + i * Tq * HQ, a->K + i * T * HQ, a->V + i * T * D, T,
                                   q0, H, dqk, dv, a->P + i * H * Tq * T, dO + i * Tq * D,
                                   net->gP + i * T * T, net->gQ + i * Tq * HQ,
                                   net->gK + i * T * HQ, net->gV + i * T * D);
        mark(7);
        /* dIn: the residual, then (through LayerNorm 1) the projections. */
        if (Tq < T) {
            memset(dIn, 0, rows * D * sizeof(R));
            scatter_add(dX1, n, T, q0, D, dIn);
        } else {
            memcpy(dIn, dX1, rows * D * sizeof(R));
        }
        R *dA = dIn;
        if (c->ln) {
            dA = net->g2;
            memset(dA, 0, rows * D * sizeof(R));
        }
        mark(4);
        TF(linear_backward)(a->A, rows, D, theta + o->Wk, HQ, net->gK, dA, g + o->Wk);
        TF(linear_backward)(a->A, rows, D, theta + o->Wv, D, net->gV, dA, g + o->Wv);
        if (Tq < T) {
            memset(net->g3, 0, rq * D * sizeof(R));
            TF(linear_backward)(a->Aq, rq, D, theta + o->Wq, HQ, net->gQ, net->g3, g + o->Wq);
            scatter_add(net->g3, n, T, q0, D, dA);
        } else {
            TF(linear_backward)(a->Aq, rq, D, theta + o->Wq, HQ, net->gQ, dA, g + o->Wq);
        }
        mark(7);
        if (c->ln)
            TF(layernorm_backward)(a->X, rows, D, theta + o->ln1_g, a->m1, a->r1, dA, dIn,
                                   g + o->ln1_g, g + o->ln1_b);
        R *t = dOut;
        dOut = dIn;
        dIn = t;
    }
    /* dOut now holds the gradient at the embedding's output. */
    if (c->d_in) {
        TF(linear_backward)(net->xin, rows, c->d_in, theta + net->emb, D, dOut, NULL, g + net->emb);
        R *db = g + net->emb + c->d_in * D;
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < D; j++)
                db[j] += dOut[i * D + j];
    } else {
        TF(embed_backward)(b->tok, rows, D, dOut, g + net->emb);
    }
    mark(-1);
}

const R *TF(net_attention)(const TF(net) *net, size_t l, size_t h, size_t i, size_t *rows)
{
    const sw_tf_config *c = &net->c;
    size_t Tq = l + 1 == c->L ? c->T - c->q0 : c->T;
    *rows = Tq;
    return net->act[l].P + (i * c->H + h) * Tq * c->T;
}

const R *TF(net_output)(const TF(net) *net)
{
    return net->Z;
}
