"""Pooling: max, average, adaptive average and global average, forward and backward.

The public functions take NCHW arrays and follow torch.nn.functional (names, signatures, defaults,
output sizes, max-pool indices and tie/NaN rules, average-pool divisors). The *_blocked functions
are the internal entry points of the layer API, on Blocked (NCHW16c) activations; the max-pool one
returns the argmax in the blocked layout (int32 ih * W + iw per lane), which is what its backward
reads.
"""
import numbers
from typing import NamedTuple

import numpy as np

from .. import _kernels
from ._layout import Blocked, check_blocked, from_blocked, to_blocked
from ._validate import as_float32, bool_arg, check_alloc, check_shape, int_arg, pair

__all__ = [
    "PoolGeometry",
    "pool_output_size",
    "max_pool2d",
    "max_pool2d_backward",
    "max_pool2d_blocked",
    "max_pool2d_backward_blocked",
    "avg_pool2d",
    "avg_pool2d_backward",
    "avg_pool2d_blocked",
    "avg_pool2d_backward_blocked",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_backward",
    "adaptive_avg_pool2d_blocked",
    "adaptive_avg_pool2d_backward_blocked",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_backward",
    "adaptive_max_pool2d_blocked",
    "adaptive_max_pool2d_backward_blocked",
    "global_avg_pool2d",
    "global_avg_pool2d_backward",
    "global_avg_pool2d_blocked",
    "global_avg_pool2d_backward_blocked",
]

_INT32_MAX = 2 ** 31 - 1


class PoolGeometry(NamedTuple):
    """Every size of one pooling (the tuple the C layer reads)."""
    n: int
    c: int
    h: int
    w: int
    kh: int
    kw: int
    sh: int
    sw: int
    ph: int
    pw: int
    dh: int
    dw: int
    oh: int
    ow: int


# ------------------------------------------------------------------ argument checks ----



def _input_shape(v, name="input_shape"):
    """A 4-tuple (N, C, H, W) of ints, N >= 0 and C, H, W >= 1."""
    try:
        vals = tuple(v)
    except TypeError:
        raise TypeError("%s: expected a sequence (N, C, H, W) of ints, got %r" % (name, v)) from None
    if len(vals) != 4:
        raise ValueError("%s: expected 4 sizes (N, C, H, W), got %r" % (name, v))
    for e in vals:
        if isinstance(e, bool) or not isinstance(e, numbers.Integral):
            raise TypeError("%s: expected a sequence (N, C, H, W) of ints, got %r" % (name, v))
    vals = tuple(int(e) for e in vals)
    if vals[0] < 0 or min(vals[1:]) < 1:
        raise ValueError("%s: expected N >= 0 and C, H, W >= 1, got %r" % (name, vals))
    return vals


def _hw_arg(v, name="input_hw"):
    try:
        vals = tuple(v)
    except TypeError:
        raise TypeError("%s: expected a pair (H, W) of ints, got %r" % (name, v)) from None
    if len(vals) != 2 or any(isinstance(e, bool) or not isinstance(e, numbers.Integral) for e in vals):
        raise TypeError("%s: expected a pair (H, W) of ints, got %r" % (name, v))
    if min(vals) < 1:
        raise ValueError("%s: expected H, W >= 1, got %r" % (name, vals))
    return int(vals[0]), int(vals[1])


