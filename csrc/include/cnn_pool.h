/* Pooling on NCHW16c activations: max (with argmax), average, adaptive average, global average,
 * forward and backward. Shapes are validated by the Python layer; these functions trust them
 * (except the argmax of max-pool backward, which is range-checked: it may come from a user). */
#ifndef CNN_POOL_H
#define CNN_POOL_H

#include "cnn_common.h"

typedef struct {
    int64_t n, c, h, w;             /* input (N, C, H, W), blocked as (N, ceil(C/16), H, W, 16) */
    int64_t kh, kw, sh, sw, ph, pw, dh, dw;
    int64_t oh, ow;                 /* output size, computed by the caller (ceil_mode included) */
} cnn_pool_desc;

/* ---- max pooling ----
 * y (N, CB, OH, OW, 16) = max over each window (padding never selected; taps scanned row-major,
 * a tap replaces the running max if it is greater or NaN: the first max wins ties, a NaN wins);
 * argmax (N, CB, OH, OW, 16) = ih * W + iw of the selected tap, per lane. Every window must hold
 * at least one in-bounds tap (the caller checks). */
void cnn_max_pool2d_forward(const cnn_pool_desc* d, const float* x, float* y, int32_t* argmax);
/* dx (N, CB, H, W, 16) = scatter-add of dy (N, CB, OH, OW, 16) through argmax. Each (n, block)
 * plane is zeroed then scattered by one thread. Returns CNN_EINVAL if an argmax is outside
 * [0, H*W) (those taps are skipped), else CNN_OK. */
int cnn_max_pool2d_backward(const cnn_pool_desc* d, const float* dy, const int32_t* argmax, float* dx);

/* ---- average pooling (zero padding, dilation 1) ----
 * PyTorch's divisor: the window clipped to the padded input [-p, size + p) when count_include_pad,
 * clipped to the input otherwise, or divisor_override when it is not 0. Windows with no input
 * element give 0. */
void cnn_avg_pool2d_forward(const cnn_pool_desc* d, int count_include_pad, int64_t divisor_override,
                            const float* x, float* y);
void cnn_avg_pool2d_backward(const cnn_pool_desc* d, int count_include_pad, int64_t divisor_override,
                             const float* dy, float* dx);

/* ---- adaptive average pooling (uses n, c, h, w, oh, ow) ----
 * output bin i covers [floor(i * size / out), ceil((i + 1) * size / out)) on each axis. */
void cnn_adaptive_avg_pool2d_forward(const cnn_pool_desc* d, const float* x, float* y);
void cnn_adaptive_avg_pool2d_backward(const cnn_pool_desc* d, const float* dy, float* dx);
/* adaptive max pooling over the same bins: y and argmax as cnn_max_pool2d_forward (same rule for
 * ties and NaN); its backward is cnn_max_pool2d_backward (a scatter through argmax). */
void cnn_adaptive_max_pool2d_forward(const cnn_pool_desc* d, const float* x, float* y, int32_t* argmax);

/* ---- global average pooling ----
 * x (N, CB, HW, 16) -> y (N, C) in NCHW order (the edge to a fully connected layer); and back:
 * dy (N, C) -> dx (N, CB, HW, 16) = dy / HW, padded lanes zero. */
void cnn_global_avg_pool2d_forward(const float* x, int64_t n, int64_t c, int64_t hw, float* y);
void cnn_global_avg_pool2d_backward(const float* dy, int64_t n, int64_t c, int64_t hw, float* dx);

/* ---- max-pool indices between layouts ----
 * blocked int32 (N, CB, HW, 16) <-> NCHW int64 (N, C, HW) (PyTorch's return_indices layout);
 * the padded lanes of the blocked form are set to 0 (a valid index: their gradient is 0). */
void cnn_pool_indices_to_nchw(const int32_t* argmax, int64_t n, int64_t c, int64_t hw, int64_t* idx);
void cnn_pool_indices_from_nchw(const int64_t* idx, int64_t n, int64_t c, int64_t hw, int32_t* argmax);

#endif
