# The activation buffer pool. Kernel outputs (every `_empty` below) are carved from malloc'd
# blocks that go back to a free list of their size when the last array viewing them is
# gone, instead of back to malloc: a training step allocates the same sizes every step, so its
# activations land in memory that is already mapped (no page faults, no zeroing by the kernel),
# without touching the process's malloc settings. The pool keeps at most `_pool_limit` bytes of
# free blocks (CNNCORE_POOL_MB, default 1024 MiB); `release_buffers()` returns them all.

from libc.stdlib cimport free, malloc

cdef dict _free_blocks = {}      # nbytes -> list of _FreeBlock
cdef size_t _free_bytes = 0
cdef size_t _pool_limit = 1024 * 1024 * 1024
cdef size_t _pool_hits = 0
cdef size_t _pool_misses = 0


cdef class _FreeBlock:
    """A free block in the pool. It keeps the address as a C pointer (not a Python int) so that
    leak checkers (valgrind) see the block as reachable."""
    cdef void* ptr


cdef class _PoolBlock:
    """One aligned block; exposes it as a writable byte buffer; returns it to the pool when
    the last reference (the arrays viewing it) goes."""
    cdef void* ptr
    cdef Py_ssize_t nbytes
    cdef Py_ssize_t shape[1]
    cdef Py_ssize_t strides[1]

    def __getbuffer__(self, Py_buffer* buf, int flags):
        self.shape[0] = self.nbytes
        self.strides[0] = 1
        buf.buf = self.ptr
        buf.obj = self
        buf.len = self.nbytes
        buf.readonly = 0
        buf.itemsize = 1
        buf.format = "B"
        buf.ndim = 1
        buf.shape = self.shape
        buf.strides = self.strides
        buf.suboffsets = NULL
        buf.internal = NULL

    def __releasebuffer__(self, Py_buffer* buf):
        pass

    def __dealloc__(self):
        global _free_bytes
        if self.ptr == NULL:
            return
        cdef _FreeBlock fb
        if _free_bytes + <size_t>self.nbytes <= _pool_limit:
            fb = _FreeBlock.__new__(_FreeBlock)
            fb.ptr = self.ptr
            _free_blocks.setdefault(self.nbytes, []).append(fb)
            _free_bytes += self.nbytes
        else:
            free(self.ptr)
        self.ptr = NULL


cdef Py_ssize_t _size_class(Py_ssize_t nbytes):
    """Block sizes come in classes a quarter of a power of two apart (at most 25% unused), so
    activations of nearby sizes share blocks."""
    cdef Py_ssize_t p = 4096, step
    if nbytes <= 4096:
        return ((nbytes + 63) // 64) * 64 if nbytes > 0 else 64
    while p * 2 <= nbytes:
        p *= 2
    step = p // 4
    return ((nbytes + step - 1) // step) * step


cdef _PoolBlock _take_block(Py_ssize_t request):
    """A block for `request` bytes: a free one of its size class or of one of the next four
    (at most twice the size), else a new one of its class."""
    global _free_bytes, _pool_hits, _pool_misses
    cdef _PoolBlock b = _PoolBlock.__new__(_PoolBlock)
    cdef void* p = NULL
    cdef Py_ssize_t nbytes = _size_class(request), size = nbytes
    cdef list free_list = None
    cdef int k
    for k in range(5):
        free_list = _free_blocks.get(size)
        if free_list:
            nbytes = size
            break
        size = _size_class(size + 1)
    cdef _FreeBlock fb
    if free_list:
        fb = free_list.pop()
        p = fb.ptr
        fb.ptr = NULL
        _free_bytes -= nbytes
        _pool_hits += 1
    else:
        p = malloc(<size_t>nbytes)
        if p == NULL:
            release_buffers()  # give back what the pool holds and try once more
            p = malloc(<size_t>nbytes)
            if p == NULL:
                raise MemoryError("cannot allocate %d bytes for an activation buffer" % nbytes)
        _pool_misses += 1
    b.ptr = p
    b.nbytes = nbytes
    return b


def pooled_empty(shape, dtype):
    """An uninitialized C-contiguous array from the pool."""
    dt = np.dtype(dtype)
    if not isinstance(shape, tuple):
        shape = tuple(shape) if isinstance(shape, list) else (shape,)
    count = 1
    for d in shape:
        count *= d
    block = _take_block(count * dt.itemsize)
    return np.frombuffer(block, dtype=dt, count=count).reshape(shape)


def release_buffers():
    """Free every block the pool keeps (the memory of finished activations)."""
    global _free_bytes
    cdef _FreeBlock fb
    for blocks in _free_blocks.values():
        for fb in blocks:
            free(fb.ptr)
            fb.ptr = NULL
    _free_blocks.clear()
    _free_bytes = 0


def set_pool_limit(size_t nbytes):
    """Keep at most nbytes of free blocks (0: a plain allocator, nothing kept)."""
    global _pool_limit
    _pool_limit = nbytes
    if _free_bytes > nbytes:
        release_buffers()


def pool_stats():
    """(free bytes kept, limit, allocations served from the pool, allocations from malloc)."""
    return _free_bytes, _pool_limit, _pool_hits, _pool_misses
