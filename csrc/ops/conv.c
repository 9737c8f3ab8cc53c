/* Direct convolution on NCHW16c: forward, backward-data (the same direct kernel on the zero-
 * upsampled, padded output gradient with transposed, flipped weights) and backward-weights.
 * Threads split (batch, output block, output row) together, so batch 1 uses every core; the
 * backward-weights items (output block, input block, tap) each reduce over the batch in a fixed
 * order, so results do not depend on the thread count. */
#include <string.h>

#include "cnn_conv_buffers.h"
#include "cnn_isa.h"
#include "cnn_ops.h"

/* ---------------------------------------------------------------- packing ---- */

typedef struct {
    int64_t co, ci, groups, kh, kw;   /* the convolution being packed (effective, after transpose) */
    int64_t opg, ipg;                 /* channels per group, effective */
    int transposed;
    int64_t src_ipg;                  /* c_in / groups of the stored (forward) weight */
} pack_geom;

static pack_geom geom_of(const cnn_conv_desc* d, int transposed) {
    pack_geom g;
    g.groups = d->groups;
    g.kh = d->kh;
    g.kw = d->kw;
    g.transposed = transposed;
    g.co = transposed ? d->c_in : d->c_out;
    g.ci = transposed ? d->c_out : d->c_in;
    g.opg = g.co / g.groups;
    g.ipg = g.ci / g.groups;
    g.src_ipg = d->c_in / d->groups;
    return g;
}

static void block_range(const pack_geom* g, int64_t ocb, int64_t* lo, int64_t* count) {
    const int64_t oc0 = ocb * CNN_BLOCK, oc1 = cnn_min64(g->co, oc0 + CNN_BLOCK);
    const int64_t g0 = oc0 / g->opg, g1 = (oc1 - 1) / g->opg;
    const int64_t ic0 = g0 * g->ipg, ic1 = (g1 + 1) * g->ipg;
    *lo = ic0 / CNN_BLOCK;
    *count = (ic1 + CNN_BLOCK - 1) / CNN_BLOCK - *lo;
}

int64_t cnn_conv_pack_nicb_max(const cnn_conv_desc* d, int transposed) {
    const pack_geom g = geom_of(d, transposed);
    int64_t best = 1;
    for (int64_t ocb = 0; ocb < cnn_blocks(g.co); ocb++) {
        int64_t lo, count;
        block_range(&g, ocb, &lo, &count);
        best = cnn_max64(best, count);
    }
    return best;
}

/* groups == 1: every output block reads every input block (icb_lo = 0). One 16 x 16 x taps tile
 * of the packed weights at a time, in its order, reading rows of the stored weights contiguously:
 * about a memory copy, so repacking after every optimizer step costs little. */
static void pack_dense(const cnn_conv_desc* d, const float* w, int transposed, int64_t nicb_max,
                       float* packed) {
    const int64_t taps = d->kh * d->kw, ci = d->c_in;
    const int64_t co_eff = transposed ? d->c_in : d->c_out, ci_eff = transposed ? d->c_out : d->c_in;
    const int64_t ocbs = cnn_blocks(co_eff), tile = taps * 256;
    /* the loop over input blocks is outermost so that each stored weight row is read in one
     * sequential sweep (in the transposed packing a tile takes 16 values from each of 16 rows) */
#pragma omp parallel for num_threads(cnn_threads_for(ocbs * nicb_max * tile / 65536 + 1)) schedule(static)
    for (int64_t c = 0; c < nicb_max; c++) {
        for (int64_t ocb = 0; ocb < ocbs; ocb++) {
            float* dst = packed + (ocb * nicb_max + c) * tile;
            const int64_t no = cnn_min64(CNN_BLOCK, co_eff - ocb * CNN_BLOCK);
            const int64_t nl = cnn_min64(CNN_BLOCK, ci_eff - c * CNN_BLOCK);
            if (no < CNN_BLOCK || nl < CNN_BLOCK) memset(dst, 0, sizeof(float) * tile);
            if (!transposed) {
                /* dst[t][l][o] = w[oc = ocb*16+o][ic = c*16+l][t] */
                for (int64_t o = 0; o < no; o++) {
                    const float* src = w + ((ocb * CNN_BLOCK + o) * ci + c * CNN_BLOCK) * taps;
                    for (int64_t l = 0; l < nl; l++)
                        for (int64_t t = 0; t < taps; t++) dst[t * 256 + l * CNN_BLOCK + o] = src[l * taps + t];
                }
            } else {
                /* effective oc = stored ic, effective ic = stored oc, taps reversed:
                 * dst[t][l][o] = w[stored oc = c*16+l][stored ic = ocb*16+o][taps-1-t] */
                for (int64_t l = 0; l < nl; l++) {
                    const float* src = w + ((c * CNN_BLOCK + l) * ci + ocb * CNN_BLOCK) * taps;
                    for (int64_t o = 0; o < no; o++)
                        for (int64_t t = 0; t < taps; t++)
                            dst[t * 256 + l * CNN_BLOCK + o] = src[o * taps + taps - 1 - t];
                }
            }
        }
    }
}

