"""How activations move between layers: NCHW arrays at the public edge, Blocked (NCHW16c)
inside containers. A layer called with an array converts in and out; called with a Blocked (by a
Sequential or a block) it stays blocked. Backward mirrors the forward's kinds."""
import numpy as np

from ..functional._layout import Blocked, check_blocked, from_blocked, to_blocked

# Shape tracing for Module.summary(): a list of (module, input shape, output shape) while active.
_trace = None


def record(module, in_shape, out_shape):
    if _trace is not None:
        _trace.append((module, tuple(in_shape), tuple(out_shape)))


# Layers that keep the channel count: expected_channels looks past them.
_SAME_CHANNELS = ("ReLU", "ReLU6", "Dropout", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Identity")


def expected_channels(module):
    """The input channels a module needs: its own (Conv2d, BatchNorm2d), else its first child's
    (containers, blocks and models register their children in the order they run), looking only
    past layers that keep the channel count; None when it cannot tell or any count goes."""
    from .conv import Conv2d
    from .norm import BatchNorm2d

    if isinstance(module, Conv2d):
        return module.in_channels
    if isinstance(module, BatchNorm2d):
        return module.num_features
    for child in module.children():
        c = expected_channels(child)
        if c is not None:
            return c
        if type(child).__name__ not in _SAME_CHANNELS or type(child).__module__.split(".")[0] != "cnncore":
            return None
    return None


def enter(x, module):
    """(Blocked input, whether it came as an NCHW array). An array is checked (4-d, numeric, the
    channels the module needs) before it is converted, so a bad input runs no kernel."""
    name = "%s input" % type(module).__name__
    if isinstance(x, Blocked):
        check_blocked(x, name)
        return x, False
    try:
        arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    except Exception as exc:  # ragged lists and the like
        raise TypeError("%s: expected a numeric array, got %s (%s)" % (name, type(x).__name__, exc))
    if arr.ndim != 4:
        raise ValueError("%s: expected a 4-d array (N, C, H, W), got shape %s" % (name, arr.shape))
    if arr.dtype.kind not in "fiu":
        raise TypeError("%s: expected a real numeric array (float or int), got dtype %s" % (name, arr.dtype))
    c = expected_channels(module)
    if c is not None and arr.shape[1] != c:
        raise ValueError("%s: expected %d channels, got shape %s" % (name, c, arr.shape))
    check = getattr(module, "_check_input_shape", None)
    if check is not None:
        check(arr.shape)
    return to_blocked(arr, name), True


def leave(yb, was_array):
    return from_blocked(yb) if was_array else yb


def grad_enter(dy, expected_shape, module):
    """The output gradient as a Blocked of the forward output's shape (converted if an array)."""
    if isinstance(dy, Blocked):
        check_blocked(dy, "%s.backward: grad_output" % type(module).__name__)
        got = dy.shape
        dyb = dy
    else:
        try:
            arr = np.asarray(dy)
        except Exception as exc:
            raise TypeError("%s.backward: grad_output: expected a numeric array, got %s (%s)"
                            % (type(module).__name__, type(dy).__name__, exc))
        got = arr.shape
        dyb = None
    if tuple(got) != tuple(expected_shape):
        raise ValueError("%s.backward: grad_output: expected shape %s (the forward output's), got %s"
                         % (type(module).__name__, tuple(expected_shape), tuple(got)))
    return dyb if dyb is not None else to_blocked(arr, "grad_output")


def no_cache_error(module):
    return RuntimeError("%s.backward() called before forward() (or a second time for one forward; "
                        "run forward again first)" % type(module).__name__)
