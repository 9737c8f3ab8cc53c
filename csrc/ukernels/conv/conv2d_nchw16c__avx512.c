/* Direct convolution forward, AVX-512: up to 14 output pixels x 16 output channels in registers
 * (one zmm accumulator per pixel); each weight row is loaded once and used by every pixel, each
 * input value is broadcast once. */
#include <immintrin.h>

#include "cnn_ukernels.h"

#define MAX_PIX 14

static inline __attribute__((always_inline)) void conv_tile(const size_t T, const float* in,
                                                            const float* w, const float* bias,
                                                            float* out, const cnn_conv_params* p) {
    __m512 acc[MAX_PIX];
    const __m512 b = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
#pragma GCC unroll 14
    for (size_t t = 0; t < T; t++) acc[t] = b;
    const size_t ps = p->in_pix_stride;
    for (size_t c = 0; c < p->nicb; c++) {
        const size_t lanes = (c + 1 == p->nicb) ? p->ic_last : 16;
        for (size_t i = 0; i < p->kh; i++) {
            for (size_t j = 0; j < p->kw; j++) {
                const float* ip = in + c * p->in_icb_stride + i * p->in_kh_stride + j * p->in_kw_stride;
                const float* wp = w + c * p->w_icb_stride + i * p->w_kh_stride + j * 256;
                for (size_t l = 0; l < lanes; l++) {
                    const __m512 wv = _mm512_loadu_ps(wp + l * 16);
#pragma GCC unroll 14
                    for (size_t t = 0; t < T; t++)
                        acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(ip[t * ps + l]), wv, acc[t]);
                }
            }
        }
    }
#pragma GCC unroll 14
    for (size_t t = 0; t < T; t++) _mm512_storeu_ps(out + t * 16, acc[t]);
    if (p->act) cnn_act_apply(out, T * 16, p->act, p->alpha); /* the tile is in L1 */
}

void cnn_f32_conv2d_nchw16c_ukernel__avx512(size_t npix, const float* in, const float* w,
                                            const float* bias, float* out,
                                            const cnn_conv_params* p) {
    switch (npix) {
#define CASE(T) case T: conv_tile(T, in, w, bias, out, p); break;
        CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7)
        CASE(8) CASE(9) CASE(10) CASE(11) CASE(12) CASE(13) CASE(14)
#undef CASE
        default: break;
    }
}
