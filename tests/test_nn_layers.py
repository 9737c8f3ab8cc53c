"""Each layer against the float64 NumPy reference: forward, input gradient, parameter gradients
(and BatchNorm's running statistics), called with NCHW arrays and inside a Sequential (the
blocked path), whose results must be identical."""
import numpy as np
import pytest

import cnncore
from cnncore import _random, nn
from cnncore import functional as F
from cnncore.autograd import graph_ops
from cnncore.functional._layout import Blocked, from_blocked, to_blocked
from conftest import assert_close
import reference as R


@pytest.fixture(autouse=True)
def seeded():
    _random.manual_seed(0)


def randn(shape, seed=0, scale=1.0, offset=0.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale + offset).astype(np.float32)


def run(module, x, dy, sequential=False, seed=None):
    """(y, dx, {param name: grad}, state_dict after) of one forward and backward."""
    module.zero_grad()
    if seed is not None:
        _random.manual_seed(seed)
    net = nn.Sequential(module) if sequential else module
    y = net(x)
    assert isinstance(y, cnncore.Tensor) and y.dtype == np.float32
    y = y.numpy()
    dx = net.backward(dy)
    grads = {n: p.grad.copy() for n, p in module.named_parameters()}
    return y, dx, grads, module.state_dict()


def check(module, x, dy, ref_y, ref_dx, ref_grads, tol=1e-4, ref_state=None, seed=None):
    """Compare the NCHW call with the reference, then the Sequential (blocked) call with the NCHW
    call, bit for bit, from the same initial state."""
    start = module.state_dict()
    y, dx, grads, state = run(module, x, dy, seed=seed)
    assert_close(y, ref_y, tol, tol, "forward")
    assert dx.shape == x.shape and dx.dtype == np.float32
    assert_close(dx, ref_dx, tol, tol, "grad_input")
    assert sorted(grads) == sorted(ref_grads)
    for name, g in ref_grads.items():
        assert_close(grads[name], g, tol, tol, "grad " + name)
    for name, v in (ref_state or {}).items():
        assert_close(state[name], v, tol, tol, name)
    module.load_state_dict(start)
    y2, dx2, grads2, state2 = run(module, x, dy, sequential=True, seed=seed)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(dx2, dx)
    for name in grads:
        np.testing.assert_array_equal(grads2[name], grads[name])
    for name in state:
        np.testing.assert_array_equal(state2[name], state[name])
    return y, dx, grads, state


# ------------------------------------------------------------------------------ Conv2d ---

CONV_CASES = [
    # cin, cout, kernel, stride, padding, dilation, groups, bias, (H, W)
    (3, 5, 3, 1, 0, 1, 1, True, (7, 6)),
    (3, 16, 3, 1, 1, 1, 1, False, (5, 5)),
    (17, 20, 3, 2, 1, 1, 1, True, (9, 8)),
    (16, 33, 1, 1, 0, 1, 1, True, (4, 5)),
    (8, 8, (3, 1), (2, 1), (1, 0), 1, 1, True, (7, 5)),
    (5, 7, 3, 1, 2, 2, 1, True, (6, 7)),
    (4, 6, 3, 1, 1, 1, 2, True, (5, 5)),
    (32, 48, 3, 2, 1, 1, 4, False, (6, 6)),
    (20, 20, 3, 1, 1, 1, 20, False, (6, 5)),   # depthwise
    (24, 24, 3, 2, 1, 1, 24, True, (7, 7)),    # depthwise, stride 2
    (16, 16, 5, 1, 4, 2, 16, True, (6, 6)),    # depthwise, dilated
    (4, 8, 3, 1, 1, 1, 4, True, (5, 5)),       # channel multiplier 2
]


@pytest.mark.parametrize("case", CONV_CASES, ids=[str(i) for i in range(len(CONV_CASES))])
def test_conv2d(case):
    cin, cout, k, s, p, d, g, bias, hw = case
    conv = nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=bias)
    x = randn((2, cin) + hw, 1)
    w = conv.weight.data
    b = conv.bias.data if bias else None
    ref_y = R.conv2d(x, w, b, s, p, d, g)
    dy = randn(ref_y.shape, 2)
    gx, gw, gb = R.conv2d_backward(dy, x, w, s, p, d, g)
    grads = {"weight": gw, "bias": gb} if bias else {"weight": gw}
    check(conv, x, dy, ref_y, gx, grads)


