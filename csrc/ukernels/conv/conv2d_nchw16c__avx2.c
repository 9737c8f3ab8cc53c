/* Convolution backward-weights, AVX2+FMA (the forward kernel is conv2d_fwd_nchw16c__avx2.c). */
#include <immintrin.h>

#include "cnn_ukernels.h"

/* Backward weights: up to 6 input lanes x 16 output channels (12 ymm accumulators). */
void cnn_f32_conv2d_bww_nchw16c_ukernel__avx2(size_t i0, size_t ni, const float* x,
                                              const float* dy, float* dw,
                                              const cnn_convbw_params* p) {
    __m256 lo[6], hi[6];
    x += i0;
#pragma GCC unroll 6
    for (size_t l = 0; l < 6; l++) { lo[l] = _mm256_setzero_ps(); hi[l] = _mm256_setzero_ps(); }
    for (size_t q = 0; q < p->nbatch * p->nrows; q++) {
        const size_t b = q / p->nrows, r = q % p->nrows;
        const float* xr = x + b * p->x_batch_stride + r * p->x_row_stride;
        const float* dr = dy + b * p->dy_batch_stride + r * p->dy_row_stride;
        for (size_t t = 0; t < p->npix; t++) {
            const __m256 dlo = _mm256_loadu_ps(dr + t * 16);
            const __m256 dhi = _mm256_loadu_ps(dr + t * 16 + 8);
            const float* xp = xr + t * p->x_pix_stride;
            if (ni == 6) {
#pragma GCC unroll 6
                for (size_t l = 0; l < 6; l++) {
                    const __m256 v = _mm256_broadcast_ss(xp + l);
                    lo[l] = _mm256_fmadd_ps(v, dlo, lo[l]);
                    hi[l] = _mm256_fmadd_ps(v, dhi, hi[l]);
                }
            } else {
                for (size_t l = 0; l < ni; l++) {
                    const __m256 v = _mm256_broadcast_ss(xp + l);
                    lo[l] = _mm256_fmadd_ps(v, dlo, lo[l]);
                    hi[l] = _mm256_fmadd_ps(v, dhi, hi[l]);
                }
            }
        }
    }
    dw += i0 * 16;
    for (size_t l = 0; l < ni; l++) {
        _mm256_storeu_ps(dw + l * 16, _mm256_add_ps(_mm256_loadu_ps(dw + l * 16), lo[l]));
        _mm256_storeu_ps(dw + l * 16 + 8, _mm256_add_ps(_mm256_loadu_ps(dw + l * 16 + 8), hi[l]));
    }
}
