/* Depthwise convolution (groups == c_in == c_out) on NCHW16c: each 16-lane vector holds 16
 * independent channels, so the kernel is a sum of taps with no reduction across lanes. Backward-
 * data runs the forward kernel per stride phase over the padded output gradient with its flipped taps. */
#include <string.h>

#include "cnn_conv_phase.h"
#include "cnn_isa.h"

void cnn_dwconv_pack(const cnn_conv_desc* d, const float* w, int transposed, float* packed) {
    const int64_t cb = cnn_blocks(d->c_in), taps = d->kh * d->kw;
    memset(packed, 0, sizeof(float) * cb * taps * CNN_BLOCK);
    for (int64_t c = 0; c < d->c_in; c++)
        for (int64_t t = 0; t < taps; t++) {
            const int64_t src = transposed ? taps - 1 - t : t; /* flipping both axes = reversing taps */
            packed[((c / CNN_BLOCK) * taps + t) * CNN_BLOCK + c % CNN_BLOCK] = w[c * taps + src];
        }
}

void cnn_dwconv_unpack(const cnn_conv_desc* d, const float* packed, float* w) {
    const int64_t taps = d->kh * d->kw;
    for (int64_t c = 0; c < d->c_in; c++)
        for (int64_t t = 0; t < taps; t++)
            w[c * taps + t] = packed[((c / CNN_BLOCK) * taps + t) * CNN_BLOCK + c % CNN_BLOCK];
}

typedef struct {
    const float* x;         /* input (N, CB, h, w, 16), read as planes (hp, wp) zero-padded with x at */
    int64_t n, cb, h, w;    /* row pt, column pl; windows start at row x0h, column x0w of them */
    int64_t pt, pl, hp, wp, x0h, x0w;
    int64_t oh, ow, kh, kw, sh, sw, dh, dw;
    const float* packed;
    const float* bias16;
    int64_t c;              /* channels: lanes past them are zeroed after an activation */
    int act;
    float alpha;
    float* y;               /* (N, CB, yh, yw, 16): output (r, q) at row y0h + r*ysh, column y0w + q*ysw */
    int64_t yh, yw, y0h, y0w, ysh, ysw;
} dw_args;

/* dw_args of a convolution writing its whole output (N, CB, oh, ow, 16) */
#define DW_DENSE_OUT(oh_, ow_) .yh = (oh_), .yw = (ow_), .y0h = 0, .y0w = 0, .ysh = 1, .ysw = 1

/* One (h, w, 16) plane into a zeroed (hp, wp, 16) one at row pt, column pl. */
static void pad_plane(const float* src, int64_t h, int64_t w, int64_t pt, int64_t pl, int64_t hp,
                      int64_t wp, float* dst) {
    memset(dst, 0, sizeof(float) * hp * wp * CNN_BLOCK);
    for (int64_t r = 0; r < h; r++)
        memcpy(dst + ((r + pt) * wp + pl) * CNN_BLOCK, src + r * w * CNN_BLOCK, sizeof(float) * w * CNN_BLOCK);
}

/* Threads take whole (image, channel block) planes: a padded plane is made in a per-thread buffer
 * just before its rows are computed (it stays in cache), never a padded copy of the whole input. */
static int dw_direct(const dw_args* a) {
    const cnn_dw_fwd_ukernel kernel = cnn_dwconv_cfg.fwd;
    const int64_t planes = a->n * a->cb, taps = a->kh * a->kw;
    const int padded = a->pt || a->pl || a->hp != a->h || a->wp != a->w;
    cnn_dw_params p;
    p.kh = (size_t)a->kh;
    p.kw = (size_t)a->kw;
    p.in_kh_stride = (size_t)(a->dh * a->wp * CNN_BLOCK);
    p.in_kw_stride = (size_t)(a->dw * CNN_BLOCK);
    p.in_pix_stride = (size_t)(a->sw * CNN_BLOCK);
    p.out_pix_stride = (size_t)(a->ysw * CNN_BLOCK);
    p.act = a->act;
    p.alpha = a->alpha;
    int failed = 0;
#pragma omp parallel num_threads(cnn_threads_for_work(planes, 32.0 * planes * a->oh * a->ow * taps))
    {
        float* buf = padded ? cnn_alloc((size_t)(a->hp * a->wp * CNN_BLOCK), sizeof(float)) : NULL;
        if (padded && !buf) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t plane = 0; plane < planes; plane++) {
            if (padded && !buf) continue;
            const int64_t c = plane % a->cb;
            const float* src = a->x + plane * a->h * a->w * CNN_BLOCK;
            if (padded) pad_plane(src, a->h, a->w, a->pt, a->pl, a->hp, a->wp, buf);
            const float* in = (padded ? buf : src) + (a->x0h * a->wp + a->x0w) * CNN_BLOCK;
            const int64_t pad_from = a->c - c * CNN_BLOCK;
            for (int64_t r = 0; r < a->oh; r++) {
                float* out_row = a->y + ((plane * a->yh + a->y0h + r * a->ysh) * a->yw + a->y0w) * CNN_BLOCK;
                kernel((size_t)a->ow, in + r * a->sh * a->wp * CNN_BLOCK, a->packed + c * taps * CNN_BLOCK,
                       a->bias16 ? a->bias16 + c * CNN_BLOCK : NULL, out_row, &p);
                /* padded lanes: zero weights and bias give 0, which an activation may map elsewhere */
                if (a->act && pad_from < CNN_BLOCK)
                    for (int64_t q = 0; q < a->ow; q++)
                        memset(out_row + q * p.out_pix_stride + pad_from, 0,
                               sizeof(float) * (CNN_BLOCK - pad_from));
            }
        }
        cnn_free(buf);
    }
    return failed ? CNN_ENOMEM : CNN_OK;
}

