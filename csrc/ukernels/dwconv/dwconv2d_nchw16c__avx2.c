/* Depthwise convolution micro-kernels compiled with the avx2 flags (see dwconv2d_nchw16c.inc.h):
 * vectors of 8 floats, 4 output pixels per step (8 accumulator registers). */
#define CNN_UKERNEL_ISA avx2
#define DW_VW 8
#define DW_TILE 4
#include "dwconv2d_nchw16c.inc.h"
