"""Padding layers: ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, CircularPad2d
(torch.nn's signatures: padding an int or (left, right, top, bottom))."""
import numbers

from ..autograd import resample as A
from ..functional import _pad as P
from . import _flow
from .module import Module

__all__ = ["ZeroPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d", "CircularPad2d"]


def _four(padding):
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        return (int(padding),) * 4
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        return tuple(padding)
    raise TypeError("padding: expected an int or a 4-tuple (left, right, top, bottom), got %r" % (padding,))


class _Pad2d(Module):
    _keeps_channels = True
    _mode = "constant"

    def __init__(self, padding, value=None):
        super().__init__()
        self.padding = _four(padding)
        P.check_pad_options(self.padding, self._mode, value)
        self._value = value
        self._geom = None

    def extra_repr(self):
        return "%s" % (self.padding,)

    def _check_input_shape(self, shape):
        shape = tuple(shape)
        if self._geom is None or self._geom[0] != shape:
            self._geom = (shape, P.pad_geometry(shape, self.padding, self._mode, self._value))
        return self._geom[1]

    def forward(self, x):
        x = _flow.activation(x, self)
        return A.pad(x, self._check_input_shape(x.shape))


class ConstantPad2d(_Pad2d):
    """Pad with a constant, as torch.nn.ConstantPad2d(padding, value); negative pads crop."""

    def __init__(self, padding, value):
        super().__init__(padding, value)
        self.value = float(value)

    def extra_repr(self):
        return "padding=%s, value=%s" % (self.padding, self.value)


class ZeroPad2d(ConstantPad2d):
    """Pad with zeros, as torch.nn.ZeroPad2d(padding)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ReflectionPad2d(_Pad2d):
    """Mirror padding without repeating the edge, as torch.nn.ReflectionPad2d(padding)
    (each pad smaller than the input's size along it)."""
    _mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Repeat the edge values, as torch.nn.ReplicationPad2d(padding)."""
    _mode = "replicate"


class CircularPad2d(_Pad2d):
    """Wrap around, as torch.nn.CircularPad2d(padding) (each pad at most the input's size)."""
    _mode = "circular"
