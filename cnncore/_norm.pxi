# Batch normalization on NCHW16c (plain, + relu, + residual add + relu), forward and backward.

cdef extern from "cnn_norm.h":
    ctypedef struct cnn_bn_desc:
        int64_t n, c, hw
        int training
        float momentum, eps
    int cnn_batch_norm_forward(const cnn_bn_desc* d, const float* x, const float* residual,
                               int relu, const float* weight, const float* bias,
                               const float* eval_mean, const float* eval_var,
                               float* running_mean, float* running_var, float* y,
                               float* save_mean, float* save_invstd) nogil
    int cnn_batch_norm_backward(const cnn_bn_desc* d, const float* dy, const float* x,
                                const float* y, const float* weight, const float* save_mean,
                                const float* save_invstd, float* dx, float* dresidual,
                                float* dweight, float* dbias) nogil


cdef const float* _opt_ptr(arr) except? NULL:
    """Address of a C-contiguous float32 1-d array's first element, or NULL for None."""
    cdef const float[::1] v
    if arr is None:
        return NULL
    v = arr
    return &v[0]


def batch_norm_forward(const float[:, :, :, :, ::1] x, int64_t c, residual, bint relu, weight,
                       bias, bint training, float momentum, float eps, running_mean,
                       running_var):
    """One batch-norm forward on a blocked x with c channels (c >= 1, N * H * W >= 1).

    IN: residual (like x) or None; weight, bias: (c,) or None; training: batch statistics, and
    running_mean / running_var ((c,) float32 C-contiguous writeable, or None) updated in place;
    eval: running_mean / running_var (c,) are the statistics (read only).
    Returns (y, save_mean, save_invstd).
    """
    if x.shape[0] * x.shape[2] * x.shape[3] == 0 or c < 1:
        raise ValueError("batch_norm_forward: empty input (handled by cnncore.functional)")
    cdef cnn_bn_desc d
    d.n = x.shape[0]
    d.c = c
    d.hw = x.shape[2] * x.shape[3]
    d.training = training
    d.momentum = momentum
    d.eps = eps
    out = _empty(np.asarray(x).shape, dtype=np.float32)
    save_mean = _empty(c, dtype=np.float32)
    save_invstd = _empty(c, dtype=np.float32)
    cdef float[:, :, :, :, ::1] y = out
    cdef float[::1] sm = save_mean, si = save_invstd
    cdef const float[:, :, :, :, ::1] r
    cdef const float* rp = NULL
    if residual is not None:
        r = residual
        rp = &r[0, 0, 0, 0, 0]
    cdef const float* wp = _opt_ptr(weight)
    cdef const float* bp = _opt_ptr(bias)
    cdef const float* em = NULL
    cdef const float* ev = NULL
    cdef float[::1] rmv, rvv
    cdef float* rm = NULL
    cdef float* rv = NULL
    if training:
        if running_mean is not None:
            rmv = running_mean
            rm = &rmv[0]
        if running_var is not None:
            rvv = running_var
            rv = &rvv[0]
    else:
        em = _opt_ptr(running_mean)
        ev = _opt_ptr(running_var)
    cdef int rc
    with nogil:
        rc = cnn_batch_norm_forward(&d, &x[0, 0, 0, 0, 0], rp, relu, wp, bp, em, ev, rm, rv,
                                    &y[0, 0, 0, 0, 0], &sm[0], &si[0])
    _check(rc)
    return out, save_mean, save_invstd


def batch_norm_backward(const float[:, :, :, :, ::1] dy, const float[:, :, :, :, ::1] x,
                        int64_t c, output, bint want_residual, weight,
                        const float[::1] save_mean, const float[::1] save_invstd, bint training):
    """Gradients of batch_norm_forward (c >= 1, N * H * W >= 1).

    output: None for the plain form, else the fused form's output (its relu mask is applied);
    want_residual: also return the residual's gradient (the add + relu form).
    Returns (dx, dresidual or None, dweight, dbias).
    """
    if x.shape[0] * x.shape[2] * x.shape[3] == 0 or c < 1:
        raise ValueError("batch_norm_backward: empty input (handled by cnncore.functional)")
    cdef cnn_bn_desc d
    d.n = x.shape[0]
    d.c = c
    d.hw = x.shape[2] * x.shape[3]
    d.training = training
    d.momentum = 0
    d.eps = 0
    shape = np.asarray(x).shape
    dx_arr = _empty(shape, dtype=np.float32)
    dres_arr = _empty(shape, dtype=np.float32) if want_residual else None
    dw_arr = _empty(c, dtype=np.float32)
    db_arr = _empty(c, dtype=np.float32)
    cdef float[:, :, :, :, ::1] dxv = dx_arr
    cdef float[:, :, :, :, ::1] drv
    cdef float* drp = NULL
    if want_residual:
        drv = dres_arr
        drp = &drv[0, 0, 0, 0, 0]
    cdef const float[:, :, :, :, ::1] yv
    cdef const float* yp = NULL
    if output is not None:
        yv = output
        yp = &yv[0, 0, 0, 0, 0]
    cdef const float* wp = _opt_ptr(weight)
    cdef float[::1] dwv = dw_arr, dbv = db_arr
    cdef int rc
    with nogil:
        rc = cnn_batch_norm_backward(&d, &dy[0, 0, 0, 0, 0], &x[0, 0, 0, 0, 0], yp, wp,
                                     &save_mean[0], &save_invstd[0], &dxv[0, 0, 0, 0, 0], drp,
                                     &dwv[0], &dbv[0])
    _check(rc)
    return dx_arr, dres_arr, dw_arr, db_arr


