/* Depthwise convolution micro-kernels compiled with the generic flags (see dwconv2d_nchw16c.inc.h). */
#define CNN_UKERNEL_ISA generic
#include "dwconv2d_nchw16c.inc.h"
