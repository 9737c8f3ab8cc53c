/* GEMM micro-kernel compiled with the avx512 flags (see gemm.inc.h): an 8 x 32 tile, 16 zmm
 * accumulators, 2 B vectors and a broadcast per step. */
#define CNN_UKERNEL_ISA avx512
#define GEMM_VW 16
#define GEMM_MR 8
#define GEMM_NR 32
#include "gemm.inc.h"
