"""2-D padding (constant, reflect, replicate, circular), forward and backward, as
torch.nn.functional.pad on 4-d inputs: `pad` is (left, right) or (left, right, top, bottom) for the
last two dimensions; constant padding may be negative (a crop). The C kernels run on the blocked
layout; the fill of constant padding goes to the real channels only (padded lanes stay zero)."""
import numbers
from typing import NamedTuple

from .. import _kernels
from ._layout import Blocked, from_blocked, to_blocked
from ._pool import _input_shape
from ._validate import as_float32, check_alloc, check_shape, float_arg

__all__ = ["pad", "pad_backward"]

PAD_MODES = {"constant": 0, "reflect": 1, "replicate": 2, "circular": 3}


class PadGeometry(NamedTuple):
    """Every size of one padding (the tuple the C layer reads)."""
    n: int
    c: int
    h: int
    w: int
    top: int
    bottom: int
    left: int
    right: int
    mode: int
    value: float

    @property
    def out_shape(self):
        return (self.n, self.c, self.h + self.top + self.bottom, self.w + self.left + self.right)


def check_pad_options(pad, mode="constant", value=None):
    """Check the shape-independent arguments: ((left, right, top, bottom), mode code, value)."""
    if not isinstance(pad, (tuple, list)) or len(pad) not in (2, 4):
        raise ValueError("pad: expected (left, right) or (left, right, top, bottom) for a 4-d input, "
                         "got %r" % (pad,))
    for v in pad:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError("pad: expected ints, got %r" % (pad,))
    pads = tuple(int(v) for v in pad) + (0, 0) * (len(pad) == 2)
    if not isinstance(mode, str) or mode not in PAD_MODES:
        raise ValueError("mode: expected one of %s, got %r" % (sorted(PAD_MODES), mode))
    if mode != "constant":
        if len(pad) != 4:
            raise ValueError("pad: expected (left, right, top, bottom) for mode %r on a 4-d input, got %r"
                             % (mode, pad))
        if value is not None and value != 0:
            raise ValueError("value: padding mode %r takes no value, got %r" % (mode, value))
        if min(pads) < 0:
            raise ValueError("pad: expected values >= 0 for mode %r, got %r" % (mode, pad))
    fill = 0.0 if value is None else float_arg(value, "value")
    return pads, PAD_MODES[mode], fill


def pad_geometry(shape, pad, mode="constant", value=None, name="input"):
    """Check a padding's arguments for an input `shape` and compute its geometry."""
    (left, right, top, bottom), code, fill = check_pad_options(pad, mode, value)
    n, c, h, w = shape
    if c < 1 or h < 1 or w < 1:
        raise ValueError("%s: expected non-zero C, H and W, got shape %s" % (name, tuple(shape)))
    if code == PAD_MODES["reflect"] and (max(top, bottom) >= h or max(left, right) >= w):
        raise ValueError("pad: reflect padding %r must be smaller than the input's spatial size "
                         "(%d, %d)" % (tuple(pad), h, w))
    if code == PAD_MODES["circular"] and (max(top, bottom) > h or max(left, right) > w):
        raise ValueError("pad: circular padding %r must be at most the input's spatial size (%d, %d)"
                         % (tuple(pad), h, w))
    oh, ow = h + top + bottom, w + left + right
    if oh < 1 or ow < 1:
        raise ValueError("pad: %r gives an output of spatial size (%d, %d) for an input of (%d, %d)"
                         % (tuple(pad), oh, ow, h, w))
    check_alloc(name, (n, -(-c // 16), h, w, 16))
    check_alloc("output", (n, -(-c // 16), oh, ow, 16))
    return PadGeometry(n, c, h, w, top, bottom, left, right, code, fill)


def pad_blocked(xb, g):
    return Blocked(_kernels.pad_forward(g, xb.data), g.c)


def pad_backward_blocked(dyb, g):
    return Blocked(_kernels.pad_backward(g, dyb.data), g.c)


def pad(input, pad, mode="constant", value=None):
    """Pad the last two dimensions of a 4-d (N, C, H, W) input, as torch.nn.functional.pad:
    pad (left, right[, top, bottom]; all four for the non-constant modes); mode 'constant' (fill `value`, default 0; negative pads
    crop), 'reflect' (mirror without the edge, pads < size), 'replicate' (repeat the edge) or
    'circular' (wrap around, pads <= size)."""
    x = as_float32(input, "input", 4, "(N, C, H, W)")
    g = pad_geometry(x.shape, pad, mode, value)
    return from_blocked(pad_blocked(to_blocked(x), g))


def pad_backward(grad_output, input_shape, pad, mode="constant"):
    """Gradient of pad w.r.t. its input of shape input_shape (N, C, H, W): each input element
    gets the sum of the output gradient at the places it was copied to."""
    g = pad_geometry(_input_shape(input_shape), pad, mode, None, "input_shape")
    dy = as_float32(grad_output, "grad_output", 4, "(N, C, OH, OW)")
    check_shape(dy, "grad_output", g.out_shape)
    return from_blocked(pad_backward_blocked(to_blocked(dy, "grad_output"), g))
