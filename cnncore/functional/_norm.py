"""Batch normalization, plain and fused with ReLU or with a residual add and ReLU.

The public functions take NCHW arrays like torch.nn.functional.batch_norm ((N, C) and (N, C, L)
inputs are accepted too, as BatchNorm1d). As in torch, the running statistics are state: in
training they are updated IN PLACE (so they must be float32, C-contiguous, writeable (C,) arrays,
or None for no tracking); every other input is left untouched.

The *_blocked functions are the internal entry points of the layer API: they take and return
Blocked (NCHW16c) activations and always return the saved statistics the backward needs.
"""
import numpy as np

from .. import _kernels
from ._layout import Blocked, check_blocked, from_blocked, to_blocked
from ._validate import as_float32, bool_arg, check_shape, float_arg

__all__ = [
    "batch_norm", "batch_norm_backward",
    "batch_norm_relu", "batch_norm_relu_backward",
    "batch_norm_add_relu", "batch_norm_add_relu_backward",
    "batch_norm_blocked", "batch_norm_backward_blocked",
    "batch_norm_relu_blocked", "batch_norm_relu_backward_blocked",
    "batch_norm_add_relu_blocked", "batch_norm_add_relu_backward_blocked",
]

_SHAPE = "(N, C, H, W) (or (N, C) / (N, C, L))"


# ------------------------------------------------------------------------------ validation ---



def _as_nchw(x, name):
    """A 2-, 3- or 4-d array as C-contiguous float32 (N, C, H, W), and its original shape."""
    arr = as_float32(x, name, (2, 3, 4), _SHAPE)
    shape = arr.shape
    if arr.ndim < 4:
        arr = arr.reshape(shape + (1,) * (4 - arr.ndim))
    if shape[1] == 0:
        raise ValueError("%s: expected at least one channel, got shape %s" % (name, shape))
    return arr, shape


def _channel_vector(v, name, c):
    """Optional per-channel (C,) parameter, converted to float32 (never modified)."""
    if v is None:
        return None
    arr = as_float32(v, name, 1, "(C,)")
    check_shape(arr, name, (c,))
    return arr


def _running_stat(v, name, c, training):
    """A running statistic: in training it is updated in place, so it must already be a
    writeable C-contiguous float32 (C,) ndarray; in eval it is only read (any real (C,) array)."""
    if v is None:
        return None
    if not training:
        return _channel_vector(v, name, c)
    if not isinstance(v, np.ndarray):
        raise TypeError("%s: expected a float32 numpy array of shape (%d,) (updated in place in "
                        "training), got %s" % (name, c, type(v).__name__))
    if v.dtype != np.float32:
        raise TypeError("%s: expected dtype float32 (updated in place in training), got %s"
                        % (name, v.dtype))
    if v.shape != (c,):
        raise ValueError("%s: expected shape (%d,), got %s" % (name, c, v.shape))
    if not v.flags.c_contiguous:
        raise ValueError("%s: expected a C-contiguous array (updated in place in training)" % name)
    if not v.flags.writeable:
        raise ValueError("%s: expected a writeable array (updated in place in training)" % name)
    return v


class _BNArgs:
    """The validated scalar and per-channel arguments of one batch-norm call."""

    __slots__ = ("running_mean", "running_var", "weight", "bias", "training", "momentum", "eps")

    def __init__(self, c, running_mean, running_var, weight, bias, training, momentum, eps):
        self.training = bool_arg(training, "training")
        self.momentum = float_arg(momentum, "momentum", 0.0, 1.0)
        self.eps = float_arg(eps, "eps", 0.0, None)
        self.running_mean = _running_stat(running_mean, "running_mean", c, self.training)
        self.running_var = _running_stat(running_var, "running_var", c, self.training)
        if (self.training and self.running_mean is not None and self.running_var is not None
                and np.shares_memory(self.running_mean, self.running_var)):
            raise ValueError("running_var: expected an array not overlapping running_mean")
        if not self.training:
            for stat, name in ((self.running_mean, "running_mean"), (self.running_var, "running_var")):
                if stat is None:
                    raise ValueError("%s: required in eval mode (training=False), got None" % name)
        self.weight = _channel_vector(weight, "weight", c)
        self.bias = _channel_vector(bias, "bias", c)


def _check_count(shape, training):
    """torch's rule: training needs more than one value per channel (empty inputs pass)."""
    count = shape[0] * int(np.prod(shape[2:], dtype=np.int64))
    if training and count == 1:
        raise ValueError("input: expected more than 1 value per channel when training, got input "
                         "of shape %s" % (tuple(shape),))


def _check_same_blocked(ab, bb, name):
    check_blocked(bb, name)
    if bb.shape != ab.shape:
        raise ValueError("%s: expected shape %s, got %s" % (name, ab.shape, bb.shape))


def _stats_vector(v, name, c):
    arr = as_float32(v, name, 1, "(C,)")
    check_shape(arr, name, (c,))
    return arr


