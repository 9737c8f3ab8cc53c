/* Direct convolution on NCHW16c: forward, and the engine backward-data also runs.
 * Threads split (batch, output block, output row) together, so batch 1 uses every core. */
#include <string.h>

#include "cnn_conv_buffers.h"
#include "cnn_conv_direct.h"
#include "cnn_isa.h"

/* Output columns whose windows lie fully inside the input: [*lo, *hi) (c*sw - pw >= 0 and
 * c*sw - pw + (kw-1)*dw <= w-1); the others touch the padding. */
static void interior_columns(const direct_args* a, int64_t* lo, int64_t* hi) {
    int64_t c_lo = (a->pw + a->sw - 1) / a->sw;
    const int64_t last = a->w - 1 - (a->kw - 1) * a->dw + a->pw;
    int64_t c_hi = last < 0 ? 0 : last / a->sw + 1;
    c_lo = cnn_min64(c_lo, a->ow);
    *lo = c_lo;
    *hi = cnn_max64(c_lo, cnn_min64(c_hi, a->ow));
}

/* The shape the forward candidates choose a tile for (cnn_isa.h). */
static void direct_geometry(const direct_args* a, cnn_conv_geometry* g) {
    int64_t c_lo, c_hi;
    interior_columns(a, &c_lo, &c_hi);
    g->c_in = a->c_in; g->c_out = a->c_out; g->icb = a->icb; g->ocb = a->ocb;
    g->nicb_max = a->nicb_max; g->kh = a->kh; g->kw = a->kw; g->oh = a->oh; g->ow = a->ow;
    g->inner = c_hi - c_lo;
    g->uniform_blocks = 1;
    for (int64_t ob = 1; ob < a->ocb; ob++)
        if (a->icb_lo[ob] != a->icb_lo[0] || a->nicb[ob] != a->nicb[0]) g->uniform_blocks = 0;
}

/* Direct convolution with implicit padding: per output row the kernel rows falling into the
 * padding are skipped; the columns whose windows lie fully inside the input run in register tiles
 * of plan.blocks output blocks x up to plan.pix pixels, the few border columns one pixel at a
 * time with their kernel columns clipped. */
static void direct_conv(const direct_args* a) {
    cnn_conv_geometry geo;
    direct_geometry(a, &geo);
    cnn_conv_fwd_plan plan;
    cnn_conv_fwd_select(&geo, &plan);
    const cnn_conv_fwd_ukernel kernel = plan.kernel;
    const int64_t max_pix = (int64_t)plan.pix, nb = (int64_t)plan.blocks;
    int64_t c_lo, c_hi;
    interior_columns(a, &c_lo, &c_hi);
    const int64_t inner = c_hi - c_lo;
    const int64_t ntiles = inner > 0 ? (inner + max_pix - 1) / max_pix : 0;
    const int64_t tile = ntiles ? (inner + ntiles - 1) / ntiles : 1; /* balanced: 32 -> 11, 11, 10 */
    const int64_t ngroups = (a->ocb + nb - 1) / nb; /* output blocks in groups of nb */
    const int64_t items = a->n * ngroups * a->oh;
    const int64_t ic_last_full = a->c_in - (a->icb - 1) * CNN_BLOCK;
    const int64_t wsize = a->nicb_max * a->kh * a->kw * 256;
    const double flops = 2.0 * a->n * a->ocb * a->oh * a->ow * wsize;
#pragma omp parallel for num_threads(cnn_threads_for_work(items, flops)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t r = item % a->oh, grp = (item / a->oh) % ngroups, b = item / (a->oh * ngroups);
        const int64_t ob = grp * nb, nblk = cnn_min64(nb, a->ocb - ob);
        int64_t i0, i1;
        const int64_t row0 = r * a->sh - a->ph;
        cnn_valid_taps(row0, a->dh, a->kh, a->h, &i0, &i1);
        cnn_conv_params p;
        p.nicb = (size_t)a->nicb[ob];
        p.kh = (size_t)(i1 - i0);
        p.kw = (size_t)a->kw;
        p.ic_last = (a->icb_lo[ob] + a->nicb[ob] == a->icb) ? (size_t)ic_last_full : CNN_BLOCK;
        p.in_icb_stride = (size_t)(a->h * a->w * CNN_BLOCK);
        p.in_kh_stride = (size_t)(a->dh * a->w * CNN_BLOCK);
        p.in_kw_stride = (size_t)(a->dw * CNN_BLOCK);
        p.in_pix_stride = (size_t)(a->sw * CNN_BLOCK);
        p.w_icb_stride = (size_t)(a->kh * a->kw * 256);
        p.w_kh_stride = (size_t)(a->kw * 256);
        p.w_ocb_stride = (size_t)wsize;
        p.out_ocb_stride = (size_t)(a->oh * a->ow * CNN_BLOCK);
        p.act = a->act;
        p.alpha = a->alpha;
        /* input row of the first valid kernel row, column 0 (columns are added below) */
        const float* in_row = a->x + (((b * a->icb + a->icb_lo[ob]) * a->h + row0 + i0 * a->dh) * a->w) * CNN_BLOCK;
        const float* w_row = a->packed + ob * wsize + i0 * a->kw * 256;
        float* out_row = a->y + (((b * a->ocb + ob) * a->oh + r) * a->ow) * CNN_BLOCK;
        const float* bias = a->bias16 ? a->bias16 + ob * CNN_BLOCK : NULL;
        for (int64_t c0 = c_lo; c0 < c_hi; c0 += tile) {
            const int64_t npix = cnn_min64(tile, c_hi - c0);
            kernel((size_t)nblk, (size_t)npix, in_row + (c0 * a->sw - a->pw) * CNN_BLOCK, w_row, bias,
                   out_row + c0 * CNN_BLOCK, &p);
        }
        for (int64_t c = 0; c < a->ow; c++) {
            if (c == c_lo) c = c_hi;
            if (c >= a->ow) break;
            int64_t j0, j1;
            const int64_t col0 = c * a->sw - a->pw;
            cnn_valid_taps(col0, a->dw, a->kw, a->w, &j0, &j1);
            cnn_conv_params q = p;
            q.kw = (size_t)(j1 - j0);
            kernel((size_t)nblk, 1, in_row + (col0 + j0 * a->dw) * CNN_BLOCK, w_row + j0 * 256, bias,
                   out_row + c * CNN_BLOCK, &q);
        }
        /* lanes past c_out (last block only): their weights are zero, but zero times a NaN or Inf
         * input is NaN */
        const int64_t pad_from = a->c_out - (a->ocb - 1) * CNN_BLOCK;
        if (ob + nblk == a->ocb && pad_from < CNN_BLOCK) {
            float* last = out_row + (nblk - 1) * p.out_ocb_stride;
            for (int64_t c = 0; c < a->ow; c++)
                memset(last + c * CNN_BLOCK + pad_from, 0, sizeof(float) * (CNN_BLOCK - pad_from));
        }
    }
}

