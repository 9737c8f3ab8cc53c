/* FMA peak probe, AVX-512: 16 independent zmm FMA chains (enough to cover latency x ports on any
 * current core). Returns a value that depends on every accumulator so nothing is optimized away. */
#include <immintrin.h>

#include "cnn_probe.h"

float cnn_f32_fma_peak_ukernel__avx512(size_t iterations) {
    __m512 acc[16];
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
#pragma GCC unroll 16
    for (int k = 0; k < 16; k++) acc[k] = _mm512_set1_ps((float)k);
    for (size_t i = 0; i < iterations; i++) {
#pragma GCC unroll 16
        for (int k = 0; k < 16; k++) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
    }
    __m512 s = acc[0];
#pragma GCC unroll 16
    for (int k = 1; k < 16; k++) s = _mm512_add_ps(s, acc[k]);
    return _mm512_reduce_add_ps(s);
}
