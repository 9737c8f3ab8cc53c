"""linear / linear_backward against the NumPy reference, at every ISA level."""
import numpy as np
import pytest

import cnncore
import reference as R
from cnncore import functional as F
from conftest import assert_close

CASES = [(1, 3, 5), (7, 33, 17), (13, 16, 10), (64, 2048, 256), (5, 1, 1), (29, 64, 15)]


@pytest.mark.parametrize("n,fin,fout", CASES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_matches_reference(isa, n, fin, fout, with_bias):
    rng = np.random.default_rng(n * 1000 + fin + fout)
    x = rng.standard_normal((n, fin)).astype(np.float32)
    w = rng.standard_normal((fout, fin)).astype(np.float32) / np.sqrt(fin)
    b = rng.standard_normal(fout).astype(np.float32) if with_bias else None
    assert_close(F.linear(x, w, b), R.linear(x, w, b), name="output")
    dy = rng.standard_normal((n, fout)).astype(np.float32)
    for got, want, name in zip(F.linear_backward(dy, x, w), R.linear_backward(dy, x, w),
                               ("grad_input", "grad_weight", "grad_bias")):
        assert_close(got, want, name=name)


def test_linear_finite_differences():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5))
    w = rng.standard_normal((4, 5))
    dy = rng.standard_normal((3, 4))
    gx, gw, _ = F.linear_backward(dy, x, w)
    eps = 1e-2
    for idx in [(0, 0), (2, 4), (1, 3)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        fd = ((F.linear(xp, w) - F.linear(xm, w)) * dy).sum() / (2 * eps)
        assert abs(fd - gx[idx]) < 1e-3
    for idx in [(0, 0), (3, 4)]:
        wp, wm = w.copy(), w.copy()
        wp[idx] += eps
        wm[idx] -= eps
        fd = ((F.linear(x, wp) - F.linear(x, wm)) * dy).sum() / (2 * eps)
        assert abs(fd - gw[idx]) < 1e-3


def test_linear_threads_bit_identical():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((37, 300)).astype(np.float32)
    w = rng.standard_normal((70, 300)).astype(np.float32)
    dy = rng.standard_normal((37, 70)).astype(np.float32)
    cnncore.set_num_threads(1)
    try:
        one = [F.linear(x, w)] + list(F.linear_backward(dy, x, w))
    finally:
        cnncore.set_num_threads(None)
    many = [F.linear(x, w)] + list(F.linear_backward(dy, x, w))
    for a, b in zip(one, many):
        assert np.array_equal(a, b)


def test_linear_accepts_float64_noncontiguous_and_keeps_inputs():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 6))  # float64
    w = np.asfortranarray(rng.standard_normal((4, 6)))
    x0, w0 = x.copy(), w.copy()
    assert_close(F.linear(x[::1, :], w), R.linear(x, w))
    assert_close(F.linear(x.T.copy().T, w), R.linear(x, w))
    assert np.array_equal(x, x0) and np.array_equal(w, w0)


def test_linear_empty_batch():
    w = np.ones((3, 4), np.float32)
    assert F.linear(np.zeros((0, 4)), w).shape == (0, 3)
    gi, gw, gb = F.linear_backward(np.zeros((0, 3)), np.zeros((0, 4)), w)
    assert gi.shape == (0, 4) and np.all(gw == 0) and np.all(gb == 0)


@pytest.mark.parametrize("args,exc,match", [
    ((np.ones((2, 3, 1)), np.ones((4, 3))), ValueError, "input: expected a 2-d"),
    ((np.ones((2, 3)), np.ones(3)), ValueError, "weight: expected a 2-d"),
    ((np.ones((2, 3)), np.ones((4, 5))), ValueError, "input: expected 5 features"),
    ((np.ones((2, 3)), np.ones((4, 3)), np.ones(5)), ValueError, r"bias: expected shape \(4,\)"),
    ((np.array([["a"]]), np.ones((1, 1))), TypeError, "input: expected a real numeric"),
    ((np.ones((2, 3), dtype=object), np.ones((4, 3))), TypeError, "input"),
])
def test_linear_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        F.linear(*args)


def test_linear_backward_bad_grad_shape():
    with pytest.raises(ValueError, match="grad_output: expected shape"):
        F.linear_backward(np.ones((2, 5)), np.ones((2, 3)), np.ones((4, 3)))


@pytest.mark.parametrize("n, fin, fout", [(3, 300, 70), (16, 513, 33)])
def test_packed_linear_first_and_later_products_agree(isa, n, fin, fout):
    """A PackedLinear's first product reads the weights in place, later ones a kept packing: both
    give the same bits, equal to the reference, forward and backward-data."""
    from cnncore.functional._linear import PackedLinear, grad_input, linear_packed

    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, fin), dtype=np.float32)
    w = rng.standard_normal((fout, fin), dtype=np.float32)
    b = rng.standard_normal(fout, dtype=np.float32)
    dy = rng.standard_normal((n, fout), dtype=np.float32)
    p = PackedLinear(w)
    y1, y2 = linear_packed(x, p, b), linear_packed(x, p, b)
    d1, d2 = grad_input(dy, p), grad_input(dy, p)
    assert p._forward is not None and p._transposed is not None  # the second calls packed
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(d1, d2)
    assert_close(y1, x.astype(np.float64) @ w.T.astype(np.float64) + b, rtol=1e-4, atol=1e-4)
    assert_close(d1, dy.astype(np.float64) @ w.astype(np.float64), rtol=1e-4, atol=1e-4)
