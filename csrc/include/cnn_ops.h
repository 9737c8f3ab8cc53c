/* cnncore's C operators on NCHW16c activations. Shapes are validated by the Python layer; these
 * functions trust them. Functions returning int return CNN_OK or an error code (cnn_common.h). */
#ifndef CNN_OPS_H
#define CNN_OPS_H

#include "cnn_common.h"

/* ---- layout ---- */
/* x (N, C, HW) -> y (N, ceil(C/16), HW, 16), padded lanes zeroed; and back. */
void cnn_nchw_to_nchw16c(const float* x, int64_t n, int64_t c, int64_t hw, float* y);
void cnn_nchw16c_to_nchw(const float* y, int64_t n, int64_t c, int64_t hw, float* x);

/* ---- convolution ---- */
typedef struct {
    int64_t n, c_in, h, w;       /* input */
    int64_t c_out, kh, kw;       /* weight (c_out, c_in / groups, kh, kw) */
    int64_t sh, sw, ph, pw, dh, dw, groups;
    int64_t oh, ow;              /* output size, computed by the caller */
} cnn_conv_desc;

/* Packed weights: for each output block `ocb`, input blocks icb_lo[ocb] .. icb_lo[ocb]+nicb[ocb]-1
 * (only those that share a group with the block's output channels) as
 * packed[ocb][c < nicb_max][kh][kw][16 in][16 out], zeros outside the groups and the channels.
 * transposed = 1 packs the weights of the backward-data convolution: in and out swapped, taps
 * flipped. cnn_conv_pack_nicb_max gives nicb_max for the packing. */
int64_t cnn_conv_pack_nicb_max(const cnn_conv_desc* d, int transposed);
void cnn_conv_pack(const cnn_conv_desc* d, const float* w, int transposed, int64_t nicb_max,
                   int32_t* icb_lo, int32_t* nicb, float* packed);
/* Inverse of cnn_conv_pack(transposed = 0): packed gradient -> (c_out, c_in/groups, kh, kw). */
void cnn_conv_unpack(const cnn_conv_desc* d, const float* packed, const int32_t* icb_lo,
                     int64_t nicb_max, float* w);

/* y (N, OCB, OH, OW, 16) = act(conv(x (N, ICB, H, W, 16)) + bias (c_out floats or NULL)), act a
 * cnn_act.h kind (CNN_ACT_NONE: none; 1: ReLU) with its parameter alpha, run in the kernel's epilogue. */
int cnn_conv2d_forward(const cnn_conv_desc* d, const float* x, const float* packed,
                       const int32_t* icb_lo, const int32_t* nicb, int64_t nicb_max,
                       const float* bias, int act, float alpha, float* y);
/* dx (N, ICB, H, W, 16) from dy (N, OCB, OH, OW, 16), with weights packed transposed. */
int cnn_conv2d_backward_data(const cnn_conv_desc* d, const float* dy, const float* packed_t,
                             const int32_t* icb_lo_t, const int32_t* nicb_t, int64_t nicb_max_t,
                             float* dx);
/* dw in the forward packed layout (every tile written). */
int cnn_conv2d_backward_weights(const cnn_conv_desc* d, const float* x, const float* dy,
                                const int32_t* icb_lo, const int32_t* nicb, int64_t nicb_max,
                                float* dw_packed);
/* db[c] = sum over n and pixels of dy, for c < c_out (dy in NCHW16c with `hw` pixels). */
void cnn_bias_grad(const float* dy, int64_t n, int64_t c, int64_t hw, float* db);
/* dy := dy * (y > 0), elementwise on `count` floats (the relu mask of a fused conv+relu). */

/* ---- depthwise convolution (groups == c_in == c_out) ----
 * weights (C, 1, kh, kw) packed as (CB, kh, kw, 16); transposed = flipped taps. */
void cnn_dwconv_pack(const cnn_conv_desc* d, const float* w, int transposed, float* packed);
void cnn_dwconv_unpack(const cnn_conv_desc* d, const float* packed, float* w);
int cnn_dwconv2d_forward(const cnn_conv_desc* d, const float* x, const float* packed,
                         const float* bias, int act, float alpha, float* y);
int cnn_dwconv2d_backward_data(const cnn_conv_desc* d, const float* dy, const float* packed_t,
                               float* dx);
int cnn_dwconv2d_backward_weights(const cnn_conv_desc* d, const float* x, const float* dy,
                                  float* dw_packed);

#endif
