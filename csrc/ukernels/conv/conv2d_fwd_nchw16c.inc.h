/* Direct convolution forward micro-kernel on NCHW16c: one source compiled once per ISA
 * (conv2d_fwd_nchw16c__<isa>.c define CNN_UKERNEL_ISA, the vector width CF_VW in floats and the
 * tile sizes CF_MAX_BLOCKS and CF_PIX_1 .. CF_PIX_<CF_MAX_BLOCKS>, and its vector register count
 * CF_REGS, then include it). A tile is
 * `nb` 16-channel output blocks x `T` output pixels, nb * T * 16 / CF_VW accumulator registers:
 * per input lane the nb weight rows are loaded once and each of the T input values is broadcast
 * once and used by all nb blocks (the "explicit broadcast" tile: nb = 4, T = 6 on avx512 does
 * 24 FMAs per 10 loads, where one block x 14 pixels does 14 per 15). The blocks of one call read
 * the same input blocks (groups == 1, or groups whose blocks share their input range). The tile
 * sizes are exported (cnn_f32_conv2d_nchw16c_tiles__<isa>) for the dispatch to choose among;
 * the kernel itself takes any block and pixel count, splitting them into its tiles. */
#include "cnn_ukernels.h"

#define CNN_CAT_(a, b) a##b
#define CNN_CAT(a, b) CNN_CAT_(a, b)
#define CF_FWD CNN_CAT(cnn_f32_conv2d_nchw16c_ukernel__, CNN_UKERNEL_ISA)
#define CF_TILES CNN_CAT(cnn_f32_conv2d_nchw16c_tiles__, CNN_UKERNEL_ISA)
#define CF_NV (16 / CF_VW)
#ifndef CF_PIX_2
#define CF_PIX_2 0
#endif
#ifndef CF_PIX_3
#define CF_PIX_3 0
#endif
#ifndef CF_PIX_4
#define CF_PIX_4 0
#endif
/* largest pixel count of an nb-block tile (a constant wherever nb is) */
#define CF_PIX(nb) ((nb) == 1 ? CF_PIX_1 : (nb) == 2 ? CF_PIX_2 : (nb) == 3 ? CF_PIX_3 : CF_PIX_4)

typedef float cf_vec __attribute__((vector_size(CF_VW * 4)));
typedef float cf_uvec __attribute__((vector_size(CF_VW * 4), aligned(4), may_alias)); /* unaligned */
#define CF_LOAD(p) ((cf_vec) * (const cf_uvec*)(p))
#define CF_STORE(p, v) (*(cf_uvec*)(p) = (v))

const cnn_conv_tiles CF_TILES = {CF_MAX_BLOCKS, CF_NV, CF_REGS, {CF_PIX_1, CF_PIX_2, CF_PIX_3, CF_PIX_4}};

/* NB blocks x T pixels, both compile-time constants at every call (the accumulators are
 * registers); the contract is cnn_conv_fwd_ukernel's. */
