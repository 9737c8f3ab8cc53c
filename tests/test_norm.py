"""Batch normalization (plain, + relu, + residual add + relu): forward and backward against the
NumPy reference, the blocked entry points, determinism across thread counts, and bad input. The
tests of the kernels take the `isa` fixture: they run with each ISA level's micro-kernels
(csrc/ukernels/norm/)."""
import numpy as np
import pytest

import cnncore
import cnncore.functional as F
from conftest import assert_close
import reference as R

CHANNELS = [1, 3, 15, 16, 17, 33, 64]
FORMS = ["plain", "relu", "add_relu"]


def rng(seed=0):
    return np.random.default_rng(seed)


def make_case(shape, seed=0, offset=0.5):
    r = rng(seed)
    c = shape[1]
    return dict(
        x=(r.standard_normal(shape) * 2 + offset).astype(np.float32),
        res=r.standard_normal(shape).astype(np.float32),
        rm=r.standard_normal(c).astype(np.float32),
        rv=(r.random(c) + 0.5).astype(np.float32),
        w=r.standard_normal(c).astype(np.float32),
        b=r.standard_normal(c).astype(np.float32),
        gy=r.standard_normal(shape).astype(np.float32),
    )


def ours_forward(form, k, rm, rv, w, b, training, **kw):
    if form == "plain":
        return F.batch_norm(k["x"], rm, rv, w, b, training=training, return_stats=True, **kw)
    if form == "relu":
        return F.batch_norm_relu(k["x"], rm, rv, w, b, training=training, return_stats=True, **kw)
    return F.batch_norm_add_relu(k["x"], k["res"], rm, rv, w, b, training=training,
                                 return_stats=True, **kw)


def ref_forward(form, k, rm, rv, w, b, training, **kw):
    if form == "plain":
        return R.batch_norm(k["x"], rm, rv, w, b, training, **kw)
    if form == "relu":
        return R.batch_norm_relu(k["x"], rm, rv, w, b, training, **kw)
    return R.batch_norm_add_relu(k["x"], k["res"], rm, rv, w, b, training, **kw)


def ours_backward(form, gy, y, x, w, sm, si, training):
    if form == "plain":
        return F.batch_norm_backward(gy, x, w, sm, si, training=training)
    if form == "relu":
        return F.batch_norm_relu_backward(gy, y, x, w, sm, si, training=training)
    return F.batch_norm_add_relu_backward(gy, y, x, w, sm, si, training=training)


def ref_backward(form, gy, y, x, w, sm, si, training):
    if form == "plain":
        return R.batch_norm_backward(gy, x, w, sm, si, training)
    if form == "relu":
        return R.batch_norm_relu_backward(gy, y, x, w, sm, si, training)
    return R.batch_norm_add_relu_backward(gy, y, x, w, sm, si, training)


# ------------------------------------------------------------------------ against reference ---

@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(2, c, 5, 7) for c in CHANNELS] + [(1, 17, 3, 5), (1, 16, 1, 2)])
def test_forward_backward_matches_reference(isa, form, training, shape):
    k = make_case(shape, seed=shape[1])
    rm, rv = k["rm"].copy(), k["rv"].copy()
    y, sm, si = ours_forward(form, k, rm, rv, k["w"], k["b"], training, momentum=0.2, eps=1e-3)
    ry, rsm, rsi, rrm, rrv = ref_forward(form, k, k["rm"], k["rv"], k["w"], k["b"], training,
                                         momentum=0.2, eps=1e-3)
    assert y.dtype == np.float32 and sm.dtype == np.float32 and si.dtype == np.float32
    assert_close(y, ry, name="y")
    assert_close(sm, rsm, name="save_mean")
    assert_close(si, rsi, name="save_invstd")
    assert_close(rm, rrm, name="running_mean")
    assert_close(rv, rrv, name="running_var")

    grads = ours_backward(form, k["gy"], y, k["x"], k["w"], sm, si, training)
    rgrads = ref_backward(form, k["gy"], ry, k["x"], k["w"], rsm, rsi, training)
    assert len(grads) == len(rgrads)
    names = ["grad_input", "grad_weight", "grad_bias"]
    if form == "add_relu":
        names.insert(1, "grad_residual")
    for name, g, rg in zip(names, grads, rgrads):
        assert g.dtype == np.float32
        assert_close(g, rg, name=name)


