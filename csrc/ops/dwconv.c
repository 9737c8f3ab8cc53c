/* Depthwise convolution (groups == c_in == c_out) on NCHW16c: each 16-lane vector holds 16
 * independent channels, so the kernel is a sum of taps with no reduction across lanes. Backward-
 * data runs the forward kernel per stride phase over the padded output gradient with its flipped taps. */
#include <string.h>

#include "cnn_conv_buffers.h"
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
    const float* xp;        /* padded input (N, CB, hp, wp, 16), windows from row x0h, column x0w */
    int64_t n, cb, hp, wp, x0h, x0w, oh, ow, kh, kw, sh, sw, dh, dw;
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

static void dw_direct(const dw_args* a) {
    const cnn_dw_fwd_ukernel kernel = cnn_dwconv_cfg.fwd;
    const int64_t items = a->n * a->cb * a->oh;
    cnn_dw_params p;
    p.kh = (size_t)a->kh;
    p.kw = (size_t)a->kw;
    p.in_kh_stride = (size_t)(a->dh * a->wp * CNN_BLOCK);
    p.in_kw_stride = (size_t)(a->dw * CNN_BLOCK);
    p.in_pix_stride = (size_t)(a->sw * CNN_BLOCK);
    p.out_pix_stride = (size_t)(a->ysw * CNN_BLOCK);
    p.act = a->act;
    p.alpha = a->alpha;
#pragma omp parallel for num_threads(cnn_threads_for(items * a->ow * a->kh * a->kw / 256 + 1)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t r = item % a->oh, c = (item / a->oh) % a->cb, b = item / (a->oh * a->cb);
        const float* in_row =
            a->xp + (((b * a->cb + c) * a->hp + a->x0h + r * a->sh) * a->wp + a->x0w) * CNN_BLOCK;
        float* out_row = a->y + (((b * a->cb + c) * a->yh + a->y0h + r * a->ysh) * a->yw + a->y0w) * CNN_BLOCK;
        kernel((size_t)a->ow, in_row, a->packed + c * a->kh * a->kw * CNN_BLOCK,
               a->bias16 ? a->bias16 + c * CNN_BLOCK : NULL, out_row, &p);
        /* padded lanes: zero weights and bias give 0, which an activation may map elsewhere */
        const int64_t pad_from = a->c - c * CNN_BLOCK;
        if (a->act && pad_from < CNN_BLOCK)
            for (int64_t q = 0; q < a->ow; q++)
                memset(out_row + q * p.out_pix_stride + pad_from, 0, sizeof(float) * (CNN_BLOCK - pad_from));
    }
}

int cnn_dwconv2d_forward(const cnn_conv_desc* d, const float* x, const float* packed,
                         const float* bias, int act, float alpha, float* y) {
    const int64_t cb = cnn_blocks(d->c_in);
    int64_t hp, wp;
    float* xp = NULL;
    if (cnn_conv_pad_input(d, x, cb, &xp, &hp, &wp) != CNN_OK) return CNN_ENOMEM;
    float* bias16 = NULL;
    if (bias) {
        bias16 = cnn_calloc((size_t)(cb * CNN_BLOCK), sizeof(float));
        if (!bias16) { cnn_free(xp); return CNN_ENOMEM; }
        memcpy(bias16, bias, sizeof(float) * d->c_in);
    }
    dw_args a = {.xp = xp ? xp : x, .n = d->n, .cb = cb, .hp = hp, .wp = wp, .x0h = 0, .x0w = 0,
                 .oh = d->oh, .ow = d->ow, .kh = d->kh, .kw = d->kw, .sh = d->sh, .sw = d->sw,
                 .dh = d->dh, .dw = d->dw, .packed = packed, .bias16 = bias16, .c = d->c_in, .act = act,
                 .alpha = alpha, .y = y, DW_DENSE_OUT(d->oh, d->ow)};
    dw_direct(&a);
    cnn_free(xp);
    cnn_free(bias16);
    return CNN_OK;
}

