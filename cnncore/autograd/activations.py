"""Recorded activations. ReLU, ReLU6, LeakyReLU, Sigmoid, Tanh, SiLU, Hardswish and Hardsigmoid
run the C kernels of cnn_act.h (and are fused into a pending convolution's epilogue, a ReLU also
into a batch norm; see fusion); GELU, ELU, Mish and softmax are NumPy expressions on the raw
values, blocked data included (padded lanes reset to zero where f(0) != 0). Formulas and
gradients are PyTorch's."""
import numbers
from collections import namedtuple

import numpy as np

from .. import _kernels
from ..functional._layout import Blocked
from . import fusion
from .ops import as_tensor, output
from .tracehook import traced
from .values import as_blocked, as_plain, zero_pad_lanes


def _raw(v):
    return v.data if isinstance(v, Blocked) else v


def _layout(v):
    """The channel count of a blocked value, None for a plain one (what backward needs to know
    of the input's representation, without keeping the input alive)."""
    return v.channels if isinstance(v, Blocked) else None


def _wrap(data, channels):
    """data in the representation given by _layout: blocked (padded lanes zeroed) or plain."""
    if channels is not None:
        return Blocked(zero_pad_lanes(data, channels), channels)
    return data


def _grad_raw(g, channels):
    return as_blocked(g).data if channels is not None else as_plain(g)


def _elementwise(x, name, forward, backward, save="x"):
    """y = forward(x) elementwise; backward(g, x, y) -> dx on raw arrays."""
    x = as_tensor(x, "input")
    v = x.value
    xr, ch = _raw(v), _layout(v)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        yr = np.asarray(forward(xr), dtype=np.float32)
    y = _wrap(yr, ch)
    keep_x = xr if "x" in save else None
    keep_y = yr if "y" in save else None

    def grad_fn(g, needs):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            d = np.asarray(backward(_grad_raw(g, ch), keep_x, keep_y), dtype=np.float32)
        return [_wrap(np.ascontiguousarray(d), ch)]

    return output(y, x.shape, [x], name, grad_fn)


class Act(namedtuple("Act", "kind alpha name")):
    """An activation the C kernels run (cnn_act.h): kind number, parameter, graph name. The
    same kinds run in the convolution epilogue when fused (cnncore.autograd.fusion)."""

    __slots__ = ()

    @property
    def grad_from_output(self):
        return _kernels.act_grad_from_output(self.kind, self.alpha)


RELU, RELU6 = Act(1, 0.0, "ReLU"), Act(2, 0.0, "ReLU6")
SIGMOID, TANH, SILU = Act(4, 0.0, "Sigmoid"), Act(5, 0.0, "Tanh"), Act(6, 0.0, "SiLU")
HARDSWISH, HARDSIGMOID = Act(7, 0.0, "Hardswish"), Act(8, 0.0, "Hardsigmoid")


def leaky(negative_slope):
    return Act(3, float(negative_slope), "LeakyReLU")


def apply(x, act):
    """act(x), recorded: fused into a pending producer of x where fusion allows, else the C
    elementwise kernel (padded lanes of blocked values re-zeroed: f(0) may be nonzero)."""
    x = as_tensor(x, "input")
    fused = fusion.activation(x, act)
    if fused is not None:
        return fused
    v = x.value
    ch = _layout(v)
    xr = _raw(v)
    yr = _kernels.act_forward(act.kind, act.alpha, xr)
    y = _wrap(yr, ch)
    keep_x = None if act.grad_from_output else xr

    def grad_fn(g, needs):
        return [_wrap(_kernels.act_backward(act.kind, act.alpha, _grad_raw(g, ch), keep_x, yr), ch)]

    return output(y, x.shape, [x], act.name, grad_fn)


@traced("relu")
def relu(x):
    """max(x, 0) (fused into a pending convolution or batch norm that produced x)."""
    return apply(x, RELU)


@traced("relu6")
def relu6(x):
    """min(max(x, 0), 6)."""
    return apply(x, RELU6)


@traced("leaky_relu")
def leaky_relu(x, negative_slope=0.01):
    """x if x > 0 else negative_slope * x."""
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise TypeError("negative_slope: expected a number, got %r" % (negative_slope,))
    return apply(x, leaky(negative_slope))


@traced("abs")
def abs(x):
    """|x| (gradient sign(x), 0 at 0, as torch)."""
    return _elementwise(x, "Abs", np.abs, lambda g, a, y: g * np.sign(a))


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


@traced("sigmoid")
def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return apply(x, SIGMOID)


@traced("tanh")
def tanh(x):
    return apply(x, TANH)


