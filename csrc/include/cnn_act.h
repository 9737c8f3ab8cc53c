/* Activation functions, one definition for every place that applies them: the epilogue of the
 * convolution micro-kernels (each ISA's file includes this and the compiler vectorizes the loops
 * with that file's flags), and the elementwise operators (eltwise.c). Formulas and gradients are
 * PyTorch's; NaN propagates. */
#ifndef CNN_ACT_H
#define CNN_ACT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Activation kinds (the numbering is part of the Python binding: cnncore.autograd.activations). */
enum {
    CNN_ACT_NONE = 0,
    CNN_ACT_RELU = 1,
    CNN_ACT_RELU6 = 2,
    CNN_ACT_LEAKY_RELU = 3,  /* alpha: negative_slope */
    CNN_ACT_SIGMOID = 4,
    CNN_ACT_TANH = 5,
    CNN_ACT_SILU = 6,
    CNN_ACT_HARDSWISH = 7,
    CNN_ACT_HARDSIGMOID = 8,
    CNN_ACT_COUNT = 9
};

/* c ? a : b as a bit-mask blend: both sides are computed, so the compiler vectorizes loops using
 * it without having to speculate a floating-point operation (which -ftrapping-math forbids). */
static inline float cnn_select(int c, float a, float b) {
    uint32_t ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    const uint32_t m = -(uint32_t)(c != 0);
    ua = (ua & m) | (ub & ~m);
    memcpy(&a, &ua, sizeof a);
    return a;
}

/* exp(x) to about 2 ulp, written so that compilers vectorize it (no libm call, selects instead
 * of branches): Cody-Waite range reduction x = n ln2 + r and Cephes' polynomial for exp(r).
 * exp(NaN) = NaN, exp(+-inf) = inf, 0; below -87.34 (results under FLT_MIN) it gives 0. */
static inline float cnn_expf(float x) {
    float xc = cnn_select(x > 88.7f, 88.7f, x); /* comparisons keep a NaN */
    xc = cnn_select(xc < -86.0f, -86.0f, xc);
    const float fn = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round(x/ln2) */
    const float r = (xc - fn * 0.693359375f) + fn * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const float fs = cnn_select(fn == fn, fn, 0.0f); /* no float-to-int conversion of a NaN */
    const uint32_t bits = (uint32_t)((int32_t)fs - 1 + 127) << 23; /* 2^(n-1), n in [-124, 128] */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float e = p * scale * 2.0f;
    e = cnn_select(x > 88.7f, INFINITY, e);
    return cnn_select(x < -87.3365f, 0.0f, e);
}

static inline float cnn_sigmoidf(float x) { return 1.0f / (1.0f + cnn_expf(-x)); }

/* tanh(x) to a few ulp: Cephes' odd polynomial for |x| < 0.625, 1 - 2 / (exp(2|x|) + 1) above. */
static inline float cnn_tanhf(float x) {
    const float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    const float small = x + x * z * p;
    const float ax = fabsf(x);
    float big = 1.0f - 2.0f / (cnn_expf(2.0f * ax) + 1.0f);
    big = copysignf(big, x);
    return cnn_select(ax < 0.625f, small, big); /* NaN: ax < 0.625 is false, big is NaN */
}

static inline float cnn_act_clip6(float v) {
    v = cnn_select(v < 0.0f, 0.0f, v); /* NaN stays */
    return cnn_select(v > 6.0f, 6.0f, v);
}

