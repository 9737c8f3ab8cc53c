# Convolution (direct on NCHW16c) and depthwise convolution.

cdef extern from "cnn_ops.h":
    ctypedef struct cnn_conv_desc:
        int64_t n, c_in, h, w, c_out, kh, kw, sh, sw, ph, pw, dh, dw, groups, oh, ow
    int64_t cnn_conv_pack_nicb_max(const cnn_conv_desc* d, int transposed) nogil
    void cnn_conv_pack(const cnn_conv_desc* d, const float* w, int transposed, int64_t nicb_max,
                       int32_t* icb_lo, int32_t* nicb, float* packed) nogil
    void cnn_conv_unpack(const cnn_conv_desc* d, const float* packed, const int32_t* icb_lo,
                         int64_t nicb_max, float* w) nogil
    int cnn_conv2d_forward(const cnn_conv_desc* d, const float* x, const float* packed,
                           const int32_t* icb_lo, const int32_t* nicb, int64_t nicb_max,
                           const float* bias, int act, float alpha, float* y) nogil
    int cnn_conv2d_backward_data(const cnn_conv_desc* d, const float* dy, const float* packed_t,
                                 const int32_t* icb_lo_t, const int32_t* nicb_t,
                                 int64_t nicb_max_t, float* dx) nogil
    int cnn_conv2d_backward_weights(const cnn_conv_desc* d, const float* x, const float* dy,
                                    const int32_t* icb_lo, const int32_t* nicb, int64_t nicb_max,
                                    float* dw_packed) nogil
    void cnn_bias_grad(const float* dy, int64_t n, int64_t c, int64_t hw, float* db) nogil
    void cnn_dwconv_pack(const cnn_conv_desc* d, const float* w, int transposed, float* packed) nogil
    void cnn_dwconv_unpack(const cnn_conv_desc* d, const float* packed, float* w) nogil
    int cnn_dwconv2d_forward(const cnn_conv_desc* d, const float* x, const float* packed,
                             const float* bias, int act, float alpha, float* y) nogil
    int cnn_dwconv2d_backward_data(const cnn_conv_desc* d, const float* dy, const float* packed_t,
                                   float* dx) nogil
    int cnn_dwconv2d_backward_weights(const cnn_conv_desc* d, const float* x, const float* dy,
                                      float* dw_packed) nogil


cdef cnn_conv_desc _conv_desc(g):
    """g = (n, c_in, h, w, c_out, kh, kw, sh, sw, ph, pw, dh, dw, groups, oh, ow)."""
    cdef cnn_conv_desc d
    (d.n, d.c_in, d.h, d.w, d.c_out, d.kh, d.kw, d.sh, d.sw, d.ph, d.pw, d.dh, d.dw, d.groups,
     d.oh, d.ow) = g
    return d


def conv_pack(geom, const float[:, :, :, ::1] w, bint transposed):
    """Pack OIHW weights for the direct kernel; returns (packed, icb_lo, nicb, nicb_max)."""
    cdef cnn_conv_desc d = _conv_desc(geom)
    cdef int64_t co = d.c_in if transposed else d.c_out
    cdef int64_t nicb_max = cnn_conv_pack_nicb_max(&d, transposed)
    cdef int64_t ocb = (co + 15) // 16
    packed = _empty((ocb, nicb_max, d.kh, d.kw, 16, 16), dtype=np.float32)
    lo = np.empty(ocb, dtype=np.int32)
    cnt = np.empty(ocb, dtype=np.int32)
    cdef float[:, :, :, :, :, ::1] pv = packed
    cdef int32_t[::1] lov = lo, cntv = cnt
    with nogil:
        cnn_conv_pack(&d, &w[0, 0, 0, 0], transposed, nicb_max, &lov[0], &cntv[0],
                      &pv[0, 0, 0, 0, 0, 0])
    return packed, lo, cnt, nicb_max


