/* Convolution backward-weights micro-kernels compiled with the avx512 flags (see
 * convbww_nchw16c.inc.h): vectors of 16 floats, up to 27 accumulator registers per tile. */
#define CNN_UKERNEL_ISA avx512
#define BWW_VW 16
#define BWW_ACC 27
#include "convbww_nchw16c.inc.h"
