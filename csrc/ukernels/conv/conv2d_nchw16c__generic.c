/* Direct convolution forward in portable C: the fallback on any CPU and the
 * kernel the vectorized ones are checked against. Compiled for baseline x86-64 only. */
#include "cnn_ukernels.h"

#define MAX_PIX 8

void cnn_f32_conv2d_nchw16c_ukernel__generic(size_t npix, const float* in, const float* w,
                                             const float* bias, float* out,
                                             const cnn_conv_params* p) {
    float acc[MAX_PIX][16];
    if (npix > MAX_PIX) return;
    for (size_t t = 0; t < npix; t++)
        for (size_t o = 0; o < 16; o++) acc[t][o] = bias ? bias[o] : 0.0f;
    for (size_t c = 0; c < p->nicb; c++) {
        const size_t lanes = (c + 1 == p->nicb) ? p->ic_last : 16;
        for (size_t i = 0; i < p->kh; i++) {
            for (size_t j = 0; j < p->kw; j++) {
                const float* ip = in + c * p->in_icb_stride + i * p->in_kh_stride + j * p->in_kw_stride;
                const float* wp = w + c * p->w_icb_stride + i * p->w_kh_stride + j * 256;
                for (size_t l = 0; l < lanes; l++) {
                    const float* wl = wp + l * 16;
                    for (size_t t = 0; t < npix; t++) {
                        const float v = ip[t * p->in_pix_stride + l];
                        for (size_t o = 0; o < 16; o++) acc[t][o] += v * wl[o];
                    }
                }
            }
        }
    }
    for (size_t t = 0; t < npix; t++)
        for (size_t o = 0; o < 16; o++) out[t * 16 + o] = acc[t][o];
    if (p->act) cnn_act_apply(out, npix * 16, p->act, p->alpha);
}
