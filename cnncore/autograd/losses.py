"""Recorded loss ops on Tensors, with torch.nn.functional's arguments, defaults and formulas.

Each loss computes its value in float64 from the float32 inputs (the result is float32) and
records a node whose backward is the closed-form gradient. `reduction` is 'mean', 'sum' or
'none' ('batchmean' as well for kl_div). Targets are constants unless the loss is a regression
loss (mse, l1, smooth_l1, huber), where a target Tensor that requires grad gets -d/dinput.

cross_entropy keeps the fused C kernel for its common case (2-d logits, integer targets, no
weight, no ignored target, no smoothing, reduction='mean'); every other case runs the general
path here: log-softmax along dim 1, then loss_i = -sum_c q_ic log p_ic with the effective target
weights q (one-hot times the class weight, smoothed, zero for ignored positions).
"""
import numbers

import numpy as np

from ..functional._validate import as_float32
from .ops import as_tensor, output
from .tensor import Tensor
from .values import as_plain

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
           "huber_loss", "kl_div", "l1_loss", "mse_loss", "nll_loss", "smooth_l1_loss",
           "check_reduction", "legacy_reduction"]


# -------------------------------------------------------------------------- arguments ---

def check_reduction(reduction, allowed=("mean", "sum", "none")):
    """reduction as given if it is one of `allowed`, else ValueError naming it."""
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ValueError("reduction: expected one of %s, got %r"
                         % (", ".join(repr(a) for a in allowed), reduction))
    return reduction


def legacy_reduction(size_average, reduce, reduction):
    """torch's mapping of the deprecated size_average / reduce flags onto `reduction`: both
    None keeps `reduction`; otherwise reduce=False gives 'none', size_average=False 'sum',
    else 'mean'."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    for name, v in (("size_average", size_average), ("reduce", reduce)):
        if not isinstance(v, (bool, np.bool_)):
            raise TypeError("%s: expected a bool or None, got %r" % (name, v))
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _real(value, name, minimum=None, maximum=None):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError("%s: expected a real number, got %r" % (name, value))
    v = float(value)
    if np.isnan(v) or (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        lo = "" if minimum is None else ">= %g" % minimum
        hi = "" if maximum is None else "<= %g" % maximum
        raise ValueError("%s: expected a number %s, got %r"
                         % (name, " and ".join(s for s in (lo, hi) if s), value))
    return v


def _values(x, name):
    """A Tensor argument's (or array's) values as float64, and the Tensor (None for constants)."""
    if isinstance(x, Tensor):
        return as_plain(x.value).astype(np.float64), x
    return as_float32(x, name).astype(np.float64), None


def _weight(weight, n, name="weight"):
    if weight is None:
        return None
    w = as_float32(weight.numpy() if isinstance(weight, Tensor) else weight, name, 1,
                   "(C,) of class weights")
    if w.shape != (n,):
        raise ValueError("%s: expected shape (%d,) (one weight per class), got %s" % (name, n, w.shape))
    return w.astype(np.float64)


def _same_shape(x, t, name="target"):
    if t.shape != x.shape:
        raise ValueError("%s: expected the input's shape %s, got %s" % (name, x.shape, t.shape))


def _reduce(loss, reduction, denom=None):
    """The reduced loss (float32) and the factor each element's gradient gets from it."""
    if reduction == "none":
        return loss.astype(np.float32), None
    total = loss.sum()
    if reduction == "sum":
        return np.asarray(total, np.float32), 1.0
    d = float(loss.size if denom is None else denom)
    with np.errstate(invalid="ignore", divide="ignore"):
        # an empty (or all-ignored) mean is NaN, as torch; its gradient is zero, as torch's
        return np.asarray(np.float64(total) / d, np.float32), (1.0 / d if d else 0.0)


def _upstream(g, reduction, scale, shape):
    """The output gradient spread over the per-element losses (float64, `shape`)."""
    g = as_plain(g).astype(np.float64)
    if reduction == "none":
        return g.reshape(shape)
    return np.broadcast_to(g.reshape(()) * scale, shape)


