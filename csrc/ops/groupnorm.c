/* Group normalization on NCHW16c (GroupNorm, LayerNorm over (C, H, W), InstanceNorm), forward and
 * backward.
 *
 * Every reduction first sums per (image, lane) over fixed pixel ranges of GN_PART pixels, one
 * range per work item, in double; the ranges of a lane are then added in range order and the
 * lanes of a group in channel order. Neither depends on the thread count, so neither do the
 * results. Groups are then just channel ranges, whatever their alignment to the 16-lane blocks.
 * The elementwise passes split (image, block, pixel chunk); their 16-lane inner loops are plain C
 * the compiler vectorizes. */
#include <math.h>
#include <string.h>

#include "cnn_groupnorm.h"

#define GN_PART 2048   /* pixels per partial sum of a reduction */
#define GN_CHUNK 1024  /* pixels per item of an elementwise pass */

static int threads_for_floats(int64_t items, int64_t floats) {
    return cnn_threads_for(cnn_min64(items, floats / 32768 + 1));
}

/* One reduction item: sums over pixels [p0, p1) of image i, block b into s1[16], s2[16]. */
typedef void (*part_fn)(const void* ctx, int64_t i, int64_t b, int64_t p0, int64_t p1,
                        double* s1, double* s2);

/* out1, out2 (n * lanes doubles each, image-major) = the per-(image, lane) sums of `fn`. */
static int lane_sums(const cnn_gn_desc* d, part_fn fn, const void* ctx, double* out1, double* out2) {
    const int64_t cb = cnn_blocks(d->c), hw = d->hw, lanes = cb * CNN_BLOCK;
    const int64_t parts = (hw + GN_PART - 1) / GN_PART, items = d->n * cb * parts;
    double* partial = cnn_alloc((size_t)(items > 0 ? items : 1) * 2 * CNN_BLOCK, sizeof(double));
    if (!partial) return CNN_ENOMEM;
#pragma omp parallel for num_threads(threads_for_floats(items, d->n * lanes * hw)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t part = item % parts, row = item / parts;
        const int64_t p0 = part * GN_PART, p1 = cnn_min64(hw, p0 + GN_PART);
        double* s = partial + item * 2 * CNN_BLOCK;
        fn(ctx, row / cb, row % cb, p0, p1, s, s + CNN_BLOCK);
    }
    for (int64_t row = 0; row < d->n * cb; row++) {
        double* o1 = out1 + row * CNN_BLOCK;
        double* o2 = out2 + row * CNN_BLOCK;
        for (int l = 0; l < CNN_BLOCK; l++) o1[l] = o2[l] = 0.0;
        for (int64_t part = 0; part < parts; part++) {
            const double* s = partial + (row * parts + part) * 2 * CNN_BLOCK;
            for (int l = 0; l < CNN_BLOCK; l++) {
                o1[l] += s[l];
                o2[l] += s[CNN_BLOCK + l];
            }
        }
    }
    cnn_free(partial);
    return CNN_OK;
}

/* ------------------------------------------------------------------ forward ---- */

typedef struct {
    const float* x;
    int64_t cb, hw;
} stats_ctx;

/* Sums of v = x - shift and v * v, shift = the lane's value at pixel 0 of the image (so that the
 * one-pass variance does not cancel catastrophically; the group combine undoes the shift). */
static void stats_part(const void* ctx, int64_t i, int64_t b, int64_t p0, int64_t p1, double* s1,
                       double* s2) {
    const stats_ctx* c = ctx;
    const float* restrict px = c->x + (i * c->cb + b) * c->hw * CNN_BLOCK;
    double a1[CNN_BLOCK] = {0}, a2[CNN_BLOCK] = {0};
    for (int64_t p = p0; p < p1; p++)
        for (int l = 0; l < CNN_BLOCK; l++) {
            const double v = (double)px[p * CNN_BLOCK + l] - (double)px[l];
            a1[l] += v;
            a2[l] += v * v;
        }
    memcpy(s1, a1, sizeof a1);
    memcpy(s2, a2, sizeof a2);
}

/* First and one-past-last channel of group g. */
static inline void group_range(const cnn_gn_desc* d, int64_t g, int64_t* c0, int64_t* c1) {
    const int64_t cpg = d->c / d->groups;
    *c0 = g * cpg;
    *c1 = *c0 + cpg;
}