def test_conv2d_fused_relu_and_no_input_grad():
    conv = nn.Conv2d(5, 18, 3, padding=1)
    x = randn((2, 5, 6, 6), 3)
    seq = nn.Sequential(conv, nn.ReLU())
    y = seq(x)
    assert graph_ops(y) == ["Conv2d+ReLU"]
    ref = R.conv2d_relu(x, conv.weight.data, conv.bias.data, 1, 1)
    assert_close(y, ref)
    dy = randn(y.shape, 4)
    dx = seq.backward(dy)
    gx, gw, gb = R.conv2d_relu_backward(dy, ref, x, conv.weight.data, 1, 1)
    assert_close(dx, gx)
    assert_close(conv.weight.grad, gw)
    assert_close(conv.bias.grad, gb)
    conv.zero_grad()
    conv(x)
    assert conv.backward(randn(y.shape, 4), input_grad=False) is None
    assert conv.weight.grad is not None and conv.bias.grad is not None


def test_conv2d_repacks_after_weight_update():
    conv = nn.Conv2d(3, 4, 3, padding=1)
    x = randn((1, 3, 5, 5))
    conv(x)
    conv.weight._mutable_flat()[:] *= -2  # as an optimizer step in place
    assert_close(conv(x), R.conv2d(x, conv.weight.data, conv.bias.data, 1, 1))
    conv.weight.data = randn(conv.weight.shape, 9)
    assert_close(conv(x), R.conv2d(x, conv.weight.data, conv.bias.data, 1, 1))


def test_conv2d_init_and_arguments():
    conv = nn.Conv2d(8, 6, 3, groups=2)
    bound = 1 / np.sqrt(4 * 9)
    assert conv.weight.shape == (6, 4, 3, 3)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.8 * bound
    assert (conv.stride, conv.padding, conv.dilation) == ((1, 1), (0, 0), (1, 1))
    assert conv.kernel_size == (3, 3) and conv.padding_mode == "zeros"
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(6, 4, 3, groups=4)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(6, 4, 3, padding_mode="mirror")


# ------------------------------------------------------------------------- BatchNorm2d ---

def bn_with_state(c, seed=5, **kw):
    m = nn.BatchNorm2d(c, **kw)
    r = np.random.default_rng(seed)
    sd = {}
    if m.weight is not None:
        sd["weight"] = r.standard_normal(c).astype(np.float32)
        sd["bias"] = r.standard_normal(c).astype(np.float32)
    if m.running_mean is not None:
        sd["running_mean"] = r.standard_normal(c).astype(np.float32)
        sd["running_var"] = (r.random(c) + 0.5).astype(np.float32)
        sd["num_batches_tracked"] = np.array(3)
    m.load_state_dict(sd)
    return m


@pytest.mark.parametrize("c", [3, 16, 21])
def test_batchnorm2d_training(c):
    m = bn_with_state(c, momentum=0.3, eps=1e-3)
    x = randn((3, c, 5, 4), 1, 2.0, 0.5)
    dy = randn(x.shape, 2)
    y, mean, invstd, rm, rv = R.batch_norm(x, m.running_mean, m.running_var, m.weight.data,
                                           m.bias.data, True, 0.3, 1e-3)
    gx, gw, gb = R.batch_norm_backward(dy, x, m.weight.data, mean, invstd, True)
    _, _, _, state = check(m, x, dy, y, gx, {"weight": gw, "bias": gb},
                           ref_state={"running_mean": rm, "running_var": rv})
    assert int(state["num_batches_tracked"]) == 4
    assert state["num_batches_tracked"].dtype == np.int64


def test_batchnorm2d_eval_uses_running_stats_and_leaves_them():
    m = bn_with_state(19).eval()
    x = randn((2, 19, 3, 5), 1, 2.0, 0.5)
    dy = randn(x.shape, 2)
    y, mean, invstd, _, _ = R.batch_norm(x, m.running_mean, m.running_var, m.weight.data,
                                         m.bias.data, False)
    gx, gw, gb = R.batch_norm_backward(dy, x, m.weight.data, mean, invstd, False)
    before = m.state_dict()
    _, _, _, state = check(m, x, dy, y, gx, {"weight": gw, "bias": gb})
    for k in before:
        np.testing.assert_array_equal(state[k], before[k])
    # eval works for a single value per channel (training would not)
    m(randn((1, 19, 1, 1)))
    with pytest.raises(ValueError, match="more than 1 value"):
        m.train()(randn((1, 19, 1, 1)))


