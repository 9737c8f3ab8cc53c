"""Pooling (max, average, adaptive average, global average), forward and backward, against the
NumPy reference (tests/reference.py) at every ISA level, at channel-block edges; plus finite
differences, thread-count independence, the blocked entry points and bad-input errors."""
import numpy as np
import pytest

import cnncore
import cnncore.functional as F
from cnncore.functional import Blocked, from_blocked, to_blocked
from conftest import assert_close

import reference as R

RNG = np.random.default_rng(20240611)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def distinct(*shape):
    """float32 values with no ties, at least 0.1 apart (finite differences of max pool)."""
    n = int(np.prod(shape))
    return ((RNG.permutation(n) - n / 2) * 0.1).astype(np.float32).reshape(shape)


# ----------------------------------------------------------------------------- max ----

# (input shape, kernel_size, stride, padding, dilation, ceil_mode): channels 1, 3, 15, 16, 17,
# 33, 64; odd H and W; stride 1, 2, 3 and None; padding; dilation; ceil_mode; batch 1.
MAX_CASES = [
    ((1, 1, 5, 5), 2, None, 0, 1, False),
    ((2, 3, 7, 9), 3, 2, 1, 1, False),
    ((1, 15, 8, 8), 2, 2, 0, 1, True),
    ((2, 16, 9, 7), 3, 2, 1, 1, True),
    ((1, 17, 11, 13), (3, 2), (2, 1), (1, 0), 1, False),
    ((1, 33, 10, 10), 3, 1, 1, 2, False),
    ((2, 64, 6, 5), 2, 1, 0, 1, True),
    ((1, 3, 13, 11), 3, 3, 1, (2, 1), True),
    ((1, 17, 4, 4), (4, 1), 1, (2, 0), 1, False),
    ((3, 1, 1, 1), 1, 1, 0, 1, False),
]


@pytest.mark.parametrize("shape,k,s,p,d,ceil", MAX_CASES)
def test_max_pool2d_matches_reference(isa, shape, k, s, p, d, ceil):
    x = randn(*shape)
    y, idx = F.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
    ry, ridx = R.max_pool2d(x, k, s, p, d, ceil)
    assert_close(y, ry, name="max_pool2d")
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, ridx)
    assert_close(F.max_pool2d(x, k, s, p, d, ceil), ry)  # without indices
    gy = randn(*ry.shape)
    gx = F.max_pool2d_backward(gy, idx, shape)
    assert gx.dtype == np.float32
    assert_close(gx, R.max_pool2d_backward(gy, ridx, shape), name="max_pool2d_backward")


def test_max_pool2d_ties_take_the_first_maximum(isa):
    x = RNG.integers(0, 3, size=(2, 17, 9, 9)).astype(np.float32)
    for k, s, p in ((3, 1, 1), (2, 2, 0), (3, 2, 1)):
        y, idx = F.max_pool2d(x, k, s, p, return_indices=True)
        ry, ridx = R.max_pool2d(x, k, s, p)
        assert_close(y, ry)
        np.testing.assert_array_equal(idx, ridx)


def test_max_pool2d_nan_and_inf(isa):
    x = randn(1, 18, 7, 7)
    x[0, 0, 1, 1] = np.nan                        # one NaN: it wins its windows
    x[0, 1, 2, 2] = x[0, 1, 2, 3] = np.nan        # two NaNs in a window: the last one
    x[0, 2] = -np.inf                             # all -inf: the first in-bounds element
    x[0, 17, 3, :] = np.inf
    x[0, 16, 0, 0] = np.nan
    x[0, 16, 0, 1] = 100.0                        # a larger number after a NaN does not replace it
    for k, s, p in ((3, 1, 1), (2, 2, 0), (3, 2, 1)):
        y, idx = F.max_pool2d(x, k, s, p, return_indices=True)
        ry, ridx = R.max_pool2d(x, k, s, p)
        np.testing.assert_array_equal(idx, ridx)
        np.testing.assert_array_equal(y, ry.astype(np.float32))  # NaN positions included


