#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <gsl/gsl_errno.h>

#include "clones.h"
#include "dop853.h"

#define STAGES 12

/* Dormand and Prince's tableau as printed by Hairer, Norsett and Wanner
 * (Sec. II.10), each value rounded to the nearest double.  Zeros are left
 * out: the method never combines most earlier stages, which is what makes
 * a stage cheap (at most 9 vectors, not 11). */
static const double c[STAGES] = {0,
                                 0.05260015195876773,
                                 0.078900227938151601,
                                 0.1183503419072274,
                                 0.28164965809277259,
                                 0.33333333333333331,
                                 0.25,
                                 0.30769230769230771,
                                 0.6512820512820513,
                                 0.59999999999999998,
                                 0.8571428571428571,
                                 1};
static const double a[STAGES][STAGES] = {
    [1] = {[0] = 0.05260015195876773},
    [2] = {[0] = 0.0197250569845379, [1] = 0.059175170953613701},
    [3] = {[0] = 0.029587585476806851, [2] = 0.088762756430420545},
    [4] = {[0] = 0.24136513415926669, [2] = -0.88454947932828609, [3] = 0.92483400326179199},
    [5] = {[0] = 0.037037037037037035, [3] = 0.17082860872947386, [4] = 0.12546768756682242},
    [6] = {[0] = 0.037109375, [3] = 0.17025221101954405, [4] = 0.060216538980455959,
           [5] = -0.017578125},
    [7] = {[0] = 0.037092000118504789, [3] = 0.17038392571223998, [4] = 0.10726203044637328,
           [5] = -0.015319437748624402, [6] = 0.0082737891638140233},
    [8] = {[0] = 0.62411095871607569, [3] = -3.3608926294469414, [4] = -0.86821934684172597,
           [5] = 27.59209969944671, [6] = 20.154067550477894, [7] = -43.489884181069961},
    [9] = {[0] = 0.47766253643826434, [3] = -2.4881146199716677, [4] = -0.59029082683684297,
           [5] = 21.230051448181193, [6] = 15.279233632882423, [7] = -33.288210968984863,
           [8] = -0.020331201708508627},
    [10] = {[0] = -0.9371424300859873, [3] = 5.1863724288440638, [4] = 1.0914373489967295,
            [5] = -8.1497870107469268, [6] = -18.520065659996959, [7] = 22.739487099350505,
            [8] = 2.4936055526796523, [9] = -3.0467644718982196},
    [11] = {[0] = 2.273310147516538, [3] = -10.534495466737249, [4] = -2.0008720582248625,
            [5] = -17.958931863118799, [6] = 27.94888452941996, [7] = -2.8589982771350235,
            [8] = -8.8728569335306293, [9] = 12.360567175794303, [10] = 0.64339274601576357},
};
/* The 8th-order weights; the 5th-order error weights (8th minus 5th); and
 * the 3rd-order solution's weights, whose difference from b is the cruder
 * estimate.  All three use the same eight stages. */
static const double b[STAGES] = {[0] = 0.054293734116568765, [5] = 4.4503128927524092,
                                 [6] = 1.8915178993145003,   [7] = -5.8012039600105849,
                                 [8] = 0.3111643669578199,   [9] = -0.15216094966251609,
                                 [10] = 0.20136540080403034, [11] = 0.044710615727772587};
static const double e5[STAGES] = {[0] = 0.01312004499419488,  [5] = -1.2251564463762044,
                                  [6] = -0.4957589496572502,  [7] = 1.6643771824549864,
                                  [8] = -0.35032884874997366, [9] = 0.33417911871301748,
                                  [10] = 0.08192320648511571, [11] = -0.022355307863886294};
static const double b3[STAGES] = {[0] = 0.24409448818897638, [8] = 0.73384668828161186,
                                  [11] = 0.022058823529411766};

/* Step control: the next step is SAFETY err^(-1/8) times this one, within
 * [SHRINK, GROW]; it does not grow right after a rejection. */
