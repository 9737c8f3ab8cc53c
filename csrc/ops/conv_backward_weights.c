/* Convolution backward-weights and the bias gradient on NCHW16c.
 *
 * The weight gradient of one (output block, input block) pair is the sum over the batch and the
 * output pixels of every tap's x x dy outer products. Streaming the whole batch through the kernel
 * once per tap (and per lane group) made the pass memory-bound, so the pair's work walks the pixels
 * in chunks (a few rows of one image, or a few whole small images, whose x and dy take
 * about CHUNK_BYTES) and runs every tap and lane group on a chunk while its x and dy are in cache.
 * Work items are pairs; a layer with fewer than MIN_ITEMS pairs (the first layers) also splits the
 * batch into fixed chunks, each into its own partial gradient, summed in chunk order. Every split
 * depends on the shape only, so the result does not depend on the thread count. */
#include <string.h>

#include "cnn_conv_direct.h"
#include "cnn_isa.h"

enum { CHUNK_BYTES = 64 * 1024, MIN_ITEMS = 16 };

/* How the pixels of a batch chunk are walked: `imgs` images of `rows` output rows at a time, so
 * that the rows of dy and of x they read take about CHUNK_BYTES. */
typedef struct {
    int64_t imgs, rows;
} pixel_chunks;

static pixel_chunks chunks_for(const cnn_conv_desc* d, int64_t x_pix_bytes) {
    pixel_chunks c;
    const int64_t row = d->ow * CNN_BLOCK * 4 + d->sh * d->w * x_pix_bytes, budget = CHUNK_BYTES;
    if (d->oh * row >= budget) {
        c.imgs = 1;
        c.rows = cnn_max64(1, budget / row);
    } else {
        c.imgs = cnn_max64(1, budget / (d->oh * row));
        c.rows = d->oh;
    }
    return c;
}

/* Images per batch chunk: the whole batch when there are enough pairs to share out. */
static int64_t batch_chunk(const cnn_conv_desc* d, int64_t pairs) {
    if (pairs >= MIN_ITEMS) return d->n;
    const int64_t nbc = cnn_min64(d->n, (MIN_ITEMS + pairs - 1) / pairs);
    return (d->n + nbc - 1) / nbc;
}

/* Images [b0, b1) of the pair (ob, ib): every tap's 16x16 tile added to out[tap * 256]. */
static void pair_taps(const cnn_conv_desc* d, const float* x, const float* dy, int64_t ob, int64_t ib,
                      int64_t b0, int64_t b1, float* out) {
    const int64_t icb = cnn_blocks(d->c_in), ocb = cnn_blocks(d->c_out), taps = d->kh * d->kw;
    const int64_t lanes = ib == icb - 1 ? d->c_in - (icb - 1) * CNN_BLOCK : CNN_BLOCK;
    const int64_t max_lanes = (int64_t)cnn_conv_cfg.bww_max_lanes;
    const cnn_conv_bww_ukernel kernel = cnn_conv_cfg.bww;
    const pixel_chunks ch = chunks_for(d, CNN_BLOCK * 4);
    cnn_convbw_params p;
    p.x_batch_stride = (size_t)(icb * d->h * d->w * CNN_BLOCK);
    p.x_row_stride = (size_t)(d->sh * d->w * CNN_BLOCK);
    p.x_pix_stride = (size_t)(d->sw * CNN_BLOCK);
    p.dy_batch_stride = (size_t)(ocb * d->oh * d->ow * CNN_BLOCK);
    p.dy_row_stride = (size_t)(d->ow * CNN_BLOCK);
    for (int64_t b = b0; b < b1; b += ch.imgs) {
        p.nbatch = (size_t)cnn_min64(ch.imgs, b1 - b);
        for (int64_t R = 0; R < d->oh; R += ch.rows) {
            const int64_t R1 = cnn_min64(d->oh, R + ch.rows);
            for (int64_t t = 0; t < taps; t++) {
                const int64_t i = t / d->kw, j = t % d->kw;
                /* output pixels whose tap (i, j) reads inside the input (the others read zero
                 * padding): rows r with 0 <= r*sh - ph + i*dh < h, and likewise columns */
                int64_t r0, r1, q0, q1;
                cnn_valid_taps(i * d->dh - d->ph, d->sh, d->oh, d->h, &r0, &r1);
                cnn_valid_taps(j * d->dw - d->pw, d->sw, d->ow, d->w, &q0, &q1);
                r0 = cnn_max64(r0, R);
                r1 = cnn_min64(r1, R1);
                if (r1 <= r0 || q1 <= q0) continue;
                p.nrows = (size_t)(r1 - r0);
                p.npix = (size_t)(q1 - q0);
                const float* xb = x + (((b * icb + ib) * d->h + r0 * d->sh - d->ph + i * d->dh) * d->w
                                       + q0 * d->sw - d->pw + j * d->dw) * CNN_BLOCK;
                const float* db = dy + (((b * ocb + ob) * d->oh + r0) * d->ow + q0) * CNN_BLOCK;
                for (int64_t l0 = 0; l0 < lanes; l0 += max_lanes)
                    kernel((size_t)l0, (size_t)cnn_min64(max_lanes, lanes - l0), xb, db, out + t * 256, &p);
            }
        }
    }
}

/* The first c_in <= 3 lanes of x, zero-padded as far as the windows reach, dense:
 * (N, hp, wp, c_in). NULL when it cannot be allocated. */