def test_max_pool2d_hand_values():
    x = np.array([[[[1, 5, 2], [3, 5, 0], [7, 1, 8]]]], dtype=np.float32)
    y, idx = F.max_pool2d(x, 2, 1, return_indices=True)
    np.testing.assert_array_equal(y, [[[[5, 5], [7, 8]]]])
    np.testing.assert_array_equal(idx, [[[[1, 1], [6, 8]]]])
    y, idx = F.max_pool2d(x, 2, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(y, [[[[5, 2], [7, 8]]]])
    np.testing.assert_array_equal(idx, [[[[1, 2], [6, 8]]]])


def test_max_pool2d_backward_accumulates_overlapping_windows():
    x = np.zeros((1, 1, 3, 3), dtype=np.float32)
    x[0, 0, 1, 1] = 1.0  # the max of all four 2x2 windows
    y, idx = F.max_pool2d(x, 2, 1, return_indices=True)
    gx = F.max_pool2d_backward(np.ones_like(y), idx, x.shape)
    expected = np.zeros_like(x)
    expected[0, 0, 1, 1] = 4.0
    np.testing.assert_array_equal(gx, expected)


# ------------------------------------------------------------------------- average ----

AVG_CASES = [
    ((1, 1, 5, 5), 2, None, 0, False),
    ((2, 3, 7, 9), 3, 2, 1, False),
    ((1, 15, 8, 8), 3, 2, 1, True),
    ((2, 16, 9, 7), 3, 2, 1, True),
    ((1, 17, 11, 13), (3, 2), (2, 1), (1, 1), True),
    ((1, 33, 10, 10), 3, 1, 1, False),
    ((2, 64, 6, 5), 2, 1, 0, True),
    ((1, 3, 13, 11), (5, 3), 3, (2, 1), True),
    ((3, 1, 1, 1), 1, 1, 0, False),
]


@pytest.mark.parametrize("cip", [True, False])
@pytest.mark.parametrize("shape,k,s,p,ceil", AVG_CASES)
def test_avg_pool2d_matches_reference(isa, shape, k, s, p, ceil, cip):
    x = randn(*shape)
    y = F.avg_pool2d(x, k, s, p, ceil, cip)
    ry = R.avg_pool2d(x, k, s, p, ceil, cip)
    assert_close(y, ry, name="avg_pool2d")
    gy = randn(*ry.shape)
    assert_close(F.avg_pool2d_backward(gy, shape, k, s, p, ceil, cip),
                 R.avg_pool2d_backward(gy, shape, k, s, p, ceil, cip), name="avg_pool2d_backward")


@pytest.mark.parametrize("divisor", [1, 5, -2])
@pytest.mark.parametrize("cip", [True, False])
def test_avg_pool2d_divisor_override(isa, divisor, cip):
    shape = (2, 17, 9, 8)
    x = randn(*shape)
    args = (3, 2, 1, True, cip, divisor)
    ry = R.avg_pool2d(x, *args)
    assert_close(F.avg_pool2d(x, *args), ry)
    gy = randn(*ry.shape)
    assert_close(F.avg_pool2d_backward(gy, shape, *args), R.avg_pool2d_backward(gy, shape, *args))


def test_avg_pool2d_hand_values():
    x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    # padding 1, kernel 2, stride 2: windows clipped to the input have 1, 2, 2, 4 elements
    np.testing.assert_allclose(F.avg_pool2d(x, 2, 2, 1, count_include_pad=False),
                               [[[[0, 1.5], [4.5, 6]]]])
    np.testing.assert_allclose(F.avg_pool2d(x, 2, 2, 1), [[[[0, 0.75], [2.25, 6]]]])


# ---------------------------------------------------------------- adaptive average ----

ADAPTIVE_CASES = [
    ((1, 1, 5, 5), 1),
    ((2, 3, 7, 9), (3, None)),
    ((1, 15, 8, 8), 8),
    ((2, 16, 9, 7), (4, 5)),
    ((1, 17, 11, 13), (None, 2)),
    ((1, 33, 5, 6), (9, 13)),     # larger than the input: overlapping bins
    ((2, 64, 7, 7), 3),
    ((3, 1, 1, 1), (2, 3)),
    ((1, 3, 6, 6), None),
    ((1, 20, 13, 13), 6),         # AlexNet's 6x6 and VGG's 7x7 from sizes they do not divide
    ((2, 5, 10, 9), 7),
]


@pytest.mark.parametrize("shape,out", ADAPTIVE_CASES)
def test_adaptive_max_pool2d_matches_reference(isa, shape, out):
    x = randn(*shape)
    y, idx = F.adaptive_max_pool2d(x, out, return_indices=True)
    ry, ridx = R.adaptive_max_pool2d(x, out)
    assert_close(y, ry, name="adaptive_max_pool2d")
    np.testing.assert_array_equal(idx, ridx)
    np.testing.assert_array_equal(F.adaptive_max_pool2d(x, out), y)
    gy = randn(*ry.shape)
    assert_close(F.adaptive_max_pool2d_backward(gy, idx, shape), R.max_pool2d_backward(gy, ridx, shape),
                 name="adaptive_max_pool2d_backward")
    # the module through the recorded graph: same values, gradient by loss.backward()
    m = cnncore.nn.AdaptiveMaxPool2d(out)
    t = cnncore.Tensor(x, requires_grad=True)
    out_t = m(t)
    assert_close(out_t.numpy(), ry, name="AdaptiveMaxPool2d")
    (out_t * gy).sum().backward()
    assert_close(t.grad, R.max_pool2d_backward(gy, ridx, shape), name="AdaptiveMaxPool2d backward")


@pytest.mark.parametrize("out", [(6, 6), (7, 3), (20, 15), 1])
def test_adaptive_max_pool2d_matches_torch(out):
    torch = pytest.importorskip("torch")
    x = randn(2, 19, 13, 11)
    y, idx = F.adaptive_max_pool2d(x, out, return_indices=True)
    ty, tidx = torch.nn.functional.adaptive_max_pool2d(torch.from_numpy(x), out, return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())


def test_adaptive_max_pool2d_ties_and_blocked_lanes():
    x = np.zeros((1, 17, 4, 4), np.float32)  # all ties: the first element of each bin
    y, idx = F.adaptive_max_pool2d(x, 3, return_indices=True)
    np.testing.assert_array_equal(idx, R.adaptive_max_pool2d(x, 3)[1])
    yb, argmax = F.adaptive_max_pool2d_blocked(to_blocked(randn(1, 17, 5, 6)), (2, 4))
    _assert_padded_lanes_zero(yb.data, 17, "adaptive_max_pool2d_blocked")


def test_adaptive_max_pool2d_nan_and_minus_inf_bins():
    x = randn(2, 18, 9, 7)
    x[0, 3, 4, 2] = np.nan                # a NaN wins its bins (overlapping bins: several)
    x[1, 17, :, :] = -np.inf              # bins of -inf keep the first element's index
    x[1, 0, 2, 6] = np.nan
    y, idx = F.adaptive_max_pool2d(x, (4, 3), return_indices=True)
    ry, ridx = R.adaptive_max_pool2d(x, (4, 3))
    np.testing.assert_array_equal(y, ry.astype(np.float32))
    np.testing.assert_array_equal(idx, ridx)
    assert np.isnan(y[0, 3]).sum() == 4 and np.isnan(y[1, 0]).sum() == 2  # bins overlap on both axes


def test_adaptive_max_pool2d_nan_rows_match_torch():
    # several NaNs in a bin: PyTorch keeps the last one (each NaN replaces the running max)
    torch = pytest.importorskip("torch")
    x = randn(1, 18, 9, 7)
    x[0, 0, 2, :] = np.nan
    y, idx = F.adaptive_max_pool2d(x, (4, 3), return_indices=True)
    ty, tidx = torch.nn.functional.adaptive_max_pool2d(torch.from_numpy(x), (4, 3), return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())


@pytest.mark.parametrize("shape,out", ADAPTIVE_CASES)
def test_adaptive_avg_pool2d_matches_reference(isa, shape, out):
    x = randn(*shape)
    y = F.adaptive_avg_pool2d(x, out)
    ry = R.adaptive_avg_pool2d(x, out)
    assert_close(y, ry, name="adaptive_avg_pool2d")
    gy = randn(*ry.shape)
    assert_close(F.adaptive_avg_pool2d_backward(gy, shape), R.adaptive_avg_pool2d_backward(gy, shape),
                 name="adaptive_avg_pool2d_backward")


# ------------------------------------------------------------------ global average ----

@pytest.mark.parametrize("c", [1, 3, 15, 16, 17, 33, 64])
def test_global_avg_pool2d_matches_reference(isa, c):
    shape = (2, c, 7, 5)
    x = randn(*shape)
    y = F.global_avg_pool2d(x)
    assert y.shape == (2, c) and y.dtype == np.float32
    assert_close(y, R.global_avg_pool2d(x))
    gy = randn(2, c)
    assert_close(F.global_avg_pool2d_backward(gy, shape), R.global_avg_pool2d_backward(gy, shape))


def test_global_avg_pool2d_large_plane_is_accurate():
    x = (randn(1, 3, 128, 128) + 100).astype(np.float32)
    assert_close(F.global_avg_pool2d(x), R.global_avg_pool2d(x), rtol=1e-6, atol=0)


# ------------------------------------------------------------------ blocked entries ----

def _assert_padded_lanes_zero(data, c, name):
    tail = data[:, -1, ..., c % 16:] if c % 16 else data[:, :0]
    assert np.all(tail == 0), "%s: padded lanes not zero" % name


def test_blocked_entry_points_chain_and_keep_padded_lanes_zero(isa):
    shape = (2, 17, 9, 11)
    x = randn(*shape)
    xb = to_blocked(x)
    yb, argmax = F.max_pool2d_blocked(xb, 3, 2, 1, ceil_mode=True)
    assert isinstance(yb, Blocked) and yb.channels == 17
    assert argmax.dtype == np.int32 and argmax.shape == yb.data.shape
    ry, ridx = R.max_pool2d(x, 3, 2, 1, 1, True)
    assert_close(from_blocked(yb), ry)
    np.testing.assert_array_equal(argmax[:, 0].transpose(0, 3, 1, 2), ridx[:, :16])
    _assert_padded_lanes_zero(yb.data, 17, "max_pool2d_blocked")
    gy = randn(*ry.shape)
    dxb = F.max_pool2d_backward_blocked(to_blocked(gy), argmax, (9, 11))
    assert_close(from_blocked(dxb), R.max_pool2d_backward(gy, ridx, shape))
    _assert_padded_lanes_zero(dxb.data, 17, "max_pool2d_backward_blocked")

    ab = F.avg_pool2d_blocked(xb, 3, 2, 1, True, False)
    assert_close(from_blocked(ab), R.avg_pool2d(x, 3, 2, 1, True, False))
    _assert_padded_lanes_zero(ab.data, 17, "avg_pool2d_blocked")
    gy = randn(*ab.shape)
    dab = F.avg_pool2d_backward_blocked(to_blocked(gy), (9, 11), 3, 2, 1, True, False)
    assert_close(from_blocked(dab), R.avg_pool2d_backward(gy, shape, 3, 2, 1, True, False))
    _assert_padded_lanes_zero(dab.data, 17, "avg_pool2d_backward_blocked")

    pb = F.adaptive_avg_pool2d_blocked(xb, (4, 5))
    assert_close(from_blocked(pb), R.adaptive_avg_pool2d(x, (4, 5)))
    _assert_padded_lanes_zero(pb.data, 17, "adaptive_avg_pool2d_blocked")
    gy = randn(*pb.shape)
    dpb = F.adaptive_avg_pool2d_backward_blocked(to_blocked(gy), (9, 11))
    assert_close(from_blocked(dpb), R.adaptive_avg_pool2d_backward(gy, shape))
    _assert_padded_lanes_zero(dpb.data, 17, "adaptive_avg_pool2d_backward_blocked")

    g = F.global_avg_pool2d_blocked(xb)
    assert g.shape == (2, 17) and g.dtype == np.float32
    assert_close(g, R.global_avg_pool2d(x))
    gy = randn(2, 17)
    dgb = F.global_avg_pool2d_backward_blocked(gy, shape)
    assert isinstance(dgb, Blocked) and dgb.shape == shape
    assert_close(from_blocked(dgb), R.global_avg_pool2d_backward(gy, shape))
    _assert_padded_lanes_zero(dgb.data, 17, "global_avg_pool2d_backward_blocked")


# ------------------------------------------------------------- finite differences ----

def _fd_check(f, x, analytic, eps=1e-2, tol=2e-3):
    """Central differences of the scalar f (computed in float64 from float32 outputs)."""
    num = np.zeros(x.shape)
    for i in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        num[i] = (f(xp) - f(xm)) / (2 * eps)
    np.testing.assert_allclose(analytic, num, rtol=tol, atol=tol)


def test_backward_finite_differences():
    shape = (1, 2, 5, 4)
    x = distinct(*shape)

    y, idx = F.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)
    gy = randn(*y.shape).astype(np.float64)
    _fd_check(lambda v: np.sum(F.max_pool2d(v, 3, 2, 1, ceil_mode=True) * gy), x,
              F.max_pool2d_backward(gy, idx, shape))

    args = (3, 2, 1, True, False)
    gy = randn(*F.avg_pool2d(x, *args).shape).astype(np.float64)
    _fd_check(lambda v: np.sum(F.avg_pool2d(v, *args) * gy), x,
              F.avg_pool2d_backward(gy, shape, *args))

    gy = randn(1, 2, 3, 3).astype(np.float64)
    _fd_check(lambda v: np.sum(F.adaptive_avg_pool2d(v, 3) * gy), x,
              F.adaptive_avg_pool2d_backward(gy, shape))

    gy = randn(1, 2).astype(np.float64)
    _fd_check(lambda v: np.sum(F.global_avg_pool2d(v) * gy), x,
              F.global_avg_pool2d_backward(gy, shape))


