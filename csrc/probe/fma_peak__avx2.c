/* FMA peak probe, AVX2+FMA: 12 independent ymm FMA chains. */
#include <immintrin.h>

#include "cnn_probe.h"

float cnn_f32_fma_peak_ukernel__avx2(size_t iterations) {
    __m256 acc[12];
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
#pragma GCC unroll 12
    for (int k = 0; k < 12; k++) acc[k] = _mm256_set1_ps((float)k);
    for (size_t i = 0; i < iterations; i++) {
#pragma GCC unroll 12
        for (int k = 0; k < 12; k++) acc[k] = _mm256_fmadd_ps(acc[k], a, b);
    }
    __m256 s = acc[0];
    for (int k = 1; k < 12; k++) s = _mm256_add_ps(s, acc[k]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}