int cnn_dwconv2d_forward(const cnn_conv_desc* d, const float* x, const float* packed,
                         const float* bias, int act, float alpha, float* y) {
    const int64_t cb = cnn_blocks(d->c_in);
    /* the padded plane: as far as the windows reach */
    const int64_t need_h = (d->oh - 1) * d->sh + (d->kh - 1) * d->dh + 1;
    const int64_t need_w = (d->ow - 1) * d->sw + (d->kw - 1) * d->dw + 1;
    const int64_t hp = cnn_max64(need_h, d->h + d->ph), wp = cnn_max64(need_w, d->w + d->pw);
    float* bias16 = NULL;
    if (bias) {
        bias16 = cnn_calloc((size_t)(cb * CNN_BLOCK), sizeof(float));
        if (!bias16) return CNN_ENOMEM;
        memcpy(bias16, bias, sizeof(float) * d->c_in);
    }
    dw_args a = {.x = x, .n = d->n, .cb = cb, .h = d->h, .w = d->w, .pt = d->ph, .pl = d->pw, .hp = hp,
                 .wp = wp, .x0h = 0, .x0w = 0, .oh = d->oh, .ow = d->ow, .kh = d->kh, .kw = d->kw,
                 .sh = d->sh, .sw = d->sw, .dh = d->dh, .dw = d->dw, .packed = packed, .bias16 = bias16,
                 .c = d->c_in, .act = act, .alpha = alpha, .y = y, DW_DENSE_OUT(d->oh, d->ow)};
    const int rc = dw_direct(&a);
    cnn_free(bias16);
    return rc;
}

/* Every phase reads its windows out of dy's planes zero-padded to (hb, wb) with dy at row top,
 * column left: phase windows start at row top - pad (cnn_phase_axis.pad of the phase, below zero:
 * cropped) and reach row top - pad + nout - 1 + (ntaps - 1)*dil. */
typedef struct {
    const cnn_conv_desc* d;
    const float* dy;
    int64_t top, left, hb, wb;
} dw_bwd_data;

/* The rows [*top before dy, *total in all) that the phases of one axis read. */
static void phase_reach(int64_t size, int64_t out, int64_t k, int64_t s, int64_t p, int64_t d,
                        int64_t* top, int64_t* total) {
    int64_t lo = 0, hi = out;
    for (int64_t st = 0; st < s; st++) {
        const cnn_phase_axis a = cnn_phase_axis_of(st, size, k, s, p, d);
        if (!a.ntaps || !a.nout) continue;
        lo = cnn_min64(lo, -a.pad);
        hi = cnn_max64(hi, -a.pad + a.nout + (a.ntaps - 1) * a.dil);
    }
    *top = -lo;
    *total = hi - lo;
}

/* One phase (a cnn_phase_conv writing dx itself): the forward kernel over its windows of dy with
 * the phase's taps, straight into the phase's rows and columns of dx. */
static int dw_phase(void* ctx, const cnn_phase_axis* ay, const cnn_phase_axis* ax, const float* taps,
                    float* dx) {
    const dw_bwd_data* r = ctx;
    const cnn_conv_desc* d = r->d;
    dw_args a = {.x = r->dy, .n = d->n, .cb = cnn_blocks(d->c_in), .h = d->oh, .w = d->ow, .pt = r->top,
                 .pl = r->left, .hp = r->hb, .wp = r->wb, .x0h = r->top - ay->pad, .x0w = r->left - ax->pad,
                 .oh = ay->nout, .ow = ax->nout, .kh = ay->ntaps, .kw = ax->ntaps, .sh = 1, .sw = 1,
                 .dh = ay->dil, .dw = ax->dil, .packed = taps, .bias16 = NULL, .c = d->c_in,
                 .act = CNN_ACT_NONE, .y = dx, .yh = d->h, .yw = d->w, .y0h = ay->start, .y0w = ax->start,
                 .ysh = d->sh, .ysw = d->sw};
    return dw_direct(&a);
}