/* y[i] = act(y[i]) for i < count, in place. */
static inline void cnn_act_apply(float* restrict y, size_t count, int kind, float alpha) {
    switch (kind) {
        case CNN_ACT_RELU:
            for (size_t i = 0; i < count; i++) y[i] = y[i] < 0.0f ? 0.0f : y[i];
            break;
        case CNN_ACT_RELU6:
            for (size_t i = 0; i < count; i++) y[i] = cnn_act_clip6(y[i]);
            break;
        case CNN_ACT_LEAKY_RELU:
            for (size_t i = 0; i < count; i++) y[i] = cnn_select(y[i] > 0.0f, y[i], y[i] * alpha);
            break;
        case CNN_ACT_SIGMOID:
            for (size_t i = 0; i < count; i++) y[i] = cnn_sigmoidf(y[i]);
            break;
        case CNN_ACT_TANH:
            for (size_t i = 0; i < count; i++) y[i] = cnn_tanhf(y[i]);
            break;
        case CNN_ACT_SILU:
            for (size_t i = 0; i < count; i++) y[i] = y[i] * cnn_sigmoidf(y[i]);
            break;
        case CNN_ACT_HARDSWISH:
            for (size_t i = 0; i < count; i++) y[i] = y[i] * cnn_act_clip6(y[i] + 3.0f) * (1.0f / 6.0f);
            break;
        case CNN_ACT_HARDSIGMOID:
            for (size_t i = 0; i < count; i++) y[i] = cnn_act_clip6(y[i] + 3.0f) * (1.0f / 6.0f);
            break;
        default:
            break;
    }
}

/* Whether act's gradient is a function of its output alone (then a fused producer need not keep
 * its pre-activation values for the backward). */
static inline int cnn_act_grad_from_output(int kind, float alpha) {
    return kind == CNN_ACT_RELU || kind == CNN_ACT_RELU6 || kind == CNN_ACT_SIGMOID
           || kind == CNN_ACT_TANH || (kind == CNN_ACT_LEAKY_RELU && alpha >= 0.0f);
}

/* d where keep, else 0, as a bit mask (a select with a conditional load does not vectorize).
 * NaN in d is kept. */
static inline float cnn_act_masked(float d, int keep) {
    uint32_t bits;
    memcpy(&bits, &d, sizeof bits);
    bits &= -(uint32_t)keep;
    memcpy(&d, &bits, sizeof bits);
    return d;
}

/* dx = dy * act'(x), given x (may be NULL when cnn_act_grad_from_output) and y = act(x). */
static inline void cnn_act_backward_span(const float* restrict dy, const float* restrict x,
                                         const float* restrict y, size_t count, int kind,
                                         float alpha, float* restrict dx) {
    switch (kind) {
        case CNN_ACT_RELU:
            for (size_t i = 0; i < count; i++) dx[i] = cnn_act_masked(dy[i], y[i] > 0.0f);
            break;
        case CNN_ACT_RELU6:
            for (size_t i = 0; i < count; i++) dx[i] = cnn_act_masked(dy[i], (y[i] > 0.0f) & (y[i] < 6.0f));
            break;
        case CNN_ACT_LEAKY_RELU:
            if (x)
                for (size_t i = 0; i < count; i++) dx[i] = cnn_select(x[i] > 0.0f, dy[i], dy[i] * alpha);
            else
                for (size_t i = 0; i < count; i++) dx[i] = cnn_select(y[i] > 0.0f, dy[i], dy[i] * alpha);
            break;
        case CNN_ACT_SIGMOID:
            for (size_t i = 0; i < count; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
            break;
        case CNN_ACT_TANH:
            for (size_t i = 0; i < count; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
            break;
        case CNN_ACT_SILU:
            for (size_t i = 0; i < count; i++) {
                const float s = cnn_sigmoidf(x[i]);
                dx[i] = dy[i] * (s * (1.0f + x[i] * (1.0f - s)));
            }
            break;
        case CNN_ACT_HARDSWISH:
            for (size_t i = 0; i < count; i++)
                dx[i] = cnn_act_masked(cnn_select(x[i] <= 3.0f, dy[i] * (x[i] * (1.0f / 3.0f) + 0.5f), dy[i]),
                                       !(x[i] < -3.0f));
            break;
        case CNN_ACT_HARDSIGMOID:
            for (size_t i = 0; i < count; i++)
                dx[i] = cnn_act_masked(dy[i] * (1.0f / 6.0f), (x[i] > -3.0f) & (x[i] < 3.0f));
            break;
        default:
            memcpy(dx, dy, sizeof(float) * count);
            break;
    }
}

#endif
