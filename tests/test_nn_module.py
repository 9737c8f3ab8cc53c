"""Module mechanics: registration, traversal, train/eval, zero_grad, state_dict keys (PyTorch's),
load_state_dict (strict and not, atomic on error), a file round trip, and the errors of backward
called out of order or with a wrong-shaped gradient."""
from collections import OrderedDict

import numpy as np
import pytest

import cnncore
from cnncore import functional as F
from cnncore import _random, nn
from cnncore.functional._layout import Blocked, to_blocked


@pytest.fixture(autouse=True)
def seeded():
    _random.manual_seed(0)


def rng(seed=0):
    return np.random.default_rng(seed)


def randn(shape, seed=0):
    return rng(seed).standard_normal(shape).astype(np.float32)


class Mixed(nn.Module):
    """Parameters, buffers and children assigned in an interleaved order."""

    def __init__(self):
        super().__init__()
        self.b = nn.Parameter(np.zeros(2))
        self.child2 = nn.Linear(3, 2)
        self.register_buffer("buf_z", np.zeros(4))
        self.a = nn.Parameter(np.ones(3))
        self.child1 = nn.Conv2d(2, 2, 1)
        self.register_buffer("buf_a", np.ones(1))
        self.plain = 5


# ------------------------------------------------------------------ registration, traversal

def test_registration_order_follows_assignment():
    m = Mixed()
    assert list(m._parameters) == ["b", "a"]
    assert list(m._buffers) == ["buf_z", "buf_a"]
    assert [n for n, _ in m.named_children()] == ["child2", "child1"]
    assert m.plain == 5 and "plain" not in m._parameters
    # own entries first, then each child's, as torch
    assert [n for n, _ in m.named_parameters()] == [
        "b", "a", "child2.weight", "child2.bias", "child1.weight", "child1.bias"]
    assert [n for n, _ in m.named_buffers()] == ["buf_z", "buf_a"]
    assert list(m.state_dict()) == ["b", "a", "buf_z", "buf_a", "child2.weight", "child2.bias",
                                    "child1.weight", "child1.bias"]
    assert [n for n, _ in m.named_parameters(recurse=False)] == ["b", "a"]


def test_attribute_access_and_reassignment():
    m = Mixed()
    assert m.child1 is m._modules["child1"]
    assert m.a is m._parameters["a"]
    new = nn.Parameter(np.zeros(3))
    m.a = new
    assert m.a is new and list(m._parameters) == ["b", "a"]
    m.buf_z = np.full(4, 2.0)
    assert "buf_z" in m._buffers and np.all(m.buf_z == 2)
    del m.child2
    assert [n for n, _ in m.named_children()] == ["child1"]
    with pytest.raises(AttributeError):
        m.child2


def test_assigning_a_non_parameter_to_a_parameter_name_raises():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(TypeError, match="weight"):
        conv.weight = np.zeros((4, 3, 3, 3), np.float32)
    assert isinstance(conv.weight, nn.Parameter)
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]
    conv.bias = None  # None is allowed and keeps the slot, as in torch
    assert conv.bias is None and "bias" in conv._parameters
    assert list(conv.state_dict()) == ["weight"]
    seq = nn.Sequential(nn.ReLU())
    with pytest.raises(TypeError, match="0"):
        setattr(seq, "0", 3)
    assert isinstance(seq[0], nn.ReLU)


def test_setattr_before_init_raises():
    class Bad(nn.Module):
        def __init__(self):
            self.x = nn.Parameter(np.zeros(1))

    with pytest.raises(AttributeError, match="__init__"):
        Bad()


def test_register_parameter_and_add_module_type_checks():
    m = nn.Module()
    with pytest.raises(TypeError):
        m.register_parameter("w", np.zeros(2))
    with pytest.raises(TypeError):
        m.add_module("c", 3)


def test_named_parameters_dotted_names_nested():
    net = nn.Sequential(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)), nn.Linear(2, 3))
    assert [n for n, _ in net.named_parameters()] == [
        "0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias", "1.weight", "1.bias"]
    assert [n for n, _ in net.named_buffers()] == [
        "0.1.running_mean", "0.1.running_var", "0.1.num_batches_tracked"]
    assert [n for n, _ in net.named_parameters(prefix="model")][0] == "model.0.0.weight"


