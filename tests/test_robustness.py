"""Generic robustness checks over the public API: inputs are never modified; empty batches give
empty outputs and gradients (functions, layers, models, forward and backward); NaN and Inf
propagate as IEEE arithmetic says (against the float64 references); impossible allocations raise
MemoryError and sizes past 64 bits raise ValueError, at once and without touching memory."""

import numpy as np
import pytest

import reference as R
from cnncore import _random, models, nn
from cnncore import functional as F
from cnncore.functional._layout import Blocked, to_blocked


def randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def A(*args, **kwargs):
    return args, kwargs


X = randn((2, 3, 7, 6))
W = randn((5, 3, 3, 3), 1)
DY = randn((2, 5, 4, 3), 2)  # conv2d(X, W, stride=2, padding=1) output shape
XB = to_blocked(X)


def _bn():
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    y, sm, si = F.batch_norm(X, rm, rv, randn(3, 3), randn(3, 4), training=True, return_stats=True)
    return y, sm, si


Y_BN, SM, SI = _bn()
Y_MP, IDX = F.max_pool2d(X, 2, return_indices=True)
PC = F.PackedConv(W)
G = F.conv_geometry(X.shape, W.shape, 2, 1)

# Valid calls of every public function. Running statistics in training are the documented
# exception (updated in place): they are given as None here.
VALID = [
    (F.conv2d, lambda: A(X, W, randn(5), stride=2, padding=1)),
    (F.conv2d_relu, lambda: A(X, W, randn(5), stride=2, padding=1)),
    (F.conv2d_backward, lambda: A(DY, X, W, stride=2, padding=1)),
    (F.conv2d_relu_backward, lambda: A(DY, np.abs(DY), X, W, stride=2, padding=1)),
    (F.conv2d_blocked, lambda: A(XB, PC, randn(5), 2, 1)),
    (F.conv2d_backward_blocked, lambda: A(to_blocked(DY), XB, PC, G)),
    (F.relu_mask_blocked, lambda: A(XB, XB)),
    (F.max_pool2d, lambda: A(X, 2, return_indices=True)),
    (F.max_pool2d_backward, lambda: A(randn(Y_MP.shape), IDX, X.shape)),
    (F.max_pool2d_blocked, lambda: A(XB, 3, 2, 1)),
    (F.max_pool2d_backward_blocked, lambda: A(to_blocked(randn(Y_MP.shape)), F.max_pool2d_blocked(XB, 2)[1],
                                              (7, 6))),
    (F.avg_pool2d, lambda: A(X, 3, 2, 1)),
    (F.avg_pool2d_backward, lambda: A(randn((2, 3, 4, 3)), X.shape, 3, 2, 1)),
    (F.avg_pool2d_blocked, lambda: A(XB, 3, 2, 1)),
    (F.avg_pool2d_backward_blocked, lambda: A(to_blocked(randn((2, 3, 4, 3))), (7, 6), 3, 2, 1)),
    (F.adaptive_avg_pool2d, lambda: A(X, (3, 2))),
    (F.adaptive_avg_pool2d_backward, lambda: A(randn((2, 3, 3, 2)), X.shape)),
    (F.adaptive_avg_pool2d_blocked, lambda: A(XB, 3)),
    (F.adaptive_max_pool2d, lambda: A(X, (3, 2), return_indices=True)),
    (F.adaptive_max_pool2d_backward, lambda: A(randn((2, 3, 3, 2)), np.zeros((2, 3, 3, 2), np.int64), X.shape)),
    (F.adaptive_max_pool2d_blocked, lambda: A(XB, 3)),
    (F.adaptive_max_pool2d_backward_blocked, lambda: A(to_blocked(randn((2, 3, 3, 2))),
                                                       np.zeros(to_blocked(randn((2, 3, 3, 2))).data.shape, np.int32),
                                                       (7, 6))),
    (F.adaptive_avg_pool2d_backward_blocked, lambda: A(to_blocked(randn((2, 3, 3, 2))), (7, 6))),
    (F.global_avg_pool2d, lambda: A(X)),
    (F.global_avg_pool2d_backward, lambda: A(randn((2, 3)), X.shape)),
    (F.global_avg_pool2d_blocked, lambda: A(XB)),
    (F.global_avg_pool2d_backward_blocked, lambda: A(randn((2, 3)), X.shape)),
    (F.batch_norm, lambda: A(X, None, None, randn(3), randn(3), training=True)),
    (F.batch_norm, lambda: A(X, np.zeros(3), np.ones(3), randn(3), randn(3), training=False)),
    (F.batch_norm_relu, lambda: A(X, None, None, randn(3), randn(3), training=True)),
    (F.batch_norm_add_relu, lambda: A(X, randn(X.shape), None, None, randn(3), training=True)),
    (F.batch_norm_backward, lambda: A(randn(X.shape), X, randn(3), SM, SI)),
    (F.batch_norm_relu_backward, lambda: A(randn(X.shape), np.abs(X), X, randn(3), SM, SI)),
    (F.batch_norm_add_relu_backward, lambda: A(randn(X.shape), np.abs(X), X, randn(3), SM, SI)),
    (F.batch_norm_blocked, lambda: A(XB, None, None, randn(3), training=True)),
    (F.batch_norm_relu_blocked, lambda: A(XB, None, None, training=True)),
    (F.batch_norm_add_relu_blocked, lambda: A(XB, XB, None, None, training=True)),
    (F.batch_norm_backward_blocked, lambda: A(XB, XB, randn(3), SM, SI)),
    (F.batch_norm_relu_backward_blocked, lambda: A(XB, XB, XB, randn(3), SM, SI)),
    (F.batch_norm_add_relu_backward_blocked, lambda: A(XB, XB, XB, randn(3), SM, SI)),
    (F.relu, lambda: A(X)),
    (F.relu_backward, lambda: A(X, X)),
    (F.relu6, lambda: A(X * 8)),
    (F.relu6_backward, lambda: A(X, X * 8)),
    (F.add, lambda: A(X, X)),
    (F.sigmoid, lambda: A(X)),
    (F.tanh, lambda: A(X)),
    (F.silu, lambda: A(X)),
    (F.hardswish, lambda: A(X * 4)),
    (F.hardsigmoid, lambda: A(X * 4)),
    (F.leaky_relu, lambda: A(X, 0.2)),
    (F.gelu, lambda: A(X)),
    (F.elu, lambda: A(X, 0.5)),
    (F.mish, lambda: A(X)),
    (F.group_norm, lambda: A(X, 3, randn(3, 5), randn(3, 6))),
    (F.layer_norm, lambda: A(X, X.shape[1:], randn(X.shape[1:], 7), randn(X.shape[1:], 8))),
    (F.layer_norm, lambda: A(X, X.shape[-1:])),
    (F.instance_norm, lambda: A(X, None, None, randn(3, 9), randn(3, 10))),
    (F.softmax, lambda: A(X, 1)),
    (F.log_softmax, lambda: A(X, 1)),
    (F.flatten, lambda: A(X, 1)),
    (F.add_backward, lambda: A(X)),
    (F.relu_blocked, lambda: A(XB)),
    (F.relu_backward_blocked, lambda: A(XB, XB)),
    (F.relu6_blocked, lambda: A(XB)),
    (F.relu6_backward_blocked, lambda: A(XB, XB)),
    (F.add_blocked, lambda: A(XB, XB)),
    (F.add_backward_blocked, lambda: A(XB)),
    (F.dropout, lambda: A(X, 0.3, True, 7)),
    (F.dropout_backward, lambda: A(X, 0.3, 7)),
    (F.dropout_blocked, lambda: A(XB, 0.3, True, 7)),
    (F.dropout_backward_blocked, lambda: A(XB, 0.3, 7)),
    (F.linear, lambda: A(randn((4, 6)), randn((3, 6)), randn(3))),
    (F.linear_backward, lambda: A(randn((4, 3)), randn((4, 6)), randn((3, 6)))),
    (F.linear_packed, lambda: A(randn((4, 6)), F.PackedLinear(randn((3, 6))), randn(3))),
    (F.linear_backward_packed, lambda: A(randn((4, 3)), randn((4, 6)), F.PackedLinear(randn((3, 6))))),
    (F.cross_entropy, lambda: A(randn((4, 5)), np.array([0, 4, 2, 1]))),
    (F.cross_entropy_backward, lambda: A(randn((4, 5)), np.array([0, 4, 2, 1]))),
    (F.softmax_cross_entropy, lambda: A(randn((4, 5)), np.array([0, 4, 2, 1]))),
    (F.cross_entropy, lambda: A(randn((2, 5, 3, 2)), np.array([0, 4, 2, 1, 0, -100] * 2).reshape(2, 3, 2),
                                weight=np.abs(randn(5)), label_smoothing=0.1, reduction="none")),
    (F.cross_entropy, lambda: A(randn((4, 5)), np.abs(randn((4, 5), 1)))),
    (F.nll_loss, lambda: A(randn((4, 5)), np.array([0, 4, 2, 1]), weight=np.abs(randn(5)))),
    (F.mse_loss, lambda: A(randn((4, 5)), randn((4, 5), 1))),
    (F.l1_loss, lambda: A(randn((4, 5)), randn((4, 5), 1), reduction="sum")),
    (F.smooth_l1_loss, lambda: A(randn((4, 5)), randn((4, 5), 1), beta=0.5)),
    (F.huber_loss, lambda: A(randn((4, 5)), randn((4, 5), 1), delta=0.5)),
    (F.binary_cross_entropy, lambda: A(np.abs(np.tanh(randn((4, 5)))), np.abs(np.tanh(randn((4, 5), 1))))),
    (F.binary_cross_entropy_with_logits, lambda: A(randn((4, 5)), np.abs(np.tanh(randn((4, 5), 1))),
                                                   pos_weight=np.abs(randn(5)))),
    (F.kl_div, lambda: A(randn((4, 5)), np.abs(randn((4, 5), 1)), reduction="batchmean")),
    (F.to_blocked, lambda: A(X)),
    (F.from_blocked, lambda: A(XB)),
    (F.conv_geometry, lambda: A(X.shape, W.shape, 2, 1)),
    (F.pool_output_size, lambda: A(7, 3, 2, 1)),
    (F.conv_transpose2d, lambda: A(DY, W, randn(3), stride=2, padding=1, output_padding=(0, 1))),
    (F.conv_transpose2d_backward, lambda: A(X, DY, W, stride=2, padding=1, output_padding=(0, 1))),
    (F.interpolate, lambda: A(X, scale_factor=1.5, mode="bilinear")),
    (F.interpolate_backward, lambda: A(randn((2, 3, 10, 9)), X.shape, 1.5, "bilinear")),
    (F.pixel_shuffle, lambda: A(randn((2, 12, 3, 3)), 2)),
    (F.pixel_unshuffle, lambda: A(randn((2, 3, 6, 4)), 2)),
    (F.pad, lambda: A(X, (1, 2, 2, 1), "reflect")),
    (F.pad_backward, lambda: A(randn((2, 3, 10, 9)), X.shape, (1, 2, 2, 1), "replicate")),
]