# ------------------------------------------------------------------- blocked entry points ---

def _forward_blocked(xb, rb, relu, a):
    c = xb.channels
    n, _, h, w = xb.shape
    if n * h * w == 0:  # empty batch: empty output, running statistics untouched (as torch)
        y = Blocked(np.zeros_like(xb.data), c)
        if a.training:
            return y, np.zeros(c, np.float32), np.ones(c, np.float32)
        mean = a.running_mean.copy()
        invstd = (1.0 / np.sqrt(a.running_var.astype(np.float64) + a.eps)).astype(np.float32)
        return y, mean, invstd
    y, save_mean, save_invstd = _kernels.batch_norm_forward(
        xb.data, c, None if rb is None else rb.data, relu, a.weight, a.bias, a.training,
        a.momentum, a.eps, a.running_mean, a.running_var)
    return Blocked(y, c), save_mean, save_invstd


def batch_norm_blocked(xb, running_mean, running_var, weight=None, bias=None, training=False,
                       momentum=0.1, eps=1e-5):
    """batch_norm on a Blocked input: returns (Blocked y, save_mean, save_invstd).

    Same arguments and in-place running-statistics update as batch_norm."""
    check_blocked(xb, "input")
    a = _BNArgs(xb.channels, running_mean, running_var, weight, bias, training, momentum, eps)
    _check_count(xb.shape, a.training)
    return _forward_blocked(xb, None, False, a)


def batch_norm_relu_blocked(xb, running_mean, running_var, weight=None, bias=None,
                            training=False, momentum=0.1, eps=1e-5):
    """relu(batch_norm(x)) on a Blocked input, one pass: (Blocked y, save_mean, save_invstd)."""
    check_blocked(xb, "input")
    a = _BNArgs(xb.channels, running_mean, running_var, weight, bias, training, momentum, eps)
    _check_count(xb.shape, a.training)
    return _forward_blocked(xb, None, True, a)


def batch_norm_add_relu_blocked(xb, rb, running_mean, running_var, weight=None, bias=None,
                                training=False, momentum=0.1, eps=1e-5):
    """relu(batch_norm(x) + residual) on Blocked inputs, one pass:
    (Blocked y, save_mean, save_invstd)."""
    check_blocked(xb, "input")
    _check_same_blocked(xb, rb, "residual")
    a = _BNArgs(xb.channels, running_mean, running_var, weight, bias, training, momentum, eps)
    _check_count(xb.shape, a.training)
    return _forward_blocked(xb, rb, True, a)


def _backward_blocked(dyb, yb, xb, weight, save_mean, save_invstd, training, want_residual):
    check_blocked(xb, "input")
    _check_same_blocked(xb, dyb, "grad_output")
    if yb is not None:
        _check_same_blocked(xb, yb, "output")
    c = xb.channels
    w = _channel_vector(weight, "weight", c)
    sm = _stats_vector(save_mean, "save_mean", c)
    si = _stats_vector(save_invstd, "save_invstd", c)
    training = bool_arg(training, "training")
    n, _, h, wd = xb.shape
    if n * h * wd == 0:
        dx = Blocked(np.zeros_like(xb.data), c)
        dr = Blocked(np.zeros_like(xb.data), c) if want_residual else None
        return dx, dr, np.zeros(c, np.float32), np.zeros(c, np.float32)
    dx, dr, dw, db = _kernels.batch_norm_backward(
        dyb.data, xb.data, c, None if yb is None else yb.data, want_residual, w, sm, si, training)
    return Blocked(dx, c), (Blocked(dr, c) if want_residual else None), dw, db


def batch_norm_backward_blocked(dyb, xb, weight, save_mean, save_invstd, training=True):
    """Gradients of batch_norm_blocked: (Blocked grad_input, grad_weight, grad_bias)."""
    dx, _, dw, db = _backward_blocked(dyb, None, xb, weight, save_mean, save_invstd, training, False)
    return dx, dw, db


def batch_norm_relu_backward_blocked(dyb, yb, xb, weight, save_mean, save_invstd, training=True):
    """Gradients of batch_norm_relu_blocked given its output yb:
    (Blocked grad_input, grad_weight, grad_bias)."""
    dx, _, dw, db = _backward_blocked(dyb, yb, xb, weight, save_mean, save_invstd, training, False)
    return dx, dw, db


def batch_norm_add_relu_backward_blocked(dyb, yb, xb, weight, save_mean, save_invstd,
                                         training=True):
    """Gradients of batch_norm_add_relu_blocked given its output yb:
    (Blocked grad_input, Blocked grad_residual, grad_weight, grad_bias)."""
    return _backward_blocked(dyb, yb, xb, weight, save_mean, save_invstd, training, True)


# ---------------------------------------------------------------------- public (NCHW) API ---

