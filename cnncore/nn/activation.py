"""Activation modules and Dropout: thin modules over cnncore.autograd's recorded ops."""
from .. import _random
from ..autograd import activations as A
from ..autograd.layers import dropout as _dropout
from ..autograd.ops import as_tensor
from ..functional._validate import float_arg, int_arg
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


class GELU(_Elementwise):
    """x * Phi(x), as torch.nn.GELU(approximate='none'); approximate='tanh' uses the tanh
    approximation."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError("approximate: expected 'none' or 'tanh', got %r" % (approximate,))
        self.approximate = approximate

    def extra_repr(self):
        return "approximate=%r" % self.approximate

    def forward(self, x):
        return A.gelu(as_tensor(x, "GELU input"), self.approximate)


class _WithNumber(_Elementwise):
    """An elementwise activation with one number argument, named `_arg`."""

    def __init__(self, value, inplace=False):
        super().__init__(inplace)
        setattr(self, self._arg, float_arg(value, self._arg))

    def extra_repr(self):
        return "%s=%s%s" % (self._arg, getattr(self, self._arg), ", inplace=True" if self.inplace else "")

    def forward(self, x):
        return self._op(as_tensor(x, "%s input" % type(self).__name__), getattr(self, self._arg))


class LeakyReLU(_WithNumber):
    """x if x > 0 else negative_slope * x, as torch.nn.LeakyReLU(negative_slope=0.01)."""
    _op = staticmethod(A.leaky_relu)
    _arg = "negative_slope"

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(negative_slope, inplace)


class ELU(_WithNumber):
    """x if x > 0 else alpha * (exp(x) - 1), as torch.nn.ELU(alpha=1.0)."""
    _op = staticmethod(A.elu)
    _arg = "alpha"

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(alpha, inplace)


class Mish(_Elementwise):
    """x * tanh(softplus(x)), as torch.nn.Mish."""
    _op = staticmethod(A.mish)


def _softmax_dim(dim, ndim):
    """torch's implicit dim when dim is None: 0 for 0-, 1- and 3-d inputs, else 1."""
    if dim is not None:
        return dim
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """exp(x) / sum(exp(x)) along dim, as torch.nn.Softmax(dim=None) (dim None: torch's
    implicit choice, 0 for 0-, 1- and 3-d inputs, else 1)."""

    _keeps_channels = True
    _log = False

    def __init__(self, dim=None):
        super().__init__()
        if dim is not None:
            int_arg(dim, "dim")
        self.dim = dim

    def extra_repr(self):
        return "dim=%s" % (self.dim,)

    def forward(self, x):
        t = as_tensor(x, "%s input" % type(self).__name__)
        op = A.log_softmax if self._log else A.softmax
        return op(t, _softmax_dim(self.dim, t.ndim))


class LogSoftmax(Softmax):
    """x - log(sum(exp(x))) along dim, as torch.nn.LogSoftmax(dim=None)."""
    _log = True


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
