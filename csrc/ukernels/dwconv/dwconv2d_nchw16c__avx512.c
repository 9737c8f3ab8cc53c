/* Depthwise convolution micro-kernels compiled with the avx512 flags (see dwconv2d_nchw16c.inc.h). */
#define CNN_UKERNEL_ISA avx512
#include "dwconv2d_nchw16c.inc.h"
