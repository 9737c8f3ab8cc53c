/* Activation micro-kernels compiled with the avx2 flags (see act.inc.h). */
#define CNN_UKERNEL_ISA avx2
#include "act.inc.h"