def test_batchnorm2d_momentum_none_is_a_cumulative_average():
    m = nn.BatchNorm2d(5, momentum=None)
    xs = [randn((4, 5, 3, 3), i, 1 + i, i) for i in range(3)]
    for x in xs:
        m(x)
        m.backward(np.zeros_like(x))
    means = [x.astype(np.float64).mean(axis=(0, 2, 3)) for x in xs]
    uvars = [x.astype(np.float64).var(axis=(0, 2, 3), ddof=1) for x in xs]
    assert_close(m.running_mean, np.mean(means, axis=0), 1e-5, 1e-5)
    assert_close(m.running_var, np.mean(uvars, axis=0), 1e-5, 1e-5)
    assert int(m.num_batches_tracked) == 3


def test_batchnorm2d_momentum_default_two_steps():
    m = nn.BatchNorm2d(4)
    assert (m.eps, m.momentum, m.affine, m.track_running_stats) == (1e-5, 0.1, True, True)
    rm, rv = np.zeros(4), np.ones(4)
    for i in range(2):
        x = randn((2, 4, 3, 3), i, 2, 1)
        m(x)
        rm = 0.9 * rm + 0.1 * x.astype(np.float64).mean(axis=(0, 2, 3))
        rv = 0.9 * rv + 0.1 * x.astype(np.float64).var(axis=(0, 2, 3), ddof=1)
    assert_close(m.running_mean, rm, 1e-5, 1e-5)
    assert_close(m.running_var, rv, 1e-5, 1e-5)
    assert int(m.num_batches_tracked) == 2


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm2d_affine_false(training):
    m = bn_with_state(18, affine=False).train(training)
    x = randn((2, 18, 4, 3), 1, 3.0, -1.0)
    dy = randn(x.shape, 2)
    y, mean, invstd, rm, rv = R.batch_norm(x, m.running_mean, m.running_var, None, None, training)
    gx, _, _ = R.batch_norm_backward(dy, x, None, mean, invstd, training)
    check(m, x, dy, y, gx, {}, ref_state={"running_mean": rm, "running_var": rv})
    assert list(m.parameters()) == []


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm2d_without_running_stats_always_uses_the_batch(training):
    m = bn_with_state(6, track_running_stats=False).train(training)
    x = randn((2, 6, 4, 3), 1, 3.0, -1.0)
    dy = randn(x.shape, 2)
    y, mean, invstd, _, _ = R.batch_norm(x, None, None, m.weight.data, m.bias.data, True)
    gx, gw, gb = R.batch_norm_backward(dy, x, m.weight.data, mean, invstd, True)
    check(m, x, dy, y, gx, {"weight": gw, "bias": gb})
    assert m.running_mean is None and list(m.buffers()) == []


def test_batchnorm2d_fused_relu_and_add_relu():
    m = bn_with_state(17)
    x = randn((2, 17, 3, 3), 1)
    r = randn(x.shape, 3)
    dy = randn(x.shape, 2)
    start = m.state_dict()
    relu = nn.Sequential(m, nn.ReLU())
    y = relu(x)
    ref = R.batch_norm_relu(x, start["running_mean"], start["running_var"], start["weight"],
                            start["bias"], True)
    assert_close(y, ref[0])
    assert_close(m.running_mean, ref[3])
    dx = relu.backward(dy)
    gx, gw, gb = R.batch_norm_relu_backward(dy, ref[0], x, start["weight"], ref[1], ref[2], True)
    assert_close(dx, gx)
    assert_close(m.weight.grad, gw)
    assert_close(m.bias.grad, gb)
    m.load_state_dict(start)
    m.zero_grad()
    xt, rt = cnncore.Tensor(x, requires_grad=True), cnncore.Tensor(r, requires_grad=True)

    class AddRelu(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = m

        def forward(self, a, b):
            return F.relu(self.bn(a) + b)

    y = AddRelu()(xt, rt)
    assert graph_ops(y) == ["BatchNorm2d+Add+ReLU"]
    ref = R.batch_norm_add_relu(x, r, start["running_mean"], start["running_var"], start["weight"],
                                start["bias"], True)
    assert_close(y, ref[0])
    y.backward(dy)
    dx, dr = xt.grad, rt.grad
    gx, gr, gw, gb = R.batch_norm_add_relu_backward(dy, ref[0], x, start["weight"], ref[1], ref[2])
    assert_close(dx, gx)
    assert_close(dr, gr)
    assert_close(m.weight.grad, gw)


def test_batchnorm2d_loaded_running_stats_of_other_dtypes():
    m = nn.BatchNorm2d(3)
    m.load_state_dict({"weight": np.ones(3), "bias": np.zeros(3), "running_mean": np.arange(3.0),
                       "running_var": np.full(3, 4.0), "num_batches_tracked": np.array(7, np.int32)})
    assert m.running_mean.dtype == np.float32 and m.num_batches_tracked.dtype == np.int64
    x = randn((2, 3, 2, 2))
    m(x)  # training updates the loaded statistics in place without complaint
    assert int(m.num_batches_tracked) == 8
    assert_close(m.running_mean, 0.9 * np.arange(3.0) + 0.1 * x.astype(np.float64).mean(axis=(0, 2, 3)),
                 1e-5, 1e-5)


# ----------------------------------------------------------------- activations, pooling ---

def relu6_ref(x):
    return np.clip(x.astype(np.float64), 0, 6)


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (2, 17, 3, 3)])
def test_relu(shape):
    x = randn(shape, 1, 3.0)
    dy = randn(shape, 2)
    y = R.relu(x)
    check(nn.ReLU(), x, dy, y, R.relu_backward(dy, y), {})


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (1, 20, 3, 3)])
def test_relu6(shape):
    x = randn(shape, 1, 5.0)
    assert (x > 6).any() and (x < 0).any()
    dy = randn(shape, 2)
    y = relu6_ref(x)
    check(nn.ReLU6(), x, dy, y, np.where((y > 0) & (y < 6), dy, 0.0), {})