static inline __attribute__((always_inline)) void cf_tile(const int NB, const int T,
                                                         const float* restrict in,
                                                         const float* restrict w,
                                                         const float* restrict bias,
                                                         float* restrict out,
                                                         const cnn_conv_params* p) {
    cf_vec acc[CF_MAX_BLOCKS][16][CF_NV]; /* only [NB][T] is used, and lives in registers */
#pragma GCC unroll 4
    for (int b = 0; b < NB; b++)
#pragma GCC unroll 4
        for (int v = 0; v < CF_NV; v++) {
            const cf_vec bv = bias ? CF_LOAD(bias + b * 16 + v * CF_VW) : (cf_vec){0};
#pragma GCC unroll 16
            for (int t = 0; t < T; t++) acc[b][t][v] = bv;
        }
    const size_t ps = p->in_pix_stride, wo = p->w_ocb_stride;
    for (size_t c = 0; c < p->nicb; c++) {
        const size_t lanes = (c + 1 == p->nicb) ? p->ic_last : 16;
        for (size_t i = 0; i < p->kh; i++)
            for (size_t j = 0; j < p->kw; j++) {
                const float* ip = in + c * p->in_icb_stride + i * p->in_kh_stride + j * p->in_kw_stride;
                const float* wp = w + c * p->w_icb_stride + i * p->w_kh_stride + j * 256;
                for (size_t l = 0; l < lanes; l++) {
                    cf_vec wv[CF_MAX_BLOCKS][CF_NV];
#pragma GCC unroll 4
                    for (int b = 0; b < NB; b++)
#pragma GCC unroll 4
                        for (int v = 0; v < CF_NV; v++) wv[b][v] = CF_LOAD(wp + b * wo + l * 16 + v * CF_VW);
#pragma GCC unroll 16
                    for (int t = 0; t < T; t++) {
                        const float s = ip[t * ps + l];
#pragma GCC unroll 4
                        for (int b = 0; b < NB; b++)
#pragma GCC unroll 4
                            for (int v = 0; v < CF_NV; v++) acc[b][t][v] += wv[b][v] * s;
                    }
                }
            }
    }
    const size_t oo = p->out_ocb_stride;
#pragma GCC unroll 4
    for (int b = 0; b < NB; b++) {
#pragma GCC unroll 16
        for (int t = 0; t < T; t++)
#pragma GCC unroll 4
            for (int v = 0; v < CF_NV; v++) CF_STORE(out + b * oo + t * 16 + v * CF_VW, acc[b][t][v]);
        if (p->act) cnn_act_apply(out + b * oo, (size_t)T * 16, p->act, p->alpha); /* in L1 */
    }
}

/* npix pixels of NB blocks: tiles of CF_PIX(NB) pixels, the last one smaller */
#define CF_CASE(T) \
    case T:        \
        if (T <= CF_PIX(NB)) cf_tile(NB, T, in, w, bias, out, p); \
        break;
#define CF_BLOCKS(N)                                                                               \
    static void cf_blocks##N(size_t npix, const float* in, const float* w, const float* bias,      \
                             float* out, const cnn_conv_params* p) {                               \
        const int NB = N;                                                                          \
        while (npix) {                                                                             \
            const size_t t = npix < CF_PIX(NB) ? npix : CF_PIX(NB);                                \
            switch (t) {                                                                           \
                CF_CASE(1) CF_CASE(2) CF_CASE(3) CF_CASE(4) CF_CASE(5) CF_CASE(6) CF_CASE(7)       \
                CF_CASE(8) CF_CASE(9) CF_CASE(10) CF_CASE(11) CF_CASE(12) CF_CASE(13) CF_CASE(14)  \
                CF_CASE(15) CF_CASE(16)                                                            \
                default: break;                                                                    \
            }                                                                                      \
            in += t * p->in_pix_stride;                                                            \
            out += t * 16;                                                                         \
            npix -= t;                                                                             \
        }                                                                                          \
    }
_Static_assert(CF_PIX_1 <= 16 && CF_MAX_BLOCKS <= 4, "tiles past 16 pixels or 4 blocks need more cases");

CF_BLOCKS(1)
#if CF_MAX_BLOCKS >= 2
CF_BLOCKS(2)
#endif
#if CF_MAX_BLOCKS >= 3
CF_BLOCKS(3)
#endif
#if CF_MAX_BLOCKS >= 4
CF_BLOCKS(4)
#endif

void CF_FWD(size_t nblk, size_t npix, const float* in, const float* w, const float* bias,
            float* out, const cnn_conv_params* p) {
    while (nblk) {
        const size_t nb = nblk < CF_MAX_BLOCKS ? nblk : CF_MAX_BLOCKS;
        switch (nb) {
            case 1: cf_blocks1(npix, in, w, bias, out, p); break;
#if CF_MAX_BLOCKS >= 2
            case 2: cf_blocks2(npix, in, w, bias, out, p); break;
#endif
#if CF_MAX_BLOCKS >= 3
            case 3: cf_blocks3(npix, in, w, bias, out, p); break;
#endif
#if CF_MAX_BLOCKS >= 4
            case 4: cf_blocks4(npix, in, w, bias, out, p); break;
#endif
            default: break;
        }
        w += nb * p->w_ocb_stride;
        out += nb * p->out_ocb_stride;
        if (bias) bias += nb * 16;
        nblk -= nb;
    }
}
