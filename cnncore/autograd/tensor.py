"""cnncore.Tensor: the value modules and functional ops return, and its place in the graph."""
import numbers

import numpy as np

from ..functional._layout import Blocked
from .engine import is_grad_enabled, run_backward
from .values import as_blocked, as_plain, numeric_array


class Tensor:
    """A float32 value (a blocked NCHW16c activation or a plain array) and, when it was computed
    by recorded ops, the node that computed it.

    Tensor(data, requires_grad=False) makes a leaf from anything np.asarray takes (copied as
    float32). As torch.Tensor: .shape, .dtype, .numpy(), .item(), float(), .detach(),
    .requires_grad, .grad (a NumPy array, on leaves), .backward(); arithmetic + - * / ** with
    NumPy broadcasting; reshape/view/flatten, mean/sum, indexing. NumPy arrays and Tensors mix
    freely as inputs of modules and functional ops.
    """

    __slots__ = ("_value", "_node", "_rec", "_shape", "requires_grad", "grad", "__weakref__")
    __array_priority__ = 1000  # NumPy defers `array + tensor` to Tensor.__radd__

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.numpy()
        arr = np.asarray(data)
        if arr.dtype.kind not in "fiub":
            raise TypeError("data: expected a real numeric array, got dtype %s" % arr.dtype)
        self._value = np.array(arr, dtype=np.float32, order="C", copy=True)
        self._node = None
        self._rec = False
        self._shape = self._value.shape
        self.requires_grad = bool(requires_grad)
        self.grad = None

    @classmethod
    def _make(cls, value, shape, node, rec, requires_grad):
        t = cls.__new__(cls)
        t._value = value
        t._node = node
        t._rec = rec
        t._shape = shape
        t.requires_grad = requires_grad
        t.grad = None
        return t

    @classmethod
    def _edge(cls, value):
        """A leaf for an array handed to a module: no gradient of its own, but the module's
        explicit backward (module.backward(dy)) may ask for the gradient with respect to it."""
        return cls._make(value, value.shape, None, is_grad_enabled(), False)

    # ------------------------------------------------------------------ values
    @property
    def value(self):
        """The raw value (Blocked or ndarray), computing a pending op first."""
        v = self._value
        if v is None:
            node = self._node
            v = node.compute()
            self._value = v
            if not self._rec:
                self._node = None
        return v

    @property
    def shape(self):
        return self._shape

    @property
    def ndim(self):
        return len(self._shape)

    @property
    def dtype(self):
        return np.dtype(np.float32)

    def size(self, dim=None):
        return self._shape if dim is None else self._shape[dim]

    def numel(self):
        return int(np.prod(self._shape, dtype=np.int64))

    def dim(self):
        return len(self._shape)

    def __len__(self):
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    def numpy(self):
        """The values as a new NCHW float32 NumPy array (never a view of what backward needs)."""
        v = self.value
        return as_plain(v) if isinstance(v, Blocked) else v.copy()

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def item(self):
        if self.numel() != 1:
            raise ValueError("item(): expected a tensor with one element, got shape %s" % (self._shape,))
        return float(as_plain(self.value).reshape(-1)[0])

    def __float__(self):
        return self.item()

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise ValueError("the truth value of a tensor with more than one element is ambiguous")
        return bool(self.item())

    def tolist(self):
        return self.numpy().tolist()

    def __reduce__(self):
        """Pickled (and deep-copied) as a leaf with the same values: the graph stays behind."""
        return (Tensor, (self.numpy(), self.requires_grad))

    def detach(self):
        """The same values, cut from the graph (no gradient flows through the result)."""
        return Tensor._make(self.value, self._shape, None, False, False)

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extra = ""
        if self._node is not None and self._rec:
            extra = ", grad_fn=<%s>" % self._node.name
        elif self.requires_grad:
            extra = ", requires_grad=True"
        return "tensor(%s%s)" % (body, extra)

    @property
    def grad_fn(self):
        return self._node if self._rec else None

    @property
    def is_leaf(self):
        return self._node is None or not self._rec

    def requires_grad_(self, requires_grad=True):
        if not self.is_leaf:
            raise RuntimeError("requires_grad_: only leaf tensors can change requires_grad "
                               "(use detach() first)")
        self.requires_grad = bool(requires_grad)
        return self

    # ------------------------------------------------------------------ backward
    def backward(self, gradient=None, retain_graph=False):
        """Differentiate this tensor: every leaf and Parameter that requires grad and that it
        depends on gets its gradient added to `.grad`. `gradient` (this tensor's shape) is
        required unless the tensor holds a single value (a loss)."""
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad (nothing it was "
                               "computed from requires grad, or it was computed under no_grad)")
        run_backward([self], [self._seed(gradient, "gradient")], retain_graph=retain_graph)

    def _seed(self, gradient, name):
        """A gradient for this tensor's value, checked against its shape."""
        v = self.value
        if gradient is None:
            if self.numel() != 1:
                raise RuntimeError("backward: grad can be implicitly created only for a tensor with "
                                   "one element (a loss); got shape %s: pass `gradient`" % (self._shape,))
            g = np.ones(self._shape, np.float32)
        else:
            if isinstance(gradient, Tensor):
                gradient = gradient.value
            if isinstance(gradient, Blocked):
                got = gradient.shape
            else:
                if isinstance(gradient, numbers.Number) and not isinstance(gradient, bool):
                    gradient = np.full(self._shape, gradient, np.float32)
                gradient = numeric_array(gradient, name)
                got = gradient.shape
            if tuple(got) != tuple(self._shape):
                raise ValueError("%s: expected shape %s (the tensor's), got %s"
                                 % (name, tuple(self._shape), tuple(got)))
            g = gradient
        if isinstance(v, Blocked):
            return as_blocked(g) if not isinstance(g, Blocked) else g
        return as_plain(g) if isinstance(g, Blocked) else np.ascontiguousarray(g, dtype=np.float32)

    def _accumulate_grad(self, g):
        g = as_plain(g)
        if g.shape != self._shape:
            g = g.reshape(self._shape)
        if self.grad is None:
            self.grad = np.array(g, dtype=np.float32, copy=True)
        else:
            self.grad = self.grad + g

    # ------------------------------------------------------------------ ops (cnncore.autograd.ops)
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __pow__(self, exponent):
        return _ops.pow(self, exponent)

    def __neg__(self):
        return _ops.mul(self, -1.0)

    def __abs__(self):
        return _act.abs(self)

    def __pos__(self):
        return self

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    # comparisons give NumPy boolean arrays (no gradient flows through them)
    __hash__ = object.__hash__

    def _compare(self, other, op):
        other = other.numpy() if isinstance(other, Tensor) else other
        return op(self.numpy(), other)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def any(self):
        return bool(self.numpy().any())

    def all(self):
        return bool(self.numpy().all())

    def astype(self, dtype):
        """The values as a NumPy array of `dtype` (a NumPy convenience; no gradient)."""
        return self.numpy().astype(dtype)

    def argmax(self, dim=None):
        """Indices of the maxima (a NumPy int64 array, as torch.argmax's values)."""
        return np.argmax(self.numpy(), axis=dim)

    def flatten(self, start_dim=0, end_dim=-1):
        return _ops.flatten(self, start_dim, end_dim)

    def reshape(self, *shape):
        return _ops.reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)

    view = reshape

    def mean(self, dim=None, keepdim=False):
        return _ops.mean(self, dim, keepdim)

    def sum(self, dim=None, keepdim=False):
        return _ops.sum(self, dim, keepdim)

    def relu(self):
        return _act.relu(self)

    def sigmoid(self):
        return _act.sigmoid(self)

    def tanh(self):
        return _act.tanh(self)


from . import ops as _ops  # noqa: E402  (ops builds on Tensor)
from . import activations as _act  # noqa: E402
