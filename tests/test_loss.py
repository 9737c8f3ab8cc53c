"""Softmax cross-entropy: loss and gradient against the NumPy reference, stability, determinism
across thread counts, input handling and bad input."""
import numpy as np
import pytest

import cnncore
import cnncore.functional as F
from conftest import assert_close
import reference as R


def case(n, k, seed=0, scale=3.0):
    r = np.random.default_rng(seed)
    return (r.standard_normal((n, k)) * scale).astype(np.float32), r.integers(0, k, n)


@pytest.mark.parametrize("n,k", [(1, 1), (1, 10), (5, 7), (64, 10), (3, 1000), (33, 17)])
def test_matches_reference(n, k):
    x, t = case(n, k, seed=n + k)
    loss = F.cross_entropy(x, t)
    assert isinstance(loss, float)
    assert abs(loss - R.cross_entropy(x, t)) <= 1e-5 * max(1.0, abs(loss))
    g = F.cross_entropy_backward(x, t)
    assert g.dtype == np.float32 and g.shape == (n, k)
    assert_close(g, R.cross_entropy_backward(x, t), rtol=1e-5, atol=1e-6)
    loss2, g2 = F.softmax_cross_entropy(x, t)
    assert loss2 == loss
    np.testing.assert_array_equal(g2, g)


def test_numerically_stable_for_large_logits():
    x = np.array([[1e4, 0, -1e4], [3e4, 3e4 + 1, 3e4 - 2], [-1e4, -1e4, -1e4]], np.float32)
    t = np.array([1, 2, 0])
    loss, g = F.softmax_cross_entropy(x, t)
    assert np.isfinite(loss) and np.all(np.isfinite(g))
    assert abs(loss - R.cross_entropy(x, t)) < 1e-4
    assert_close(g, R.cross_entropy_backward(x, t), rtol=1e-6, atol=1e-6)
    assert_close(g.sum(axis=1), np.zeros(3), atol=1e-6)   # softmax rows sum to one


def test_finite_differences_float32():
    x, t = case(3, 4, seed=5, scale=1.0)
    g = F.cross_entropy_backward(x, t)
    h = 1e-2
    num = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        num[idx] = (F.cross_entropy(xp, t) - F.cross_entropy(xm, t)) / (2 * h)
    assert_close(g, num, rtol=1e-3, atol=1e-3)


def test_bit_identical_for_any_thread_count():
    x, t = case(4000, 37, seed=2)
    out = []
    try:
        for threads in (1, 2):
            cnncore.set_num_threads(threads)
            out.append(F.softmax_cross_entropy(x, t))
    finally:
        cnncore.set_num_threads(None)
    assert out[0][0] == out[1][0]
    np.testing.assert_array_equal(out[0][1], out[1][1])


def test_input_handling():
    x, t = case(6, 5, seed=3)
    x0, t0 = x.copy(), t.copy()
    loss, g = F.softmax_cross_entropy(x, t)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(t, t0)
    # float64 / Fortran-order / strided logits and other integer (or integral float) targets
    xf = np.asfortranarray(x.astype(np.float64))
    xs = np.repeat(x, 2, axis=1)[:, ::2]
    assert not xs.flags.c_contiguous
    for xi in (xf, xs, x.tolist()):
        for ti in (t.astype(np.int32), t.astype(np.uint8), t.astype(np.float32), t.tolist()):
            li, gi = F.softmax_cross_entropy(xi, ti)
            assert li == loss
            np.testing.assert_array_equal(gi, g)


def test_empty_batch():
    x = np.zeros((0, 5), np.float32)
    loss, g = F.softmax_cross_entropy(x, np.zeros(0, np.int64))
    assert np.isnan(loss)  # mean over nothing, as torch
    assert g.shape == (0, 5) and g.dtype == np.float32
    assert np.isnan(F.cross_entropy(x, []))
    assert F.cross_entropy_backward(x, []).shape == (0, 5)


def test_errors():
    x, t = case(4, 3)
    for fn in (F.cross_entropy, F.cross_entropy_backward, F.softmax_cross_entropy):
        # cross_entropy also takes (C,) and (N, C, d1, ...) logits, as torch: there the target's
        # shape is what does not fit
        shape_msg = (r"target: expected shape \(\)" if fn is F.cross_entropy else "input: expected a 2-d array",
                     r"target: expected shape \(1, 3\)" if fn is F.cross_entropy else "input: expected a 2-d array")
        cases = [
            (ValueError, shape_msg[0], lambda: fn(x[0], t)),
            (ValueError, shape_msg[1], lambda: fn(x[None], t)),
            (TypeError, "input.*dtype", lambda: fn(x.astype(complex), t)),
            (ValueError, "input: expected at least one class", lambda: fn(np.zeros((4, 0)), t)),
            (ValueError, r"target: expected shape \(4,\)", lambda: fn(x, t[:3])),
            (ValueError, r"target: expected shape \(4,\)", lambda: fn(x, t[None])),
            (ValueError, r"target: expected class indices in \[0, 3\), got 3",
             lambda: fn(x, np.array([0, 1, 2, 3]))),
            (ValueError, "target: expected class indices", lambda: fn(x, np.array([0, -1, 2, 1]))),
            (TypeError, "target: expected integer class indices",
             lambda: fn(x, np.array([0, 1.5, 2, 1]))),
            (TypeError, "target: expected integer", lambda: fn(x, np.array(["a"] * 4))),
        ]
        for exc, match, call in cases:
            with pytest.raises(exc, match=match):
                call()