def _forward(input, residual, relu, running_mean, running_var, weight, bias, training, momentum,
             eps, return_stats):
    x, shape = _as_nchw(input, "input")
    r = None
    if residual is not None:
        r = as_float32(residual, "residual", len(shape), "like input")
        check_shape(r, "residual", shape)
        r = r.reshape(x.shape)
    a = _BNArgs(shape[1], running_mean, running_var, weight, bias, training, momentum, eps)
    return_stats = bool_arg(return_stats, "return_stats")
    _check_count(shape, a.training)
    yb, save_mean, save_invstd = _forward_blocked(
        to_blocked(x), None if r is None else to_blocked(r, "residual"), relu, a)
    y = from_blocked(yb).reshape(shape)
    return (y, save_mean, save_invstd) if return_stats else y


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, return_stats=False):
    """Batch normalization, as torch.nn.functional.batch_norm.

    input: (N, C, H, W) (or (N, C), (N, C, L)); weight, bias: (C,) or None (1 and 0).
    training=True normalizes with the batch mean and biased variance and, when running_mean /
    running_var are given (each may be None: not tracked), updates them IN PLACE:
    running = (1 - momentum) * running + momentum * stat, with the unbiased variance. They must
    then be writeable float32 C-contiguous (C,) arrays. Training needs more than one value per
    channel (N * H * W > 1); an empty batch gives an empty output and leaves them untouched.
    training=False normalizes with running_mean / running_var (required, only read).

    Returns y (float32, input's shape) or, with return_stats=True, (y, save_mean, save_invstd):
    the mean and 1/sqrt(var + eps) used, which batch_norm_backward takes.
    """
    return _forward(input, None, False, running_mean, running_var, weight, bias, training,
                    momentum, eps, return_stats)


def batch_norm_relu(input, running_mean, running_var, weight=None, bias=None, training=False,
                    momentum=0.1, eps=1e-5, return_stats=False):
    """relu(batch_norm(...)) in one pass; same arguments and results as batch_norm."""
    return _forward(input, None, True, running_mean, running_var, weight, bias, training,
                    momentum, eps, return_stats)


def batch_norm_add_relu(input, residual, running_mean, running_var, weight=None, bias=None,
                        training=False, momentum=0.1, eps=1e-5, return_stats=False):
    """relu(batch_norm(input) + residual) in one pass (the end of a residual block).

    residual has input's shape; the other arguments and the results are batch_norm's."""
    if residual is None:
        raise TypeError("residual: expected an array of the input's shape, got None")
    return _forward(input, residual, True, running_mean, running_var, weight, bias, training,
                    momentum, eps, return_stats)


def _backward(grad_output, output, input, weight, save_mean, save_invstd, training, want_residual):
    x, shape = _as_nchw(input, "input")
    dy = as_float32(grad_output, "grad_output", len(shape), "like input")
    check_shape(dy, "grad_output", shape)
    y = None
    if output is not None:
        y = as_float32(output, "output", len(shape), "like input")
        check_shape(y, "output", shape)
        y = to_blocked(y.reshape(x.shape), "output")
    c = shape[1]
    _channel_vector(weight, "weight", c)
    _stats_vector(save_mean, "save_mean", c)
    _stats_vector(save_invstd, "save_invstd", c)
    bool_arg(training, "training")
    dxb, drb, dw, db = _backward_blocked(
        to_blocked(dy.reshape(x.shape), "grad_output"), y, to_blocked(x), weight, save_mean,
        save_invstd, training, want_residual)
    dx = from_blocked(dxb).reshape(shape)
    if want_residual:
        return dx, from_blocked(drb).reshape(shape), dw, db
    return dx, dw, db


def batch_norm_backward(grad_output, input, weight, save_mean, save_invstd, training=True):
    """Gradients of batch_norm: (grad_input, grad_weight, grad_bias).

    save_mean / save_invstd are what batch_norm(..., return_stats=True) returned. training=True
    differentiates through the batch statistics; training=False treats them as constants (eval):
    grad_input = grad_output * weight * save_invstd. weight None means 1; grad_weight and
    grad_bias are returned either way.
    """
    return _backward(grad_output, None, input, weight, save_mean, save_invstd, training, False)


def batch_norm_relu_backward(grad_output, output, input, weight, save_mean, save_invstd,
                             training=True):
    """Gradients of batch_norm_relu given its output: (grad_input, grad_weight, grad_bias).

    The ReLU mask (output > 0) is applied inside the batch-norm backward pass."""
    if output is None:
        raise TypeError("output: expected batch_norm_relu's output, got None")
    return _backward(grad_output, output, input, weight, save_mean, save_invstd, training, False)


def batch_norm_add_relu_backward(grad_output, output, input, weight, save_mean, save_invstd,
                                 training=True):
    """Gradients of batch_norm_add_relu given its output:
    (grad_input, grad_residual, grad_weight, grad_bias)."""
    if output is None:
        raise TypeError("output: expected batch_norm_add_relu's output, got None")
    return _backward(grad_output, output, input, weight, save_mean, save_invstd, training, True)
