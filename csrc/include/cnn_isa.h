/* CPU feature detection and the per-operator kernel tables, filled once at import. */
#ifndef CNN_ISA_H
#define CNN_ISA_H

#include "cnn_ukernels.h"

enum { CNN_ISA_GENERIC = 0, CNN_ISA_AVX2 = 1, CNN_ISA_AVX512 = 2 };

/* Highest level the CPU (and OS) supports: AVX-512 = F+BW+VL+DQ, AVX2 = AVX2+FMA; always
 * generic on a machine that is not x86-64 (only the portable kernels are built there). */
int cnn_isa_detect(void);
/* Select min(level, detected): fills every operator table; returns the level chosen. */
int cnn_isa_select(int level);
int cnn_isa_current(void);
const char* cnn_isa_name(int level);

typedef struct {
    cnn_conv_fwd_ukernel fwd;
    const char* fwd_name;
    size_t fwd_max_pix;
    /* backward-weights: the per-tap kernel (up to bww_max_lanes input lanes per call) and the
     * several-taps-per-call kernel for layers with <= 3 input channels */
    cnn_conv_bww_ukernel bww;
    const char* bww_name;
    size_t bww_max_lanes;
    cnn_conv_bww_small_ukernel bww_small;
    const char* bww_small_name;
} cnn_conv_config;

typedef struct {
    cnn_dw_fwd_ukernel fwd;
    const char* fwd_name;
    cnn_dw_bww_ukernel bww;
    const char* bww_name;
} cnn_dwconv_config;

typedef struct {
    cnn_act_fwd_ukernel fwd;
    const char* fwd_name;
    cnn_act_bwd_ukernel bwd;
    const char* bwd_name;
} cnn_act_config;

typedef struct {
    cnn_bn_stats_ukernel stats;
    cnn_bn_grad_ukernel grad;
    cnn_bn_fwd_ukernel fwd;
    cnn_bn_bwd_ukernel bwd;
    const char* name; /* the forward's; the four share an ISA */
} cnn_bn_config;

typedef struct {
    cnn_maxpool_window_ukernel max_window;
    const char* max_window_name;
} cnn_pool_config;

extern cnn_conv_config cnn_conv_cfg;
extern cnn_pool_config cnn_pool_cfg;
extern cnn_bn_config cnn_bn_cfg;
extern cnn_act_config cnn_act_cfg;
extern cnn_dwconv_config cnn_dwconv_cfg;

#endif
