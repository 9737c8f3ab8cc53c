"""Elementwise operators (ReLU, ReLU6, add) and dropout, forward and backward.

The public functions take arrays of any shape (NCHW activations, (N, F) features, ...) and return
new float32 arrays; inputs are never modified. The *_blocked functions are the internal entry
points on Blocked (NCHW16c) activations used by the layer API.

Dropout draws no random numbers: element k (its flat index in row-major / NCHW order) is kept
when a splitmix64 hash of (seed, k) says so, with probability 1 - p. The mask is therefore fixed by
the seed alone: the same for any thread count and for the NCHW and blocked forms, and the backward
regenerates it from the seed instead of storing it. Pass a new seed for every training step.
"""
import numbers

import numpy as np

from .. import _kernels
from ._layout import Blocked, check_blocked
from ._validate import as_float32, float_arg

__all__ = [
    "relu", "relu_backward", "relu6", "relu6_backward", "add", "add_backward",
    "dropout", "dropout_backward",
    "relu_blocked", "relu_backward_blocked", "relu6_blocked", "relu6_backward_blocked",
    "add_blocked", "add_backward_blocked", "dropout_blocked", "dropout_backward_blocked",
]


# ------------------------------------------------------------------------------ validation ---

def _array(v, name):
    """Any-shape input as C-contiguous float32, 0-d arrays kept 0-d."""
    arr = as_float32(v, name)
    if arr.ndim != np.ndim(v):
        arr = arr.reshape(np.shape(v))
    return arr


def _same_shape(arr, name, ref, ref_name):
    if arr.shape != ref.shape:
        raise ValueError("%s: expected the shape of %s %s, got %s"
                         % (name, ref_name, ref.shape, arr.shape))


def _pair_of(a, b, name_a, name_b):
    x = _array(a, name_a)
    y = _array(b, name_b)
    _same_shape(y, name_b, x, name_a)
    return x, y


def _blocked_pair(ab, bb, name_a, name_b):
    check_blocked(ab, name_a)
    check_blocked(bb, name_b)
    if ab.shape != bb.shape:
        raise ValueError("%s: expected the shape of %s %s, got %s"
                         % (name_b, name_a, ab.shape, bb.shape))


def _dropout_args(p, seed, training=True):
    p = float_arg(p, "p", 0.0, 1.0)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError("seed: expected an int, got %r" % (seed,))
    seed = int(seed)
    if not 0 <= seed < 2 ** 64:
        raise ValueError("seed: expected an int in [0, 2**64), got %d" % seed)
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError("training: expected a bool, got %r" % (training,))
    return p, seed, bool(training)


# ----------------------------------------------------------------------------------- relu ---

def relu(input):
    """max(input, 0) elementwise, any shape (NaN propagates, as torch.relu)."""
    return _kernels.relu(_array(input, "input"))


def relu_backward(grad_output, output):
    """Gradient of relu given its output: grad_output where output > 0, else 0."""
    dy, y = _pair_of(grad_output, output, "grad_output", "output")
    return _kernels.relu_backward(dy, y)


def relu6(input):
    """min(max(input, 0), 6) elementwise, any shape (as torch.nn.functional.relu6)."""
    return _kernels.relu6(_array(input, "input"))


def relu6_backward(grad_output, output):
    """Gradient of relu6 given its output: grad_output where 0 < output < 6, else 0."""
    dy, y = _pair_of(grad_output, output, "grad_output", "output")
    return _kernels.relu6_backward(dy, y)


def add(a, b):
    """a + b elementwise, for arrays of the same shape (no broadcasting)."""
    x, y = _pair_of(a, b, "a", "b")
    return _kernels.add(x, y)


def add_backward(grad_output):
    """Gradients of add: (grad_a, grad_b), two copies of grad_output as float32."""
    dy = _array(grad_output, "grad_output")
    return dy.copy(), dy.copy()


def relu_blocked(xb):
    """relu of a Blocked tensor (padded lanes stay zero)."""
    check_blocked(xb, "input")
    return Blocked(_kernels.relu(xb.data), xb.channels)


def relu_backward_blocked(dyb, yb):
    """Gradient of relu_blocked given its output yb."""
    _blocked_pair(dyb, yb, "grad_output", "output")
    return Blocked(_kernels.relu_backward(dyb.data, yb.data), dyb.channels)


def relu6_blocked(xb):
    """relu6 of a Blocked tensor."""
    check_blocked(xb, "input")
    return Blocked(_kernels.relu6(xb.data), xb.channels)


def relu6_backward_blocked(dyb, yb):
    """Gradient of relu6_blocked given its output yb."""
    _blocked_pair(dyb, yb, "grad_output", "output")
    return Blocked(_kernels.relu6_backward(dyb.data, yb.data), dyb.channels)


def add_blocked(ab, bb):
    """a + b on Blocked tensors of the same shape."""
    _blocked_pair(ab, bb, "a", "b")
    return Blocked(_kernels.add(ab.data, bb.data), ab.channels)


def add_backward_blocked(dyb):
    """Gradients of add_blocked: (dyb, dyb), the same object twice (no copy; the engine never
    writes into its inputs)."""
    check_blocked(dyb, "grad_output")
    return dyb, dyb


# -------------------------------------------------------------------------------- dropout ---

def dropout(input, p=0.5, training=True, seed=0):
    """Dropout, as torch.nn.functional.dropout with a seed instead of a generator.

    input: any shape ((N, F) features, (N, C, H, W) activations, ...). In training, each element
    is zeroed with probability p (p in [0, 1]; p=1 gives zeros) and the others are scaled by
    1/(1-p); the mask is a pure function of (seed, element index), seed an int in [0, 2**64).
    training=False returns a float32 copy of input.
    """
    p, seed, training = _dropout_args(p, seed, training)
    x = _array(input, "input")
    if not training:
        return x.copy() if np.may_share_memory(x, input) else x
    return _kernels.dropout(x, p, seed)


def dropout_backward(grad_output, p=0.5, seed=0):
    """Gradient of dropout(input, p, training=True, seed): grad_output masked and scaled by the
    mask the forward used (regenerated from the seed)."""
    p, seed, _ = _dropout_args(p, seed)
    return _kernels.dropout(_array(grad_output, "grad_output"), p, seed)


def dropout_blocked(xb, p=0.5, training=True, seed=0):
    """dropout of a Blocked tensor: the same mask as dropout of its NCHW form.
    training=False returns xb itself."""
    p, seed, training = _dropout_args(p, seed, training)
    check_blocked(xb, "input")
    if not training:
        return xb
    return Blocked(_kernels.dropout_blocked(xb.data, xb.channels, p, seed), xb.channels)


def dropout_backward_blocked(dyb, p=0.5, seed=0):
    """Gradient of dropout_blocked (training) from the seed the forward used."""
    p, seed, _ = _dropout_args(p, seed)
    check_blocked(dyb, "grad_output")
    return Blocked(_kernels.dropout_blocked(dyb.data, dyb.channels, p, seed), dyb.channels)
