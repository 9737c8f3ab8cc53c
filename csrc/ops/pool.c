/* Pooling on NCHW16c: max (keeping the argmax for backward, as Darknet's maxpool layer does),
 * average with PyTorch's divisor rule, adaptive average and max, global average.
 *
 * Every loop runs over the 16 lanes of a channel block innermost (memory-bound; plain C loops that
 * the compiler vectorizes). Threads split independent items: (batch, block, output row) forward,
 * (batch, block, input row) for the average-pool backwards, which gather from the outputs that
 * cover each input pixel instead of scattering, and (batch, block) planes for the max-pool
 * backward scatter. Each output element is computed by one thread in a fixed order, so results do
 * not depend on the thread count. The max over a window is cnn_pool_cfg's micro-kernel
 * (csrc/ukernels/pool/, one per ISA). */
#include <math.h>
#include <string.h>

#include "cnn_isa.h"
#include "cnn_pool.h"
#include "cnn_reorder.h"

/* Threads for `items` independent items moving about `floats` floats each: never more threads
 * than items, and about one thread per 32K floats, so that small work runs on one thread rather
 * than paying a fork/join. */
static int pool_threads(int64_t items, int64_t floats) {
    const int64_t by_work = items * cnn_max64(floats, 1) / 32768 + 1;
    return cnn_threads_for(cnn_min64(items, by_work));
}

/* ------------------------------------------------------------------ max ---- */

/* Taps i in [*lo, *hi) of a window starting at `start` (k taps, `dil` apart) that land in
 * [0, size). */
static inline void tap_range(int64_t start, int64_t k, int64_t dil, int64_t size, int64_t* lo,
                             int64_t* hi) {
    if (dil == 1) { /* the usual case: no division per output pixel */
        *lo = cnn_max64(0, -start);
        *hi = cnn_max64(*lo, cnn_min64(k, size - start));
        return;
    }
    const int64_t a = start < 0 ? (-start + dil - 1) / dil : 0;
    const int64_t b = start > size - 1 ? 0 : cnn_min64(k, (size - 1 - start) / dil + 1);
    *lo = a;
    *hi = cnn_max64(a, b);
}

void cnn_max_pool2d_forward(const cnn_pool_desc* d, const float* x, float* y, int32_t* argmax) {
    const int64_t h = d->h, w = d->w, items = d->n * cnn_blocks(d->c) * d->oh;
    const cnn_maxpool_window_ukernel window_max = cnn_pool_cfg.max_window;
#pragma omp parallel for num_threads(pool_threads(items, d->ow * d->kh * d->kw * CNN_BLOCK)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t r = item % d->oh, plane = item / d->oh;
        const float* src = x + plane * h * w * CNN_BLOCK;
        const int64_t hs = r * d->sh - d->ph;
        int64_t i0, i1;
        tap_range(hs, d->kh, d->dh, h, &i0, &i1);
        for (int64_t q = 0; q < d->ow; q++) {
            const int64_t ws = q * d->sw - d->pw;
            int64_t j0, j1;
            tap_range(ws, d->kw, d->dw, w, &j0, &j1);
            window_max(src, w, hs + i0 * d->dh, i1 - i0, d->dh, ws + j0 * d->dw, j1 - j0, d->dw,
                       y + (item * d->ow + q) * CNN_BLOCK, argmax + (item * d->ow + q) * CNN_BLOCK);
        }
    }
}

int cnn_max_pool2d_backward(const cnn_pool_desc* d, const float* dy, const int32_t* argmax, float* dx) {
    const int64_t planes = d->n * cnn_blocks(d->c), hw = d->h * d->w, ohw = d->oh * d->ow;
    int bad = 0;
#pragma omp parallel for num_threads(pool_threads(planes, (hw + 2 * ohw) * CNN_BLOCK)) schedule(static) reduction(|:bad)
    for (int64_t p = 0; p < planes; p++) {
        float* dst = dx + p * hw * CNN_BLOCK;
        const float* g = dy + p * ohw * CNN_BLOCK;
        const int32_t* a = argmax + p * ohw * CNN_BLOCK;
        memset(dst, 0, sizeof(float) * hw * CNN_BLOCK);
        for (int64_t o = 0; o < ohw * CNN_BLOCK; o += CNN_BLOCK)
            for (int l = 0; l < CNN_BLOCK; l++) {
                const int64_t k = a[o + l];
                if (k >= 0 && k < hw)
                    dst[k * CNN_BLOCK + l] += g[o + l];
                else
                    bad = 1;
            }
    }
    return bad ? CNN_EINVAL : CNN_OK;
}

