"""group_norm, layer_norm, instance_norm and batch_norm with PyTorch's signatures.

A Tensor input gives a recorded Tensor (weight and bias Tensors that require grad get
gradients); NumPy inputs give NumPy results (batch_norm keeps its array API of
cnncore.functional._norm). 4-d inputs run on the blocked layout with the C kernels (group norm:
cnn_group_norm_*, which also serves instance norm and layer norm over (C, H, W)).
"""
import numbers

import numpy as np

from . import _norm
from ._validate import bool_arg, float_arg, int_arg

__all__ = ["group_norm", "layer_norm", "instance_norm", "batch_norm"]


def _tensor_input(x, name="input", min_ndim=2):
    """(x as a Tensor, whether the caller passed a Tensor)."""
    from ..autograd.ops import as_tensor
    from ..autograd.tensor import Tensor

    was_tensor = isinstance(x, Tensor)
    t = as_tensor(x, name)
    if t.ndim < min_ndim:
        raise ValueError("%s: expected at least %d dimensions (N, C, ...), got shape %s"
                         % (name, min_ndim, t.shape))
    return t, was_tensor


def _result(t, was_tensor):
    return t if was_tensor else t.numpy()


def _as_4d(t):
    """A 2-/3-d Tensor (N, C[, L]) as (N, C, L, 1) (a recorded reshape), 4-d unchanged."""
    from ..autograd.ops import reshape

    if t.ndim == 4:
        return t
    s = t.shape
    rest = int(np.prod(s[2:], dtype=np.int64))
    return reshape(t, (s[0], s[1], rest, 1))


def _back(t, shape):
    from ..autograd.ops import reshape

    return t if t.shape == tuple(shape) else reshape(t, shape)


def _eps(eps):
    return float_arg(eps, "eps", 0.0, None)


def _group_norm(x, groups, weight, bias, eps, name="GroupNorm"):
    """Recorded group norm of a Tensor (N, C, *) (arguments checked); returns (y, mean, invstd)."""
    from ..autograd import norms

    shape = x.shape
    y, mean, invstd = norms.group_norm(_as_4d(x), groups, weight, bias, eps, name=name)
    return _back(y, shape), mean, invstd


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization, as torch.nn.functional.group_norm: input (N, C, *) normalized per
    image over each of num_groups groups of C / num_groups consecutive channels (mean and
    biased variance), then weight * x + bias per channel (weight, bias: (C,) or None)."""
    x, was_tensor = _tensor_input(input)
    c = x.shape[1]
    groups = int_arg(num_groups, "num_groups", 1)
    if c % groups:
        raise ValueError("num_groups: expected a divisor of the input's %d channels, got %d"
                         % (c, groups))
    _check_pixels(x)
    return _result(_group_norm(x, groups, weight, bias, _eps(eps))[0], was_tensor)


def _check_pixels(x):
    if x.ndim > 2 and int(np.prod(x.shape[2:], dtype=np.int64)) == 0:
        raise ValueError("input: expected at least one value per channel and image, got shape %s"
                         % (x.shape,))


def normalized_shape_arg(normalized_shape):
    """An int or a sequence of ints >= 1, as a tuple."""
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        normalized_shape = (normalized_shape,)
    try:
        shape = tuple(normalized_shape)
    except TypeError:
        raise TypeError("normalized_shape: expected an int or a sequence of ints, got %r"
                        % (normalized_shape,))
    if not shape:
        raise ValueError("normalized_shape: expected at least one dimension, got ()")
    return tuple(int_arg(s, "normalized_shape", 1) for s in shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization, as torch.nn.functional.layer_norm: each sample normalized over the
    trailing dims given by normalized_shape (mean, biased variance), then weight * x + bias
    elementwise (weight, bias: normalized_shape or None). Over (C, H, W) of a 4-d input it runs
    on the blocked layout (group norm with one group)."""
    from ..autograd import norms

    shape = normalized_shape_arg(normalized_shape)
    x, was_tensor = _tensor_input(input, min_ndim=1)
    if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ValueError("input: expected trailing dimensions %s (normalized_shape), got shape %s"
                         % (shape, x.shape))
    eps = _eps(eps)
    if x.ndim == 4 and len(shape) == 3:
        y = norms.group_norm(x, 1, weight, bias, eps, per_pixel=True, name="LayerNorm")[0]
    else:
        y = norms.layer_norm_plain(x, shape, weight, bias, eps)
    return _result(y, was_tensor)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalization, as torch.nn.functional.instance_norm: input (N, C, *) normalized
    per image and channel. use_input_stats=True uses each instance's statistics and, when
    running_mean / running_var are given (float32 writeable (C,) arrays), updates them IN PLACE
    with their batch averages (unbiased variance); False normalizes with the running ones."""
    x, was_tensor = _tensor_input(input)
    c = x.shape[1]
    use_input_stats = bool_arg(use_input_stats, "use_input_stats")
    momentum = float_arg(momentum, "momentum", 0.0, 1.0)
    eps = _eps(eps)
    a = _norm._BNArgs(c, running_mean, running_var, None, None, use_input_stats, momentum, eps)
    _check_pixels(x)
    if not use_input_stats:
        return _result(_batch_norm(x, a, weight, bias), was_tensor)
    hw = int(np.prod(x.shape[2:], dtype=np.int64))
    y, mean, invstd = _group_norm(x, c, weight, bias, eps, name="InstanceNorm")
    update_running(a.running_mean, a.running_var, mean, invstd, eps, hw, momentum)
    return _result(y, was_tensor)


def update_running(running_mean, running_var, mean, invstd, eps, count, momentum):
    """Instance norm's running-statistics update, in place: the batch averages of the
    per-instance means and unbiased variances (as torch)."""
    if running_mean is not None:
        m = mean.astype(np.float64).mean(axis=0)
        running_mean[:] = (1 - momentum) * running_mean + momentum * m
    if running_var is not None and count > 1:
        var = 1.0 / np.square(invstd.astype(np.float64)) - eps
        v = (var * count / (count - 1)).mean(axis=0)
        running_var[:] = (1 - momentum) * running_var + momentum * v


def _batch_norm(x, a, weight, bias):
    from ..autograd import norms

    return norms.batch_norm(x, a.running_mean, a.running_var, weight, bias, a.training, a.momentum,
                            a.eps)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, return_stats=False):
    """Batch normalization, as torch.nn.functional.batch_norm, on (N, C), (N, C, L) or
    (N, C, H, W) inputs. A Tensor input gives a recorded Tensor; NumPy inputs the array API of
    cnncore.functional._norm.batch_norm (return_stats for its backward). Training updates
    running_mean / running_var IN PLACE (see there)."""
    from ..autograd.tensor import Tensor

    if not isinstance(input, Tensor):
        return _norm.batch_norm(input, running_mean, running_var, weight, bias, training, momentum,
                                eps, return_stats)
    if return_stats:
        raise ValueError("return_stats: only for NumPy inputs (a Tensor input records its own "
                         "backward)")
    if input.ndim not in (2, 3, 4):
        raise ValueError("input: expected (N, C), (N, C, L) or (N, C, H, W), got shape %s"
                         % (input.shape,))
    c = input.shape[1]
    a = _norm._BNArgs(c, running_mean, running_var, None, None, training, momentum, eps)
    _norm._check_count(input.shape, a.training)
    return _batch_norm(input, a, weight, bias)
