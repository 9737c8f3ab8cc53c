/* Convolution backward-weights, AVX-512 (the forward kernel is conv2d_fwd_nchw16c__avx512.c). */
#include <immintrin.h>

#include "cnn_ukernels.h"

/* Backward weights: up to 16 input lanes x 16 output channels, one zmm accumulator per input lane.
 * NI is a compile-time constant for the full 16-lane case (fully unrolled) and the runtime lane
 * count otherwise. */
static inline __attribute__((always_inline)) void bww_tile(const size_t NI, const float* x,
                                                           const float* dy, float* dw,
                                                           const cnn_convbw_params* p) {
    __m512 acc[16];
#pragma GCC unroll 16
    for (size_t l = 0; l < 16; l++) acc[l] = _mm512_setzero_ps();
    for (size_t q = 0; q < p->nbatch * p->nrows; q++) {
        const size_t b = q / p->nrows, r = q % p->nrows;
        const float* xr = x + b * p->x_batch_stride + r * p->x_row_stride;
        const float* dr = dy + b * p->dy_batch_stride + r * p->dy_row_stride;
        for (size_t t = 0; t < p->npix; t++) {
            const __m512 d = _mm512_loadu_ps(dr + t * 16);
            const float* xp = xr + t * p->x_pix_stride;
#pragma GCC unroll 16
            for (size_t l = 0; l < NI; l++) acc[l] = _mm512_fmadd_ps(_mm512_set1_ps(xp[l]), d, acc[l]);
        }
    }
    for (size_t l = 0; l < NI; l++)
        _mm512_storeu_ps(dw + l * 16, _mm512_add_ps(_mm512_loadu_ps(dw + l * 16), acc[l]));
}

void cnn_f32_conv2d_bww_nchw16c_ukernel__avx512(size_t i0, size_t ni, const float* x,
                                                const float* dy, float* dw,
                                                const cnn_convbw_params* p) {
    if (ni == 16)
        bww_tile(16, x + i0, dy, dw + i0 * 16, p);
    else
        bww_tile(ni, x + i0, dy, dw + i0 * 16, p);
}

/* Backward weights for a layer with few input channels (the 3-channel first layer): nine taps of
 * ni <= 3 lanes in registers at once (ni * 9 <= 27 zmm accumulators), so the input and the
 * output gradient are read once per nine taps instead of once per tap. `x` is a zero-padded
 * input (no bounds checks); tap k's 16x16 tile is written (lanes < ni) at p->tap_out[k]. */
static inline __attribute__((always_inline)) void bww_small(const size_t NI, const float* x,
                                                            const float* dy,
                                                            const cnn_convbw_small_params* p) {
    __m512 acc[27];
#pragma GCC unroll 27
    for (size_t k = 0; k < 9 * NI; k++) acc[k] = _mm512_setzero_ps();
    const cnn_convbw_params* g = &p->rows;
    for (size_t q = 0; q < g->nbatch * g->nrows; q++) {
        const size_t b = q / g->nrows, r = q % g->nrows;
        const float* xr = x + b * g->x_batch_stride + r * g->x_row_stride;
        const float* dr = dy + b * g->dy_batch_stride + r * g->dy_row_stride;
        for (size_t t = 0; t < g->npix; t++) {
            const __m512 d = _mm512_loadu_ps(dr + t * 16);
            const float* xp = xr + t * g->x_pix_stride;
#pragma GCC unroll 9
            for (size_t k = 0; k < 9; k++) {
                const float* xt = xp + p->tap_offset[k];
#pragma GCC unroll 3
                for (size_t l = 0; l < NI; l++)
                    acc[k * NI + l] = _mm512_fmadd_ps(_mm512_set1_ps(xt[l]), d, acc[k * NI + l]);
            }
        }
    }
    for (size_t k = 0; k < 9; k++)
        for (size_t l = 0; l < NI; l++) _mm512_storeu_ps(p->tap_out[k] + l * 16, acc[k * NI + l]);
}

int cnn_f32_conv2d_bww_small_nchw16c_ukernel__avx512(size_t ni, const float* x, const float* dy,
                                                     const cnn_convbw_small_params* p) {
    switch (ni) {
        case 1: bww_small(1, x, dy, p); return 1;
        case 2: bww_small(2, x, dy, p); return 1;
        case 3: bww_small(3, x, dy, p); return 1;
        default: return 0;
    }
}