int cnn_group_norm_forward(const cnn_gn_desc* d, const float* x, const float* weight,
                           const float* bias, float* y, float* save_mean, float* save_invstd) {
    const int64_t c = d->c, cb = cnn_blocks(c), hw = d->hw, lanes = cb * CNN_BLOCK, n = d->n;
    double* sums = cnn_alloc((size_t)(n * lanes) * 2, sizeof(double));
    /* per (image, lane): mean, scale, offset; y = (x - mean) * scale + offset [* w + b per pixel] */
    float* coef = cnn_alloc((size_t)(n * lanes) * 3, sizeof(float));
    if (!sums || !coef) {
        cnn_free(sums);
        cnn_free(coef);
        return CNN_ENOMEM;
    }
    double *s1 = sums, *s2 = sums + n * lanes;
    const stats_ctx sc = {x, cb, hw};
    if (lane_sums(d, stats_part, &sc, s1, s2) != CNN_OK) {
        cnn_free(sums);
        cnn_free(coef);
        return CNN_ENOMEM;
    }
    float *cm = coef, *cs = coef + n * lanes, *co = coef + 2 * n * lanes;
    memset(coef, 0, sizeof(float) * (size_t)(n * lanes) * 3);
    for (int64_t i = 0; i < n; i++)
        for (int64_t g = 0; g < d->groups; g++) {
            int64_t c0, c1;
            group_range(d, g, &c0, &c1);
            const double count = (double)((c1 - c0) * hw);
            double total = 0.0;
            for (int64_t ch = c0; ch < c1; ch++) {
                const double shift = x[((i * cb + ch / CNN_BLOCK) * hw) * CNN_BLOCK + ch % CNN_BLOCK];
                total += s1[i * lanes + ch] + (double)hw * shift;
            }
            const double mean = total / count;
            double sq = 0.0;
            for (int64_t ch = c0; ch < c1; ch++) {
                const double shift = x[((i * cb + ch / CNN_BLOCK) * hw) * CNN_BLOCK + ch % CNN_BLOCK];
                const double dm = mean - shift, a = s1[i * lanes + ch];
                sq += s2[i * lanes + ch] - 2.0 * dm * a + (double)hw * dm * dm;
            }
            const double v = sq / count;
            /* clamp rounding below zero but keep a NaN (a NaN or Inf in the group) */
            const double invstd = 1.0 / sqrt((v < 0.0 ? 0.0 : v) + (double)d->eps);
            save_mean[i * d->groups + g] = (float)mean;
            save_invstd[i * d->groups + g] = (float)invstd;
            for (int64_t ch = c0; ch < c1; ch++) {
                const int64_t e = i * lanes + ch;
                const int chan = !d->per_pixel;
                cm[e] = (float)mean;
                cs[e] = (float)(invstd * (chan && weight ? (double)weight[ch] : 1.0));
                co[e] = chan && bias ? bias[ch] : 0.0f;
            }
        }
    cnn_free(sums);

    const int64_t chunks = (hw + GN_CHUNK - 1) / GN_CHUNK, items = n * cb * chunks;
    const float* pw_all = d->per_pixel ? weight : NULL;
    const float* pb_all = d->per_pixel ? bias : NULL;
#pragma omp parallel for num_threads(threads_for_floats(items, n * lanes * hw)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t chunk = item % chunks, row = item / chunks, b = row % cb;
        const int64_t p0 = chunk * GN_CHUNK, len = cnn_min64(hw, p0 + GN_CHUNK) - p0;
        const int64_t off = (row * hw + p0) * CNN_BLOCK, lane0 = row * CNN_BLOCK;
        const float *m = cm + lane0, *s = cs + lane0, *o = co + lane0;
        const float* restrict px = x + off;
        float* restrict py = y + off;
        if (pw_all || pb_all) {
            const int64_t aoff = (b * hw + p0) * CNN_BLOCK;
            const float* pw = pw_all ? pw_all + aoff : NULL;
            const float* pb = pb_all ? pb_all + aoff : NULL;
            for (int64_t p = 0; p < len; p++)
                for (int l = 0; l < CNN_BLOCK; l++) {
                    const int64_t k = p * CNN_BLOCK + l;
                    const float v = (px[k] - m[l]) * s[l];
                    py[k] = v * (pw ? pw[k] : 1.0f) + (pb ? pb[k] : 0.0f);
                }
        } else {
            cnn_norm_affine_lanes(px, len, m, s, o, py);
        }
    }
    cnn_free(coef);
    return CNN_OK;
}