def _arrays(obj):
    """Every ndarray reachable from an argument (Blocked data, PackedConv and PackedLinear weights
    and packings)."""
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, Blocked):
        return [obj.data]
    if isinstance(obj, F.PackedConv):
        out = [obj.weight]
        for part in obj.forward_packing if isinstance(obj.forward_packing, tuple) else (obj.forward_packing,):
            out += _arrays(part)
        return out
    if isinstance(obj, F.PackedLinear):
        return [obj.weight] + _arrays(obj.forward_packing)
    if isinstance(obj, (tuple, list)):
        return [a for o in obj for a in _arrays(o)]
    return []


def test_valid_table_covers_every_public_function():
    import inspect

    public = {n for n in dir(F) if not n.startswith("_") and callable(getattr(F, n))
              and not inspect.isclass(getattr(F, n))}
    assert public - {fn.__name__ for fn, _ in VALID} == set()


@pytest.mark.parametrize("fn,make", VALID, ids=["%s-%d" % (fn.__name__, i) for i, (fn, _) in enumerate(VALID)])
def test_inputs_never_modified(fn, make):
    args, kwargs = make()
    arrays = _arrays(list(args) + list(kwargs.values()))
    before = [a.copy() for a in arrays]
    flags = [a.flags.writeable for a in arrays]
    fn(*args, **kwargs)
    for a, b, w in zip(arrays, before, flags):
        assert a.tobytes() == b.tobytes(), "%s modified an input" % fn.__name__
        assert a.flags.writeable == w


