/* Batch normalization on NCHW16c: statistics, normalize + affine (+ residual add) (+ ReLU) in one
 * pass, and the backward with the ReLU mask applied inside its two passes.
 *
 * Reductions (batch statistics, gradient sums) split the n * hw pixels of each channel block into
 * fixed ranges of BN_PART pixels; each (block, range) item is summed by one thread in double, and
 * the partial sums of a block are added in range order. The ranges do not depend on the thread
 * count, so neither do the results. The elementwise passes split (image, block, pixel chunk).
 * The loops over pixels are the micro-kernels of cnn_bn_cfg (csrc/ukernels/norm/, one per ISA). */
#include <math.h>
#include <string.h>

#include "cnn_isa.h"
#include "cnn_norm.h"

#define BN_PART 4096   /* pixels per partial sum of a reduction */
#define BN_CHUNK 1024  /* pixels per item of an elementwise pass */

/* Threads for `items` items of `floats` floats in total: small work runs on one thread. */
static int threads_for_work(int64_t items, int64_t floats) {
    return cnn_threads_for(cnn_min64(items, floats / 32768 + 1));
}

/* The reduction range [r0, r1) of flat pixel indices r = i * hw + q is visited image by image:
 * segment_at(r) gives the float offset of pixel q of image i in channel block b and the number
 * of pixels up to the end of the image or of the range. */
static inline int64_t segment_at(int64_t r, int64_t r1, int64_t b, int64_t cb, int64_t hw,
                                 int64_t* len) {
    const int64_t i = r / hw, q = r % hw;
    *len = cnn_min64(hw - q, r1 - r);
    return ((i * cb + b) * hw + q) * CNN_BLOCK;
}

/* Coefficients are kept per channel block, nf fields of 16 lanes each, the layout the
 * micro-kernels read: field f of channel ch. */
static inline float* coef_at(float* coef, int nf, int f, int64_t ch) {
    return coef + ((ch / CNN_BLOCK) * nf + f) * CNN_BLOCK + ch % CNN_BLOCK;
}

/* ------------------------------------------------------------------ forward ---- */

static void stats_part(const float* x, int64_t b, int64_t cb, int64_t hw, int64_t r0, int64_t r1,
                       const float* shift, double* s1, double* s2) {
    double a1[CNN_BLOCK] = {0}, a2[CNN_BLOCK] = {0};
    const cnn_bn_stats_ukernel stats = cnn_bn_cfg.stats;
    for (int64_t r = r0, len; r < r1; r += len) {
        const int64_t off = segment_at(r, r1, b, cb, hw, &len);
        stats(len, x + off, shift, a1, a2);
    }
    for (int l = 0; l < CNN_BLOCK; l++) {
        s1[l] = a1[l];
        s2[l] = a2[l];
    }
}

/* Batch mean and biased variance (double, cb * 16 lanes each). */
static int batch_stats(const cnn_bn_desc* d, const float* x, double* mean, double* var) {
    const int64_t cb = cnn_blocks(d->c), hw = d->hw, pixels = d->n * d->hw;
    const int64_t parts = (pixels + BN_PART - 1) / BN_PART, items = cb * parts;
    double* partial = cnn_alloc((size_t)items * 2 * CNN_BLOCK, sizeof(double));
    if (!partial) return CNN_ENOMEM;
#pragma omp parallel for num_threads(threads_for_work(items, pixels * cb * CNN_BLOCK)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t b = item / parts, part = item % parts;
        const int64_t r0 = part * BN_PART, r1 = cnn_min64(pixels, r0 + BN_PART);
        const float* shift = x + b * hw * CNN_BLOCK; /* pixel 0 of image 0 */
        double* s = partial + item * 2 * CNN_BLOCK;
        stats_part(x, b, cb, hw, r0, r1, shift, s, s + CNN_BLOCK);
    }
    for (int64_t b = 0; b < cb; b++) {
        double s1[CNN_BLOCK] = {0}, s2[CNN_BLOCK] = {0};
        for (int64_t part = 0; part < parts; part++) {
            const double* s = partial + (b * parts + part) * 2 * CNN_BLOCK;
            for (int l = 0; l < CNN_BLOCK; l++) {
                s1[l] += s[l];
                s2[l] += s[CNN_BLOCK + l];
            }
        }
        const float* shift = x + b * hw * CNN_BLOCK;
        for (int l = 0; l < CNN_BLOCK; l++) {
            const double m = s1[l] / (double)pixels;
            const double v = s2[l] / (double)pixels - m * m;
            mean[b * CNN_BLOCK + l] = (double)shift[l] + m;
            /* clamp the rounding error of the one-pass formula, but keep a NaN (a NaN or Inf
             * in the channel): `v > 0 ? v : 0` turned it into 0 and hid it */
            var[b * CNN_BLOCK + l] = v < 0.0 ? 0.0 : v;
        }
    }
    cnn_free(partial);
    return CNN_OK;
}

