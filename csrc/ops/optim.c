/* Fused optimizer updates: one pass over each parameter, no temporaries. */
#include <math.h>

#include "cnn_optim.h"

#define SMALL 32768 /* below this many elements one thread is faster than a fork/join */

void cnn_sgd_update(float* p, const float* grad, float* buf, int64_t n, float lr, float momentum,
                    float dampening, float weight_decay, int nesterov, int first) {
#pragma omp parallel for num_threads(cnn_threads_for(n / SMALL + 1)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        if (weight_decay != 0.0f) g += weight_decay * p[i];
        if (momentum != 0.0f) {
            const float b = first ? g : momentum * buf[i] + (1.0f - dampening) * g;
            buf[i] = b;
            g = nesterov ? g + momentum * b : b;
        }
        p[i] -= lr * g;
    }
}

void cnn_adam_update(float* p, const float* grad, float* m, float* v, float* vmax, int64_t n,
                     float lr, float beta1, float beta2, float eps, float weight_decay,
                     int decoupled, int64_t step) {
    const double bc1 = 1.0 - pow(beta1, (double)step);
    const double bc2 = 1.0 - pow(beta2, (double)step);
    const float step_size = (float)(lr / bc1);
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    const float decay = decoupled ? 1.0f - lr * weight_decay : 1.0f;
#pragma omp parallel for num_threads(cnn_threads_for(n / SMALL + 1)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        float w = p[i];
        if (decoupled) w *= decay;
        else if (weight_decay != 0.0f) g += weight_decay * w;
        const float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        if (vmax) {
            vi = vmax[i] > vi ? vmax[i] : vi;
            vmax[i] = vi;
        }
        p[i] = w - step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
    }
}
