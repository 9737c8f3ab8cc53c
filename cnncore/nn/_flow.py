"""How values enter modules: NumPy arrays (or Blocked values) become Tensors at a module's
entry, checked once there; inside a network everything is a Tensor whose activations stay in the
blocked layout. Modules declare what they need (`_input_channels()`, `_keeps_channels`), so
nothing here knows layer classes."""
import numpy as np

from ..autograd.tensor import Tensor
from ..functional._layout import Blocked, check_blocked

# Shape tracing for Module.summary(): a list of (module, input shape, output shape) while active.
_trace = None


def record(module, in_shape, out_shape):
    if _trace is not None:
        _trace.append((module, tuple(in_shape), tuple(out_shape)))


def edge(x, module=None):
    """A NumPy array or Blocked handed to the outermost module call, as a Tensor that records
    (so that the module's explicit backward can return the gradient with respect to it). With
    `module`, an image batch is first checked against the channels the module needs, so that the
    error names the module the user called."""
    if module is not None and isinstance(x, (np.ndarray, Blocked)) and module._input_channels() is not None:
        activation(x, module)
    if isinstance(x, Blocked):
        check_blocked(x, "input")
        return Tensor._edge(x)
    if isinstance(x, np.ndarray) and x.dtype.kind in "fiu":
        return Tensor._edge(np.array(x, dtype=np.float32, order="C", copy=True))
    return x


def activation(x, module):
    """The module's 4-d input as a Tensor: checked (4-d, real numbers, the channels the module
    needs and its own shape rules) before any kernel runs."""
    name = "%s input" % type(module).__name__
    if isinstance(x, Tensor):
        shape = x.shape
    else:
        if isinstance(x, Blocked):
            x = edge(x)
            shape = x.shape
        else:
            try:
                arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
            except Exception as exc:  # ragged lists and the like
                raise TypeError("%s: expected a numeric array, got %s (%s)" % (name, type(x).__name__, exc))
            if arr.dtype.kind not in "fiu":
                raise TypeError("%s: expected a real numeric array (float or int), got dtype %s"
                                % (name, arr.dtype))
            shape = arr.shape
            x = None
    if len(shape) != 4:
        raise ValueError("%s: expected a 4-d array (N, C, H, W), got shape %s" % (name, tuple(shape)))
    c = module._input_channels()
    if c is not None and shape[1] != c:
        raise ValueError("%s: expected %d channels, got shape %s" % (name, c, tuple(shape)))
    check = getattr(module, "_check_input_shape", None)
    if check is not None:
        check(shape)
    if x is None:
        x = Tensor._make(np.ascontiguousarray(arr, dtype=np.float32), tuple(arr.shape), None, False, False)
    return x


def no_cache_error(module):
    return RuntimeError("%s.backward() called before forward() (or a second time for one forward; "
                        "run forward again first)" % type(module).__name__)
