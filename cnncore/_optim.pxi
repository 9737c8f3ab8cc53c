# Optimizer updates (in place on float32 C-contiguous arrays of equal size).

cdef extern from "cnn_optim.h":
    void cnn_sgd_update(float* p, const float* grad, float* buf, int64_t n, float lr, float momentum,
                        float dampening, float weight_decay, int nesterov, int first) nogil
    void cnn_adam_update(float* p, const float* grad, float* m, float* v, float* vmax, int64_t n,
                         float lr, float beta1, float beta2, float eps, float weight_decay,
                         int decoupled, int64_t step) nogil


def sgd_update(float[::1] p, const float[::1] grad, buf, float lr, float momentum, float dampening,
               float weight_decay, bint nesterov, bint first):
    """SGD step on flat views; buf is the momentum buffer (same size) or None without momentum."""
    cdef float[::1] b
    cdef float* bp = NULL
    if buf is not None:
        b = buf
        bp = &b[0] if b.shape[0] else NULL
    if p.shape[0] == 0:
        return
    with nogil:
        cnn_sgd_update(&p[0], &grad[0], bp, p.shape[0], lr, momentum, dampening, weight_decay,
                       nesterov, first)


def adam_update(float[::1] p, const float[::1] grad, float[::1] m, float[::1] v, vmax, float lr,
                float beta1, float beta2, float eps, float weight_decay, bint decoupled, int64_t step):
    """Adam/AdamW step on flat views; vmax is the amsgrad buffer or None."""
    cdef float[::1] vm
    cdef float* vmp = NULL
    if p.shape[0] == 0:
        return
    if vmax is not None:
        vm = vmax
        vmp = &vm[0]
    with nogil:
        cnn_adam_update(&p[0], &grad[0], &m[0], &v[0], vmp, p.shape[0], lr, beta1, beta2, eps,
                        weight_decay, decoupled, step)
