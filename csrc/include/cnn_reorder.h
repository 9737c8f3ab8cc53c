/* The NCHW <-> NCHW16c reorder, written once for any pair of element types: layout.c instantiates
 * it for activations (float <-> float), pool.c for max-pooling indices (int64 NCHW <-> int32
 * blocked). Each (image, channel block) is one item of an OpenMP loop; padded lanes of the
 * blocked side are zeroed. A copy: the thread count does not change the result. */
#ifndef CNN_REORDER_H
#define CNN_REORDER_H

#include <string.h>

#include "cnn_common.h"

/* For each (image, channel block) in parallel: BODY with `lanes` (real channels in the block),
 * `blocked` (offset of the block's HW x 16 tile) and `plain` (offset of its first channel's
 * plane in NCHW). */
#define CNN_REORDER_ITEMS(n, c, hw, BODY)                                                         \
    do {                                                                                          \
        const int64_t cb = cnn_blocks(c);                                                         \
        const int threads = cnn_threads_for((n) * cb * (hw) / 4096 + 1);                         \
        _Pragma("omp parallel for num_threads(threads) schedule(static)")                        \
        for (int64_t item = 0; item < (n) * cb; item++) {                                         \
            const int64_t b = item % cb, i = item / cb;                                           \
            const int64_t lanes = cnn_min64(CNN_BLOCK, (c) - b * CNN_BLOCK);                      \
            const int64_t blocked = item * (hw) * CNN_BLOCK, plain = (i * (c) + b * CNN_BLOCK) * (hw); \
            BODY                                                                                  \
        }                                                                                         \
    } while (0)

/* Defines to_blocked(const PLAIN* x, n, c, hw, BLOCKED* y) and to_plain(const BLOCKED* y, n, c,
 * hw, PLAIN* x) with x (N, C, HW) and y (N, ceil(C/16), HW, 16). */
#define CNN_DEFINE_REORDER(to_blocked, to_plain, PLAIN, BLOCKED)                                  \
    void to_blocked(const PLAIN* x, int64_t n, int64_t c, int64_t hw, BLOCKED* y) {              \
        CNN_REORDER_ITEMS(n, c, hw, {                                                             \
            if (lanes < CNN_BLOCK) memset(y + blocked, 0, sizeof(BLOCKED) * hw * CNN_BLOCK);      \
            for (int64_t l = 0; l < lanes; l++)                                                   \
                for (int64_t p = 0; p < hw; p++)                                                  \
                    y[blocked + p * CNN_BLOCK + l] = (BLOCKED)x[plain + l * hw + p];              \
        });                                                                                       \
    }                                                                                             \
    void to_plain(const BLOCKED* y, int64_t n, int64_t c, int64_t hw, PLAIN* x) {                \
        CNN_REORDER_ITEMS(n, c, hw, {                                                             \
            for (int64_t l = 0; l < lanes; l++)                                                   \
                for (int64_t p = 0; p < hw; p++)                                                  \
                    x[plain + l * hw + p] = (PLAIN)y[blocked + p * CNN_BLOCK + l];                \
        });                                                                                       \
    }

#endif
