/* GEMM micro-kernel compiled with the avx2 flags (see gemm.inc.h): a 6 x 16 tile, 12 ymm
 * accumulators, 2 B vectors and a broadcast per step (15 of the 16 registers). */
#define CNN_UKERNEL_ISA avx2
#define GEMM_VW 8
#define GEMM_MR 6
#define GEMM_NR 16
#include "gemm.inc.h"
