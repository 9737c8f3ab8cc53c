"""Recorded normalizations besides BatchNorm2d's lazy node.

- group_norm: statistics per (image, group of channels) on the blocked layout, one C operator
  (cnn_group_norm_*) for GroupNorm, InstanceNorm (groups = C) and LayerNorm over (C, H, W)
  (groups = 1, affine per element).
- layer_norm over the trailing dims of any other input, on the plain values.
- batch_norm of (N, C), (N, C, L) (BatchNorm1d, on an (N, C, L, 1) blocked view) and (N, C, H, W)
  Tensors with the batch-norm C kernels, for functional calls whose weights may be Tensors (the
  BatchNorm2d module keeps its lazy, fusable node).

Weights and biases may be Parameters (modules: their .grad accumulates), Tensors (functional
calls: they get gradients as inputs) or arrays (constants).
"""
import numpy as np

from .. import _kernels
from ..functional._layout import Blocked
from .lazy import blocked_input
from .ops import as_tensor, output
from .values import as_blocked, as_plain


class _Affine:
    """A weight or bias argument: its float32 value (None: absent) and where its gradient goes
    (a Parameter's .grad, or the gradient of an input Tensor)."""

    __slots__ = ("raw", "param", "tensor")

    def __init__(self, v, name, shape):
        self.param = self.tensor = None
        if v is None:
            self.raw = None
            return
        if hasattr(v, "accumulate_grad"):  # a Parameter
            self.param, raw = v, v.data
        else:
            t = as_tensor(v, name)
            self.tensor = t if (t.requires_grad or t._rec) else None
            raw = as_plain(t.value)
        if tuple(raw.shape) != tuple(shape):
            raise ValueError("%s: expected shape %s, got %s" % (name, tuple(shape), tuple(raw.shape)))
        self.raw = np.ascontiguousarray(raw, dtype=np.float32)

    def wanted(self):
        return (self.param is not None and self.param.requires_grad) or self.tensor is not None


def _affine_pair(weight, bias, shape):
    return _Affine(weight, "weight", shape), _Affine(bias, "bias", shape)


def _record(value, shape, x, affines, name, grads):
    """The output Tensor; `grads(g, needs_x)` -> (dx, [gradient of each affine or None])."""
    tensors = [a.tensor for a in affines if a.tensor is not None]
    params = tuple(a.param for a in affines if a.param is not None)

    def backward(g, needs):
        dx, gas = grads(g, needs[0])
        out = [dx]
        for a, ga in zip(affines, gas):
            if ga is None:
                continue
            if a.param is not None and a.param.requires_grad:
                a.param.accumulate_grad(ga)
            elif a.tensor is not None:
                out.append(ga)
        return out

    return output(value, shape, [x] + tensors, name, backward, params)


# ------------------------------------------------------------------- blocked group norm ---

def _to_blocked_image(a, c):
    """A (C, H, W) per-element array as blocked (ceil(C/16), H, W, 16), padded lanes zero."""
    return as_blocked(a.reshape((1,) + a.shape)).data[0]


def _from_blocked_image(d, c):
    return as_plain(Blocked(np.ascontiguousarray(d[None]), c))[0]


def group_norm(x, groups, weight=None, bias=None, eps=1e-5, per_pixel=False, name="GroupNorm"):
    """Group norm of a 4-d Tensor x (N, C, H, W) over `groups` groups of channels (validated by
    the caller). weight / bias: (C,), or with per_pixel (C, H, W) (LayerNorm's affine)."""
    n, c, h, w = x.shape
    wa, ba = _affine_pair(weight, bias, (c, h, w) if per_pixel else (c,))
    xb = blocked_input(x)
    conv = (lambda a: None if a is None else _to_blocked_image(a, c)) if per_pixel else (lambda a: a)
    wk = conv(wa.raw)
    y, mean, invstd = _kernels.group_norm_forward(xb.data, c, groups, wk, conv(ba.raw), per_pixel, eps)
    want_affine = wa.wanted() or ba.wanted()

    def grads(g, needs_x):
        dy = as_blocked(g)
        dx, dw, db = _kernels.group_norm_backward(dy.data, xb.data, c, groups, wk, per_pixel, mean,
                                                  invstd, want_affine)
        if per_pixel and want_affine:
            dw, db = _from_blocked_image(dw, c), _from_blocked_image(db, c)
        return (Blocked(dx, c) if needs_x else None), [dw if wa.raw is not None else None,
                                                        db if ba.raw is not None else None]

    out = _record(Blocked(y, c), x.shape, x, [wa, ba], name, grads)
    return out, mean, invstd


