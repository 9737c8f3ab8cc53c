/* Max-pooling micro-kernel compiled with the avx512 flags (see maxpool_nchw16c.inc.h). */
#define CNN_UKERNEL_ISA avx512
#include "maxpool_nchw16c.inc.h"
