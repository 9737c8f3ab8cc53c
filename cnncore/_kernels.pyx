# cython: language_level=3
"""cnncore's compiled kernels: thin bindings over csrc/ (validate nothing, allocate outputs,
release the GIL, call C). Arguments are checked by the Python layer (cnncore.functional) before
they reach this module; the functions here take C-contiguous float32 arrays in the blocked
NCHW16c layout, shape (N, ceil(C/16), H, W, 16)."""

import numpy as np

# Tests set this so that every output buffer starts as NaN: an element a kernel forgets to write
# then shows up as NaN instead of passing by luck as uninitialized memory.
cdef bint _fill_nan = False


def set_fill_outputs_with_nan(bint on):
    global _fill_nan
    _fill_nan = on


def _empty(shape, dtype=np.float32):
    """Allocate an output buffer (NaN-filled when the tests ask for it). A size past 64 bits
    raises ValueError, one past the machine's memory MemoryError, before anything is allocated."""
    from .functional._validate import check_alloc

    check_alloc("output", shape, np.dtype(dtype).itemsize)
    if _fill_nan and np.dtype(dtype).kind == "f":
        return np.full(shape, np.nan, dtype=dtype)
    return np.empty(shape, dtype=dtype)

include "_config.pxi"
include "_layout.pxi"
include "_conv.pxi"
include "_pool.pxi"
include "_norm.pxi"
include "_eltwise.pxi"
include "_optim.pxi"
