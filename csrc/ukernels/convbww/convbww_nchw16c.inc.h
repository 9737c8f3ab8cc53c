/* Convolution backward-weights micro-kernels on NCHW16c (see cnn_ukernels.h for what they compute).
 * This one source is compiled once per ISA (convbww_nchw16c__<isa>.c define CNN_UKERNEL_ISA, the
 * vector width BWW_VW in floats (16 avx512, 8 avx2, 4 generic) and BWW_ACC, the accumulator
 * registers a tile may keep live, then include it). A 16-output-channel row of dy is BWW_NV =
 * 16 / BWW_VW vectors, loaded once per pixel and multiplied by one broadcast input value per
 * (tap, input lane) of the tile, so a tile of L lanes x K taps holds L * K * BWW_NV accumulators.
 * The tile sizes follow from BWW_ACC and are exported to the dispatch (max_lanes), not repeated in
 * a header. a + b * c contracts to FMA where the ISA has it. */
#include "cnn_ukernels.h"

#define CNN_CAT_(a, b) a##b
#define CNN_CAT(a, b) CNN_CAT_(a, b)
#define BWW_TAP CNN_CAT(cnn_f32_conv2d_bww_nchw16c_ukernel__, CNN_UKERNEL_ISA)
#define BWW_SMALL CNN_CAT(cnn_f32_conv2d_bww_small_nchw16c_ukernel__, CNN_UKERNEL_ISA)
#define BWW_LANES CNN_CAT(cnn_f32_conv2d_bww_nchw16c_max_lanes__, CNN_UKERNEL_ISA)
#define BWW_NV (16 / BWW_VW)
/* lanes of the per-tap kernel: as many as the accumulators allow, at most a block */
#define BWW_MAX_LANES (BWW_ACC / BWW_NV < 16 ? BWW_ACC / BWW_NV : 16)
/* taps per pass of the small kernel for NI lanes */
#define BWW_SMALL_TAPS(NI) \
    (BWW_ACC / ((NI) * BWW_NV) < 1 ? 1 : BWW_ACC / ((NI) * BWW_NV) > 9 ? 9 : BWW_ACC / ((NI) * BWW_NV))

typedef float bww_vec __attribute__((vector_size(BWW_VW * 4)));
typedef float bww_uvec __attribute__((vector_size(BWW_VW * 4), aligned(4), may_alias)); /* unaligned */

#define BWW_LOAD(p) ((bww_vec) * (const bww_uvec*)(p))
#define BWW_STORE(p, v) (*(bww_uvec*)(p) = (v))

const size_t BWW_LANES = BWW_MAX_LANES;

/* K taps x NI lanes (compile-time constants at every call, so the accumulators are registers)
 * over the rows of g: tap k's lanes l < NI at x + off[k], added to out[k][l * 16 ..]. x and dy are
 * read once per K taps. */
static inline __attribute__((always_inline)) void bww_tile(const size_t NI, const size_t K,
                                                           const float* restrict x,
                                                           const float* restrict dy,
                                                           const size_t* off, float* const* out,
                                                           const cnn_convbw_params* g) {
    bww_vec acc[BWW_MAX_LANES > 27 ? BWW_MAX_LANES : 27][BWW_NV];
#pragma GCC unroll 27
    for (size_t a = 0; a < K * NI; a++)
#pragma GCC unroll 4
        for (int v = 0; v < BWW_NV; v++) acc[a][v] = (bww_vec){0};
    for (size_t b = 0; b < g->nbatch; b++)
    for (size_t r = 0; r < g->nrows; r++) { /* nested loops: no division per row */
        const float* xr = x + b * g->x_batch_stride + r * g->x_row_stride;
        const float* dr = dy + b * g->dy_batch_stride + r * g->dy_row_stride;
        for (size_t t = 0; t < g->npix; t++) {
            bww_vec d[BWW_NV];
#pragma GCC unroll 4
            for (int v = 0; v < BWW_NV; v++) d[v] = BWW_LOAD(dr + t * 16 + v * BWW_VW);
            const float* xp = xr + t * g->x_pix_stride;
#pragma GCC unroll 9
            for (size_t k = 0; k < K; k++) {
                const float* xt = xp + off[k];
#pragma GCC unroll 16
                for (size_t l = 0; l < NI; l++) {
                    const float s = xt[l];
#pragma GCC unroll 4
                    for (int v = 0; v < BWW_NV; v++) acc[k * NI + l][v] += d[v] * s;
                }
            }
        }
    }
#pragma GCC unroll 9
    for (size_t k = 0; k < K; k++)
#pragma GCC unroll 16
        for (size_t l = 0; l < NI; l++)
#pragma GCC unroll 4
            for (int v = 0; v < BWW_NV; v++) {
                float* o = out[k] + l * 16 + v * BWW_VW;
                BWW_STORE(o, BWW_LOAD(o) + acc[k * NI + l][v]);
            }
}

/* One tap, ni lanes. */
void BWW_TAP(size_t i0, size_t ni, const float* restrict x, const float* restrict dy,
             float* restrict dw, const cnn_convbw_params* p) {
    const size_t zero = 0;
    float* tile = dw + i0 * 16;
    x += i0;
    switch (ni) {
#define CASE(n) case n: bww_tile(n, 1, x, dy, &zero, &tile, p); break;
        CASE(1) CASE(2) CASE(3)
#if BWW_MAX_LANES >= 6
        CASE(4) CASE(5) CASE(6)
#endif
#if BWW_MAX_LANES >= 16
        CASE(7) CASE(8) CASE(9) CASE(10) CASE(11) CASE(12) CASE(13) CASE(14) CASE(15) CASE(16)
#endif
#undef CASE
        default: break; /* ni > max_lanes: the caller splits the lanes (dispatch exports the max) */
    }
}

/* The taps of p in passes of BWW_SMALL_TAPS(NI), the last pass as long as the taps left. */
static inline __attribute__((always_inline)) void bww_small_lanes(const size_t NI, const float* x,
                                                                  const float* dy,
                                                                  const cnn_convbw_small_params* p) {
    const size_t K = BWW_SMALL_TAPS(NI);
    for (size_t k0 = 0; k0 < p->ntaps; k0 += K) {
        const size_t left = p->ntaps - k0, kk = left < K ? left : K;
        const size_t* off = p->tap_offset + k0;
        float* const* out = p->tap_out + k0;
        switch (kk) {
#define CASE(n) case n: if (n <= K) bww_tile(NI, n, x, dy, off, out, &p->rows); break;
            CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9)
#undef CASE
            default: break;
        }
    }
}

int BWW_SMALL(size_t ni, const float* restrict x, const float* restrict dy,
              const cnn_convbw_small_params* p) {
    if (p->ntaps > 9) return 0;
    switch (ni) {
        case 1: bww_small_lanes(1, x, dy, p); return 1;
        case 2: bww_small_lanes(2, x, dy, p); return 1;
        case 3: bww_small_lanes(3, x, dy, p); return 1;
        default: return 0;
    }
}
