"""Argument checks shared by every public function: each error names the argument, what was
expected and what came. Arrays are converted (never modified): any real numeric dtype and any
memory order is accepted and turned into a C-contiguous float32 array."""
import numbers
import os

import numpy as np


def as_float32(x, name, ndim=None, what=None):
    """`x` as a C-contiguous float32 array (a copy when it is not one already).

    ndim: required number of dimensions (an int or a tuple of allowed ints); what: a description
    of the expected shape for the message, e.g. "(N, C, H, W)".
    """
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise TypeError("%s: expected a numeric array, got %s (%s)" % (name, type(x).__name__, exc))
    if arr.dtype.kind not in "fiu":
        raise TypeError(
            "%s: expected a real numeric array (float or int), got dtype %s" % (name, arr.dtype))
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(
                "%s: expected a %s-d array%s, got shape %s"
                % (name, " or ".join(str(a) for a in allowed), " " + what if what else "", arr.shape))
    return np.ascontiguousarray(arr, dtype=np.float32)


def as_labels(target, name, n, num_classes):
    """Integer class labels of shape (n,) with values in [0, num_classes), as int64."""
    arr = np.asarray(target)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        elif arr.dtype.kind == "f" and arr.size == 0:
            arr = arr.astype(np.int64)
        else:
            raise TypeError("%s: expected integer class indices, got dtype %s" % (name, arr.dtype))
    if arr.shape != (n,):
        raise ValueError("%s: expected shape (%d,) (one label per row), got %s" % (name, n, arr.shape))
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        bad = arr[(arr < 0) | (arr >= num_classes)][0]
        raise ValueError(
            "%s: expected class indices in [0, %d), got %d" % (name, num_classes, int(bad)))
    return np.ascontiguousarray(arr, dtype=np.int64)


def bool_arg(v, name):
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError("%s: expected a bool, got %r" % (name, v))
    return bool(v)


def int_arg(v, name, minimum=None):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError("%s: expected an int, got %r" % (name, v))
    v = int(v)
    if minimum is not None and v < minimum:
        raise ValueError("%s: expected an int >= %d, got %d" % (name, minimum, v))
    return v


def pair(v, name, minimum):
    """An int or a pair of ints, each >= minimum, as a 2-tuple."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError("%s: expected an int or a pair of ints, got %r" % (name, v))
        vals = tuple(v)
    else:
        vals = (v, v)
    out = []
    for e in vals:
        if isinstance(e, bool) or not isinstance(e, numbers.Integral):
            raise TypeError("%s: expected an int or a pair of ints, got %r" % (name, v))
        if e < minimum:
            raise ValueError("%s: expected values >= %d, got %r" % (name, minimum, v))
        out.append(int(e))
    return tuple(out)


def float_arg(v, name, lo=None, hi=None, lo_open=False, hi_open=False):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError("%s: expected a number, got %r" % (name, v))
    v = float(v)
    bad = (v != v
           or (lo is not None and (v < lo or (lo_open and v == lo)))
           or (hi is not None and (v > hi or (hi_open and v == hi))))
    if bad:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ValueError("%s: expected a number in %s%s, %s%s, got %r"
                         % (name, left, "-inf" if lo is None else lo, "inf" if hi is None else hi,
                            right, v))
    return v


def check_shape(arr, name, expected):
    if tuple(arr.shape) != tuple(expected):
        raise ValueError("%s: expected shape %s, got %s" % (name, tuple(expected), tuple(arr.shape)))


# ------------------------------------------------------------------ sizes and memory
# Sizes are computed with Python integers (exact), checked against the 64-bit range the C layer
# uses, and against the memory this machine can ever give, before anything is allocated: a request
# that cannot fit raises MemoryError at once instead of being handed to an overcommitting malloc
# (which would succeed, then get the process killed or swap for hours when the pages are touched).

INT64_MAX = 2 ** 63 - 1
SIZE_LIMIT = 2 ** 62  # largest element count or byte count accepted (headroom for C arithmetic)


def _machine_memory():
    """Physical memory plus swap, and at most the address-space limit, in bytes."""
    total = None
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f if line.split()[1:]}
        total = info.get("MemTotal", 0) + info.get("SwapTotal", 0)
    except (OSError, ValueError, IndexError):
        pass
    if not total:
        try:
            total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            total = SIZE_LIMIT
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY and soft > 0:
            total = min(total, soft)
    except (ImportError, ValueError, OSError):
        pass
    return total


MEMORY_LIMIT = _machine_memory()


def check_sizes(name, **values):
    """Each value (a size, a padding, ...) must fit the C layer's 64-bit arithmetic with room
    to spare (ValueError naming the argument otherwise)."""
    for key, v in values.items():
        if v > SIZE_LIMIT or v < -SIZE_LIMIT:
            raise ValueError("%s: %s = %d overflows the 64-bit sizes of the kernels" % (name, key, v))


def check_alloc(what, shape, itemsize=4):
    """Raise ValueError if an array of `shape` has more elements than 64-bit sizes allow and
    MemoryError if it needs more bytes than this machine has (memory plus swap)."""
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    count = 1
    for d in shape:
        count *= int(d)
    nbytes = count * itemsize
    if count > SIZE_LIMIT or nbytes > SIZE_LIMIT:
        raise ValueError("%s: shape %s has %d elements, which overflows 64-bit sizes"
                         % (what, tuple(int(d) for d in shape), count))
    if nbytes > MEMORY_LIMIT:
        raise MemoryError("%s: shape %s needs %d bytes, more than this machine's %d bytes of memory"
                          % (what, tuple(int(d) for d in shape), nbytes, MEMORY_LIMIT))
    return nbytes
