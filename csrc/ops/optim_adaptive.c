/* Fused updates of RMSprop, Adagrad, Adamax, NAdam and RAdam: one pass over each parameter,
 * no temporaries, torch's single-tensor CPU operations in torch's order (coefficients formed in
 * double and rounded to float once), as optim.c does for SGD and Adam. */
#include <math.h>

#include "cnn_optim.h"

#define SMALL 32768 /* below this many elements one thread is faster than a fork/join */

/* torch's lerp(self, end, w): self + w (end - self) for |w| < 0.5, else end - (end - self)(1 - w) */
typedef struct {
    float c;
    int small;
} lerp_t;

static lerp_t lerp_coef(double weight) {
    lerp_t l;
    const float w = (float)weight;
    l.small = fabsf(w) < 0.5f;
    l.c = l.small ? w : w - 1.0f;
    return l;
}

static inline float lerp(float self, float end, lerp_t l) {
    return (l.small ? self : end) + l.c * (end - self);
}

/* The first half of an Adam-style step (NAdam, RAdam): weight decay (decoupled: w *= 1 - lr wd,
 * else g += wd w), m lerps to g by 1 - beta1, v = beta2 v + (1 - beta2) g g. */
typedef struct {
    lerp_t l;
    float b2, one_minus_b2, wd, decay;
    int apply_decay, add_decay;
} moments_t;

static moments_t moments_coef(double lr, double beta1, double beta2, double weight_decay,
                              int decoupled) {
    moments_t c;
    c.l = lerp_coef(1.0 - beta1);
    c.b2 = (float)beta2;
    c.one_minus_b2 = (float)(1.0 - beta2);
    c.wd = (float)weight_decay;
    c.decay = (float)(1.0 - lr * weight_decay);
    c.apply_decay = decoupled && weight_decay != 0.0;
    c.add_decay = !decoupled && weight_decay != 0.0;
    return c;
}

/* IN/OUT: w (the parameter's value), m[i], v[i]; returns the (decayed) gradient */
static inline float moments(const moments_t* c, float g, float* w, float* m, float* v) {
    if (c->apply_decay) *w = *w * c->decay;
    if (c->add_decay) g = g + c->wd * *w;
    *m = lerp(*m, g, c->l);
    *v = c->b2 * *v + c->one_minus_b2 * g * g;
    return g;
}

void cnn_rmsprop_update(float* p, const float* grad, float* sq, float* gavg, float* buf, int64_t n,
                        double lr, double alpha, double eps, double weight_decay, double momentum) {
    const float a = (float)alpha, one_minus_a = (float)(1.0 - alpha);
    const float epsf = (float)eps, wd = (float)weight_decay, mom = (float)momentum;
    const float neg_lr = (float)(-lr);
    const lerp_t l = lerp_coef(1.0 - alpha);
#pragma omp parallel for num_threads(cnn_threads_for(n / SMALL + 1)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        if (wd != 0.0f) g = g + wd * p[i];                      /* grad.add(p, alpha=wd) */
        const float s = a * sq[i] + one_minus_a * g * g;        /* mul_(alpha).addcmul_ */
        sq[i] = s;
        float avg;
        if (gavg) {
            const float ga = lerp(gavg[i], g, l);               /* grad_avg.lerp_(g, 1 - alpha) */
            gavg[i] = ga;
            avg = sqrtf(s + (-1.0f * ga) * ga);                 /* addcmul(ga, ga, -1).sqrt_() */
        } else {
            avg = sqrtf(s);
        }
        avg = avg + epsf;
        if (buf) {
            const float b = buf[i] * mom + g / avg;             /* mul_(mom).addcdiv_(g, avg) */
            buf[i] = b;
            p[i] = p[i] + neg_lr * b;                           /* p.add_(buf, alpha=-lr) */
        } else {
            p[i] = p[i] + neg_lr * (g / avg);                   /* p.addcdiv_(g, avg, -lr) */
        }
    }
}

