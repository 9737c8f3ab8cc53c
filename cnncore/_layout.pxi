# NCHW <-> NCHW16c reorders.

cdef extern from "cnn_ops.h":
    void cnn_nchw_to_nchw16c(const float* x, int64_t n, int64_t c, int64_t hw, float* y) nogil
    void cnn_nchw16c_to_nchw(const float* y, int64_t n, int64_t c, int64_t hw, float* x) nogil


def nchw_to_blocked(const float[:, :, :, ::1] x):
    """(N, C, H, W) float32 C-contiguous -> (N, ceil(C/16), H, W, 16), padded lanes zero."""
    cdef int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    out = _empty((n, (c + 15) // 16, h, w, 16), dtype=np.float32)
    cdef float[:, :, :, :, ::1] y = out
    if out.size:
        with nogil:
            cnn_nchw_to_nchw16c(&x[0, 0, 0, 0], n, c, h * w, &y[0, 0, 0, 0, 0])
    return out


def blocked_to_nchw(const float[:, :, :, :, ::1] y, int64_t c):
    """(N, CB, H, W, 16) -> (N, c, H, W)."""
    cdef int64_t n = y.shape[0], h = y.shape[2], w = y.shape[3]
    out = _empty((n, c, h, w), dtype=np.float32)
    cdef float[:, :, :, ::1] x = out
    if out.size:
        with nogil:
            cnn_nchw16c_to_nchw(&y[0, 0, 0, 0, 0], n, c, h * w, &x[0, 0, 0, 0])
    return out
