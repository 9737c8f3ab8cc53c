# Compiled inference plans: a C array of operator descriptors (cnn_plan.h) built once per input
# shape by cnncore.plan, run over one arena by one C call with the GIL released.

from libc.stdlib cimport realloc
from libc.string cimport memset

cdef extern from "cnn_plan.h":
    ctypedef struct cnn_plan_ref:
        int32_t buf
        int64_t off
    ctypedef struct cnn_plan_op:
        int32_t kind, act
        float alpha
        cnn_plan_ref x, x2, y, scratch
        int64_t n, c, hw, count
        int64_t x2_hw, blocks_out, block_offset
        cnn_conv_desc conv
        const float* packed
        const int32_t* icb_lo
        const int32_t* nicb
        int64_t nicb_max
        const float* bias
        cnn_pool_desc pool
        int32_t count_include_pad
        int64_t divisor_override
    int cnn_plan_run(const cnn_plan_op* ops, int64_t first, int64_t last, float* arena,
                     const float* input, float* output, int64_t* failed) nogil


cdef cnn_plan_ref _plan_ref(ref):
    cdef cnn_plan_ref r
    r.buf, r.off = ref
    return r


cdef const float* _float_ptr(arr):
    cdef const float[::1] v = arr.reshape(-1)
    return &v[0]


cdef const int32_t* _int_ptr(arr):
    cdef const int32_t[::1] v = arr
    return &v[0]


cdef class PlanProgram:
    """The descriptors of a plan's C ops, in order. The arrays they point into (packed weights,
    biases) are kept alive by the program. Immutable once built; run() may be called from several
    threads at once, each with its own arena."""
    cdef cnn_plan_op* ops
    cdef int64_t count, capacity
    cdef list keep

    def __cinit__(self):
        self.ops = NULL
        self.count = 0
        self.capacity = 0
        self.keep = []

    def __dealloc__(self):
        free(self.ops)

    def __len__(self):
        return self.count

    def add(self, int kind, int act=0, float alpha=0.0, x=(0, 0), x2=(0, 0), y=(0, 0), scratch=(0, 0),
            int64_t n=0, int64_t c=0, int64_t hw=0, int64_t count=0, conv=None, packing=None,
            bias=None, pool=None, bint count_include_pad=True, int64_t divisor_override=0,
            int64_t x2_hw=0, int64_t blocks_out=0, int64_t block_offset=0):
        """Append one descriptor. packing: a conv packing (packed, icb_lo, nicb, nicb_max) or a
        depthwise packing (an array); conv: a ConvGeometry; pool: a PoolGeometry. Returns its
        index."""
        cdef cnn_plan_op* grown
        if self.count == self.capacity:
            grown = <cnn_plan_op*>realloc(self.ops, sizeof(cnn_plan_op) * (2 * self.capacity + 8))
            if grown == NULL:
                raise MemoryError("plan: no memory for %d op descriptors" % (2 * self.capacity + 8))
            self.ops = grown
            self.capacity = 2 * self.capacity + 8
        cdef cnn_plan_op* op = &self.ops[self.count]
        memset(op, 0, sizeof(cnn_plan_op))
        op.kind, op.act, op.alpha = kind, act, alpha
        op.x, op.x2, op.y, op.scratch = _plan_ref(x), _plan_ref(x2), _plan_ref(y), _plan_ref(scratch)
        op.n, op.c, op.hw, op.count = n, c, hw, count
        op.x2_hw, op.blocks_out, op.block_offset = x2_hw, blocks_out, block_offset
        if conv is not None:
            op.conv = _conv_desc(conv)
        if isinstance(packing, tuple):
            op.packed, op.icb_lo, op.nicb = _float_ptr(packing[0]), _int_ptr(packing[1]), _int_ptr(packing[2])
            op.nicb_max = packing[3]
        elif packing is not None:
            op.packed = _float_ptr(packing)
        if bias is not None:
            op.bias = _float_ptr(bias)
        if pool is not None:
            op.pool = _pool_desc(pool)
        op.count_include_pad, op.divisor_override = count_include_pad, divisor_override
        self.keep.append((packing, bias))
        self.count += 1
        return self.count - 1

    def run(self, int64_t first, int64_t last, float[::1] arena, const float[::1] input,
            float[::1] output):
        """Run ops [first, last) with the GIL released. Raises RuntimeError naming the op that
        failed."""
        if not 0 <= first <= last <= self.count:
            raise ValueError("first, last: expected 0 <= first <= last <= %d, got %d, %d"
                             % (self.count, first, last))
        cdef int64_t failed = -1
        cdef int rc
        with nogil:
            rc = cnn_plan_run(self.ops, first, last, &arena[0], &input[0], &output[0], &failed)
        if rc != 0:
            raise (MemoryError if rc == 1 else RuntimeError)(
                "plan: op %d (kind %d) failed with code %d" % (failed, self.ops[failed].kind, rc))
