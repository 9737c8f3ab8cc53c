/* Dropout with a counter-based mask: element k is kept or dropped according to a splitmix64 hash
 * of (seed, k), so no mask is stored, the backward regenerates it, and the mask is the same for
 * any thread count and for the NCHW and NCHW16c layouts (k is the logical row-major index). */
#include <string.h>

#include "cnn_eltwise.h"

#define DROPOUT_CHUNK 16384

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

#define GOLDEN 0x9E3779B97F4A7C15ULL

/* Output number index of a splitmix64 stream whose state starts at mix64(seed). */
uint64_t cnn_dropout_hash(uint64_t seed, uint64_t index) {
    return mix64(mix64(seed) + (index + 1) * GOLDEN);
}

/* v if the hash h keeps its element, else 0; branch-free (the mask is random, a branch would be
 * mispredicted half the time). */
static inline float kept(float v, uint64_t h, uint64_t threshold) {
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    bits &= -(uint32_t)((h >> 11) >= threshold);
    memcpy(&v, &bits, sizeof bits);
    return v;
}

/* Keep threshold on the top 53 bits of the hash: kept iff (h >> 11) >= p * 2^53. */
static uint64_t threshold_of(double p) { return (uint64_t)(p * 9007199254740992.0); }

void cnn_dropout(const float* x, int64_t count, double p, uint64_t seed, float* y) {
    const uint64_t t = threshold_of(p), key = mix64(seed);
    const float scale = p < 1.0 ? (float)(1.0 / (1.0 - p)) : 0.0f;
    const int64_t chunks = (count + DROPOUT_CHUNK - 1) / DROPOUT_CHUNK;
#pragma omp parallel for num_threads(cnn_threads_for(chunks)) schedule(static)
    for (int64_t ch = 0; ch < chunks; ch++) {
        const int64_t i1 = cnn_min64(count, (ch + 1) * DROPOUT_CHUNK);
        for (int64_t i = ch * DROPOUT_CHUNK; i < i1; i++) {
            const uint64_t h = mix64(key + ((uint64_t)i + 1) * GOLDEN);
            y[i] = kept(x[i] * scale, h, t);
        }
    }
}

void cnn_dropout_nchw16c(const float* x, int64_t n, int64_t c, int64_t hw, double p,
                         uint64_t seed, float* y) {
    const uint64_t t = threshold_of(p), key = mix64(seed);
    const float scale = p < 1.0 ? (float)(1.0 / (1.0 - p)) : 0.0f;
    const int64_t cb = cnn_blocks(c), rows = n * cb;
#pragma omp parallel for num_threads(cnn_threads_for(rows * hw * CNN_BLOCK / DROPOUT_CHUNK + 1)) schedule(static)
    for (int64_t row = 0; row < rows; row++) {
        const int64_t b = row % cb, i = row / cb;
        const int64_t lanes = cnn_min64(CNN_BLOCK, c - b * CNN_BLOCK);
        const float* src = x + row * hw * CNN_BLOCK;
        float* dst = y + row * hw * CNN_BLOCK;
        /* counter of lane l at pixel q: base + l * hw + q + 1 (the NCHW index of the element, + 1) */
        const uint64_t base = (uint64_t)((i * c + b * CNN_BLOCK) * hw);
        for (int64_t q = 0; q < hw; q++) {
            for (int l = 0; l < lanes; l++) {
                const uint64_t h = mix64(key + (base + (uint64_t)(l * hw + q) + 1) * GOLDEN);
                dst[q * CNN_BLOCK + l] = kept(src[q * CNN_BLOCK + l] * scale, h, t);
            }
            for (int l = (int)lanes; l < CNN_BLOCK; l++) dst[q * CNN_BLOCK + l] = 0.0f;
        }
    }
}
