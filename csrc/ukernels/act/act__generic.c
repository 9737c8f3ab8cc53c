/* Activation micro-kernels compiled with the generic flags (see act.inc.h). */
#define CNN_UKERNEL_ISA generic
#include "act.inc.h"
