/* Depthwise convolution micro-kernels compiled with the generic flags (see dwconv2d_nchw16c.inc.h):
 * vectors of 4 floats, 2 output pixels per step (8 accumulator registers). */
#define CNN_UKERNEL_ISA generic
#define DW_VW 4
#define DW_TILE 2
#include "dwconv2d_nchw16c.inc.h"
