/* Group normalization on NCHW16c activations, forward and backward: statistics per (image, group
 * of c / groups consecutive channels) over the group's channels and all pixels. GroupNorm,
 * LayerNorm over (C, H, W) (groups = 1, affine per element) and InstanceNorm (groups = c) are
 * this one operator. Shapes are validated by the Python layer; these functions trust them.
 *
 * Group boundaries need not align with the 16-channel blocks (GroupNorm(3, 48): 16-channel
 * groups straddle nothing, GroupNorm(32, 64): two groups per block, GroupNorm(4, 36): groups
 * of 9 across blocks). Reductions run in double over fixed pixel ranges combined in a fixed
 * order: results are bit-identical for any thread count. Padded lanes of every output are zero,
 * given zero padded lanes in the inputs. */
#ifndef CNN_GROUPNORM_H
#define CNN_GROUPNORM_H

#include "cnn_norm.h"

typedef struct {
    int64_t n, c, hw;   /* activations (N, ceil(C/16), HW, 16) */
    int64_t groups;     /* divides c */
    float eps;          /* invstd = 1 / sqrt(biased var + eps) */
    int per_pixel;      /* weight / bias: 0 = c floats (per channel); 1 = (ceil(C/16), HW, 16)
                           floats, one per element of an image (LayerNorm's elementwise affine;
                           padded lanes zero) */
} cnn_gn_desc;

/* y = (x - mean) * invstd * weight + bias. weight, bias: NULL (1 and 0) or as per_pixel says.
 * save_mean, save_invstd: n * groups floats (image-major). Needs hw >= 1.
 * Returns CNN_OK or CNN_ENOMEM (nothing written then). */
int cnn_group_norm_forward(const cnn_gn_desc* d, const float* x, const float* weight,
                           const float* bias, float* y, float* save_mean, float* save_invstd);

/* Gradients of cnn_group_norm_forward given its save_mean / save_invstd:
 *   dx (like x); dweight = sum(dy * xhat), dbias = sum(dy) (each NULL to skip; per channel:
 *   c floats, summed over images and pixels; per pixel: like weight, summed over images).
 * Returns CNN_OK or CNN_ENOMEM. */
int cnn_group_norm_backward(const cnn_gn_desc* d, const float* dy, const float* x,
                            const float* weight, const float* save_mean, const float* save_invstd,
                            float* dx, float* dweight, float* dbias);

#endif
