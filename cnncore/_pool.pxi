# Pooling: max and adaptive max (with argmax), average, adaptive average and global average, on NCHW16c.

cdef extern from "cnn_pool.h":
    ctypedef struct cnn_pool_desc:
        int64_t n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow
    void cnn_max_pool2d_forward(const cnn_pool_desc* d, const float* x, float* y,
                                int32_t* argmax) nogil
    int cnn_max_pool2d_backward(const cnn_pool_desc* d, const float* dy, const int32_t* argmax,
                                float* dx) nogil
    void cnn_avg_pool2d_forward(const cnn_pool_desc* d, int count_include_pad,
                                int64_t divisor_override, const float* x, float* y) nogil
    void cnn_avg_pool2d_backward(const cnn_pool_desc* d, int count_include_pad,
                                 int64_t divisor_override, const float* dy, float* dx) nogil
    void cnn_adaptive_avg_pool2d_forward(const cnn_pool_desc* d, const float* x, float* y) nogil
    void cnn_adaptive_avg_pool2d_backward(const cnn_pool_desc* d, const float* dy, float* dx) nogil
    void cnn_adaptive_max_pool2d_forward(const cnn_pool_desc* d, const float* x, float* y,
                                         int32_t* argmax) nogil
    void cnn_global_avg_pool2d_forward(const float* x, int64_t n, int64_t c, int64_t hw,
                                       float* y) nogil
    void cnn_global_avg_pool2d_backward(const float* dy, int64_t n, int64_t c, int64_t hw,
                                        float* dx) nogil
    void cnn_pool_indices_to_nchw(const int32_t* argmax, int64_t n, int64_t c, int64_t hw,
                                  int64_t* idx) nogil
    void cnn_pool_indices_from_nchw(const int64_t* idx, int64_t n, int64_t c, int64_t hw,
                                    int32_t* argmax) nogil


cdef cnn_pool_desc _pool_desc(g):
    """g = (n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow) (functional._pool.PoolGeometry)."""
    cdef cnn_pool_desc d
    d.n, d.c, d.h, d.w, d.kh, d.kw, d.sh, d.sw, d.ph, d.pw, d.dh, d.dw, d.oh, d.ow = g
    return d


