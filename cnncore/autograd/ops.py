"""Recorded tensor ops: arithmetic with broadcasting, reductions, shapes, indexing, cat and stack.

Each op computes its value at once, and when recording, a node whose backward is a closure over
what that backward needs (micrograd's idea, with arrays). On blocked activations the arithmetic
runs on the NCHW16c data directly: same-channel operands, per-channel (N|1, C, 1, 1) tensors and
scalars broadcast there as NumPy broadcasts; the padded lanes are kept zero. Anything else runs
on the plain NCHW values.
"""
import builtins
import numbers

import numpy as np

from ..functional._layout import BLOCK, Blocked
from .engine import Node, taking_part
from .fusion import try_lazy_add
from .tensor import Tensor
from .values import as_blocked, as_plain, numeric_array, zero_pad_lanes
from .tracehook import traced


# ---------------------------------------------------------------------------- plumbing ---

class FnNode(Node):
    """A node whose backward is a function (grad, needs) -> input gradients."""

    __slots__ = ("fn", "name")

    def __init__(self, name, inputs, fn, params=()):
        self.fn = fn
        self.name = name
        super().__init__(inputs, params)

    def backward(self, grad, needs):
        return self.fn(grad, needs)

    def release(self):
        self.fn = None



def as_tensor(x, name="input"):
    """A Tensor for x: Tensors pass through, arrays and numbers become constants (no gradient)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, numbers.Number) and not isinstance(x, bool):
        arr = np.asarray(x, dtype=np.float32)
    else:
        arr = numeric_array(x, name, "a Tensor, a numeric array or a number", "fiub")
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if arr is x:
            arr = arr.copy()  # a constant must not change if the caller's array does
    return Tensor._make(arr, arr.shape, None, False, False)


def output(value, shape, inputs, name, backward, params=()):
    """The Tensor for an op's result: recorded (with a node running `backward`) when grad mode
    is on and an input or Parameter takes part in a gradient."""
    rg, rec = taking_part(inputs, params)
    if rec:
        node = FnNode(name, inputs, backward, params)
        node.link()
        return Tensor._make(value, shape, node, True, rg)
    return Tensor._make(value, shape, None, False, False)


def recording(inputs, params=()):
    """Whether an op with these inputs records itself (so it should save what backward needs)."""
    return taking_part(inputs, params)[1]


# ------------------------------------------------------------------------- arithmetic ---

def _blocked_operand(v, channels):
    """v as an array broadcastable against blocked data with `channels` channels, or None."""
    if isinstance(v, Blocked):
        return v.data if v.channels == channels else None
    if v.size == 1 and v.ndim <= 4:
        return np.float32(v.reshape(-1)[0])
    if v.ndim == 3 and v.shape[0] == channels:
        v = v.reshape((1,) + v.shape)
    if v.ndim == 4 and v.shape[1] == channels:
        return as_blocked(v).data
    return None


def _unbroadcast(g, shape):
    """Sum a plain gradient over the axes NumPy broadcast to reach g's shape."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple(k for k, s in enumerate(shape) if s == 1 and g.shape[k] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return np.ascontiguousarray(g.reshape(shape), dtype=np.float32)


def _unbroadcast_blocked(gdata, operand, shape, channels):
    """The gradient of one blocked-path operand (of data shape `operand`, None for a scalar)
    from the output gradient's data."""
    if operand is None:  # a scalar
        return np.asarray(np.float32(gdata.sum()), dtype=np.float32).reshape(shape)
    axes = tuple(k for k in (0, 2, 3) if operand[k] == 1 and gdata.shape[k] != 1)
    if axes:
        gdata = np.ascontiguousarray(gdata.sum(axis=axes, keepdims=True), dtype=np.float32)
    return Blocked(gdata, channels)


_OPS = {"add": (np.add, "Add"), "sub": (np.subtract, "Sub"),
        "mul": (np.multiply, "Mul"), "div": (np.divide, "Div")}


