/* Micro-kernel signatures. A micro-kernel does one tile of work: no threads, no allocation, no
 * shape logic. Strides are in floats. Names carry the ISA after a double underscore. */
#ifndef CNN_UKERNELS_H
#define CNN_UKERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "cnn_act.h"

/* ---- direct convolution forward on NCHW16c: nblk output blocks x npix output pixels ----
 * out[k*out_ocb_stride + t*16 + o] = bias[k*16 + o] + sum_{c < nicb, i < kh, j < kw, l < lanes(c)}
 *             in[c*in_icb_stride + i*in_kh_stride + j*in_kw_stride + t*in_pix_stride + l]
 *             * w[k*w_ocb_stride + c*w_icb_stride + i*w_kh_stride + j*256 + l*16 + o]
 * for every block k < nblk and pixel t < npix (any counts: the kernel splits them into its
 * register tiles, cnn_conv_tiles), where lanes(c) = 16 except ic_last for the last block; then
 * the activation `act` (cnn_act.h, CNN_ACT_NONE for none) with its parameter `alpha`, applied by
 * cnn_act_apply on the stored tile. All nblk blocks read the same input blocks. `in` points at
 * the first input pixel of the tile's first tap; `w` at that tap's 16x16 block of the first
 * output block's packed weights [icb][kh][kw][16 in][16 out] (kh, kw here may be a sub-range of
 * the full kernel: taps that fall into the padding are skipped by the caller, not computed on
 * zeros); `bias` is nblk*16 floats or NULL. */
typedef struct {
    size_t nicb, kh, kw, ic_last;
    size_t in_icb_stride, in_kh_stride, in_kw_stride, in_pix_stride;
    size_t w_icb_stride, w_kh_stride, w_ocb_stride, out_ocb_stride;
    int act;
    float alpha;
} cnn_conv_params;
typedef void (*cnn_conv_fwd_ukernel)(size_t nblk, size_t npix, const float* in, const float* w,
                                     const float* bias, float* out, const cnn_conv_params* p);
/* The register tiles a forward kernel has: up to max_blocks output blocks, and for b blocks at
 * most max_pix[b - 1] pixels per tile, each block of a pixel `vectors` of the ISA's `registers`
 * vector registers (exported by each kernel as cnn_f32_conv2d_nchw16c_tiles__<isa>; the
 * dispatch chooses a tile per shape). */
typedef struct {
    size_t max_blocks, vectors, registers;
    size_t max_pix[4];
} cnn_conv_tiles;

/* ---- convolution backward-weights (csrc/ukernels/convbww), one tile = ni input lanes x 16
 * output channels of one tap ----
 * dw[(i0 + l)*16 + o] += sum_{b < nbatch, r < nrows, t < npix}
 *     x[b*x_batch_stride + r*x_row_stride + t*x_pix_stride + i0 + l]
 *   * dy[b*dy_batch_stride + r*dy_row_stride + t*16 + o]
 * for l < ni, 1 <= ni <= the ISA's cnn_f32_conv2d_bww_nchw16c_max_lanes__<isa> (the kernel does
 * nothing for other ni). The sum runs in that fixed order. */
typedef struct {
    size_t nbatch, nrows, npix, x_batch_stride, x_row_stride, x_pix_stride, dy_batch_stride,
        dy_row_stride;
} cnn_convbw_params;
typedef void (*cnn_conv_bww_ukernel)(size_t i0, size_t ni, const float* x, const float* dy,
                                     float* dw, const cnn_convbw_params* p);

/* ---- backward-weights with few input lanes, up to nine taps per call ----
 * tap_out[k][l*16 + o] += sum_{b, r, t} x[b*rows.x_batch_stride + r*x_row_stride + t*x_pix_stride
 *     + tap_offset[k] + l] * dy[b*dy_batch_stride + r*dy_row_stride + t*16 + o]
 * for the taps k < ntaps <= 9 and lanes l < ni <= 3; x is zero-padded so every tap is in bounds
 * (any layout: the strides and offsets say where a pixel's ni values are). The kernel keeps as
 * many taps' accumulators in registers as the ISA allows and reads x and dy once per such group.
 * Returns 0 (and does nothing) when ni or ntaps is out of range. */
typedef struct {
    cnn_convbw_params rows;  /* batch, rows and pixels walked, as for the per-tap kernel */
    size_t ntaps;
    size_t tap_offset[9];
    float* tap_out[9];
} cnn_convbw_small_params;
typedef int (*cnn_conv_bww_small_ukernel)(size_t ni, const float* x, const float* dy,
                                          const cnn_convbw_small_params* p);

#define CNN_DECLARE_BWW_UKERNELS(isa)                                                              \
    int cnn_f32_conv2d_bww_small_nchw16c_ukernel__##isa(size_t, const float*, const float*,        \
                                                        const cnn_convbw_small_params*);          \
    extern const size_t cnn_f32_conv2d_bww_nchw16c_max_lanes__##isa;
CNN_DECLARE_BWW_UKERNELS(avx512)
CNN_DECLARE_BWW_UKERNELS(avx2)
CNN_DECLARE_BWW_UKERNELS(generic)

/* ---- depthwise convolution forward on NCHW16c (one 16-channel block, npix output pixels) ----
 * out[t*out_pix_stride + l] = bias[l] + sum_{i<kh, j<kw} in[i*in_kh_stride + j*in_kw_stride
 *                                        + t*in_pix_stride + l] * w[(i*kw + j)*16 + l];
 * then the activation act(alpha). */