def test_parameters_deduplicates_shared_parameters_and_modules():
    shared = nn.Linear(4, 4)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(net.parameters())) == 2
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.weight = a.weight
    pair = nn.Sequential(a, b)
    assert [n for n, _ in pair.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    # modules / children: each module once (torch's remove_duplicate), self first
    assert [n for n, _ in net.named_modules()] == ["", "0", "1"]
    assert list(net.modules())[0] is net
    assert [type(c).__name__ for c in net.children()] == ["Linear", "ReLU"]
    # state_dict keeps every path, as torch's does
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_children_and_modules():
    block = nn.BasicBlock(4, 8, stride=2)
    assert [n for n, _ in block.named_children()] == ["conv1", "bn1", "relu", "conv2", "bn2", "downsample"]
    names = [n for n, _ in block.named_modules()]
    assert names == ["", "conv1", "bn1", "relu", "conv2", "bn2", "downsample", "downsample.0",
                     "downsample.1"]
    assert len(list(block.modules())) == len(names)


def test_train_eval_recurse_and_return_self():
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.Sequential(nn.BatchNorm2d(2), nn.Dropout()))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net
    assert all(m.training for m in net.modules())
    assert net.train(False) is net and not net[1][1].training
    net[1].train()
    assert net[1][0].training and not net.training


def test_zero_grad():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    x = randn((4, 3))
    y = net(x)
    net.backward(np.ones(y.shape, np.float32))
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    for p in net.parameters():
        assert p.grad.shape == p.shape and not p.grad.any()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_grad_accumulates_across_backwards():
    lin = nn.Linear(3, 2)
    x = randn((4, 3))
    dy = randn((4, 2), 1)
    lin(x)
    lin.backward(dy)
    g1 = lin.weight.grad.copy()
    lin(x)
    lin.backward(dy)
    np.testing.assert_allclose(lin.weight.grad, 2 * g1, rtol=1e-6)
    lin.weight.requires_grad = False
    lin.zero_grad()
    lin(x)
    lin.backward(dy)
    assert lin.weight.grad is None and lin.bias.grad is not None


# ------------------------------------------------------------------ state_dict keys and shapes

def shapes(module):
    return [(k, v.shape) for k, v in module.state_dict().items()]


def test_state_dict_conv2d():
    assert shapes(nn.Conv2d(3, 8, 3)) == [("weight", (8, 3, 3, 3)), ("bias", (8,))]
    assert shapes(nn.Conv2d(4, 8, (3, 1), groups=2, bias=False)) == [("weight", (8, 2, 3, 1))]


def test_state_dict_batchnorm2d():
    sd = nn.BatchNorm2d(5).state_dict()
    assert [(k, v.shape, v.dtype) for k, v in sd.items()] == [
        ("weight", (5,), np.float32), ("bias", (5,), np.float32),
        ("running_mean", (5,), np.float32), ("running_var", (5,), np.float32),
        ("num_batches_tracked", (), np.int64)]
    np.testing.assert_array_equal(sd["weight"], 1)
    np.testing.assert_array_equal(sd["bias"], 0)
    np.testing.assert_array_equal(sd["running_mean"], 0)
    np.testing.assert_array_equal(sd["running_var"], 1)
    assert int(sd["num_batches_tracked"]) == 0
    assert list(nn.BatchNorm2d(5, affine=False).state_dict()) == [
        "running_mean", "running_var", "num_batches_tracked"]
    assert list(nn.BatchNorm2d(5, track_running_stats=False).state_dict()) == ["weight", "bias"]


def test_state_dict_linear_and_parameterless():
    assert shapes(nn.Linear(6, 4)) == [("weight", (4, 6)), ("bias", (4,))]
    assert shapes(nn.Linear(6, 4, bias=False)) == [("weight", (4, 6))]
    for m in (nn.ReLU(), nn.ReLU6(), nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1),
              nn.Flatten(), nn.Dropout(), nn.Identity(), nn.CrossEntropyLoss()):
        assert m.state_dict() == OrderedDict()


def test_state_dict_sequential_nesting():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Sequential(nn.BatchNorm2d(2)),
                        nn.Flatten(), nn.Linear(8, 3))
    assert list(net.state_dict()) == [
        "0.weight", "0.bias", "2.0.weight", "2.0.bias", "2.0.running_mean", "2.0.running_var",
        "2.0.num_batches_tracked", "4.weight", "4.bias"]
    named = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 1)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["conv.weight", "conv.bias"]


BN_KEYS = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def bn(prefix):
    return [prefix + "." + k for k in BN_KEYS]