def test_default_affine_and_untracked_stats():
    k = make_case((3, 17, 4, 5))
    y, sm, si = F.batch_norm(k["x"], None, None, training=True, return_stats=True)
    ry, rsm, rsi, _, _ = R.batch_norm(k["x"], None, None, training=True)
    assert_close(y, ry)
    gx, gw, gb = F.batch_norm_backward(k["gy"], k["x"], None, sm, si)
    for a, b in zip((gx, gw, gb), R.batch_norm_backward(k["gy"], k["x"], None, rsm, rsi)):
        assert_close(a, b)
    # only the mean tracked
    rm = k["rm"].copy()
    F.batch_norm(k["x"], rm, None, training=True)
    assert_close(rm, R.batch_norm(k["x"], k["rm"], None, training=True)[3])


def test_returns_output_only_by_default():
    k = make_case((2, 3, 4, 4))
    y = F.batch_norm(k["x"], k["rm"], k["rv"])
    assert isinstance(y, np.ndarray) and y.shape == (2, 3, 4, 4)


@pytest.mark.parametrize("shape", [(8, 5), (4, 6, 7)])
def test_1d_inputs(shape):
    k = make_case(shape)
    rm, rv = k["rm"].copy(), k["rv"].copy()
    y, sm, si = F.batch_norm(k["x"], rm, rv, k["w"], k["b"], training=True, return_stats=True)
    ry, rsm, rsi, rrm, rrv = R.batch_norm(k["x"], k["rm"], k["rv"], k["w"], k["b"], True)
    assert y.shape == shape
    assert_close(y, ry)
    assert_close(rv, rrv)
    gx, gw, gb = F.batch_norm_backward(k["gy"], k["x"], k["w"], sm, si)
    rgx, rgw, rgb = R.batch_norm_backward(k["gy"], k["x"], k["w"], rsm, rsi)
    assert gx.shape == shape
    assert_close(gx, rgx)
    assert_close(gw, rgw)


def test_large_mean_is_accurate(isa):
    """One-pass statistics must not cancel: a channel at 1000 +- 0.01."""
    r = rng(3)
    x = (1000 + 0.01 * r.standard_normal((4, 5, 6, 7))).astype(np.float32)
    y, sm, si = F.batch_norm(x, None, None, training=True, return_stats=True)
    ry, rsm, rsi, _, _ = R.batch_norm(x, None, None, training=True)
    assert_close(si, rsi, rtol=1e-5, atol=0)
    # y = (x - mean) * invstd with x and mean float32 near 1000 (spacing 6.1e-5): y carries an
    # absolute error up to half that spacing times invstd (~100), 3e-3, whatever |y| is
    assert_close(y, ry, rtol=1e-3, atol=0.5 * np.spacing(np.float32(1000)) * float(rsi.max()) + 1e-4)


def test_many_pixels_span_several_partial_sums(isa):
    """More pixels per channel than one reduction range (4096)."""
    k = make_case((3, 17, 50, 45), seed=7)
    rv = k["rv"].copy()
    y, sm, si = F.batch_norm(k["x"], None, rv, k["w"], k["b"], training=True, return_stats=True)
    ry, rsm, rsi, _, rrv = R.batch_norm(k["x"], None, k["rv"], k["w"], k["b"], True)
    assert_close(y, ry)
    assert_close(rv, rrv)
    gx, gw, gb = F.batch_norm_backward(k["gy"], k["x"], k["w"], sm, si)
    rgx, rgw, rgb = R.batch_norm_backward(k["gy"], k["x"], k["w"], rsm, rsi)
    assert_close(gx, rgx)
    assert_close(gw, rgw, rtol=1e-4, atol=1e-4)
    assert_close(gb, rgb)


# ---------------------------------------------------------------------------- finite differences ---

def numeric_grad(f, a, h=1e-2):
    """Central differences of the scalar f() w.r.t. the float32 array a (modified and restored)."""
    g = np.zeros(a.shape, np.float64)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + h
        fp = f()
        a[idx] = old - h
        fm = f()
        a[idx] = old
        g[idx] = (fp - fm) / (2 * h)
    return g