void cnn_conv_pack(const cnn_conv_desc* d, const float* w, int transposed, int64_t nicb_max,
                   int32_t* icb_lo, int32_t* nicb, float* packed) {
    const pack_geom g = geom_of(d, transposed);
    const int64_t ocbs = cnn_blocks(g.co), taps = g.kh * g.kw;
    for (int64_t ocb = 0; ocb < ocbs; ocb++) {
        int64_t lo, count;
        block_range(&g, ocb, &lo, &count);
        icb_lo[ocb] = (int32_t)lo;
        nicb[ocb] = (int32_t)count;
    }
    if (d->groups == 1) {
        pack_dense(d, w, transposed, nicb_max, packed);
        return;
    }
    /* Zeros everywhere, then every stored weight scattered to its place, walking the stored
     * (C_out, C_in/groups, kh, kw) array in order. Effective output channel oc and input channel
     * ic (after the transpose of backward-data: oc = stored input, ic = stored output, taps
     * reversed, which flips both kernel axes). */
    const int64_t c_out = d->c_out, src_ipg = d->c_in / d->groups, src_opg = d->c_out / d->groups;
    const int64_t block = nicb_max * taps * 256;
#pragma omp parallel num_threads(cnn_threads_for(ocbs * block / 65536 + 1))
    {
#pragma omp for schedule(static)
        for (int64_t ocb = 0; ocb < ocbs; ocb++) memset(packed + ocb * block, 0, sizeof(float) * block);
#pragma omp for schedule(static)
        for (int64_t so = 0; so < c_out; so++) {          /* stored output channel */
            const int64_t grp = so / src_opg;
            for (int64_t il = 0; il < src_ipg; il++) {     /* stored input channel within the group */
                const int64_t si = grp * src_ipg + il;     /* stored input channel */
                const int64_t oc = transposed ? si : so, ic = transposed ? so : si;
                const int64_t ocb = oc / CNN_BLOCK, o = oc % CNN_BLOCK;
                const int64_t c = ic / CNN_BLOCK - icb_lo[ocb], l = ic % CNN_BLOCK;
                float* dst = packed + ocb * block + c * taps * 256 + l * CNN_BLOCK + o;
                const float* src = w + (so * src_ipg + il) * taps;
                if (transposed)
                    for (int64_t t = 0; t < taps; t++) dst[t * 256] = src[taps - 1 - t];
                else
                    for (int64_t t = 0; t < taps; t++) dst[t * 256] = src[t];
            }
        }
    }
}

