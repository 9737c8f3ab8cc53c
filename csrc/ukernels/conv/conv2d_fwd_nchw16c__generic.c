/* Convolution forward in portable C (GCC vector types of 4 floats, see conv2d_fwd_nchw16c.inc.h):
 * the fallback on any CPU and the kernel the vectorized ones are checked against. */
#define CNN_UKERNEL_ISA generic
#define CF_VW 4
#define CF_REGS 16 /* SSE2 on x86-64; 32 on AArch64 */
#define CF_MAX_BLOCKS 2
#define CF_PIX_1 2
#define CF_PIX_2 1
#include "conv2d_fwd_nchw16c.inc.h"
