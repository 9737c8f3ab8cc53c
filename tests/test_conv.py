"""cnncore.functional convolution against tests/reference.py, at every ISA level the CPU has.

conv2d / conv2d_relu and their backward, and the blocked entry points (conv2d_blocked,
conv2d_backward_blocked with PackedConv), on shapes at the tile edges: channels below, at, above and
not a multiple of the 16-lane block; widths around the forward kernels' one-block pixel tiles (14 on
AVX-512, 6 on AVX2, 4 generic; every tile is forced in test_conv_tiles.py); stride, padding, dilation,
non-square kernels, groups, depthwise. Also a finite-difference check, thread-count and ISA
independence, argument handling, error messages and NaN propagation. Every kernel output starts NaN-filled (conftest), so an unwritten element fails.
"""
import numpy as np
import pytest

import cnncore
from cnncore import functional as F
from cnncore.functional import PackedConv, conv2d_backward_blocked, conv2d_blocked

try:  # tests/ may or may not be a package
    from . import reference as R
    from .conftest import assert_close
except ImportError:
    import reference as R
    from conftest import assert_close


# --------------------------------------------------------------------------------- cases ---

class Case:
    """One convolution: input (n, cin, h, w), weight (cout, cin/groups, *kernel)."""

    def __init__(self, id, n, cin, h, w, cout, kernel=3, stride=1, padding=0, dilation=1,
                 groups=1, bias=True):
        self.id = id
        self.n, self.cin, self.h, self.w, self.cout = n, cin, h, w, cout
        self.kernel = (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)
        self.groups = groups
        self.bias = bias
        self.kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)

    def arrays(self, seed=0):
        """x, w, b (or None), gy as float32, from a RNG seeded by the case."""
        rng = np.random.default_rng([seed, sum(map(ord, self.id))])
        x = rng.standard_normal((self.n, self.cin, self.h, self.w)).astype(np.float32)
        w = rng.standard_normal((self.cout, self.cin // self.groups) + self.kernel).astype(np.float32)
        b = rng.standard_normal(self.cout).astype(np.float32) if self.bias else None
        oshape = R.conv2d(x[:1], w, None, **self.kw).shape
        gy = rng.standard_normal((self.n, self.cout) + oshape[2:]).astype(np.float32)
        return x, w, b, gy


CASES = [
    # channels in/out from {1, 3, 15, 16, 17, 33, 64}; W around the pixel tiles 6, 8, 14
    Case("1x1_c1-3_w1", 2, 1, 5, 1, 3, kernel=1),
    Case("3x3_c3-16_w5_p1", 2, 3, 7, 5, 16, padding=1),
    Case("3x3_c15-17_w13_p1_nobias", 1, 15, 5, 13, 17, padding=1, bias=False),
    Case("3x3_c16-15_w14_p1", 2, 16, 3, 14, 15, padding=1),
    Case("3x3_c17-33_w15_p1", 1, 17, 5, 15, 33, padding=1),
    Case("3x3_c33-64_w29_s2_p1", 1, 33, 9, 29, 64, stride=2, padding=1),
    Case("3x3_c64-1_w29_p1", 2, 64, 5, 29, 1, padding=1),
    Case("3x3_c64-17_w6_nobias", 1, 64, 7, 8, 17, bias=False),  # OW = 6
    Case("1x1_c64-64_w15", 1, 64, 3, 15, 64, kernel=1),
    Case("1x1_c17-33_w45", 1, 17, 3, 45, 33, kernel=1),  # 4 tiles of 14 / 8 of 6 / 6 of 8
    Case("3x3_c1-1_w3_no_pad", 1, 1, 3, 3, 1),  # kernel == input: 1x1 output
    Case("3x3_c64-64_w56_s2_p1", 1, 64, 7, 56, 64, stride=2, padding=1),
    Case("3x3_c33-17_w29_d3_p3_n3", 3, 33, 7, 29, 17, padding=3, dilation=3),
    Case("5x5_c17-16_h1_p2", 2, 17, 1, 13, 16, kernel=5, padding=2),
    # stride, padding, dilation
    Case("3x3_c17-16_w13_s21_p1", 2, 17, 9, 13, 16, stride=(2, 1), padding=1),
    Case("3x3_c3-15_w7_p2", 1, 3, 5, 7, 15, padding=2),
    Case("3x3_c16-17_w8_p12", 2, 16, 5, 8, 17, padding=(1, 2)),
    Case("3x3_c15-16_w13_d2_p2", 1, 15, 11, 13, 16, padding=2, dilation=2),
    Case("3x3_c3-17_w14_d21_s2", 1, 3, 9, 14, 17, stride=2, dilation=(2, 1), padding=(0, 1)),
    Case("3x3_c16-16_w14_s3", 1, 16, 8, 14, 16, stride=3),  # windows skip pixels
    Case("1x1_c17-15_w9_s2_p2", 2, 17, 7, 9, 15, kernel=1, stride=2, padding=2),  # pad > kernel
    Case("2x2_c15-17_w8_s2_nobias", 1, 15, 8, 8, 17, kernel=2, stride=2, bias=False),
    # kernel sizes, non-square
    Case("5x5_c3-33_w15_p2", 1, 3, 9, 15, 33, kernel=5, padding=2),
    Case("7x7_c3-64_w29_s2_p3_stem", 1, 3, 15, 29, 64, kernel=7, stride=2, padding=3),
    Case("1x3_c17-15_w14_p01", 2, 17, 3, 14, 15, kernel=(1, 3), padding=(0, 1)),
    Case("3x1_c16-3_w5_p10", 1, 16, 7, 5, 3, kernel=(3, 1), padding=(1, 0)),
    # groups with per-group channels not multiples of 16
    Case("g2_c34-36_w15_p1", 1, 34, 5, 15, 36, padding=1, groups=2),
    Case("g3_c6-9_w13_p1_nobias", 2, 6, 5, 13, 9, padding=1, groups=3, bias=False),
    Case("g4_c20-12_1x1_w29_s2", 1, 20, 5, 29, 12, kernel=1, stride=2, groups=4),
    Case("g4_c68-40_w5_p1", 2, 68, 5, 5, 40, padding=1, groups=4),
    Case("g2_c32-32_w14_p1", 1, 32, 3, 14, 32, padding=1, groups=2),  # 16 per group
    Case("g3_c48-33_w7_s2_p1", 1, 48, 7, 7, 33, stride=2, padding=1, groups=3),
    Case("g2_c66-70_w15_p1", 2, 66, 5, 15, 70, padding=1, groups=2),  # 33 -> 35 per group
    # depthwise (groups == C_in == C_out): its own kernel path
    Case("dw_c17_w15_p1", 2, 17, 5, 15, 17, padding=1, groups=17),
    Case("dw_c17_w29_s2_p1", 1, 17, 9, 29, 17, stride=2, padding=1, groups=17),
    Case("dw_c3_5x5_w7_p2_nobias", 1, 3, 7, 7, 3, kernel=5, padding=2, groups=3, bias=False),
    Case("dw_c32_w1_p1", 2, 32, 5, 1, 32, padding=1, groups=32),
    Case("dw_c16_w13_s21_d2_p2", 1, 16, 9, 13, 16, stride=(2, 1), dilation=2, padding=2, groups=16),
    Case("dw_c33_w14_p12", 1, 33, 4, 14, 33, padding=(1, 2), groups=33),
    Case("dw_c64_w6_no_pad", 1, 64, 5, 6, 64, groups=64),
    Case("dw_c17_7x7_w29_s2_p3", 2, 17, 9, 29, 17, kernel=7, stride=2, padding=3, groups=17),
    Case("dw_c33_w56_p1_nobias", 1, 33, 3, 56, 33, padding=1, groups=33, bias=False),
    # EfficientNet's 5x5 depthwise at stride 1 and 2, output widths at the kernels' pixel tiles
    # (8 avx512, 4 avx2, 2 generic) and one past them (a full tile plus the tail)
    Case("dw_c40_5x5_w17_p2", 2, 40, 6, 17, 40, kernel=5, padding=2, groups=40),
    Case("dw_c24_5x5_w16_s2_p2", 1, 24, 7, 16, 24, kernel=5, stride=2, padding=2, groups=24),
    Case("dw_c20_5x5_w9_s2_p2_nobias", 2, 20, 5, 9, 20, kernel=5, stride=2, padding=2, groups=20, bias=False),
    Case("dw_c16_5x5_w8_p2_nobias", 1, 16, 4, 8, 16, kernel=5, padding=2, groups=16, bias=False),
    Case("dw_c48_3x3_w4_p1", 1, 48, 3, 4, 48, padding=1, groups=48),
    # depthwise multiplier 2 (groups == C_in, C_out = 2 C_in): the general grouped path
    Case("dwm2_c17-34_w15_p1", 1, 17, 5, 15, 34, padding=1, groups=17),
    Case("dwm2_c3-6_w5_s2_p1_nobias", 2, 3, 7, 5, 6, stride=2, padding=1, groups=3, bias=False),
]
CASE_IDS = [c.id for c in CASES]
BY_ID = {c.id: c for c in CASES}


def _reference_grads(case, gy, x, w):
    return R.conv2d_backward(gy, x, w, **case.kw)


# ------------------------------------------------------------------- against reference ---

@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_conv2d_and_backward(isa, case):
    x, w, b, gy = case.arrays()
    y = F.conv2d(x, w, b, **case.kw)
    assert y.dtype == np.float32 and y.flags.c_contiguous
    assert_close(y, R.conv2d(x, w, b, **case.kw), name="output")

    gx, gw, gb = F.conv2d_backward(gy, x, w, **case.kw)
    rgx, rgw, rgb = _reference_grads(case, gy, x, w)
    for got, want, name in ((gx, rgx, "grad_input"), (gw, rgw, "grad_weight"), (gb, rgb, "grad_bias")):
        assert got.dtype == np.float32, name
        assert_close(got, want, name=name)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_conv2d_relu_and_backward(isa, case):
    x, w, b, gy = case.arrays(seed=1)
    y = F.conv2d_relu(x, w, b, **case.kw)
    assert_close(y, R.conv2d_relu(x, w, b, **case.kw), name="output")
    assert np.all(y >= 0)

    gx, gw, gb = F.conv2d_relu_backward(gy, y, x, w, **case.kw)
    # the mask comes from cnncore's own output, so both sides zero the same elements
    rgx, rgw, rgb = R.conv2d_relu_backward(gy, y, x, w, **case.kw)
    assert_close(gx, rgx, name="grad_input")
    assert_close(gw, rgw, name="grad_weight")
    assert_close(gb, rgb, name="grad_bias")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_blocked_entry_points(isa, case):
    """conv2d_blocked / conv2d_backward_blocked directly (conv2d_relu covers relu=True)."""
    x, w, b, gy = case.arrays(seed=2)
    relu = case.id.endswith("nobias")  # relu=True on the cases without bias, False on the others
    packed = PackedConv(w, case.groups)
    assert packed.depthwise == (case.groups == case.cin == case.cout and case.groups > 1)
    xb = F.to_blocked(x)
    yb, g = conv2d_blocked(xb, packed, b, case.kw["stride"], case.kw["padding"],
                           case.kw["dilation"], relu=relu)
    want = (R.conv2d_relu if relu else R.conv2d)(x, w, b, **case.kw)
    assert yb.shape == want.shape and (g.oh, g.ow) == want.shape[2:]
    assert_close(F.from_blocked(yb), want, name="output")
    # the lanes past C_out in the last block stay zero
    lanes = case.cout % 16
    if lanes:
        assert np.all(yb.data[:, -1, :, :, lanes:] == 0)

    dy = gy if not relu else np.where(F.from_blocked(yb) > 0, gy, np.float32(0))
    dxb, dw, db = conv2d_backward_blocked(F.to_blocked(dy, "grad_output"), xb, packed, g)
    rgx, rgw, rgb = R.conv2d_backward(dy, x, w, **case.kw)
    assert dxb.shape == x.shape
    assert_close(F.from_blocked(dxb), rgx, name="grad_input")
    lanes = case.cin % 16
    if lanes:
        assert np.all(dxb.data[:, -1, :, :, lanes:] == 0)
    assert_close(dw, rgw, name="grad_weight")
    assert_close(db, rgb, name="grad_bias")

    none, dw2, db2 = conv2d_backward_blocked(F.to_blocked(dy), xb, packed, g, need_input_grad=False)
    assert none is None
    np.testing.assert_array_equal(dw2, dw)
    np.testing.assert_array_equal(db2, db)


def test_packed_conv_reused_for_several_inputs(isa):
    """One packing serves several inputs and geometries (packing depends on channels only)."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((17, 15, 3, 3)).astype(np.float32)
    packed = PackedConv(w)
    for shape, kw in (((1, 15, 5, 14), dict(padding=1)), ((2, 15, 9, 7), dict(stride=2)),
                      ((1, 15, 6, 29), dict(dilation=2, padding=2))):
        x = rng.standard_normal(shape).astype(np.float32)
        yb, g = conv2d_blocked(F.to_blocked(x), packed, None, kw.get("stride", 1),
                               kw.get("padding", 0), kw.get("dilation", 1))
        assert_close(F.from_blocked(yb), R.conv2d(x, w, None, **kw))
        gy = np.random.default_rng(4).standard_normal(yb.shape).astype(np.float32)
        dxb, dw, db = conv2d_backward_blocked(F.to_blocked(gy), F.to_blocked(x), packed, g)
        rgx, rgw, rgb = R.conv2d_backward(gy, x, w, **kw)
        assert_close(F.from_blocked(dxb), rgx)
        assert_close(dw, rgw)


# ------------------------------------------------------------------- finite differences ---

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_backward_finite_differences(dtype, groups):
    """Central differences of sum(conv2d(x, w, b) * gy) against conv2d_backward.

    The convolution is linear in each of x, w, b, so the differences are exact up to float32
    rounding in cnncore's forward; the tolerance only covers that rounding."""
    rng = np.random.default_rng(5)
    kw = dict(stride=(2, 1), padding=1, dilation=1, groups=groups)
    x = rng.standard_normal((1, 4, 5, 6)).astype(dtype)
    w = rng.standard_normal((6, 4 // groups, 3, 3)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    y = F.conv2d(x, w, b, **kw)
    gy = rng.standard_normal(y.shape)
    gx, gw, gb = F.conv2d_backward(gy, x, w, **kw)

    def loss(x_, w_, b_):
        return float(np.sum(F.conv2d(x_, w_, b_, **kw).astype(np.float64) * gy))

    eps = 1e-2
    arrays = [x, w, b]
    for which, grad in ((0, gx), (1, gw), (2, gb)):
        a = arrays[which]
        for flat in rng.choice(a.size, size=min(6, a.size), replace=False):
            idx = np.unravel_index(flat, a.shape)
            plus, minus = [v.copy() for v in arrays], [v.copy() for v in arrays]
            plus[which][idx] += eps
            minus[which][idx] -= eps
            step = float(plus[which][idx]) - float(minus[which][idx])
            numeric = (loss(*plus) - loss(*minus)) / step
            assert abs(numeric - grad[idx]) <= 1e-2 * max(1.0, abs(numeric)), (which, idx)


# ------------------------------------------------------ thread and ISA independence ---

THREAD_CASES = ["3x3_c33-64_w29_s2_p1", "g4_c68-40_w5_p1", "dw_c17_w29_s2_p1", "dwm2_c17-34_w15_p1"]


@pytest.mark.parametrize("case_id", THREAD_CASES)
def test_one_and_two_threads_bit_identical(isa, case_id):
    case = BY_ID[case_id]
    x, w, b, gy = case.arrays(seed=6)
    x = np.concatenate([x, x[:, :, ::-1]])  # batch 2: more work items to split
    gy = np.concatenate([gy, gy[:, :, ::-1]])
    results = []
    try:
        for n in (1, 2):
            cnncore.set_num_threads(n)
            assert cnncore.get_num_threads() == n
            y = F.conv2d(x, w, b, **case.kw)
            yr = F.conv2d_relu(x, w, b, **case.kw)
            results.append((y, yr) + F.conv2d_backward(gy, x, w, **case.kw))
    finally:
        cnncore.set_num_threads(None)
    for one, two, name in zip(results[0], results[1],
                              ("output", "relu output", "grad_input", "grad_weight", "grad_bias")):
        np.testing.assert_array_equal(one, two, err_msg=name)


def test_isa_levels_agree():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 64, 16, 16)).astype(np.float32)
    w = (rng.standard_normal((64, 64, 3, 3)) / 24).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    gy = rng.standard_normal((2, 64, 16, 16)).astype(np.float32)
    xd = rng.standard_normal((2, 64, 16, 16)).astype(np.float32)
    wd = rng.standard_normal((64, 1, 3, 3)).astype(np.float32)
    previous = cnncore.get_isa()
    results = {}
    try:
        for level in cnncore.available_isas():
            assert cnncore.set_isa(level) == level
            results[level] = ((F.conv2d(x, w, b, padding=1),)
                              + F.conv2d_backward(gy, x, w, padding=1)
                              + (F.conv2d(xd, wd, b, padding=1, groups=64),)
                              + F.conv2d_backward(gy, xd, wd, padding=1, groups=64))
    finally:
        cnncore.set_isa(previous)
    base = results["generic"]
    for level, res in results.items():
        for got, want in zip(res, base):
            assert_close(got, want, rtol=2e-5, atol=2e-5, name=level)


# ------------------------------------------------------------------ argument handling ---

def _all_calls(x, w, b, gy, y, kw):
    return {
        "conv2d": lambda: F.conv2d(x, w, b, **kw),
        "conv2d_relu": lambda: F.conv2d_relu(x, w, b, **kw),
        "conv2d_backward": lambda: F.conv2d_backward(gy, x, w, **kw),
        "conv2d_relu_backward": lambda: F.conv2d_relu_backward(gy, y, x, w, **kw),
    }


@pytest.mark.parametrize("case_id", ["3x3_c17-33_w15_p1", "g3_c6-9_w13_p1_nobias", "dw_c17_w15_p1"])
def test_inputs_never_modified(case_id):
    case = BY_ID[case_id]
    x, w, b, gy = case.arrays(seed=8)
    if b is None:
        b = np.ones(case.cout, np.float32)
    y = F.conv2d_relu(x, w, b, **case.kw)
    copies = [a.copy() for a in (x, w, b, gy, y)]
    for name, call in _all_calls(x, w, b, gy, y, case.kw).items():
        call()
        for orig, now in zip(copies, (x, w, b, gy, y)):
            np.testing.assert_array_equal(orig, now, err_msg=name)
    xb, dyb = F.to_blocked(x), F.to_blocked(gy)
    blocked_copies = [xb.data.copy(), dyb.data.copy()]
    packed = PackedConv(w, case.groups)
    _, g = conv2d_blocked(xb, packed, b, case.kw["stride"], case.kw["padding"], case.kw["dilation"])
    conv2d_backward_blocked(dyb, xb, packed, g)
    np.testing.assert_array_equal(xb.data, blocked_copies[0])
    np.testing.assert_array_equal(dyb.data, blocked_copies[1])
    for orig, now in zip(copies, (x, w, b, gy, y)):
        np.testing.assert_array_equal(orig, now)


def _noncontiguous(a):
    """The same values as `a` in a non-contiguous view (transposed or strided)."""
    t = np.ascontiguousarray(np.swapaxes(a, -1, -2))
    v = np.swapaxes(t, -1, -2)
    assert not v.flags.c_contiguous or a.shape[-1] == 1 or a.shape[-2] == 1
    return v


@pytest.mark.parametrize("case_id", ["3x3_c17-33_w15_p1", "g4_c68-40_w5_p1", "dw_c17_w15_p1"])
def test_noncontiguous_and_other_dtypes(isa, case_id):
    case = BY_ID[case_id]
    x, w, b, gy = case.arrays(seed=9)
    want_y = R.conv2d(x, w, b, **case.kw)
    want_g = R.conv2d_backward(gy, x, w, **case.kw)
    # transposed views
    variants = [(_noncontiguous(x), _noncontiguous(w), b, _noncontiguous(gy))]
    # slices of bigger arrays (every other element along C, a reversed W axis)
    big_x = np.zeros((x.shape[0], 2 * x.shape[1]) + x.shape[2:], np.float32)
    big_x[:, ::2] = x[:, :, :, ::-1]
    big_w = np.zeros((2 * w.shape[0],) + w.shape[1:], np.float32)
    big_w[1::2] = w
    big_b = np.zeros(2 * case.cout, np.float32)
    big_b[::2] = b if b is not None else 0
    variants.append((big_x[:, ::2, :, ::-1], big_w[1::2], big_b[::2] if b is not None else None,
                     np.asfortranarray(gy)))
    # float64
    variants.append((x.astype(np.float64), w.astype(np.float64),
                     None if b is None else b.astype(np.float64), gy.astype(np.float64)))
    for vx, vw, vb, vgy in variants:
        assert_close(F.conv2d(vx, vw, vb, **case.kw), want_y)
        for got, want in zip(F.conv2d_backward(vgy, vx, vw, **case.kw), want_g):
            assert_close(got, want)
    # integer arrays (and a list bias)
    ix = np.round(x * 3).astype(np.int32)
    iw = np.round(w * 3).astype(np.int64)
    igy = np.round(gy * 3).astype(np.int16)
    ib = None if b is None else [int(v) for v in np.round(b * 3)]
    assert_close(F.conv2d(ix, iw, ib, **case.kw), R.conv2d(ix, iw, ib, **case.kw))
    for got, want in zip(F.conv2d_backward(igy, ix, iw, **case.kw),
                         R.conv2d_backward(igy, ix, iw, **case.kw)):
        assert_close(got, want)
    # uint8 input
    ux = np.abs(ix).astype(np.uint8)
    assert_close(F.conv2d_relu(ux, iw, ib, **case.kw), R.conv2d_relu(ux, iw, ib, **case.kw))


@pytest.mark.parametrize("case_id", ["3x3_c17-33_w15_p1", "g3_c6-9_w13_p1_nobias", "dw_c17_w15_p1",
                                     "7x7_c3-64_w29_s2_p3_stem"])
def test_empty_batch(isa, case_id):
    case = BY_ID[case_id]
    x, w, b, gy = case.arrays(seed=10)
    x0, gy0 = x[:0], gy[:0]
    oshape = (0, case.cout) + gy.shape[2:]
    for fn in (F.conv2d, F.conv2d_relu):
        y = fn(x0, w, b, **case.kw)
        assert y.shape == oshape and y.dtype == np.float32
    y0 = np.zeros(oshape, np.float32)
    for gx, gw, gb in (F.conv2d_backward(gy0, x0, w, **case.kw),
                       F.conv2d_relu_backward(gy0, y0, x0, w, **case.kw)):
        assert gx.shape == x0.shape and gx.dtype == np.float32
        assert gw.shape == w.shape and np.all(gw == 0)
        assert gb.shape == (case.cout,) and np.all(gb == 0)
    packed = PackedConv(w, case.groups)
    yb, g = conv2d_blocked(F.to_blocked(x0), packed, b, case.kw["stride"], case.kw["padding"],
                           case.kw["dilation"])
    assert yb.shape == oshape
    dxb, gw, gb = conv2d_backward_blocked(F.to_blocked(gy0), F.to_blocked(x0), packed, g)
    assert dxb.shape == x0.shape and np.all(gw == 0) and np.all(gb == 0)


# bad arguments: (id, changes to the valid call, exception, the argument the message names)
_X = np.zeros((2, 6, 7, 7), np.float32)
_W = np.zeros((4, 6, 3, 3), np.float32)
BAD_ARGS = [
    ("input_3d", dict(x=np.zeros((6, 7, 7), np.float32)), ValueError, "input"),
    ("input_5d", dict(x=np.zeros((1, 2, 6, 7, 7), np.float32)), ValueError, "input"),
    ("weight_2d", dict(w=np.zeros((4, 27), np.float32)), ValueError, "weight"),
    ("channel_mismatch", dict(w=np.zeros((4, 2, 3, 3), np.float32)), ValueError, "weight"),
    ("channel_mismatch_grouped", dict(w=np.zeros((4, 6, 3, 3), np.float32), groups=2), ValueError, "weight"),
    ("kernel_larger_than_input", dict(w=np.zeros((4, 6, 9, 3), np.float32)), ValueError, "weight"),
    ("dilated_kernel_larger", dict(dilation=(1, 4)), ValueError, "weight"),
    ("zero_cout", dict(w=np.zeros((0, 6, 3, 3), np.float32)), ValueError, "weight"),
    ("stride_0", dict(stride=0), ValueError, "stride"),
    ("stride_negative", dict(stride=(1, -1)), ValueError, "stride"),
    ("stride_triple", dict(stride=(1, 1, 1)), ValueError, "stride"),
    ("stride_bool", dict(stride=True), TypeError, "stride"),
    ("stride_float", dict(stride=1.0), TypeError, "stride"),
    ("stride_str", dict(stride="1"), TypeError, "stride"),
    ("padding_negative", dict(padding=-1), ValueError, "padding"),
    ("padding_pair_negative", dict(padding=(0, -2)), ValueError, "padding"),
    ("padding_bool", dict(padding=False), TypeError, "padding"),
    ("dilation_0", dict(dilation=0), ValueError, "dilation"),
    ("groups_not_dividing_cin", dict(w=np.zeros((4, 1, 3, 3), np.float32), groups=4), ValueError, "groups"),
    ("groups_not_dividing_cout", dict(w=np.zeros((4, 2, 3, 3), np.float32), groups=3), ValueError, "groups"),
    ("groups_0", dict(groups=0), ValueError, "groups"),
    ("groups_negative", dict(groups=-2), ValueError, "groups"),
    ("groups_float", dict(groups=2.0), TypeError, "groups"),
    ("groups_bool", dict(groups=True), TypeError, "groups"),
    ("input_object", dict(x=np.zeros((2, 6, 7, 7), object)), TypeError, "input"),
    ("input_strings", dict(x=np.full((2, 6, 7, 7), "a")), TypeError, "input"),
    ("input_none", dict(x=None), TypeError, "input"),
    ("input_complex", dict(x=np.zeros((2, 6, 7, 7), np.complex64)), TypeError, "input"),
    ("weight_object", dict(w=np.zeros((4, 6, 3, 3), object)), TypeError, "weight"),
    ("weight_strings", dict(w="weights"), TypeError, "weight"),
]
BAD_FORWARD = [
    ("bias_wrong_length", dict(b=np.zeros(5, np.float32)), ValueError, "bias"),
    ("bias_2d", dict(b=np.zeros((4, 1), np.float32)), ValueError, "bias"),
    ("bias_strings", dict(b=np.array(["a"] * 4)), TypeError, "bias"),
]
BAD_BACKWARD = [
    ("grad_output_wrong_shape", dict(gy=np.zeros((2, 4, 5, 4), np.float32)), ValueError, "grad_output"),
    ("grad_output_wrong_channels", dict(gy=np.zeros((2, 5, 5, 5), np.float32)), ValueError, "grad_output"),
    ("grad_output_wrong_batch", dict(gy=np.zeros((1, 4, 5, 5), np.float32)), ValueError, "grad_output"),
    ("grad_output_3d", dict(gy=np.zeros((4, 5, 5), np.float32)), ValueError, "grad_output"),
    ("grad_output_object", dict(gy=np.zeros((2, 4, 5, 5), object)), TypeError, "grad_output"),
]
BAD_RELU_BACKWARD = [
    ("output_wrong_shape", dict(y=np.zeros((2, 4, 5, 6), np.float32)), ValueError, "output"),
    ("output_strings", dict(y=np.full((2, 4, 5, 5), "a")), TypeError, "output"),
]


def _bad_params(table, funcs):
    return [pytest.param(change, exc, name, f, id="%s-%s" % (id_, f))
            for id_, change, exc, name in table for f in funcs]


FORWARDS = ["conv2d", "conv2d_relu"]
BACKWARDS = ["conv2d_backward", "conv2d_relu_backward"]


@pytest.mark.parametrize(
    "change, exc, name, func",
    _bad_params(BAD_ARGS, FORWARDS + BACKWARDS) + _bad_params(BAD_FORWARD, FORWARDS)
    + _bad_params(BAD_BACKWARD, BACKWARDS) + _bad_params(BAD_RELU_BACKWARD, ["conv2d_relu_backward"]))
def test_bad_arguments_raise_naming_the_argument(change, exc, name, func):
    args = dict(x=_X, w=_W, b=np.zeros(4, np.float32), gy=np.zeros((2, 4, 5, 5), np.float32),
                y=np.zeros((2, 4, 5, 5), np.float32), stride=1, padding=0, dilation=1, groups=1)
    args.update(change)
    kw = {k: args[k] for k in ("stride", "padding", "dilation", "groups")}
    call = _all_calls(args["x"], args["w"], args["b"], args["gy"], args["y"], kw)[func]
    with pytest.raises(exc) as info:
        call()
    assert str(info.value).startswith(name + ":"), str(info.value)


def test_blocked_entry_points_reject_bad_arguments():
    x = F.to_blocked(np.zeros((1, 6, 5, 5), np.float32))
    with pytest.raises(ValueError, match="^weight:"):
        PackedConv(np.zeros((4, 3, 3), np.float32))
    with pytest.raises(TypeError, match="^weight:"):
        PackedConv(np.zeros((4, 3, 3, 3), object))
    with pytest.raises(ValueError, match="^groups:"):
        PackedConv(np.zeros((4, 3, 3, 3), np.float32), groups=0)
    with pytest.raises(ValueError, match="^groups:"):
        PackedConv(np.zeros((4, 3, 3, 3), np.float32), groups=3)
    with pytest.raises(ValueError, match="^weight:"):  # 4 x 3 input channels, input has 6
        conv2d_blocked(x, PackedConv(np.zeros((4, 4, 3, 3), np.float32)))
    with pytest.raises(ValueError, match="^weight:"):  # kernel larger than the padded input
        conv2d_blocked(x, PackedConv(np.zeros((4, 6, 7, 7), np.float32)))
    packed = PackedConv(np.zeros((4, 6, 3, 3), np.float32))
    with pytest.raises(ValueError, match="^stride:"):
        conv2d_blocked(x, packed, stride=0)
    with pytest.raises(ValueError, match="^bias:"):
        conv2d_blocked(x, packed, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="^bias:"):
        conv2d_blocked(x, packed, np.zeros((4, 1), np.float32))


# --------------------------------------------------------------------------------- NaN ---

def test_grouped_finite_inputs_take_the_single_kernel_path(monkeypatch):
    """The group-by-group path is for non-finite inputs only (it costs one call per group)."""
    from cnncore.functional import _conv

    def fail(*args):
        raise AssertionError("group-by-group path taken for finite inputs")

    monkeypatch.setattr(_conv, "_by_group", fail)
    case = BY_ID["g4_c68-40_w5_p1"]
    x, w, b, gy = case.arrays(seed=14)
    assert_close(F.conv2d(x, w, b, **case.kw), R.conv2d(x, w, b, **case.kw))
    for got, want in zip(F.conv2d_backward(gy, x, w, **case.kw), R.conv2d_backward(gy, x, w, **case.kw)):
        assert_close(got, want)


NAN_CASES = ["3x3_c17-33_w15_p1", "3x3_c33-64_w29_s2_p1", "3x3_c15-16_w13_d2_p2",
             "g2_c34-36_w15_p1", "g3_c6-9_w13_p1_nobias", "g4_c68-40_w5_p1", "dw_c17_w15_p1",
             "dw_c17_w29_s2_p1", "dwm2_c17-34_w15_p1"]


def _assert_same_nans(got, want, name):
    got_nan, want_nan = np.isnan(got), np.isnan(want)
    assert np.array_equal(got_nan, want_nan), "%s: NaN at %d places, expected %d (%d differ)" % (
        name, got_nan.sum(), want_nan.sum(), (got_nan != want_nan).sum())
    assert_close(np.where(got_nan, 0, got), np.where(want_nan, 0, want), name=name)


@pytest.mark.parametrize("case_id", NAN_CASES)
def test_nan_in_input_reaches_exactly_the_outputs_it_touches(isa, case_id):
    """The reference (im2col + matmul in float64) has NaN exactly where a window covers the NaN
    input within its group; cnncore must match that set, for the output and every gradient."""
    case = BY_ID[case_id]
    x, w, b, gy = case.arrays(seed=11)
    x[0, case.cin // 2, case.h // 2, case.w // 2] = np.nan
    x[-1, 0, 0, case.w - 1] = np.nan  # a corner, reached through the padding
    for fn, ref in ((F.conv2d, R.conv2d), (F.conv2d_relu, R.conv2d_relu)):
        y = fn(x, w, b, **case.kw)
        want = ref(x, w, b, **case.kw)
        assert np.isnan(want).any()
        _assert_same_nans(y, want, fn.__name__)  # conv2d_relu keeps NaN as NaN, not 0
    for got, want, name in zip(F.conv2d_backward(gy, x, w, **case.kw),
                               R.conv2d_backward(gy, x, w, **case.kw),
                               ("grad_input", "grad_weight", "grad_bias")):
        _assert_same_nans(got, want, name)
    # NaN in the output gradient reaches the input gradients of the inputs its windows cover
    x, w, b, gy = case.arrays(seed=12)
    gy[0, case.cout // 2, gy.shape[2] // 2, gy.shape[3] // 2] = np.nan
    for got, want, name in zip(F.conv2d_backward(gy, x, w, **case.kw),
                               R.conv2d_backward(gy, x, w, **case.kw),
                               ("grad_input", "grad_weight", "grad_bias")):
        _assert_same_nans(got, want, name)


@pytest.mark.parametrize("case_id", NAN_CASES)
def test_nan_input_keeps_padded_lanes_zero(isa, case_id):
    """The lanes past C in the last block of a blocked output stay zero even when a NaN or an
    Inf reaches the kernels (a zero weight times NaN is NaN)."""
    case = BY_ID[case_id]
    x, w, b, gy = case.arrays(seed=13)
    x[0, 0, 0, 0] = np.nan
    x[-1, -1, -1, -1] = np.inf
    gy[0, 0, 0, 0] = np.nan
    gy[-1, -1, -1, -1] = -np.inf
    packed = PackedConv(w, case.groups)
    xb = F.to_blocked(x)
    yb, g = conv2d_blocked(xb, packed, b, case.kw["stride"], case.kw["padding"], case.kw["dilation"])
    dxb, _, _ = conv2d_backward_blocked(F.to_blocked(gy), xb, packed, g)
    for blocked, c, name in ((yb, case.cout, "output"), (dxb, case.cin, "grad_input")):
        if c % 16:
            assert np.all(blocked.data[:, -1, :, :, c % 16:] == 0), name
