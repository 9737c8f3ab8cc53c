"""How activations move between layers: NCHW arrays at the public edge, Blocked (NCHW16c)
inside containers. A layer called with an array converts in and out; called with a Blocked (by a
Sequential or a block) it stays blocked. Backward mirrors the forward's kinds."""
import numpy as np

from ..functional._layout import Blocked, from_blocked, to_blocked

# Shape tracing for Module.summary(): a list of (module, input shape, output shape) while active.
_trace = None


def record(module, in_shape, out_shape):
    if _trace is not None:
        _trace.append((module, tuple(in_shape), tuple(out_shape)))


def enter(x, module):
    """(Blocked input, whether it came as an NCHW array)."""
    if isinstance(x, Blocked):
        return x, False
    name = "%s input" % type(module).__name__
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if arr.ndim != 4:
        raise ValueError("%s: expected a 4-d array (N, C, H, W), got shape %s" % (name, arr.shape))
    return to_blocked(arr, name), True


def leave(yb, was_array):
    return from_blocked(yb) if was_array else yb


def grad_enter(dy, expected_shape, module):
    """The output gradient as a Blocked of the forward output's shape (converted if an array)."""
    if isinstance(dy, Blocked):
        got = dy.shape
        dyb = dy
    else:
        arr = np.asarray(dy)
        got = arr.shape
        dyb = None
    if tuple(got) != tuple(expected_shape):
        raise ValueError("%s.backward: grad_output: expected shape %s (the forward output's), got %s"
                         % (type(module).__name__, tuple(expected_shape), tuple(got)))
    return dyb if dyb is not None else to_blocked(arr, "grad_output")


def no_cache_error(module):
    return RuntimeError("%s.backward() called before forward() (or a second time for one forward; "
                        "run forward again first)" % type(module).__name__)
