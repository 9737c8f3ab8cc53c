"""The blocked activation layout and the reorders at the edges of a net."""
import numpy as np

from .. import _kernels
from ._validate import as_float32

BLOCK = 16


class Blocked:
    """An activation in the NCHW16c layout.

    data: float32 array (N, ceil(C/16), H, W, 16), C-contiguous, lanes past C zero;
    channels: C. Internal entry points (the *_blocked functions) take and return these, so that
    consecutive layers never go through NCHW.
    """

    __slots__ = ("data", "channels")

    def __init__(self, data, channels):
        self.data = data
        self.channels = int(channels)

    @property
    def shape(self):
        """The logical (N, C, H, W) shape."""
        n, _, h, w, _ = self.data.shape
        return (n, self.channels, h, w)

    def __repr__(self):
        return "Blocked(shape=%s)" % (self.shape,)


def to_blocked(x, name="input"):
    """NCHW array -> Blocked (NCHW16c). Accepts any real dtype and memory order; never modifies x."""
    if isinstance(x, Blocked):
        return x
    arr = as_float32(x, name, 4, "(N, C, H, W)")
    return Blocked(_kernels.nchw_to_blocked(arr), arr.shape[1])


def check_blocked(xb, name):
    """Raise TypeError/ValueError unless xb is a well-formed Blocked (what the kernels assume)."""
    if not isinstance(xb, Blocked):
        raise TypeError("%s: expected a Blocked tensor, got %s" % (name, type(xb).__name__))
    d = xb.data
    if (not isinstance(d, np.ndarray) or d.dtype != np.float32 or d.ndim != 5 or d.shape[4] != BLOCK
            or not d.flags.c_contiguous or xb.channels < 1 or d.shape[1] != -(-xb.channels // BLOCK)):
        raise ValueError("%s: expected Blocked data of shape (N, ceil(C/16), H, W, 16), float32, "
                         "C-contiguous, C >= 1, got %s %s with C=%d"
                         % (name, getattr(d, "dtype", type(d).__name__), getattr(d, "shape", ""),
                            xb.channels))
    return xb


def from_blocked(xb):
    """Blocked -> NCHW float32 array."""
    check_blocked(xb, "input")
    return _kernels.blocked_to_nchw(xb.data, xb.channels)


def zeros_like_blocked(xb):
    return Blocked(np.zeros_like(xb.data), xb.channels)
