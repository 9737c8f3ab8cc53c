/* Nearest and bilinear interpolation on NCHW16c, forward and backward.
 *
 * Each axis is resampled through a table computed once per call: for every output index the two
 * input indices it reads and their weights, with PyTorch's formulas in float (nearest:
 * floor(o * scale), capped; bilinear: the half-pixel or align_corners source index, its floor and
 * fraction). The forward splits (batch, channel block, output row) over threads. The backward
 * gathers: the table is inverted into, per input index, the list of (output index, weight) that
 * read it, and each (batch, channel block, input row) sums its contributions in that order, so
 * no two threads write one element and the result does not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "cnn_resample.h"

typedef struct {
    int64_t* i0;     /* per output index: first input index read */
    int64_t* i1;     /* second input index (bilinear; = i0 for nearest) */
    float* l0;       /* their weights */
    float* l1;
} axis_table;

/* PyTorch's compute_scales_value<float>: 1/scale_factor when the user gave one, else in/out. */
static float scale_value(double scale, int64_t in, int64_t out) {
    return scale > 0 ? (float)(1.0 / scale) : (float)in / (float)out;
}

static void fill_axis(axis_table* t, int64_t in, int64_t out, int mode, int align_corners, double scale) {
    for (int64_t o = 0; o < out; o++) {
        int64_t a = o, b = o;
        float la = 1.0f, lb = 0.0f;
        if (mode == CNN_INTERP_NEAREST) {
            if (out == 2 * in) a = o >> 1;
            else if (out != in) a = cnn_min64((int64_t)floorf((float)o * scale_value(scale, in, out)), in - 1);
            b = a;
        } else if (mode == CNN_INTERP_NEAREST_EXACT) {
            const float s = scale_value(scale, in, out);
            a = cnn_min64((int64_t)floorf((float)(((double)o + 0.5) * (double)s)), in - 1);
            b = a;
        } else if (out != in) {
            const float s = align_corners ? (out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f)
                                          : scale_value(scale, in, out);
            float real = align_corners ? s * (float)o : s * ((float)o + 0.5f) - 0.5f;
            if (!align_corners && real < 0) real = 0;
            a = cnn_min64((int64_t)floorf(real), in - 1);
            float frac = real - (float)a;
            lb = frac < 0 ? 0.0f : (frac > 1 ? 1.0f : frac);
            la = 1.0f - lb;
            b = a + (a < in - 1 ? 1 : 0);
        }
        t->i0[o] = a;
        t->i1[o] = b;
        t->l0[o] = la;
        t->l1[o] = lb;
    }
}

/* Both axes' tables in one allocation; NULL if it fails. */
static void* make_tables(const cnn_interp_desc* d, axis_table* th, axis_table* tw) {
    const int64_t m = d->oh + d->ow;
    char* mem = cnn_alloc((size_t)m, 2 * sizeof(int64_t) + 2 * sizeof(float));
    if (!mem) return NULL;
    int64_t* ints = (int64_t*)mem;
    float* floats = (float*)(ints + 2 * m);
    th->i0 = ints; th->i1 = ints + d->oh;
    tw->i0 = ints + 2 * d->oh; tw->i1 = tw->i0 + d->ow;
    th->l0 = floats; th->l1 = floats + d->oh;
    tw->l0 = floats + 2 * d->oh; tw->l1 = tw->l0 + d->ow;
    fill_axis(th, d->h, d->oh, d->mode, d->align_corners, d->scale_h);
    fill_axis(tw, d->w, d->ow, d->mode, d->align_corners, d->scale_w);
    return mem;
}

static int interp_threads(int64_t items, int64_t floats) {
    return cnn_threads_for(cnn_min64(items, items * cnn_max64(floats, 1) / 32768 + 1));
}

int cnn_interp2d_forward(const cnn_interp_desc* d, const float* x, float* y) {
    axis_table th, tw;
    void* mem = make_tables(d, &th, &tw);
    if (!mem) return CNN_ENOMEM;
    const int64_t cb = cnn_blocks(d->c), items = d->n * cb * d->oh;
    const int64_t plane = d->h * d->w * CNN_BLOCK, W = d->w;
    const int bilinear = d->mode == CNN_INTERP_BILINEAR;
#pragma omp parallel for num_threads(interp_threads(items, d->ow * CNN_BLOCK)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t r = item % d->oh, p = item / d->oh;
        const float* src = x + p * plane;
        float* dst = y + item * d->ow * CNN_BLOCK;
        const float* row0 = src + th.i0[r] * W * CNN_BLOCK;
        if (!bilinear) {
            for (int64_t q = 0; q < d->ow; q++)
                memcpy(dst + q * CNN_BLOCK, row0 + tw.i0[q] * CNN_BLOCK, sizeof(float) * CNN_BLOCK);
            continue;
        }
        const float* row1 = src + th.i1[r] * W * CNN_BLOCK;
        const float h0 = th.l0[r], h1 = th.l1[r];
        for (int64_t q = 0; q < d->ow; q++) {
            const float* a0 = row0 + tw.i0[q] * CNN_BLOCK;
            const float* a1 = row0 + tw.i1[q] * CNN_BLOCK;
            const float* b0 = row1 + tw.i0[q] * CNN_BLOCK;
            const float* b1 = row1 + tw.i1[q] * CNN_BLOCK;
            const float w0 = tw.l0[q], w1 = tw.l1[q];
            float* o = dst + q * CNN_BLOCK;
            for (int l = 0; l < CNN_BLOCK; l++)
                o[l] = (a0[l] * w0 + a1[l] * w1) * h0 + (b0[l] * w0 + b1[l] * w1) * h1;
        }
    }
    cnn_free(mem);
    return CNN_OK;
}