# ---------------------------------------------------------------- plain layer norm ---

def layer_norm_plain(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer norm over the trailing len(normalized_shape) dims of x (any layout), on NCHW-order
    values in float64 (inputs without a blocked form of the normalized dims: (N, D), (N, L, D),
    4-d inputs normalized over (W,) or (H, W))."""
    shape = tuple(normalized_shape)
    wa, ba = _affine_pair(weight, bias, shape)
    v = x.value
    blk = isinstance(v, Blocked)
    a = as_plain(v).astype(np.float64)
    axes = tuple(range(a.ndim - len(shape), a.ndim))
    mean = a.mean(axis=axes, keepdims=True)
    invstd = 1.0 / np.sqrt(a.var(axis=axes, keepdims=True) + eps)
    xhat = (a - mean) * invstd
    y = xhat * (1.0 if wa.raw is None else wa.raw) + (0.0 if ba.raw is None else ba.raw)
    y32 = np.ascontiguousarray(y, dtype=np.float32)
    lead = tuple(range(a.ndim - len(shape)))

    def grads(g, needs_x):
        gy = as_plain(g).astype(np.float64)
        dw = np.asarray((gy * xhat).sum(axis=lead), np.float32) if wa.raw is not None else None
        db = np.asarray(gy.sum(axis=lead), np.float32) if ba.raw is not None else None
        dx = None
        if needs_x:
            gg = gy * (1.0 if wa.raw is None else wa.raw)
            d = invstd * (gg - gg.mean(axis=axes, keepdims=True)
                          - xhat * (gg * xhat).mean(axis=axes, keepdims=True))
            d = np.ascontiguousarray(d, dtype=np.float32)
            dx = as_blocked(d) if blk else d
        return dx, [dw, db]

    return _record(as_blocked(y32) if blk else y32, x.shape, x, [wa, ba], "LayerNorm", grads)


# ---------------------------------------------------------------- recorded batch norm ---

def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5, name="BatchNorm"):
    """Batch norm of a 2-, 3- or 4-d Tensor (N, C, *) with the C kernels (on an (N, C, L, 1)
    blocked view of a 2-/3-d input). training: batch statistics, running_mean / running_var
    (float32 writeable (C,) arrays, or None) updated in place; else the running statistics."""
    shape = x.shape
    c = shape[1]
    wa, ba = _affine_pair(weight, bias, (c,))
    v = x.value
    if len(shape) == 4:
        xb = as_blocked(v)
    else:
        xb = as_blocked(as_plain(v).reshape(shape[0], c, shape[2] if len(shape) == 3 else 1, 1))
    n, _, h, w = xb.shape
    if n * h * w == 0:
        y, mean, invstd = np.zeros_like(xb.data), np.zeros(c, np.float32), np.ones(c, np.float32)
    else:
        y, mean, invstd = _kernels.batch_norm_forward(xb.data, c, None, False, wa.raw, ba.raw, training,
                                                      momentum, eps, running_mean, running_var)
    weight_or_one = wa.raw if wa.raw is not None else np.ones(c, np.float32)

    def grads(g, needs_x):
        if n * h * w == 0:
            z = np.zeros(c, np.float32)
            return as_blocked_like(np.zeros_like(xb.data), c, shape) if needs_x else None, [z, z]
        gb = as_blocked(as_plain(g).reshape(xb.shape)) if len(shape) != 4 else as_blocked(g)
        dx, _, dw, db = _kernels.batch_norm_backward(gb.data, xb.data, c, None, False, weight_or_one,
                                                     mean, invstd, training)
        return (as_blocked_like(dx, c, shape) if needs_x else None), [
            dw if wa.raw is not None else None, db if ba.raw is not None else None]

    return _record(as_blocked_like(y, c, shape), shape, x, [wa, ba], name, grads)


def as_blocked_like(data, c, shape):
    """Blocked data as the value of a tensor of `shape`: Blocked for 4-d, else plain."""
    b = Blocked(data, c)
    return b if len(shape) == 4 else as_plain(b).reshape(shape)