def test_state_dict_basic_block():
    plain = nn.BasicBlock(8, 8)
    assert list(plain.state_dict()) == ["conv1.weight"] + bn("bn1") + ["conv2.weight"] + bn("bn2")
    down = nn.BasicBlock(8, 16, stride=2)
    sd = down.state_dict()
    assert list(sd) == (["conv1.weight"] + bn("bn1") + ["conv2.weight"] + bn("bn2")
                        + ["downsample.0.weight"] + bn("downsample.1"))
    assert sd["conv1.weight"].shape == (16, 8, 3, 3)
    assert sd["conv2.weight"].shape == (16, 16, 3, 3)
    assert sd["downsample.0.weight"].shape == (16, 8, 1, 1)


def test_state_dict_bottleneck():
    b = nn.Bottleneck(16, 4, stride=2)
    sd = b.state_dict()
    assert list(sd) == (["conv1.weight"] + bn("bn1") + ["conv2.weight"] + bn("bn2")
                        + ["conv3.weight"] + bn("bn3") + ["downsample.0.weight"] + bn("downsample.1"))
    assert sd["conv1.weight"].shape == (4, 16, 1, 1)
    assert sd["conv2.weight"].shape == (4, 4, 3, 3)
    assert sd["conv3.weight"].shape == (16, 4, 1, 1)
    assert sd["downsample.0.weight"].shape == (16, 16, 1, 1)
    assert "downsample.0.weight" not in nn.Bottleneck(16, 4).state_dict()


def test_state_dict_inverted_residual():
    assert list(nn.InvertedResidual(8, 8, 1, 6).state_dict()) == (
        ["conv.0.0.weight"] + bn("conv.0.1") + ["conv.1.0.weight"] + bn("conv.1.1")
        + ["conv.2.weight"] + bn("conv.3"))
    sd = nn.InvertedResidual(8, 16, 2, 1).state_dict()
    assert list(sd) == ["conv.0.0.weight"] + bn("conv.0.1") + ["conv.1.weight"] + bn("conv.2")
    assert sd["conv.0.0.weight"].shape == (8, 1, 3, 3)


# ------------------------------------------------------------------ state_dict values

def test_state_dict_returns_copies():
    bnm = nn.BatchNorm2d(3)
    sd = bnm.state_dict()
    sd["weight"][:] = 7
    sd["running_mean"][:] = 7
    sd["num_batches_tracked"][...] = 7
    assert np.all(bnm.weight.data == 1) and np.all(bnm.running_mean == 0)
    assert int(bnm.num_batches_tracked) == 0
    sd2 = bnm.state_dict()
    bnm.weight.data = np.full(3, 2.0)  # a later change of the module does not reach sd2
    assert np.all(sd2["weight"] == 1)


def test_parameter_data_is_read_only_and_versioned():
    p = nn.Parameter(np.zeros(3))
    v = p.version
    with pytest.raises(ValueError, match="read-only"):
        p.data[0] = 1
    p.data = np.ones(3)
    assert p.version != v and np.all(p.data == 1)
    v = p.version
    p._mutable_flat()[:] = 5  # what optimizers do
    assert p.version != v and np.all(p.data == 5)


def small_net():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))


def test_load_state_dict_copies_values_in():
    src, dst = small_net(), small_net()
    src(randn((2, 3, 5, 5)))  # training forward: running stats and count change
    sd = src.state_dict()
    result = dst.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for k, v in dst.state_dict().items():
        np.testing.assert_array_equal(v, sd[k])
        assert v.dtype == sd[k].dtype
    sd["0.weight"][:] = 0
    sd["1.running_mean"][:] = 0
    assert dst[0].weight.data.any() and dst[1].running_mean.any()


def test_load_state_dict_converts_dtypes_and_repacks():
    conv = nn.Conv2d(2, 3, 3)
    x = randn((1, 2, 4, 4))
    conv(x)  # packs the initial weights
    w = rng(1).standard_normal((3, 2, 3, 3))  # float64
    conv.load_state_dict({"weight": w, "bias": np.zeros(3, np.int32)})
    assert conv.weight.data.dtype == np.float32 and conv.bias.data.dtype == np.float32
    import reference as R
    np.testing.assert_allclose(conv(x), R.conv2d(x, w), atol=1e-4, rtol=1e-4)


