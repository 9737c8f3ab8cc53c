/* Batch normalization micro-kernels compiled with the generic flags (see bn_nchw16c.inc.h). */
#define CNN_UKERNEL_ISA generic
#include "bn_nchw16c.inc.h"
