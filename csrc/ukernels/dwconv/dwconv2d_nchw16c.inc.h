/* Depthwise convolution micro-kernels on one 16-channel block. This one source is compiled once
 * per ISA (dwconv2d_nchw16c__<isa>.c define CNN_UKERNEL_NAME and include it): the 16-lane loops are
 * plain C that the compiler vectorizes with that ISA's flags only. */
#include "cnn_ukernels.h"

#define CNN_CAT_(a, b) a##b
#define CNN_CAT(a, b) CNN_CAT_(a, b)
#define DW_FWD CNN_CAT(cnn_f32_dwconv2d_nchw16c_ukernel__, CNN_UKERNEL_ISA)
#define DW_BWW CNN_CAT(cnn_f32_dwconv2d_bww_nchw16c_ukernel__, CNN_UKERNEL_ISA)
#define DW_TILE 4

void DW_FWD(size_t npix, const float* restrict in, const float* restrict w,
            const float* restrict bias, float* restrict out, const cnn_dw_params* p) {
    size_t t = 0;
    for (; t + DW_TILE <= npix; t += DW_TILE) {
        float acc[DW_TILE][16];
        for (size_t q = 0; q < DW_TILE; q++)
            for (size_t l = 0; l < 16; l++) acc[q][l] = bias ? bias[l] : 0.0f;
        for (size_t i = 0; i < p->kh; i++)
            for (size_t j = 0; j < p->kw; j++) {
                const float* restrict ip = in + i * p->in_kh_stride + j * p->in_kw_stride + t * p->in_pix_stride;
                const float* restrict wp = w + (i * p->kw + j) * 16;
                for (size_t q = 0; q < DW_TILE; q++)
                    for (size_t l = 0; l < 16; l++) acc[q][l] += ip[q * p->in_pix_stride + l] * wp[l];
            }
        for (size_t q = 0; q < DW_TILE; q++)
            for (size_t l = 0; l < 16; l++) out[(t + q) * 16 + l] = acc[q][l];
    }
    for (; t < npix; t++) {
        float acc[16];
        for (size_t l = 0; l < 16; l++) acc[l] = bias ? bias[l] : 0.0f;
        for (size_t i = 0; i < p->kh; i++)
            for (size_t j = 0; j < p->kw; j++) {
                const float* restrict ip = in + i * p->in_kh_stride + j * p->in_kw_stride + t * p->in_pix_stride;
                const float* restrict wp = w + (i * p->kw + j) * 16;
                for (size_t l = 0; l < 16; l++) acc[l] += ip[l] * wp[l];
            }
        for (size_t l = 0; l < 16; l++) out[t * 16 + l] = acc[l];
    }
    if (p->act) cnn_act_apply(out, npix * 16, p->act, p->alpha);
}

void DW_BWW(size_t npix, const float* restrict x, size_t x_pix_stride, const float* restrict dy,
            float* restrict acc_out) {
    float acc[16] = {0};
    for (size_t t = 0; t < npix; t++)
        for (size_t l = 0; l < 16; l++) acc[l] += x[t * x_pix_stride + l] * dy[t * 16 + l];
    for (size_t l = 0; l < 16; l++) acc_out[l] += acc[l];
}
