/* Depthwise convolution micro-kernels on one 16-channel block, for any kernel size (3x3 and 5x5
 * alike), stride and dilation. This one source is compiled once per ISA
 * (dwconv2d_nchw16c__<isa>.c define CNN_UKERNEL_ISA, the vector width DW_VW in floats (16 avx512,
 * 8 avx2, 4 generic) and the tile DW_TILE, then include it). A vector is a GCC vector type of
 * DW_VW floats, one register of that ISA; a 16-channel pixel is DW_NV = 16 / DW_VW of them. The
 * DW_TILE x DW_NV accumulators of a tile of output pixels stay in registers across all taps
 * (a plain-C array of 16 lanes per pixel was kept on the stack: one load-FMA-store per tap);
 * a + b * c contracts to FMA where the ISA has it. */
#include "cnn_ukernels.h"

#define CNN_CAT_(a, b) a##b
#define CNN_CAT(a, b) CNN_CAT_(a, b)
#define DW_FWD CNN_CAT(cnn_f32_dwconv2d_nchw16c_ukernel__, CNN_UKERNEL_ISA)
#define DW_BWW CNN_CAT(cnn_f32_dwconv2d_bww_nchw16c_ukernel__, CNN_UKERNEL_ISA)
#define DW_NV (16 / DW_VW)

typedef float dw_vec __attribute__((vector_size(DW_VW * 4)));
typedef int dw_ivec __attribute__((vector_size(DW_VW * 4)));
typedef float dw_uvec __attribute__((vector_size(DW_VW * 4), aligned(4), may_alias)); /* unaligned */

#define DW_LOAD(p) ((dw_vec) * (const dw_uvec*)(p))
#define DW_STORE(p, v) (*(dw_uvec*)(p) = (v))
/* ReLU that keeps NaN (as PyTorch's): zero the lanes that are < 0 */
#define DW_RELU(v) ((dw_vec)((dw_ivec)(v) & ~((v) < (dw_vec){0})))

/* `tile` output pixels from `ip` (tile a compile-time constant at every call, so the accumulators
 * are registers): bias b, all taps, ReLU in registers when the activation is ReLU, stored to out
 * (DW_FWD applies any other activation to the stored pixels). */
static inline __attribute__((always_inline)) void dw_fwd_tile(
    const int tile, const float* restrict ip, const float* restrict w, const dw_vec* b,
    float* restrict out, const cnn_dw_params* p) {
    const size_t ps = p->in_pix_stride, kw = p->kw;
    dw_vec acc[DW_TILE][DW_NV];
#pragma GCC unroll 16
    for (int q = 0; q < tile; q++)
#pragma GCC unroll 4
        for (int v = 0; v < DW_NV; v++) acc[q][v] = b[v];
    for (size_t i = 0; i < p->kh; i++)
        for (size_t j = 0; j < kw; j++) {
            const float* tp = ip + i * p->in_kh_stride + j * p->in_kw_stride;
            const float* wp = w + (i * kw + j) * 16;
#pragma GCC unroll 4
            for (int v = 0; v < DW_NV; v++) {
                const dw_vec wv = DW_LOAD(wp + v * DW_VW);
#pragma GCC unroll 16
                for (int q = 0; q < tile; q++) acc[q][v] += DW_LOAD(tp + q * ps + v * DW_VW) * wv;
            }
        }
#pragma GCC unroll 16
    for (int q = 0; q < tile; q++)
#pragma GCC unroll 4
        for (int v = 0; v < DW_NV; v++)
            DW_STORE(out + q * p->out_pix_stride + v * DW_VW, p->act == CNN_ACT_RELU ? DW_RELU(acc[q][v]) : acc[q][v]);
}

void DW_FWD(size_t npix, const float* restrict in, const float* restrict w,
            const float* restrict bias, float* restrict out, const cnn_dw_params* p) {
    dw_vec b[DW_NV];
#pragma GCC unroll 4
    for (int v = 0; v < DW_NV; v++) b[v] = bias ? DW_LOAD(bias + v * DW_VW) : (dw_vec){0};
    const size_t ps = p->in_pix_stride, os = p->out_pix_stride;
    size_t t = 0;
    for (; t + DW_TILE <= npix; t += DW_TILE) dw_fwd_tile(DW_TILE, in + t * ps, w, b, out + t * os, p);
    /* the tail in halving tiles (a 7-wide row: 4 + 2 + 1 on avx512), so that a short row still
     * runs several independent FMA chains */
#if DW_TILE >= 8
    if (t + 4 <= npix) { dw_fwd_tile(4, in + t * ps, w, b, out + t * os, p); t += 4; }
#endif
#if DW_TILE >= 4
    if (t + 2 <= npix) { dw_fwd_tile(2, in + t * ps, w, b, out + t * os, p); t += 2; }
#endif
    if (t < npix) dw_fwd_tile(1, in + t * ps, w, b, out + t * os, p);
    if (p->act != CNN_ACT_NONE && p->act != CNN_ACT_RELU)
        for (t = 0; t < npix; t += os == 16 ? npix : 1)
            cnn_act_apply(out + t * os, os == 16 ? npix * 16 : 16, p->act, p->alpha);
}

/* `nt` taps (a compile-time constant at every call) of one kernel row over npix pixels: each dy
 * pixel is loaded once for all of them, and the nt x DW_NV sums stay in registers. */
static inline __attribute__((always_inline)) void dw_bww_taps(
    const int nt, size_t npix, const float* restrict x, size_t ps, size_t ks, const float* restrict dy,
    float* restrict acc) {
    dw_vec a[3][DW_NV];
#pragma GCC unroll 3
    for (int j = 0; j < nt; j++)
#pragma GCC unroll 4
        for (int v = 0; v < DW_NV; v++) a[j][v] = (dw_vec){0};
    for (size_t t = 0; t < npix; t++)
#pragma GCC unroll 4
        for (int v = 0; v < DW_NV; v++) {
            const dw_vec d = DW_LOAD(dy + t * 16 + v * DW_VW);
#pragma GCC unroll 3
            for (int j = 0; j < nt; j++) a[j][v] += DW_LOAD(x + t * ps + j * ks + v * DW_VW) * d;
        }
#pragma GCC unroll 3
    for (int j = 0; j < nt; j++)
#pragma GCC unroll 4
        for (int v = 0; v < DW_NV; v++)
            DW_STORE(acc + j * 16 + v * DW_VW, DW_LOAD(acc + j * 16 + v * DW_VW) + a[j][v]);
}

/* the kernel row in groups of 3 taps (3 x DW_NV sums: 6 of AVX2's 16 registers), then 2 or 1 */
void DW_BWW(size_t npix, const float* restrict x, size_t x_pix_stride, size_t x_kw_stride, size_t kw,
            const float* restrict dy, float* restrict acc) {
    size_t j = 0;
    for (; j + 3 <= kw; j += 3) dw_bww_taps(3, npix, x + j * x_kw_stride, x_pix_stride, x_kw_stride, dy, acc + j * 16);
    if (j + 2 <= kw) {
        dw_bww_taps(2, npix, x + j * x_kw_stride, x_pix_stride, x_kw_stride, dy, acc + j * 16);
        j += 2;
    }
    if (j < kw) dw_bww_taps(1, npix, x + j * x_kw_stride, x_pix_stride, x_kw_stride, dy, acc + j * 16);
}
