/* Optimizer updates, in place, with torch.optim's formulas. */
#ifndef CNN_OPTIM_H
#define CNN_OPTIM_H

#include "cnn_common.h"

/* The hyper-parameters are doubles, as Python holds them: each coefficient the update uses
 * (1 - dampening, 1 - beta1, the bias corrections, ...) is formed in double and rounded to float
 * once, as torch does with its Python-scalar arguments. Rounding beta2 = 0.999 to float first
 * would make 1 - beta2 wrong by 1.3e-5 (relative). */

/* SGD: g = grad + weight_decay * p; with momentum: buf = first ? g : momentum * buf +
 * (1 - dampening) * g, g = nesterov ? g + momentum * buf : buf; then p -= lr * g.
 * buf may be NULL only when momentum == 0. */
void cnn_sgd_update(float* p, const float* grad, float* buf, int64_t n, double lr, double momentum,
                    double dampening, double weight_decay, int nesterov, int first);

/* Adam (decoupled = 0: weight decay added to the gradient) and AdamW (decoupled = 1: p *= 1 - lr *
 * weight_decay first). m, v: moment buffers; vmax: running max of v for amsgrad, or NULL.
 * step counts from 1. */
void cnn_adam_update(float* p, const float* grad, float* m, float* v, float* vmax, int64_t n,
                     double lr, double beta1, double beta2, double eps, double weight_decay,
                     int decoupled, int64_t step);

#endif
