/* Convolution backward-weights micro-kernels compiled with the generic flags (see
 * convbww_nchw16c.inc.h): vectors of 4 floats, up to 12 accumulator registers per tile. */
#define CNN_UKERNEL_ISA generic
#define BWW_VW 4
#define BWW_ACC 12
#include "convbww_nchw16c.inc.h"