/* dy zero-padded once for every phase: phase windows start at row top - pad (cnn_phase_axis.pad
 * of each phase, below zero: cropped) and reach row top - pad + nout - 1 + (ntaps - 1)*dil. */
typedef struct {
    const cnn_conv_desc* d;
    const float* dyp;
    int64_t top, left, hb, wb;
} dw_bwd_data;

/* The rows [*top before dy, *size in all) that the phases of one axis read. */
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

/* One phase (a cnn_phase_conv writing dx itself): the forward kernel over its window of the padded
 * dy with the phase's taps, straight into the phase's rows and columns of dx. */
static int dw_phase(void* ctx, const cnn_phase_axis* ay, const cnn_phase_axis* ax, const float* taps,
                    float* dx) {
    const dw_bwd_data* r = ctx;
    const cnn_conv_desc* d = r->d;
    dw_args a = {.xp = r->dyp, .n = d->n, .cb = cnn_blocks(d->c_in), .hp = r->hb, .wp = r->wb,
                 .x0h = r->top - ay->pad, .x0w = r->left - ax->pad, .oh = ay->nout, .ow = ax->nout,
                 .kh = ay->ntaps, .kw = ax->ntaps, .sh = 1, .sw = 1, .dh = ay->dil, .dw = ax->dil,
                 .packed = taps, .bias16 = NULL, .c = d->c_in, .act = CNN_ACT_NONE, .y = dx,
                 .yh = d->h, .yw = d->w, .y0h = ay->start, .y0w = ax->start, .ysh = d->sh, .ysw = d->sw};
    dw_direct(&a);
    return CNN_OK;
}

/* Per stride phase (cnn_conv_phase.h), as the direct operator's backward-data, but with one padded
 * copy of dy for all phases and each phase written in place (no scatter). */
int cnn_dwconv2d_backward_data(const cnn_conv_desc* d, const float* dy, const float* packed_t,
                               float* dx) {
    const int64_t cb = cnn_blocks(d->c_in);
    dw_bwd_data r = {.d = d};
    phase_reach(d->h, d->oh, d->kh, d->sh, d->ph, d->dh, &r.top, &r.hb);
    phase_reach(d->w, d->ow, d->kw, d->sw, d->pw, d->dw, &r.left, &r.wb);
    float* dyp = cnn_phase_window(dy, d->n * cb, d->oh, d->ow, r.top, r.left, r.hb, r.wb);
    if (!dyp) return CNN_ENOMEM;
    r.dyp = dyp;
    const int rc = cnn_phase_backward_data(d, d->n * cb, packed_t, cb, CNN_BLOCK, 1, dw_phase, &r, dx);
    cnn_free(dyp);
    return rc;
}

int cnn_dwconv2d_backward_weights(const cnn_conv_desc* d, const float* x, const float* dy,
                                  float* dw_packed) {
    const int64_t cb = cnn_blocks(d->c_in), taps = d->kh * d->kw;
    int64_t hp, wp;
    float* xp = NULL;
    if (cnn_conv_pad_input(d, x, cb, &xp, &hp, &wp) != CNN_OK) return CNN_ENOMEM;
    const float* xs = xp ? xp : x;
    const cnn_dw_bww_ukernel kernel = cnn_dwconv_cfg.bww;
    const int64_t items = cb * taps;
#pragma omp parallel for num_threads(cnn_threads_for_work(items, 32.0 * items * d->n * d->oh * d->ow)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t t = item % taps, c = item / taps, i = t / d->kw, j = t % d->kw;
        float* acc = dw_packed + item * CNN_BLOCK;
        memset(acc, 0, sizeof(float) * CNN_BLOCK);
        for (int64_t b = 0; b < d->n; b++)
            for (int64_t r = 0; r < d->oh; r++)
                kernel((size_t)d->ow,
                       xs + (((b * cb + c) * hp + r * d->sh + i * d->dh) * wp + j * d->dw) * CNN_BLOCK,
                       (size_t)(d->sw * CNN_BLOCK), dy + (((b * cb + c) * d->oh + r) * d->ow) * CNN_BLOCK, acc);
    }
    cnn_free(xp);
    return CNN_OK;
}