# ---------------------------------------------------------------------- threads ----

def _all_ops(x):
    shape = x.shape
    y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    a = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
    ad = F.adaptive_avg_pool2d(x, (5, 7))
    g = F.global_avg_pool2d(x)
    gy = np.full(y.shape, 0.3, dtype=np.float32) + x[:, :, :y.shape[2], :y.shape[3]]
    return [y, idx, a, ad, g,
            F.max_pool2d_backward(gy, idx, shape),
            F.avg_pool2d_backward(gy, shape, 3, 2, 1, count_include_pad=False),
            F.adaptive_avg_pool2d_backward(ad * 1.7, shape),
            F.global_avg_pool2d_backward(g * 3.1, shape)]


def test_results_do_not_depend_on_thread_count():
    x = randn(2, 33, 40, 38)
    try:
        cnncore.set_num_threads(1)
        one = _all_ops(x)
        cnncore.set_num_threads(2)
        two = _all_ops(x)
    finally:
        cnncore.set_num_threads(None)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ input handling ----

def test_inputs_not_modified_and_any_layout_or_dtype_accepted():
    base = randn(2, 17, 9, 11)
    x64 = base.astype(np.float64)
    xt = np.asfortranarray(base)                       # non C-contiguous
    xs = randn(2, 17, 18, 11)[:, :, ::2]               # strided view
    for x in (x64, xt, xs, (base * 10).astype(np.int32)):
        before = x.copy()
        y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
        ry, ridx = R.max_pool2d(x, 3, 2, 1)
        assert y.dtype == np.float32
        assert_close(y, ry)
        np.testing.assert_array_equal(idx, ridx)
        assert_close(F.avg_pool2d(x, 3, 2, 1), R.avg_pool2d(x, 3, 2, 1))
        assert_close(F.adaptive_avg_pool2d(x, 4), R.adaptive_avg_pool2d(x, 4))
        assert_close(F.global_avg_pool2d(x), R.global_avg_pool2d(x))
        np.testing.assert_array_equal(x, before)

    gy = randn(2, 17, 5, 6).astype(np.float64)[..., ::-1]   # float64, negative strides
    idx32 = ridx.astype(np.int32)
    gy_before, idx_before = gy.copy(), idx32.copy()
    assert_close(F.max_pool2d_backward(gy, idx32, base.shape), R.max_pool2d_backward(gy, ridx, base.shape))
    assert_close(F.avg_pool2d_backward(gy, base.shape, 3, 2, 1),
                 R.avg_pool2d_backward(gy, base.shape, 3, 2, 1))
    assert_close(F.adaptive_avg_pool2d_backward(gy, base.shape), R.adaptive_avg_pool2d_backward(gy, base.shape))
    g2 = randn(2, 17).astype(np.float64).T.copy().T
    assert_close(F.global_avg_pool2d_backward(g2, base.shape), R.global_avg_pool2d_backward(g2, base.shape))
    np.testing.assert_array_equal(gy, gy_before)
    np.testing.assert_array_equal(idx32, idx_before)


