/* Detect the CPU once and fill one kernel table per operator. Operators read the tables and
 * never test CPU features in a hot loop. */
#include "cnn_gemm.h"
#include "cnn_isa.h"
#include "cnn_probe.h"

cnn_conv_config cnn_conv_cfg;
cnn_dwconv_config cnn_dwconv_cfg;
cnn_act_config cnn_act_cfg;
cnn_bn_config cnn_bn_cfg;
cnn_pool_config cnn_pool_cfg;
static int current_level = -1;

int cnn_isa_detect(void) {
#if defined(__x86_64__)
    /* __builtin_cpu_supports checks CPUID and, through XGETBV, that the OS saves the registers. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("fma"))
        return CNN_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CNN_ISA_AVX2;
#endif
    return CNN_ISA_GENERIC;
}

const char* cnn_isa_name(int level) {
    switch (level) {
        case CNN_ISA_AVX512: return "avx512";
        case CNN_ISA_AVX2: return "avx2";
        default: return "generic";
    }
}

#define FILL_TABLES(isa)                                                              \
    do {                                                                              \
        cnn_conv_cfg.fwd = cnn_f32_conv2d_nchw16c_ukernel__##isa;                     \
        cnn_conv_cfg.fwd_name = "cnn_f32_conv2d_nchw16c_ukernel__" #isa;              \
        cnn_conv_cfg.fwd_tiles = &cnn_f32_conv2d_nchw16c_tiles__##isa;                \
        cnn_conv_cfg.bww = cnn_f32_conv2d_bww_nchw16c_ukernel__##isa;                 \
        cnn_conv_cfg.bww_name = "cnn_f32_conv2d_bww_nchw16c_ukernel__" #isa;          \
        cnn_conv_cfg.bww_max_lanes = cnn_f32_conv2d_bww_nchw16c_max_lanes__##isa;     \
        cnn_conv_cfg.bww_small = cnn_f32_conv2d_bww_small_nchw16c_ukernel__##isa;     \
        cnn_conv_cfg.bww_small_name = "cnn_f32_conv2d_bww_small_nchw16c_ukernel__" #isa; \
        cnn_dwconv_cfg.fwd = cnn_f32_dwconv2d_nchw16c_ukernel__##isa;                 \
        cnn_dwconv_cfg.fwd_name = "cnn_f32_dwconv2d_nchw16c_ukernel__" #isa;          \
        cnn_dwconv_cfg.bww = cnn_f32_dwconv2d_bww_nchw16c_ukernel__##isa;             \
        cnn_dwconv_cfg.bww_name = "cnn_f32_dwconv2d_bww_nchw16c_ukernel__" #isa;      \
        cnn_act_cfg.fwd = cnn_f32_act_ukernel__##isa;                                 \
        cnn_act_cfg.fwd_name = "cnn_f32_act_ukernel__" #isa;                          \
        cnn_act_cfg.bwd = cnn_f32_act_backward_ukernel__##isa;                        \
        cnn_act_cfg.bwd_name = "cnn_f32_act_backward_ukernel__" #isa;                 \
        cnn_bn_cfg.stats = cnn_f32_bn_stats_nchw16c_ukernel__##isa;                   \
        cnn_bn_cfg.grad = cnn_f32_bn_grad_nchw16c_ukernel__##isa;                     \
        cnn_bn_cfg.fwd = cnn_f32_bn_forward_nchw16c_ukernel__##isa;                   \
        cnn_bn_cfg.bwd = cnn_f32_bn_backward_nchw16c_ukernel__##isa;                  \
        cnn_bn_cfg.name = "cnn_f32_bn_forward_nchw16c_ukernel__" #isa;                \
        cnn_pool_cfg.max_window = cnn_f32_maxpool_window_nchw16c_ukernel__##isa;      \
        cnn_pool_cfg.max_window_name = "cnn_f32_maxpool_window_nchw16c_ukernel__" #isa; \
    } while (0)

int cnn_isa_select(int level) {
    int best = cnn_isa_detect();
    if (level > best) level = best;
    if (level < CNN_ISA_GENERIC) level = CNN_ISA_GENERIC;
    switch (level) {
#if defined(__x86_64__) /* elsewhere only the generic kernels are built (setup.py) */
        case CNN_ISA_AVX512: FILL_TABLES(avx512); break;
        case CNN_ISA_AVX2: FILL_TABLES(avx2); break;
#endif
        default: FILL_TABLES(generic); break;
    }
    cnn_fma_peak_select(level);
    cnn_gemm_select(level);
    current_level = level;
    return level;
}

int cnn_isa_current(void) { return current_level; }