/* Per stride phase (cnn_conv_phase.h), as the direct operator's backward-data, but each phase
 * written in place into dx (no scatter). */
int cnn_dwconv2d_backward_data(const cnn_conv_desc* d, const float* dy, const float* packed_t,
                               float* dx) {
    const int64_t cb = cnn_blocks(d->c_in);
    dw_bwd_data r = {.d = d, .dy = dy};
    phase_reach(d->h, d->oh, d->kh, d->sh, d->ph, d->dh, &r.top, &r.hb);
    phase_reach(d->w, d->ow, d->kw, d->sw, d->pw, d->dw, &r.left, &r.wb);
    return cnn_phase_backward_data(d, d->n * cb, packed_t, cb, CNN_BLOCK, 1, dw_phase, &r, dx);
}

#define DW_BWW_ITEMS 8

/* Items are (channel block, slice of the batch): per image a padded plane of x is made in a
 * per-thread buffer and every output row adds its products to all taps at once (x and dy rows
 * stay in L1); with fewer blocks than threads the batch is sliced, each slice summed into its
 * own partial gradient and the partials added up at the end. */
int cnn_dwconv2d_backward_weights(const cnn_conv_desc* d, const float* x, const float* dy,
                                  float* dw_packed) {
    const cnn_dw_bww_ukernel kernel = cnn_dwconv_cfg.bww;
    const int64_t cb = cnn_blocks(d->c_in), taps = d->kh * d->kw, tile = taps * CNN_BLOCK;
    const int64_t hp = cnn_max64((d->oh - 1) * d->sh + (d->kh - 1) * d->dh + 1, d->h + d->ph);
    const int64_t wp = cnn_max64((d->ow - 1) * d->sw + (d->kw - 1) * d->dw + 1, d->w + d->pw);
    const int padded = d->ph || d->pw || hp != d->h || wp != d->w;
    /* at least DW_BWW_ITEMS items where the batch allows; a constant, not the thread count, so that
     * the sums (and the result's last bits) do not depend on the threads */
    const int64_t slices = cnn_max64(1, cnn_min64(d->n, (DW_BWW_ITEMS + cb - 1) / cb));
    const int64_t items = cb * slices;
    float* partial = slices > 1 ? cnn_alloc((size_t)(items * tile), sizeof(float)) : dw_packed;
    if (!partial) return CNN_ENOMEM;
    int failed = 0;
#pragma omp parallel num_threads(cnn_threads_for_work(items, 2.0 * d->n * cb * d->oh * d->ow * tile))
    {
        float* buf = padded ? cnn_alloc((size_t)(hp * wp * CNN_BLOCK), sizeof(float)) : NULL;
        if (padded && !buf) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t item = 0; item < items; item++) {
            const int64_t c = item % cb, sl = item / cb;
            float* acc = partial + item * tile;
            memset(acc, 0, sizeof(float) * tile);
            if (padded && !buf) continue;
            for (int64_t b = sl * d->n / slices; b < (sl + 1) * d->n / slices; b++) {
                const int64_t plane = b * cb + c;
                const float* src = x + plane * d->h * d->w * CNN_BLOCK;
                if (padded) pad_plane(src, d->h, d->w, d->ph, d->pw, hp, wp, buf);
                const float* xs = padded ? buf : src;
                for (int64_t r = 0; r < d->oh; r++)
                    for (int64_t i = 0; i < d->kh; i++)
                        kernel((size_t)d->ow, xs + (r * d->sh + i * d->dh) * wp * CNN_BLOCK,
                               (size_t)(d->sw * CNN_BLOCK), (size_t)(d->dw * CNN_BLOCK), (size_t)d->kw,
                               dy + (plane * d->oh + r) * d->ow * CNN_BLOCK, acc + i * d->kw * CNN_BLOCK);
            }
        }
        cnn_free(buf);
    }
    if (slices > 1) {
        if (!failed)
#pragma omp parallel for num_threads(cnn_threads_for(cb * tile / 4096 + 1)) schedule(static)
            for (int64_t e = 0; e < cb * tile; e++) {
                float sum = 0.0f;
                for (int64_t sl = 0; sl < slices; sl++) sum += partial[sl * cb * tile + e];
                dw_packed[e] = sum;
            }
        cnn_free(partial);
    }
    return failed ? CNN_ENOMEM : CNN_OK;
}
