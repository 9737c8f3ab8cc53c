/* 2-D padding on NCHW16c: constant (negative pads crop), reflect, replicate and circular,
 * forward and backward. Each axis maps an output index to the input index it copies (or -1: the
 * constant fill) through a table made once per call. The forward splits (batch, channel block,
 * output row) over threads; the backward gathers per (batch, channel block, input row), summing
 * the output rows and columns that copy each input pixel in increasing order, so no two threads
 * write one element and the result does not depend on the thread count. */
#include <string.h>

#include "cnn_resample.h"

static int64_t source_index(int64_t o, int64_t before, int64_t size, int mode) {
    int64_t i = o - before;
    if (i >= 0 && i < size) return i;
    switch (mode) {
    case CNN_PAD_REFLECT:  /* pads < size (checked by the caller): one reflection suffices */
        return i < 0 ? -i : 2 * (size - 1) - i;
    case CNN_PAD_REPLICATE:
        return i < 0 ? 0 : size - 1;
    case CNN_PAD_CIRCULAR:
        return ((i % size) + size) % size;
    default:
        return -1;
    }
}

/* Tables for rows then columns, in one allocation (NULL if it fails). */
static int64_t* make_maps(const cnn_pad_desc* d, int64_t oh, int64_t ow) {
    int64_t* map = cnn_alloc((size_t)(oh + ow), sizeof(int64_t));
    if (!map) return NULL;
    for (int64_t r = 0; r < oh; r++) map[r] = source_index(r, d->top, d->h, d->mode);
    for (int64_t q = 0; q < ow; q++) map[oh + q] = source_index(q, d->left, d->w, d->mode);
    return map;
}

static int pad_threads(int64_t items, int64_t floats) {
    return cnn_threads_for(cnn_min64(items, items * cnn_max64(floats, 1) / 32768 + 1));
}

int cnn_pad2d_forward(const cnn_pad_desc* d, const float* x, float* y) {
    const int64_t oh = d->h + d->top + d->bottom, ow = d->w + d->left + d->right;
    int64_t* map = make_maps(d, oh, ow);
    if (!map) return CNN_ENOMEM;
    const int64_t cb = cnn_blocks(d->c), items = d->n * cb * oh, plane = d->h * d->w * CNN_BLOCK;
    float fill[CNN_BLOCK] = {0}, last_fill[CNN_BLOCK] = {0};
    const int64_t last_lanes = d->c - (cb - 1) * CNN_BLOCK;  /* real lanes of the last block */
    for (int l = 0; l < CNN_BLOCK; l++) {
        fill[l] = d->value;
        if (l < last_lanes) last_fill[l] = d->value;
    }
#pragma omp parallel for num_threads(pad_threads(items, ow * CNN_BLOCK)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t r = item % oh, p = item / oh;
        const float* f = (p % cb == cb - 1) ? last_fill : fill;
        float* dst = y + item * ow * CNN_BLOCK;
        const int64_t sr = map[r];
        const float* row = sr >= 0 ? x + p * plane + sr * d->w * CNN_BLOCK : NULL;
        for (int64_t q = 0; q < ow; q++) {
            const int64_t sq = map[oh + q];
            memcpy(dst + q * CNN_BLOCK, (row && sq >= 0) ? row + sq * CNN_BLOCK : f, sizeof(float) * CNN_BLOCK);
        }
    }
    cnn_free(map);
    return CNN_OK;
}

int cnn_pad2d_backward(const cnn_pad_desc* d, const float* dy, float* dx) {
    const int64_t oh = d->h + d->top + d->bottom, ow = d->w + d->left + d->right;
    int64_t* map = make_maps(d, oh, ow);
    if (!map) return CNN_ENOMEM;
    const int64_t cb = cnn_blocks(d->c), items = d->n * cb * d->h, oplane = oh * ow * CNN_BLOCK;
#pragma omp parallel for num_threads(pad_threads(items, ow * CNN_BLOCK)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t i = item % d->h, p = item / d->h;
        float* out = dx + item * d->w * CNN_BLOCK;
        memset(out, 0, sizeof(float) * d->w * CNN_BLOCK);
        for (int64_t r = 0; r < oh; r++) {
            if (map[r] != i) continue;
            const float* row = dy + p * oplane + r * ow * CNN_BLOCK;
            for (int64_t q = 0; q < ow; q++) {
                const int64_t sq = map[oh + q];
                if (sq < 0) continue;
                float* o = out + sq * CNN_BLOCK;
                const float* g = row + q * CNN_BLOCK;
                for (int l = 0; l < CNN_BLOCK; l++) o[l] += g[l];
            }
        }
    }
    cnn_free(map);
    return CNN_OK;
}
