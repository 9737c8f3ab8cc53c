"""Self-checks of tests/reference.py (the NumPy source of truth).

Every backward is checked against central finite differences of its own
forward in float64 on tiny shapes, and a few forwards against hand-computed
values or a naive loop implementation. These tests need only NumPy.
"""

import numpy as np
import pytest

try:  # tests/ may or may not be a package
    from . import reference as R
except ImportError:
    import reference as R


RNG = np.random.default_rng(1234)


def randn(*shape):
    return RNG.standard_normal(shape)


def distinct(*shape):
    """Values with no ties and gaps >> the finite-difference step (for max pool)."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.1 - 0.05 * n).reshape(shape)


def num_grad(f, args, i, eps=1e-6):
    """Central-difference gradient of the scalar f(*args) w.r.t. args[i]."""
    args = [np.array(a, dtype=np.float64, copy=True) if isinstance(a, np.ndarray) else a
            for a in args]
    a = args[i]
    g = np.zeros_like(a)
    it = np.nditer(a, flags=["multi_index"])
    for _ in it:
        k = it.multi_index
        old = a[k]
        a[k] = old + eps
        fp = f(*args)
        a[k] = old - eps
        fm = f(*args)
        a[k] = old
        g[k] = (fp - fm) / (2 * eps)
    return g


def assert_grad(analytic, f, args, i, rtol=1e-6, atol=1e-7):
    numeric = num_grad(f, args, i)
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------
# conv2d
# --------------------------------------------------------------------------

def naive_conv2d(x, w, b, stride, padding, dilation, groups):
    sh, sw = R._pair(stride)
    ph, pw = R._pair(padding)
    dh, dw = R._pair(dilation)
    n, c, h, wd = x.shape
    co, cg, kh, kw = w.shape
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    og = co // groups
    y = np.zeros((n, co, oh, ow))
    for b_ in range(n):
        for o in range(co):
            g = o // og
            for i in range(oh):
                for j in range(ow):
                    s = 0.0 if b is None else b[o]
                    for ci in range(cg):
                        for u in range(kh):
                            for v in range(kw):
                                r = i * sh - ph + u * dh
                                q = j * sw - pw + v * dw
                                if 0 <= r < h and 0 <= q < wd:
                                    s += x[b_, g * cg + ci, r, q] * w[o, ci, u, v]
                    y[b_, o, i, j] = s
    return y


CONV_CASES = [
    # (x shape, cout, kernel, stride, padding, dilation, groups)
    ((2, 3, 5, 6), 2, (3, 3), 1, 0, 1, 1),
    ((1, 2, 6, 5), 3, (3, 2), 2, 1, 1, 1),
    ((1, 2, 7, 7), 2, (3, 3), (2, 1), (1, 2), 2, 1),
    ((2, 4, 5, 5), 2, (3, 3), 1, 1, 1, 2),             # grouped
    ((1, 3, 6, 6), 3, (3, 3), 2, 1, 1, 3),             # depthwise
    ((1, 2, 5, 6), 4, (2, 3), 1, (1, 0), (2, 1), 2),   # depthwise x2, dilation
    ((2, 2, 4, 4), 3, (1, 1), 2, 0, 1, 1),             # 1x1 stride 2
]


@pytest.mark.parametrize("xs,co,k,s,p,d,g", CONV_CASES)
def test_conv2d_matches_naive(xs, co, k, s, p, d, g):
    x = randn(*xs)
    w = randn(co, xs[1] // g, *k)
    b = randn(co)
    np.testing.assert_allclose(R.conv2d(x, w, b, s, p, d, g),
                               naive_conv2d(x, w, b, s, p, d, g), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(R.conv2d(x, w, None, s, p, d, g),
                               naive_conv2d(x, w, None, s, p, d, g), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("xs,co,k,s,p,d,g", CONV_CASES)
def test_conv2d_backward_fd(xs, co, k, s, p, d, g):
    x = randn(*xs)
    w = randn(co, xs[1] // g, *k)
    b = randn(co)
    gy = randn(*R.conv2d(x, w, b, s, p, d, g).shape)
    gx, gw, gb = R.conv2d_backward(gy, x, w, s, p, d, g)

    def f(x, w, b):
        return np.sum(R.conv2d(x, w, b, s, p, d, g) * gy)

    assert_grad(gx, f, [x, w, b], 0)
    assert_grad(gw, f, [x, w, b], 1)
    assert_grad(gb, f, [x, w, b], 2)
    np.testing.assert_allclose(gb, gy.sum((0, 2, 3)))


@pytest.mark.parametrize("xs,co,k,s,p,d,g", CONV_CASES[1:5])
def test_conv2d_relu_fd(xs, co, k, s, p, d, g):
    x = randn(*xs)
    w = randn(co, xs[1] // g, *k)
    b = randn(co)
    y = R.conv2d_relu(x, w, b, s, p, d, g)
    np.testing.assert_array_equal(y, np.maximum(R.conv2d(x, w, b, s, p, d, g), 0))
    gy = randn(*y.shape)
    gx, gw, gb = R.conv2d_relu_backward(gy, y, x, w, s, p, d, g)

    def f(x, w, b):
        return np.sum(R.conv2d_relu(x, w, b, s, p, d, g) * gy)

    assert_grad(gx, f, [x, w, b], 0)
    assert_grad(gw, f, [x, w, b], 1)
    assert_grad(gb, f, [x, w, b], 2)


def test_conv2d_hand_values():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    # 3x3 box filter with zero padding 1: neighbourhood sums
    y = R.conv2d(x, np.ones((1, 1, 3, 3)), padding=1)
    np.testing.assert_array_equal(y[0, 0], [[8, 15, 12], [21, 36, 27], [20, 33, 24]])
    # 2x2 diagonal difference kernel, bias 1
    y = R.conv2d(x, np.array([[[[1.0, 0.0], [0.0, -1.0]]]]), b=[1.0])
    np.testing.assert_array_equal(y, np.full((1, 1, 2, 2), -3.0))
    # dilation 2 on 5x5: taps (0,0),(0,2),(2,0),(2,2)
    x5 = np.arange(25.0).reshape(1, 1, 5, 5)
    y = R.conv2d(x5, np.ones((1, 1, 2, 2)), dilation=2, stride=2)
    # (5 - 2*(2-1) - 1)//2 + 1 = 2 outputs per dim; y[0,1] uses x[0,2],x[0,4],x[2,2],x[2,4]
    np.testing.assert_array_equal(y[0, 0], [[0 + 2 + 10 + 12, 2 + 4 + 12 + 14],
                                            [10 + 12 + 20 + 22, 12 + 14 + 22 + 24]])
    assert R.conv2d(x5, np.ones((1, 1, 2, 2)), dilation=2).shape == (1, 1, 3, 3)


def test_conv2d_speed_shape():
    x, w = randn(2, 16, 16, 16), randn(16, 16, 3, 3)
    assert R.conv2d(x, w, padding=1).shape == (2, 16, 16, 16)
    assert R.conv2d(x, w, stride=2, padding=1).shape == (2, 16, 8, 8)


def test_conv2d_rejects_bad_args():
    with pytest.raises(ValueError):
        R.conv2d(randn(1, 3, 4, 4), randn(2, 1, 3, 3), groups=3)   # C_out % groups
    with pytest.raises(ValueError):
        R.conv2d(randn(1, 1, 2, 2), randn(1, 1, 3, 3))             # empty output


# --------------------------------------------------------------------------
# max pool
# --------------------------------------------------------------------------

MAXPOOL_CASES = [
    # (x shape, kernel, stride, padding, dilation, ceil_mode)
    ((2, 2, 4, 4), 2, None, 0, 1, False),
    ((1, 2, 5, 5), 3, 2, 1, 1, False),
    ((1, 2, 5, 6), 2, 2, 0, 1, True),
    ((1, 1, 6, 7), (3, 2), (2, 1), (1, 1), (2, 1), True),
    ((1, 1, 7, 7), 3, 3, 1, 1, True),
]


@pytest.mark.parametrize("xs,k,s,p,d,ceil", MAXPOOL_CASES)
def test_max_pool2d_backward_fd(xs, k, s, p, d, ceil):
    x = distinct(*xs)
    y, idx = R.max_pool2d(x, k, s, p, d, ceil)
    assert idx.dtype == np.int64 and idx.shape == y.shape
    # y really is the input at the reported index
    planes = x.reshape(xs[0], xs[1], -1)
    np.testing.assert_array_equal(
        np.take_along_axis(planes, idx.reshape(xs[0], xs[1], -1), 2).reshape(y.shape), y)
    gy = randn(*y.shape)
    gx = R.max_pool2d_backward(gy, idx, x.shape)

    def f(x):
        return np.sum(R.max_pool2d(x, k, s, p, d, ceil)[0] * gy)

    assert_grad(gx, f, [x], 0)


def test_max_pool2d_hand_values():
    # ties: first max in row-major window order wins
    x = np.array([[[[1.0, 5.0], [5.0, 2.0]]]])
    y, idx = R.max_pool2d(x, 2)
    assert y.item() == 5.0 and idx.item() == 1
    # overlapping windows all picking the centre: gradient accumulates
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 9.0
    y, idx = R.max_pool2d(x, 2, stride=1)
    np.testing.assert_array_equal(idx, np.full((1, 1, 2, 2), 4))
    gx = R.max_pool2d_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), idx, x.shape)
    assert gx[0, 0, 1, 1] == 10.0 and gx.sum() == 10.0
    # padding is -inf: negative inputs still win over padding
    x = -np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    y, idx = R.max_pool2d(x, 2, stride=1, padding=1)
    np.testing.assert_array_equal(y[0, 0], [[-1, -1, -2], [-1, -1, -2], [-3, -3, -4]])
    np.testing.assert_array_equal(idx[0, 0], [[0, 0, 1], [0, 0, 1], [2, 2, 3]])


def test_max_pool2d_ceil_mode_sizes():
    x = distinct(1, 1, 5, 5)
    assert R.max_pool2d(x, 2, 2)[0].shape[2:] == (2, 2)
    assert R.max_pool2d(x, 2, 2, ceil_mode=True)[0].shape[2:] == (3, 3)
    # last window would start in the right padding -> dropped
    x4 = distinct(1, 1, 4, 4)
    assert R.max_pool2d(x4, 2, 2, padding=1, ceil_mode=True)[0].shape[2:] == (3, 3)
    assert R.pool_output_size(4, 2, 2, 1, 1, True) == 3
    assert R.pool_output_size(6, 3, 2, 1, 1, True) == 4
    assert R.pool_output_size(6, 3, 2, 1, 1, False) == 3


# --------------------------------------------------------------------------
# avg pool
# --------------------------------------------------------------------------

AVGPOOL_CASES = [
    # (x shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    ((2, 2, 4, 4), 2, None, 0, False, True, None),
    ((1, 2, 5, 5), 3, 2, 1, False, True, None),
    ((1, 2, 5, 5), 3, 2, 1, False, False, None),
    ((1, 1, 6, 6), 3, 2, 1, True, True, None),
    ((1, 1, 6, 7), (3, 2), (2, 3), (1, 1), True, False, None),
    ((1, 1, 5, 5), 2, 2, 1, True, True, 3),
]


@pytest.mark.parametrize("xs,k,s,p,ceil,cip,dov", AVGPOOL_CASES)
def test_avg_pool2d_backward_fd(xs, k, s, p, ceil, cip, dov):
    x = randn(*xs)
    y = R.avg_pool2d(x, k, s, p, ceil, cip, dov)
    gy = randn(*y.shape)
    gx = R.avg_pool2d_backward(gy, x.shape, k, s, p, ceil, cip, dov)

    def f(x):
        return np.sum(R.avg_pool2d(x, k, s, p, ceil, cip, dov) * gy)

    assert_grad(gx, f, [x], 0)


def test_avg_pool2d_hand_values():
    x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    inc = R.avg_pool2d(x, 2, 2, padding=1, count_include_pad=True)
    exc = R.avg_pool2d(x, 2, 2, padding=1, count_include_pad=False)
    assert inc.shape == exc.shape == (1, 1, 3, 3)
    # top-left corner window holds one real element x[0,0] = 1 and 3 pads
    assert inc[0, 0, 0, 0] == 1 / 4 and exc[0, 0, 0, 0] == 1.0
    # top edge window holds x[0,1] + x[0,2] = 5 and 2 pads
    assert inc[0, 0, 0, 1] == 5 / 4 and exc[0, 0, 0, 1] == 5 / 2
    # interior window has no pads: same either way
    assert inc[0, 0, 1, 1] == exc[0, 0, 1, 1] == (6 + 7 + 10 + 11) / 4

    # ceil_mode window running past the padded edge: H=6, k=3, s=2, p=1 gives
    # 4 outputs; the last window [5, 8) is clipped to the padded extent [5, 7)
    # (divisor 2 per dim with count_include_pad) and to the input [5, 6).
    x6 = np.arange(36.0).reshape(1, 1, 6, 6)
    inc = R.avg_pool2d(x6, 3, 2, 1, ceil_mode=True, count_include_pad=True)
    exc = R.avg_pool2d(x6, 3, 2, 1, ceil_mode=True, count_include_pad=False)
    assert inc.shape == (1, 1, 4, 4)
    assert inc[0, 0, 3, 3] == 35 / 4 and exc[0, 0, 3, 3] == 35.0
    # no padding, ceil_mode: the partial window divides by its real size
    x5 = np.arange(25.0).reshape(1, 1, 5, 5)
    y = R.avg_pool2d(x5, 2, 2, ceil_mode=True)
    assert y.shape == (1, 1, 3, 3) and y[0, 0, 2, 2] == 24.0
    assert y[0, 0, 0, 2] == (4 + 9) / 2
    # divisor_override
    assert R.avg_pool2d(x5, 2, 2, divisor_override=1)[0, 0, 0, 0] == 0 + 1 + 5 + 6


# --------------------------------------------------------------------------
# adaptive / global average pool
# --------------------------------------------------------------------------

@pytest.mark.parametrize("hw,os_", [((5, 5), 3), ((5, 7), (2, 4)), ((4, 4), 1),
                                    ((3, 4), (5, 6)), ((6, 5), (None, 2))])
def test_adaptive_avg_pool2d_backward_fd(hw, os_):
    x = randn(2, 2, *hw)
    y = R.adaptive_avg_pool2d(x, os_)
    gy = randn(*y.shape)
    gx = R.adaptive_avg_pool2d_backward(gy, x.shape)

    def f(x):
        return np.sum(R.adaptive_avg_pool2d(x, os_) * gy)

    assert_grad(gx, f, [x], 0)


def test_adaptive_avg_pool2d_bins_5_to_3():
    # bins [0,2), [1,4), [3,5)
    x = np.arange(1.0, 6.0).reshape(1, 1, 5, 1)
    y = R.adaptive_avg_pool2d(x, (3, 1))
    np.testing.assert_allclose(y.ravel(), [1.5, 3.0, 4.5])
    x2 = np.arange(25.0).reshape(1, 1, 5, 5)
    y2 = R.adaptive_avg_pool2d(x2, 3)
    assert y2[0, 0, 1, 1] == x2[0, 0, 1:4, 1:4].mean()
    assert y2[0, 0, 2, 0] == x2[0, 0, 3:5, 0:2].mean()
    # output_size == input size is the identity
    np.testing.assert_array_equal(R.adaptive_avg_pool2d(x2, 5), x2)


def test_global_avg_pool2d():
    x = randn(2, 3, 4, 5)
    y = R.global_avg_pool2d(x)
    assert y.shape == (2, 3)
    np.testing.assert_allclose(y, R.adaptive_avg_pool2d(x, 1)[:, :, 0, 0], rtol=1e-14)
    gy = randn(2, 3)
    gx = R.global_avg_pool2d_backward(gy, x.shape)
    assert_grad(gx, lambda x: np.sum(R.global_avg_pool2d(x) * gy), [x], 0)


# --------------------------------------------------------------------------
# batch norm and fused variants
# --------------------------------------------------------------------------

@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(3, 2, 3, 3), (4, 3)])
def test_batch_norm_backward_fd(training, shape):
    c = shape[1]
    x = randn(*shape) * 1.5 + 0.3
    rm, rv = randn(c), RNG.random(c) + 0.5
    w, b = randn(c), randn(c)
    y, sm, si, _, _ = R.batch_norm(x, rm, rv, w, b, training)
    gy = randn(*shape)
    gx, gw, gb = R.batch_norm_backward(gy, x, w, sm, si, training)

    def f(x, w, b):
        return np.sum(R.batch_norm(x, rm, rv, w, b, training)[0] * gy)

    assert_grad(gx, f, [x, w, b], 0)
    assert_grad(gw, f, [x, w, b], 1)
    assert_grad(gb, f, [x, w, b], 2)


def test_batch_norm_no_affine_backward_fd():
    x = randn(3, 2, 2, 3)
    rm, rv = np.zeros(2), np.ones(2)
    y, sm, si, _, _ = R.batch_norm(x, rm, rv, training=True)
    gy = randn(*x.shape)
    gx, _, _ = R.batch_norm_backward(gy, x, None, sm, si, True)
    assert_grad(gx, lambda x: np.sum(R.batch_norm(x, rm, rv, training=True)[0] * gy), [x], 0)


def test_batch_norm_hand_values_and_running_stats():
    x = np.array([1.0, 2.0, 3.0, 4.0]).reshape(4, 1)
    rm, rv = np.zeros(1), np.ones(1)
    rm0, rv0 = rm.copy(), rv.copy()
    y, sm, si, nrm, nrv = R.batch_norm(x, rm, rv, training=True, momentum=0.1, eps=0.0)
    np.testing.assert_allclose(sm, [2.5])
    np.testing.assert_allclose(si, [1 / np.sqrt(1.25)])            # biased variance
    np.testing.assert_allclose(y.ravel(), (x.ravel() - 2.5) / np.sqrt(1.25))
    np.testing.assert_allclose(nrm, [0.9 * 0 + 0.1 * 2.5])
    np.testing.assert_allclose(nrv, [0.9 * 1 + 0.1 * 5 / 3])       # unbiased variance
    # inputs untouched
    np.testing.assert_array_equal(rm, rm0)
    np.testing.assert_array_equal(rv, rv0)

    # 4-D: statistics over (N, H, W), running var with ddof=1
    x = randn(3, 2, 4, 5)
    rm, rv = randn(2), RNG.random(2) + 0.5
    _, sm, si, nrm, nrv = R.batch_norm(x, rm, rv, training=True, momentum=0.25, eps=1e-3)
    np.testing.assert_allclose(sm, x.mean((0, 2, 3)))
    np.testing.assert_allclose(si, 1 / np.sqrt(x.var((0, 2, 3)) + 1e-3))
    np.testing.assert_allclose(nrm, 0.75 * rm + 0.25 * x.mean((0, 2, 3)))
    np.testing.assert_allclose(nrv, 0.75 * rv + 0.25 * x.transpose(1, 0, 2, 3).reshape(2, -1).var(1, ddof=1))

    # eval: running stats used, returned unchanged
    w, b = randn(2), randn(2)
    y, sm, si, nrm, nrv = R.batch_norm(x, rm, rv, w, b, training=False, eps=1e-3)
    np.testing.assert_array_equal(nrm, rm)
    np.testing.assert_array_equal(nrv, rv)
    np.testing.assert_array_equal(sm, rm)
    np.testing.assert_allclose(si, 1 / np.sqrt(rv + 1e-3))
    ref = (x - rm[:, None, None]) / np.sqrt(rv[:, None, None] + 1e-3) * w[:, None, None] + b[:, None, None]
    np.testing.assert_allclose(y, ref, rtol=1e-13, atol=1e-13)
    gy = randn(*x.shape)
    gx, _, _ = R.batch_norm_backward(gy, x, w, sm, si, training=False)
    np.testing.assert_allclose(gx, gy * (w * si)[:, None, None])

    with pytest.raises(ValueError):
        R.batch_norm(randn(1, 3), np.zeros(3), np.ones(3), training=True)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_relu_fd(training):
    x = randn(3, 2, 2, 3)
    rm, rv = randn(2) * 0.1, RNG.random(2) + 0.5
    w, b = randn(2), randn(2) * 0.3
    y, sm, si, nrm, nrv = R.batch_norm_relu(x, rm, rv, w, b, training)
    ybn, sm2, si2, nrm2, nrv2 = R.batch_norm(x, rm, rv, w, b, training)
    np.testing.assert_array_equal(y, np.maximum(ybn, 0))
    for a, a2 in [(sm, sm2), (si, si2), (nrm, nrm2), (nrv, nrv2)]:
        np.testing.assert_array_equal(a, a2)
    gy = randn(*x.shape)
    gx, gw, gb = R.batch_norm_relu_backward(gy, y, x, w, sm, si, training)

    def f(x, w, b):
        return np.sum(R.batch_norm_relu(x, rm, rv, w, b, training)[0] * gy)

    assert_grad(gx, f, [x, w, b], 0)
    assert_grad(gw, f, [x, w, b], 1)
    assert_grad(gb, f, [x, w, b], 2)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_add_relu_fd(training):
    x, res = randn(3, 2, 2, 3), randn(3, 2, 2, 3)
    rm, rv = randn(2) * 0.1, RNG.random(2) + 0.5
    w, b = randn(2), randn(2) * 0.3
    y, sm, si, _, _ = R.batch_norm_add_relu(x, res, rm, rv, w, b, training)
    np.testing.assert_array_equal(
        y, np.maximum(R.batch_norm(x, rm, rv, w, b, training)[0] + res, 0))
    gy = randn(*x.shape)
    gx, gr, gw, gb = R.batch_norm_add_relu_backward(gy, y, x, w, sm, si, training)

    def f(x, res, w, b):
        return np.sum(R.batch_norm_add_relu(x, res, rm, rv, w, b, training)[0] * gy)

    args = [x, res, w, b]
    assert_grad(gx, f, args, 0)
    assert_grad(gr, f, args, 1)
    assert_grad(gw, f, args, 2)
    assert_grad(gb, f, args, 3)


# --------------------------------------------------------------------------
# relu / add / linear / cross-entropy
# --------------------------------------------------------------------------

def test_relu_and_add():
    x = np.array([-2.0, -0.0, 0.0, 0.5, 3.0])
    y = R.relu(x)
    np.testing.assert_array_equal(y, [0, 0, 0, 0.5, 3.0])
    np.testing.assert_array_equal(R.relu_backward(np.ones(5) * 2, y), [0, 0, 0, 2, 2])
    assert np.isnan(R.relu(np.array([np.nan]))[0])
    a, b = randn(2, 3), randn(2, 3)
    np.testing.assert_array_equal(R.add(a, b), a + b)
    assert R.add([1, 2], [3, 4]).dtype == np.float64


@pytest.mark.parametrize("xs", [(4, 5), (2, 3, 5)])
def test_linear_fd(xs):
    x, w, b = randn(*xs), randn(3, xs[-1]), randn(3)
    y = R.linear(x, w, b)
    np.testing.assert_allclose(y, x @ w.T + b)
    np.testing.assert_allclose(R.linear(x, w), x @ w.T)
    gy = randn(*y.shape)
    gx, gw, gb = R.linear_backward(gy, x, w)

    def f(x, w, b):
        return np.sum(R.linear(x, w, b) * gy)

    assert_grad(gx, f, [x, w, b], 0)
    assert_grad(gw, f, [x, w, b], 1)
    assert_grad(gb, f, [x, w, b], 2)


def test_cross_entropy_fd():
    logits, target = randn(5, 4) * 3, RNG.integers(0, 4, 5)
    g = R.cross_entropy_backward(logits, target)
    assert_grad(g, lambda l: R.cross_entropy(l, target), [logits], 0)
    np.testing.assert_allclose(g.sum(1), 0, atol=1e-15)


def test_cross_entropy_hand_values():
    loss = R.cross_entropy(np.zeros((3, 7)), [0, 3, 6])
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, np.log(7))
    # stable with huge logits
    big = np.array([[1000.0, 0.0], [1000.0, 0.0]])
    np.testing.assert_allclose(R.cross_entropy(big, [0, 1]), 500.0)
    g = R.cross_entropy_backward(big, [0, 1])
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, [[0, 0], [0.5, -0.5]], atol=1e-300)
    # (softmax - onehot) / N
    l = np.array([[1.0, 2.0, 3.0]])
    p = np.exp(l) / np.exp(l).sum()
    np.testing.assert_allclose(R.cross_entropy_backward(l, [2]), p - [[0, 0, 1]])
    np.testing.assert_allclose(R.cross_entropy(l, [2]), -np.log(p[0, 2]))
