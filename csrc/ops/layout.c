/* NCHW <-> NCHW16c reorders, the only layout conversions (done at the edges of a net). */
#include "cnn_ops.h"
#include "cnn_reorder.h"

CNN_DEFINE_REORDER(cnn_nchw_to_nchw16c, cnn_nchw16c_to_nchw, float, float)