def conv_unpack(geom, const float[:, :, :, :, :, ::1] packed, const int32_t[::1] icb_lo):
    cdef cnn_conv_desc d = _conv_desc(geom)
    out = _empty((d.c_out, d.c_in // d.groups, d.kh, d.kw), dtype=np.float32)
    cdef float[:, :, :, ::1] wv = out
    with nogil:
        cnn_conv_unpack(&d, &packed[0, 0, 0, 0, 0, 0], &icb_lo[0], packed.shape[1], &wv[0, 0, 0, 0])
    return out


def conv_forward(geom, const float[:, :, :, :, ::1] x, const float[:, :, :, :, :, ::1] packed,
                 const int32_t[::1] icb_lo, const int32_t[::1] nicb, bias, int act, float alpha=0.0):
    """act: the epilogue activation kind (cnn_act.h; 0 none, 1 ReLU, ...), alpha its parameter."""
    cdef cnn_conv_desc d = _conv_desc(geom)
    out = _empty((d.n, (d.c_out + 15) // 16, d.oh, d.ow, 16), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] y = out
    cdef const float[::1] b
    cdef const float* bp = NULL
    if bias is not None:
        b = bias
        bp = &b[0]
    cdef int rc
    with nogil:
        rc = cnn_conv2d_forward(&d, &x[0, 0, 0, 0, 0], &packed[0, 0, 0, 0, 0, 0], &icb_lo[0],
                                &nicb[0], packed.shape[1], bp, act, alpha, &y[0, 0, 0, 0, 0])
    _check(rc)
    return out


def conv_backward_data(geom, const float[:, :, :, :, ::1] dy,
                       const float[:, :, :, :, :, ::1] packed_t, const int32_t[::1] icb_lo_t,
                       const int32_t[::1] nicb_t):
    cdef cnn_conv_desc d = _conv_desc(geom)
    out = _empty((d.n, (d.c_in + 15) // 16, d.h, d.w, 16), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] dx = out
    cdef int rc
    with nogil:
        rc = cnn_conv2d_backward_data(&d, &dy[0, 0, 0, 0, 0], &packed_t[0, 0, 0, 0, 0, 0],
                                      &icb_lo_t[0], &nicb_t[0], packed_t.shape[1], &dx[0, 0, 0, 0, 0])
    _check(rc)
    return out


def conv_backward_weights(geom, const float[:, :, :, :, ::1] x, const float[:, :, :, :, ::1] dy,
                          const int32_t[::1] icb_lo, const int32_t[::1] nicb, int64_t nicb_max):
    """Weight gradient in the packed layout of conv_pack(transposed=False)."""
    cdef cnn_conv_desc d = _conv_desc(geom)
    out = np.zeros(((d.c_out + 15) // 16, nicb_max, d.kh, d.kw, 16, 16), dtype=np.float32)
    if d.n == 0 or d.oh == 0 or d.ow == 0:
        return out
    cdef float[:, :, :, :, :, ::1] dw = out
    cdef int rc
    with nogil:
        rc = cnn_conv2d_backward_weights(&d, &x[0, 0, 0, 0, 0], &dy[0, 0, 0, 0, 0], &icb_lo[0],
                                         &nicb[0], nicb_max, &dw[0, 0, 0, 0, 0, 0])
    _check(rc)
    return out


def bias_grad(const float[:, :, :, :, ::1] dy, int64_t c):
    """Sum of the blocked gradient over batch and pixels, for the first c channels (float32)."""
    out = np.zeros(c, dtype=np.float32)
    cdef float[::1] db = out
    if dy.shape[0] * dy.shape[2] * dy.shape[3] == 0 or c == 0:
        return out
    with nogil:
        cnn_bias_grad(&dy[0, 0, 0, 0, 0], dy.shape[0], c, dy.shape[2] * dy.shape[3], &db[0])
    return out


def dwconv_pack(geom, const float[:, :, :, ::1] w, bint transposed):
    cdef cnn_conv_desc d = _conv_desc(geom)
    packed = _empty(((d.c_in + 15) // 16, d.kh, d.kw, 16), dtype=np.float32)
    cdef float[:, :, :, ::1] pv = packed
    with nogil:
        cnn_dwconv_pack(&d, &w[0, 0, 0, 0], transposed, &pv[0, 0, 0, 0])
    return packed


def dwconv_unpack(geom, const float[:, :, :, ::1] packed):
    cdef cnn_conv_desc d = _conv_desc(geom)
    out = _empty((d.c_in, 1, d.kh, d.kw), dtype=np.float32)
    cdef float[:, :, :, ::1] wv = out
    with nogil:
        cnn_dwconv_unpack(&d, &packed[0, 0, 0, 0], &wv[0, 0, 0, 0])
    return out


def dwconv_forward(geom, const float[:, :, :, :, ::1] x, const float[:, :, :, ::1] packed,
                   bias, int act, float alpha=0.0):
    cdef cnn_conv_desc d = _conv_desc(geom)
    out = _empty((d.n, (d.c_out + 15) // 16, d.oh, d.ow, 16), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] y = out
    cdef const float[::1] b
    cdef const float* bp = NULL
    if bias is not None:
        b = bias
        bp = &b[0]
    cdef int rc
    with nogil:
        rc = cnn_dwconv2d_forward(&d, &x[0, 0, 0, 0, 0], &packed[0, 0, 0, 0], bp, act, alpha,
                                  &y[0, 0, 0, 0, 0])
    _check(rc)
    return out


def dwconv_backward_data(geom, const float[:, :, :, :, ::1] dy, const float[:, :, :, ::1] packed_t):
    cdef cnn_conv_desc d = _conv_desc(geom)
    out = _empty((d.n, (d.c_in + 15) // 16, d.h, d.w, 16), dtype=np.float32)
    if out.size == 0:
        return out
    cdef float[:, :, :, :, ::1] dx = out
    cdef int rc
    with nogil:
        rc = cnn_dwconv2d_backward_data(&d, &dy[0, 0, 0, 0, 0], &packed_t[0, 0, 0, 0], &dx[0, 0, 0, 0, 0])
    _check(rc)
    return out


def dwconv_backward_weights(geom, const float[:, :, :, :, ::1] x, const float[:, :, :, :, ::1] dy):
    cdef cnn_conv_desc d = _conv_desc(geom)
    out = np.zeros(((d.c_in + 15) // 16, d.kh, d.kw, 16), dtype=np.float32)
    if d.n == 0 or d.oh == 0 or d.ow == 0:
        return out
    cdef float[:, :, :, ::1] dw = out
    cdef int rc
    with nogil:
        rc = cnn_dwconv2d_backward_weights(&d, &x[0, 0, 0, 0, 0], &dy[0, 0, 0, 0, 0], &dw[0, 0, 0, 0])
    _check(rc)
    return out


cdef extern from "cnn_isa.h":
    ctypedef struct cnn_conv_fwd_plan:
        const char* candidate
        const char* kernel_name
        size_t blocks, pix
    void cnn_conv_fwd_last(cnn_conv_fwd_plan* plan)
    void cnn_conv_fwd_force_tile(size_t blocks, size_t pix)


def conv_forward_last_plan():
    """The register tile of the last direct convolution (forward, or backward-data, which runs
    the same engine): (candidate name, kernel name, output blocks, pixels per kernel call)."""
    cdef cnn_conv_fwd_plan p
    cnn_conv_fwd_last(&p)
    return p.candidate.decode(), p.kernel_name.decode(), int(p.blocks), int(p.pix)


def conv_forward_force_tile(int blocks, int pix):
    """Tests: run every direct convolution in `blocks` output blocks x `pix` pixel tiles (one
    block where the blocks do not share their inputs); blocks=0 returns to the per-shape choice."""
    if blocks < 0 or pix < 0:
        raise ValueError("conv_forward_force_tile: blocks and pix must be >= 0, got %d, %d" % (blocks, pix))
    cnn_conv_fwd_force_tile(blocks, pix)


cdef extern from "cnn_isa.h":
    ctypedef struct cnn_conv_tiles:
        size_t max_blocks, vectors, registers
        size_t max_pix[4]
    const cnn_conv_tiles* cnn_conv_fwd_tiles()


def conv_forward_tiles():
    """The current ISA's forward kernel tiles: (max output blocks, registers per block and pixel,
    [max pixels for 1 block, 2 blocks, ...])."""
    cdef const cnn_conv_tiles* t = cnn_conv_fwd_tiles()
    return int(t.max_blocks), int(t.vectors), [int(t.max_pix[b]) for b in range(t.max_blocks)]
