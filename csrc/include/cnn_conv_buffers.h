/* Temporary buffers shared by the convolution operators (direct and depthwise). */
#ifndef CNN_CONV_BUFFERS_H
#define CNN_CONV_BUFFERS_H

#include "cnn_ops.h"

/* The input x (N, cb, H, W, 16) zero-padded to (N, cb, hp, wp, 16), just as far as the windows of
 * `d` reach. Sets *out to NULL (use x itself) when no padding is needed; returns CNN_OK or
 * CNN_ENOMEM. */
int cnn_conv_pad_input(const cnn_conv_desc* d, const float* x, int64_t cb, float** out,
                       int64_t* hp, int64_t* wp);

/* The output gradient dy (N, cb, OH, OW, 16) placed where the forward windows started, zeros
 * between (stride) and around, so that a stride-1 convolution with flipped taps over it gives the
 * input gradient: B[oh*sh + dh*(kh-1) - ph][ow*sw + dw*(kw-1) - pw] = dy[oh][ow], B of size
 * (h + dh*(kh-1)) x (w + dw*(kw-1)). Returns NULL when it cannot be allocated. */
float* cnn_conv_upsample_grad(const cnn_conv_desc* d, const float* dy, int64_t cb, int64_t* hb,
                              int64_t* wb);

#endif