def test_load_state_dict_strict_names_every_problem_and_changes_nothing():
    net = small_net()
    net(randn((2, 3, 5, 5)))
    before = net.state_dict()
    bad = OrderedDict(before)
    bad["0.weight"] = np.zeros((4, 3, 3, 3), np.float32)  # well-formed: would load
    del bad["1.running_var"]
    bad["5.weight"] = np.zeros((2, 5), np.float32)  # mis-shaped
    bad["7.extra"] = np.zeros(1)
    with pytest.raises(nn.StateDictError) as info:
        net.load_state_dict(bad)
    err = info.value
    assert isinstance(err, ValueError)
    msg = str(err)
    for name in ("1.running_var", "7.extra", "5.weight"):
        assert name in msg
    assert "(2, 4)" in msg and "(2, 5)" in msg
    assert err.missing_keys == ["1.running_var"] and err.unexpected_keys == ["7.extra"]
    assert [m[0] for m in err.mismatched] == ["5.weight"]
    after = net.state_dict()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])


def test_load_state_dict_strict_only_missing_or_only_unexpected():
    net = small_net()
    sd = net.state_dict()
    del sd["5.bias"]
    with pytest.raises(nn.StateDictError, match="missing keys: '5.bias'"):
        net.load_state_dict(sd)
    sd = net.state_dict()
    sd["running_mean"] = np.zeros(4)
    with pytest.raises(ValueError, match="unexpected keys: 'running_mean'"):
        net.load_state_dict(sd)


def test_load_state_dict_non_strict():
    net = small_net()
    sd = OrderedDict((k, np.full_like(v, 3)) for k, v in net.state_dict().items())
    del sd["0.bias"]
    sd["zzz"] = np.zeros(2)
    before_bias = net[0].bias.data.copy()
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["0.bias"] and unexpected == ["zzz"]
    np.testing.assert_array_equal(net[0].bias.data, before_bias)
    assert np.all(net[0].weight.data == 3) and np.all(net[5].weight.data == 3)
    assert int(net[1].num_batches_tracked) == 3
    # a mis-shaped entry raises in non-strict mode too, and loads nothing
    sd2 = OrderedDict((k, np.zeros_like(v)) for k, v in net.state_dict().items())
    sd2["5.bias"] = np.zeros(3)
    with pytest.raises(nn.StateDictError, match="5.bias"):
        net.load_state_dict(sd2, strict=False)
    assert np.all(net[0].weight.data == 3)


def test_load_state_dict_bad_arguments():
    net = small_net()
    with pytest.raises(TypeError):
        net.load_state_dict([1, 2])
    sd = net.state_dict()
    sd["0.weight"] = np.full(sd["0.weight"].shape, "x")
    with pytest.raises(TypeError, match="0.weight"):
        net.load_state_dict(sd)


def test_state_dict_round_trip_through_npz(tmp_path):
    _random.manual_seed(1)
    src = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.BasicBlock(8, 16, stride=2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(16, 5))
    x = randn((2, 3, 8, 8))
    for _ in range(2):
        src(x)
    path = tmp_path / "model.npz"
    np.savez(path, **src.state_dict())
    _random.manual_seed(2)
    dst = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.BasicBlock(8, 16, stride=2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(16, 5))
    with np.load(path) as f:
        dst.load_state_dict(dict(f))
    assert int(dst[4].bn1.num_batches_tracked) == 2
    src.eval()
    dst.eval()
    np.testing.assert_array_equal(dst(x), src(x))
    for (k, a), (k2, b) in zip(src.state_dict().items(), dst.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ backward misuse

def layer_cases():
    """(name, module, input, expected output shape)."""
    x4 = randn((2, 3, 6, 6))
    return [
        ("conv", nn.Conv2d(3, 4, 3), x4),
        ("bn", nn.BatchNorm2d(3), x4),
        ("relu", nn.ReLU(), x4),
        ("relu6", nn.ReLU6(), x4),
        ("maxpool", nn.MaxPool2d(2), x4),
        ("avgpool", nn.AvgPool2d(2), x4),
        ("adaptive", nn.AdaptiveAvgPool2d(2), x4),
        ("flatten", nn.Flatten(), x4),
        ("linear", nn.Linear(3, 2), randn((4, 3))),
        ("dropout", nn.Dropout(0.5), x4),
        ("identity", nn.Identity(), x4),
        ("sequential", nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), x4),
        ("basic", nn.BasicBlock(3, 4), x4),
        ("bottleneck", nn.Bottleneck(3, 2), x4),
        ("inverted", nn.InvertedResidual(3, 3, 1, 2), x4),
    ]


@pytest.mark.parametrize("case", range(len(layer_cases())), ids=[c[0] for c in layer_cases()])
def test_backward_before_forward_raises(case):
    name, m, x = layer_cases()[case]
    with pytest.raises(RuntimeError, match="before forward"):
        m.backward(np.zeros((2, 4, 4, 4), np.float32))


