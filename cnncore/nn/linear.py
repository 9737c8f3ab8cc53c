"""Linear, Flatten and Identity."""
import math

import numpy as np

from .. import _random
from ..functional._layout import Blocked, from_blocked, to_blocked
from ..functional._linear import PackedLinear, linear_backward_packed, linear_packed
from ..functional._validate import as_float32, int_arg
from . import _flow
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """y = x @ weight.T + bias, as torch.nn.Linear(in_features, out_features, bias=True)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = int_arg(in_features, "in_features", 1)
        self.out_features = int_arg(out_features, "out_features", 1)
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight = Parameter(_random.uniform((self.out_features, self.in_features), bound))
        if bias:
            self.bias = Parameter(_random.uniform((self.out_features,), bound))
        else:
            self.register_parameter("bias", None)
        self._packed = None
        self._packed_from = None
        self._cache = None

    def extra_repr(self):
        return "in_features=%d, out_features=%d, bias=%s" % (self.in_features, self.out_features,
                                                             self.bias is not None)

    def packed(self):
        version = self.weight.version
        if self._packed is None or self._packed_from != version:
            self._packed = PackedLinear(self.weight._data)
            self._packed_from = version
        return self._packed

    def forward(self, x):
        arr = as_float32(x, "Linear input", 2, "(N, in_features)")
        if arr.shape[1] != self.in_features:
            raise ValueError("Linear input: expected %d features, got shape %s" % (self.in_features, arr.shape))
        y = linear_packed(arr, self.packed(), None if self.bias is None else self.bias.data)
        # keep a copy, not the caller's array: changing it before backward must not change dw
        self._cache = arr.copy() if arr is x else arr
        _flow.record(self, arr.shape, y.shape)
        return y

    def backward(self, grad_output, input_grad=True):
        if self._cache is None:
            raise _flow.no_cache_error(self)
        x = self._cache
        dy = as_float32(grad_output, "grad_output", 2, "(N, out_features)")
        if dy.shape != (x.shape[0], self.out_features):
            raise ValueError("Linear.backward: grad_output: expected shape %s (the forward output's), got %s"
                             % ((x.shape[0], self.out_features), dy.shape))
        dx, dw, db = linear_backward_packed(dy, x, self.packed(), need_input_grad=input_grad)
        self.weight.accumulate_grad(dw)
        if self.bias is not None:
            self.bias.accumulate_grad(db)
        self._cache = None
        return dx

    def flops(self, in_shape, out_shape):
        return 2 * in_shape[0] * self.in_features * self.out_features


class Flatten(Module):
    """Flatten dims start_dim..end_dim (default 1..-1) in NCHW order, as torch.nn.Flatten. A
    Blocked input is converted to NCHW here: this is where a net's feature part ends."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        for name, v in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError("%s: expected an int, got %r" % (name, v))
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)
        self._cache = None

    def extra_repr(self):
        return "start_dim=%d, end_dim=%d" % (self.start_dim, self.end_dim)

    def forward(self, x):
        was_blocked = isinstance(x, Blocked)
        channels = x.channels if was_blocked else None
        arr = from_blocked(x) if was_blocked else np.asarray(x)
        if arr.dtype.kind not in "fiu":
            raise TypeError("Flatten input: expected a real numeric array, got dtype %s" % arr.dtype)
        nd = arr.ndim
        for name, d in (("start_dim", self.start_dim), ("end_dim", self.end_dim)):
            if nd and not -nd <= d < nd:
                raise ValueError("%s: expected a dimension in [%d, %d) for an input of shape %s, got %d"
                                 % (name, -nd, nd, arr.shape, d))
        s = self.start_dim % nd if nd else 0
        e = self.end_dim % nd if nd else 0
        shape = arr.shape[:s] + (int(np.prod(arr.shape[s:e + 1])),) + arr.shape[e + 1:]
        y = arr.reshape(shape)
        self._cache = (arr.shape, y.shape, was_blocked)
        _flow.record(self, arr.shape, y.shape)
        return y

    def backward(self, grad_output, input_grad=True):
        if self._cache is None:
            raise _flow.no_cache_error(self)
        shape, out_shape, was_blocked = self._cache
        g = np.asarray(grad_output)
        # the exact output shape, not just its size: a transposed gradient must not pass
        if g.shape != out_shape:
            raise ValueError("Flatten.backward: grad_output: expected shape %s (the forward output's), got %s"
                             % (out_shape, g.shape))
        g = g.reshape(shape)
        self._cache = None
        return to_blocked(g, "grad_output") if was_blocked else g


class Identity(Module):
    """Returns its input (accepts and ignores any constructor arguments, as torch.nn.Identity)."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self._shape = None

    def forward(self, x):
        self._shape = x.shape if isinstance(x, Blocked) else np.shape(x)
        _flow.record(self, self._shape, self._shape)
        return x

    def backward(self, grad_output, input_grad=True):
        if self._shape is None:
            raise _flow.no_cache_error(self)
        got = grad_output.shape if isinstance(grad_output, Blocked) else np.shape(grad_output)
        if tuple(got) != tuple(self._shape):
            raise ValueError("Identity.backward: grad_output: expected shape %s, got %s"
                             % (tuple(self._shape), tuple(got)))
        self._shape = None
        return grad_output
