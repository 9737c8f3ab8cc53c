/* Convolution backward-weights and the bias gradient on NCHW16c. The backward-weights items
 * (output block, input block, tap) each reduce over the batch in a fixed order, so results do not
 * depend on the thread count. */
#include <string.h>

#include "cnn_conv_buffers.h"
#include "cnn_conv_direct.h"
#include "cnn_isa.h"


/* Backward weights of a layer with at most 3 input channels (the first layer, 3x3 or a 7x7 stem):
 * one pass over a padded copy of the input per output block, batch chunk and group of nine
 * taps, those taps' accumulators in registers. The batch is split into fixed chunks summed in
 * chunk order, so the result does not depend on the thread count. */
static int backward_weights_small(const cnn_conv_desc* d, const float* x, const float* dy,
                                  float* dw_packed) {
    const int64_t ocb = cnn_blocks(d->c_out), taps = d->kh * d->kw, groups9 = (taps + 8) / 9;
    int64_t hp, wp;
    float* xp = NULL;
    if (cnn_conv_pad_input(d, x, 1, &xp, &hp, &wp) != CNN_OK) return CNN_ENOMEM;
    const float* xs = xp ? xp : x;
    const int64_t chunk = 8, nchunks = (d->n + chunk - 1) / chunk;
    /* per (output block, chunk): the taps' tiles, plus one scratch tile for padding taps */
    const int64_t part = (taps + 1) * 256;
    float* partial = cnn_alloc((size_t)(ocb * nchunks * part), sizeof(float));
    if (!partial) { cnn_free(xp); return CNN_ENOMEM; }
    cnn_convbw_small_params p;
    memset(&p, 0, sizeof p);
    p.rows.nrows = (size_t)d->oh;
    p.rows.npix = (size_t)d->ow;
    p.rows.x_batch_stride = (size_t)(hp * wp * CNN_BLOCK);
    p.rows.x_row_stride = (size_t)(d->sh * wp * CNN_BLOCK);
    p.rows.x_pix_stride = (size_t)(d->sw * CNN_BLOCK);
    p.rows.dy_batch_stride = (size_t)(ocb * d->oh * d->ow * CNN_BLOCK);
    p.rows.dy_row_stride = (size_t)(d->ow * CNN_BLOCK);
    const int64_t items = ocb * nchunks * groups9;
    const double flops = 2.0 * taps * 16 * d->c_in * d->n * d->oh * d->ow * ocb;
#pragma omp parallel for num_threads(cnn_threads_for_work(items, flops)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t g9 = item % groups9, ch = (item / groups9) % nchunks, ob = item / (groups9 * nchunks);
        float* out = partial + (ob * nchunks + ch) * part;
        cnn_convbw_small_params q = p;
        q.rows.nbatch = (size_t)cnn_min64(chunk, d->n - ch * chunk);
        for (int64_t k = 0; k < 9; k++) {
            const int64_t t = g9 * 9 + k;
            const int64_t tt = t < taps ? t : g9 * 9;  /* past the last tap: repeat one, to scratch */
            q.tap_offset[k] = (size_t)(((tt / d->kw) * d->dh * wp + (tt % d->kw) * d->dw) * CNN_BLOCK);
            q.tap_out[k] = t < taps ? out + t * 256 : out + taps * 256;
            if (t < taps) memset(out + t * 256, 0, sizeof(float) * 256);
        }
        cnn_conv_cfg.bww_small((size_t)d->c_in, xs + ch * chunk * hp * wp * CNN_BLOCK,
                               dy + (ch * chunk * ocb + ob) * d->oh * d->ow * CNN_BLOCK, &q);
    }
    for (int64_t ob = 0; ob < ocb; ob++) {
        float* dst = dw_packed + ob * taps * 256;
        memset(dst, 0, sizeof(float) * taps * 256);
        for (int64_t ch = 0; ch < nchunks; ch++) {
            const float* src = partial + (ob * nchunks + ch) * part;
            for (int64_t e = 0; e < taps * 256; e++) dst[e] += src[e];
        }
    }
    cnn_free(partial);
    cnn_free(xp);
    return CNN_OK;
}

