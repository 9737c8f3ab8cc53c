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

/* RMSprop: g (+ weight_decay * p); sq = alpha sq + (1 - alpha) g g; centered: gavg lerps to g
 * and avg = sqrt(sq - gavg^2), else sqrt(sq); avg += eps; momentum > 0: buf = momentum buf +
 * g / avg, p -= lr buf; else p -= lr g / avg. gavg / buf may be NULL when unused. */
void cnn_rmsprop_update(float* p, const float* grad, float* sq, float* gavg, float* buf, int64_t n,
                        double lr, double alpha, double eps, double weight_decay, double momentum);

/* Adagrad: g (+ weight_decay * p); sum += g g; p -= clr g / (sqrt(sum) + eps), clr = lr / (1 +
 * (step - 1) lr_decay) formed by the caller. */
void cnn_adagrad_update(float* p, const float* grad, float* sum, int64_t n, double clr, double eps,
                        double weight_decay);

/* Adamax: g (+ weight_decay * p); m lerps to g by 1 - beta1; u = max(beta2 u, |g| + eps);
 * p -= lr / (1 - beta1^step) m / u. */
void cnn_adamax_update(float* p, const float* grad, float* m, float* u, int64_t n, double lr,
                       double beta1, double beta2, double eps, double weight_decay, int64_t step);

/* NAdam: decoupled ? p *= 1 - lr wd : g += wd p; m lerps to g; v = beta2 v + (1 - beta2) g g;
 * d = sqrt(v / bc2) + eps; p += c_grad g / d; p += c_avg m / d (c_grad, c_avg: the caller's
 * momentum-schedule coefficients, negative). */
void cnn_nadam_update(float* p, const float* grad, float* m, float* v, int64_t n, double lr,
                      double beta1, double beta2, double eps, double weight_decay, int decoupled,
                      double bc2, double c_grad, double c_avg);

/* RAdam: as Adam's moments; with rho_t > 5 the rectified adaptive step, else the plain
 * bias-corrected momentum step. step counts from 1. */
void cnn_radam_update(float* p, const float* grad, float* m, float* v, int64_t n, double lr,
                      double beta1, double beta2, double eps, double weight_decay, int decoupled,
                      int64_t step);

#endif
