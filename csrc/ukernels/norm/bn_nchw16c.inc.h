/* Batch normalization micro-kernels on one run of `len` pixels of a 16-lane channel block
 * (NCHW16c; cnn_ukernels.h gives their contracts). This one source is compiled once per ISA
 * (bn_nchw16c__<isa>.c define CNN_UKERNEL_ISA and include it): plain C loops over the 16 lanes
 * that the compiler vectorizes with that ISA's flags only. The reductions accumulate in double
 * in local arrays (kept in registers) and add them to the caller's sums once per run; each lane's
 * sum runs over the pixels in order, so the result does not depend on the vector width. */
#include <stdint.h>
#include <string.h>

#include "cnn_ukernels.h"

#define CNN_CAT_(a, b) a##b
#define CNN_CAT(a, b) CNN_CAT_(a, b)
#define BN_STATS CNN_CAT(cnn_f32_bn_stats_nchw16c_ukernel__, CNN_UKERNEL_ISA)
#define BN_GRAD CNN_CAT(cnn_f32_bn_grad_nchw16c_ukernel__, CNN_UKERNEL_ISA)
#define BN_FWD CNN_CAT(cnn_f32_bn_forward_nchw16c_ukernel__, CNN_UKERNEL_ISA)
#define BN_BWD CNN_CAT(cnn_f32_bn_backward_nchw16c_ukernel__, CNN_UKERNEL_ISA)
#define L 16

/* d where y > 0, else 0 (the gradient through a ReLU whose output was y), as a bit mask: a
 * select with a conditional load does not vectorize, this does. NaN in d is kept. */
static inline float relu_masked(float d, float y) {
    uint32_t bits;
    memcpy(&bits, &d, sizeof bits);
    bits &= -(uint32_t)(y > 0.0f);
    memcpy(&d, &bits, sizeof bits);
    return d;
}

void BN_STATS(size_t len, const float* restrict x, const float* restrict shift, double* restrict a1,
              double* restrict a2) {
    double s1[L] = {0}, s2[L] = {0}, sh[L];
    for (int l = 0; l < L; l++) sh[l] = shift[l];
    for (size_t p = 0; p < len; p++)
        for (int l = 0; l < L; l++) {
            const double v = (double)x[p * L + l] - sh[l];
            s1[l] += v;
            s2[l] += v * v;
        }
    for (int l = 0; l < L; l++) {
        a1[l] += s1[l];
        a2[l] += s2[l];
    }
}

void BN_GRAD(size_t len, const float* restrict dy, const float* restrict x, const float* restrict y,
             const float* restrict mean, double* restrict a1, double* restrict a2) {
    double s1[L] = {0}, s2[L] = {0}, m[L];
    for (int l = 0; l < L; l++) m[l] = mean[l];
    if (y) {
        for (size_t p = 0; p < len; p++)
            for (int l = 0; l < L; l++) {
                const size_t k = p * L + l;
                const double g = relu_masked(dy[k], y[k]);
                s1[l] += g;
                s2[l] += g * ((double)x[k] - m[l]);
            }
    } else {
        for (size_t p = 0; p < len; p++)
            for (int l = 0; l < L; l++) {
                const size_t k = p * L + l;
                const double g = dy[k];
                s1[l] += g;
                s2[l] += g * ((double)x[k] - m[l]);
            }
    }
    for (int l = 0; l < L; l++) {
        a1[l] += s1[l];
        a2[l] += s2[l];
    }
}

void BN_FWD(size_t len, const float* restrict x, const float* restrict residual, int relu,
            const float* restrict coef, float* restrict y) {
    const float *m = coef, *s = coef + L, *o = coef + 2 * L;
    if (residual) {
        for (size_t p = 0; p < len; p++)
            for (int l = 0; l < L; l++) {
                const size_t k = p * L + l;
                const float v = (x[k] - m[l]) * s[l] + o[l] + residual[k];
                y[k] = relu && v < 0.0f ? 0.0f : v;
            }
    } else if (relu) {
        for (size_t p = 0; p < len; p++)
            for (int l = 0; l < L; l++) {
                const size_t k = p * L + l;
                const float v = (x[k] - m[l]) * s[l] + o[l];
                y[k] = v < 0.0f ? 0.0f : v;
            }
    } else {
        for (size_t p = 0; p < len; p++)
            for (int l = 0; l < L; l++) {
                const size_t k = p * L + l;
                y[k] = (x[k] - m[l]) * s[l] + o[l];
            }
    }
}

void BN_BWD(size_t len, const float* restrict dy, const float* restrict x, const float* restrict y,
            const float* restrict coef, float* restrict dx, float* restrict dresidual) {
    const float *m = coef, *a = coef + L, *mg = coef + 2 * L, *kk = coef + 3 * L;
    if (y && dresidual) {
        for (size_t p = 0; p < len; p++)
            for (int l = 0; l < L; l++) {
                const size_t e = p * L + l;
                const float g = relu_masked(dy[e], y[e]);
                dresidual[e] = g;
                dx[e] = a[l] * (g - mg[l] - (x[e] - m[l]) * kk[l]);
            }
    } else if (y) {
        for (size_t p = 0; p < len; p++)
            for (int l = 0; l < L; l++) {
                const size_t e = p * L + l;
                const float g = relu_masked(dy[e], y[e]);
                dx[e] = a[l] * (g - mg[l] - (x[e] - m[l]) * kk[l]);
            }
    } else {
        for (size_t p = 0; p < len; p++)
            for (int l = 0; l < L; l++) {
                const size_t e = p * L + l;
                dx[e] = a[l] * (dy[e] - mg[l] - (x[e] - m[l]) * kk[l]);
            }
    }
}
