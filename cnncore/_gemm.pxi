# Packed f32 GEMM (csrc/ops/gemm.c): the Linear layer's forward, backward-data and
# backward-weights.

cdef extern from "cnn_gemm.h":
    ctypedef struct cnn_gemm_operand:
        const float* p
        int64_t rs, cs
    ctypedef struct cnn_gemm_kernel:
        int64_t mr, nr
        const char* name
    cnn_gemm_kernel cnn_gemm_cfg
    int64_t CNN_GEMM_KC
    int64_t cnn_gemm_nr() nogil
    int64_t cnn_gemm_packed_b_floats(int64_t k, int64_t n) nogil
    void cnn_gemm_pack_b(int64_t k, int64_t n, cnn_gemm_operand b, float* packed) nogil
    int cnn_gemm(int64_t m, int64_t n, int64_t k, cnn_gemm_operand a, cnn_gemm_operand b,
                 const float* packed_b, int64_t packed_nr, const float* bias, float* c,
                 int64_t ldc) nogil


def gemm_kernel():
    """(name, MR, NR, KC) of the GEMM at the current ISA level: the micro-kernel, its tile and the
    k block of the loop around it."""
    return cnn_gemm_cfg.name.decode(), cnn_gemm_cfg.mr, cnn_gemm_cfg.nr, CNN_GEMM_KC


cdef cnn_gemm_operand _gemm_view(const float[:, ::1] x, bint trans):
    """The operand x (trans = 0) or x.T (trans = 1) of a C-contiguous 2-d array."""
    cdef cnn_gemm_operand v
    v.p = &x[0, 0] if x.shape[0] * x.shape[1] else NULL
    if trans:
        v.rs, v.cs = 1, x.shape[1]
    else:
        v.rs, v.cs = x.shape[1], 1
    return v


def gemm_pack_b(const float[:, ::1] b, bint trans_b):
    """Pack B = b (k x n) or b.T (trans_b) for gemm_packed at the current ISA level: returns
    (panels, k, n, nr), nr the panel width it was packed for."""
    cdef int64_t k = b.shape[1] if trans_b else b.shape[0]
    cdef int64_t n = b.shape[0] if trans_b else b.shape[1]
    cdef cnn_gemm_operand v = _gemm_view(b, trans_b)
    cdef int64_t nr = cnn_gemm_nr()
    panels = _empty(cnn_gemm_packed_b_floats(k, n), dtype=np.float32)  # pooled: packed every step
    cdef float[::1] pv = panels
    if panels.size:
        with nogil:
            cnn_gemm_pack_b(k, n, v, &pv[0])
    return panels, k, n, nr


cdef _gemm_run(const float[:, ::1] a, bint trans_a, const float[:, ::1] b, bint trans_b,
               packing, bias):
    cdef int64_t m = a.shape[1] if trans_a else a.shape[0]
    cdef int64_t k = a.shape[0] if trans_a else a.shape[1]
    cdef int64_t n, nr = 0
    cdef const float[::1] pk
    cdef const float* pkp = NULL
    cdef cnn_gemm_operand bv
    bv.p = NULL
    bv.rs = bv.cs = 0
    if packing is None:
        n = b.shape[0] if trans_b else b.shape[1]
        bv = _gemm_view(b, trans_b)
    else:
        pk, pk_k, n, nr = packing
        if pk_k != k:
            raise ValueError("packing: expected B packed with %d rows, got %d" % (k, pk_k))
        if nr != cnn_gemm_nr():
            raise ValueError("packing: packed for panels of %d columns, the current kernel takes %d "
                             "(pack again after changing the ISA level)" % (nr, cnn_gemm_nr()))
        if pk.shape[0]:
            pkp = &pk[0]
    cdef const float[::1] bb
    cdef const float* bp = NULL
    if bias is not None:
        bb = bias
        bp = &bb[0]
    out = _empty((m, n), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, ::1] c = out
    cdef cnn_gemm_operand av = _gemm_view(a, trans_a)
    cdef int rc
    with nogil:
        rc = cnn_gemm(m, n, k, av, bv, pkp, nr, bp, &c[0, 0], n)
    _check(rc)
    return out


def gemm(const float[:, ::1] a, bint trans_a, const float[:, ::1] b, bint trans_b, bias=None):
    """C = op(a) op(b) (+ bias per column), op(x) = x.T when its trans flag is set; a new
    (m, n) float32 array. Shapes are checked by the caller (cnncore.functional._linear)."""
    return _gemm_run(a, trans_a, b, trans_b, None, bias)


def gemm_packed(const float[:, ::1] a, bint trans_a, packing, bias=None):
    """As gemm, with B from gemm_pack_b's packing."""
    return _gemm_run(a, trans_a, None, False, packing, bias)
