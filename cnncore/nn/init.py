"""Parameter initialization with torch.nn.init's names, arguments and formulas.

Each function fills a Parameter (by assigning `p.data`, so packed weights are repacked) or a
writable float NumPy array (in place) and returns it. Random values come from cnncore's
generator, so `cnncore.manual_seed(s)` makes them reproducible (they are not torch's numbers).
"""
import math
import numbers

import numpy as np

from .. import _random
from .parameter import Parameter

__all__ = ["calculate_gain", "constant_", "kaiming_normal_", "kaiming_uniform_", "normal_", "ones_",
           "trunc_normal_", "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_"]


def _shape(tensor):
    if isinstance(tensor, Parameter):
        return tensor.shape
    if isinstance(tensor, np.ndarray):
        if tensor.dtype.kind != "f":
            raise TypeError("tensor: expected a float array, got dtype %s" % tensor.dtype)
        if not tensor.flags.writeable:
            raise ValueError("tensor: the array is read-only (pass the Parameter, not its .data)")
        return tensor.shape
    raise TypeError("tensor: expected a Parameter or a writable NumPy array, got %s" % type(tensor).__name__)


def _set(tensor, values):
    if isinstance(tensor, Parameter):
        tensor.data = values
    else:
        tensor[...] = values
    return tensor


def _number(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError("%s: expected a real number, got %r" % (name, value))
    return float(value)


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain: 1 for linear,
    conv and sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope**2)) for leaky_relu
    (param: the slope, default 0.01), 3/4 for selu."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (bool, np.bool_)) or not isinstance(param, numbers.Real):
            raise ValueError("param: expected a number (the negative slope), got %r" % (param,))
        else:
            slope = float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError("nonlinearity: unsupported nonlinearity %r" % (nonlinearity,))


def _calculate_fan_in_and_fan_out(shape):
    if len(shape) < 2:
        raise ValueError("tensor: fan in and fan out can not be computed for a tensor with fewer "
                         "than 2 dimensions, got shape %s" % (tuple(shape),))
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fan(shape, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError("mode: expected 'fan_in' or 'fan_out', got %r" % (mode,))
    fan_in, fan_out = _calculate_fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with values uniform in [a, b)."""
    shape = _shape(tensor)
    a, b = _number(a, "a"), _number(b, "b")
    if b < a:
        raise ValueError("b: expected b >= a, got a=%r, b=%r" % (a, b))
    return _set(tensor, _random.generator().uniform(a, b, size=shape).astype(np.float32))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with values from N(mean, std**2)."""
    shape = _shape(tensor)
    mean, std = _number(mean, "mean"), _number(std, "std")
    if std < 0:
        raise ValueError("std: expected a number >= 0, got %r" % (std,))
    return _set(tensor, _random.generator().normal(mean, std, size=shape).astype(np.float32))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Fill with values from N(mean, std**2) truncated to [a, b] (absolute bounds, as torch's),
    by the inverse CDF of a uniform draw."""
    shape = _shape(tensor)
    mean, std, a, b = (_number(v, n) for v, n in ((mean, "mean"), (std, "std"), (a, "a"), (b, "b")))
    if std <= 0:
        raise ValueError("std: expected a number > 0, got %r" % (std,))
    if b <= a:
        raise ValueError("b: expected b > a, got a=%r, b=%r" % (a, b))
    lo = (1.0 + math.erf((a - mean) / std / math.sqrt(2.0))) / 2.0
    hi = (1.0 + math.erf((b - mean) / std / math.sqrt(2.0))) / 2.0
    u = _random.generator().uniform(2 * lo - 1, 2 * hi - 1, size=shape)
    return _set(tensor, np.clip(mean + std * math.sqrt(2.0) * _erfinv(u), a, b).astype(np.float32))


_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                   -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _erfinv(x):
    """Inverse error function on (-1, 1), float64 in and out: Giles' single-precision
    polynomials ("Approximating the erfinv function", 2010), enough for float32 values."""
    x = np.clip(np.asarray(x, np.float64), -1 + 1e-16, 1 - 1e-16)
    w = -np.log((1.0 - x) * (1.0 + x))
    central = w < 5.0
    wc, wt = w - 2.5, np.sqrt(w) - 3.0
    pc, pt = np.zeros_like(x), np.zeros_like(x)
    for c in _ERFINV_CENTRAL:
        pc = c + pc * wc
    for c in _ERFINV_TAIL:
        pt = c + pt * wt
    return np.where(central, pc, pt) * x


def constant_(tensor, val):
    """Fill with val."""
    shape = _shape(tensor)
    return _set(tensor, np.full(shape, _number(val, "val"), np.float32))


def ones_(tensor):
    """Fill with ones."""
    return constant_(tensor, 1.0)


def zeros_(tensor):
    """Fill with zeros."""
    return constant_(tensor, 0.0)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_shape(tensor))
    std = _number(gain, "gain") * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor, gain=1.0):
    """Glorot normal: N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_shape(tensor))
    return normal_(tensor, 0.0, _number(gain, "gain") * math.sqrt(2.0 / float(fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _fan(_shape(tensor), mode)
    if fan == 0:
        raise ValueError("tensor: initializing a zero-element tensor (shape %s) is a no-op"
                         % (tuple(_shape(tensor)),))
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He uniform: U(-bound, bound), bound = gain * sqrt(3 / fan) (fan: mode's fan)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He normal: N(0, std**2), std = gain / sqrt(fan)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))
