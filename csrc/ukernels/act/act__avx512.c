/* Activation micro-kernels compiled with the avx512 flags (see act.inc.h). */
#define CNN_UKERNEL_ISA avx512
#include "act.inc.h"