def _layers():
    return [
        ("Conv2d", lambda: nn.Conv2d(3, 5, 3, stride=2, padding=1), (2, 3, 8, 8)),
        ("Conv2d-dw", lambda: nn.Conv2d(3, 3, 3, padding=1, groups=3), (2, 3, 8, 8)),
        ("BatchNorm2d", lambda: nn.BatchNorm2d(3), (2, 3, 8, 8)),
        ("MaxPool2d", lambda: nn.MaxPool2d(2), (2, 3, 8, 8)),
        ("AvgPool2d", lambda: nn.AvgPool2d(3, 2, 1), (2, 3, 8, 8)),
        ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d(3), (2, 3, 8, 8)),
        ("AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d((3, 5)), (2, 3, 8, 8)),
        ("ReLU", lambda: nn.ReLU(), (2, 3, 8, 8)),
        ("ReLU6", lambda: nn.ReLU6(), (2, 3, 8, 8)),
        ("GELU", lambda: nn.GELU(), (2, 3, 8, 8)),
        ("LeakyReLU", lambda: nn.LeakyReLU(0.1), (2, 3, 8, 8)),
        ("ELU", lambda: nn.ELU(), (2, 3, 8, 8)),
        ("Mish", lambda: nn.Mish(), (2, 3, 8, 8)),
        ("Softmax", lambda: nn.Softmax(1), (2, 3, 8, 8)),
        ("LogSoftmax", lambda: nn.LogSoftmax(1), (2, 6)),
        ("GroupNorm", lambda: nn.GroupNorm(3, 3), (2, 3, 8, 8)),
        ("LayerNorm", lambda: nn.LayerNorm((3, 8, 8)), (2, 3, 8, 8)),
        ("LayerNorm-last", lambda: nn.LayerNorm(6), (2, 6)),
        ("InstanceNorm2d", lambda: nn.InstanceNorm2d(3, affine=True), (2, 3, 8, 8)),
        ("BatchNorm1d", lambda: nn.BatchNorm1d(6), (2, 6)),
        ("Dropout", lambda: nn.Dropout(0.3), (2, 3, 8, 8)),
        ("Dropout2d", lambda: nn.Dropout2d(0.3), (2, 3, 8, 8)),
        ("ConvTranspose2d", lambda: nn.ConvTranspose2d(3, 5, 3, stride=2, padding=1, output_padding=1), (2, 3, 8, 8)),
        ("Conv2d-reflect", lambda: nn.Conv2d(3, 5, 3, padding=1, padding_mode="reflect"), (2, 3, 8, 8)),
        ("Upsample", lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (2, 3, 8, 8)),
        ("PixelShuffle", lambda: nn.PixelShuffle(2), (2, 8, 4, 4)),
        ("ReplicationPad2d", lambda: nn.ReplicationPad2d((1, 0, 2, 1)), (2, 3, 8, 8)),
        ("Flatten", lambda: nn.Flatten(), (2, 3, 8, 8)),
        ("Identity", lambda: nn.Identity(), (2, 3, 8, 8)),
        ("Linear", lambda: nn.Linear(6, 4), (2, 6)),
        ("BasicBlock", lambda: nn.BasicBlock(3, 4, stride=2), (2, 3, 8, 8)),
        ("Bottleneck", lambda: nn.Bottleneck(3, 2), (2, 3, 8, 8)),
        ("InvertedResidual", lambda: nn.InvertedResidual(4, 4, 1, 2), (2, 4, 8, 8)),
        ("Sequential", lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2)),
         (2, 3, 8, 8)),
        ("StochasticDepth", lambda: nn.StochasticDepth(0.5, "row"), (2, 3, 8, 8)),
        ("StochasticDepth-batch", lambda: nn.StochasticDepth(0.5, "batch"), (2, 3, 8, 8)),
        ("seed_cnn", lambda: models.seed_cnn(), (2, 3, 8, 8)),
        ("googlenet", lambda: models.googlenet(num_classes=10, aux_logits=False), (2, 3, 32, 32)),
        ("efficientnet_b0", lambda: models.efficientnet_b0(num_classes=10), (2, 3, 32, 32)),
        ("lenet5", lambda: models.lenet5(), (2, 1, 28, 28)),
        ("resnet20", lambda: models.resnet20(), (2, 3, 8, 8)),
        ("mobilenet_v2", lambda: models.mobilenet_v2(num_classes=10, width_mult=0.25, small_input=True),
         (2, 3, 8, 8)),
    ]


