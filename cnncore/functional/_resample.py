"""Interpolation (nearest, nearest-exact, bilinear) and pixel shuffle, forward and backward.

interpolate follows torch.nn.functional.interpolate for 4-d inputs: the output size is `size` or
floor(input size * scale_factor); the source index of output index o is PyTorch's, computed in
float as PyTorch does for float32 (nearest: floor(o * scale) capped at the last input index, where
scale is 1/scale_factor when one was given (and not recomputed), else in/out; bilinear: the
half-pixel source (o + 0.5) * scale - 0.5 clamped at 0, or o * (in - 1)/(out - 1) with
align_corners). The C kernels run on the blocked layout; pixel shuffle is a reorder of the
channel and spatial axes (NumPy on the NCHW values).
"""
import math
import numbers
from typing import NamedTuple

import numpy as np

from .. import _kernels
from ._layout import Blocked, from_blocked, to_blocked
from ._pool import _input_shape
from ._validate import as_float32, bool_arg, check_alloc, check_shape, int_arg

__all__ = ["interpolate", "interpolate_backward", "pixel_shuffle", "pixel_unshuffle"]

MODES = {"nearest": 0, "bilinear": 1, "nearest-exact": 2}


class InterpGeometry(NamedTuple):
    """Every size and option of one interpolation (the tuple the C layer reads)."""
    n: int
    c: int
    h: int
    w: int
    oh: int
    ow: int
    mode: int
    align_corners: int
    scale_h: float
    scale_w: float


