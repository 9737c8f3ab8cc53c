"""ReLU, ReLU6 and Dropout."""
import numpy as np

from .. import _random
from ..functional import _activation as A
from ..functional._layout import Blocked
from ..functional._validate import float_arg
from . import _flow
from .module import Module


class _Elementwise(Module):
    """Base of the elementwise activations: Blocked in -> Blocked out, arrays of any shape in ->
    arrays out. `inplace` is accepted for PyTorch compatibility; cnncore never modifies inputs."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)
        self._cache = None

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""

    def flops(self, in_shape, out_shape):
        return self._flops_per_element * int(np.prod(out_shape))

    def forward(self, x):
        y = self._fwd_blocked(x) if isinstance(x, Blocked) else self._fwd(x)
        self._cache = y
        _flow.record(self, y.shape, y.shape)
        return y

    def backward(self, grad_output, input_grad=True):
        if self._cache is None:
            raise _flow.no_cache_error(self)
        y = self._cache
        self._cache = None
        if isinstance(y, Blocked):
            dyb = _flow.grad_enter(grad_output, y.shape, self)
            return self._bwd_blocked(dyb, y)
        return self._bwd(grad_output, y)


class ReLU(_Elementwise):
    """max(x, 0), as torch.nn.ReLU."""
    _fwd = staticmethod(A.relu)
    _fwd_blocked = staticmethod(A.relu_blocked)
    _bwd = staticmethod(A.relu_backward)
    _bwd_blocked = staticmethod(A.relu_backward_blocked)
    _flops_per_element = 1


class ReLU6(_Elementwise):
    """min(max(x, 0), 6), as torch.nn.ReLU6."""
    _fwd = staticmethod(A.relu6)
    _fwd_blocked = staticmethod(A.relu6_blocked)
    _bwd = staticmethod(A.relu6_backward)
    _bwd_blocked = staticmethod(A.relu6_backward_blocked)
    _flops_per_element = 2


class Dropout(Module):
    """Zeroes elements with probability p in training, scaling the rest by 1/(1-p); identity in
    eval mode. Each forward draws a new mask seed from cnncore's generator (cnncore.manual_seed)."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p = float_arg(p, "p", 0.0, 1.0)
        self.inplace = bool(inplace)
        self._cache = None

    def extra_repr(self):
        return "p=%s" % self.p

    def forward(self, x):
        active = self.training and self.p > 0
        seed = _random.next_seed() if active else 0
        if isinstance(x, Blocked):
            y = A.dropout_blocked(x, self.p, active, seed)
        else:
            y = A.dropout(x, self.p, active, seed)
        self._cache = (active, seed, tuple(y.shape), isinstance(x, Blocked))
        _flow.record(self, y.shape, y.shape)
        return y

    def backward(self, grad_output, input_grad=True):
        if self._cache is None:
            raise _flow.no_cache_error(self)
        active, seed, shape, blocked = self._cache
        got = grad_output.shape if isinstance(grad_output, Blocked) else np.shape(grad_output)
        if tuple(got) != shape:
            raise ValueError("Dropout.backward: grad_output: expected shape %s, got %s"
                             % (shape, tuple(got)))
        self._cache = None
        if not active:
            return grad_output
        if blocked:
            return A.dropout_backward_blocked(_flow.grad_enter(grad_output, shape, self), self.p, seed)
        return A.dropout_backward(grad_output, self.p, seed)