typedef struct {
    size_t kh, kw, in_kh_stride, in_kw_stride, in_pix_stride, out_pix_stride;
    int act;
    float alpha;
} cnn_dw_params;
typedef void (*cnn_dw_fwd_ukernel)(size_t npix, const float* in, const float* w, const float* bias,
                                   float* out, const cnn_dw_params* p);
/* ---- depthwise backward-weights, one kernel row of taps j < kw over one output row:
 * acc[j*16 + l] += sum_{t < npix} x[t*x_pix_stride + j*x_kw_stride + l] * dy[t*16 + l] */
typedef void (*cnn_dw_bww_ukernel)(size_t npix, const float* x, size_t x_pix_stride, size_t x_kw_stride,
                                   size_t kw, const float* dy, float* acc);

/* ---- activations (cnn_act.h kinds) on a flat span: y = act(x); dx = dy * act'(x) from x (may be
 * NULL for the kinds whose gradient follows from y) and y ---- */
typedef void (*cnn_act_fwd_ukernel)(int kind, float alpha, const float* x, size_t count, float* y);
typedef void (*cnn_act_bwd_ukernel)(int kind, float alpha, const float* dy, const float* x,
                                    const float* y, size_t count, float* dx);

/* ---- batch normalization on one run of len pixels of a 16-lane block (x[p*16 + l]) ----
 * stats:    a1[l] += sum_p (x - shift[l]), a2[l] += sum_p (x - shift[l])^2, in double, p in order.
 * grad:     g = dy, or dy where y > 0 else 0 when y is not NULL (the fused ReLU's mask);
 *           a1[l] += sum_p g, a2[l] += sum_p g * (x - mean[l]), in double, p in order.
 * forward:  v = (x - m[l]) * s[l] + o[l] (+ residual if not NULL), y = relu ? max(v, 0) : v,
 *           with coef = m, s, o (16 floats each).
 * backward: g as in grad; dx = a[l] * (g - mg[l] - (x - m[l]) * k[l]) with coef = m, a, mg, k
 *           (16 floats each); dresidual (only with y) receives g. */
typedef void (*cnn_bn_stats_ukernel)(size_t len, const float* x, const float* shift, double* a1,
                                     double* a2);
typedef void (*cnn_bn_grad_ukernel)(size_t len, const float* dy, const float* x, const float* y,
                                    const float* mean, double* a1, double* a2);
typedef void (*cnn_bn_fwd_ukernel)(size_t len, const float* x, const float* residual, int relu,
                                   const float* coef, float* y);
typedef void (*cnn_bn_bwd_ukernel)(size_t len, const float* dy, const float* x, const float* y,
                                   const float* coef, float* dx, float* dresidual);

/* ---- max pooling: one window of nh x nw taps (rows ih0, ih0 + dh, ...; columns iw0, iw0 + dw,
 * ...; all in bounds) of a 16-lane plane `src` of width w: out[l] = its max, arg_out[l] = that
 * tap's ih * w + iw. Taps are scanned row-major and replace the running max if greater or NaN
 * (PyTorch's rule: the first max wins ties, a NaN wins); a window of -inf keeps the first tap. */
typedef void (*cnn_maxpool_window_ukernel)(const float* src, int64_t w, int64_t ih0, int64_t nh,
                                           int64_t dh, int64_t iw0, int64_t nw, int64_t dw,
                                           float* out, int32_t* arg_out);

#define CNN_DECLARE_UKERNELS(isa)                                                                  \
    void cnn_f32_conv2d_nchw16c_ukernel__##isa(size_t, size_t, const float*, const float*,         \
                                               const float*, float*, const cnn_conv_params*);     \
    extern const cnn_conv_tiles cnn_f32_conv2d_nchw16c_tiles__##isa;                               \
    void cnn_f32_conv2d_bww_nchw16c_ukernel__##isa(size_t, size_t, const float*, const float*,     \
                                                   float*, const cnn_convbw_params*);             \
    void cnn_f32_dwconv2d_nchw16c_ukernel__##isa(size_t, const float*, const float*, const float*, \
                                                 float*, const cnn_dw_params*);                   \
    void cnn_f32_dwconv2d_bww_nchw16c_ukernel__##isa(size_t, const float*, size_t, size_t, size_t, \
                                                     const float*, float*);                       \
    void cnn_f32_act_ukernel__##isa(int, float, const float*, size_t, float*);                     \
    void cnn_f32_act_backward_ukernel__##isa(int, float, const float*, const float*, const float*, \
                                             size_t, float*);                                  \
    void cnn_f32_bn_stats_nchw16c_ukernel__##isa(size_t, const float*, const float*, double*,      \
                                                 double*);                                        \
    void cnn_f32_bn_grad_nchw16c_ukernel__##isa(size_t, const float*, const float*, const float*,  \
                                                const float*, double*, double*);                  \
    void cnn_f32_bn_forward_nchw16c_ukernel__##isa(size_t, const float*, const float*, int,        \
                                                   const float*, float*);                         \
    void cnn_f32_bn_backward_nchw16c_ukernel__##isa(size_t, const float*, const float*,            \
                                                    const float*, const float*, float*, float*); \
    void cnn_f32_maxpool_window_nchw16c_ukernel__##isa(const float*, int64_t, int64_t, int64_t,    \
                                                       int64_t, int64_t, int64_t, int64_t, float*, \
                                                       int32_t*);

CNN_DECLARE_UKERNELS(avx512)
CNN_DECLARE_UKERNELS(avx2)
CNN_DECLARE_UKERNELS(generic)


#endif