int cnn_batch_norm_forward(const cnn_bn_desc* d, const float* x, const float* residual, int relu,
                           const float* weight, const float* bias, const float* eval_mean,
                           const float* eval_var, float* running_mean, float* running_var,
                           float* y, float* save_mean, float* save_invstd) {
    const int64_t c = d->c, cb = cnn_blocks(c), hw = d->hw, lanes = cb * CNN_BLOCK;
    /* coef (3 fields): per-lane mean, scale (weight * invstd), bias; zero in the padded lanes */
    float* coef = cnn_alloc((size_t)lanes * 3, sizeof(float));
    double* stats = cnn_alloc((size_t)lanes * 2, sizeof(double));
    if (!coef || !stats) {
        cnn_free(coef);
        cnn_free(stats);
        return CNN_ENOMEM;
    }
    double *mean = stats, *var = stats + lanes;
    if (d->training) {
        if (batch_stats(d, x, mean, var) != CNN_OK) {
            cnn_free(coef);
            cnn_free(stats);
            return CNN_ENOMEM;
        }
    } else {
        for (int64_t ch = 0; ch < c; ch++) {
            mean[ch] = eval_mean[ch];
            var[ch] = eval_var[ch];
        }
    }
    const int64_t count = d->n * hw;
    for (int64_t ch = 0; ch < lanes; ch++) {
        float *cm = coef_at(coef, 3, 0, ch), *cs = coef_at(coef, 3, 1, ch), *cbias = coef_at(coef, 3, 2, ch);
        if (ch >= c) {
            *cm = *cs = *cbias = 0.0f;
            continue;
        }
        const double invstd = 1.0 / sqrt(var[ch] + (double)d->eps);
        save_mean[ch] = (float)mean[ch];
        save_invstd[ch] = (float)invstd;
        *cm = (float)mean[ch];
        *cs = (float)((weight ? (double)weight[ch] : 1.0) * invstd);
        *cbias = bias ? bias[ch] : 0.0f;
        if (d->training) {
            const double m = d->momentum;
            if (running_mean)
                running_mean[ch] = (float)((1.0 - m) * running_mean[ch] + m * mean[ch]);
            if (running_var && count > 1)
                running_var[ch] = (float)((1.0 - m) * running_var[ch]
                                          + m * var[ch] * (double)count / (double)(count - 1));
        }
    }

    const int64_t chunks = (hw + BN_CHUNK - 1) / BN_CHUNK, items = d->n * cb * chunks;
    const cnn_bn_fwd_ukernel fwd = cnn_bn_cfg.fwd;
#pragma omp parallel for num_threads(threads_for_work(items, d->n * lanes * hw)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t chunk = item % chunks, row = item / chunks, b = row % cb;
        const int64_t p0 = chunk * BN_CHUNK, p1 = cnn_min64(hw, p0 + BN_CHUNK);
        const int64_t off = (row * hw + p0) * CNN_BLOCK, len = p1 - p0;
        fwd(len, x + off, residual ? residual + off : NULL, relu, coef + b * 3 * CNN_BLOCK, y + off);
    }
    cnn_free(coef);
    cnn_free(stats);
    return CNN_OK;
}

/* ----------------------------------------------------------------- backward ---- */

static void grad_part(const float* dy, const float* x, const float* y, const float* mean,
                      int64_t b, int64_t cb, int64_t hw, int64_t r0, int64_t r1, double* sg,
                      double* sgx) {
    double a1[CNN_BLOCK] = {0}, a2[CNN_BLOCK] = {0};
    const cnn_bn_grad_ukernel grad = cnn_bn_cfg.grad;
    for (int64_t r = r0, len; r < r1; r += len) {
        const int64_t off = segment_at(r, r1, b, cb, hw, &len);
        grad(len, dy + off, x + off, y ? y + off : NULL, mean, a1, a2);
    }
    for (int l = 0; l < CNN_BLOCK; l++) {
        sg[l] = a1[l];
        sgx[l] = a2[l];
    }
}

