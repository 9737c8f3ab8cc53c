/* Depthwise convolution micro-kernels compiled with the avx2 flags (see dwconv2d_nchw16c.inc.h). */
#define CNN_UKERNEL_ISA avx2
#include "dwconv2d_nchw16c.inc.h"
