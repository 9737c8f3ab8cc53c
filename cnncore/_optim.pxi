# Optimizer updates (in place on float32 C-contiguous 1-D arrays of equal size).

cdef extern from "cnn_optim.h":
    void cnn_sgd_update(float* p, const float* grad, float* buf, int64_t n, double lr,
                        double momentum, double dampening, double weight_decay, int nesterov,
                        int first) nogil
    void cnn_adam_update(float* p, const float* grad, float* m, float* v, float* vmax, int64_t n,
                         double lr, double beta1, double beta2, double eps, double weight_decay,
                         int decoupled, int64_t step) nogil
    void cnn_rmsprop_update(float* p, const float* grad, float* sq, float* gavg, float* buf,
                            int64_t n, double lr, double alpha, double eps, double weight_decay,
                            double momentum) nogil
    void cnn_adagrad_update(float* p, const float* grad, float* sum, int64_t n, double clr,
                            double eps, double weight_decay) nogil
    void cnn_adamax_update(float* p, const float* grad, float* m, float* u, int64_t n, double lr,
                           double beta1, double beta2, double eps, double weight_decay,
                           int64_t step) nogil
    void cnn_nadam_update(float* p, const float* grad, float* m, float* v, int64_t n, double lr,
                          double beta1, double beta2, double eps, double weight_decay,
                          int decoupled, double bc2, double c_grad, double c_avg) nogil
    void cnn_radam_update(float* p, const float* grad, float* m, float* v, int64_t n, double lr,
                          double beta1, double beta2, double eps, double weight_decay,
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


cdef float* _optional_buffer(str name, buf, Py_ssize_t n) except? NULL:
    """The data pointer of an optional float32 buffer of n elements (NULL for None or n == 0)."""
    cdef float[::1] b
    if buf is None:
        return NULL
    b = buf
    _check_same_size(name, b.shape[0], n)
    return &b[0] if n else NULL


def rmsprop_update(float[::1] p, const float[::1] grad, float[::1] square_avg, grad_avg,
                   momentum_buffer, double lr, double alpha, double eps, double weight_decay,
                   double momentum):
    """RMSprop step (torch.optim.RMSprop's formulas) in place on flat float32 views; grad_avg
    (centered) and momentum_buffer (momentum > 0) may be None."""
    cdef Py_ssize_t n = p.shape[0]
    _check_same_size("grad", grad.shape[0], n)
    _check_same_size("square_avg", square_avg.shape[0], n)
    if momentum > 0 and momentum_buffer is None:
        raise ValueError("momentum_buffer: required when momentum > 0")
    cdef float* ga = _optional_buffer("grad_avg", grad_avg, n)
    cdef float* mb = _optional_buffer("momentum_buffer", momentum_buffer if momentum > 0 else None, n)
    if n == 0:
        return
    with nogil:
        cnn_rmsprop_update(&p[0], &grad[0], &square_avg[0], ga, mb, n, lr, alpha, eps,
                           weight_decay, momentum)


def adagrad_update(float[::1] p, const float[::1] grad, float[::1] sum, double clr, double eps,
                   double weight_decay):
    """Adagrad step in place; clr: this step's decayed learning rate."""
    cdef Py_ssize_t n = p.shape[0]
    _check_same_size("grad", grad.shape[0], n)
    _check_same_size("sum", sum.shape[0], n)
    if n == 0:
        return
    with nogil:
        cnn_adagrad_update(&p[0], &grad[0], &sum[0], n, clr, eps, weight_decay)


def _check_moments(Py_ssize_t n, const float[::1] grad, float[::1] m, float[::1] v, int64_t step):
    _check_same_size("grad", grad.shape[0], n)
    _check_same_size("exp_avg", m.shape[0], n)
    _check_same_size("exp_avg_sq", v.shape[0], n)
    if step < 1:
        raise ValueError("step: expected >= 1, got %d" % step)


def adamax_update(float[::1] p, const float[::1] grad, float[::1] exp_avg, float[::1] exp_inf,
                  double lr, double beta1, double beta2, double eps, double weight_decay,
                  int64_t step):
    """Adamax step (torch.optim.Adamax's formulas) in place; step counts from 1."""
    cdef Py_ssize_t n = p.shape[0]
    _check_moments(n, grad, exp_avg, exp_inf, step)
    if n == 0:
        return
    with nogil:
        cnn_adamax_update(&p[0], &grad[0], &exp_avg[0], &exp_inf[0], n, lr, beta1, beta2, eps,
                          weight_decay, step)


def nadam_update(float[::1] p, const float[::1] grad, float[::1] exp_avg, float[::1] exp_avg_sq,
                 double lr, double beta1, double beta2, double eps, double weight_decay,
                 bint decoupled, double bc2, double c_grad, double c_avg):
    """NAdam step in place; bc2 = 1 - beta2**step, c_grad and c_avg: the momentum-schedule
    coefficients of the gradient and of the average (torch.optim.NAdam's)."""
    cdef Py_ssize_t n = p.shape[0]
    _check_moments(n, grad, exp_avg, exp_avg_sq, 1)
    if n == 0:
        return
    with nogil:
        cnn_nadam_update(&p[0], &grad[0], &exp_avg[0], &exp_avg_sq[0], n, lr, beta1, beta2, eps,
                         weight_decay, decoupled, bc2, c_grad, c_avg)


def radam_update(float[::1] p, const float[::1] grad, float[::1] exp_avg, float[::1] exp_avg_sq,
                 double lr, double beta1, double beta2, double eps, double weight_decay,
                 bint decoupled, int64_t step):
    """RAdam step (torch.optim.RAdam's formulas) in place; step counts from 1."""
    cdef Py_ssize_t n = p.shape[0]
    _check_moments(n, grad, exp_avg, exp_avg_sq, step)
    if n == 0:
        return
    with nogil:
        cnn_radam_update(&p[0], &grad[0], &exp_avg[0], &exp_avg_sq[0], n, lr, beta1, beta2, eps,
                         weight_decay, decoupled, step)