int cnn_batch_norm_backward(const cnn_bn_desc* d, const float* dy, const float* x, const float* y,
                            const float* weight, const float* save_mean, const float* save_invstd,
                            float* dx, float* dresidual, float* dweight, float* dbias) {
    const int64_t c = d->c, cb = cnn_blocks(c), hw = d->hw, lanes = cb * CNN_BLOCK;
    const int64_t pixels = d->n * hw;
    const int64_t parts = (pixels + BN_PART - 1) / BN_PART, ritems = cb * parts;
    /* coef (4 fields): per-lane mean, a = weight * invstd, mean of g,
     * k = invstd^2 * mean of g * (x - mean) */
    float* coef = cnn_alloc((size_t)lanes * 4, sizeof(float));
    double* partial = cnn_alloc((size_t)(ritems > 0 ? ritems : 1) * 2 * CNN_BLOCK, sizeof(double));
    if (!coef || !partial) {
        cnn_free(coef);
        cnn_free(partial);
        return CNN_ENOMEM;
    }
    for (int64_t ch = 0; ch < lanes; ch++) *coef_at(coef, 4, 0, ch) = ch < c ? save_mean[ch] : 0.0f;

#pragma omp parallel for num_threads(threads_for_work(ritems, pixels * lanes)) schedule(static)
    for (int64_t item = 0; item < ritems; item++) {
        const int64_t b = item / parts, part = item % parts;
        const int64_t r0 = part * BN_PART, r1 = cnn_min64(pixels, r0 + BN_PART);
        double* s = partial + item * 2 * CNN_BLOCK;
        grad_part(dy, x, y, coef + b * 4 * CNN_BLOCK, b, cb, hw, r0, r1, s, s + CNN_BLOCK);
    }
    for (int64_t b = 0; b < cb; b++) {
        double sg[CNN_BLOCK] = {0}, sgx[CNN_BLOCK] = {0};
        for (int64_t part = 0; part < parts; part++) {
            const double* s = partial + (b * parts + part) * 2 * CNN_BLOCK;
            for (int l = 0; l < CNN_BLOCK; l++) {
                sg[l] += s[l];
                sgx[l] += s[CNN_BLOCK + l];
            }
        }
        for (int l = 0; l < CNN_BLOCK; l++) {
            const int64_t ch = b * CNN_BLOCK + l;
            float *ca = coef_at(coef, 4, 1, ch), *cg = coef_at(coef, 4, 2, ch), *ck = coef_at(coef, 4, 3, ch);
            if (ch >= c) {
                *ca = *cg = *ck = 0.0f;
                continue;
            }
            const double invstd = save_invstd[ch];
            dbias[ch] = (float)sg[l];
            dweight[ch] = (float)(sgx[l] * invstd);
            *ca = (float)((weight ? (double)weight[ch] : 1.0) * invstd);
            if (d->training && pixels > 0) {
                *cg = (float)(sg[l] / (double)pixels);
                *ck = (float)(sgx[l] * invstd * invstd / (double)pixels);
            } else {
                *cg = *ck = 0.0f;
            }
        }
    }
    cnn_free(partial);

    const int64_t chunks = (hw + BN_CHUNK - 1) / BN_CHUNK, items = d->n * cb * chunks;
    const cnn_bn_bwd_ukernel bwd = cnn_bn_cfg.bwd;
#pragma omp parallel for num_threads(threads_for_work(items, pixels * lanes)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t chunk = item % chunks, row = item / chunks, b = row % cb;
        const int64_t p0 = chunk * BN_CHUNK, p1 = cnn_min64(hw, p0 + BN_CHUNK);
        const int64_t off = (row * hw + p0) * CNN_BLOCK, len = p1 - p0;
        bwd(len, dy + off, x + off, y ? y + off : NULL, coef + b * 4 * CNN_BLOCK, dx + off,
            y && dresidual ? dresidual + off : NULL);
    }
    cnn_free(coef);
    return CNN_OK;
}
