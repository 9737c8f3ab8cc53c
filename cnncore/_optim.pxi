# Optimizer updates (in place on float32 C-contiguous 1-D arrays of equal size).

cdef extern from "cnn_optim.h":
    void cnn_sgd_update(float* p, const float* grad, float* buf, int64_t n, double lr,
                        double momentum, double dampening, double weight_decay, int nesterov,
                        int first) nogil
    void cnn_adam_update(float* p, const float* grad, float* m, float* v, float* vmax, int64_t n,
                         double lr, double beta1, double beta2, double eps, double weight_decay,
                         int decoupled, int64_t step) nogil


cdef inline _check_same_size(str name, Py_ssize_t size, Py_ssize_t n):
    if size != n:
        raise ValueError("%s: expected %d elements (the parameter's), got %d" % (name, n, size))


def sgd_update(float[::1] p, const float[::1] grad, buf, double lr, double momentum,
               double dampening, double weight_decay, bint nesterov, bint first):
    """SGD step (torch.optim.SGD's formulas) in place on flat float32 views.

    buf: the momentum buffer (same size as p; written in full when `first`), or None, which is
    allowed only when momentum == 0.
    """
    cdef float[::1] b
    cdef float* bp = NULL
    cdef Py_ssize_t n = p.shape[0]
    _check_same_size("grad", grad.shape[0], n)
    if buf is not None:
        b = buf
        _check_same_size("buf", b.shape[0], n)
        if n:
            bp = &b[0]
    elif momentum != 0.0:
        raise ValueError("buf: a momentum buffer is required when momentum != 0")
    if n == 0:
        return
    with nogil:
        cnn_sgd_update(&p[0], &grad[0], bp, n, lr, momentum, dampening, weight_decay,
                       nesterov, first)


def adam_update(float[::1] p, const float[::1] grad, float[::1] m, float[::1] v, vmax, double lr,
                double beta1, double beta2, double eps, double weight_decay, bint decoupled,
                int64_t step):
    """Adam/AdamW step (torch.optim.Adam's formulas) in place on flat float32 views.

    m, v: the moment buffers; vmax: the amsgrad buffer or None; step: this step's number, from 1.
    """
    cdef float[::1] vm
    cdef float* vmp = NULL
    cdef Py_ssize_t n = p.shape[0]
    _check_same_size("grad", grad.shape[0], n)
    _check_same_size("m", m.shape[0], n)
    _check_same_size("v", v.shape[0], n)
    if step < 1:
        raise ValueError("step: expected >= 1, got %d" % step)
    if vmax is not None:
        vm = vmax
        _check_same_size("vmax", vm.shape[0], n)
        if n:
            vmp = &vm[0]
    if n == 0:
        return
    with nogil:
        cnn_adam_update(&p[0], &grad[0], &m[0], &v[0], vmp, n, lr, beta1, beta2, eps,
                        weight_decay, decoupled, step)
