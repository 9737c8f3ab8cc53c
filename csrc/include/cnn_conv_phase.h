/* Stride phases of a backward-data (transposed) convolution, shared by the direct and depthwise
 * operators. With stride s, input-gradient row y = start + s*k receives dy row o = (y + p - i*d)/s
 * from kernel row i only when that division is exact; so each of the s phases (start = 0 .. s-1)
 * of dx is a stride-1 convolution of dy with the subset of taps that reach it, evenly spaced in the
 * kernel and in dy, and its own padding. Per axis; the 2D phases are the products. No zero is
 * inserted into dy and no multiply-add hits one. Internal to csrc/ops. */
#ifndef CNN_CONV_PHASE_H
#define CNN_CONV_PHASE_H

#include "cnn_ops.h"

typedef struct {
    int64_t start;     /* first dx row (or column) of the phase */
    int64_t nout;      /* its rows: start, start + s, ... below the input size */
    int64_t ntaps;     /* kernel taps that reach it (0: the phase of dx is zero) */
    int64_t tap0;      /* phase tap j is tap tap0 + j*tap_step of the transposed (flipped) packing */
    int64_t tap_step;
    int64_t dil;       /* the phase's dilation over dy */
    int64_t pad;       /* its padding over dy: output k reads dy rows k - pad + j*dil (may be < 0) */
} cnn_phase_axis;

/* The phase of one axis starting at dx row `start`, for an input of `size` rows, kernel `k`,
 * stride `s`, padding `p`, dilation `d`. */
cnn_phase_axis cnn_phase_axis_of(int64_t start, int64_t size, int64_t k, int64_t s, int64_t p, int64_t d);

/* The taps of phase (ay, ax) out of packed weights laid out [nblocks][kh][kw][tile] (the
 * transposed packings: tile 256 direct, 16 depthwise) into out [nblocks][ay.ntaps][ax.ntaps][tile]. */
void cnn_phase_taps(const float* packed, int64_t nblocks, int64_t kh, int64_t kw, int64_t tile,
                    const cnn_phase_axis* ay, const cnn_phase_axis* ax, float* out);

/* x (nb, h, w, 16) placed at row `top`, column `left` (negative: cropped) of a zeroed
 * (nb, hb, wb, 16) buffer; NULL when it cannot be allocated. */
float* cnn_phase_window(const float* x, int64_t nb, int64_t h, int64_t w, int64_t top, int64_t left,
                        int64_t hb, int64_t wb);

/* Phase (ay, ax) of dx (nb, h, w, 16), rows ay.start + s_h*k and columns ax.start + s_w*l, set from
 * src (nb, ay.nout, ax.nout, 16), or to zero when src is NULL. */
void cnn_phase_scatter(const float* src, int64_t nb, int64_t h, int64_t w, int64_t sh, int64_t sw,
                       const cnn_phase_axis* ay, const cnn_phase_axis* ax, float* dx);

/* One phase's stride-1 convolution: dy with `taps` ([nblocks][ay.ntaps][ax.ntaps][tile]) into
 * out (N, blocks of dx, ay.nout, ax.nout, 16), or, for a conv that writes dx itself, into the
 * phase's rows and columns of out = dx. Returns CNN_OK or CNN_ENOMEM. */
typedef int (*cnn_phase_conv)(void* ctx, const cnn_phase_axis* ay, const cnn_phase_axis* ax,
                              const float* taps, float* out);

/* dx (nb = N * blocks of dx, h, w, 16) of the backward-data of `d`, phase by phase: each phase's
 * taps taken out of packed_t ([nblocks][kh][kw][tile]), run by `conv` into a scratch and scattered
 * to its rows and columns of dx (a copy of dx in all), or straight into dx when `writes_dx`;
 * phases no tap reaches are zeroed. Stride 1 is one phase with every tap, run straight into dx.
 * Returns CNN_OK or CNN_ENOMEM. */
int cnn_phase_backward_data(const cnn_conv_desc* d, int64_t nb, const float* packed_t, int64_t nblocks,
                            int64_t tile, int writes_dx, cnn_phase_conv conv, void* ctx, float* dx);

#endif
