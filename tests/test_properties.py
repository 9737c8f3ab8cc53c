"""Property tests (hypothesis): random shapes, strides, paddings, dilations, groups and batch sizes
(empty batches included) for convolution, pooling, batch norm and the fused ops, forward and
backward, against the float64 references in tests/reference.py, each example at every ISA level
the CPU has. Derandomized (a fixed sequence of examples) with bounded example counts, so the file
runs in seconds and the same way every time."""
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cnncore
import reference as R
from conftest import ISAS, assert_close
from cnncore import functional as F

SETTINGS = settings(derandomize=True, max_examples=100, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def each_isa(check):
    """Run check() at every ISA level the CPU supports (restoring the level afterwards)."""
    previous = cnncore.get_isa()
    try:
        for level in ISAS:
            cnncore.set_isa(level)
            check(level)
    finally:
        cnncore.set_isa(previous)


def arrays(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@st.composite
def conv_cases(draw, relu=False):
    groups = draw(st.sampled_from([1, 1, 2, 3, "depthwise"]))
    if groups == "depthwise":
        c_in = draw(st.integers(1, 20))
        groups, c_out = c_in, c_in * draw(st.sampled_from([1, 1, 2]))
    else:
        c_in = groups * draw(st.integers(1, 7))
        c_out = groups * draw(st.integers(1, 7))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 10))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 10))
    n = draw(st.integers(0, 3))
    bias = draw(st.booleans())
    return dict(n=n, c_in=c_in, c_out=c_out, h=h, w=w, k=(kh, kw), stride=(sh, sw), padding=(ph, pw),
                dilation=(dh, dw), groups=groups, bias=bias, seed=draw(st.integers(0, 2 ** 16)))


