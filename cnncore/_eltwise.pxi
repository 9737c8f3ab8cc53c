# Elementwise operators (relu, relu6, add), dropout, and the softmax cross-entropy loss.
# The elementwise functions and dropout take C-contiguous float32 arrays of any shape (NCHW,
# (N, F) or blocked NCHW16c, whose padded lanes they keep at zero).

from libc.stdint cimport uint64_t

cdef extern from "cnn_eltwise.h":
    void cnn_relu(const float* x, int64_t count, float* y) nogil
    void cnn_relu_backward(const float* dy, const float* y, int64_t count, float* dx) nogil
    void cnn_relu6(const float* x, int64_t count, float* y) nogil
    void cnn_relu6_backward(const float* dy, const float* y, int64_t count, float* dx) nogil
    void cnn_add(const float* a, const float* b, int64_t count, float* y) nogil
    void cnn_act_forward(int kind, float alpha, const float* x, int64_t count, float* y) nogil
    void cnn_act_backward(int kind, float alpha, const float* dy, const float* x, const float* y,
                          int64_t count, float* dx) nogil

cdef extern from "cnn_act.h":
    int cnn_act_grad_from_output(int kind, float alpha) nogil
    uint64_t cnn_dropout_hash(uint64_t seed, uint64_t index) nogil
    void cnn_dropout(const float* x, int64_t count, double p, uint64_t seed, float* y) nogil
    void cnn_dropout_nchw16c(const float* x, int64_t n, int64_t c, int64_t hw, double p,
                             uint64_t seed, float* y) nogil

cdef extern from "cnn_loss.h":
    int cnn_softmax_cross_entropy(const float* x, int64_t n, int64_t k, const int64_t* target,
                                  double* loss, float* grad) nogil


cdef const float[::1] _flat(arr):
    """A C-contiguous float32 array of any shape as a 1-d view."""
    return arr.reshape(-1)


def _unary(int op, x):
    """op 0: relu, 1: relu6."""
    out = _empty(x.shape, dtype=np.float32)
    if out.size == 0:
        return out
    cdef const float[::1] xv = _flat(x)
    cdef float[::1] yv = out.reshape(-1)
    cdef int64_t count = out.size
    with nogil:
        if op == 0:
            cnn_relu(&xv[0], count, &yv[0])
        else:
            cnn_relu6(&xv[0], count, &yv[0])
    return out


def _binary(int op, a, b):
    """op 0: relu_backward(dy=a, y=b), 1: relu6_backward(dy=a, y=b), 2: a + b (same shapes)."""
    out = _empty(a.shape, dtype=np.float32)
    if out.size == 0:
        return out
    cdef const float[::1] av = _flat(a)
    cdef const float[::1] bv = _flat(b)
    cdef float[::1] yv = out.reshape(-1)
    cdef int64_t count = out.size
    with nogil:
        if op == 0:
            cnn_relu_backward(&av[0], &bv[0], count, &yv[0])
        elif op == 1:
            cnn_relu6_backward(&av[0], &bv[0], count, &yv[0])
        else:
            cnn_add(&av[0], &bv[0], count, &yv[0])
    return out


def relu(x):
    return _unary(0, x)


def relu6(x):
    return _unary(1, x)


def relu_backward(dy, y):
    return _binary(0, dy, y)


def relu6_backward(dy, y):
    return _binary(1, dy, y)


def add(a, b):
    return _binary(2, a, b)


def act_forward(int kind, float alpha, x):
    """act(x) elementwise for an activation kind of cnn_act.h (x: C-contiguous float32, any
    shape; kind in [1, CNN_ACT_COUNT), checked by the caller)."""
    out = _empty(x.shape, dtype=np.float32)
    if out.size == 0:
        return out
    cdef const float[::1] xv = _flat(x)
    cdef float[::1] yv = out.reshape(-1)
    cdef int64_t count = out.size
    with nogil:
        cnn_act_forward(kind, alpha, &xv[0], count, &yv[0])
    return out


def act_backward(int kind, float alpha, dy, x, y):
    """dy * act'(x) from x (None allowed when act_grad_from_output) and y = act(x)."""
    out = _empty(dy.shape, dtype=np.float32)
    if out.size == 0:
        return out
    if x is None and not cnn_act_grad_from_output(kind, alpha):
        raise ValueError("act_backward: this activation's gradient needs its input")
    cdef const float[::1] dv = _flat(dy)
    cdef const float[::1] yv = _flat(y)
    cdef const float[::1] xv
    cdef const float* xp = NULL
    if x is not None:
        xv = _flat(x)
        xp = &xv[0]
    cdef float[::1] ov = out.reshape(-1)
    cdef int64_t count = out.size
    with nogil:
        cnn_act_backward(kind, alpha, &dv[0], xp, &yv[0], count, &ov[0])
    return out


def act_grad_from_output(int kind, float alpha):
    """Whether the activation's gradient is a function of its output alone."""
    return bool(cnn_act_grad_from_output(kind, alpha))


def dropout_hash(uint64_t seed, uint64_t index):
    """The 64-bit hash deciding element `index`'s fate (kept iff hash >> 11 >= p * 2**53)."""
    return cnn_dropout_hash(seed, index)


def dropout(x, double p, uint64_t seed):
    """Dropout of a C-contiguous float32 array of any shape (indices in row-major order)."""
    out = _empty(x.shape, dtype=np.float32)
    if out.size == 0:
        return out
    cdef const float[::1] xv = _flat(x)
    cdef float[::1] yv = out.reshape(-1)
    cdef int64_t count = out.size
    with nogil:
        cnn_dropout(&xv[0], count, p, seed, &yv[0])
    return out


def dropout_blocked(const float[:, :, :, :, ::1] x, int64_t c, double p, uint64_t seed):
    """Dropout of a blocked tensor with c channels: the mask of its NCHW form."""
    out = _empty(np.asarray(x).shape, dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] yv = out
    with nogil:
        cnn_dropout_nchw16c(&x[0, 0, 0, 0, 0], x.shape[0], c, x.shape[2] * x.shape[3], p, seed,
                            &yv[0, 0, 0, 0, 0])
    return out


def softmax_cross_entropy(const float[:, ::1] x, const int64_t[::1] target, bint want_grad):
    """Mean softmax cross-entropy of (N, K) logits (N, K >= 1, targets in [0, K)).

    Returns (loss as a Python float, grad (N, K) or None)."""
    cdef int64_t n = x.shape[0], k = x.shape[1]
    if n == 0 or k == 0 or target.shape[0] != n:
        raise ValueError("softmax_cross_entropy: expected N, K >= 1 and N targets "
                         "(checked by cnncore.functional)")
    grad = _empty((n, k), dtype=np.float32) if want_grad else None
    cdef float[:, ::1] gv
    cdef float* gp = NULL
    if want_grad:
        gv = grad
        gp = &gv[0, 0]
    cdef double loss = 0
    cdef int rc
    with nogil:
        rc = cnn_softmax_cross_entropy(&x[0, 0], n, k, &target[0], &loss, gp)
    _check(rc)
    return loss, grad
