/* Direct convolution forward, AVX2+FMA: up to 6 output pixels x 16 output channels in registers
 * (two ymm accumulators per pixel, 12 in all, plus two weight registers and a broadcast). */
#include <immintrin.h>

#include "cnn_ukernels.h"

#define MAX_PIX 6

static inline __attribute__((always_inline)) void conv_tile(const size_t T, const float* in,
                                                            const float* w, const float* bias,
                                                            float* out, const cnn_conv_params* p) {
    __m256 lo[MAX_PIX], hi[MAX_PIX];
    const __m256 blo = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 bhi = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
#pragma GCC unroll 6
    for (size_t t = 0; t < T; t++) { lo[t] = blo; hi[t] = bhi; }
    const size_t ps = p->in_pix_stride;
    for (size_t c = 0; c < p->nicb; c++) {
        const size_t lanes = (c + 1 == p->nicb) ? p->ic_last : 16;
        for (size_t i = 0; i < p->kh; i++) {
            for (size_t j = 0; j < p->kw; j++) {
                const float* ip = in + c * p->in_icb_stride + i * p->in_kh_stride + j * p->in_kw_stride;
                const float* wp = w + c * p->w_icb_stride + i * p->w_kh_stride + j * 256;
                for (size_t l = 0; l < lanes; l++) {
                    const __m256 wlo = _mm256_loadu_ps(wp + l * 16);
                    const __m256 whi = _mm256_loadu_ps(wp + l * 16 + 8);
#pragma GCC unroll 6
                    for (size_t t = 0; t < T; t++) {
                        const __m256 v = _mm256_broadcast_ss(ip + t * ps + l);
                        lo[t] = _mm256_fmadd_ps(v, wlo, lo[t]);
                        hi[t] = _mm256_fmadd_ps(v, whi, hi[t]);
                    }
                }
            }
        }
    }
#pragma GCC unroll 6
    for (size_t t = 0; t < T; t++) {
        _mm256_storeu_ps(out + t * 16, lo[t]);
        _mm256_storeu_ps(out + t * 16 + 8, hi[t]);
    }
    if (p->act) cnn_act_apply(out, T * 16, p->act, p->alpha); /* the tile is in L1 */
}

void cnn_f32_conv2d_nchw16c_ukernel__avx2(size_t npix, const float* in, const float* w,
                                          const float* bias, float* out, const cnn_conv_params* p) {
    switch (npix) {
#define CASE(T) case T: conv_tile(T, in, w, bias, out, p); break;
        CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6)
#undef CASE
        default: break;
    }
}
