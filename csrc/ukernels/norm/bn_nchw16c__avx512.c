/* Batch normalization micro-kernels compiled with the avx512 flags (see bn_nchw16c.inc.h). */
#define CNN_UKERNEL_ISA avx512
#include "bn_nchw16c.inc.h"