/* ----------------------------------------------------------------- backward ---- */

typedef struct {
    const float *dy, *x, *mean;  /* mean: per (image, lane), n * lanes floats */
    const float* pw;             /* per-pixel weight or NULL (1) */
    int64_t cb, hw;
} grad_ctx;

/* Sums of g and g * (x - mean), g = dy * per-pixel weight (or dy). */
static void grad_part(const void* ctx, int64_t i, int64_t b, int64_t p0, int64_t p1, double* s1,
                      double* s2) {
    const grad_ctx* c = ctx;
    const int64_t row = i * c->cb + b;
    const float* restrict pd = c->dy + row * c->hw * CNN_BLOCK;
    const float* restrict px = c->x + row * c->hw * CNN_BLOCK;
    const float* restrict pw = c->pw ? c->pw + b * c->hw * CNN_BLOCK : NULL;
    const float* m = c->mean + row * CNN_BLOCK;
    double a1[CNN_BLOCK] = {0}, a2[CNN_BLOCK] = {0};
    for (int64_t p = p0; p < p1; p++)
        for (int l = 0; l < CNN_BLOCK; l++) {
            const int64_t k = p * CNN_BLOCK + l;
            const double g = (double)pd[k] * (pw ? (double)pw[k] : 1.0);
            a1[l] += g;
            a2[l] += g * ((double)px[k] - (double)m[l]);
        }
    memcpy(s1, a1, sizeof a1);
    memcpy(s2, a2, sizeof a2);
}

/* Per-pixel dweight / dbias: sums over the images of dy * xhat and dy, in image order. */
static void pixel_affine_grads(const cnn_gn_desc* d, const float* dy, const float* x,
                               const float* cm, const float* ci, float* dweight, float* dbias) {
    const int64_t cb = cnn_blocks(d->c), hw = d->hw, lanes = cb * CNN_BLOCK;
    const int64_t chunks = (hw + GN_CHUNK - 1) / GN_CHUNK, items = cb * chunks;
#pragma omp parallel for num_threads(threads_for_floats(items, d->n * lanes * hw)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t chunk = item % chunks, b = item / chunks;
        const int64_t p0 = chunk * GN_CHUNK, len = cnn_min64(hw, p0 + GN_CHUNK) - p0;
        const int64_t aoff = (b * hw + p0) * CNN_BLOCK;
        float* restrict dw = dweight ? dweight + aoff : NULL;
        float* restrict db = dbias ? dbias + aoff : NULL;
        for (int64_t k = 0; k < len * CNN_BLOCK; k++) {
            if (dw) dw[k] = 0.0f;
            if (db) db[k] = 0.0f;
        }
        for (int64_t i = 0; i < d->n; i++) {
            const int64_t off = ((i * cb + b) * hw + p0) * CNN_BLOCK, lane0 = (i * cb + b) * CNN_BLOCK;
            const float* restrict pd = dy + off;
            const float* restrict px = x + off;
            const float *m = cm + lane0, *s = ci + lane0;
            for (int64_t p = 0; p < len; p++)
                for (int l = 0; l < CNN_BLOCK; l++) {
                    const int64_t k = p * CNN_BLOCK + l;
                    if (dw) dw[k] += pd[k] * ((px[k] - m[l]) * s[l]);
                    if (db) db[k] += pd[k];
                }
        }
    }
}

