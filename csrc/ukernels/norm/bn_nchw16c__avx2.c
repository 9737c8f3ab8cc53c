/* Batch normalization micro-kernels compiled with the avx2 flags (see bn_nchw16c.inc.h). */
#define CNN_UKERNEL_ISA avx2
#include "bn_nchw16c.inc.h"