void cnn_adagrad_update(float* p, const float* grad, float* sum, int64_t n, double clr, double eps,
                        double weight_decay) {
    const float neg_clr = (float)(-clr), epsf = (float)eps, wd = (float)weight_decay;
#pragma omp parallel for num_threads(cnn_threads_for(n / SMALL + 1)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        if (wd != 0.0f) g = g + wd * p[i];
        const float s = sum[i] + 1.0f * g * g;                  /* sum.addcmul_(g, g, 1) */
        sum[i] = s;
        p[i] = p[i] + neg_clr * (g / (sqrtf(s) + epsf));        /* p.addcdiv_(g, std, -clr) */
    }
}

void cnn_adamax_update(float* p, const float* grad, float* m, float* u, int64_t n, double lr,
                       double beta1, double beta2, double eps, double weight_decay, int64_t step) {
    const lerp_t l = lerp_coef(1.0 - beta1);
    const float b2 = (float)beta2, epsf = (float)eps, wd = (float)weight_decay;
    const float neg_clr = (float)(-(lr / (1.0 - pow(beta1, (double)step))));
#pragma omp parallel for num_threads(cnn_threads_for(n / SMALL + 1)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        if (wd != 0.0f) g = g + wd * p[i];
        const float mi = lerp(m[i], g, l);
        m[i] = mi;
        const float a = u[i] * b2, b = fabsf(g) + epsf;
        const float ui = (a != a) ? a : ((b != b) ? b : (a > b ? a : b)); /* torch.maximum: NaN wins */
        u[i] = ui;
        p[i] = p[i] + neg_clr * (mi / ui);                      /* p.addcdiv_(m, u, -clr) */
    }
}

void cnn_nadam_update(float* p, const float* grad, float* m, float* v, int64_t n, double lr,
                      double beta1, double beta2, double eps, double weight_decay, int decoupled,
                      double bc2, double c_grad, double c_avg) {
    const moments_t c = moments_coef(lr, beta1, beta2, weight_decay, decoupled);
    const float epsf = (float)eps, bc2f = (float)bc2, cg = (float)c_grad, ca = (float)c_avg;
#pragma omp parallel for num_threads(cnn_threads_for(n / SMALL + 1)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float w = p[i];
        const float g = moments(&c, grad[i], &w, &m[i], &v[i]);
        const float d = sqrtf(v[i] / bc2f) + epsf;              /* v.div(bc2).sqrt().add_(eps) */
        w = w + cg * (g / d);
        p[i] = w + ca * (m[i] / d);
    }
}

void cnn_radam_update(float* p, const float* grad, float* m, float* v, int64_t n, double lr,
                      double beta1, double beta2, double eps, double weight_decay, int decoupled,
                      int64_t step) {
    const moments_t c = moments_coef(lr, beta1, beta2, weight_decay, decoupled);
    const float epsf = (float)eps;
    const double t = (double)step;
    const double bc1 = 1.0 - pow(beta1, t), bc2 = 1.0 - pow(beta2, t);
    const double rho_inf = 2.0 / (1.0 - beta2) - 1.0;
    const double rho_t = rho_inf - 2.0 * t * pow(beta2, t) / bc2;
    const int rectify = rho_t > 5.0;
    const float rect = rectify ? (float)sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                                             / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)) : 0.0f;
    const float bc1f = (float)bc1, bc2_sqrt = (float)sqrt(bc2), lrf = (float)lr;
#pragma omp parallel for num_threads(cnn_threads_for(n / SMALL + 1)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float w = p[i];
        moments(&c, grad[i], &w, &m[i], &v[i]);
        const float corrected = m[i] / bc1f;
        if (rectify) {
            const float adaptive = bc2_sqrt / (sqrtf(v[i]) + epsf);
            p[i] = w - corrected * lrf * adaptive * rect;
        } else {
            p[i] = w - corrected * lrf;
        }
    }
}