int cnn_group_norm_backward(const cnn_gn_desc* d, const float* dy, const float* x,
                            const float* weight, const float* save_mean, const float* save_invstd,
                            float* dx, float* dweight, float* dbias) {
    const int64_t c = d->c, cb = cnn_blocks(c), hw = d->hw, lanes = cb * CNN_BLOCK, n = d->n;
    double* sums = cnn_alloc((size_t)(n * lanes) * 2, sizeof(double));
    /* per (image, lane): mean, invstd, and dx = invstd * g - sg - (x - mean) * q */
    float* coef = cnn_alloc((size_t)(n * lanes) * 4, sizeof(float));
    if (!sums || !coef) {
        cnn_free(sums);
        cnn_free(coef);
        return CNN_ENOMEM;
    }
    float *cm = coef, *ci = coef + n * lanes, *csg = coef + 2 * n * lanes, *cq = coef + 3 * n * lanes;
    memset(coef, 0, sizeof(float) * (size_t)(n * lanes) * 4);
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < c; ch++) {
            const int64_t g = ch / (c / d->groups);
            cm[i * lanes + ch] = save_mean[i * d->groups + g];
            ci[i * lanes + ch] = save_invstd[i * d->groups + g];
        }
    double *s1 = sums, *s2 = sums + n * lanes;
    const grad_ctx gc = {dy, x, cm, d->per_pixel ? weight : NULL, cb, hw};
    if (lane_sums(d, grad_part, &gc, s1, s2) != CNN_OK) {
        cnn_free(sums);
        cnn_free(coef);
        return CNN_ENOMEM;
    }
    if (!d->per_pixel) {
        /* s1, s2 are sums of dy and dy * (x - mean): the affine gradients, then g = dy * w */
        for (int64_t ch = 0; ch < c; ch++) {
            double sw = 0.0, sb = 0.0;
            for (int64_t i = 0; i < n; i++) {
                const int64_t e = i * lanes + ch;
                sb += s1[e];
                sw += s2[e] * (double)ci[e];
                const double w = weight ? (double)weight[ch] : 1.0;
                s1[e] *= w;
                s2[e] *= w;
            }
            if (dweight) dweight[ch] = (float)sw;
            if (dbias) dbias[ch] = (float)sb;
        }
    } else if (dweight || dbias) {
        pixel_affine_grads(d, dy, x, cm, ci, dweight, dbias);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t g = 0; g < d->groups; g++) {
            int64_t c0, c1;
            group_range(d, g, &c0, &c1);
            const double count = (double)((c1 - c0) * hw);
            double sg = 0.0, sgx = 0.0;
            for (int64_t ch = c0; ch < c1; ch++) {
                sg += s1[i * lanes + ch];
                sgx += s2[i * lanes + ch];
            }
            const double invstd = save_invstd[i * d->groups + g];
            for (int64_t ch = c0; ch < c1; ch++) {
                csg[i * lanes + ch] = (float)(invstd * sg / count);
                cq[i * lanes + ch] = (float)(invstd * invstd * invstd * sgx / count);
            }
        }
    cnn_free(sums);

    const int64_t chunks = (hw + GN_CHUNK - 1) / GN_CHUNK, items = n * cb * chunks;
    const float* pw_all = d->per_pixel ? weight : NULL;
    /* per-channel weight as per-lane values (padded lanes 0) */
    float* wl = cnn_alloc((size_t)lanes, sizeof(float));
    if (!wl) {
        cnn_free(coef);
        return CNN_ENOMEM;
    }
    for (int64_t ch = 0; ch < lanes; ch++)
        wl[ch] = ch >= c ? 0.0f : (d->per_pixel || !weight ? 1.0f : weight[ch]);
#pragma omp parallel for num_threads(threads_for_floats(items, n * lanes * hw)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t chunk = item % chunks, row = item / chunks, b = row % cb;
        const int64_t p0 = chunk * GN_CHUNK, len = cnn_min64(hw, p0 + GN_CHUNK) - p0;
        const int64_t off = (row * hw + p0) * CNN_BLOCK, lane0 = row * CNN_BLOCK;
        const float *m = cm + lane0, *s = ci + lane0, *sg = csg + lane0, *q = cq + lane0;
        const float* w = wl + b * CNN_BLOCK;
        const float* restrict pd = dy + off;
        const float* restrict px = x + off;
        float* restrict pdx = dx + off;
        if (pw_all) {
            const float* restrict pw = pw_all + (b * hw + p0) * CNN_BLOCK;
            for (int64_t p = 0; p < len; p++)
                for (int l = 0; l < CNN_BLOCK; l++) {
                    const int64_t k = p * CNN_BLOCK + l;
                    pdx[k] = s[l] * (pd[k] * pw[k]) - sg[l] - (px[k] - m[l]) * q[l];
                }
        } else {
            for (int64_t p = 0; p < len; p++)
                for (int l = 0; l < CNN_BLOCK; l++) {
                    const int64_t k = p * CNN_BLOCK + l;
                    pdx[k] = s[l] * (pd[k] * w[l]) - sg[l] - (px[k] - m[l]) * q[l];
                }
        }
    }
    cnn_free(wl);
    cnn_free(coef);
    return CNN_OK;
}
