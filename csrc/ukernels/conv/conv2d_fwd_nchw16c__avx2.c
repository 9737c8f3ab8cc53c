/* Convolution forward compiled with the avx2 flags (see conv2d_fwd_nchw16c.inc.h): vectors of 8
 * floats (two per block and pixel), tiles of 1 block x 6 pixels or 2 blocks x 3 pixels (12 of the
 * 16 ymm registers accumulate; with 2 blocks one of the 4 weight vectors no longer fits and is
 * read by each FMA, so the cost model takes 2 blocks only where it saves whole pixel tiles). */
#define CNN_UKERNEL_ISA avx2
#define CF_VW 8
#define CF_REGS 16
#define CF_MAX_BLOCKS 2
#define CF_PIX_1 6
#define CF_PIX_2 3
#include "conv2d_fwd_nchw16c.inc.h"
