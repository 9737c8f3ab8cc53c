/* Convolution forward compiled with the avx512 flags (see conv2d_fwd_nchw16c.inc.h): vectors of
 * 16 floats (one per block and pixel), tiles of 1 block x 14 pixels up to 4 blocks x 6 pixels
 * (at most 24 of the 32 zmm registers accumulate; the broadcast folds into the FMA). */
#define CNN_UKERNEL_ISA avx512
#define CF_VW 16
#define CF_REGS 32
#define CF_MAX_BLOCKS 4
#define CF_PIX_1 14
#define CF_PIX_2 12
#define CF_PIX_3 8
#define CF_PIX_4 6
#include "conv2d_fwd_nchw16c.inc.h"
