/* Temporary buffers shared by the convolution operators (direct and depthwise). */
#ifndef CNN_CONV_BUFFERS_H
#define CNN_CONV_BUFFERS_H

#include "cnn_ops.h"

/* The input x (N, cb, H, W, 16) zero-padded to (N, cb, hp, wp, 16), just as far as the windows of
 * `d` reach. Sets *out to NULL (use x itself) when no padding is needed; returns CNN_OK or
 * CNN_ENOMEM. */
int cnn_conv_pad_input(const cnn_conv_desc* d, const float* x, int64_t cb, float** out,
                       int64_t* hp, int64_t* wp);

#endif