@SETTINGS
@given(conv_cases(), st.booleans())
def test_conv2d_forward_backward(case, relu):
    c = case
    x, w, b = arrays(c["seed"], (c["n"], c["c_in"], c["h"], c["w"]),
                     (c["c_out"], c["c_in"] // c["groups"]) + c["k"], (c["c_out"],))
    b = b if c["bias"] else None
    kw = dict(stride=c["stride"], padding=c["padding"], dilation=c["dilation"], groups=c["groups"])
    ref_fwd = R.conv2d_relu if relu else R.conv2d
    y_ref = ref_fwd(x, w, b, **kw)
    (gy,) = arrays(c["seed"] + 1, y_ref.shape)
    if relu:
        g_ref = R.conv2d_relu_backward(gy, y_ref, x, w, **kw)
    else:
        g_ref = R.conv2d_backward(gy, x, w, **kw)

    def check(level):
        y = (F.conv2d_relu if relu else F.conv2d)(x, w, b, **kw)
        assert_close(y, y_ref, name="y@" + level)
        if relu:
            grads = F.conv2d_relu_backward(gy, y, x, w, **kw)
        else:
            grads = F.conv2d_backward(gy, x, w, **kw)
        for got, want, name in zip(grads, g_ref, ("dx", "dw", "db")):
            assert_close(got, want, name="%s@%s" % (name, level))

    each_isa(check)


@st.composite
def pool_cases(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h, w = draw(st.integers(max(1, kh - 2 * ph), 10)), draw(st.integers(max(1, kw - 2 * pw), 10))
    return dict(n=draw(st.integers(0, 3)), c=draw(st.integers(1, 20)), h=h, w=w, k=(kh, kw),
                stride=stride, padding=(ph, pw), ceil_mode=draw(st.booleans()),
                dilation=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
                count_include_pad=draw(st.booleans()), seed=draw(st.integers(0, 2 ** 16)))


def _valid_pool(c, dilation):
    try:
        F.pool_output_size(c["h"], c["k"][0], (c["stride"] or c["k"])[0], c["padding"][0])
        F._pool._pool_geometry((c["n"], c["c"], c["h"], c["w"]), c["k"], c["stride"], c["padding"],
                               dilation, c["ceil_mode"])
        return True
    except ValueError:
        return False


@SETTINGS
@given(pool_cases())
def test_max_pool2d_forward_backward(c):
    assume(_valid_pool(c, c["dilation"]))
    (x,) = arrays(c["seed"], (c["n"], c["c"], c["h"], c["w"]))
    kw = dict(stride=c["stride"], padding=c["padding"], dilation=c["dilation"], ceil_mode=c["ceil_mode"])
    y_ref, idx_ref = R.max_pool2d(x, c["k"], **kw)
    (gy,) = arrays(c["seed"] + 1, y_ref.shape)
    gx_ref = R.max_pool2d_backward(gy, idx_ref, x.shape)

    def check(level):
        y, idx = F.max_pool2d(x, c["k"], return_indices=True, **kw)
        assert_close(y, y_ref, name="y@" + level)
        np.testing.assert_array_equal(idx, idx_ref)
        assert_close(F.max_pool2d_backward(gy, idx, x.shape), gx_ref, name="dx@" + level)
        # the layer (blocked argmax path) agrees too
        layer = cnncore.nn.MaxPool2d(c["k"], **kw)
        assert_close(layer(x), y_ref, name="layer@" + level)
        assert_close(layer.backward(gy), gx_ref, name="layer dx@" + level)

    each_isa(check)


@SETTINGS
@given(pool_cases())
def test_avg_pool2d_forward_backward(c):
    assume(_valid_pool(c, 1))
    (x,) = arrays(c["seed"], (c["n"], c["c"], c["h"], c["w"]))
    kw = dict(stride=c["stride"], padding=c["padding"], ceil_mode=c["ceil_mode"],
              count_include_pad=c["count_include_pad"])
    y_ref = R.avg_pool2d(x, c["k"], **kw)
    (gy,) = arrays(c["seed"] + 1, y_ref.shape)
    gx_ref = R.avg_pool2d_backward(gy, x.shape, c["k"], **kw)

    def check(level):
        assert_close(F.avg_pool2d(x, c["k"], **kw), y_ref, name="y@" + level)
        assert_close(F.avg_pool2d_backward(gy, x.shape, c["k"], **kw), gx_ref, name="dx@" + level)

    each_isa(check)


@SETTINGS
@given(st.integers(0, 3), st.integers(1, 20), st.integers(1, 9), st.integers(1, 9), st.integers(1, 5),
       st.integers(1, 5), st.integers(0, 2 ** 16))
def test_adaptive_avg_pool2d_forward_backward(n, c, h, w, oh, ow, seed):
    (x,) = arrays(seed, (n, c, h, w))
    y_ref = R.adaptive_avg_pool2d(x, (oh, ow))
    (gy,) = arrays(seed + 1, y_ref.shape)
    gx_ref = R.adaptive_avg_pool2d_backward(gy, x.shape)

    def check(level):
        assert_close(F.adaptive_avg_pool2d(x, (oh, ow)), y_ref, name="y@" + level)
        assert_close(F.adaptive_avg_pool2d_backward(gy, x.shape), gx_ref, name="dx@" + level)

    each_isa(check)


@SETTINGS
@given(st.integers(0, 4), st.integers(1, 20), st.integers(1, 6), st.integers(1, 6),
       st.sampled_from(["plain", "relu", "add_relu"]), st.booleans(), st.booleans(),
       st.integers(0, 2 ** 16))
def test_batch_norm_forward_backward(n, c, h, w, form, training, affine, seed):
    assume(not (training and n * h * w == 1))  # rejected (one value per channel), tested elsewhere
    if n == 0:  # the reference rejects empty batches: empty output, statistics untouched
        x = np.zeros((0, c, h, w), np.float32)
        rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)

        def check_empty(level):
            y = F.batch_norm(x, rm, rv, training=True)
            assert y.shape == x.shape and rm.sum() == 0 and rv.sum() == c
            dx, dw, db = F.batch_norm_backward(x, x, None, np.zeros(c), np.ones(c))
            assert dx.shape == x.shape and not dw.any() and not db.any()

        each_isa(check_empty)
        return
    x, r, weight, bias, gy = arrays(seed, (n, c, h, w), (n, c, h, w), (c,), (c,), (n, c, h, w))
    rm0 = arrays(seed + 1, (c,))[0]
    rv0 = np.abs(arrays(seed + 2, (c,))[0]) + 0.5
    weight, bias = (weight, bias) if affine else (None, None)
    if form == "plain":
        y_ref, sm_ref, si_ref, rm_ref, rv_ref = R.batch_norm(x, rm0, rv0, weight, bias, training)
    elif form == "relu":
        y_ref, sm_ref, si_ref, rm_ref, rv_ref = R.batch_norm_relu(x, rm0, rv0, weight, bias, training)
    else:
        y_ref, sm_ref, si_ref, rm_ref, rv_ref = R.batch_norm_add_relu(x, r, rm0, rv0, weight, bias, training)

    def check(level):
        rm, rv = rm0.copy(), rv0.copy()
        if form == "plain":
            y, sm, si = F.batch_norm(x, rm, rv, weight, bias, training, return_stats=True)
        elif form == "relu":
            y, sm, si = F.batch_norm_relu(x, rm, rv, weight, bias, training, return_stats=True)
        else:
            y, sm, si = F.batch_norm_add_relu(x, r, rm, rv, weight, bias, training, return_stats=True)
        assert_close(y, y_ref, name="y@" + level)
        if n * h * w == 0:
            assert y.shape == x.shape
            np.testing.assert_array_equal(rm, rm0)
            return
        assert_close(rm, rm_ref, name="running_mean@" + level)
        assert_close(rv, rv_ref, name="running_var@" + level)
        if form == "plain":
            got = F.batch_norm_backward(gy, x, weight, sm, si, training)
            want = R.batch_norm_backward(gy, x, weight, sm_ref, si_ref, training)
        elif form == "relu":
            got = F.batch_norm_relu_backward(gy, y, x, weight, sm, si, training)
            want = R.batch_norm_relu_backward(gy, y_ref, x, weight, sm_ref, si_ref, training)
        else:
            got = F.batch_norm_add_relu_backward(gy, y, x, weight, sm, si, training)
            want = R.batch_norm_add_relu_backward(gy, y_ref, x, weight, sm_ref, si_ref, training)
        for g, wt, name in zip(got, want, ("dx", "dresidual", "dweight", "dbias")[:len(got)] if form == "add_relu"
                               else ("dx", "dweight", "dbias")):
            assert_close(g, wt, rtol=1e-3, atol=1e-3, name="%s@%s" % (name, level))

    each_isa(check)


@settings(derandomize=True, max_examples=25, deadline=None, database=None)
@given(st.integers(0, 3), st.integers(1, 12), st.integers(2, 7), st.sampled_from([1, 2]),
       st.integers(0, 2 ** 16))
def test_residual_block_matches_composition(n, c, hw, stride, seed):
    """A BasicBlock (fused BN+ReLU, BN+add+ReLU, blocked layout) against the same computation
    composed from the plain functional ops, forward and input gradient."""
    cnncore.manual_seed(seed)
    block = cnncore.nn.BasicBlock(c, c * stride, stride=stride)
    (x,) = arrays(seed, (n, c, hw, hw))
    p = {k: v for k, v in block.state_dict().items()}

    def composed(xx):
        def bn(t, name):
            return R.batch_norm(t, p[name + ".running_mean"], p[name + ".running_var"], p[name + ".weight"],
                                p[name + ".bias"], True)[0]
        h = R.relu(bn(R.conv2d(xx, p["conv1.weight"], None, stride, 1), "bn1"))
        h = bn(R.conv2d(h, p["conv2.weight"], None, 1, 1), "bn2")
        ident = xx
        if block.downsample is not None:
            ident = bn(R.conv2d(xx, p["downsample.0.weight"], None, stride, 0), "downsample.1")
        return R.relu(h + ident)

    out_hw = (hw - 1) // stride + 1
    if n * out_hw * out_hw <= 1:
        if n == 0:  # empty batch: empty output and gradient
            y = block(x)
            assert y.shape == (0, c * stride, out_hw, out_hw)
            assert block.backward(np.zeros(y.shape, np.float32)).shape == x.shape
        return  # (batch norm rejects one value per channel in training)
    want = composed(x)

    def check(level):
        assert_close(block(x), want, rtol=1e-3, atol=1e-3, name="y@" + level)
        dx = block.backward(np.ones(want.shape, np.float32))
        assert dx.shape == x.shape and np.isfinite(dx).all()

    each_isa(check)
