/* NCHW <-> NCHW16c reorders, the only layout conversions (done at the edges of a net). */
#include <string.h>

#include "cnn_ops.h"

void cnn_nchw_to_nchw16c(const float* x, int64_t n, int64_t c, int64_t hw, float* y) {
    const int64_t cb = cnn_blocks(c);
#pragma omp parallel for num_threads(cnn_threads_for(n * cb * hw / 4096 + 1)) schedule(static)
    for (int64_t item = 0; item < n * cb; item++) {
        const int64_t b = item % cb, i = item / cb;
        const int64_t lanes = cnn_min64(CNN_BLOCK, c - b * CNN_BLOCK);
        float* dst = y + item * hw * CNN_BLOCK;
        const float* src = x + (i * c + b * CNN_BLOCK) * hw;
        if (lanes < CNN_BLOCK) memset(dst, 0, sizeof(float) * hw * CNN_BLOCK);
        for (int64_t l = 0; l < lanes; l++)
            for (int64_t p = 0; p < hw; p++) dst[p * CNN_BLOCK + l] = src[l * hw + p];
    }
}

void cnn_nchw16c_to_nchw(const float* y, int64_t n, int64_t c, int64_t hw, float* x) {
    const int64_t cb = cnn_blocks(c);
#pragma omp parallel for num_threads(cnn_threads_for(n * cb * hw / 4096 + 1)) schedule(static)
    for (int64_t item = 0; item < n * cb; item++) {
        const int64_t b = item % cb, i = item / cb;
        const int64_t lanes = cnn_min64(CNN_BLOCK, c - b * CNN_BLOCK);
        const float* src = y + item * hw * CNN_BLOCK;
        float* dst = x + (i * c + b * CNN_BLOCK) * hw;
        for (int64_t l = 0; l < lanes; l++)
            for (int64_t p = 0; p < hw; p++) dst[l * hw + p] = src[p * CNN_BLOCK + l];
    }
}
