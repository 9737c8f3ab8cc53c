/* The executor of compiled inference plans (cnn_plan.h): a loop over prepared descriptors, and
 * the few memory-bound operators only plans use (the per-channel scale of squeeze-excitation,
 * concatenation by channel blocks, the broadcast of a 1x1 map). */
#include <string.h>

#include "cnn_act.h"
#include "cnn_eltwise.h"
#include "cnn_plan.h"

/* Zero the lanes past c of the last block of an (n, ceil(c/16), hw, 16) tensor. */
static void zero_padded_lanes(float* y, int64_t n, int64_t c, int64_t hw) {
    const int64_t cb = cnn_blocks(c), lanes = c - (cb - 1) * CNN_BLOCK;
    if (lanes == CNN_BLOCK) return;
    for (int64_t i = 0; i < n; i++) {
        float* t = y + ((i * cb + cb - 1) * hw) * CNN_BLOCK;
        for (int64_t p = 0; p < hw; p++) memset(t + p * CNN_BLOCK + lanes, 0, sizeof(float) * (CNN_BLOCK - lanes));
    }
}

static float* at(cnn_plan_ref r, float* arena, const float* input, float* output) {
    float* base = r.buf == CNN_PLAN_INPUT ? (float*)input : r.buf == CNN_PLAN_OUTPUT ? output : arena;
    return base + r.off;
}

static void activate(const cnn_plan_op* op, const float* x, float* y) {
    if (op->act == CNN_ACT_NONE) return;
    cnn_act_forward(op->act, op->alpha, x, op->count, y);
    float zero = 0.0f;
    cnn_act_apply(&zero, 1, op->act, op->alpha);
    if (zero != 0.0f) zero_padded_lanes(y, op->n, op->c, op->hw);
}

/* y (n, cb, hw, 16) = x * x2, x2 (n, cb, x2_hw, 16) with x2_hw = hw or 1. */
static void multiply(const cnn_plan_op* op, const float* x, const float* x2, float* y) {
    const int64_t planes = op->n * cnn_blocks(op->c), hw = op->hw, hw2 = op->x2_hw;
    const int threads = cnn_threads_for(planes * hw / 4096 + 1);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t q = 0; q < planes; q++) {
        const float* a = x + q * hw * CNN_BLOCK;
        const float* b = x2 + q * hw2 * CNN_BLOCK;
        float* out = y + q * hw * CNN_BLOCK;
        for (int64_t p = 0; p < hw; p++) {
            const float* bp = b + (hw2 == 1 ? 0 : p) * CNN_BLOCK;
            for (int l = 0; l < CNN_BLOCK; l++) out[p * CNN_BLOCK + l] = a[p * CNN_BLOCK + l] * bp[l];
        }
    }
}

/* y (n, cb, hw, 16) = x (n, cb, 1, 16) at every pixel. */
static void broadcast(const cnn_plan_op* op, const float* x, float* y) {
    const int64_t planes = op->n * cnn_blocks(op->c);
    for (int64_t q = 0; q < planes; q++)
        for (int64_t p = 0; p < op->hw; p++) memcpy(y + (q * op->hw + p) * CNN_BLOCK, x + q * CNN_BLOCK, sizeof(float) * CNN_BLOCK);
}

/* y[i][block_offset + b] = x[i][b] for every image i and block b of x. */
static void copy_blocks(const cnn_plan_op* op, const float* x, float* y) {
    const int64_t cb = cnn_blocks(op->c), plane = op->hw * CNN_BLOCK;
    for (int64_t i = 0; i < op->n; i++)
        memcpy(y + (i * op->blocks_out + op->block_offset) * plane, x + i * cb * plane, sizeof(float) * cb * plane);
}

static int run_op(const cnn_plan_op* op, float* arena, const float* input, float* output) {
    float* x = at(op->x, arena, input, output);
    float* y = at(op->y, arena, input, output);
    switch (op->kind) {
    case CNN_PLAN_TO_BLOCKED:
        cnn_nchw_to_nchw16c(x, op->n, op->c, op->hw, y);
        return CNN_OK;
    case CNN_PLAN_TO_PLAIN:
        cnn_nchw16c_to_nchw(x, op->n, op->c, op->hw, y);
        return CNN_OK;
    case CNN_PLAN_CONV: {
        const int rc = cnn_conv2d_forward(&op->conv, x, op->packed, op->icb_lo, op->nicb,
                                          op->nicb_max, op->bias, op->act, op->alpha, y);
        return rc;
    }
    case CNN_PLAN_DWCONV: {
        const int rc = cnn_dwconv2d_forward(&op->conv, x, op->packed, op->bias,
                                            op->act, op->alpha, y);
        return rc;
    }
    case CNN_PLAN_ADD:
        cnn_add(x, at(op->x2, arena, input, output), op->count, y);
        activate(op, y, y);
        return CNN_OK;
    case CNN_PLAN_ACT:
        if (op->act == CNN_ACT_NONE) return CNN_EINVAL;
        activate(op, x, y);
        return CNN_OK;
    case CNN_PLAN_MAXPOOL:
        cnn_max_pool2d_forward(&op->pool, x, y, (int32_t*)at(op->scratch, arena, input, output));
        activate(op, y, y);
        return CNN_OK;
    case CNN_PLAN_AVGPOOL:
        cnn_avg_pool2d_forward(&op->pool, op->count_include_pad, op->divisor_override, x, y);
        activate(op, y, y);
        return CNN_OK;
    case CNN_PLAN_ADAPTIVE_AVGPOOL:
        cnn_adaptive_avg_pool2d_forward(&op->pool, x, y);
        activate(op, y, y);
        return CNN_OK;
    case CNN_PLAN_MUL:
        multiply(op, x, at(op->x2, arena, input, output), y);
        activate(op, y, y);
        return CNN_OK;
    case CNN_PLAN_COPY_BLOCKS:
        copy_blocks(op, x, y);
        return CNN_OK;
    case CNN_PLAN_BROADCAST:
        broadcast(op, x, y);
        return CNN_OK;
    default:
        return CNN_EINVAL;
    }
}

int cnn_plan_run(const cnn_plan_op* ops, int64_t first, int64_t last, float* arena,
                 const float* input, float* output, int64_t* failed) {
    for (int64_t i = first; i < last; i++) {
        const int rc = run_op(&ops[i], arena, input, output);
        if (rc != CNN_OK) {
            *failed = i;
            return rc;
        }
    }
    return CNN_OK;
}