def _check_input_sizes(shape, name="input"):
    n, c, h, w = shape
    if c < 1 or h < 1 or w < 1:
        raise ValueError("%s: expected non-zero C, H and W (only the batch may be empty), got shape %s"
                         % (name, tuple(shape)))
    check_alloc(name, (n, -(-c // 16), h, w, 16))
    if h * w > _INT32_MAX:
        raise ValueError("%s: expected H * W < 2**31, got shape %s" % (name, tuple(shape)))


def pool_output_size(size, kernel, stride, padding, dilation=1, ceil_mode=False):
    """One spatial size of a pooling output, as PyTorch computes it: with ceil_mode the division
    rounds up, but the last window must start inside the input or the left padding."""
    size = int_arg(size, "size", 0)
    kernel = int_arg(kernel, "kernel", 1)
    stride = int_arg(stride, "stride", 1)
    padding = int_arg(padding, "padding", 0)
    dilation = int_arg(dilation, "dilation", 1)
    ceil_mode = bool_arg(ceil_mode, "ceil_mode")
    num = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        num += stride - 1
    out = num // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pool_args(kernel_size, stride, padding, dilation, ceil_mode):
    """Check the shape-independent arguments of a max or average pooling (the layers check them
    at construction): ((kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil_mode)."""
    kh, kw = pair(kernel_size, "kernel_size", 1)
    sh, sw = (kh, kw) if stride is None else pair(stride, "stride", 1)
    ph, pw = pair(padding, "padding", 0)
    dh, dw = pair(dilation, "dilation", 1)
    ceil_mode = bool_arg(ceil_mode, "ceil_mode")
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError("padding: expected at most half the kernel size (%d, %d), got (%d, %d)"
                         % (kh // 2, kw // 2, ph, pw))
    for v, name in ((kh, "kernel_size"), (kw, "kernel_size"), (sh, "stride"), (sw, "stride"),
                    (dh, "dilation"), (dw, "dilation")):
        if v > _INT32_MAX:
            raise ValueError("%s: expected values below 2**31, got %d" % (name, v))
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil_mode


def _pool_geometry(shape, kernel_size, stride, padding, dilation, ceil_mode, name="input"):
    """Check the arguments of a max or average pooling and compute its geometry."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil_mode = _pool_args(
        kernel_size, stride, padding, dilation, ceil_mode)
    _check_input_sizes(shape, name)
    n, c, h, w = shape
    oh = pool_output_size(h, kh, sh, ph, dh, ceil_mode)
    ow = pool_output_size(w, kw, sw, pw, dw, ceil_mode)
    check_alloc(name, (n, -(-c // 16), h, w, 16))
    check_alloc("output", (n, -(-c // 16), max(oh, 0), max(ow, 0), 16))
    if oh < 1 or ow < 1:
        raise ValueError(
            "%s: spatial size (%d, %d) is too small for kernel_size (%d, %d), dilation (%d, %d) and "
            "padding (%d, %d): the output would be (%d, %d)"
            % (name, h, w, kh, kw, dh, dw, ph, pw, oh, ow))
    for size, o, k, s, p, d, axis in ((h, oh, kh, sh, ph, dh, "H"), (w, ow, kw, sw, pw, dw, "W")):
        if d == 1:  # padding <= kernel/2: every undilated window holds an input element
            continue
        # with dilation a window can fall between input elements entirely (PyTorch then returns
        # -inf with an index outside the plane); reject it
        # (in closed form: a k x o table of tap positions would be huge for a huge kernel)
        start = np.arange(o, dtype=np.int64) * s - p
        first = np.maximum(0, -(start // d))  # first tap at or right of 0: ceil(-start / d)
        if not ((first < k) & (start + first * d < size)).all():
            raise ValueError(
                "dilation: with kernel_size %d, dilation %d, stride %d and padding %d along %s, some "
                "window holds no element of the input (size %d)" % (k, d, s, p, axis, size))
    return PoolGeometry(n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)


def _avg_options(count_include_pad, divisor_override):
    cip = bool_arg(count_include_pad, "count_include_pad")
    if divisor_override is None:
        return cip, 0
    div = int_arg(divisor_override, "divisor_override")
    if div == 0:
        raise ValueError("divisor_override: expected a non-zero int or None, got 0")
    if abs(div) > 2 ** 62:
        raise ValueError("divisor_override: expected a magnitude below 2**62, got %d" % div)
    return cip, div


def _adaptive_output_size(output_size, h, w):
    if output_size is None or isinstance(output_size, (numbers.Integral,)) and not isinstance(output_size, bool):
        vals = (output_size, output_size)
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        vals = tuple(output_size)
    else:
        raise TypeError("output_size: expected an int, None or a pair of ints or None, got %r"
                        % (output_size,))
    out = []
    for e, size in zip(vals, (h, w)):
        if e is None:
            out.append(size)
            continue
        if isinstance(e, bool) or not isinstance(e, numbers.Integral):
            raise TypeError("output_size: expected an int, None or a pair of ints or None, got %r"
                            % (output_size,))
        if e < 1:
            raise ValueError("output_size: expected sizes >= 1, got %r" % (output_size,))
        out.append(int(e))
    return tuple(out)


def _adaptive_geometry(shape, oh, ow):
    n, c, h, w = shape
    check_alloc("input", (n, -(-c // 16), h, w, 16))
    check_alloc("output", (n, -(-c // 16), oh, ow, 16))
    return PoolGeometry(n, c, h, w, 1, 1, 1, 1, 0, 0, 1, 1, oh, ow)


# ---------------------------------------------------------------------------- max ----

def max_pool2d_blocked(xb, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max pooling of a Blocked input: returns (Blocked y, argmax), argmax an int32 array
    (N, CB, OH, OW, 16) holding ih * W + iw of each lane's maximum (what the backward reads)."""
    check_blocked(xb, "input")
    g = _pool_geometry(xb.shape, kernel_size, stride, padding, dilation, ceil_mode)
    y, argmax = _kernels.maxpool_forward(g, xb.data)
    return Blocked(y, g.c), argmax


def max_pool2d_backward_blocked(dyb, argmax, input_hw):
    """Gradient of max_pool2d_blocked: scatter-add of the Blocked dyb through argmax into a zero
    Blocked gradient of spatial size input_hw = (H, W)."""
    check_blocked(dyb, "grad_output")
    h, w = _hw_arg(input_hw)
    if (not isinstance(argmax, np.ndarray) or argmax.dtype != np.int32
            or not argmax.flags.c_contiguous or argmax.shape != dyb.data.shape):
        raise ValueError("argmax: expected a C-contiguous int32 array of shape %s, got %s"
                         % (dyb.data.shape, getattr(argmax, "shape", type(argmax).__name__)))
    n, c, oh, ow = dyb.shape
    g = PoolGeometry(n, c, h, w, 1, 1, 1, 1, 0, 0, 1, 1, oh, ow)
    return Blocked(_kernels.maxpool_backward(g, dyb.data, argmax), c)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling, as torch.nn.functional.max_pool2d.

    input (N, C, H, W); kernel_size, stride (None: kernel_size), padding (implicit -inf, at most
    half the kernel), dilation: an int or a pair; ceil_mode: PyTorch's output-size rule. Returns
    y (N, C, OH, OW) float32, and with return_indices also the int64 indices (N, C, OH, OW) of the
    maxima as flat ih * W + iw offsets in each input plane. Ties go to the first maximum in
    row-major window order; a NaN in a window wins (the last one, if several).
    """
    x = as_float32(input, "input", 4, "(N, C, H, W)")
    _pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    return_indices = bool_arg(return_indices, "return_indices")
    yb, argmax = max_pool2d_blocked(to_blocked(x), kernel_size, stride, padding, dilation, ceil_mode)
    y = from_blocked(yb)
    if return_indices:
        return y, _kernels.pool_indices_to_nchw(argmax, yb.channels)
    return y


def max_pool2d_backward(grad_output, indices, input_shape):
    """Gradient of max_pool2d w.r.t. its input: grad_output (N, C, OH, OW) scatter-added through
    the indices that max_pool2d(..., return_indices=True) returned, into a zero array of
    input_shape (N, C, H, W)."""
    shape = _input_shape(input_shape)
    n, c, h, w = shape
    _check_input_sizes(shape, "input_shape")
    dy = as_float32(grad_output, "grad_output", 4, "(N, C, OH, OW)")
    if dy.shape[:2] != (n, c):
        raise ValueError("grad_output: expected shape (%d, %d, OH, OW) for input_shape %s, got %s"
                         % (n, c, shape, dy.shape))
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError("indices: expected an integer array, got dtype %s" % idx.dtype)
    check_shape(idx, "indices", dy.shape)
    if idx.size and (idx.min() < 0 or idx.max() >= h * w):
        bad = idx[(idx < 0) | (idx >= h * w)].flat[0]
        raise ValueError("indices: expected values in [0, H*W) = [0, %d) for input_shape %s, got %d"
                         % (h * w, shape, int(bad)))
    argmax = _kernels.pool_indices_from_nchw(np.ascontiguousarray(idx, dtype=np.int64))
    dxb = max_pool2d_backward_blocked(to_blocked(dy, "grad_output"), argmax, (h, w))
    return from_blocked(dxb)


# ------------------------------------------------------------------------ average ----

def avg_pool2d_blocked(xb, kernel_size, stride=None, padding=0, ceil_mode=False,
                       count_include_pad=True, divisor_override=None):
    """Average pooling of a Blocked input; returns a Blocked output."""
    check_blocked(xb, "input")
    g = _pool_geometry(xb.shape, kernel_size, stride, padding, 1, ceil_mode)
    cip, div = _avg_options(count_include_pad, divisor_override)
    return Blocked(_kernels.avgpool_forward(g, xb.data, cip, div), g.c)


def avg_pool2d_backward_blocked(dyb, input_hw, kernel_size, stride=None, padding=0, ceil_mode=False,
                                count_include_pad=True, divisor_override=None):
    """Gradient of avg_pool2d_blocked w.r.t. its input, of spatial size input_hw = (H, W)."""
    check_blocked(dyb, "grad_output")
    h, w = _hw_arg(input_hw)
    n, c, oh, ow = dyb.shape
    g = _pool_geometry((n, c, h, w), kernel_size, stride, padding, 1, ceil_mode, "input_shape")
    cip, div = _avg_options(count_include_pad, divisor_override)
    if (oh, ow) != (g.oh, g.ow):
        raise ValueError("grad_output: expected shape %s, got %s" % ((n, c, g.oh, g.ow), dyb.shape))
    return Blocked(_kernels.avgpool_backward(g, dyb.data, cip, div), c)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling, as torch.nn.functional.avg_pool2d.

    input (N, C, H, W); kernel_size, stride (None: kernel_size), padding (zeros, at most half the
    kernel): an int or a pair. Each window's sum is divided by divisor_override if given, else by
    its size clipped to the padded input (count_include_pad=True) or to the input (False).
    Returns (N, C, OH, OW) float32.
    """
    x = as_float32(input, "input", 4, "(N, C, H, W)")
    _pool_geometry(x.shape, kernel_size, stride, padding, 1, ceil_mode)
    _avg_options(count_include_pad, divisor_override)
    return from_blocked(avg_pool2d_blocked(to_blocked(x), kernel_size, stride, padding, ceil_mode,
                                           count_include_pad, divisor_override))


def avg_pool2d_backward(grad_output, input_shape, kernel_size, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True, divisor_override=None):
    """Gradient of avg_pool2d w.r.t. its input: grad_output (N, C, OH, OW) -> (N, C, H, W) for
    input_shape (N, C, H, W) and the pooling's arguments."""
    shape = _input_shape(input_shape)
    g = _pool_geometry(shape, kernel_size, stride, padding, 1, ceil_mode, "input_shape")
    _avg_options(count_include_pad, divisor_override)
    dy = as_float32(grad_output, "grad_output", 4, "(N, C, OH, OW)")
    check_shape(dy, "grad_output", (g.n, g.c, g.oh, g.ow))
    dxb = avg_pool2d_backward_blocked(to_blocked(dy, "grad_output"), (g.h, g.w), kernel_size, stride,
                                      padding, ceil_mode, count_include_pad, divisor_override)
    return from_blocked(dxb)


# --------------------------------------------------------------- adaptive average ----

def adaptive_avg_pool2d_blocked(xb, output_size):
    """Adaptive average pooling of a Blocked input; returns a Blocked output."""
    check_blocked(xb, "input")
    _check_input_sizes(xb.shape)
    oh, ow = _adaptive_output_size(output_size, xb.shape[2], xb.shape[3])
    g = _adaptive_geometry(xb.shape, oh, ow)
    return Blocked(_kernels.adaptive_avgpool_forward(g, xb.data), g.c)


def adaptive_avg_pool2d_backward_blocked(dyb, input_hw):
    """Gradient of adaptive_avg_pool2d_blocked w.r.t. its input of spatial size input_hw; the
    output size is read from dyb."""
    check_blocked(dyb, "grad_output")
    h, w = _hw_arg(input_hw)
    n, c, oh, ow = dyb.shape
    if oh < 1 or ow < 1:
        raise ValueError("grad_output: expected OH, OW >= 1, got shape %s" % (dyb.shape,))
    g = _adaptive_geometry((n, c, h, w), oh, ow)
    return Blocked(_kernels.adaptive_avgpool_backward(g, dyb.data), c)


def adaptive_avg_pool2d(input, output_size):
    """2-D adaptive average pooling, as torch.nn.functional.adaptive_avg_pool2d.

    input (N, C, H, W); output_size: an int, or a pair whose entries are ints or None (None keeps
    that input size). Output bin i covers input [floor(i * H / OH), ceil((i + 1) * H / OH)) (and
    the same along W). Returns (N, C, OH, OW) float32.
    """
    x = as_float32(input, "input", 4, "(N, C, H, W)")
    _check_input_sizes(x.shape)
    _adaptive_output_size(output_size, x.shape[2], x.shape[3])
    return from_blocked(adaptive_avg_pool2d_blocked(to_blocked(x), output_size))


def adaptive_avg_pool2d_backward(grad_output, input_shape):
    """Gradient of adaptive_avg_pool2d w.r.t. its input: grad_output (N, C, OH, OW), the output
    size read from it, -> (N, C, H, W) for input_shape (N, C, H, W)."""
    shape = _input_shape(input_shape)
    n, c, h, w = shape
    _check_input_sizes(shape, "input_shape")
    dy = as_float32(grad_output, "grad_output", 4, "(N, C, OH, OW)")
    if dy.shape[:2] != (n, c) or dy.shape[2] < 1 or dy.shape[3] < 1:
        raise ValueError("grad_output: expected shape (%d, %d, OH, OW) with OH, OW >= 1 for "
                         "input_shape %s, got %s" % (n, c, shape, dy.shape))
    return from_blocked(adaptive_avg_pool2d_backward_blocked(to_blocked(dy, "grad_output"), (h, w)))


# ------------------------------------------------------------------- adaptive max ----

def adaptive_max_pool2d_blocked(xb, output_size):
    """Adaptive max pooling of a Blocked input: returns (Blocked y, argmax), argmax an int32 array
    (N, CB, OH, OW, 16) holding ih * W + iw of each lane's maximum (what the backward reads)."""
    check_blocked(xb, "input")
    _check_input_sizes(xb.shape)
    oh, ow = _adaptive_output_size(output_size, xb.shape[2], xb.shape[3])
    g = _adaptive_geometry(xb.shape, oh, ow)
    y, argmax = _kernels.maxpool_forward(g, xb.data, True)
    return Blocked(y, g.c), argmax


def adaptive_max_pool2d_backward_blocked(dyb, argmax, input_hw):
    """Gradient of adaptive_max_pool2d_blocked: scatter-add of the Blocked dyb through argmax into
    a zero Blocked gradient of spatial size input_hw = (H, W); the scatter does not depend on the
    bins, so this is max_pool2d_backward_blocked."""
    return max_pool2d_backward_blocked(dyb, argmax, input_hw)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """2-D adaptive max pooling, as torch.nn.functional.adaptive_max_pool2d.

    input (N, C, H, W); output_size: an int, or a pair whose entries are ints or None (None keeps
    that input size). Output bin i covers input [floor(i * H / OH), ceil((i + 1) * H / OH)) (and
    the same along W). Returns y (N, C, OH, OW) float32, and with return_indices also the int64
    indices of the maxima as flat ih * W + iw offsets in each input plane. Ties go to the first
    maximum in row-major bin order; a NaN in a bin wins (the first one).
    """
    x = as_float32(input, "input", 4, "(N, C, H, W)")
    _check_input_sizes(x.shape)
    _adaptive_output_size(output_size, x.shape[2], x.shape[3])
    return_indices = bool_arg(return_indices, "return_indices")
    yb, argmax = adaptive_max_pool2d_blocked(to_blocked(x), output_size)
    y = from_blocked(yb)
    if return_indices:
        return y, _kernels.pool_indices_to_nchw(argmax, yb.channels)
    return y


def adaptive_max_pool2d_backward(grad_output, indices, input_shape):
    """Gradient of adaptive_max_pool2d w.r.t. its input: grad_output (N, C, OH, OW) scatter-added
    through the indices adaptive_max_pool2d(..., return_indices=True) returned, into a zero array
    of input_shape (N, C, H, W)."""
    return max_pool2d_backward(grad_output, indices, input_shape)


# ----------------------------------------------------------------- global average ----

def global_avg_pool2d_blocked(xb):
    """Mean over H and W of a Blocked input: a float32 (N, C) array (the edge to Linear)."""
    check_blocked(xb, "input")
    _check_input_sizes(xb.shape)
    return _kernels.global_avgpool_forward(xb.data, xb.channels)


def global_avg_pool2d_backward_blocked(grad_output, input_shape):
    """Gradient of global_avg_pool2d_blocked: grad_output (N, C) -> Blocked (N, C, H, W)."""
    shape = _input_shape(input_shape)
    n, c, h, w = shape
    _check_input_sizes(shape, "input_shape")
    dy = as_float32(grad_output, "grad_output", 2, "(N, C)")
    check_shape(dy, "grad_output", (n, c))
    return Blocked(_kernels.global_avgpool_backward(dy, h, w), c)


def global_avg_pool2d(input):
    """Mean over H and W: input (N, C, H, W) -> (N, C) float32 (adaptive_avg_pool2d(input, 1)
    flattened)."""
    x = as_float32(input, "input", 4, "(N, C, H, W)")
    _check_input_sizes(x.shape)
    return global_avg_pool2d_blocked(to_blocked(x))


def global_avg_pool2d_backward(grad_output, input_shape):
    """Gradient of global_avg_pool2d: grad_output (N, C) -> (N, C, H, W) = grad_output / (H * W)
    broadcast over each plane, for input_shape (N, C, H, W)."""
    return from_blocked(global_avg_pool2d_backward_blocked(grad_output, input_shape))