#define SAFETY 0.9
#define SHRINK 0.2
#define GROW 10.0

/* The most earlier stages a stage combines (the 12th: 9), and the stages
 * the new state and both error estimates combine (8). */
enum { MAX_TERMS = 9, FINAL_TERMS = 8 };

#define HUGE_PAGE ((size_t)2 << 20)

struct sw_dop853 {
    const gsl_odeiv2_system *sys;
    size_t n;
    double rtol, atol;
    void *block;       /* holds the vectors below */
    double *k[STAGES]; /* the stages' vector fields */
    double *ytmp;      /* a stage's argument, then the new state */
    /* Per stage: the earlier stages it combines and their weights; row
     * STAGES, the new state's stages (finish takes their weights from b,
     * e5 and b3). */
    int nz[STAGES + 1], idx[STAGES + 1][STAGES];
    double w[STAGES][STAGES];
};

sw_dop853 *sw_dop853_alloc(const gsl_odeiv2_system *sys, double rtol, double atol)
{
    sw_dop853 *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->sys = sys;
    s->n = sys->dimension;
    s->rtol = rtol;
    s->atol = atol;
    /* One block for the stages and ytmp, each vector on its own cache
     * lines, in huge pages where the kernel offers them: a few faults
     * instead of one per 4 KiB page, which on a virtual machine cost as
     * much as the first several steps. */
    size_t stride = (s->n + 7) / 8 * 8, bytes = (STAGES + 1) * stride * sizeof(double);
    size_t align = bytes >= HUGE_PAGE / 2 ? HUGE_PAGE : 64;
    if (posix_memalign(&s->block, align, (bytes + align - 1) / align * align)) {
        free(s);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    if (align == HUGE_PAGE)
        madvise(s->block, (bytes + align - 1) / align * align, MADV_HUGEPAGE);
#endif
    for (int i = 0; i < STAGES; i++)
        s->k[i] = (double *)s->block + i * stride;
    s->ytmp = (double *)s->block + STAGES * stride;
    /* The same eight stages serve b, e5 and b3. */
    for (int i = 1; i <= STAGES; i++) {
        for (int j = 0; j < i && j < STAGES; j++) {
            double v = i < STAGES ? a[i][j] : b[j];
            if (v == 0)
                continue;
            if (i < STAGES)
                s->w[i][s->nz[i]] = v;
            s->idx[i][s->nz[i]++] = j;
        }
        assert(i < STAGES ? s->nz[i] <= MAX_TERMS : s->nz[i] == FINAL_TERMS);
    }
    return s;
}

void sw_dop853_free(sw_dop853 *s)
{
    if (!s)
        return;
    free(s->block);
    free(s);
}

/* out = y + sum_{r < m} hw[r] k[r] with m fixed where it is inlined, so the
 * sum over stages stays in registers and each vector is read once. */
static inline __attribute__((always_inline)) void combine_m(size_t n, double *restrict out,
                                                            const double *restrict y,
                                                            const double *hw,
                                                            double *const *k, const int m)
{
    const double *kr[MAX_TERMS];
    double f[MAX_TERMS];
    for (int r = 0; r < m; r++) {
        kr[r] = k[r];
        f[r] = hw[r];
    }
    for (size_t j = 0; j < n; j++) {
        double v = y[j];
        for (int r = 0; r < m; r++)
            v += f[r] * kr[r][j];
        out[j] = v;
    }
}

SW_VECTOR_CLONES
static void combine(size_t n, double *restrict out, const double *restrict y, int m,
                    const double *hw, double *const *k)
{
    switch (m) {
#define TERMS(M)                                                                               \
    case M:                                                                                    \
        combine_m(n, out, y, hw, k, M);                                                        \
        break;
        TERMS(1) TERMS(2) TERMS(3) TERMS(4) TERMS(5) TERMS(6) TERMS(7) TERMS(8) TERMS(9)
#undef TERMS
    }
}

/* The new state into out and the squared weighted norms of the two error
 * estimates (without the factor h), in one pass over the stages.  The
 * 3rd-order estimate is sum b k minus the 3rd-order solution's three
 * stages: that sum is needed anyway, and three terms are cheaper than
 * eight. */
SW_VECTOR_CLONES
static void finish(size_t n, double *restrict out, const double *restrict y, double h,
                   double *const *k, const int *stage, double rtol, double atol, double *err5,
                   double *err3)
{
    const double *kr[FINAL_TERMS];
    double fb[FINAL_TERMS], f5[FINAL_TERMS];
    for (int r = 0; r < FINAL_TERMS; r++) {
        kr[r] = k[stage[r]];
        fb[r] = b[stage[r]];
        f5[r] = e5[stage[r]];
    }
    const double *k0 = k[0], *k8 = k[8], *k11 = k[11];
    double s5 = 0, s3 = 0;
#pragma omp simd reduction(+ : s5, s3)
    for (size_t j = 0; j < n; j++) {
        double sb = 0, u5 = 0;
        for (int r = 0; r < FINAL_TERMS; r++) {
            double kv = kr[r][j];
            sb += fb[r] * kv;
            u5 += f5[r] * kv;
        }
        double v = y[j] + h * sb;
        double u3 = sb - (b3[0] * k0[j] + b3[8] * k8[j] + b3[11] * k11[j]);
        out[j] = v;
        double ay = fabs(y[j]), av = fabs(v);
        double wt = 1 / (atol + rtol * (ay > av ? ay : av));
        u5 *= wt;
        u3 *= wt;
        s5 += u5 * u5;
        s3 += u3 * u3;
    }
    *err5 = s5;
    *err3 = s3;
}

int sw_dop853_apply(sw_dop853 *s, double *t, double bound, double *h, double *y)
{
    const gsl_odeiv2_system *sys = s->sys;
    size_t n = s->n;
    /* The first stage, f at the step's start, serves every retry. */
    if (sys->function(*t, y, s->k[0], sys->params) != GSL_SUCCESS)
        return GSL_EBADFUNC;
    int rejected = 0;
    for (;;) {
        double htry = fabs(*h), hh = fmin(htry, bound - *t);
        int last = hh == bound - *t;
        if (!(*t + hh > *t))
            return GSL_FAILURE;
        double hw[MAX_TERMS];
        double *ks[MAX_TERMS];
        for (int i = 1; i < STAGES; i++) {
            for (int r = 0; r < s->nz[i]; r++) {
                hw[r] = hh * s->w[i][r];
                ks[r] = s->k[s->idx[i][r]];
            }
            combine(n, s->ytmp, y, s->nz[i], hw, ks);
            if (sys->function(*t + c[i] * hh, s->ytmp, s->k[i], sys->params) != GSL_SUCCESS)
                return GSL_EBADFUNC;
        }
        double err5, err3;
        finish(n, s->ytmp, y, hh, s->k, s->idx[STAGES], s->rtol, s->atol, &err5, &err3);
        double den = err5 + 0.01 * err3;
        double err = den == 0 ? 0 : hh * err5 / sqrt(den * (double)n);
        if (err <= 1) {
            double fac = err > 0 ? fmin(GROW, SAFETY * pow(err, -1.0 / 8)) : GROW;
            if (rejected)
                fac = fmin(fac, 1);
            /* A step cut short to land on the bound says little about the
             * next one: keep the step it was cut from unless this one
             * asks to shrink. */
            *h = last && fac >= 1 ? fmax(hh * fac, htry) : hh * fac;
            *t = last ? bound : *t + hh;
            memcpy(y, s->ytmp, n * sizeof *y);
            return GSL_SUCCESS;
        }
        /* A NaN error fails the test too and shrinks the step hardest. */
        rejected = 1;
        *h = hh * (err > 0 ? fmax(SHRINK, SAFETY * pow(err, -1.0 / 8)) : SHRINK);
    }
}
