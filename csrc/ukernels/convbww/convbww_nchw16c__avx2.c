/* Convolution backward-weights micro-kernels compiled with the avx2 flags (see
 * convbww_nchw16c.inc.h): vectors of 8 floats, up to 12 accumulator registers per tile. */
#define CNN_UKERNEL_ISA avx2
#define BWW_VW 8
#define BWW_ACC 12
#include "convbww_nchw16c.inc.h"