def _record(loss, reduction, denom, inputs, name, grads):
    """Reduce `loss` and record; grads(up) -> list of input gradients (float64 or None), with
    up the gradient of each unreduced element."""
    value, scale = _reduce(loss, reduction, denom)
    shape = loss.shape

    def backward(g, needs):
        up = _upstream(g, reduction, scale, shape)
        return [None if (r is None or not need) else np.ascontiguousarray(r, dtype=np.float32)
                for r, need in zip(grads(up), needs)]

    return output(value, value.shape, inputs, name, backward)


# ---------------------------------------------------------------------- cross-entropy ---

def _class_last(x):
    """(N, C, d1, ...) -> (N*d1*..., C) with C last; (C,) -> (1, C); also the undo."""
    if x.ndim == 1:
        return x.reshape(1, -1), lambda r: r.reshape(x.shape)
    moved = np.moveaxis(x, 1, -1)
    rows = moved.reshape(-1, x.shape[1])

    def undo(r):
        return np.moveaxis(r.reshape(moved.shape), -1, 1)

    return rows, undo


def _class_shape(in_shape):
    return tuple(in_shape[:1]) + tuple(in_shape[2:]) if len(in_shape) > 1 else ()


def _class_targets(target, in_shape, c, ignore_index, name="target"):
    """Integer class indices of the input's shape without its class dim, as int64 (flattened)."""
    arr = np.asarray(target.numpy() if isinstance(target, Tensor) else target)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and (arr.size == 0 or (np.all(np.isfinite(arr))
                                                        and np.all(arr == np.round(arr)))):
            arr = arr.astype(np.int64)
        else:
            raise TypeError("%s: expected integer class indices of shape %s (or float class "
                            "probabilities of the input's shape %s), got dtype %s of shape %s"
                            % (name, _class_shape(in_shape), tuple(in_shape), arr.dtype, arr.shape))
    want = _class_shape(in_shape)
    if arr.shape != tuple(want):
        raise ValueError("%s: expected shape %s (one class index per position), got %s"
                         % (name, tuple(want), arr.shape))
    t = arr.reshape(-1).astype(np.int64)
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    if bad.any():
        raise ValueError("%s: expected class indices in [0, %d) or ignore_index=%d, got %d"
                         % (name, c, ignore_index, int(t[bad][0])))
    return t


def _log_softmax_rows(z):
    m = z.max(axis=1, keepdims=True) if z.shape[0] and z.shape[1] else 0.0
    s = z - m
    with np.errstate(divide="ignore"):
        lse = np.log(np.exp(s).sum(axis=1, keepdims=True))
    return s - lse


def _is_probability_target(target, in_shape):
    arr = target if isinstance(target, Tensor) else np.asarray(target)
    return tuple(arr.shape) == tuple(in_shape) and np.dtype(arr.dtype).kind == "f"


