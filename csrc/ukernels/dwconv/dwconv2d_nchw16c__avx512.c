/* Depthwise convolution micro-kernels compiled with the avx512 flags (see dwconv2d_nchw16c.inc.h):
 * vectors of 16 floats, 8 output pixels per step (8 accumulator registers). */
#define CNN_UKERNEL_ISA avx512
#define DW_VW 16
#define DW_TILE 8
#include "dwconv2d_nchw16c.inc.h"