/* -------------------------------------------------------------- average ---- */

/* One axis of the window of output `o`: the input range [*lo, *hi) it averages, and its factor
 * of the divisor: the window clipped to the padded input [-p, size + p) if count_include_pad,
 * else clipped to the input (PyTorch's CPU rule). */
static inline int64_t avg_axis(int64_t o, int64_t k, int64_t s, int64_t p, int64_t size, int cip,
                               int64_t* lo, int64_t* hi) {
    const int64_t start = o * s - p, end = cnn_min64(start + k, size + p);
    *lo = cnn_max64(start, 0);
    *hi = cnn_min64(end, size);
    return cip ? end - start : *hi - *lo;
}

void cnn_avg_pool2d_forward(const cnn_pool_desc* d, int count_include_pad, int64_t divisor_override,
                            const float* x, float* y) {
    const int64_t h = d->h, w = d->w, items = d->n * cnn_blocks(d->c) * d->oh;
#pragma omp parallel for num_threads(pool_threads(items, d->ow * d->kh * d->kw * CNN_BLOCK)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t r = item % d->oh, plane = item / d->oh;
        const float* src = x + plane * h * w * CNN_BLOCK;
        float* yrow = y + item * d->ow * CNN_BLOCK;
        int64_t h0, h1;
        const int64_t fh = avg_axis(r, d->kh, d->sh, d->ph, h, count_include_pad, &h0, &h1);
        for (int64_t q = 0; q < d->ow; q++) {
            int64_t w0, w1;
            const int64_t fw = avg_axis(q, d->kw, d->sw, d->pw, w, count_include_pad, &w0, &w1);
            float acc[CNN_BLOCK] = {0};
            for (int64_t ih = h0; ih < h1; ih++)
                for (int64_t iw = w0; iw < w1; iw++) {
                    const float* v = src + (ih * w + iw) * CNN_BLOCK;
                    for (int l = 0; l < CNN_BLOCK; l++) acc[l] += v[l];
                }
            float* out = yrow + q * CNN_BLOCK;
            if (h0 >= h1 || w0 >= w1) { /* no input element: 0 (and no division by 0) */
                for (int l = 0; l < CNN_BLOCK; l++) out[l] = 0.0f;
                continue;
            }
            const float div = (float)(divisor_override ? divisor_override : fh * fw);
            for (int l = 0; l < CNN_BLOCK; l++) out[l] = acc[l] / div;
        }
    }
}

