"""Parameter: a trainable array and its gradient, in PyTorch's layout."""
import itertools

import numpy as np

_versions = itertools.count(1)
_hook_ids = itertools.count(1)


class _HookHandle:
    """What register_grad_ready_hook returns: remove() unregisters the hook."""

    def __init__(self, hooks):
        self.hooks = hooks
        self.id = next(_hook_ids)

    def remove(self):
        self.hooks.pop(self.id, None)


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

    __slots__ = ("_data", "_version", "grad", "requires_grad", "_grad_ready_hooks")
    _STATE = ("_data", "_version", "grad", "requires_grad")

    def __init__(self, data, requires_grad=True):
        arr = np.asarray(data)
        if arr.dtype.kind not in "fiu":
            raise TypeError("data: expected a real numeric array, got dtype %s" % arr.dtype)
        self._data = np.array(arr, dtype=np.float32, order="C", copy=True)
        self._version = next(_versions)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._grad_ready_hooks = None

    def __getstate__(self):  # hooks belong to this process's objects (a DDP wrapper), not the state
        return {name: getattr(self, name) for name in self._STATE}

    def __setstate__(self, state):
        for name in self._STATE:
            setattr(self, name, state[name])
        self._grad_ready_hooks = None

    def register_grad_ready_hook(self, hook):
        """Call `hook(param)` in every backward pass once this Parameter's gradient is final
        for it (the last recorded op using the Parameter has been differentiated), while the
        rest of the backward still runs; returns a handle whose remove() unregisters it.
        Distributed training starts its gradient reductions from here."""
        if not callable(hook):
            raise TypeError("hook: expected a callable hook(param), got %r" % (hook,))
        if self._grad_ready_hooks is None:
            self._grad_ready_hooks = {}
        handle = _HookHandle(self._grad_ready_hooks)
        self._grad_ready_hooks[handle.id] = hook
        return handle

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
