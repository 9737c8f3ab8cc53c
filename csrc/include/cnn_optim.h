/* Optimizer updates, in place, with torch.optim's formulas. */
#ifndef CNN_OPTIM_H
#define CNN_OPTIM_H

#include "cnn_common.h"

/* SGD: g = grad + weight_decay * p; with momentum: buf = first ? g : momentum * buf +
 * (1 - dampening) * g, g = nesterov ? g + momentum * buf : buf; then p -= lr * g. */
void cnn_sgd_update(float* p, const float* grad, float* buf, int64_t n, float lr, float momentum,
                    float dampening, float weight_decay, int nesterov, int first);

/* Adam (decoupled = 0: weight decay added to the gradient) and AdamW (decoupled = 1: p *= 1 - lr *
 * weight_decay first). m, v: moment buffers; vmax: running max of v for amsgrad, or NULL.
 * step counts from 1. */
void cnn_adam_update(float* p, const float* grad, float* m, float* v, float* vmax, int64_t n,
                     float lr, float beta1, float beta2, float eps, float weight_decay,
                     int decoupled, int64_t step);

#endif
