"""Activation modules and Dropout: thin modules over cnncore.autograd's recorded ops."""
from .. import _random
from ..autograd import activations as A
from ..autograd.layers import dropout as _dropout
from ..autograd.ops import as_tensor
from ..functional._validate import float_arg
from .module import Module


class _Elementwise(Module):
    """Base of the elementwise activations (any input shape). `inplace` is accepted for
    PyTorch compatibility; cnncore never modifies inputs."""

    _keeps_channels = True
    _flops_per_element = 1

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""

    def flops(self, in_shape, out_shape):
        n = 1
        for d in out_shape:
            n *= d
        return self._flops_per_element * n

    def forward(self, x):
        return self._op(as_tensor(x, "%s input" % type(self).__name__))


class ReLU(_Elementwise):
    """max(x, 0), as torch.nn.ReLU (fused into a preceding convolution or batch norm)."""
    _op = staticmethod(A.relu)


class ReLU6(_Elementwise):
    """min(max(x, 0), 6), as torch.nn.ReLU6."""
    _op = staticmethod(A.relu6)
    _flops_per_element = 2


class Sigmoid(_Elementwise):
    """1 / (1 + exp(-x)), as torch.nn.Sigmoid."""
    _op = staticmethod(A.sigmoid)

    def __init__(self):
        super().__init__()


class Tanh(_Elementwise):
    """tanh(x), as torch.nn.Tanh."""
    _op = staticmethod(A.tanh)

    def __init__(self):
        super().__init__()


class SiLU(_Elementwise):
    """x * sigmoid(x), as torch.nn.SiLU."""
    _op = staticmethod(A.silu)


class Hardswish(_Elementwise):
    """x * relu6(x + 3) / 6, as torch.nn.Hardswish."""
    _op = staticmethod(A.hardswish)


class Hardsigmoid(_Elementwise):
    """relu6(x + 3) / 6, as torch.nn.Hardsigmoid."""
    _op = staticmethod(A.hardsigmoid)


class Dropout(Module):
    """Zeroes elements with probability p in training, scaling the rest by 1/(1-p); identity in
    eval mode. Each forward draws a new mask seed from cnncore's generator (cnncore.manual_seed)."""

    _keeps_channels = True

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p = float_arg(p, "p", 0.0, 1.0)
        self.inplace = bool(inplace)

    def extra_repr(self):
        return "p=%s" % self.p

    def forward(self, x):
        x = as_tensor(x, "Dropout input")
        if not (self.training and self.p > 0):
            return x
        return _dropout(x, self.p, _random.next_seed())
