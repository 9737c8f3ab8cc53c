/* The executor of compiled inference plans (cnn_plan.h): a loop over prepared descriptors. */
#include "cnn_eltwise.h"
#include "cnn_plan.h"

static float* at(cnn_plan_ref r, float* arena, const float* input, float* output) {
    float* base = r.buf == CNN_PLAN_INPUT ? (float*)input : r.buf == CNN_PLAN_OUTPUT ? output : arena;
    return base + r.off;
}

static void activate(int act, const float* x, int64_t count, float* y) {
    if (act == CNN_PLAN_ACT_RELU) cnn_relu(x, count, y);
    else if (act == CNN_PLAN_ACT_RELU6) cnn_relu6(x, count, y);
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
                                          op->nicb_max, op->bias, op->act == CNN_PLAN_ACT_RELU, y);
        if (rc == CNN_OK && op->act == CNN_PLAN_ACT_RELU6) activate(op->act, y, op->count, y);
        return rc;
    }
    case CNN_PLAN_DWCONV: {
        const int rc = cnn_dwconv2d_forward(&op->conv, x, op->packed, op->bias,
                                            op->act == CNN_PLAN_ACT_RELU, y);
        if (rc == CNN_OK && op->act == CNN_PLAN_ACT_RELU6) activate(op->act, y, op->count, y);
        return rc;
    }
    case CNN_PLAN_ADD:
        cnn_add(x, at(op->x2, arena, input, output), op->count, y);
        activate(op->act, y, op->count, y);
        return CNN_OK;
    case CNN_PLAN_ACT:
        if (op->act == CNN_PLAN_ACT_NONE) return CNN_EINVAL;
        activate(op->act, x, op->count, y);
        return CNN_OK;
    case CNN_PLAN_MAXPOOL:
        cnn_max_pool2d_forward(&op->pool, x, y, (int32_t*)at(op->scratch, arena, input, output));
        activate(op->act, y, op->count, y);
        return CNN_OK;
    case CNN_PLAN_AVGPOOL:
        cnn_avg_pool2d_forward(&op->pool, op->count_include_pad, op->divisor_override, x, y);
        activate(op->act, y, op->count, y);
        return CNN_OK;
    case CNN_PLAN_ADAPTIVE_AVGPOOL:
        cnn_adaptive_avg_pool2d_forward(&op->pool, x, y);
        activate(op->act, y, op->count, y);
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