@pytest.mark.parametrize("form", FORMS)
def test_backward_finite_differences_float32(isa, form):
    # seed 21: every pre-ReLU value is >= 0.1 away from the kink, far beyond the step's effect
    k = make_case((2, 3, 2, 3), seed=21)
    x, res, w, b = k["x"], k["res"], k["w"], k["b"]
    probe = rng(12).standard_normal(x.shape)

    def loss():
        if form == "plain":
            y = F.batch_norm(x, None, None, w, b, training=True)
        elif form == "relu":
            y = F.batch_norm_relu(x, None, None, w, b, training=True)
        else:
            y = F.batch_norm_add_relu(x, res, None, None, w, b, training=True)
        return float((y.astype(np.float64) * probe).sum())

    if form == "plain":
        y, sm, si = F.batch_norm(x, None, None, w, b, training=True, return_stats=True)
    elif form == "relu":
        y, sm, si = F.batch_norm_relu(x, None, None, w, b, training=True, return_stats=True)
    else:
        y, sm, si = F.batch_norm_add_relu(x, res, None, None, w, b, training=True, return_stats=True)
    grads = ours_backward(form, probe, y, x, w, sm, si, True)
    if form == "add_relu":
        gx, gres, gw, gb = grads
        assert_close(gres, numeric_grad(loss, res), rtol=2e-3, atol=2e-3, name="grad_residual")
    else:
        gx, gw, gb = grads
    assert_close(gx, numeric_grad(loss, x), rtol=2e-3, atol=2e-3, name="grad_input")
    assert_close(gw, numeric_grad(loss, w), rtol=2e-3, atol=2e-3, name="grad_weight")
    assert_close(gb, numeric_grad(loss, b), rtol=2e-3, atol=2e-3, name="grad_bias")


# ----------------------------------------------------------------------------------- blocked ---

@pytest.mark.parametrize("c", [3, 17, 33])
def test_blocked_entry_points_match_nchw_and_zero_padding(isa, c):
    k = make_case((2, c, 3, 5), seed=c)
    xb, rb, dyb = F.to_blocked(k["x"]), F.to_blocked(k["res"]), F.to_blocked(k["gy"])
    pad = slice(c % 16, None)
    for form in FORMS:
        rm, rv = k["rm"].copy(), k["rv"].copy()
        if form == "plain":
            yb, sm, si = F.batch_norm_blocked(xb, rm, rv, k["w"], k["b"], training=True)
        elif form == "relu":
            yb, sm, si = F.batch_norm_relu_blocked(xb, rm, rv, k["w"], k["b"], training=True)
        else:
            yb, sm, si = F.batch_norm_add_relu_blocked(xb, rb, rm, rv, k["w"], k["b"], training=True)
        assert isinstance(yb, F.Blocked) and yb.channels == c
        y, _, _ = ours_forward(form, k, k["rm"].copy(), k["rv"].copy(), k["w"], k["b"], True)
        np.testing.assert_array_equal(F.from_blocked(yb), y)
        assert np.all(yb.data[:, -1, :, :, pad] == 0), "padded lanes of y must be zero"

        if form == "plain":
            dxb, dw, db = F.batch_norm_backward_blocked(dyb, xb, k["w"], sm, si)
            outs = [dxb]
        elif form == "relu":
            dxb, dw, db = F.batch_norm_relu_backward_blocked(dyb, yb, xb, k["w"], sm, si)
            outs = [dxb]
        else:
            dxb, drb, dw, db = F.batch_norm_add_relu_backward_blocked(dyb, yb, xb, k["w"], sm, si)
            outs = [dxb, drb]
        ref = ours_backward(form, k["gy"], y, k["x"], k["w"], sm, si, True)
        for ob, r in zip(outs, ref):
            np.testing.assert_array_equal(F.from_blocked(ob), r)
            assert np.all(ob.data[:, -1, :, :, pad] == 0), "padded lanes of gradients must be zero"
        np.testing.assert_array_equal(dw, ref[-2])
        np.testing.assert_array_equal(db, ref[-1])


def test_eval_padded_lanes_zero_with_nonzero_bias(isa):
    """Eval mode with a bias: padded lanes must stay 0, not become the bias."""
    k = make_case((2, 5, 3, 3))
    yb, _, _ = F.batch_norm_blocked(F.to_blocked(k["x"]), k["rm"], k["rv"], k["w"], k["b"] + 3)
    assert np.all(yb.data[..., 5:] == 0)


