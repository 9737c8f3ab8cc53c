/* Max-pooling micro-kernel compiled with the generic flags (see maxpool_nchw16c.inc.h). */
#define CNN_UKERNEL_ISA generic
#include "maxpool_nchw16c.inc.h"
