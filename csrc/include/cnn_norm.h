/* Batch normalization on NCHW16c activations, plain and fused with ReLU or with a residual add and
 * ReLU, forward and backward. Shapes are validated by the Python layer; these functions trust them.
 *
 * Statistics are reduced in double over fixed pixel ranges whose partial sums are combined in a
 * fixed order, so every result is bit-identical for any thread count. Padded lanes (channels >= c
 * in the last block) of every output are zero, given zero padded lanes in the inputs. */
#ifndef CNN_NORM_H
#define CNN_NORM_H

#include "cnn_common.h"

/* y = (x - m) * s + o over `len` pixels of one 16-lane block (m, s, o: 16 floats each): the
 * normalizing pass of every normalization, vectorized by the compiler. */
static inline void cnn_norm_affine_lanes(const float* restrict x, int64_t len, const float* m,
                                         const float* s, const float* o, float* restrict y) {
    for (int64_t p = 0; p < len; p++)
        for (int l = 0; l < CNN_BLOCK; l++) {
            const int64_t k = p * CNN_BLOCK + l;
            y[k] = (x[k] - m[l]) * s[l] + o[l];
        }
}

typedef struct {
    int64_t n, c, hw;   /* activations (N, ceil(C/16), HW, 16) */
    int training;       /* 1: normalize with the batch statistics; 0: with the running ones */
    float momentum;     /* training: running = (1 - momentum) * running + momentum * batch stat */
    float eps;          /* invstd = 1 / sqrt(var + eps) */
} cnn_bn_desc;

/* y = act(weight * (x - mean) * invstd + bias [+ residual]), act = relu if `relu`, else identity.
 *   weight, bias: c floats or NULL (1 and 0); residual: like x, or NULL.
 *   training: mean / var are the batch's (biased variance); running_mean / running_var (c floats,
 *     each may be NULL) are updated in place with the unbiased variance. Needs n * hw >= 1.
 *   eval: mean = eval_mean, var = eval_var (c floats each, required); running_* are ignored.
 *   save_mean, save_invstd (c floats each): the mean and invstd used, for the backward.
 * Returns CNN_OK or CNN_ENOMEM (nothing written then). */
int cnn_batch_norm_forward(const cnn_bn_desc* d, const float* x, const float* residual, int relu,
                           const float* weight, const float* bias, const float* eval_mean,
                           const float* eval_var, float* running_mean, float* running_var,
                           float* y, float* save_mean, float* save_invstd);

/* Gradients of cnn_batch_norm_forward, given its save_mean / save_invstd.
 *   y: NULL for the plain form; the forward's output for the fused forms, whose ReLU mask
 *     (y > 0) is applied to dy inside both passes (g = dy * (y > 0)).
 *   dx: gradient of x (training: through the batch statistics; eval: g * weight * invstd).
 *   dresidual: NULL, or receives g (the residual's gradient, for the add + relu form).
 *   dweight = sum(g * xhat), dbias = sum(g): c floats each. weight NULL means 1.
 * Returns CNN_OK or CNN_ENOMEM. */
int cnn_batch_norm_backward(const cnn_bn_desc* d, const float* dy, const float* x, const float* y,
                            const float* weight, const float* save_mean, const float* save_invstd,
                            float* dx, float* dresidual, float* dweight, float* dbias);

#endif