LAYERS = _layers()


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_layers_never_modify_inputs_or_gradients(name, make, shape):
    _random.manual_seed(0)
    m = make()
    x = randn(shape, 5)
    x0 = x.copy()
    y = m(x)
    dy = randn(y.shape, 6)
    dy0 = dy.copy()
    m.backward(dy)
    assert x.tobytes() == x0.tobytes() and dy.tobytes() == dy0.tobytes()


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_layers_and_models_empty_batch(name, make, shape, train):
    _random.manual_seed(0)
    m = make().train(train)
    ref = m(randn((2,) + shape[1:]))  # the output shape at a non-empty batch
    m.backward(np.zeros(ref.shape, np.float32))
    before = [p.grad.copy() for p in m.parameters()]
    x = np.zeros((0,) + shape[1:], np.float32)
    y = m(x)
    assert y.shape == (0,) + ref.shape[1:] and y.dtype == np.float32
    dx = m.backward(np.zeros(y.shape, np.float32))
    assert dx.shape == x.shape
    for p, b in zip(m.parameters(), before):  # an empty batch adds zero gradient
        np.testing.assert_array_equal(p.grad, b)
        assert np.isfinite(p.data).all()
    for buf in m.buffers():
        assert np.isfinite(buf).all()


EMPTY = [
    (F.conv2d, lambda e: A(e((0, 3, 5, 5)), W, padding=1), (0, 5, 5, 5)),
    (F.conv2d_backward, lambda e: A(e((0, 5, 5, 5)), e((0, 3, 5, 5)), W, padding=1), (0, 3, 5, 5)),
    (F.max_pool2d, lambda e: A(e((0, 3, 5, 5)), 2), (0, 3, 2, 2)),
    (F.max_pool2d_backward, lambda e: A(e((0, 3, 2, 2)), np.zeros((0, 3, 2, 2), int), (0, 3, 5, 5)), (0, 3, 5, 5)),
    (F.avg_pool2d, lambda e: A(e((0, 3, 5, 5)), 2), (0, 3, 2, 2)),
    (F.avg_pool2d_backward, lambda e: A(e((0, 3, 2, 2)), (0, 3, 5, 5), 2), (0, 3, 5, 5)),
    (F.adaptive_avg_pool2d, lambda e: A(e((0, 3, 5, 5)), 2), (0, 3, 2, 2)),
    (F.adaptive_max_pool2d, lambda e: A(e((0, 3, 5, 5)), 2), (0, 3, 2, 2)),
    (F.adaptive_avg_pool2d_backward, lambda e: A(e((0, 3, 2, 2)), (0, 3, 5, 5)), (0, 3, 5, 5)),
    (F.global_avg_pool2d, lambda e: A(e((0, 3, 5, 5))), (0, 3)),
    (F.global_avg_pool2d_backward, lambda e: A(e((0, 3)), (0, 3, 5, 5)), (0, 3, 5, 5)),
    (F.batch_norm, lambda e: A(e((0, 3, 5, 5)), None, None, training=True), (0, 3, 5, 5)),
    (F.batch_norm_relu, lambda e: A(e((0, 3, 5, 5)), np.zeros(3), np.ones(3)), (0, 3, 5, 5)),
    (F.batch_norm_add_relu, lambda e: A(e((0, 3, 5, 5)), e((0, 3, 5, 5)), None, None, training=True), (0, 3, 5, 5)),
    (F.batch_norm_backward, lambda e: A(e((0, 3, 5, 5)), e((0, 3, 5, 5)), None, SM, SI), (0, 3, 5, 5)),
    (F.relu, lambda e: A(e((0, 3))), (0, 3)),
    (F.relu6_backward, lambda e: A(e((0, 3)), e((0, 3))), (0, 3)),
    (F.add, lambda e: A(e((0, 3)), e((0, 3))), (0, 3)),
    (F.dropout, lambda e: A(e((0, 3)), 0.5), (0, 3)),
    (F.linear, lambda e: A(e((0, 6)), randn((3, 6))), (0, 3)),
    (F.linear_backward, lambda e: A(e((0, 3)), e((0, 6)), randn((3, 6))), (0, 6)),
    (F.cross_entropy_backward, lambda e: A(e((0, 5)), np.zeros(0, int)), (0, 5)),
    (F.cross_entropy, lambda e: A(e((0, 5, 2, 2)), np.zeros((0, 2, 2), int), reduction="none"), (0, 2, 2)),
    (F.mse_loss, lambda e: A(e((0, 3)), e((0, 3)), reduction="none"), (0, 3)),
    (F.binary_cross_entropy_with_logits, lambda e: A(e((0, 3)), e((0, 3)), reduction="none"), (0, 3)),
]