int cnn_conv2d_backward_weights(const cnn_conv_desc* d, const float* x, const float* dy,
                                const int32_t* icb_lo, const int32_t* nicb, int64_t nicb_max,
                                float* dw_packed) {
    const int64_t icb = cnn_blocks(d->c_in), ocb = cnn_blocks(d->c_out), taps = d->kh * d->kw;
    if (cnn_conv_cfg.bww_small && d->c_in <= 3 && d->groups == 1 && nicb_max == 1)
        return backward_weights_small(d, x, dy, dw_packed);
    const cnn_conv_bww_ukernel kernel = cnn_conv_cfg.bww;
    const int64_t max_lanes = (int64_t)cnn_conv_cfg.bww_max_lanes;
    const int64_t ic_last_full = d->c_in - (icb - 1) * CNN_BLOCK;
    const int64_t items = ocb * nicb_max * taps;
    const double flops = 2.0 * items * 256.0 * d->n * d->oh * d->ow;
#pragma omp parallel for num_threads(cnn_threads_for_work(items, flops)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t t = item % taps, c = (item / taps) % nicb_max, ob = item / (taps * nicb_max);
        float* tile = dw_packed + item * 256;
        memset(tile, 0, sizeof(float) * 256);
        if (c >= nicb[ob]) continue;
        const int64_t ib = icb_lo[ob] + c, i = t / d->kw, j = t % d->kw;
        const int64_t lanes = ib == icb - 1 ? ic_last_full : CNN_BLOCK;
        /* output pixels whose tap (i, j) reads inside the input (the others read zero padding):
         * rows r with 0 <= r*sh - ph + i*dh < h, and likewise columns */
        int64_t r0, r1, q0, q1;
        cnn_valid_taps(i * d->dh - d->ph, d->sh, d->oh, d->h, &r0, &r1);
        cnn_valid_taps(j * d->dw - d->pw, d->sw, d->ow, d->w, &q0, &q1);
        if (r1 <= r0 || q1 <= q0) continue;
        cnn_convbw_params p;
        p.nbatch = (size_t)d->n;
        p.nrows = (size_t)(r1 - r0);
        p.npix = (size_t)(q1 - q0);
        p.x_batch_stride = (size_t)(icb * d->h * d->w * CNN_BLOCK);
        p.x_row_stride = (size_t)(d->sh * d->w * CNN_BLOCK);
        p.x_pix_stride = (size_t)(d->sw * CNN_BLOCK);
        p.dy_batch_stride = (size_t)(ocb * d->oh * d->ow * CNN_BLOCK);
        p.dy_row_stride = (size_t)(d->ow * CNN_BLOCK);
        const float* xb = x + ((ib * d->h + r0 * d->sh - d->ph + i * d->dh) * d->w
                               + q0 * d->sw - d->pw + j * d->dw) * CNN_BLOCK;
        const float* db = dy + ((ob * d->oh + r0) * d->ow + q0) * CNN_BLOCK;
        for (int64_t l0 = 0; l0 < lanes; l0 += max_lanes)
            kernel((size_t)l0, (size_t)cnn_min64(max_lanes, lanes - l0), xb, db, tile, &p);
    }
    return CNN_OK;
}

void cnn_bias_grad(const float* dy, int64_t n, int64_t c, int64_t hw, float* db) {
    const int64_t cb = cnn_blocks(c);
#pragma omp parallel for num_threads(cnn_threads_for(cb * n * hw / 4096 + 1)) schedule(static)
    for (int64_t b = 0; b < cb; b++) {
        double acc[CNN_BLOCK] = {0};
        for (int64_t i = 0; i < n; i++) {
            const float* src = dy + (i * cb + b) * hw * CNN_BLOCK;
            for (int64_t p = 0; p < hw; p++)
                for (int l = 0; l < CNN_BLOCK; l++) acc[l] += src[p * CNN_BLOCK + l];
        }
        for (int l = 0; l < CNN_BLOCK && b * CNN_BLOCK + l < c; l++) db[b * CNN_BLOCK + l] = (float)acc[l];
    }
}
