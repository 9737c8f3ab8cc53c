/* Elementwise operators on flat float arrays (any shape, NCHW or NCHW16c): ReLU, ReLU6, add and
 * their gradients. Threads split the array into fixed chunks of ELT_CHUNK floats. */
#include <string.h>

#include "cnn_eltwise.h"

#define ELT_CHUNK 16384

static int64_t chunks_of(int64_t count) { return (count + ELT_CHUNK - 1) / ELT_CHUNK; }

/* Runs the body over chunk [i0, i1) of [0, count), chunks spread over the threads. */
#define FOR_CHUNKS(count, ...)                                                            \
    do {                                                                                  \
        const int64_t nchunks_ = chunks_of(count);                                        \
        _Pragma("omp parallel for num_threads(cnn_threads_for(nchunks_)) schedule(static)") \
        for (int64_t c_ = 0; c_ < nchunks_; c_++) {                                       \
            const int64_t i0 = c_ * ELT_CHUNK, i1 = cnn_min64(count, i0 + ELT_CHUNK);     \
            __VA_ARGS__                                                                   \
        }                                                                                 \
    } while (0)

/* d where keep, else 0, as a bit mask (a select with a conditional load does not vectorize). */
static inline float masked(float d, int keep) {
    uint32_t bits;
    memcpy(&bits, &d, sizeof bits);
    bits &= -(uint32_t)keep;
    memcpy(&d, &bits, sizeof bits);
    return d;
}

void cnn_relu(const float* x, int64_t count, float* y) {
    /* `v < 0 ? 0 : v` keeps NaN (torch.relu propagates it) */
    FOR_CHUNKS(count, {
        for (int64_t i = i0; i < i1; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
    });
}

void cnn_relu_backward(const float* dy, const float* y, int64_t count, float* dx) {
    FOR_CHUNKS(count, {
        for (int64_t i = i0; i < i1; i++) dx[i] = masked(dy[i], y[i] > 0.0f);
    });
}

void cnn_relu6(const float* x, int64_t count, float* y) {
    FOR_CHUNKS(count, {
        for (int64_t i = i0; i < i1; i++) {
            const float v = x[i] < 0.0f ? 0.0f : x[i];
            y[i] = v > 6.0f ? 6.0f : v;
        }
    });
}

void cnn_relu6_backward(const float* dy, const float* y, int64_t count, float* dx) {
    FOR_CHUNKS(count, {
        for (int64_t i = i0; i < i1; i++) dx[i] = masked(dy[i], (y[i] > 0.0f) & (y[i] < 6.0f));
    });
}

void cnn_add(const float* a, const float* b, int64_t count, float* y) {
    FOR_CHUNKS(count, {
        for (int64_t i = i0; i < i1; i++) y[i] = a[i] + b[i];
    });
}
