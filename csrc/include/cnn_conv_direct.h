/* The direct convolution engine on NCHW16c shared by the convolution operators (forward,
 * backward-data): one description of a convolution over a blocked input, run in register tiles
 * by the ISA's micro-kernels. Internal to csrc/ops. */
#ifndef CNN_CONV_DIRECT_H
#define CNN_CONV_DIRECT_H

#include "cnn_ops.h"

typedef struct {
    const float* x;         /* input (N, ICB, H, W, 16), read with implicit zero padding */
    int64_t n, icb, h, w, c_in, c_out;
    int64_t ocb, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
    const float* packed;
    const int32_t* icb_lo;
    const int32_t* nicb;
    int64_t nicb_max;
    const float* bias16;    /* ocb * 16 floats or NULL */
    int act;                /* epilogue activation (cnn_act.h) and its parameter */
    float alpha;
    float* y;               /* (N, OCB, OH, OW, 16) */
} direct_args;

/* Taps [*t0, *t1) of a window starting at `start` (stride `dil`, `k` taps) that fall inside
 * [0, size): the rest read padding, which is zero, and are skipped. */
static inline void cnn_valid_taps(int64_t start, int64_t dil, int64_t k, int64_t size, int64_t* t0, int64_t* t1) {
    int64_t lo = start >= 0 ? 0 : (-start + dil - 1) / dil;
    int64_t hi = start + (k - 1) * dil < size ? k : (size - 1 - start) / dil + 1;
    if (start > size - 1) hi = 0;
    if (hi < lo) hi = lo;
    *t0 = lo;
    *t1 = hi;
}

/* Run the direct convolution described by `a` (zero-padding the input first when the border
 * columns would be a large share of the work). Returns CNN_OK or CNN_ENOMEM. */
int cnn_conv_run_direct(const direct_args* a);

#endif