void cnn_avg_pool2d_backward(const cnn_pool_desc* d, int count_include_pad, int64_t divisor_override,
                             const float* dy, float* dx) {
    const int64_t h = d->h, w = d->w, oh = d->oh, ow = d->ow, items = d->n * cnn_blocks(d->c) * h;
    /* taps covering one input pixel along an axis: about k / s */
    const int64_t taps = ((d->kh + d->sh - 1) / d->sh) * ((d->kw + d->sw - 1) / d->sw);
#pragma omp parallel for num_threads(pool_threads(items, w * taps * CNN_BLOCK)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t ih = item % h, plane = item / h;
        const float* g = dy + plane * oh * ow * CNN_BLOCK;
        float* dst = dx + item * w * CNN_BLOCK;
        /* outputs whose window [o*s - p, o*s - p + k) holds ih (ih < size + p: never clipped) */
        const int64_t rh = ih + d->ph - d->kh + 1;
        const int64_t r0 = rh <= 0 ? 0 : (rh + d->sh - 1) / d->sh;
        const int64_t r1 = cnn_min64(oh, (ih + d->ph) / d->sh + 1);
        for (int64_t iw = 0; iw < w; iw++) {
            const int64_t rw = iw + d->pw - d->kw + 1;
            const int64_t q0 = rw <= 0 ? 0 : (rw + d->sw - 1) / d->sw;
            const int64_t q1 = cnn_min64(ow, (iw + d->pw) / d->sw + 1);
            float acc[CNN_BLOCK] = {0};
            for (int64_t r = r0; r < r1; r++) {
                int64_t h0, h1, w0, w1;
                const int64_t fh = avg_axis(r, d->kh, d->sh, d->ph, h, count_include_pad, &h0, &h1);
                for (int64_t q = q0; q < q1; q++) {
                    const int64_t fw = avg_axis(q, d->kw, d->sw, d->pw, w, count_include_pad, &w0, &w1);
                    const float div = (float)(divisor_override ? divisor_override : fh * fw);
                    const float* v = g + (r * ow + q) * CNN_BLOCK;
                    for (int l = 0; l < CNN_BLOCK; l++) acc[l] += v[l] / div;
                }
            }
            for (int l = 0; l < CNN_BLOCK; l++) dst[iw * CNN_BLOCK + l] = acc[l];
        }
    }
}

/* ------------------------------------------------------------- adaptive ---- */

static inline int64_t bin_start(int64_t i, int64_t size, int64_t out) { return i * size / out; }
static inline int64_t bin_end(int64_t i, int64_t size, int64_t out) {
    return ((i + 1) * size + out - 1) / out;
}

void cnn_adaptive_avg_pool2d_forward(const cnn_pool_desc* d, const float* x, float* y) {
    const int64_t h = d->h, w = d->w, oh = d->oh, ow = d->ow, items = d->n * cnn_blocks(d->c) * oh;
    const int64_t bin_floats = (h / oh + 2) * (w / ow + 2) * CNN_BLOCK;
#pragma omp parallel for num_threads(pool_threads(items, ow * bin_floats)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t r = item % oh, plane = item / oh;
        const float* src = x + plane * h * w * CNN_BLOCK;
        float* yrow = y + item * ow * CNN_BLOCK;
        const int64_t h0 = bin_start(r, h, oh), h1 = bin_end(r, h, oh);
        for (int64_t q = 0; q < ow; q++) {
            const int64_t w0 = bin_start(q, w, ow), w1 = bin_end(q, w, ow);
            double acc[CNN_BLOCK] = {0};
            for (int64_t ih = h0; ih < h1; ih++)
                for (int64_t iw = w0; iw < w1; iw++) {
                    const float* v = src + (ih * w + iw) * CNN_BLOCK;
                    for (int l = 0; l < CNN_BLOCK; l++) acc[l] += v[l];
                }
            const double count = (double)((h1 - h0) * (w1 - w0));
            for (int l = 0; l < CNN_BLOCK; l++) yrow[q * CNN_BLOCK + l] = (float)(acc[l] / count);
        }
    }
}

void cnn_adaptive_avg_pool2d_backward(const cnn_pool_desc* d, const float* dy, float* dx) {
    const int64_t h = d->h, w = d->w, oh = d->oh, ow = d->ow, items = d->n * cnn_blocks(d->c) * h;
    const int64_t bins = (oh / h + 2) * (ow / w + 2);
#pragma omp parallel for num_threads(pool_threads(items, w * bins * CNN_BLOCK)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t ih = item % h, plane = item / h;
        const float* g = dy + plane * oh * ow * CNN_BLOCK;
        float* dst = dx + item * w * CNN_BLOCK;
        /* the bins holding ih: [floor(ih * oh / h), ceil((ih + 1) * oh / h)) */
        const int64_t r0 = bin_start(ih, oh, h), r1 = bin_end(ih, oh, h);
        for (int64_t iw = 0; iw < w; iw++) {
            const int64_t q0 = bin_start(iw, ow, w), q1 = bin_end(iw, ow, w);
            float acc[CNN_BLOCK] = {0};
            for (int64_t r = r0; r < r1; r++) {
                const int64_t bh = bin_end(r, h, oh) - bin_start(r, h, oh);
                for (int64_t q = q0; q < q1; q++) {
                    const float count = (float)(bh * (bin_end(q, w, ow) - bin_start(q, w, ow)));
                    const float* v = g + (r * ow + q) * CNN_BLOCK;
                    for (int l = 0; l < CNN_BLOCK; l++) acc[l] += v[l] / count;
                }
            }
            for (int l = 0; l < CNN_BLOCK; l++) dst[iw * CNN_BLOCK + l] = acc[l];
        }
    }
}