def _class_input(input, reduction, ignore_index, weight, what):
    """The checked arguments shared by cross_entropy and nll_loss: the input Tensor, reduction,
    shape, number of classes C (dim 1, or dim 0 of a 1-d input) and the float64 weights."""
    x = as_tensor(input, "input")
    reduction = check_reduction(reduction)
    if not isinstance(ignore_index, numbers.Integral) or isinstance(ignore_index, bool):
        raise TypeError("ignore_index: expected an int, got %r" % (ignore_index,))
    shape = tuple(x.shape)
    if len(shape) == 0:
        raise ValueError("input: expected (N, C, ...) or (C,) %s, got a 0-d value" % what)
    c = shape[1] if len(shape) > 1 else shape[0]
    if c == 0:
        raise ValueError("input: expected at least one class (C >= 1), got shape %s" % (shape,))
    return x, reduction, shape, c, _weight(weight, c)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy, as torch.nn.functional.cross_entropy: input (N, C), (N, C, d1, ...)
    or (C,) logits; target class indices of the input's shape without C, or class probabilities
    of the input's shape (float). Returns a Tensor (0-d unless reduction='none')."""
    from .layers import cross_entropy as fused

    x, reduction, shape, c, w = _class_input(input, reduction, ignore_index, weight, "class scores")
    eps = _real(label_smoothing, "label_smoothing", 0.0, 1.0)
    probs = _is_probability_target(target, shape)
    if not probs:
        t = _class_targets(target, shape, c, ignore_index)
        if (len(shape) == 2 and w is None and eps == 0.0 and reduction == "mean"
                and not (t == ignore_index).any()):
            return fused(x, t)
    z, undo = _class_last(as_plain(x.value).astype(np.float64))
    logp = _log_softmax_rows(z)
    if probs:
        q = _values(target, "target")[0]
        q, _ = _class_last(q)
        if eps:
            q = q * (1.0 - eps) + eps / c
        if w is not None:
            q = q * w
        denom = z.shape[0]  # torch: the mean over positions, not weight-normalized
    else:
        keep = t != ignore_index
        tk = np.where(keep, t, 0)
        wc = np.ones(c) if w is None else w
        q = np.zeros(z.shape)
        q[np.arange(z.shape[0]), tk] = (1.0 - eps) * wc[tk]
        if eps:
            q += (eps / c) * wc
        q[~keep] = 0.0
        denom = wc[tk][keep].sum()
    with np.errstate(invalid="ignore"):
        rows = -(np.where(q != 0, q * logp, 0.0)).sum(axis=1)
    loss = rows.reshape(shape[:1] + shape[2:] if len(shape) > 1 else ())
    p = np.exp(logp)
    qsum = q.sum(axis=1, keepdims=True)

    def grads(up):
        return [undo(up.reshape(-1, 1) * (p * qsum - q))]

    return _record(loss, reduction, denom, [x], "CrossEntropyLoss", grads)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities, as torch.nn.functional.nll_loss:
    loss = -weight[t] * input[t] per position, the mean divided by the summed weights."""
    x, reduction, shape, c, w = _class_input(input, reduction, ignore_index, weight, "log-probabilities")
    t = _class_targets(target, shape, c, ignore_index)
    z, undo = _class_last(as_plain(x.value).astype(np.float64))
    keep = t != ignore_index
    tk = np.where(keep, t, 0)
    wt = (np.ones(c) if w is None else w)[tk] * keep
    r = np.arange(z.shape[0])
    loss = (-wt * z[r, tk]).reshape(shape[:1] + shape[2:] if len(shape) > 1 else ())

    def grads(up):
        g = np.zeros(z.shape)
        g[r, tk] = -wt * up.reshape(-1)
        return [undo(g)]

    return _record(loss, reduction, wt.sum(), [x], "NLLLoss", grads)


# ----------------------------------------------------------------- regression losses ---

def _pair(input, target):
    x = as_tensor(input, "input")
    xv = as_plain(x.value).astype(np.float64)
    tv, tt = _values(target, "target")
    _same_shape(xv, tv)
    inputs = [x] if tt is None else [x, tt]
    return xv, tv, inputs


def _regression(name, input, target, reduction, loss_fn, grad_fn):
    reduction = check_reduction(reduction)
    xv, tv, inputs = _pair(input, target)
    d = xv - tv
    loss = loss_fn(d)

    def grads(up):
        gx = up * grad_fn(d)
        return [gx, -gx] if len(inputs) == 2 else [gx]

    return _record(loss, reduction, None, inputs, name, grads)


def mse_loss(input, target, reduction="mean"):
    """(input - target)**2, reduced, as torch.nn.functional.mse_loss (same shapes)."""
    return _regression("MSELoss", input, target, reduction, np.square, lambda d: 2.0 * d)


def l1_loss(input, target, reduction="mean"):
    """|input - target|, reduced, as torch.nn.functional.l1_loss (gradient sign(d), 0 at 0)."""
    return _regression("L1Loss", input, target, reduction, np.abs, np.sign)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d**2 / beta where |d| < beta, else |d| - 0.5 beta (beta=0: L1), as
    torch.nn.functional.smooth_l1_loss."""
    beta = _real(beta, "beta", 0.0)
    if beta == 0.0:
        return _regression("SmoothL1Loss", input, target, reduction, np.abs, np.sign)
    return _regression("SmoothL1Loss", input, target, reduction,
                       lambda d: np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta),
                       lambda d: np.where(np.abs(d) < beta, d / beta, np.sign(d)))


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d**2 where |d| < delta, else delta (|d| - 0.5 delta), as
    torch.nn.functional.huber_loss (delta > 0)."""
    delta = _real(delta, "delta", 0.0)
    if delta == 0.0:
        raise ValueError("delta: expected a number > 0, got %r" % (delta,))
    return _regression("HuberLoss", input, target, reduction,
                       lambda d: np.where(np.abs(d) < delta, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta)),
                       lambda d: np.clip(d, -delta, delta))


# ----------------------------------------------------------------- binary and KL losses ---

def _broadcast_weight(weight, shape, name):
    if weight is None:
        return None
    w = _values(weight, name)[0]
    try:
        np.broadcast_shapes(w.shape, shape)
    except ValueError:
        raise ValueError("%s: shape %s does not broadcast to the input's %s"
                         % (name, w.shape, tuple(shape))) from None
    if np.broadcast_shapes(w.shape, shape) != tuple(shape):
        raise ValueError("%s: shape %s does not broadcast to the input's %s"
                         % (name, w.shape, tuple(shape)))
    return w


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-weight (t log x + (1 - t) log(1 - x)), logs clamped at -100, as
    torch.nn.functional.binary_cross_entropy; input probabilities in [0, 1]."""
    reduction = check_reduction(reduction)
    x = as_tensor(input, "input")
    xv = as_plain(x.value).astype(np.float64)
    tv = _values(target, "target")[0]
    _same_shape(xv, tv)
    if xv.size and not ((xv >= 0) & (xv <= 1)).all():
        bad = xv[~((xv >= 0) & (xv <= 1))][0]
        raise ValueError("input: expected probabilities in [0, 1], got %r" % (float(bad),))
    w = _broadcast_weight(weight, xv.shape, "weight")
    with np.errstate(divide="ignore"):
        lx = np.maximum(np.log(xv), -100.0)
        l1x = np.maximum(np.log1p(-xv), -100.0)
    loss = -(tv * lx + (1.0 - tv) * l1x)
    if w is not None:
        loss = loss * w

    def grads(up):
        g = up * (xv - tv) / np.maximum((1.0 - xv) * xv, 1e-12)
        return [g if w is None else g * w]

    return _record(loss, reduction, None, [x], "BCELoss", grads)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid and binary cross-entropy in one stable step, as
    torch.nn.functional.binary_cross_entropy_with_logits:
    loss = weight ((1 - t) x + (1 + (pos_weight - 1) t) softplus(-x))."""
    reduction = check_reduction(reduction)
    x = as_tensor(input, "input")
    xv = as_plain(x.value).astype(np.float64)
    tv = _values(target, "target")[0]
    _same_shape(xv, tv)
    w = _broadcast_weight(weight, xv.shape, "weight")
    pw = _broadcast_weight(pos_weight, xv.shape, "pos_weight")
    softplus_neg = np.log1p(np.exp(-np.abs(xv))) + np.maximum(-xv, 0.0)
    lw = 1.0 if pw is None else (pw - 1.0) * tv + 1.0
    loss = (1.0 - tv) * xv + lw * softplus_neg
    if w is not None:
        loss = loss * w
    sig = 0.5 * (1.0 + np.tanh(0.5 * xv))

    def grads(up):
        if pw is None:
            g = sig - tv
        else:
            pt = pw * tv
            g = (pt + 1.0 - tv) * sig - pt
        g = up * g
        return [g if w is None else g * w]

    return _record(loss, reduction, None, [x], "BCEWithLogitsLoss", grads)


def kl_div(input, target, reduction="mean", log_target=False):
    """Kullback-Leibler divergence of target from input (log-probabilities), as
    torch.nn.functional.kl_div: t (log t - x), or exp(t) (t - x) with log_target; reduction
    'batchmean' divides the sum by the batch size."""
    reduction = check_reduction(reduction, ("mean", "batchmean", "sum", "none"))
    if not isinstance(log_target, (bool, np.bool_)):
        raise TypeError("log_target: expected a bool, got %r" % (log_target,))
    x = as_tensor(input, "input")
    xv = as_plain(x.value).astype(np.float64)
    tv = _values(target, "target")[0]
    _same_shape(xv, tv)
    if log_target:
        pt = np.exp(tv)
        loss = pt * (tv - xv)
    else:
        pt = tv
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = np.where(tv == 0, 0.0, tv * np.log(np.where(tv == 0, 1.0, tv))) - tv * xv
            loss = np.where(np.isnan(tv), np.nan, loss)
    red, denom = reduction, None
    if reduction == "batchmean":
        red = "mean"
        denom = xv.shape[0] if xv.ndim else 1

    def grads(up):
        return [-up * pt]

    return _record(loss, red, denom, [x], "KLDivLoss", grads)