@pytest.mark.parametrize("fn,make,shape", EMPTY, ids=["%s-%d" % (e[0].__name__, i) for i, e in enumerate(EMPTY)])
def test_functional_empty_batch(fn, make, shape):
    args, kwargs = make(lambda s: np.zeros(s, np.float32))
    out = fn(*args, **kwargs)
    first = out[0] if isinstance(out, tuple) else out
    assert first.shape == shape
    if isinstance(out, tuple):  # parameter gradients of an empty batch are zero
        for g in out[1:]:
            assert np.all(np.asarray(g) == 0)


# ------------------------------------------------------------------------------ NaN and Inf

def _special(shape, seed):
    """Random values with a few NaN, +Inf and -Inf sprinkled in."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    flat = a.reshape(-1)
    k = max(1, flat.size // 40)
    idx = rng.choice(flat.size, size=3 * k, replace=False)
    flat[idx[:k]] = np.nan
    flat[idx[k:2 * k]] = np.inf
    flat[idx[2 * k:]] = -np.inf
    return a.astype(np.float32)


def _same_ieee(actual, expected, name):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=name + ": NaN positions")
    np.testing.assert_array_equal(np.isposinf(actual), np.isposinf(expected), err_msg=name + ": +Inf positions")
    np.testing.assert_array_equal(np.isneginf(actual), np.isneginf(expected), err_msg=name + ": -Inf positions")
    fin = np.isfinite(expected)
    np.testing.assert_allclose(actual[fin], expected[fin], rtol=1e-4, atol=1e-4, err_msg=name)


def _adaptive_direct(x, oh, ow):
    """Bin means summed element by element (reference.py's einsum with a 0/1 bin matrix
    multiplies NaN and Inf by 0 and spreads NaN to every bin)."""
    n, c, h, w = x.shape
    out = np.empty((n, c, oh, ow))
    for i in range(oh):
        h0, h1 = i * h // oh, -(-(i + 1) * h // oh)
        for j in range(ow):
            w0, w1 = j * w // ow, -(-(j + 1) * w // ow)
            out[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the float64 references
def test_nan_inf_elementwise_and_pooling(isa):
    x = _special((2, 19, 6, 5), 1)
    x64 = x.astype(np.float64)
    _same_ieee(F.relu(x), R.relu(x64), "relu")
    _same_ieee(F.relu6(x), np.minimum(np.maximum(x64, 0), 6), "relu6")
    _same_ieee(F.add(x, x[::-1].copy()), x64 + x64[::-1], "add")
    _same_ieee(F.max_pool2d(x, 3, 2, 1), R.max_pool2d(x64, 3, 2, 1)[0], "max_pool2d")
    _same_ieee(F.avg_pool2d(x, 3, 2, 1), R.avg_pool2d(x64, 3, 2, 1), "avg_pool2d")
    _same_ieee(F.adaptive_avg_pool2d(x, (4, 3)), _adaptive_direct(x64, 4, 3), "adaptive_avg_pool2d")
    _same_ieee(F.global_avg_pool2d(x), R.global_avg_pool2d(x64), "global_avg_pool2d")
    # a dropped element is 0 whatever it held (torch multiplies by the 0/1 mask: NaN * 0 = NaN;
    # cnncore selects, so a dropped NaN is 0); a kept one is scaled, NaN and Inf included
    y = F.dropout(x, 0.5, True, 3)
    kept = F.dropout(np.ones_like(x), 0.5, True, 3) != 0
    _same_ieee(y[kept], x64[kept] * 2, "dropout kept")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the float64 references
def test_nan_inf_conv_linear_bn_loss(isa):
    x = _special((2, 5, 7, 6), 2)
    w = randn((4, 5, 3, 3), 3)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    _same_ieee(F.conv2d(x, w, padding=1), R.conv2d(x64, w64, padding=1), "conv2d input")
    ws = _special((4, 5, 3, 3), 4)
    xf = randn((2, 5, 7, 6), 5)
    _same_ieee(F.conv2d(xf, ws, padding=1), R.conv2d(xf.astype(np.float64), ws.astype(np.float64), padding=1),
               "conv2d weight")
    a = _special((6, 20), 6)
    lw = randn((3, 20), 7)
    _same_ieee(F.linear(a, lw), R.linear(a.astype(np.float64), lw.astype(np.float64)), "linear")
    # batch norm: a non-finite value poisons its channel's statistics, so the whole channel
    xb = randn((2, 3, 4, 4), 8)
    xb[0, 1, 2, 2] = np.inf
    xb[1, 2, 0, 0] = np.nan
    y = F.batch_norm(xb, None, None, training=True)
    assert np.isfinite(y[:, 0]).all() and np.isnan(y[:, 1]).all() and np.isnan(y[:, 2]).all()
    # cross-entropy: NaN logits give NaN, +Inf at the target gives NaN (inf - inf), as torch
    logits = randn((3, 4), 9)
    logits[1, 2] = np.nan
    assert np.isnan(F.cross_entropy(logits, [0, 1, 2]))
    g = F.cross_entropy_backward(logits, [0, 1, 2])
    assert np.isnan(g[1]).all() and np.isfinite(g[[0, 2]]).all()
    big = randn((2, 3), 10)
    big[0, 0] = -np.inf  # a -Inf logit has probability 0: finite loss
    assert np.isfinite(F.cross_entropy(big, [1, 2]))


# ------------------------------------------------------------------ allocation and overflow

def test_impossible_allocation_raises_memory_error_at_once():
    x = np.zeros((1, 1, 1, 1), np.float32)
    w = np.zeros((16, 1, 1, 1), np.float32)
    # an output of 10**13 bytes: MemoryError before anything is allocated (not an OOM kill, not
    # hours of swapping, not a crash in C)
    with pytest.raises(MemoryError, match="bytes"):
        F.conv2d(x, w, padding=200000)
    with pytest.raises(MemoryError):
        nn.Conv2d(1, 16, 1, padding=200000)(x)
    with pytest.raises(MemoryError):
        F.adaptive_avg_pool2d(x, 10 ** 7)
    with pytest.raises(MemoryError):
        F.global_avg_pool2d_backward(np.zeros((1, 1), np.float32), (1, 1, 10 ** 5, 10 ** 4))
    with pytest.raises(MemoryError):
        F.max_pool2d_backward(np.zeros((1, 1, 1, 1), np.float32), np.zeros((1, 1, 1, 1), int), (10 ** 6, 1, 10, 10 ** 4))
    # C temporaries: the padded copy of a large input (output small thanks to the stride)
    with pytest.raises(MemoryError, match="padded input"):
        F.conv2d_blocked(Blocked(np.zeros((1, 1, 1, 1, 16), np.float32), 1), F.PackedConv(w[:1]),
                         stride=10 ** 6, padding=10 ** 6)


@pytest.mark.parametrize("call", [
    lambda x, w: F.conv2d(x, w, padding=2 ** 62),
    lambda x, w: F.conv2d(x, w, padding=2 ** 40),
    lambda x, w: F.conv2d(x, w, dilation=2 ** 62, padding=2 ** 61),
    lambda x, w: F.conv2d(x, w, stride=2 ** 70),
    lambda x, w: F.adaptive_avg_pool2d(x, 2 ** 62),
    lambda x, w: F.max_pool2d(x, 2 ** 40, padding=2 ** 39),
    lambda x, w: F.avg_pool2d_backward(np.zeros((1, 1, 1, 1)), (2 ** 60, 16, 3, 3), 3),
    lambda x, w: F.max_pool2d_backward(np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 1, 1), int), (1, 1, 2 ** 31, 2 ** 31)),
    lambda x, w: F.global_avg_pool2d_backward(np.zeros((1, 1)), (1, 2 ** 62, 4, 4)),
], ids=["pad62", "pad40", "dilation", "stride70", "adaptive", "maxpool-kernel", "avg-shape", "max-shape", "gap-shape"])
def test_sizes_past_64_bits_raise_cleanly(call):
    x = np.zeros((1, 1, 1, 1), np.float32)
    w = np.zeros((16, 1, 1, 1), np.float32)
    with pytest.raises((ValueError, MemoryError)):
        call(x, w)
