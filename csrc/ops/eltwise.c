/* Elementwise operators on flat float arrays (any shape, NCHW or NCHW16c): ReLU, ReLU6, add and
 * their gradients. Threads split the array into fixed chunks of ELT_CHUNK floats. */
#include <string.h>

#include "cnn_act.h"
#include "cnn_eltwise.h"
#include "cnn_isa.h"

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

void cnn_relu(const float* x, int64_t count, float* y) {
    /* `v < 0 ? 0 : v` keeps NaN (torch.relu propagates it) */
    FOR_CHUNKS(count, {
        for (int64_t i = i0; i < i1; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
    });
}

void cnn_relu_backward(const float* dy, const float* y, int64_t count, float* dx) {
    FOR_CHUNKS(count, {
        for (int64_t i = i0; i < i1; i++) dx[i] = cnn_act_masked(dy[i], y[i] > 0.0f);
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
        for (int64_t i = i0; i < i1; i++) dx[i] = cnn_act_masked(dy[i], (y[i] > 0.0f) & (y[i] < 6.0f));
    });
}

void cnn_add(const float* a, const float* b, int64_t count, float* y) {
    FOR_CHUNKS(count, {
        for (int64_t i = i0; i < i1; i++) y[i] = a[i] + b[i];
    });
}

void cnn_act_forward(int kind, float alpha, const float* x, int64_t count, float* y) {
    const cnn_act_fwd_ukernel kernel = cnn_act_cfg.fwd;
    FOR_CHUNKS(count, { kernel(kind, alpha, x + i0, (size_t)(i1 - i0), y + i0); });
}

void cnn_act_backward(int kind, float alpha, const float* dy, const float* x, const float* y,
                      int64_t count, float* dx) {
    const cnn_act_bwd_ukernel kernel = cnn_act_cfg.bwd;
    FOR_CHUNKS(count, { kernel(kind, alpha, dy + i0, x ? x + i0 : NULL, y + i0, (size_t)(i1 - i0), dx + i0); });
}