/* Border columns run one pixel at a time (their kernel columns clipped), at a fraction of the
 * register-tiled speed; on narrow images, where they are a large share of each row, a zero-padded
 * copy of the input (all columns interior) is cheaper than that. The copy also computes the taps
 * that read padding, as PyTorch does (0 * Inf = NaN with a non-finite weight;
 * tests/test_robustness.py checks it on a narrow image). */
static int padded_copy_pays(const direct_args* a) {
    int64_t c_lo, c_hi;
    interior_columns(a, &c_lo, &c_hi);
    return !((a->ph == 0 && a->pw == 0) || 8 * (a->ow - (c_hi - c_lo)) <= a->ow);
}

int cnn_conv_run_direct(const direct_args* a) {
    if (!padded_copy_pays(a)) {
        direct_conv(a);
        return CNN_OK;
    }
    cnn_conv_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.n = a->n; pd.h = a->h; pd.w = a->w; pd.kh = a->kh; pd.kw = a->kw; pd.sh = a->sh; pd.sw = a->sw;
    pd.ph = a->ph; pd.pw = a->pw; pd.dh = a->dh; pd.dw = a->dw; pd.oh = a->oh; pd.ow = a->ow;
    float* xp = NULL;
    int64_t hp, wp;
    if (cnn_conv_pad_input(&pd, a->x, a->icb, &xp, &hp, &wp) != CNN_OK) return CNN_ENOMEM;
    direct_args b = *a;
    if (xp) {
        b.x = xp; b.h = hp; b.w = wp; b.ph = 0; b.pw = 0;
    }
    direct_conv(&b);
    cnn_free(xp);
    return CNN_OK;
}

/* ------------------------------------------------------------- operators ---- */

int cnn_conv2d_forward(const cnn_conv_desc* d, const float* x, const float* packed,
                       const int32_t* icb_lo, const int32_t* nicb, int64_t nicb_max,
                       const float* bias, int act, float alpha, float* y) {
    const int64_t icb = cnn_blocks(d->c_in), ocb = cnn_blocks(d->c_out);
    float* bias16 = NULL;
    if (bias) {
        bias16 = cnn_calloc((size_t)(ocb * CNN_BLOCK), sizeof(float));
        if (!bias16) return CNN_ENOMEM;
        memcpy(bias16, bias, sizeof(float) * d->c_out);
    }
    direct_args a = {
        .x = x, .n = d->n, .icb = icb, .h = d->h, .w = d->w, .c_in = d->c_in, .c_out = d->c_out,
        .ocb = ocb, .oh = d->oh, .ow = d->ow, .kh = d->kh, .kw = d->kw, .sh = d->sh, .sw = d->sw,
        .ph = d->ph, .pw = d->pw, .dh = d->dh, .dw = d->dw, .packed = packed, .icb_lo = icb_lo,
        .nicb = nicb, .nicb_max = nicb_max, .bias16 = bias16, .act = act, .alpha = alpha, .y = y};
    const int rc = cnn_conv_run_direct(&a);
    cnn_free(bias16);
    return rc;
}