def test_blocked_errors():
    k = make_case((2, 3, 4, 4))
    xb = F.to_blocked(k["x"])
    with pytest.raises(TypeError, match="input"):
        F.batch_norm_blocked(k["x"], k["rm"], k["rv"])
    with pytest.raises(ValueError, match="residual"):
        F.batch_norm_add_relu_blocked(xb, F.to_blocked(k["x"][:1]), k["rm"], k["rv"])
    with pytest.raises(ValueError, match="grad_output"):
        F.batch_norm_backward_blocked(F.to_blocked(k["x"][:, :, :2]), xb, None, k["rm"], k["rv"])
    with pytest.raises(ValueError, match="input"):
        F.batch_norm_blocked(F.Blocked(k["x"], 3), k["rm"], k["rv"])


# ------------------------------------------------------------------------------ determinism ---

@pytest.mark.parametrize("form", FORMS)
def test_bit_identical_for_any_thread_count(isa, form):
    k = make_case((3, 17, 50, 45), seed=5)
    results = []
    try:
        for threads in (1, 2):
            cnncore.set_num_threads(threads)
            rm, rv = k["rm"].copy(), k["rv"].copy()
            y, sm, si = ours_forward(form, k, rm, rv, k["w"], k["b"], True)
            results.append([y, sm, si, rm, rv]
                           + list(ours_backward(form, k["gy"], y, k["x"], k["w"], sm, si, True)))
    finally:
        cnncore.set_num_threads(None)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------- inputs and dtypes ---

