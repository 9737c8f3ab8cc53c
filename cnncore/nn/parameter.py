"""Parameter: a trainable array and its gradient, in PyTorch's layout."""
import itertools

import numpy as np

_versions = itertools.count(1)


class Parameter:
    """A trainable float32 array.

    data: the values (NumPy float32, C-contiguous, PyTorch's layout for the layer), as a
    read-only view: change them by assigning (`p.data = new_values`, copied and checked for
    shape) or through an optimizer. Layers keep their weights packed for the kernels and repack
    only when the values changed; every change goes through one of those two paths, so the
    packed copy can never be stale (an in-place write such as `p.data[0] = 1` raises NumPy's
    "assignment destination is read-only" instead of being silently missed).
    grad: the accumulated gradient (same shape) or None until a backward pass writes one.
    version: a number that changes whenever the values change.
    """

    __slots__ = ("_data", "_version", "grad", "requires_grad")

    def __init__(self, data, requires_grad=True):
        arr = np.asarray(data)
        if arr.dtype.kind not in "fiu":
            raise TypeError("data: expected a real numeric array, got dtype %s" % arr.dtype)
        self._data = np.array(arr, dtype=np.float32, order="C", copy=True)
        self._version = next(_versions)
        self.grad = None
        self.requires_grad = bool(requires_grad)

    @property
    def data(self):
        view = self._data.view()
        view.flags.writeable = False
        return view

    @property
    def version(self):
        return self._version

    def _mutable_flat(self):
        """The values as a writable 1-D view, for in-place updates (optimizers); marks them changed."""
        self._version = next(_versions)
        return self._data.reshape(-1)

    @data.setter
    def data(self, value):
        arr = np.asarray(value)
        if arr.dtype.kind not in "fiu":
            raise TypeError("data: expected a real numeric array, got dtype %s" % arr.dtype)
        if arr.shape != self._data.shape:
            raise ValueError("data: expected shape %s, got %s" % (self._data.shape, arr.shape))
        self._data = np.array(arr, dtype=np.float32, order="C", copy=True)
        self._version = next(_versions)

    @property
    def shape(self):
        return self._data.shape

    def size(self, dim=None):
        """The shape (a tuple), or its length along dim, as torch's Tensor.size()."""
        if dim is None:
            return self._data.shape
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError("dim: expected an int, got %r" % (dim,))
        if not -self._data.ndim <= dim < self._data.ndim:
            raise IndexError("dim: expected a value in [%d, %d), got %d"
                             % (-self._data.ndim, self._data.ndim, dim))
        return self._data.shape[dim]

    def numel(self):
        """The number of elements."""
        return int(self._data.size)

    def dim(self):
        """The number of dimensions."""
        return self._data.ndim

    def accumulate_grad(self, g):
        """Add `g` to .grad (which starts as None), as a backward pass does."""
        if not self.requires_grad:
            return
        if self.grad is None:
            self.grad = np.array(g, dtype=np.float32, order="C", copy=True)
        else:
            self.grad += g

    def __repr__(self):
        return "Parameter(shape=%s)" % (self._data.shape,)
