/* Convolution backward-weights in portable C: the fallback on any CPU and the kernel the
 * vectorized ones are checked against (the forward kernel is conv2d_fwd_nchw16c__generic.c). */
#include "cnn_ukernels.h"

void cnn_f32_conv2d_bww_nchw16c_ukernel__generic(size_t i0, size_t ni, const float* x,
                                                 const float* dy, float* dw,
                                                 const cnn_convbw_params* p) {
    float acc[16][16] = {{0}};
    for (size_t q = 0; q < p->nbatch * p->nrows; q++) {
        const size_t b = q / p->nrows, r = q % p->nrows;
        const float* xr = x + b * p->x_batch_stride + r * p->x_row_stride + i0;
        const float* dr = dy + b * p->dy_batch_stride + r * p->dy_row_stride;
        for (size_t t = 0; t < p->npix; t++) {
            const float* d = dr + t * 16;
            const float* xp = xr + t * p->x_pix_stride;
            for (size_t l = 0; l < ni; l++) {
                const float v = xp[l];
                for (size_t o = 0; o < 16; o++) acc[l][o] += v * d[o];
            }
        }
    }
    for (size_t l = 0; l < ni; l++)
        for (size_t o = 0; o < 16; o++) dw[(i0 + l) * 16 + o] += acc[l][o];
}
