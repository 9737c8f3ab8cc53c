# Resampling on NCHW16c: nearest/bilinear interpolation and 2-D padding, forward and backward.

cdef extern from "cnn_resample.h":
    ctypedef struct cnn_interp_desc:
        int64_t n, c, h, w, oh, ow
        int mode, align_corners
        double scale_h, scale_w
    int cnn_interp2d_forward(const cnn_interp_desc* d, const float* x, float* y) nogil
    int cnn_interp2d_backward(const cnn_interp_desc* d, const float* dy, float* dx) nogil
    ctypedef struct cnn_pad_desc:
        int64_t n, c, h, w, top, bottom, left, right
        int mode
        float value
    int cnn_pad2d_forward(const cnn_pad_desc* d, const float* x, float* y) nogil
    int cnn_pad2d_backward(const cnn_pad_desc* d, const float* dy, float* dx) nogil


cdef cnn_interp_desc _interp_desc(g):
    """g = (n, c, h, w, oh, ow, mode, align_corners, scale_h, scale_w) (functional._resample)."""
    cdef cnn_interp_desc d
    d.n, d.c, d.h, d.w, d.oh, d.ow, d.mode, d.align_corners, d.scale_h, d.scale_w = g
    return d


def interp_forward(geom, const float[:, :, :, :, ::1] x):
    cdef cnn_interp_desc d = _interp_desc(geom)
    out = _empty((d.n, (d.c + 15) // 16, d.oh, d.ow, 16), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] y = out
    cdef int rc
    with nogil:
        rc = cnn_interp2d_forward(&d, &x[0, 0, 0, 0, 0], &y[0, 0, 0, 0, 0])
    _check(rc)
    return out


def interp_backward(geom, const float[:, :, :, :, ::1] dy):
    cdef cnn_interp_desc d = _interp_desc(geom)
    out = _empty((d.n, (d.c + 15) // 16, d.h, d.w, 16), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] dx = out
    cdef int rc
    with nogil:
        rc = cnn_interp2d_backward(&d, &dy[0, 0, 0, 0, 0], &dx[0, 0, 0, 0, 0])
    _check(rc)
    return out


cdef cnn_pad_desc _pad_desc(g):
    """g = (n, c, h, w, top, bottom, left, right, mode, value) (functional._pad.PadGeometry)."""
    cdef cnn_pad_desc d
    d.n, d.c, d.h, d.w, d.top, d.bottom, d.left, d.right, d.mode, d.value = g
    return d


def pad_forward(geom, const float[:, :, :, :, ::1] x):
    cdef cnn_pad_desc d = _pad_desc(geom)
    out = _empty((d.n, (d.c + 15) // 16, d.h + d.top + d.bottom, d.w + d.left + d.right, 16),
                 dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] y = out
    cdef int rc
    with nogil:
        rc = cnn_pad2d_forward(&d, &x[0, 0, 0, 0, 0], &y[0, 0, 0, 0, 0])
    _check(rc)
    return out


def pad_backward(geom, const float[:, :, :, :, ::1] dy):
    cdef cnn_pad_desc d = _pad_desc(geom)
    out = _empty((d.n, (d.c + 15) // 16, d.h, d.w, 16), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] dx = out
    cdef int rc
    with nogil:
        rc = cnn_pad2d_backward(&d, &dy[0, 0, 0, 0, 0], &dx[0, 0, 0, 0, 0])
    _check(rc)
    return out