void cnn_adaptive_max_pool2d_forward(const cnn_pool_desc* d, const float* x, float* y, int32_t* argmax) {
    const int64_t h = d->h, w = d->w, oh = d->oh, ow = d->ow, items = d->n * cnn_blocks(d->c) * oh;
    const int64_t bin_floats = (h / oh + 2) * (w / ow + 2) * CNN_BLOCK;
    const cnn_maxpool_window_ukernel window_max = cnn_pool_cfg.max_window;
#pragma omp parallel for num_threads(pool_threads(items, ow * bin_floats)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t r = item % oh, plane = item / oh;
        const int64_t h0 = bin_start(r, h, oh), h1 = bin_end(r, h, oh);
        for (int64_t q = 0; q < ow; q++) {
            const int64_t w0 = bin_start(q, w, ow), w1 = bin_end(q, w, ow);
            window_max(x + plane * h * w * CNN_BLOCK, w, h0, h1 - h0, 1, w0, w1 - w0, 1,
                       y + (item * ow + q) * CNN_BLOCK, argmax + (item * ow + q) * CNN_BLOCK);
        }
    }
}

/* --------------------------------------------------------------- global ---- */

void cnn_global_avg_pool2d_forward(const float* x, int64_t n, int64_t c, int64_t hw, float* y) {
    const int64_t cb = cnn_blocks(c), items = n * cb;
#pragma omp parallel for num_threads(pool_threads(items, hw * CNN_BLOCK)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t b = item % cb, i = item / cb;
        const int64_t lanes = cnn_min64(CNN_BLOCK, c - b * CNN_BLOCK);
        const float* src = x + item * hw * CNN_BLOCK;
        double acc[CNN_BLOCK] = {0};
        for (int64_t p = 0; p < hw; p++)
            for (int l = 0; l < CNN_BLOCK; l++) acc[l] += src[p * CNN_BLOCK + l];
        for (int64_t l = 0; l < lanes; l++) y[i * c + b * CNN_BLOCK + l] = (float)(acc[l] / (double)hw);
    }
}

void cnn_global_avg_pool2d_backward(const float* dy, int64_t n, int64_t c, int64_t hw, float* dx) {
    const int64_t cb = cnn_blocks(c), items = n * cb;
#pragma omp parallel for num_threads(pool_threads(items, hw * CNN_BLOCK)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t b = item % cb, i = item / cb;
        const int64_t lanes = cnn_min64(CNN_BLOCK, c - b * CNN_BLOCK);
        float v[CNN_BLOCK] = {0};
        for (int64_t l = 0; l < lanes; l++) v[l] = dy[i * c + b * CNN_BLOCK + l] / (float)hw;
        float* dst = dx + item * hw * CNN_BLOCK;
        for (int64_t p = 0; p < hw; p++)
            for (int l = 0; l < CNN_BLOCK; l++) dst[p * CNN_BLOCK + l] = v[l];
    }
}

/* -------------------------------------------------------------- indices ---- */

/* Max-pooling indices: int32 in the blocked layout inside, int64 NCHW (as PyTorch's) outside. */
CNN_DEFINE_REORDER(cnn_pool_indices_from_nchw, cnn_pool_indices_to_nchw, int64_t, int32_t)
