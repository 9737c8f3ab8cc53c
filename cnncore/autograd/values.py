"""Raw values behind a Tensor: a Blocked (NCHW16c) activation or a float32 ndarray, and the few
conversions between them. A 4-d activation stays Blocked from the first layer to the point where
the user asks for NumPy (or an op needs NCHW order, such as flatten before a Linear)."""
import numpy as np

from .. import _kernels
from ..functional._layout import BLOCK, Blocked


def numeric_array(x, name, what="a numeric array", kinds="fiu"):
    """np.asarray(x), or TypeError naming the argument when it is not a real numeric array."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError("%s: expected %s, got %s (%s)" % (name, what, type(x).__name__, exc))
    if arr.dtype.kind not in kinds:
        raise TypeError("%s: expected a real numeric array, got dtype %s" % (name, arr.dtype))
    return arr


def as_plain(v):
    """The value as an NCHW (or any-shape) float32 ndarray."""
    if isinstance(v, Blocked):
        return _kernels.blocked_to_nchw(v.data, v.channels)
    return v


def as_blocked(v):
    """A 4-d value as a Blocked (converted from NCHW if needed)."""
    if isinstance(v, Blocked):
        return v
    return Blocked(_kernels.nchw_to_blocked(np.ascontiguousarray(v, dtype=np.float32)), v.shape[1])


def zero_pad_lanes(data, channels):
    """Set the padded lanes of the last channel block to zero (after an op with f(0) != 0)."""
    tail = channels % BLOCK
    if tail:
        data[:, -1, :, :, tail:] = 0.0
    return data


def add_values(a, b):
    """a + b of two gradients of one value (either representation; the result never aliases)."""
    if isinstance(a, Blocked) or isinstance(b, Blocked):
        a, b = as_blocked(a), as_blocked(b)
        return Blocked(_kernels.add(a.data, b.data), a.channels)
    return np.add(a, b, dtype=np.float32)


def like(v, ref):
    """Gradient v in the representation of the value ref."""
    if isinstance(ref, Blocked):
        return as_blocked(v) if not isinstance(v, Blocked) else v
    return as_plain(v)
