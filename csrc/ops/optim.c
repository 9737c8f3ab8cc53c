/* Fused optimizer updates: one pass over each parameter, no temporaries.
 *
 * The arithmetic follows torch's single-tensor CPU path operation by operation (same coefficients,
 * same order of multiplications and divisions), so results agree with torch.optim to within an
 * ulp or two of float32 per step (torch's vectorized CPU loops may fuse a multiply-add where we
 * round twice). */
#include <math.h>

#include "cnn_optim.h"

#define SMALL 32768 /* below this many elements one thread is faster than a fork/join */

void cnn_sgd_update(float* p, const float* grad, float* buf, int64_t n, double lr, double momentum,
                    double dampening, double weight_decay, int nesterov, int first) {
    const float neg_lr = (float)(-lr);
    const float mom = (float)momentum;
    const float one_minus_damp = (float)(1.0 - dampening);
    const float wd = (float)weight_decay;
    const int use_momentum = momentum != 0.0 && buf != NULL;
#pragma omp parallel for num_threads(cnn_threads_for(n / SMALL + 1)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        if (wd != 0.0f) g = g + wd * p[i];                      /* grad.add(p, alpha=wd) */
        if (use_momentum) {
            const float b = first ? g : mom * buf[i] + one_minus_damp * g;
            buf[i] = b;
            g = nesterov ? g + mom * b : b;
        }
        p[i] = p[i] + neg_lr * g;                               /* p.add_(g, alpha=-lr) */
    }
}

void cnn_adam_update(float* p, const float* grad, float* m, float* v, float* vmax, int64_t n,
                     double lr, double beta1, double beta2, double eps, double weight_decay,
                     int decoupled, int64_t step) {
    const double bc1 = 1.0 - pow(beta1, (double)step);
    const double bc2 = 1.0 - pow(beta2, (double)step);
    const float neg_step_size = (float)(-(lr / bc1));
    const float bc2_sqrt = (float)sqrt(bc2);
    const float epsf = (float)eps;
    const float wd = (float)weight_decay;
    const float decay = (float)(1.0 - lr * weight_decay);
    const int apply_decay = decoupled && weight_decay != 0.0;
    const int add_decay = !decoupled && weight_decay != 0.0;
    /* exp_avg.lerp_(g, w), w = 1 - beta1: torch's lerp is m + w (g - m) for w < 0.5, else
     * g + (w - 1) (g - m). */
    const float w1 = (float)(1.0 - beta1);
    const int small_w = fabsf(w1) < 0.5f;
    const float lerp_c = small_w ? w1 : w1 - 1.0f;
    const float b2 = (float)beta2;
    const float one_minus_b2 = (float)(1.0 - beta2);
#pragma omp parallel for num_threads(cnn_threads_for(n / SMALL + 1)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        float w = p[i];
        if (apply_decay) w = w * decay;                         /* p.mul_(1 - lr * wd) */
        if (add_decay) g = g + wd * w;                          /* grad.add(p, alpha=wd) */
        const float mo = m[i];
        const float mi = (small_w ? mo : g) + lerp_c * (g - mo);
        float vi = b2 * v[i];                                   /* v.mul_(beta2) */
        vi = vi + one_minus_b2 * g * g;                         /* .addcmul_(g, g, 1 - beta2) */
        m[i] = mi;
        v[i] = vi;
        if (vmax) {
            const float vm = vmax[i];
            vi = (vm > vi || vm != vm) ? vm : vi;               /* torch.maximum (NaN wins) */
            vmax[i] = vi;
        }
        const float denom = sqrtf(vi) / bc2_sqrt + epsf;
        p[i] = w + neg_step_size * mi / denom;                  /* p.addcdiv_(m, denom, -step) */
    }
}