void cnn_conv_unpack(const cnn_conv_desc* d, const float* packed, const int32_t* icb_lo,
                     int64_t nicb_max, float* w) {
    if (d->groups == 1) {
        /* one packed tile at a time, writing rows of w contiguously (the weight gradient of every
         * layer goes through here each training step) */
        const int64_t taps = d->kh * d->kw, ci = d->c_in, ocbs = cnn_blocks(d->c_out), tile = taps * 256;
#pragma omp parallel for num_threads(cnn_threads_for(ocbs * nicb_max * tile / 65536 + 1)) schedule(static)
        for (int64_t ocb = 0; ocb < ocbs; ocb++) {
            const int64_t no = cnn_min64(CNN_BLOCK, d->c_out - ocb * CNN_BLOCK);
            for (int64_t c = 0; c < nicb_max; c++) {
                const float* src = packed + (ocb * nicb_max + c) * tile;
                const int64_t nl = cnn_min64(CNN_BLOCK, ci - c * CNN_BLOCK);
                for (int64_t o = 0; o < no; o++) {
                    float* dst = w + ((ocb * CNN_BLOCK + o) * ci + c * CNN_BLOCK) * taps;
                    for (int64_t l = 0; l < nl; l++)
                        for (int64_t t = 0; t < taps; t++) dst[l * taps + t] = src[t * 256 + l * CNN_BLOCK + o];
                }
            }
        }
        return;
    }
    const pack_geom g = geom_of(d, 0);
    const int64_t taps = g.kh * g.kw;
    for (int64_t oc = 0; oc < g.co; oc++) {
        const int64_t ocb = oc / CNN_BLOCK, o = oc % CNN_BLOCK, grp = oc / g.opg;
        for (int64_t il = 0; il < g.ipg; il++) {
            const int64_t ic = grp * g.ipg + il;
            const int64_t c = ic / CNN_BLOCK - icb_lo[ocb], l = ic % CNN_BLOCK;
            for (int64_t t = 0; t < taps; t++)
                w[(oc * g.ipg + il) * taps + t] =
                    packed[(((ocb * nicb_max + c) * taps + t) * CNN_BLOCK + l) * CNN_BLOCK + o];
        }
    }
}

/* ---------------------------------------------------------- direct kernel ---- */

typedef struct {
    const float* x;         /* input (N, ICB, H, W, 16), read with implicit zero padding */
    int64_t n, icb, h, w, c_in, c_out;
    int64_t ocb, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
    const float* packed;
    const int32_t* icb_lo;
    const int32_t* nicb;
    int64_t nicb_max;
    const float* bias16;    /* ocb * 16 floats or NULL */
    int act;                /* epilogue activation (cnn_act.h) and its parameter */
    float alpha;
    float* y;               /* (N, OCB, OH, OW, 16) */
} direct_args;

/* Taps [*t0, *t1) of a window starting at `start` (stride `dil`, `k` taps) that fall inside
 * [0, size): the rest read padding, which is zero, and are skipped. */
static inline void valid_taps(int64_t start, int64_t dil, int64_t k, int64_t size, int64_t* t0, int64_t* t1) {
    int64_t lo = start >= 0 ? 0 : (-start + dil - 1) / dil;
    int64_t hi = start + (k - 1) * dil < size ? k : (size - 1 - start) / dil + 1;
    if (start > size - 1) hi = 0;
    if (hi < lo) hi = lo;
    *t0 = lo;
    *t1 = hi;
}

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

/* Direct convolution with implicit padding: per output row the kernel rows falling into the
 * padding are skipped; the columns whose windows lie fully inside the input run in register tiles,
 * the few border columns one pixel at a time with their kernel columns clipped. */
