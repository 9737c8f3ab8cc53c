/* Max-pooling micro-kernel compiled with the avx2 flags (see maxpool_nchw16c.inc.h). */
#define CNN_UKERNEL_ISA avx2
#include "maxpool_nchw16c.inc.h"
