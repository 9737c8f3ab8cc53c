/* Softmax cross-entropy, mean over the batch, and its gradient in the same pass. Rows are
 * independent (parallel); the per-row losses are added in row order afterwards, so the loss does
 * not depend on the thread count. */
#include <math.h>

#include "cnn_loss.h"

int cnn_softmax_cross_entropy(const float* x, int64_t n, int64_t k, const int64_t* target,
                              double* loss, float* grad) {
    double* rows = cnn_alloc((size_t)n, sizeof(double));
    if (!rows) return CNN_ENOMEM;
    const float inv_n = (float)(1.0 / (double)n);
#pragma omp parallel for num_threads(cnn_threads_for(cnn_min64(n, n * k / 16384 + 1))) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const float* xi = x + i * k;
        float m = xi[0];
        for (int64_t j = 1; j < k; j++) m = xi[j] > m ? xi[j] : m;
        double s = 0.0;
        if (grad) {
            float* gi = grad + i * k;
            for (int64_t j = 0; j < k; j++) {
                const float e = expf(xi[j] - m);
                gi[j] = e;
                s += e;
            }
            const float scale = (float)(1.0 / s) * inv_n;
            for (int64_t j = 0; j < k; j++) gi[j] *= scale;
            gi[target[i]] -= inv_n;
        } else {
            for (int64_t j = 0; j < k; j++) s += expf(xi[j] - m);
        }
        rows[i] = (double)m + log(s) - (double)xi[target[i]];
    }
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) total += rows[i];
    *loss = total / (double)n;
    cnn_free(rows);
    return CNN_OK;
}
