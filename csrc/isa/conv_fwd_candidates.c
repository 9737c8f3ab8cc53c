/* The forward convolution's candidate list: which register tile of the ISA's kernel runs a
 * shape, chosen once per call. Candidates, in order:
 *   blocks  several output blocks x few pixels ("explicit broadcast": each broadcast input value
 *           feeds every block, each weight row is loaded once per tile), when the blocks read
 *           the same input blocks and the cost model below prefers it to one block;
 *   row     one output block x up to a whole row of pixels: every shape (groups, one block). */
#include "cnn_isa.h"

/* Estimated cycles of one input lane of a b-block x p-pixel tile: the FMAs (two per cycle), the
 * loads (b * vectors weight rows + p broadcasts, about one per cycle: the AVX-512 1 x 14 tile ran
 * at ~50% of peak, 15 loads per 14 FMAs; a weight vector that does not fit in the registers left
 * by the accumulators and the broadcast is read by every FMA that uses it, counted twice: a load
 * and a longer dependency chain; AVX2's 2 x 3 tile measured 0-20% slower than its 1 x 6 with one
 * such vector, so it is taken only where it saves whole pixel tiles) or the FMA latency (4 cycles
 * per accumulator chain). */
static double tile_cycles(const cnn_conv_tiles* t, int64_t b, int64_t p) {
    const int64_t nv = (int64_t)t->vectors;
    const int64_t spill = b * p * nv + b * nv + 1 - (int64_t)t->registers;
    const double fma = b * p * nv / 2.0;
    const double loads = (double)(b * nv + p + (spill > 0 ? 2 * spill * p : 0));
    double c = fma > loads ? fma : loads;
    return c > 4.0 ? c : 4.0;
}

/* Cycles per input lane of one output row of `b`-block tiles over all output blocks: balanced
 * pixel tiles over the interior columns, the border columns one pixel each. */
static double row_cycles(const cnn_conv_geometry* g, const cnn_conv_tiles* t, int64_t b) {
    double total = 0.0;
    for (int64_t ob = 0; ob < g->ocb; ob += b) {
        const int64_t nb = g->ocb - ob < b ? g->ocb - ob : b;
        const int64_t pmax = (int64_t)t->max_pix[nb - 1];
        const int64_t ntiles = (g->inner + pmax - 1) / pmax;
        for (int64_t k = 0; k < ntiles; k++) {
            const int64_t p = g->inner / ntiles + (k < g->inner % ntiles);
            total += tile_cycles(t, nb, p);
        }
        total += (double)(g->ow - g->inner) * tile_cycles(t, nb, 1);
    }
    return total;
}

/* The block count the model prefers for g (1 when the blocks do not share their inputs); on a
 * tie the larger (each input row is then read by fewer tiles). */
static size_t best_blocks(const cnn_conv_geometry* g, const cnn_conv_tiles* t) {
    if (!g->uniform_blocks) return 1;
    size_t best = 1;
    double best_cycles = row_cycles(g, t, 1);
    for (size_t b = 2; b <= t->max_blocks && (int64_t)b <= g->ocb; b++) {
        const double c = row_cycles(g, t, (int64_t)b);
        if (c <= best_cycles) {
            best = b;
            best_cycles = c;
        }
    }
    return best;
}

static int blocks_can_handle(const cnn_conv_geometry* g, const cnn_conv_tiles* t) {
    return best_blocks(g, t) >= 2;
}

static void blocks_configure(const cnn_conv_geometry* g, const cnn_conv_tiles* t, cnn_conv_fwd_plan* plan) {
    plan->blocks = best_blocks(g, t);
    plan->pix = t->max_pix[plan->blocks - 1];
}

static int row_can_handle(const cnn_conv_geometry* g, const cnn_conv_tiles* t) {
    (void)g;
    (void)t;
    return 1;
}

static void row_configure(const cnn_conv_geometry* g, const cnn_conv_tiles* t, cnn_conv_fwd_plan* plan) {
    (void)g;
    plan->blocks = 1;
    plan->pix = t->max_pix[0];
}

const cnn_conv_fwd_candidate cnn_conv_fwd_candidates[] = {
    {"blocks", blocks_can_handle, blocks_configure},
    {"row", row_can_handle, row_configure},
};
const size_t cnn_conv_fwd_ncandidates = sizeof cnn_conv_fwd_candidates / sizeof cnn_conv_fwd_candidates[0];

static size_t forced_blocks, forced_pix;
static cnn_conv_fwd_plan last_plan = {"none", NULL, "none", 0, 0};

const cnn_conv_tiles* cnn_conv_fwd_tiles(void) { return cnn_conv_cfg.fwd_tiles; }

void cnn_conv_fwd_last(cnn_conv_fwd_plan* plan) { *plan = last_plan; }

void cnn_conv_fwd_force_tile(size_t blocks, size_t pix) {
    forced_blocks = blocks;
    forced_pix = pix ? pix : 1;
}

void cnn_conv_fwd_select(const cnn_conv_geometry* g, cnn_conv_fwd_plan* plan) {
    const cnn_conv_tiles* t = cnn_conv_cfg.fwd_tiles;
    plan->kernel = cnn_conv_cfg.fwd;
    plan->kernel_name = cnn_conv_cfg.fwd_name;
    if (forced_blocks) {
        plan->candidate = "forced";
        plan->blocks = g->uniform_blocks ? forced_blocks : 1;
        plan->pix = forced_pix;
        last_plan = *plan;
        return;
    }
    for (size_t k = 0; k < cnn_conv_fwd_ncandidates; k++) {
        const cnn_conv_fwd_candidate* c = &cnn_conv_fwd_candidates[k];
        if (c->can_handle(g, t)) {
            plan->candidate = c->name;
            c->configure(g, t, plan);
            last_plan = *plan;
            return;
        }
    }
}