def _binary(kind, a, b):
    a, b = as_tensor(a, "a"), as_tensor(b, "b")
    fn, name = _OPS[kind]
    va, vb = a.value, b.value
    shape = np.broadcast_shapes(a.shape, b.shape)
    ablk, bblk = isinstance(va, Blocked), isinstance(vb, Blocked)
    da = db = None
    if (ablk or bblk) and len(shape) == 4:
        c = va.channels if ablk else vb.channels
        da, db = _blocked_operand(va, c), _blocked_operand(vb, c)
    if da is not None and db is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            data = fn(da, db, dtype=np.float32)
        if data.shape[1:] == (-(-c // BLOCK),) + tuple(shape[2:]) + (BLOCK,) and data.shape[0] == shape[0]:
            value = Blocked(np.ascontiguousarray(zero_pad_lanes(data, c)), c)
            return output(value, shape, [a, b], name,
                          _blocked_backward(kind, da, db, a.shape, b.shape, c))
    pa, pb = as_plain(va), as_plain(vb)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.ascontiguousarray(fn(pa, pb, dtype=np.float32))
    return output(value, shape, [a, b], name, _plain_backward(kind, pa, pb, a.shape, b.shape))


def _grad_pair(kind, g, x, y):
    """(d/dx, d/dy) of x (op) y, before unbroadcasting."""
    if kind == "add":
        return g, g
    if kind == "sub":
        return g, -g
    if kind == "mul":
        return g * y, g * x
    with np.errstate(divide="ignore", invalid="ignore"):
        return g / y, -g * x / (y * y)


def _plain_backward(kind, pa, pb, sa, sb):
    if kind in ("add", "sub"):
        pa = pb = None  # not needed

    def backward(g, needs):
        g = as_plain(g)
        ga, gb = _grad_pair(kind, g, pa, pb)
        return (_unbroadcast(np.asarray(ga, np.float32), sa) if needs[0] else None,
                _unbroadcast(np.asarray(gb, np.float32), sb) if needs[1] else None)

    return backward


def _operand_shape(d):
    """What unbroadcasting needs of a blocked-path operand: its data shape (None for a scalar)."""
    return None if isinstance(d, np.float32) else d.shape


def _blocked_backward(kind, da, db, sa, sb, c):
    keep_a, keep_b = (None, None) if kind in ("add", "sub") else (da, db)
    oa, ob = _operand_shape(da), _operand_shape(db)

    def backward(g, needs):
        gd = as_blocked(g).data
        ga, gb = _grad_pair(kind, gd, keep_a, keep_b)
        out = []
        for need, gx, operand, shape in ((needs[0], ga, oa, sa), (needs[1], gb, ob, sb)):
            if not need:
                out.append(None)
                continue
            gx = zero_pad_lanes(np.array(gx, dtype=np.float32, copy=True), c) if gx is not gd else gx
            r = _unbroadcast_blocked(gx, operand, shape, c)
            out.append(r if isinstance(r, Blocked) or len(shape) != 4 else as_blocked(r))
        return out

    return backward


@traced("add")
def add(a, b):
    """a + b with broadcasting (a fused BN+add+ReLU is formed when a ReLU follows; see fusion)."""
    lazy = try_lazy_add(a, b)
    return lazy if lazy is not None else _binary("add", a, b)


@traced("sub")
def sub(a, b):
    return _binary("sub", a, b)


@traced("mul")
def mul(a, b):
    return _binary("mul", a, b)


@traced("div")
def div(a, b):
    return _binary("div", a, b)


@traced("pow")
def pow(x, exponent):
    """x ** exponent for a number exponent."""
    if isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):
        raise TypeError("exponent: expected a number, got %r" % (exponent,))
    x = as_tensor(x, "input")
    p = float(exponent)
    v = x.value
    blk = isinstance(v, Blocked)
    data = v.data if blk else v
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.power(data, np.float32(p), dtype=np.float32)
    if blk:
        out = Blocked(zero_pad_lanes(out, v.channels), v.channels)

    def backward(g, needs):
        gd = g.data if blk else g
        with np.errstate(divide="ignore", invalid="ignore"):
            d = (gd * np.float32(p) * np.power(data, np.float32(p - 1))).astype(np.float32)
        return [Blocked(zero_pad_lanes(d, v.channels), v.channels) if blk else d]

    return output(out, x.shape, [x], "Pow", backward)


# ------------------------------------------------------------------------- reductions ---

def _dims(dim, ndim, name="dim"):
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or not -ndim <= d < max(ndim, 1):
            raise ValueError("%s: expected dimensions in [%d, %d), got %r" % (name, -ndim, ndim, dim))
        out.append(int(d) % max(ndim, 1))
    return tuple(sorted(set(out)))


def _reduce(x, dim, keepdim, mean):
    x = as_tensor(x, "input")
    dims = _dims(dim, x.ndim)
    count = 1
    for d in dims:
        count *= x.shape[d]
    scale = np.float32(1.0 / count) if (mean and count) else np.float32(1.0)
    kept = tuple(1 if k in dims else s for k, s in enumerate(x.shape))
    shape = kept if keepdim else tuple(s for k, s in enumerate(x.shape) if k not in dims)
    v = x.value
    name = "Mean" if mean else "Sum"
    if isinstance(v, Blocked) and dims == (2, 3):
        with np.errstate(invalid="ignore"):
            data = np.ascontiguousarray(v.data.sum(axis=(2, 3), keepdims=True, dtype=np.float32) * scale)
        value = Blocked(data, v.channels) if keepdim else as_plain(Blocked(data, v.channels)).reshape(shape)
        full = v.data.shape

        def backward(g, needs):
            gd = as_blocked(np.asarray(g).reshape(kept)).data if not isinstance(g, Blocked) else g.data
            return [Blocked(np.ascontiguousarray(np.broadcast_to(gd * scale, full)), v.channels)]

        return output(value, shape, [x], name, backward)
    p = as_plain(v)
    with np.errstate(invalid="ignore"):
        value = np.ascontiguousarray(p.sum(axis=dims, keepdims=True, dtype=np.float32) * scale).reshape(shape)
    blk = isinstance(v, Blocked)

    def backward(g, needs):
        gp = as_plain(g).reshape(kept) * scale
        d = np.ascontiguousarray(np.broadcast_to(gp, x.shape), dtype=np.float32)
        return [as_blocked(d) if blk else d]

    return output(value, shape, [x], name, backward)


@traced("mean")
def mean(x, dim=None, keepdim=False):
    """Mean over `dim` (an int, a tuple, or None for all), as torch.mean."""
    return _reduce(x, dim, keepdim, True)


@traced("sum")
def sum(x, dim=None, keepdim=False):
    """Sum over `dim` (an int, a tuple, or None for all), as torch.sum."""
    return _reduce(x, dim, keepdim, False)


# ----------------------------------------------------------------------------- shapes ---

def _reshaped(x, shape, name):
    """x's values (NCHW order) in `shape`; the backward reshapes back (and re-blocks)."""
    v = x.value
    blk = isinstance(v, Blocked)
    value = as_plain(v).reshape(shape)
    in_shape = x.shape

    def backward(g, needs):
        d = as_plain(g).reshape(in_shape)
        return [as_blocked(d) if blk else d]

    return output(value, tuple(value.shape), [x], name, backward)


@traced("reshape")
def reshape(x, shape):
    """x with a new shape (one entry may be -1), NCHW element order, as torch.reshape."""
    x = as_tensor(x, "input")
    shape = tuple(shape)
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError("shape: expected ints, got %r" % (shape,))
    try:
        np.empty(x.shape, dtype=np.bool_).reshape(shape)
    except ValueError:
        raise ValueError("shape: %s is invalid for a tensor of shape %s (%d elements)"
                         % (shape, x.shape, x.numel()))
    return _reshaped(x, shape, "Reshape")


@traced("flatten")
def flatten(x, start_dim=0, end_dim=-1):
    """Flatten dims start_dim..end_dim into one, as torch.flatten."""
    x = as_tensor(x, "input")
    nd = x.ndim
    for name, d in (("start_dim", start_dim), ("end_dim", end_dim)):
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError("%s: expected an int, got %r" % (name, d))
        if nd and not -nd <= d < nd:
            raise ValueError("%s: expected a dimension in [%d, %d) for an input of shape %s, got %d"
                             % (name, -nd, nd, x.shape, d))
    if nd == 0:
        return reshape(x, (1,))
    s, e = start_dim % nd, end_dim % nd
    if s > e:
        raise ValueError("flatten: start_dim (%d) must not come after end_dim (%d)" % (start_dim, end_dim))
    size = 1
    for d in x.shape[s:e + 1]:
        size *= d
    return _reshaped(x, x.shape[:s] + (size,) + x.shape[e + 1:], "Flatten")


# ---------------------------------------------------------------------- channel moves ---

def _channels_last(b):
    """Blocked -> (N, H, W, C) array."""
    n, cb, h, w, _ = b.data.shape
    return b.data.transpose(0, 2, 3, 1, 4).reshape(n, h, w, cb * BLOCK)[..., :b.channels]


def _from_channels_last(arr):
    n, h, w, c = arr.shape
    cb = -(-c // BLOCK)
    out = np.zeros((n, h, w, cb * BLOCK), np.float32)
    out[..., :c] = arr
    return Blocked(np.ascontiguousarray(out.reshape(n, h, w, cb, BLOCK).transpose(0, 3, 1, 2, 4)), c)


def _slice_channels(b, lo, hi):
    """Channels lo:hi of a Blocked, as a Blocked (a plain copy of whole blocks when aligned)."""
    if lo % BLOCK == 0 and (hi % BLOCK == 0 or hi == b.channels):
        return Blocked(np.ascontiguousarray(b.data[:, lo // BLOCK:-(-hi // BLOCK)]), hi - lo)
    return _from_channels_last(_channels_last(b)[..., lo:hi])


def _concat_channels(parts):
    """Blocked tensors joined along channels."""
    if all(p.channels % BLOCK == 0 for p in parts[:-1]):
        return Blocked(np.concatenate([p.data for p in parts], axis=1), builtins.sum(p.channels for p in parts))
    return _from_channels_last(np.concatenate([_channels_last(p) for p in parts], axis=3))


@traced("cat")
def cat(tensors, dim=0):
    """Concatenate along `dim`, as torch.cat. Blocked activations joined on channels (dim 1) or
    batch (dim 0) stay blocked, whatever their channel counts."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError("tensors: expected a non-empty list or tuple of tensors, got %r" % (type(tensors).__name__,))
    ts = [as_tensor(t, "tensors[%d]" % k) for k, t in enumerate(tensors)]
    nd = ts[0].ndim
    if nd == 0:
        raise ValueError("tensors: zero-dimensional tensors cannot be concatenated")
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or not -nd <= dim < nd:
        raise ValueError("dim: expected a dimension in [%d, %d), got %r" % (-nd, nd, dim))
    d = dim % nd
    for k, t in enumerate(ts):
        if t.ndim != nd or any(t.shape[j] != ts[0].shape[j] for j in range(nd) if j != d):
            raise ValueError("tensors[%d]: expected shape %s except along dim %d, got %s"
                             % (k, ts[0].shape, d, t.shape))
    sizes = [t.shape[d] for t in ts]
    shape = ts[0].shape[:d] + (int(np.sum(sizes)),) + ts[0].shape[d + 1:]
    values = [t.value for t in ts]
    bounds = np.cumsum([0] + sizes)
    if nd == 4 and d in (0, 1) and any(isinstance(v, Blocked) for v in values) and all(s > 0 for s in sizes):
        blocks = [as_blocked(v) for v in values]
        if d == 1:
            value = _concat_channels(blocks)

            def backward(g, needs):
                g = as_blocked(g)
                return [_slice_channels(g, bounds[k], bounds[k + 1]) if needs[k] else None
                        for k in range(len(ts))]
        else:
            value = Blocked(np.concatenate([b.data for b in blocks], axis=0), blocks[0].channels)

            def backward(g, needs):
                g = as_blocked(g)
                return [Blocked(np.ascontiguousarray(g.data[bounds[k]:bounds[k + 1]]), g.channels)
                        if needs[k] else None for k in range(len(ts))]
        return output(value, shape, ts, "Cat", backward)
    value = np.concatenate([as_plain(v) for v in values], axis=d)
    blk = [isinstance(v, Blocked) for v in values]

    def backward(g, needs):
        g = as_plain(g)
        out = []
        for k in range(len(ts)):
            if not needs[k]:
                out.append(None)
                continue
            part = np.ascontiguousarray(np.take(g, np.arange(bounds[k], bounds[k + 1]), axis=d))
            out.append(as_blocked(part) if blk[k] else part)
        return out

    return output(value, shape, ts, "Cat", backward)


@traced("stack")
def stack(tensors, dim=0):
    """Stack tensors of one shape along a new dimension `dim`, as torch.stack."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError("tensors: expected a non-empty list or tuple of tensors, got %r" % (type(tensors).__name__,))
    ts = [as_tensor(t, "tensors[%d]" % k) for k, t in enumerate(tensors)]
    nd = ts[0].ndim + 1
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or not -nd <= dim < nd:
        raise ValueError("dim: expected a dimension in [%d, %d), got %r" % (-nd, nd, dim))
    for k, t in enumerate(ts):
        if t.shape != ts[0].shape:
            raise ValueError("tensors[%d]: expected shape %s (stack needs equal shapes), got %s"
                             % (k, ts[0].shape, t.shape))
    d = dim % nd
    values = [t.value for t in ts]
    blk = [isinstance(v, Blocked) for v in values]
    value = np.stack([as_plain(v) for v in values], axis=d)

    def backward(g, needs):
        g = as_plain(g)
        out = []
        for k in range(len(ts)):
            part = np.ascontiguousarray(np.take(g, k, axis=d)) if needs[k] else None
            out.append(as_blocked(part) if part is not None and blk[k] else part)
        return out

    return output(value, value.shape, ts, "Stack", backward)


# --------------------------------------------------------------------------- indexing ---

def _channel_slice(index, shape):
    """(lo, hi) when index is x[:, lo:hi] (step 1) on a 4-d tensor, else None."""
    if not isinstance(index, tuple) or len(index) != 2 or len(shape) != 4:
        return None
    first, second = index
    if not (isinstance(first, slice) and first == slice(None)) or not isinstance(second, slice):
        return None
    lo, hi, step = second.indices(shape[1])
    if step != 1 or hi <= lo:
        return None
    return lo, hi


@traced("getitem")
def getitem(x, index):
    """x[index]: channel slices x[:, a:b] of blocked activations stay blocked; any other NumPy
    index (ints, slices, arrays, masks) runs on the plain values."""
    if isinstance(index, Tensor):
        index = index.numpy()
    v = x.value
    if isinstance(v, Blocked):
        ch = _channel_slice(index, x.shape)
        if ch is not None:
            lo, hi = ch
            value = _slice_channels(v, lo, hi)
            c, full = v.channels, v.data.shape

            def backward(g, needs):
                g = as_blocked(g)
                if lo % BLOCK == 0 and (hi % BLOCK == 0 or hi == c):
                    d = np.zeros(full, np.float32)
                    d[:, lo // BLOCK:lo // BLOCK + g.data.shape[1]] = g.data
                    return [Blocked(d, c)]
                d = np.zeros(full[:1] + full[2:4] + (c,), np.float32)
                d[..., lo:hi] = _channels_last(g)
                return [_from_channels_last(d)]

            return output(value, value.shape, [x], "Slice", backward)
    p = as_plain(v)
    try:
        value = np.ascontiguousarray(p[index], dtype=np.float32)
    except (IndexError, TypeError) as exc:
        raise IndexError("index %r for a tensor of shape %s: %s" % (index, x.shape, exc))
    blk = isinstance(v, Blocked)
    in_shape = x.shape

    def backward(g, needs):
        d = np.zeros(in_shape, np.float32)
        np.add.at(d, index, as_plain(g))
        return [as_blocked(d) if blk else d]

    return output(value, value.shape, [x], "Index", backward)


__all__ = ["add", "sub", "mul", "div", "pow", "mean", "sum", "reshape", "flatten", "cat", "stack",
           "getitem", "as_tensor"]
