"""Gradient clipping and flat parameter vectors, with torch.nn.utils' names and formulas."""
import math
import numbers

import numpy as np

from .parameter import Parameter

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _parameters(parameters, name="parameters"):
    if isinstance(parameters, Parameter):
        return [parameters]
    try:
        params = list(parameters)
    except TypeError:
        raise TypeError("%s: expected a Parameter or an iterable of Parameters, got %s"
                        % (name, type(parameters).__name__)) from None
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError("%s[%d]: expected a Parameter, got %s" % (name, i, type(p).__name__))
    return params


def _real(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError("%s: expected a real number, got %r" % (name, value))
    return float(value)


def _scale_grad(p, factor):
    g = p.grad
    if isinstance(g, np.ndarray) and g.dtype == np.float32 and g.flags.writeable:
        g *= np.float32(factor)
    else:
        p.grad = np.asarray(g, np.float32) * np.float32(factor)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients so that their total norm (of all gradients as one vector) is at most
    max_norm, as torch.nn.utils.clip_grad_norm_: each gradient is multiplied by
    min(1, max_norm / (total_norm + 1e-6)). Parameters without a gradient are skipped.

    norm_type: p of the p-norm (a number > 0, or inf). Returns the total norm before clipping
    (a float). With error_if_nonfinite, a NaN or infinite total norm raises RuntimeError.
    """
    params = [p for p in _parameters(parameters) if p.grad is not None]
    max_norm = _real(max_norm, "max_norm")
    norm_type = _real(norm_type, "norm_type")
    if not norm_type > 0:
        raise ValueError("norm_type: expected a number > 0 (or inf), got %r" % (norm_type,))
    if foreach is not None and not isinstance(foreach, (bool, np.bool_)):
        raise TypeError("foreach: expected a bool or None, got %r" % (foreach,))
    if not params:
        return 0.0
    grads = [np.asarray(p.grad, np.float32).reshape(-1) for p in params]
    if math.isinf(norm_type):
        norms = [np.float32(np.abs(g).max()) if g.size else np.float32(0) for g in grads]
        total = np.float32(max(norms))
    else:
        norms = [np.float32(np.sum(np.abs(g.astype(np.float64)) ** norm_type) ** (1.0 / norm_type))
                 for g in grads]
        total = np.float32(np.sum(np.asarray(norms, np.float64) ** norm_type) ** (1.0 / norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError("The total norm of order %r for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped. To disable this error and scale "
                           "the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`" % (norm_type,))
    coef = np.float32(max_norm) / (total + np.float32(1e-6))
    coef = min(coef, np.float32(1.0))
    for p in params:
        _scale_grad(p, coef)
    return float(total)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient to [-clip_value, clip_value], as torch.nn.utils.clip_grad_value_."""
    params = _parameters(parameters)
    clip = _real(clip_value, "clip_value")
    if foreach is not None and not isinstance(foreach, (bool, np.bool_)):
        raise TypeError("foreach: expected a bool or None, got %r" % (foreach,))
    for p in params:
        if p.grad is None:
            continue
        g = p.grad
        if isinstance(g, np.ndarray) and g.dtype == np.float32 and g.flags.writeable:
            np.clip(g, -clip, clip, out=g)
        else:
            p.grad = np.clip(np.asarray(g, np.float32), -clip, clip)


def parameters_to_vector(parameters):
    """The parameters' values flattened and concatenated into one float32 1-D array."""
    params = _parameters(parameters)
    if not params:
        return np.zeros(0, np.float32)
    return np.concatenate([p.data.reshape(-1) for p in params]).astype(np.float32, copy=False)


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D array vec into the parameters' values (assigned, so
    packed weights are repacked); the inverse of parameters_to_vector."""
    params = _parameters(parameters)
    arr = np.asarray(vec)
    if arr.dtype.kind not in "fiu":
        raise TypeError("vec: expected a real numeric array, got dtype %s" % arr.dtype)
    if arr.ndim != 1:
        raise ValueError("vec: expected a 1-d array, got shape %s" % (arr.shape,))
    total = sum(p.data.size for p in params)
    if arr.size != total:
        raise ValueError("vec: expected %d values (the parameters' total), got %d" % (total, arr.size))
    start = 0
    for p in params:
        n = p.data.size
        p.data = arr[start:start + n].reshape(p.shape)
        start += n