/* The inverse of one axis table: for input index i, entries start[i] .. start[i+1]-1 of
 * (out, weight), outputs in increasing order. */
typedef struct {
    int64_t* start;
    int64_t* out;
    float* weight;
} axis_inverse;

static int invert_axis(const axis_table* t, int64_t in, int64_t out, int two, axis_inverse* inv) {
    const int64_t entries = out * (two ? 2 : 1);
    inv->start = cnn_calloc((size_t)(in + 1), sizeof(int64_t));
    inv->out = cnn_alloc((size_t)entries, sizeof(int64_t));
    inv->weight = cnn_alloc((size_t)entries, sizeof(float));
    if (!inv->start || !inv->out || !inv->weight) return CNN_ENOMEM;
    for (int64_t o = 0; o < out; o++) {
        inv->start[t->i0[o] + 1]++;
        if (two) inv->start[t->i1[o] + 1]++;
    }
    for (int64_t i = 0; i < in; i++) inv->start[i + 1] += inv->start[i];
    int64_t* fill = cnn_alloc((size_t)(in + 1), sizeof(int64_t));
    if (!fill) return CNN_ENOMEM;
    memcpy(fill, inv->start, sizeof(int64_t) * (size_t)(in + 1));
    for (int64_t o = 0; o < out; o++) {
        int64_t k = fill[t->i0[o]]++;
        inv->out[k] = o;
        inv->weight[k] = t->l0[o];
        if (two) {
            k = fill[t->i1[o]]++;
            inv->out[k] = o;
            inv->weight[k] = t->l1[o];
        }
    }
    cnn_free(fill);
    return CNN_OK;
}

static void free_inverse(axis_inverse* inv) {
    cnn_free(inv->start);
    cnn_free(inv->out);
    cnn_free(inv->weight);
}

int cnn_interp2d_backward(const cnn_interp_desc* d, const float* dy, float* dx) {
    axis_table th, tw;
    void* mem = make_tables(d, &th, &tw);
    if (!mem) return CNN_ENOMEM;
    const int two = d->mode == CNN_INTERP_BILINEAR;
    axis_inverse ih, iw;
    memset(&ih, 0, sizeof ih);
    memset(&iw, 0, sizeof iw);
    int rc = invert_axis(&th, d->h, d->oh, two, &ih);
    if (rc == CNN_OK) rc = invert_axis(&tw, d->w, d->ow, two, &iw);
    if (rc == CNN_OK) {
        const int64_t cb = cnn_blocks(d->c), items = d->n * cb * d->h;
        const int64_t oplane = d->oh * d->ow * CNN_BLOCK;
#pragma omp parallel for num_threads(interp_threads(items, d->w * CNN_BLOCK * 4)) schedule(static)
        for (int64_t item = 0; item < items; item++) {
            const int64_t i = item % d->h, p = item / d->h;
            float* out = dx + item * d->w * CNN_BLOCK;
            memset(out, 0, sizeof(float) * d->w * CNN_BLOCK);
            for (int64_t e = ih.start[i]; e < ih.start[i + 1]; e++) {
                const float* row = dy + p * oplane + ih.out[e] * d->ow * CNN_BLOCK;
                const float a = ih.weight[e];
                for (int64_t j = 0; j < d->w; j++) {
                    float* o = out + j * CNN_BLOCK;
                    for (int64_t f = iw.start[j]; f < iw.start[j + 1]; f++) {
                        const float* g = row + iw.out[f] * CNN_BLOCK;
                        const float b = iw.weight[f] * a;
                        for (int l = 0; l < CNN_BLOCK; l++) o[l] += g[l] * b;
                    }
                }
            }
        }
    }
    free_inverse(&ih);
    free_inverse(&iw);
    cnn_free(mem);
    return rc;
}