def _two(v, name, what):
    """v as a pair (one value for both axes, or a pair for H and W)."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError("%s: expected %s or a pair for a 4-d input, got %r" % (name, what, v))
        return tuple(v)
    return (v, v)


def _size_pair(size):
    vals = _two(size, "size", "an int")
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError("size: expected an int or a pair of ints, got %r" % (size,))
        if v < 1:
            raise ValueError("size: expected sizes >= 1, got %r" % (size,))
    return int(vals[0]), int(vals[1])


def _scale_pair(scale_factor):
    vals = _two(scale_factor, "scale_factor", "a number")
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError("scale_factor: expected a number or a pair of numbers, got %r" % (scale_factor,))
        if not (math.isfinite(v) and v > 0):
            raise ValueError("scale_factor: expected finite numbers > 0, got %r" % (scale_factor,))
    return float(vals[0]), float(vals[1])


def check_interp_options(size, scale_factor, mode, align_corners, recompute_scale_factor=None,
                         antialias=False):
    """Check the shape-independent options: (size pair or None, scale pair or None, mode code,
    align_corners, recompute_scale_factor)."""
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError("mode: expected one of %s (4-d inputs), got %r" % (sorted(MODES), mode))
    if align_corners is not None:
        bool_arg(align_corners, "align_corners")
        if mode != "bilinear":
            raise ValueError("align_corners: only the interpolating mode 'bilinear' takes it, got "
                             "align_corners=%r with mode=%r" % (align_corners, mode))
    if recompute_scale_factor is not None:
        bool_arg(recompute_scale_factor, "recompute_scale_factor")
    if antialias is not False:
        raise ValueError("antialias: expected False (cnncore does not implement anti-aliasing), got %r"
                         % (antialias,))
    if (size is None) == (scale_factor is None):
        raise ValueError("size, scale_factor: expected exactly one of them, got size=%r and "
                         "scale_factor=%r" % (size, scale_factor))
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor: not meaningful with an explicit size")
        return _size_pair(size), None, MODES[mode], bool(align_corners), False
    return None, _scale_pair(scale_factor), MODES[mode], bool(align_corners), bool(recompute_scale_factor)


def interp_geometry(shape, size=None, scale_factor=None, mode="nearest", align_corners=None,
                    recompute_scale_factor=None, antialias=False, name="input"):
    """Check an interpolation's arguments for an input `shape` and compute its geometry."""
    size, scales, code, ac, recompute = check_interp_options(size, scale_factor, mode, align_corners,
                                                             recompute_scale_factor, antialias)
    n, c, h, w = shape
    if c < 1 or h < 1 or w < 1:
        raise ValueError("%s: expected non-zero C, H and W, got shape %s" % (name, tuple(shape)))
    if size is None:
        size = (math.floor(h * scales[0]), math.floor(w * scales[1]))
        if min(size) < 1:
            raise ValueError("scale_factor: %r gives an output size %s for an input of spatial size "
                             "(%d, %d); expected sizes >= 1" % (scale_factor, size, h, w))
        if recompute:
            scales = None
    check_alloc(name, (n, -(-c // 16), h, w, 16))
    check_alloc("output", (n, -(-c // 16), size[0], size[1], 16))
    sh, sw = scales if scales is not None else (0.0, 0.0)
    return InterpGeometry(n, c, h, w, size[0], size[1], code, int(ac), sh, sw)


def interpolate_blocked(xb, g):
    return Blocked(_kernels.interp_forward(g, xb.data), g.c)


def interpolate_backward_blocked(dyb, g):
    return Blocked(_kernels.interp_backward(g, dyb.data), g.c)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize a 4-d (N, C, H, W) input, as torch.nn.functional.interpolate.

    size (int or (H, W)) or scale_factor (number or pair), exactly one; mode 'nearest',
    'nearest-exact' or 'bilinear'; align_corners (bilinear only; None means False);
    recompute_scale_factor: with True, the indices are computed from the sizes instead of the
    scale factor. Returns (N, C, OH, OW) float32.
    """
    x = as_float32(input, "input", 4, "(N, C, H, W)")
    g = interp_geometry(x.shape, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)
    return from_blocked(interpolate_blocked(to_blocked(x), g))


def interpolate_backward(grad_output, input_shape, scale_factor=None, mode="nearest",
                         align_corners=None, recompute_scale_factor=None):
    """Gradient of interpolate w.r.t. its input of shape input_shape (N, C, H, W); the output
    size is grad_output's, and scale_factor (if the forward had one) gives the index formula."""
    shape = _input_shape(input_shape)
    dy = as_float32(grad_output, "grad_output", 4, "(N, C, OH, OW)")
    size = dy.shape[2:] if scale_factor is None else None
    if size is not None and min(size) < 1:
        raise ValueError("grad_output: expected OH, OW >= 1, got shape %s" % (dy.shape,))
    g = interp_geometry(shape, size, scale_factor, mode, align_corners, recompute_scale_factor,
                        name="input_shape")
    check_shape(dy, "grad_output", (g.n, g.c, g.oh, g.ow))
    return from_blocked(interpolate_backward_blocked(to_blocked(dy, "grad_output"), g))


# ---------------------------------------------------------------------- pixel shuffle ---

def shuffle_shape(shape, factor, up, name="input"):
    """The output shape of pixel_shuffle (up) or pixel_unshuffle, checked."""
    r = int_arg(factor, "upscale_factor" if up else "downscale_factor", 1)
    n, c, h, w = shape
    if up:
        if c % (r * r):
            raise ValueError("%s: expected channels divisible by upscale_factor**2 = %d, got shape %s"
                             % (name, r * r, tuple(shape)))
        return (n, c // (r * r), h * r, w * r), r
    if h % r or w % r:
        raise ValueError("%s: expected H and W divisible by downscale_factor %d, got shape %s"
                         % (name, r, tuple(shape)))
    return (n, c * r * r, h // r, w // r), r


def shuffle_plain(x, r, up):
    """pixel_shuffle (up) or pixel_unshuffle of an NCHW array, by one reorder."""
    n, c, h, w = x.shape
    if up:
        co = c // (r * r)
        y = x.reshape(n, co, r, r, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, co, h * r, w * r)
    else:
        y = x.reshape(n, c, h // r, r, w // r, r).transpose(0, 1, 3, 5, 2, 4).reshape(n, c * r * r, h // r, w // r)
    return np.ascontiguousarray(y, dtype=np.float32)


def pixel_shuffle(input, upscale_factor):
    """(N, C * r**2, H, W) -> (N, C, H * r, W * r), as torch.nn.functional.pixel_shuffle
    (its gradient is pixel_unshuffle of the output gradient)."""
    x = as_float32(input, "input", 4, "(N, C, H, W)")
    _, r = shuffle_shape(x.shape, upscale_factor, True)
    return shuffle_plain(x, r, True)


def pixel_unshuffle(input, downscale_factor):
    """(N, C, H * r, W * r) -> (N, C * r**2, H, W), as torch.nn.functional.pixel_unshuffle
    (the inverse of pixel_shuffle, and its gradient)."""
    x = as_float32(input, "input", 4, "(N, C, H, W)")
    _, r = shuffle_shape(x.shape, downscale_factor, False)
    return shuffle_plain(x, r, False)
