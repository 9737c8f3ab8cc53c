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


_check_alloc = None  # cnncore.functional._validate.check_alloc, imported on first use


def _empty(shape, dtype=np.float32):
    """Allocate an output buffer (NaN-filled when the tests ask for it). A size past 64 bits
    raises ValueError, one past the machine's memory MemoryError, before anything is allocated."""
    global _check_alloc
    if _check_alloc is None:
        from .functional._validate import check_alloc as _check_alloc
    _check_alloc("output", shape, np.dtype(dtype).itemsize)
    out = pooled_empty(shape, dtype)
    if _fill_nan and out.dtype.kind == "f":
        out.fill(np.nan)
    return out

include "_buffers.pxi"
include "_config.pxi"
include "_layout.pxi"
include "_conv.pxi"
include "_gemm.pxi"
include "_pool.pxi"
include "_norm.pxi"
include "_eltwise.pxi"
include "_optim.pxi"
include "_resample.pxi"
include "_plan.pxi"
