/* Portable GEMM micro-kernel (see gemm.inc.h): vectors of 4 floats (SSE2 on x86-64, NEON on
 * aarch64), a 4 x 8 tile of 8 accumulators. */
#define CNN_UKERNEL_ISA generic
#define GEMM_VW 4
#define GEMM_MR 4
#define GEMM_NR 8
#include "gemm.inc.h"