def test_empty_batch_gives_empty_outputs():
    x = np.zeros((0, 17, 9, 8), dtype=np.float32)
    y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    assert y.shape == (0, 17, 5, 4) and idx.shape == (0, 17, 5, 4) and idx.dtype == np.int64
    assert F.max_pool2d_backward(y, idx, x.shape).shape == x.shape
    y = F.avg_pool2d(x, 3, 2, 1)
    assert y.shape == (0, 17, 5, 4)
    assert F.avg_pool2d_backward(y, x.shape, 3, 2, 1).shape == x.shape
    y = F.adaptive_avg_pool2d(x, (2, 3))
    assert y.shape == (0, 17, 2, 3)
    assert F.adaptive_avg_pool2d_backward(y, x.shape).shape == x.shape
    g = F.global_avg_pool2d(x)
    assert g.shape == (0, 17)
    assert F.global_avg_pool2d_backward(g, x.shape).shape == x.shape


# ---------------------------------------------------------------------- bad input ----

X = np.zeros((2, 3, 8, 8), dtype=np.float32)
Y_IDX = F.max_pool2d(X, 2, return_indices=True)
BAD_CALLS = [
    # max_pool2d
    (lambda: F.max_pool2d(np.zeros((3, 8, 8)), 2), ValueError, "input: expected a 4-d"),
    (lambda: F.max_pool2d(X.astype(complex), 2), TypeError, "input: expected a real"),
    (lambda: F.max_pool2d("abc", 2), TypeError, "input"),
    (lambda: F.max_pool2d(X, 0), ValueError, "kernel_size: expected values >= 1"),
    (lambda: F.max_pool2d(X, 2.0), TypeError, "kernel_size"),
    (lambda: F.max_pool2d(X, (2, 2, 2)), ValueError, "kernel_size"),
    (lambda: F.max_pool2d(X, 2, 0), ValueError, "stride"),
    (lambda: F.max_pool2d(X, 2, padding=-1), ValueError, "padding"),
    (lambda: F.max_pool2d(X, 3, padding=2), ValueError, "padding: expected at most half"),
    (lambda: F.max_pool2d(X, (4, 2), padding=(1, 2)), ValueError, "padding: expected at most half"),
    (lambda: F.max_pool2d(X, 2, dilation=0), ValueError, "dilation"),
    (lambda: F.max_pool2d(X, 2, ceil_mode=1), TypeError, "ceil_mode: expected a bool"),
    (lambda: F.max_pool2d(X, 2, return_indices="yes"), TypeError, "return_indices"),
    (lambda: F.max_pool2d(X, 9), ValueError, "input: spatial size .* too small"),
    (lambda: F.max_pool2d(X, 3, dilation=4), ValueError, "input: spatial size .* too small"),
    (lambda: F.max_pool2d(np.zeros((1, 1, 2, 2)), 2, 1, 1, 3), ValueError, "dilation: .* no element"),
    (lambda: F.max_pool2d(np.zeros((1, 0, 4, 4)), 2), ValueError, "input: expected non-zero C"),
    (lambda: F.max_pool2d(np.zeros((1, 2, 0, 4)), 2), ValueError, "input: expected non-zero C"),
    # max_pool2d_backward
    (lambda: F.max_pool2d_backward(Y_IDX[0], Y_IDX[1], (2, 3, 8)), ValueError, "input_shape: expected 4"),
    (lambda: F.max_pool2d_backward(Y_IDX[0], Y_IDX[1], 5), TypeError, "input_shape"),
    (lambda: F.max_pool2d_backward(Y_IDX[0], Y_IDX[1], (2, 3, 8, 8.0)), TypeError, "input_shape"),
    (lambda: F.max_pool2d_backward(Y_IDX[0], Y_IDX[1], (2, 0, 8, 8)), ValueError, "input_shape"),
    (lambda: F.max_pool2d_backward(Y_IDX[0], Y_IDX[1], (2, 4, 8, 8)), ValueError, "grad_output: expected shape"),
    (lambda: F.max_pool2d_backward(Y_IDX[0][0], Y_IDX[1], X.shape), ValueError, "grad_output: expected a 4-d"),
    (lambda: F.max_pool2d_backward(Y_IDX[0], Y_IDX[1][:, :, :2], X.shape), ValueError, "indices: expected shape"),
    (lambda: F.max_pool2d_backward(Y_IDX[0], Y_IDX[1].astype(np.float32), X.shape), TypeError, "indices: expected an integer"),
    (lambda: F.max_pool2d_backward(Y_IDX[0], Y_IDX[1] + 64, X.shape), ValueError, r"indices: expected values in \[0, H\*W\)"),
    (lambda: F.max_pool2d_backward(Y_IDX[0], Y_IDX[1] - 64, X.shape), ValueError, r"indices: expected values in"),
    # avg_pool2d
    (lambda: F.avg_pool2d(X[0], 2), ValueError, "input: expected a 4-d"),
    (lambda: F.avg_pool2d(X, 3, padding=2), ValueError, "padding: expected at most half"),
    (lambda: F.avg_pool2d(X, 2, stride=(1, 0)), ValueError, "stride"),
    (lambda: F.avg_pool2d(X, 2, ceil_mode="no"), TypeError, "ceil_mode"),
    (lambda: F.avg_pool2d(X, 2, count_include_pad=None), TypeError, "count_include_pad: expected a bool"),
    (lambda: F.avg_pool2d(X, 2, divisor_override=0), ValueError, "divisor_override: expected a non-zero"),
    (lambda: F.avg_pool2d(X, 2, divisor_override=2.5), TypeError, "divisor_override: expected an int"),
    (lambda: F.avg_pool2d(X, 10), ValueError, "input: spatial size .* too small"),
    # avg_pool2d_backward
    (lambda: F.avg_pool2d_backward(np.zeros((2, 3, 3, 4)), X.shape, 2), ValueError, r"grad_output: expected shape \(2, 3, 4, 4\)"),
    (lambda: F.avg_pool2d_backward(np.zeros((2, 3, 4, 4)), (2, 3, 8), 2), ValueError, "input_shape"),
    (lambda: F.avg_pool2d_backward(np.zeros((2, 3, 4, 4)), X.shape, 2, divisor_override=0), ValueError, "divisor_override"),
    (lambda: F.avg_pool2d_backward(np.zeros((2, 3, 4, 4)), X.shape, 3, padding=2), ValueError, "padding"),
    (lambda: F.avg_pool2d_backward(np.zeros((2, 3, 4, 4)).astype(bool), X.shape, 2), TypeError, "grad_output"),
    # adaptive_avg_pool2d
    (lambda: F.adaptive_avg_pool2d(X[0], 2), ValueError, "input: expected a 4-d"),
    (lambda: F.adaptive_avg_pool2d(X, 0), ValueError, "output_size: expected sizes >= 1"),
    (lambda: F.adaptive_avg_pool2d(X, (2, -1)), ValueError, "output_size"),
    (lambda: F.adaptive_avg_pool2d(X, 2.0), TypeError, "output_size"),
    (lambda: F.adaptive_avg_pool2d(X, (2, 2, 2)), TypeError, "output_size"),
    (lambda: F.adaptive_avg_pool2d(X, (2, "a")), TypeError, "output_size"),
    (lambda: F.adaptive_avg_pool2d(np.zeros((1, 2, 0, 3)), 1), ValueError, "input: expected non-zero"),
    # adaptive_avg_pool2d_backward
    (lambda: F.adaptive_avg_pool2d_backward(np.zeros((2, 4, 2, 2)), X.shape), ValueError, "grad_output: expected shape"),
    (lambda: F.adaptive_avg_pool2d_backward(np.zeros((2, 3, 0, 2)), X.shape), ValueError, "grad_output"),
    (lambda: F.adaptive_avg_pool2d_backward(np.zeros((2, 3, 2)), X.shape), ValueError, "grad_output: expected a 4-d"),
    (lambda: F.adaptive_avg_pool2d_backward(np.zeros((2, 3, 2, 2)), (2, 3, -1, 8)), ValueError, "input_shape"),
    # global_avg_pool2d
    (lambda: F.global_avg_pool2d(X[0]), ValueError, "input: expected a 4-d"),
    (lambda: F.global_avg_pool2d(np.zeros((2, 3, 4, 0))), ValueError, "input: expected non-zero"),
    (lambda: F.global_avg_pool2d(np.array([["a"]])), TypeError, "input"),
    # global_avg_pool2d_backward
    (lambda: F.global_avg_pool2d_backward(np.zeros((2, 4)), X.shape), ValueError, r"grad_output: expected shape \(2, 3\)"),
    (lambda: F.global_avg_pool2d_backward(np.zeros((2, 3, 1, 1)), X.shape), ValueError, "grad_output: expected a 2-d"),
    (lambda: F.global_avg_pool2d_backward(np.zeros((2, 3)), (2, 3, 8, 0)), ValueError, "input_shape"),
    # blocked entry points
    (lambda: F.max_pool2d_blocked(X, 2), TypeError, "input: expected a Blocked"),
    (lambda: F.max_pool2d_blocked(Blocked(np.zeros((2, 1, 8, 8, 16)), 3), 2), ValueError, "input: expected Blocked data of shape .*float32, C-contiguous"),
    (lambda: F.max_pool2d_backward_blocked(to_blocked(Y_IDX[0]), Y_IDX[1], (8, 8)), ValueError, "argmax: expected a C-contiguous int32"),
    (lambda: F.max_pool2d_backward_blocked(to_blocked(Y_IDX[0]), np.full((2, 1, 4, 4, 16), 99, np.int32), (8, 8)), ValueError, r"argmax: expected values in \[0, H\*W\)"),
    (lambda: F.max_pool2d_backward_blocked(to_blocked(Y_IDX[0]), np.zeros((2, 1, 4, 4, 16), np.int32), (8,)), TypeError, "input_hw"),
    (lambda: F.avg_pool2d_backward_blocked(to_blocked(Y_IDX[0]), (9, 9), 3), ValueError, "grad_output: expected shape"),
    (lambda: F.adaptive_avg_pool2d_backward_blocked(to_blocked(Y_IDX[0]), (0, 8)), ValueError, "input_hw"),
    (lambda: F.global_avg_pool2d_blocked(X), TypeError, "input: expected a Blocked"),
]


@pytest.mark.parametrize("call,exc,match", BAD_CALLS, ids=range(len(BAD_CALLS)))
def test_bad_input_raises(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
