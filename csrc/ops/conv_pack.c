/* Packing of convolution weights for the direct kernels: (C_out, C_in/groups, kh, kw) to
 * [out block][in block][kh][kw][16 in][16 out] (and the transposed, flipped packing that
 * backward-data uses), and back. */
#include <string.h>

#include "cnn_ops.h"

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