def test_inputs_not_modified_and_running_stats_updated_in_place():
    k = make_case((2, 17, 3, 3))
    saved = {n: v.copy() for n, v in k.items()}
    rm, rv = k["rm"].copy(), k["rv"].copy()
    y, sm, si = F.batch_norm_add_relu(k["x"], k["res"], rm, rv, k["w"], k["b"], training=True,
                                      return_stats=True)
    sm0, si0, y0 = sm.copy(), si.copy(), y.copy()
    F.batch_norm_add_relu_backward(k["gy"], y, k["x"], k["w"], sm, si)
    for n, v in k.items():
        np.testing.assert_array_equal(v, saved[n], err_msg=n)
    for a, b in ((sm, sm0), (si, si0), (y, y0)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(rm, k["rm"]) and not np.array_equal(rv, k["rv"])
    # eval: the running statistics are only read
    rm1, rv1 = rm.copy(), rv.copy()
    F.batch_norm(k["x"], rm, rv, k["w"], k["b"], training=False)
    np.testing.assert_array_equal(rm, rm1)
    np.testing.assert_array_equal(rv, rv1)


def test_noncontiguous_and_float64_inputs():
    k = make_case((2, 6, 5, 4))
    x64 = np.asfortranarray(k["x"].astype(np.float64))
    xt = np.ascontiguousarray(k["x"].transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)  # strided view
    assert not xt.flags.c_contiguous
    w = np.repeat(k["w"].astype(np.float64), 2)[::2]  # non-contiguous float64 (C,)
    ref = F.batch_norm(k["x"], k["rm"], k["rv"], k["w"], k["b"])
    np.testing.assert_array_equal(F.batch_norm(x64, k["rm"].astype(np.float64), k["rv"].tolist(),
                                               w, k["b"]), ref)
    np.testing.assert_array_equal(F.batch_norm(xt, k["rm"], k["rv"], k["w"], k["b"]), ref)
    y, sm, si = F.batch_norm(k["x"], None, None, k["w"], k["b"], training=True, return_stats=True)
    g = F.batch_norm_backward(k["gy"].astype(np.float64), x64, w, sm.astype(np.float64), si)
    g0 = F.batch_norm_backward(k["gy"], k["x"], k["w"], sm, si)
    for a, b in zip(g, g0):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("training", [True, False])
def test_empty_batch(training):
    x = np.zeros((0, 17, 4, 4), np.float32)
    rm, rv = np.ones(17, np.float32), np.full(17, 2, np.float32)
    for form in FORMS:
        k = {"x": x, "res": x}
        y, sm, si = ours_forward(form, k, rm, rv, None, None, training)
        assert y.shape == x.shape and sm.shape == (17,) and si.shape == (17,)
        grads = ours_backward(form, x, y, x, None, sm, si, training)
        assert grads[0].shape == x.shape
        np.testing.assert_array_equal(grads[-1], np.zeros(17))
        np.testing.assert_array_equal(grads[-2], np.zeros(17))
    np.testing.assert_array_equal(rm, 1)  # untouched, as torch
    np.testing.assert_array_equal(rv, 2)


# ------------------------------------------------------------------------------- bad input ---

def test_errors():
    k = make_case((2, 3, 4, 4))
    x, rm, rv = k["x"], k["rm"].copy(), k["rv"].copy()
    cases = [
        (ValueError, "input.*2 or 3 or 4-d", lambda: F.batch_norm(x[0, 0, 0], rm, rv)),
        (ValueError, "input.*2 or 3 or 4-d", lambda: F.batch_norm(x[None], rm, rv)),
        (TypeError, "input.*dtype", lambda: F.batch_norm(x.astype(complex), rm, rv)),
        (ValueError, "input.*at least one channel",
         lambda: F.batch_norm(np.zeros((2, 0, 3, 3)), None, None, training=True)),
        (ValueError, "more than 1 value per channel",
         lambda: F.batch_norm(x[:1, :, :1, :1], rm, rv, training=True)),
        (ValueError, "running_mean.*required in eval", lambda: F.batch_norm(x, None, rv)),
        (ValueError, "running_var.*required in eval", lambda: F.batch_norm(x, rm, None)),
        (ValueError, r"running_mean: expected shape \(3,\)", lambda: F.batch_norm(x, rm[:2], rv)),
        (ValueError, r"running_var: expected shape \(3,\)",
         lambda: F.batch_norm(x, rm, np.ones(4, np.float32), training=True)),
        (TypeError, "running_mean.*float32",
         lambda: F.batch_norm(x, rm.astype(np.float64), rv, training=True)),
        (TypeError, "running_var.*numpy array",
         lambda: F.batch_norm(x, rm, rv.tolist(), training=True)),
        (ValueError, "running_mean.*C-contiguous",
         lambda: F.batch_norm(x, np.ones(6, np.float32)[::2], rv, training=True)),
        (ValueError, "running_var.*overlapping", lambda: F.batch_norm(x, rm, rm, training=True)),
        (ValueError, r"weight: expected shape \(3,\)", lambda: F.batch_norm(x, rm, rv, np.ones(2))),
        (ValueError, "bias: expected a 1-d", lambda: F.batch_norm(x, rm, rv, None, np.ones((3, 1)))),
        (TypeError, "training: expected a bool", lambda: F.batch_norm(x, rm, rv, training="yes")),
        (ValueError, "momentum", lambda: F.batch_norm(x, rm, rv, momentum=1.5)),
        (TypeError, "momentum", lambda: F.batch_norm(x, rm, rv, momentum=None)),
        (ValueError, "eps", lambda: F.batch_norm(x, rm, rv, eps=-1)),
        (TypeError, "return_stats", lambda: F.batch_norm(x, rm, rv, return_stats=None)),
        (ValueError, "residual: expected shape",
         lambda: F.batch_norm_add_relu(x, x[:1], rm, rv)),
        (TypeError, "residual", lambda: F.batch_norm_add_relu(x, None, rm, rv)),
        (ValueError, "grad_output: expected shape",
         lambda: F.batch_norm_backward(x[:1], x, None, rm, rv)),
        (ValueError, "save_mean: expected shape",
         lambda: F.batch_norm_backward(x, x, None, rm[:1], rv)),
        (ValueError, "save_invstd: expected a 1-d",
         lambda: F.batch_norm_backward(x, x, None, rm, rv[None])),
        (TypeError, "training", lambda: F.batch_norm_backward(x, x, None, rm, rv, training=1)),
        (ValueError, "output: expected shape",
         lambda: F.batch_norm_relu_backward(x, x[:, :1], x, None, rm, rv)),
        (TypeError, "output", lambda: F.batch_norm_add_relu_backward(x, None, x, None, rm, rv)),
    ]
    ro = rm.copy()
    ro.flags.writeable = False
    cases.append((ValueError, "running_mean.*writeable",
                  lambda: F.batch_norm(x, ro, rv, training=True)))
    before = rm.copy(), rv.copy()
    for exc, match, call in cases:
        with pytest.raises(exc, match=match):
            call()
    np.testing.assert_array_equal(rm, before[0])  # nothing ran before the checks
    np.testing.assert_array_equal(rv, before[1])