def maxpool_forward(geom, const float[:, :, :, :, ::1] x, bint adaptive=False):
    """Max pooling of blocked x (adaptive: over the adaptive bins of geom's output size); returns
    (y, argmax), both (N, CB, OH, OW, 16), argmax int32 (ih * W + iw). Backward: maxpool_backward."""
    cdef cnn_pool_desc d = _pool_desc(geom)
    shape = (d.n, (d.c + 15) // 16, d.oh, d.ow, 16)
    out = _empty(shape, dtype=np.float32)
    arg = _empty(shape, dtype=np.int32)
    if out.size == 0:
        return out, arg
    cdef float[:, :, :, :, ::1] y = out
    cdef int32_t[:, :, :, :, ::1] a = arg
    with nogil:
        if adaptive:
            cnn_adaptive_max_pool2d_forward(&d, &x[0, 0, 0, 0, 0], &y[0, 0, 0, 0, 0], &a[0, 0, 0, 0, 0])
        else:
            cnn_max_pool2d_forward(&d, &x[0, 0, 0, 0, 0], &y[0, 0, 0, 0, 0], &a[0, 0, 0, 0, 0])
    return out, arg


def maxpool_backward(geom, const float[:, :, :, :, ::1] dy, const int32_t[:, :, :, :, ::1] argmax):
    """Scatter-add of blocked dy through argmax into a zero (N, CB, H, W, 16) gradient."""
    cdef cnn_pool_desc d = _pool_desc(geom)
    out = _empty((d.n, (d.c + 15) // 16, d.h, d.w, 16), dtype=np.float32)
    if out.size == 0:
        return out
    if dy.shape[0] * dy.shape[2] * dy.shape[3] == 0:
        out.fill(0)
        return out
    cdef float[:, :, :, :, ::1] dx = out
    cdef int rc
    with nogil:
        rc = cnn_max_pool2d_backward(&d, &dy[0, 0, 0, 0, 0], &argmax[0, 0, 0, 0, 0],
                                     &dx[0, 0, 0, 0, 0])
    if rc == CNN_EINVAL:
        raise ValueError("argmax: expected values in [0, H*W) = [0, %d)" % (d.h * d.w))
    _check(rc)
    return out


def avgpool_forward(geom, const float[:, :, :, :, ::1] x, bint count_include_pad,
                    int64_t divisor_override):
    """Average pooling of blocked x (divisor_override 0 = none)."""
    cdef cnn_pool_desc d = _pool_desc(geom)
    out = _empty((d.n, (d.c + 15) // 16, d.oh, d.ow, 16), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] y = out
    with nogil:
        cnn_avg_pool2d_forward(&d, count_include_pad, divisor_override, &x[0, 0, 0, 0, 0],
                               &y[0, 0, 0, 0, 0])
    return out


def avgpool_backward(geom, const float[:, :, :, :, ::1] dy, bint count_include_pad,
                     int64_t divisor_override):
    cdef cnn_pool_desc d = _pool_desc(geom)
    out = _empty((d.n, (d.c + 15) // 16, d.h, d.w, 16), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] dx = out
    with nogil:
        cnn_avg_pool2d_backward(&d, count_include_pad, divisor_override, &dy[0, 0, 0, 0, 0],
                                &dx[0, 0, 0, 0, 0])
    return out


def adaptive_avgpool_forward(geom, const float[:, :, :, :, ::1] x):
    cdef cnn_pool_desc d = _pool_desc(geom)
    out = _empty((d.n, (d.c + 15) // 16, d.oh, d.ow, 16), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] y = out
    with nogil:
        cnn_adaptive_avg_pool2d_forward(&d, &x[0, 0, 0, 0, 0], &y[0, 0, 0, 0, 0])
    return out


def adaptive_avgpool_backward(geom, const float[:, :, :, :, ::1] dy):
    cdef cnn_pool_desc d = _pool_desc(geom)
    out = _empty((d.n, (d.c + 15) // 16, d.h, d.w, 16), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] dx = out
    with nogil:
        cnn_adaptive_avg_pool2d_backward(&d, &dy[0, 0, 0, 0, 0], &dx[0, 0, 0, 0, 0])
    return out


def global_avgpool_forward(const float[:, :, :, :, ::1] x, int64_t c):
    """Mean over H and W of blocked x: (N, c) float32, NCHW channel order."""
    cdef int64_t n = x.shape[0], hw = x.shape[2] * x.shape[3]
    out = _empty((n, c), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, ::1] y = out
    with nogil:
        cnn_global_avg_pool2d_forward(&x[0, 0, 0, 0, 0], n, c, hw, &y[0, 0])
    return out


def global_avgpool_backward(const float[:, ::1] dy, int64_t h, int64_t w):
    """(N, C) gradient -> blocked (N, CB, h, w, 16) gradient dy / (h * w)."""
    cdef int64_t n = dy.shape[0], c = dy.shape[1]
    out = _empty((n, (c + 15) // 16, h, w, 16), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] dx = out
    with nogil:
        cnn_global_avg_pool2d_backward(&dy[0, 0], n, c, h * w, &dx[0, 0, 0, 0, 0])
    return out


def pool_indices_to_nchw(const int32_t[:, :, :, :, ::1] argmax, int64_t c):
    """Blocked int32 argmax (N, CB, OH, OW, 16) -> PyTorch's int64 indices (N, c, OH, OW)."""
    cdef int64_t n = argmax.shape[0], oh = argmax.shape[2], ow = argmax.shape[3]
    out = _empty((n, c, oh, ow), dtype=np.int64)
    if out.size == 0:
        return out
    cdef int64_t[:, :, :, ::1] idx = out
    with nogil:
        cnn_pool_indices_to_nchw(&argmax[0, 0, 0, 0, 0], n, c, oh * ow, &idx[0, 0, 0, 0])
    return out


def pool_indices_from_nchw(const int64_t[:, :, :, ::1] idx):
    """int64 indices (N, C, OH, OW) -> blocked int32 argmax (N, CB, OH, OW, 16), padded lanes 0.
    The values must fit in int32 (checked by the caller)."""
    cdef int64_t n = idx.shape[0], c = idx.shape[1], oh = idx.shape[2], ow = idx.shape[3]
    out = _empty((n, (c + 15) // 16, oh, ow, 16), dtype=np.int32)
    if out.size == 0:
        return out
    cdef int32_t[:, :, :, :, ::1] a = out
    with nogil:
        cnn_pool_indices_from_nchw(&idx[0, 0, 0, 0], n, c, oh * ow, &a[0, 0, 0, 0, 0])
    return out
