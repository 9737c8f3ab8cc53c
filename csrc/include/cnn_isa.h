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
    const cnn_conv_tiles* fwd_tiles; /* the forward kernel's register tiles */
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

/* ---- kernel choice per shape (oneDNN's primitive-descriptor idea) ----
 * An operator describes the shape once per call (before its threads start) and walks its
 * ordered candidate list: the first candidate whose can_handle accepts the shape runs it, with the
 * configuration (register tile) that candidate chose for the shape. */
typedef struct {
    int64_t c_in, c_out, icb, ocb, nicb_max;
    int64_t kh, kw, oh, ow;
    int64_t inner;       /* output columns in register tiles (the rest touch the padding: 1 each) */
    int uniform_blocks;  /* every output block reads the same input blocks (groups == 1) */
} cnn_conv_geometry;

/* What runs a forward (and the stride-1 backward-data) direct convolution of one shape: the
 * candidate's name, the kernel, and its tile: `blocks` output blocks x at most `pix` pixels per
 * kernel call. */
typedef struct {
    const char* candidate;
    cnn_conv_fwd_ukernel kernel;
    const char* kernel_name;
    size_t blocks, pix;
} cnn_conv_fwd_plan;

typedef struct {
    const char* name;
    /* 1 when the candidate runs this shape (and, for a specialised tile, when it beats the next
     * candidate on it); then configure fills the plan's tile */
    int (*can_handle)(const cnn_conv_geometry* g, const cnn_conv_tiles* t);
    void (*configure)(const cnn_conv_geometry* g, const cnn_conv_tiles* t, cnn_conv_fwd_plan* plan);
} cnn_conv_fwd_candidate;

/* The forward candidates in order of preference (the last handles every shape). */
extern const cnn_conv_fwd_candidate cnn_conv_fwd_candidates[];
extern const size_t cnn_conv_fwd_ncandidates;
/* Choose the plan for `g` from the current ISA's kernel (or the forced tile, see below). */
void cnn_conv_fwd_select(const cnn_conv_geometry* g, cnn_conv_fwd_plan* plan);
/* The current ISA's forward kernel tiles. */
const cnn_conv_tiles* cnn_conv_fwd_tiles(void);
/* The plan of the last forward selection (the bench names the candidate a row ran). */
void cnn_conv_fwd_last(cnn_conv_fwd_plan* plan);
/* Tests: force every forward convolution to `blocks` x `pix` tiles (blocks 1 where the blocks do
 * not share their inputs); blocks == 0 returns to the per-shape choice. */
void cnn_conv_fwd_force_tile(size_t blocks, size_t pix);
extern cnn_act_config cnn_act_cfg;
extern cnn_dwconv_config cnn_dwconv_cfg;

#endif
