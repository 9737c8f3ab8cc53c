/* f32 GEMM micro-kernel: one GEMM_MR x GEMM_NR tile of C from packed panels (cnn_gemm.h). This
 * one source is compiled once per ISA: gemm__<isa>.c define CNN_UKERNEL_ISA, the vector width
 * GEMM_VW in floats (16 avx512, 8 avx2, 4 generic), the tile's rows GEMM_MR and columns GEMM_NR
 * (a multiple of GEMM_VW: GEMM_NV vectors), then include it. The MR x NV accumulators stay in
 * registers for the whole k loop: each step loads NV vectors of B once and broadcasts each of the
 * MR values of A once; acc + a * b contracts to FMA where the ISA has it. */
#include "cnn_gemm.h"

#define CNN_CAT_(a, b) a##b
#define CNN_CAT(a, b) CNN_CAT_(a, b)
#define CNN_STR_(a) #a
#define CNN_STR(a) CNN_STR_(a)
#define GEMM_NV (GEMM_NR / GEMM_VW)
#define GEMM_RUN CNN_CAT(cnn_f32_gemm_ukernel__, CNN_UKERNEL_ISA)

typedef float gm_vec __attribute__((vector_size(GEMM_VW * 4)));
typedef float gm_uvec __attribute__((vector_size(GEMM_VW * 4), aligned(4), may_alias)); /* unaligned */

#define GM_LOAD(p) ((gm_vec) * (const gm_uvec*)(p))
#define GM_STORE(p, v) (*(gm_uvec*)(p) = (v))

static void GEMM_RUN(size_t kc, const float* restrict a, const float* restrict b, float* restrict c,
                     size_t ldc, size_t mr, size_t nr, int accumulate, const float* restrict bias) {
    gm_vec acc[GEMM_MR][GEMM_NV];
#pragma GCC unroll 16
    for (int i = 0; i < GEMM_MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < GEMM_NV; v++) acc[i][v] = (gm_vec){0};
    for (size_t s = 0; s < kc; s++, a += GEMM_MR, b += GEMM_NR) {
        gm_vec bv[GEMM_NV];
#pragma GCC unroll 4
        for (int v = 0; v < GEMM_NV; v++) bv[v] = GM_LOAD(b + v * GEMM_VW);
#pragma GCC unroll 16
        for (int i = 0; i < GEMM_MR; i++) {
            const gm_vec ai = (gm_vec){0} + a[i];
#pragma GCC unroll 4
            for (int v = 0; v < GEMM_NV; v++) acc[i][v] += ai * bv[v];
        }
    }
    if (mr == GEMM_MR && nr == GEMM_NR) {
#pragma GCC unroll 16
        for (int i = 0; i < GEMM_MR; i++)
#pragma GCC unroll 4
            for (int v = 0; v < GEMM_NV; v++) {
                float* p = c + i * ldc + v * GEMM_VW;
                const gm_vec add = accumulate ? GM_LOAD(p) : bias ? GM_LOAD(bias + v * GEMM_VW) : (gm_vec){0};
                GM_STORE(p, acc[i][v] + add);
            }
        return;
    }
    /* an edge tile: through a buffer, only the rows and columns that exist */
    float t[GEMM_MR][GEMM_NR];
    for (int i = 0; i < GEMM_MR; i++)
        for (int v = 0; v < GEMM_NV; v++) GM_STORE(&t[i][v * GEMM_VW], acc[i][v]);
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nr; j++) {
            float* p = c + i * ldc + j;
            *p = t[i][j] + (accumulate ? *p : bias ? bias[j] : 0.0f);
        }
}

const cnn_gemm_kernel CNN_CAT(cnn_f32_gemm_kernel__, CNN_UKERNEL_ISA) = {
    GEMM_RUN, GEMM_MR, GEMM_NR,
    "cnn_f32_gemm_ukernel_" CNN_STR(GEMM_MR) "x" CNN_STR(GEMM_NR) "__" CNN_STR(CNN_UKERNEL_ISA)};
