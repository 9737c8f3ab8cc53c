"""Elementwise operators (relu, relu6, add) and dropout: against NumPy, the blocked entry points
(padded lanes stay zero), determinism across thread counts, and bad input."""
import numpy as np
import pytest

import cnncore
import cnncore.functional as F
from conftest import assert_close
import reference as R

CHANNELS = [1, 3, 15, 16, 17, 33, 64]
SHAPES = [(2, c, 5, 7) for c in CHANNELS] + [(1, 17, 3, 5), (7,), (4, 10), (), (2, 3, 4, 5, 6)]


def randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def np_relu6(x):
    return np.where(np.isnan(x), x, np.clip(x, 0, 6))


def with_threads(fn):
    """fn() on 1 then 2 threads; returns both results."""
    out = []
    try:
        for t in (1, 2):
            cnncore.set_num_threads(t)
            out.append(fn())
    finally:
        cnncore.set_num_threads(None)
    return out


# ---------------------------------------------------------------------------------- relu etc ---

@pytest.mark.parametrize("shape", SHAPES)
def test_relu_relu6_add_match_reference(shape):
    x, dy, b = randn(shape, 1) * 4, randn(shape, 2), randn(shape, 3)
    y = F.relu(x)
    assert y.shape == shape and y.dtype == np.float32
    assert_close(y, R.relu(x))
    assert_close(F.relu_backward(dy, y), R.relu_backward(dy, R.relu(x)))
    y6 = F.relu6(x)
    np.testing.assert_array_equal(y6, np_relu6(x))
    np.testing.assert_array_equal(F.relu6_backward(dy, y6), np.where((y6 > 0) & (y6 < 6), dy, 0))
    assert_close(F.add(x, b), R.add(x, b))
    ga, gb = F.add_backward(dy)
    np.testing.assert_array_equal(ga, dy)
    np.testing.assert_array_equal(gb, dy)


