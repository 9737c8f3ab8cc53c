"""Linear, Flatten and Identity."""
import math

import numpy as np

from .. import _random
from ..autograd import layers as L
from ..autograd.ops import as_tensor, flatten
from ..functional._linear import PackedLinear
from ..functional._validate import int_arg
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
        x = as_tensor(x, "Linear input")
        if x.ndim != 2:
            raise ValueError("Linear input: expected a 2-d array (N, in_features), got shape %s" % (x.shape,))
        if x.shape[1] != self.in_features:
            raise ValueError("Linear input: expected %d features, got shape %s" % (self.in_features, x.shape))
        return L.linear(x, self.packed(), self.weight, self.bias)

    def flops(self, in_shape, out_shape):
        return 2 * in_shape[0] * self.in_features * self.out_features


class Flatten(Module):
    """Flatten dims start_dim..end_dim (default 1..-1) in NCHW order, as torch.nn.Flatten. A
    blocked activation is reordered to NCHW here: this is where a net's feature part ends."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        for name, v in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError("%s: expected an int, got %r" % (name, v))
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def extra_repr(self):
        return "start_dim=%d, end_dim=%d" % (self.start_dim, self.end_dim)

    def forward(self, x):
        return flatten(as_tensor(x, "Flatten input"), self.start_dim, self.end_dim)


class Identity(Module):
    """Returns its input (accepts and ignores any constructor arguments, as torch.nn.Identity)."""

    _keeps_channels = True

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return as_tensor(x, "Identity input")