def test_activations_on_feature_arrays():
    x = randn((4, 7), 1, 5.0)
    dy = randn((4, 7), 2)
    for m, ref, mask in ((nn.ReLU(), R.relu(x), x > 0), (nn.ReLU6(), relu6_ref(x), (x > 0) & (x < 6))):
        assert_close(m(x), ref)
        assert_close(m.backward(dy), np.where(mask, dy, 0))


MAXPOOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)),
]


@pytest.mark.parametrize("kw", MAXPOOL_CASES, ids=[str(i) for i in range(len(MAXPOOL_CASES))])
def test_maxpool2d(kw):
    x = randn((2, 18, 7, 8), 1)
    y, idx = R.max_pool2d(x, **kw)
    dy = randn(y.shape, 2)
    check(nn.MaxPool2d(**kw), x, dy, y, R.max_pool2d_backward(dy, idx, x.shape), {})


AVGPOOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, divisor_override=3),
]


@pytest.mark.parametrize("kw", AVGPOOL_CASES, ids=[str(i) for i in range(len(AVGPOOL_CASES))])
def test_avgpool2d(kw):
    x = randn((2, 5, 7, 8), 1)
    y = R.avg_pool2d(x, **kw)
    dy = randn(y.shape, 2)
    check(nn.AvgPool2d(**kw), x, dy, y, R.avg_pool2d_backward(dy, x.shape, **kw), {})


@pytest.mark.parametrize("size", [1, (4, 4), (3, None), 5])
def test_adaptive_avgpool2d(size):
    x = randn((2, 17, 7, 9), 1)
    y = R.adaptive_avg_pool2d(x, size)
    dy = randn(y.shape, 2)
    check(nn.AdaptiveAvgPool2d(size), x, dy, y, R.adaptive_avg_pool2d_backward(dy, x.shape), {})


def test_pool_defaults_match_torch():
    mp = nn.MaxPool2d(3)
    assert (mp.stride, mp.padding, mp.dilation, mp.ceil_mode, mp.return_indices) == (None, 0, 1, False, False)
    ap = nn.AvgPool2d(2)
    assert (ap.stride, ap.padding, ap.ceil_mode, ap.count_include_pad, ap.divisor_override) == (
        None, 0, False, True, None)


# -------------------------------------------------------------- Flatten, Linear, Identity ---

def test_flatten():
    x = randn((2, 17, 3, 2), 1)
    dy = randn((2, 17 * 6), 2)
    check(nn.Flatten(), x, dy, x.reshape(2, -1), dy.reshape(x.shape), {})
    m = nn.Flatten(2)
    y = m(x)
    assert y.shape == (2, 17, 6)
    assert m.backward(randn(y.shape)).shape == x.shape
    m = nn.Flatten(0, 1)
    assert m(x).shape == (34, 3, 2)


def test_flatten_of_a_blocked_input_gives_nchw_order():
    x = randn((2, 20, 3, 3), 1)
    m = nn.Flatten()
    y = m(to_blocked(x))
    np.testing.assert_array_equal(y, x.reshape(2, -1))
    g = m.backward(y)
    assert isinstance(g, Blocked)
    np.testing.assert_array_equal(from_blocked(g), x)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("features", [(5, 3), (33, 17)])
