"""Stochastic depth (torchvision.ops.StochasticDepth / stochastic_depth): in training, drop a
residual branch per sample ("row") or for the whole batch ("batch") with probability p and scale
the kept ones by 1 / (1 - p); identity in eval mode."""
import numpy as np

from .. import _random
from ..autograd.ops import as_tensor, mul
from ..autograd.tensor import Tensor
from ..functional._validate import float_arg
from .module import Module

__all__ = ["StochasticDepth", "stochastic_depth"]


def _check(p, mode):
    p = float_arg(p, "p", 0.0, 1.0)
    if mode not in ("row", "batch"):
        raise ValueError("mode: expected 'row' or 'batch', got %r" % (mode,))
    return p


def stochastic_depth(input, p, mode, training=True):
    """torchvision.ops.stochastic_depth: input (N, ...) times a Bernoulli(1 - p) noise of shape
    (N, 1, ...) ("row") or (1, ...) ("batch"), divided by 1 - p; input itself when not training or
    p == 0. The noise draws from cnncore's generator (cnncore.manual_seed). A Tensor input gives a
    recorded Tensor, a NumPy input a NumPy array (as cnncore.functional)."""
    p = _check(p, mode)
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError("training: expected a bool, got %r" % (training,))
    x = as_tensor(input, "input")
    y = _stochastic_depth(x, p, mode, training)
    return y if isinstance(input, Tensor) else y.numpy()


def _stochastic_depth(x, p, mode, training):
    if not training or p == 0.0:
        return x
    survival = 1.0 - p
    n = x.shape[0] if mode == "row" else 1
    keep = (_random.generator().random(n) < survival).astype(np.float32)
    if survival > 0.0:
        keep /= np.float32(survival)
    # per-sample scale broadcast over channels (a (N, C, 1, 1) operand keeps activations blocked)
    shape = (n,) + ((x.shape[1],) if x.ndim > 1 else ()) + (1,) * max(0, x.ndim - 2)
    noise = np.ascontiguousarray(np.broadcast_to(keep.reshape((n,) + (1,) * (x.ndim - 1)), shape))
    return mul(x, noise)


class StochasticDepth(Module):
    """torchvision.ops.StochasticDepth(p, mode): stochastic_depth(input, p, mode, self.training)."""

    _keeps_channels = True

    def __init__(self, p, mode):
        super().__init__()
        self.p = _check(p, mode)
        self.mode = mode

    def extra_repr(self):
        return "p=%s, mode=%s" % (self.p, self.mode)

    def forward(self, input):
        return _stochastic_depth(as_tensor(input, "input"), self.p, self.mode, self.training)
