/* Resampling on NCHW16c activations: nearest and bilinear interpolation (PyTorch's index and
 * weight formulas, in float as PyTorch computes them for float32), and 2-D padding (constant,
 * reflect, replicate, circular), forward and backward. Shapes are validated by the Python layer;
 * these functions trust them. Backward passes gather (each input pixel sums the output pixels
 * that read it, in a fixed order), so results do not depend on the thread count. */
#ifndef CNN_RESAMPLE_H
#define CNN_RESAMPLE_H

#include "cnn_common.h"

enum { CNN_INTERP_NEAREST = 0, CNN_INTERP_BILINEAR = 1, CNN_INTERP_NEAREST_EXACT = 2 };

typedef struct {
    int64_t n, c, h, w;     /* input (N, C, H, W), blocked as (N, ceil(C/16), H, W, 16) */
    int64_t oh, ow;         /* output size */
    int mode;               /* CNN_INTERP_* */
    int align_corners;      /* bilinear only */
    double scale_h, scale_w; /* the user's scale factors, or <= 0 when the sizes define them */
} cnn_interp_desc;

/* y (N, CB, OH, OW, 16) from x (N, CB, H, W, 16). */
int cnn_interp2d_forward(const cnn_interp_desc* d, const float* x, float* y);
/* dx (N, CB, H, W, 16) from dy (N, CB, OH, OW, 16). */
int cnn_interp2d_backward(const cnn_interp_desc* d, const float* dy, float* dx);

enum { CNN_PAD_CONSTANT = 0, CNN_PAD_REFLECT = 1, CNN_PAD_REPLICATE = 2, CNN_PAD_CIRCULAR = 3 };

typedef struct {
    int64_t n, c, h, w;                 /* input */
    int64_t top, bottom, left, right;   /* pads (negative crops, constant mode only) */
    int mode;                           /* CNN_PAD_* */
    float value;                        /* constant mode: the fill of the real channels */
} cnn_pad_desc;

/* y (N, CB, H + top + bottom, W + left + right, 16); padded lanes stay zero. */
int cnn_pad2d_forward(const cnn_pad_desc* d, const float* x, float* y);
/* dx (N, CB, H, W, 16): each input pixel the sum of the output pixels copied from it. */
int cnn_pad2d_backward(const cnn_pad_desc* d, const float* dy, float* dx);

#endif