static void direct_conv(const direct_args* a) {
    const cnn_conv_fwd_ukernel kernel = cnn_conv_cfg.fwd;
    const int64_t max_pix = (int64_t)cnn_conv_cfg.fwd_max_pix;
    int64_t c_lo, c_hi;
    interior_columns(a, &c_lo, &c_hi);
    const int64_t inner = c_hi - c_lo;
    const int64_t ntiles = inner > 0 ? (inner + max_pix - 1) / max_pix : 0;
    const int64_t tile = ntiles ? (inner + ntiles - 1) / ntiles : 1; /* balanced: 32 -> 11, 11, 10 */
    const int64_t items = a->n * a->ocb * a->oh;
    const int64_t ic_last_full = a->c_in - (a->icb - 1) * CNN_BLOCK;
    const int64_t wsize = a->nicb_max * a->kh * a->kw * 256;
    const double flops = 2.0 * items * a->ow * wsize;
#pragma omp parallel for num_threads(cnn_threads_for_work(items, flops)) schedule(static)
    for (int64_t item = 0; item < items; item++) {
        const int64_t r = item % a->oh, ob = (item / a->oh) % a->ocb, b = item / (a->oh * a->ocb);
        int64_t i0, i1;
        const int64_t row0 = r * a->sh - a->ph;
        valid_taps(row0, a->dh, a->kh, a->h, &i0, &i1);
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
        p.act = a->act;
        p.alpha = a->alpha;
        /* input row of the first valid kernel row, column 0 (columns are added below) */
        const float* in_row = a->x + (((b * a->icb + a->icb_lo[ob]) * a->h + row0 + i0 * a->dh) * a->w) * CNN_BLOCK;
        const float* w_row = a->packed + ob * wsize + i0 * a->kw * 256;
        float* out_row = a->y + (((b * a->ocb + ob) * a->oh + r) * a->ow) * CNN_BLOCK;
        const float* bias = a->bias16 ? a->bias16 + ob * CNN_BLOCK : NULL;
        for (int64_t c0 = c_lo; c0 < c_hi; c0 += tile) {
            const int64_t npix = cnn_min64(tile, c_hi - c0);
            kernel((size_t)npix, in_row + (c0 * a->sw - a->pw) * CNN_BLOCK, w_row, bias,
                   out_row + c0 * CNN_BLOCK, &p);
        }
        for (int64_t c = 0; c < a->ow; c++) {
            if (c == c_lo) c = c_hi;
            if (c >= a->ow) break;
            int64_t j0, j1;
            const int64_t col0 = c * a->sw - a->pw;
            valid_taps(col0, a->dw, a->kw, a->w, &j0, &j1);
            cnn_conv_params q = p;
            q.kw = (size_t)(j1 - j0);
            kernel(1, in_row + (col0 + j0 * a->dw) * CNN_BLOCK, w_row + j0 * 256, bias,
                   out_row + c * CNN_BLOCK, &q);
        }
        /* lanes past c_out: their weights are zero, but zero times a NaN or Inf input is NaN */
        const int64_t pad_from = a->c_out - ob * CNN_BLOCK;
        if (pad_from < CNN_BLOCK)
            for (int64_t c = 0; c < a->ow; c++)
                memset(out_row + c * CNN_BLOCK + pad_from, 0, sizeof(float) * (CNN_BLOCK - pad_from));
    }
}

/* Border columns run one pixel at a time (their kernel columns clipped), at a fraction of the
 * register-tiled speed; on narrow images, where they are a large share of each row, a zero-padded
 * copy of the input (all columns interior) is cheaper than that. */
static int run_direct(direct_args* a) {
    int64_t c_lo, c_hi;
    interior_columns(a, &c_lo, &c_hi);
    if ((a->ph == 0 && a->pw == 0) || 8 * (a->ow - (c_hi - c_lo)) <= a->ow) {
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
    const int rc = run_direct(&a);
    cnn_free(bias16);
    return rc;
}

int cnn_conv2d_backward_data(const cnn_conv_desc* d, const float* dy, const float* packed_t,
                             const int32_t* icb_lo_t, const int32_t* nicb_t, int64_t nicb_max_t,
                             float* dx) {
    const int64_t icb = cnn_blocks(d->c_in), ocb = cnn_blocks(d->c_out);
    /* dx is a stride-1 convolution, with flipped transposed weights, of dy padded by
     * dilation*(k-1) - padding; with stride > 1 (or negative padding) dy is first spread out */
    const int64_t qh = d->dh * (d->kh - 1) - d->ph, qw = d->dw * (d->kw - 1) - d->pw;
    const int direct = d->sh == 1 && d->sw == 1 && qh >= 0 && qw >= 0;
    int64_t hb = d->oh, wb = d->ow;
    float* buf = NULL;
    if (!direct) {
        buf = cnn_conv_upsample_grad(d, dy, ocb, &hb, &wb);
        if (!buf) return CNN_ENOMEM;
    }
    direct_args a = {
        .x = direct ? dy : buf, .n = d->n, .icb = ocb, .h = hb, .w = wb, .c_in = d->c_out,
        .c_out = d->c_in, .ocb = icb, .oh = d->h, .ow = d->w, .kh = d->kh, .kw = d->kw, .sh = 1,
        .sw = 1, .ph = direct ? qh : 0, .pw = direct ? qw : 0, .dh = d->dh, .dw = d->dw,
        .packed = packed_t, .icb_lo = icb_lo_t, .nicb = nicb_t, .nicb_max = nicb_max_t,
        .bias16 = NULL, .act = CNN_ACT_NONE, .y = dx};
    const int rc = run_direct(&a);
    cnn_free(buf);
    return rc;
}

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
        valid_taps(i * d->dh - d->ph, d->sh, d->oh, d->h, &r0, &r1);
        valid_taps(j * d->dw - d->pw, d->sw, d->ow, d->w, &q0, &q1);
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