static float* pad_dense(const cnn_conv_desc* d, const float* x, int64_t* hp, int64_t* wp) {
    const int64_t need_h = (d->oh - 1) * d->sh + (d->kh - 1) * d->dh + 1;
    const int64_t need_w = (d->ow - 1) * d->sw + (d->kw - 1) * d->dw + 1;
    const int64_t H = cnn_max64(d->h + d->ph, need_h), W = cnn_max64(d->w + d->pw, need_w), ci = d->c_in;
    float* dst = cnn_alloc((size_t)(d->n * H * W * ci), sizeof(float));
    if (!dst) return NULL;
#pragma omp parallel for num_threads(cnn_threads_for(d->n * H * W / 2048 + 1)) schedule(static)
    for (int64_t b = 0; b < d->n; b++) {
        float* p = dst + b * H * W * ci;
        memset(p, 0, sizeof(float) * H * W * ci);
        for (int64_t r = 0; r < d->h && r + d->ph < H; r++)
            for (int64_t c = 0; c < d->w && c + d->pw < W; c++)
                for (int64_t l = 0; l < ci; l++)
                    p[((r + d->ph) * W + c + d->pw) * ci + l] = x[((b * d->h + r) * d->w + c) * CNN_BLOCK + l];
    }
    *hp = H;
    *wp = W;
    return dst;
}

/* Images [b0, b1) of output block ob for a layer with c_in <= 3 (one input block, no groups):
 * up to nine taps per kernel call over the dense padded input xd. */
static void small_taps(const cnn_conv_desc* d, const float* xd, int64_t hp, int64_t wp,
                       const float* dy, int64_t ob, int64_t b0, int64_t b1, float* out) {
    const int64_t ocb = cnn_blocks(d->c_out), taps = d->kh * d->kw, ci = d->c_in;
    const pixel_chunks ch = chunks_for(d, ci * 4);
    cnn_convbw_small_params q;
    memset(&q, 0, sizeof q);
    q.rows.npix = (size_t)d->ow;
    q.rows.x_batch_stride = (size_t)(hp * wp * ci);
    q.rows.x_row_stride = (size_t)(d->sh * wp * ci);
    q.rows.x_pix_stride = (size_t)(d->sw * ci);
    q.rows.dy_batch_stride = (size_t)(ocb * d->oh * d->ow * CNN_BLOCK);
    q.rows.dy_row_stride = (size_t)(d->ow * CNN_BLOCK);
    for (int64_t b = b0; b < b1; b += ch.imgs) {
        q.rows.nbatch = (size_t)cnn_min64(ch.imgs, b1 - b);
        for (int64_t R = 0; R < d->oh; R += ch.rows) {
            q.rows.nrows = (size_t)(cnn_min64(d->oh, R + ch.rows) - R);
            const float* xr = xd + (b * hp + R * d->sh) * wp * ci;
            const float* dr = dy + ((b * ocb + ob) * d->oh + R) * d->ow * CNN_BLOCK;
            for (int64_t t0 = 0; t0 < taps; t0 += 9) {
                q.ntaps = (size_t)cnn_min64(9, taps - t0);
                for (size_t k = 0; k < q.ntaps; k++) {
                    const int64_t t = t0 + (int64_t)k;
                    q.tap_offset[k] = (size_t)(((t / d->kw) * d->dh * wp + (t % d->kw) * d->dw) * ci);
                    q.tap_out[k] = out + t * 256;
                }
                cnn_conv_cfg.bww_small((size_t)ci, xr, dr, &q);
            }
        }
    }
}

int cnn_conv2d_backward_weights(const cnn_conv_desc* d, const float* x, const float* dy,
                                const int32_t* icb_lo, const int32_t* nicb, int64_t nicb_max,
                                float* dw_packed) {
    const int64_t ocb = cnn_blocks(d->c_out), taps = d->kh * d->kw, tile = taps * 256;
    const int64_t pairs = ocb * nicb_max, bsz = cnn_max64(1, batch_chunk(d, pairs));
    const int64_t nbc = (d->n + bsz - 1) / bsz, items = pairs * nbc;
    const int small = d->c_in <= 3 && d->groups == 1 && nicb_max == 1;
    memset(dw_packed, 0, sizeof(float) * (size_t)(pairs * tile));
    if (items == 0) return CNN_OK;
    int64_t hp = 0, wp = 0;
    float* xd = small ? pad_dense(d, x, &hp, &wp) : NULL;
    float* partial = nbc > 1 ? cnn_alloc((size_t)(items * tile), sizeof(float)) : NULL;
    if ((small && !xd) || (nbc > 1 && !partial)) {
        cnn_free(xd);
        cnn_free(partial);
        return CNN_ENOMEM;
    }
    const double flops = 2.0 * pairs * tile * d->n * d->oh * d->ow;
#pragma omp parallel for num_threads(cnn_threads_for_work(items, flops)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t pair = item / nbc, bc = item % nbc, ob = pair / nicb_max, c = pair % nicb_max;
        if (c >= nicb[ob]) continue;
        float* out = partial ? partial + item * tile : dw_packed + pair * tile;
        if (partial) memset(out, 0, sizeof(float) * (size_t)tile);
        const int64_t b0 = bc * bsz, b1 = cnn_min64(d->n, b0 + bsz);
        if (small)
            small_taps(d, xd, hp, wp, dy, ob, b0, b1, out);
        else
            pair_taps(d, x, dy, ob, icb_lo[ob] + c, b0, b1, out);
    }
    if (partial) {
#pragma omp parallel for num_threads(cnn_threads_for(pairs * tile / 4096 + 1)) schedule(static)
        for (int64_t pair = 0; pair < pairs; pair++) {
            float* dst = dw_packed + pair * tile;
            if (pair % nicb_max >= nicb[pair / nicb_max]) continue;
            for (int64_t bc = 0; bc < nbc; bc++) {
                const float* src = partial + (pair * nbc + bc) * tile;
                for (int64_t e = 0; e < tile; e++) dst[e] += src[e];
            }
        }
    }
    cnn_free(partial);
    cnn_free(xd);
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