def test_linear(bias, features):
    fin, fout = features
    lin = nn.Linear(fin, fout, bias=bias)
    bound = 1 / np.sqrt(fin)
    assert np.abs(lin.weight.data).max() <= bound
    x = randn((6, fin), 1)
    dy = randn((6, fout), 2)
    b = lin.bias.data if bias else None
    gx, gw, gb = R.linear_backward(dy, x, lin.weight.data)
    grads = {"weight": gw, "bias": gb} if bias else {"weight": gw}
    check(lin, x, dy, R.linear(x, lin.weight.data, b), gx, grads)


def test_identity():
    x = randn((2, 3, 4, 4))
    dy = randn(x.shape, 1)
    check(nn.Identity(7, foo="bar"), x, dy, x, dy, {})


# ----------------------------------------------------------------------------- Dropout ---

def test_dropout_eval_is_identity():
    x = randn((2, 20, 4, 4))
    dy = randn(x.shape, 1)
    m = nn.Dropout(0.5).eval()
    check(m, x, dy, x, dy, {})
    assert nn.Dropout().p == 0.5 and not nn.Dropout().inplace


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_training_mask_scale_and_fraction(p):
    x = randn((4, 20, 16, 16), 1, 1.0, 10.0)  # all non-zero
    assert (x != 0).all()
    dy = randn(x.shape, 2) + np.float32(10)
    m = nn.Dropout(p)
    y = m(x)
    dx = m.backward(dy)
    kept = y != 0
    np.testing.assert_array_equal(kept, dx != 0)
    frac_zero = 1 - kept.mean()
    assert abs(frac_zero - p) < 0.02, frac_zero
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-6)
    np.testing.assert_allclose(dx[kept], dy[kept] / (1 - p), rtol=1e-6)


def test_dropout_blocked_path_and_reproducibility():
    x = randn((2, 20, 5, 5), 1, 1.0, 5.0)
    dy = randn(x.shape, 2)
    m = nn.Dropout(0.3)
    _random.manual_seed(11)
    y = m(x)
    mask = (y != 0)
    check(m, x, dy, np.where(mask, x / 0.7, 0), np.where(mask, dy / 0.7, 0), {}, seed=11)
    _random.manual_seed(11)
    np.testing.assert_array_equal(m(x), y)
    assert not np.array_equal(m(x), y)  # the next step draws a new mask
    # 2-d features, as in a classifier
    f = randn((64, 50), 3, 1.0, 5.0)
    yf = m(f)
    assert 0.2 < (yf == 0).mean() < 0.4


def test_dropout_extremes():
    x = randn((2, 3, 4, 4), 1, 1.0, 5.0)
    assert np.array_equal(nn.Dropout(0.0)(x), x)
    m = nn.Dropout(1.0)
    y = m(x)
    assert not y.any() and np.isfinite(y).all()
    assert not m.backward(np.ones_like(x)).any()
    with pytest.raises(ValueError):
        nn.Dropout(1.5)


# ------------------------------------------------------------------- CrossEntropyLoss ---

def test_cross_entropy_loss():
    logits = randn((8, 11), 1, 3.0)
    target = np.random.default_rng(2).integers(0, 11, 8)
    crit = nn.CrossEntropyLoss()
    loss = crit(logits, target)
    assert isinstance(loss, cnncore.Tensor) and loss.shape == ()
    assert abs(float(loss) - R.cross_entropy(logits, target)) < 1e-5
    assert_close(crit.backward(), R.cross_entropy_backward(logits, target), 1e-6, 1e-6)
    crit(logits, target)
    assert_close(crit.backward(2.5), 2.5 * R.cross_entropy_backward(logits, target), 1e-6, 1e-6)
    with pytest.raises(RuntimeError):
        crit.backward()
    with pytest.raises(ValueError, match="target"):
        crit(logits, np.full(8, 11))


# ------------------------------------------------------------- Blocked in, Blocked out ---