# Group normalization on NCHW16c (GroupNorm, LayerNorm over (C, H, W), InstanceNorm).

cdef extern from "cnn_groupnorm.h":
    ctypedef struct cnn_gn_desc:
        int64_t n, c, hw, groups
        float eps
        int per_pixel
    int cnn_group_norm_forward(const cnn_gn_desc* d, const float* x, const float* weight,
                               const float* bias, float* y, float* save_mean,
                               float* save_invstd) nogil
    int cnn_group_norm_backward(const cnn_gn_desc* d, const float* dy, const float* x,
                                const float* weight, const float* save_mean,
                                const float* save_invstd, float* dx, float* dweight,
                                float* dbias) nogil


cdef cnn_gn_desc _gn_desc(x, int64_t c, int64_t groups, float eps, bint per_pixel) except *:
    cdef cnn_gn_desc d
    if x.shape[2] * x.shape[3] == 0 or c < 1 or groups < 1 or c % groups:
        raise ValueError("group_norm: empty image or bad groups (checked by cnncore.functional)")
    d.n = x.shape[0]
    d.c = c
    d.hw = x.shape[2] * x.shape[3]
    d.groups = groups
    d.eps = eps
    d.per_pixel = per_pixel
    return d


cdef const float* _affine_ptr(arr) except? NULL:
    """Address of a C-contiguous float32 array's first element (any shape), or NULL for None."""
    if arr is None:
        return NULL
    return _opt_ptr(arr.reshape(-1))


def group_norm_forward(const float[:, :, :, :, ::1] x, int64_t c, int64_t groups, weight, bias,
                       bint per_pixel, float eps):
    """Group norm of a blocked x with c channels in `groups` groups (H * W >= 1).

    IN: weight, bias: None, (c,) float32 (per channel), or with per_pixel (ceil(c/16), H, W, 16)
    float32 blocked, padded lanes zero (one value per element of an image).
    Returns (y, save_mean, save_invstd), the statistics (N, groups)."""
    cdef cnn_gn_desc d = _gn_desc(x, c, groups, eps, per_pixel)
    out = _empty(np.asarray(x).shape, dtype=np.float32)
    save_mean = _empty((d.n, groups), dtype=np.float32)
    save_invstd = _empty((d.n, groups), dtype=np.float32)
    if d.n == 0:
        return out, save_mean, save_invstd
    cdef float[:, :, :, :, ::1] y = out
    cdef float[:, ::1] sm = save_mean, si = save_invstd
    cdef const float* wp = _affine_ptr(weight)
    cdef const float* bp = _affine_ptr(bias)
    cdef int rc
    with nogil:
        rc = cnn_group_norm_forward(&d, &x[0, 0, 0, 0, 0], wp, bp, &y[0, 0, 0, 0, 0], &sm[0, 0],
                                    &si[0, 0])
    _check(rc)
    return out, save_mean, save_invstd


def group_norm_backward(const float[:, :, :, :, ::1] dy, const float[:, :, :, :, ::1] x,
                        int64_t c, int64_t groups, weight, bint per_pixel,
                        const float[:, ::1] save_mean, const float[:, ::1] save_invstd,
                        bint want_affine):
    """Gradients of group_norm_forward: (dx, dweight, dbias), the last two None unless
    want_affine (then shaped like the weight: (c,) or, per_pixel, like x's one image)."""
    cdef cnn_gn_desc d = _gn_desc(x, c, groups, 0.0, per_pixel)
    shape = np.asarray(x).shape
    dx_arr = _empty(shape, dtype=np.float32)
    affine_shape = shape[1:] if per_pixel else (c,)
    dw_arr = _empty(affine_shape, dtype=np.float32) if want_affine else None
    db_arr = _empty(affine_shape, dtype=np.float32) if want_affine else None
    if d.n == 0:
        if want_affine:
            dw_arr.fill(0)
            db_arr.fill(0)
        return dx_arr, dw_arr, db_arr
    cdef float[:, :, :, :, ::1] dxv = dx_arr
    cdef const float* wp = _affine_ptr(weight)
    cdef float* dwp = NULL
    cdef float* dbp = NULL
    cdef float[::1] dwv, dbv
    if want_affine:
        dwv = dw_arr.reshape(-1)
        dbv = db_arr.reshape(-1)
        dwp = &dwv[0]
        dbp = &dbv[0]
    cdef int rc
    with nogil:
        rc = cnn_group_norm_backward(&d, &dy[0, 0, 0, 0, 0], &x[0, 0, 0, 0, 0], wp,
                                     &save_mean[0, 0], &save_invstd[0, 0], &dxv[0, 0, 0, 0, 0],
                                     dwp, dbp)
    _check(rc)
    return dx_arr, dw_arr, db_arr