@traced("silu")
def silu(x):
    """x * sigmoid(x) (swish)."""
    return apply(x, SILU)


@traced("hardswish")
def hardswish(x):
    """x * relu6(x + 3) / 6."""
    return apply(x, HARDSWISH)


@traced("hardsigmoid")
def hardsigmoid(x):
    """relu6(x + 3) / 6."""
    return apply(x, HARDSIGMOID)


@traced("elu")
def elu(x, alpha=1.0):
    """x if x > 0 else alpha * (exp(x) - 1)."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError("alpha: expected a number, got %r" % (alpha,))
    a32 = np.float32(alpha)
    return _elementwise(x, "ELU", lambda a: np.where(a > 0, a, a32 * np.expm1(np.minimum(a, 0))),
                        lambda g, a, y: np.where(a > 0, g, g * a32 * np.exp(np.minimum(a, 0))))


@traced("mish")
def mish(x):
    """x * tanh(softplus(x))."""
    def backward(g, a, y):
        a64 = a.astype(np.float64)
        t = np.tanh(np.logaddexp(0.0, a64))
        return g * (t + a64 * _sigmoid(a64) * (1 - t * t))

    return _elementwise(x, "Mish", lambda a: a * np.tanh(np.logaddexp(0.0, a.astype(np.float64))),
                        backward)


def _erf(a):
    """erf to about 1.5e-7 absolute (Abramowitz and Stegun 7.1.26), in float64."""
    a = np.asarray(a, dtype=np.float64)
    s = np.sign(a)
    z = np.abs(a)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return s * (1.0 - poly * np.exp(-z * z))


_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)


@traced("gelu")
def gelu(x, approximate="none"):
    """x * Phi(x) (approximate='none') or its tanh approximation (approximate='tanh')."""
    if approximate not in ("none", "tanh"):
        raise ValueError("approximate: expected 'none' or 'tanh', got %r" % (approximate,))
    if approximate == "none":
        def forward(a):
            return 0.5 * a * (1.0 + _erf(a / np.sqrt(2.0)))

        def backward(g, a, y):
            a64 = a.astype(np.float64)
            cdf = 0.5 * (1.0 + _erf(a64 / np.sqrt(2.0)))
            pdf = np.exp(-0.5 * a64 * a64) / np.sqrt(2 * np.pi)
            return g * (cdf + a64 * pdf)
    else:
        def forward(a):
            a64 = a.astype(np.float64)
            return 0.5 * a64 * (1 + np.tanh(_SQRT_2_OVER_PI * (a64 + 0.044715 * a64 ** 3)))

        def backward(g, a, y):
            a64 = a.astype(np.float64)
            inner = _SQRT_2_OVER_PI * (a64 + 0.044715 * a64 ** 3)
            th = np.tanh(inner)
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * a64 * a64)
            return g * (0.5 * (1 + th) + 0.5 * a64 * (1 - th * th) * d_inner)
    return _elementwise(x, "GELU", forward, backward)


def _dim_arg(dim, ndim):
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or not -ndim <= dim < max(ndim, 1):
        raise ValueError("dim: expected a dimension in [%d, %d), got %r" % (-ndim, ndim, dim))
    return int(dim) % max(ndim, 1)


@traced("softmax")
def softmax(x, dim):
    """exp(x) / sum(exp(x)) along `dim` (stable: the maximum is subtracted first)."""
    return _softmax(x, dim, log=False)


@traced("log_softmax")
def log_softmax(x, dim):
    """x - log(sum(exp(x))) along `dim`."""
    return _softmax(x, dim, log=True)


def _softmax(x, dim, log):
    x = as_tensor(x, "input")
    d = _dim_arg(dim, x.ndim)
    v = x.value
    blk = isinstance(v, Blocked)
    a = as_plain(v).astype(np.float64)
    shifted = a - a.max(axis=d, keepdims=True) if a.size else a
    if log:
        y = shifted - np.log(np.exp(shifted).sum(axis=d, keepdims=True))
    else:
        e = np.exp(shifted)
        y = e / e.sum(axis=d, keepdims=True)
    y32 = np.ascontiguousarray(y, dtype=np.float32)

    def grad_fn(g, needs):
        gp = as_plain(g).astype(np.float64)
        if log:
            dx = gp - np.exp(y) * gp.sum(axis=d, keepdims=True)
        else:
            dx = y * (gp - (gp * y).sum(axis=d, keepdims=True))
        dx = np.ascontiguousarray(dx, dtype=np.float32)
        return [as_blocked(dx) if blk else dx]

    value = as_blocked(y32) if blk else y32
    return output(value, x.shape, [x], "LogSoftmax" if log else "Softmax", grad_fn)