def test_blocked_and_nchw_inputs_of_a_single_layer_agree():
    """A layer handed a Blocked computes a blocked Tensor with the values of the NCHW call, and
    its explicit backward answers a Blocked gradient with a Blocked."""
    x = randn((2, 18, 6, 6), 1)
    for m in (nn.Conv2d(18, 7, 3, padding=1), nn.BatchNorm2d(18), nn.ReLU(), nn.MaxPool2d(2),
              nn.AvgPool2d(3, 1, 1), nn.AdaptiveAvgPool2d(2), nn.Identity(), nn.ReLU6()):
        start = m.state_dict()
        ya = m(x)
        dxa = m.backward(np.ones_like(ya))
        m.load_state_dict(start)
        yb = m(to_blocked(x))
        assert isinstance(yb.value, Blocked)
        np.testing.assert_array_equal(from_blocked(yb.value), ya)
        dxb = m.backward(to_blocked(np.ones_like(ya)))
        assert isinstance(dxb, Blocked)
        np.testing.assert_array_equal(from_blocked(dxb), dxa)


def test_layers_do_not_keep_a_reference_to_the_callers_input():
    """Changing the input array between forward and backward must not change the gradients."""
    x = randn((4, 6), 1)
    dy = randn((4, 3), 2)
    lin = nn.Linear(6, 3)
    lin(x)
    lin.backward(dy)
    expected = lin.weight.grad.copy()
    lin.zero_grad()
    x2 = x.copy()
    lin(x2)
    x2[:] = 0
    lin.backward(dy)
    np.testing.assert_array_equal(lin.weight.grad, expected)
    x4 = randn((2, 3, 5, 5), 3)
    for m in (nn.Conv2d(3, 2, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2)):
        y = m(x4.copy())
        g = np.ones_like(y)
        ref = m.backward(g)
        start = m.state_dict()
        m.load_state_dict(start)
        xx = x4.copy()
        m(xx)
        xx[:] = 7
        np.testing.assert_array_equal(m.backward(g), ref)


@pytest.mark.parametrize("with_relu", [True, False])
@pytest.mark.parametrize("conv_bias", [True, False])
def test_eval_mode_conv_bn_fold_matches_reference(with_relu, conv_bias):
    """In eval mode a Sequential folds BatchNorm2d into the preceding Conv2d; forward and every
    gradient (conv weight/bias, BN weight/bias, input) must equal the unfolded composition."""
    rng = np.random.default_rng(11)
    layers = [nn.Conv2d(5, 7, 3, padding=1, bias=conv_bias), nn.BatchNorm2d(7)]
    if with_relu:
        layers.append(nn.ReLU())
    seq = nn.Sequential(*layers)
    conv, bn = layers[0], layers[1]
    bn.running_mean = rng.standard_normal(7).astype(np.float32)
    bn.running_var = rng.uniform(0.5, 2.0, 7).astype(np.float32)
    bn.weight.data = rng.uniform(0.5, 1.5, 7)
    bn.bias.data = rng.standard_normal(7)
    seq.eval()
    x = rng.standard_normal((2, 5, 6, 6)).astype(np.float32)
    assert graph_ops(seq(x)) == ["Conv2d+BatchNorm2d" + ("+ReLU" if with_relu else "")]
    b = conv.bias.data if conv_bias else None
    z = R.conv2d(x, conv.weight.data, b, 1, 1)
    y_bn, *_ = R.batch_norm(z, bn.running_mean, bn.running_var, bn.weight.data, bn.bias.data, training=False)
    y_ref = R.relu(y_bn) if with_relu else y_bn
    y = seq(x)
    assert_close(y, y_ref, name="output")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = seq.backward(dy)
    g = R.relu_backward(dy, y_ref) if with_relu else dy
    invstd = 1.0 / np.sqrt(bn.running_var.astype(np.float64) + bn.eps)
    gz, gg, gb = R.batch_norm_backward(g, z, bn.weight.data, bn.running_mean, invstd, training=False)
    gx, gw, gcb = R.conv2d_backward(gz, x, conv.weight.data, 1, 1)
    assert_close(dx, gx, name="grad_input")
    assert_close(conv.weight.grad, gw, name="conv weight grad")
    if conv_bias:
        assert_close(conv.bias.grad, gcb, name="conv bias grad")
    assert_close(bn.weight.grad, gg, name="bn weight grad")
    assert_close(bn.bias.grad, gb, name="bn bias grad")
    # the fold follows later changes of the running statistics and weights
    bn.running_mean = np.zeros(7, np.float32)
    conv.weight.data = conv.weight.data * 2
    z = R.conv2d(x, conv.weight.data, b, 1, 1)
    y_bn, *_ = R.batch_norm(z, bn.running_mean, bn.running_var, bn.weight.data, bn.bias.data, training=False)
    assert_close(seq(x), R.relu(y_bn) if with_relu else y_bn, name="output after changes")
