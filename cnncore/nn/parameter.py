"""Parameter: a trainable array and its gradient, in PyTorch's layout."""
import numpy as np


class Parameter:
    """A trainable float32 array.

    data: the values (NumPy float32, C-contiguous, PyTorch's layout for the layer);
    grad: the accumulated gradient (same shape) or None until a backward pass writes one.
    Assigning `data` replaces the array (copied to float32 C-contiguous, shape must match unless
    the parameter is empty).
    """

    __slots__ = ("_data", "grad", "requires_grad")

    def __init__(self, data, requires_grad=True):
        arr = np.asarray(data)
        if arr.dtype.kind not in "fiu":
            raise TypeError("data: expected a real numeric array, got dtype %s" % arr.dtype)
        self._data = np.array(arr, dtype=np.float32, order="C", copy=True)
        self.grad = None
        self.requires_grad = bool(requires_grad)

    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value):
        arr = np.asarray(value)
        if arr.dtype.kind not in "fiu":
            raise TypeError("data: expected a real numeric array, got dtype %s" % arr.dtype)
        if arr.shape != self._data.shape:
            raise ValueError("data: expected shape %s, got %s" % (self._data.shape, arr.shape))
        self._data = np.array(arr, dtype=np.float32, order="C", copy=True)

    @property
    def shape(self):
        return self._data.shape

    @property
    def size(self):
        return self._data.size

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