def test_relu_propagates_nan_and_edges():
    x = np.array([np.nan, -1, 0, 1e-30, 3, 6, 6.5, np.inf, -np.inf], np.float32)
    y = F.relu(x)
    assert np.isnan(y[0])
    np.testing.assert_array_equal(y[1:], np.float32([0, 0, 1e-30, 3, 6, 6.5, np.inf, 0]))
    y6 = F.relu6(x)
    assert np.isnan(y6[0])
    np.testing.assert_array_equal(y6[1:], np.float32([0, 0, 1e-30, 3, 6, 6, 6, 0]))
    g = np.ones_like(x)
    # gradient 1 only where 0 < output (< 6 for relu6): not at 0 or at the cap
    np.testing.assert_array_equal(F.relu_backward(g, y)[1:], [0, 0, 1, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(F.relu6_backward(g, y6)[1:], [0, 0, 1, 1, 0, 0, 0, 0])


def test_finite_differences_float32():
    x = randn((2, 3, 2, 3), 4) * 3
    x[np.abs(x) < 0.1] = 0.5          # keep away from the kinks
    x[np.abs(x - 6) < 0.1] = 5.5
    probe = randn(x.shape, 5).astype(np.float64)
    h = 1e-2
    for fwd, bwd in ((F.relu, F.relu_backward), (F.relu6, F.relu6_backward)):
        y = fwd(x)
        num = np.zeros(x.shape)
        for idx in np.ndindex(x.shape):
            xp, xm = x.copy(), x.copy()
            xp[idx] += h
            xm[idx] -= h
            num[idx] = ((fwd(xp) - fwd(xm)) * probe).sum() / (2 * h)
        assert_close(bwd(probe, y), num, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("c", [3, 16, 17, 33])
def test_blocked_match_nchw_and_keep_padding_zero(c):
    x, dy, b = randn((2, c, 3, 5), 1) * 4, randn((2, c, 3, 5), 2), randn((2, c, 3, 5), 3)
    xb, dyb, bb = F.to_blocked(x), F.to_blocked(dy), F.to_blocked(b)
    yb, y6b = F.relu_blocked(xb), F.relu6_blocked(xb)
    outs = {
        "relu": (yb, F.relu(x)),
        "relu6": (y6b, F.relu6(x)),
        "relu_backward": (F.relu_backward_blocked(dyb, yb), F.relu_backward(dy, F.relu(x))),
        "relu6_backward": (F.relu6_backward_blocked(dyb, y6b), F.relu6_backward(dy, F.relu6(x))),
        "add": (F.add_blocked(xb, bb), F.add(x, b)),
        "dropout": (F.dropout_blocked(xb, 0.4, seed=9), F.dropout(x, 0.4, seed=9)),
        "dropout_backward": (F.dropout_backward_blocked(dyb, 0.4, seed=9),
                             F.dropout_backward(dy, 0.4, seed=9)),
    }
    for name, (ob, ref) in outs.items():
        assert isinstance(ob, F.Blocked) and ob.channels == c, name
        np.testing.assert_array_equal(F.from_blocked(ob), ref, err_msg=name)
        assert np.all(ob.data[..., c % 16 or 16:][:, -1] == 0), name + ": padded lanes"
    ga, gb = F.add_backward_blocked(dyb)
    assert ga is dyb and gb is dyb
    assert F.dropout_blocked(xb, 0.4, training=False) is xb


def test_bit_identical_for_any_thread_count():
    x, dy = randn((3, 40, 33, 31), 1), randn((3, 40, 33, 31), 2)   # several chunks
    xb = F.to_blocked(x)

    def run():
        y = F.relu(x)
        return [y, F.relu_backward(dy, y), F.relu6(x), F.add(x, dy),
                F.dropout(x, 0.3, seed=4), F.dropout_blocked(xb, 0.3, seed=4).data]

    for a, b in zip(*with_threads(run)):
        np.testing.assert_array_equal(a, b)


def test_inputs_not_modified_and_other_dtypes():
    x, dy = randn((2, 5, 4, 3), 1), randn((2, 5, 4, 3), 2)
    x0, dy0 = x.copy(), dy.copy()
    y = F.relu(x)
    F.relu_backward(dy, y)
    F.add(x, dy)
    F.dropout(x, 0.5, seed=1)
    F.dropout_backward(dy, 0.5, seed=1)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dy, dy0)
    # float64, Fortran order, strided views and integer arrays are accepted
    xf = np.asfortranarray(x.astype(np.float64))
    xs = np.repeat(x, 2, axis=3)[..., ::2]
    assert not xs.flags.c_contiguous
    np.testing.assert_array_equal(F.relu(xf), y)
    np.testing.assert_array_equal(F.relu(xs), y)
    np.testing.assert_array_equal(F.add(xf, xs), F.add(x, x))
    np.testing.assert_array_equal(F.dropout(xf, 0.5, seed=1), F.dropout(x, 0.5, seed=1))
    np.testing.assert_array_equal(F.relu6(np.arange(-2, 9)), np.clip(np.arange(-2, 9), 0, 6))
    # dropout in eval returns a copy, never the input itself
    e = F.dropout(x, 0.5, training=False)
    np.testing.assert_array_equal(e, x)
    assert not np.shares_memory(e, x)


def test_empty_inputs():
    x = np.zeros((0, 17, 3, 3), np.float32)
    for out in (F.relu(x), F.relu6(x), F.add(x, x), F.relu_backward(x, x), F.dropout(x),
                F.dropout_backward(x)):
        assert out.shape == x.shape and out.dtype == np.float32
    xb = F.to_blocked(x)
    assert F.relu_blocked(xb).shape == (0, 17, 3, 3)
    assert F.dropout_blocked(xb).shape == (0, 17, 3, 3)


# ----------------------------------------------------------------------------------- dropout ---

GOLDEN = 0x9E3779B97F4A7C15
MASK64 = 2 ** 64 - 1


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def keep_mask(seed, count, p):
    """The documented mask: element k kept iff splitmix64(mix64(seed), k) >> 11 >= p * 2**53."""
    key = mix64(seed)
    t = int(p * 2.0 ** 53)
    return np.array([(mix64((key + (k + 1) * GOLDEN) & MASK64) >> 11) >= t for k in range(count)])


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("shape", [(4, 10), (2, 3, 5, 7), (37,)])
def test_dropout_mask_and_scale(p, shape):
    x = randn(shape, 3)
    seed = 12345
    y = F.dropout(x, p, seed=seed)
    keep = keep_mask(seed, x.size, p).reshape(shape)
    expected = np.where(keep, x * np.float32(1 / (1 - p)) if p < 1 else 0, 0).astype(np.float32)
    np.testing.assert_array_equal(y, expected)
    dy = randn(shape, 4)
    np.testing.assert_array_equal(
        F.dropout_backward(dy, p, seed=seed),
        np.where(keep, dy * np.float32(1 / (1 - p)) if p < 1 else 0, 0).astype(np.float32))
    if p == 0:
        np.testing.assert_array_equal(y, x)
    if p == 1:
        np.testing.assert_array_equal(y, 0)


def test_dropout_hash_is_the_documented_one():
    from cnncore import _kernels
    for seed, k in ((0, 0), (1, 5), (2 ** 64 - 1, 2 ** 40 + 3), (987654321, 17)):
        assert _kernels.dropout_hash(seed, k) == mix64((mix64(seed) + (k + 1) * GOLDEN) & MASK64)


def test_dropout_statistics_and_seeds():
    x = np.ones((64, 1000), np.float32)
    y = F.dropout(x, 0.3, seed=1)
    kept = (y != 0).mean()
    assert abs(kept - 0.7) < 0.01
    assert_close(y[y != 0], np.full((y != 0).sum(), 1 / 0.7))
    assert abs(y.mean() - 1) < 0.02  # unbiased in expectation
    y2 = F.dropout(x, 0.3, seed=2)
    assert (y2 != y).mean() > 0.3                   # another seed, another mask
    np.testing.assert_array_equal(F.dropout(x, 0.3, seed=1), y)   # same seed, same mask
    # the gradient of sum(dropout(x) * probe) is exactly dropout_backward(probe)
    probe = randn(x.shape, 8)
    np.testing.assert_array_equal(F.dropout_backward(probe, 0.3, seed=1), probe * y)


def test_dropout_nchw_and_flat_views_share_the_mask():
    x = randn((3, 17, 4, 5), 2)
    np.testing.assert_array_equal(F.dropout(x, 0.5, seed=3).reshape(3, -1),
                                  F.dropout(x.reshape(3, -1), 0.5, seed=3))


# --------------------------------------------------------------------------------- bad input ---

def test_errors():
    x = randn((2, 3, 4, 4))
    xb = F.to_blocked(x)
    cases = [
        (TypeError, "input.*dtype", lambda: F.relu(np.array(["a"]))),
        (TypeError, "input.*dtype", lambda: F.relu6(x.astype(complex))),
        (ValueError, "output: expected the shape", lambda: F.relu_backward(x, x[:1])),
        (ValueError, "output: expected the shape", lambda: F.relu6_backward(x, x[..., :2])),
        (ValueError, "b: expected the shape", lambda: F.add(x, x[0])),
        (TypeError, "a.*dtype", lambda: F.add(x.astype(bool), x)),
        (TypeError, "grad_output", lambda: F.add_backward(x.astype(object))),
        (ValueError, r"p: expected a number in \[0.0, 1.0\]", lambda: F.dropout(x, 1.5)),
        (ValueError, "p: expected", lambda: F.dropout(x, -0.1)),
        (ValueError, "p: expected", lambda: F.dropout_backward(x, float("nan"))),
        (TypeError, "p: expected a number", lambda: F.dropout(x, "0.5")),
        (TypeError, "seed: expected an int", lambda: F.dropout(x, 0.5, seed=1.5)),
        (TypeError, "seed: expected an int", lambda: F.dropout_backward(x, 0.5, seed=None)),
        (ValueError, r"seed: expected an int in \[0, 2\*\*64\)", lambda: F.dropout(x, 0.5, seed=-1)),
        (ValueError, "seed", lambda: F.dropout(x, 0.5, seed=2 ** 64)),
        (TypeError, "training: expected a bool", lambda: F.dropout(x, 0.5, training=None)),
        (TypeError, "input.*dtype", lambda: F.dropout(np.array([None, 1]))),
        (TypeError, "input: expected a Blocked", lambda: F.relu_blocked(x)),
        (TypeError, "output: expected a Blocked", lambda: F.relu_backward_blocked(xb, x)),
        (ValueError, "b: expected the shape",
         lambda: F.add_blocked(xb, F.to_blocked(x[:1]))),
        (ValueError, "input: expected Blocked data", lambda: F.relu6_blocked(F.Blocked(x, 3))),
        (TypeError, "grad_output: expected a Blocked", lambda: F.dropout_backward_blocked(x)),
        (ValueError, "p: expected", lambda: F.dropout_blocked(xb, 2.0)),
    ]
    for exc, match, call in cases:
        with pytest.raises(exc, match=match):
            call()