@pytest.mark.parametrize("case", range(len(layer_cases())), ids=[c[0] for c in layer_cases()])
def test_backward_twice_raises(case):
    name, m, x = layer_cases()[case]
    y = m(x)
    m.backward(np.ones(y.shape, np.float32))
    with pytest.raises(RuntimeError, match="before forward"):
        m.backward(np.ones(y.shape, np.float32))


@pytest.mark.parametrize("case", range(len(layer_cases())), ids=[c[0] for c in layer_cases()])
def test_backward_wrong_gradient_shape_raises(case):
    name, m, x = layer_cases()[case]
    y = m(x)
    wrong = np.ones(y.shape[::-1], np.float32)  # same size, transposed shape
    if wrong.shape == y.shape:
        wrong = np.ones(y.shape[:-1] + (y.shape[-1] + 1,), np.float32)
    with pytest.raises(ValueError, match="shape"):
        m.backward(wrong)


def test_wrong_gradient_shape_inside_sequential_names_the_layer():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    y = net(randn((2, 3, 6, 6)))
    with pytest.raises(ValueError, match=r"expected shape \(2, 4, 4, 4\)"):
        net.backward(np.ones((2, 4, 4, 5), np.float32))
    conv = nn.Conv2d(3, 4, 3)
    yb = conv(to_blocked(randn((2, 3, 6, 6))))
    assert isinstance(yb, cnncore.Tensor) and isinstance(yb.value, Blocked)
    with pytest.raises(ValueError, match="Conv2d.backward"):
        conv.backward(to_blocked(np.ones((2, 4, 4, 3), np.float32)))


def test_cross_entropy_backward_before_forward_raises():
    with pytest.raises(RuntimeError, match="before"):
        nn.CrossEntropyLoss().backward()


def test_forward_input_errors():
    with pytest.raises(ValueError, match="3 channels"):
        nn.Conv2d(3, 4, 3)(randn((1, 2, 5, 5)))
    with pytest.raises(ValueError, match="4-d"):
        nn.Conv2d(3, 4, 3)(randn((3, 5, 5)))
    with pytest.raises(ValueError, match="channels"):
        nn.BatchNorm2d(4)(randn((2, 3, 5, 5)))
    with pytest.raises(ValueError, match="features"):
        nn.Linear(4, 2)(randn((2, 3)))


def test_user_module_with_forward_only_inside_sequential():
    class Scale(nn.Module):
        def forward(self, x):
            assert isinstance(x, cnncore.Tensor)  # never the internal Blocked
            return x * 2

    net = nn.Sequential(nn.Conv2d(2, 3, 1), Scale(), nn.ReLU())
    x = randn((1, 2, 3, 3))
    y = net(x)
    dx = net.backward(np.ones(y.shape, np.float32))
    assert dx.shape == x.shape
    net2 = nn.Sequential(Scale(), nn.Conv2d(2, 3, 1))
    net2(x)
    assert net2.backward(np.ones((1, 3, 3, 3), np.float32)).shape == x.shape


def test_repr_mentions_children():
    r = repr(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.ReLU()))
    assert "Sequential" in r and "(0): Conv2d(3, 4" in r and "bias=False" in r and "(1): ReLU()" in r
    assert cnncore.nn.Parameter(np.zeros((2, 3))).shape == (2, 3)


def test_parameter_data_assignment():
    p = nn.Parameter(np.arange(6).reshape(2, 3))
    assert p.data.dtype == np.float32 and p.data.flags.c_contiguous
    p.data = np.ones((2, 3), np.float64)
    assert p.data.dtype == np.float32
    with pytest.raises(ValueError, match="shape"):
        p.data = np.ones((3, 2))
    with pytest.raises(TypeError):
        nn.Parameter(np.array(["a"]))


def test_call_forwards_keyword_arguments():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, x, scale=1.0, relu=False):
            y = self.conv(x) * scale
            return F.relu(y) if relu else y

    m = Scaled()
    assert np.asarray(m(randn((2, 3, 4, 4)), scale=2.0, relu=True)).min() >= 0


def test_deepcopy_and_pickle():
    import copy
    import pickle

    net = small_net()
    x = randn((2, 3, 5, 5))
    net(x)
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        clone.eval()
        net.eval()
        np.testing.assert_array_equal(clone(x), net(x))
        assert clone[0].weight is not net[0].weight
        net.train()
