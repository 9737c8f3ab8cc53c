/* Compiled inference plans (cnncore.compile): one C call runs a list of prepared operator
 * descriptors over one arena. Every geometry, packing and buffer offset is computed once per input
 * shape by the Python planner (cnncore/plan/); this loop only dispatches to cnncore's operators.
 * No allocation here (the operators may allocate their own temporaries), no Python, no GIL. */
#ifndef CNN_PLAN_H
#define CNN_PLAN_H

#include "cnn_ops.h"
#include "cnn_pool.h"

/* Where an operand lives: CNN_PLAN_ARENA + offset (in floats), or the caller's input / output. */
enum { CNN_PLAN_ARENA = 0, CNN_PLAN_INPUT = 1, CNN_PLAN_OUTPUT = 2 };
typedef struct {
    int32_t buf;
    int64_t off;
} cnn_plan_ref;

enum {
    CNN_PLAN_TO_BLOCKED = 0,   /* x NCHW (n, c, hw) -> y NCHW16c */
    CNN_PLAN_TO_PLAIN,         /* x NCHW16c -> y NCHW (n, c, hw) */
    CNN_PLAN_CONV,             /* y = act(conv(x) + bias), act in the kernel's epilogue */
    CNN_PLAN_DWCONV,           /* the same with the depthwise kernel */
    CNN_PLAN_ADD,              /* y = x + x2 (count floats) */
    CNN_PLAN_ACT,              /* y = act(x) (count floats; y may be x) */
    CNN_PLAN_MAXPOOL,          /* y = max_pool(x), argmax into scratch */
    CNN_PLAN_AVGPOOL,          /* y = avg_pool(x) */
    CNN_PLAN_ADAPTIVE_AVGPOOL, /* y = adaptive_avg_pool(x) */
    CNN_PLAN_MUL,              /* y (n, c, hw) = x * x2, x2 (n, c, x2_hw): x2_hw = hw or 1 (a per-channel scale) */
    CNN_PLAN_COPY_BLOCKS,      /* y's channel blocks [block_offset, +ceil(c/16)) of blocks_out = x (a concat) */
    CNN_PLAN_BROADCAST,        /* y (n, c, hw) = x (n, c, 1) at every pixel (Expand of a 1x1 map) */
    CNN_PLAN_KINDS
};

/* act, alpha: the activation applied to an op's output, a kind of cnn_act.h (CNN_ACT_NONE: none).
 * Convolutions run it in their kernel's epilogue, other ops in place afterwards over count floats
 * (an activation with f(0) != 0, e.g. sigmoid, also needs n, c, hw to keep the padded lanes zero). */

typedef struct {
    int32_t kind, act;
    float alpha;
    cnn_plan_ref x, x2, y, scratch;
    int64_t n, c, hw, count;           /* reorders (n, c, hw); elementwise ops (count) */
    int64_t x2_hw;                     /* MUL */
    int64_t blocks_out, block_offset;  /* COPY_BLOCKS */
    cnn_conv_desc conv;                /* CONV, DWCONV */
    const float* packed;
    const int32_t* icb_lo;
    const int32_t* nicb;
    int64_t nicb_max;
    const float* bias;
    cnn_pool_desc pool;                /* pooling */
    int32_t count_include_pad;
    int64_t divisor_override;
} cnn_plan_op;

/* Runs ops[first .. last) in order. Returns CNN_OK, or the first operator's error code with
 * *failed set to its index (CNN_EINVAL for an unknown kind). */
int cnn_plan_run(const cnn_plan_op* ops, int64_t first, int64_t last, float* arena,
                 const float* input, float* output, int64_t* failed);

#endif
