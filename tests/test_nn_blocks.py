"""Sequential (fusion, no reorders inside, container protocol) and the residual blocks (BasicBlock,
Bottleneck, InvertedResidual) against float64 reference compositions of reference.py's functions,
plus finite differences on a tiny BasicBlock."""
from collections import OrderedDict

import numpy as np

from cnncore.autograd import graph_ops
import pytest

from cnncore import _kernels, _random, nn
from conftest import assert_close
import refnet


@pytest.fixture(autouse=True)
def seeded():
    _random.manual_seed(0)


def randn(shape, seed=0, scale=1.0, offset=0.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale + offset).astype(np.float32)


def randomize_bn(module, seed=7):
    """Non-trivial BatchNorm affine parameters and running statistics everywhere in module."""
    r = np.random.default_rng(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            if m.weight is not None:
                m.weight.data = r.uniform(0.5, 1.5, c)
                m.bias.data = r.uniform(-0.5, 0.5, c)
            if m.running_mean is not None:
                m.running_mean = r.uniform(-0.3, 0.3, c).astype(np.float32)
                m.running_var = r.uniform(0.5, 2.0, c).astype(np.float32)
    return module


def check_against_reference(module, x, tol=2e-4, seed=3):
    """forward, input gradient, every parameter gradient and the new running statistics of
    `module` against its float64 reference composition."""
    ref = refnet.build(module)
    module.zero_grad()
    y = module(x)
    ry = ref.forward(x)
    assert_close(y, ry, tol, tol, "forward")
    dy = randn(y.shape, seed)
    dx = module.backward(dy)
    rdx = ref.backward(dy)
    assert_close(dx, rdx, tol, tol, "grad_input")
    names = [n for n, _ in module.named_parameters()]
    assert sorted(names) == sorted(ref.grads)
    for n, p in module.named_parameters():
        assert p.grad is not None, n
        assert_close(p.grad, ref.grads[n], tol, tol, "grad " + n)
    state = module.state_dict()
    for k, v in ref.new_state.items():
        assert_close(state[k], v, tol, tol, k)
    return y, dx


# ------------------------------------------------------------------------------ Sequential ---

def conv_bn_relu_stack():
    return nn.Sequential(nn.Conv2d(3, 20, 3, padding=1), nn.BatchNorm2d(20), nn.ReLU(),
                         nn.Conv2d(20, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.MaxPool2d(2))


@pytest.mark.parametrize("training", [True, False])
def test_sequential_conv_bn_relu_against_reference(training):
    net = randomize_bn(conv_bn_relu_stack()).train(training)
    check_against_reference(net, randn((2, 3, 8, 7), 1))


def test_sequential_fused_conv_relu_against_reference():
    net = nn.Sequential(nn.Conv2d(3, 17, 3, padding=1), nn.ReLU(), nn.Conv2d(17, 5, 3, stride=2),
                        nn.ReLU(), nn.AvgPool2d(2), nn.ReLU6())
    assert graph_ops(net(randn((2, 3, 9, 9), 1))) == ["Conv2d+ReLU", "Conv2d+ReLU", "AvgPool2d", "ReLU6"]
    check_against_reference(net, randn((2, 3, 9, 9), 1))


def test_sequential_fusion_plan():
    """Fusion is decided on the graph: the same ops whatever the container."""
    net = conv_bn_relu_stack()
    x = randn((2, 3, 8, 8), 1)
    fused = ["Conv2d", "BatchNorm2d+ReLU", "Conv2d", "BatchNorm2d+ReLU", "MaxPool2d"]
    assert graph_ops(net(x)) == fused
    assert graph_ops(net.eval()(x)) == ["Conv2d+BatchNorm2d+ReLU", "Conv2d+BatchNorm2d+ReLU", "MaxPool2d"]
    # ReLU6 runs in the convolution's epilogue as ReLU6 (not as a ReLU), and never joins a batch norm
    assert graph_ops(nn.Sequential(nn.Conv2d(1, 1, 1), nn.ReLU6())(randn((1, 1, 2, 2)))) == ["Conv2d+ReLU6"]
    assert graph_ops(nn.Sequential(nn.BatchNorm2d(1), nn.ReLU6())(randn((2, 1, 2, 2)))) == ["BatchNorm2d", "ReLU6"]


def test_fused_and_unfused_give_the_same_results():
    """Conv+ReLU and BN+ReLU fused (Sequential) against the same layers called one by one."""
    net = randomize_bn(conv_bn_relu_stack())
    x = randn((2, 3, 8, 8), 1)
    start = net.state_dict()
    y = net(x)
    dy = randn(y.shape, 2)
    dx = net.backward(dy)
    grads = {n: p.grad.copy() for n, p in net.named_parameters()}
    net.load_state_dict(start)
    net.zero_grad()
    h = x
    for m in net:
        h = m(h)
    assert_close(h, y, 1e-5, 1e-5)
    g = dy
    for m in reversed(list(net)):
        g = m.backward(g)
    assert_close(g, dx, 1e-5, 1e-5)
    for n, p in net.named_parameters():
        assert_close(p.grad, grads[n], 1e-5, 1e-5, n)


class ReorderCounter:
    def __init__(self, monkeypatch):
        self.to, self.back = 0, 0
        to_blocked, to_nchw = _kernels.nchw_to_blocked, _kernels.blocked_to_nchw

        def counted_to(*a, **k):
            self.to += 1
            return to_blocked(*a, **k)

        def counted_back(*a, **k):
            self.back += 1
            return to_nchw(*a, **k)

        monkeypatch.setattr(_kernels, "nchw_to_blocked", counted_to)
        monkeypatch.setattr(_kernels, "blocked_to_nchw", counted_back)

    def take(self):
        out = (self.to, self.back)
        self.to = self.back = 0
        return out


@pytest.mark.parametrize("training", [True, False])
def test_sequential_reorders_only_at_its_edges(monkeypatch, training):
    net = conv_bn_relu_stack().train(training)
    x = randn((2, 3, 8, 8), 1)
    counter = ReorderCounter(monkeypatch)
    y = net(x).numpy()  # the reorder out happens where NumPy is asked for
    assert counter.take() == (1, 1)
    net.backward(np.ones_like(y))
    assert counter.take() == (1, 1)


def test_blocks_reorder_only_at_their_edges(monkeypatch):
    x = randn((2, 8, 6, 6), 1)
    for block in (nn.BasicBlock(8, 16, stride=2), nn.Bottleneck(8, 4), nn.InvertedResidual(8, 8, 1, 6),
                  nn.Sequential(nn.BasicBlock(8, 8), nn.Bottleneck(8, 2, stride=2))):
        counter = ReorderCounter(monkeypatch)
        y = block(x).numpy()
        assert counter.take() == (1, 1), type(block).__name__
        block.backward(np.ones_like(y))
        assert counter.take() == (1, 1), type(block).__name__


def test_relu_and_add_run_fused(monkeypatch):
    """No standalone ReLU or add pass in the forward of conv/BN+ReLU stacks and residual blocks."""
    calls = []
    for name in ("relu", "add", "relu_backward", "act_forward", "act_backward"):
        original = getattr(_kernels, name)
        monkeypatch.setattr(_kernels, name, lambda *a, _n=name, _f=original: calls.append(_n) or _f(*a))
    x = randn((2, 8, 6, 6), 1)
    conv_relu = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1), nn.ReLU())
    # backward: the conv+ReLU mask is its own pass, the shortcut's gradient is one add
    for net, backward_calls in ((nn.Sequential(nn.Conv2d(8, 20, 3), nn.BatchNorm2d(20), nn.ReLU()), []),
                                (conv_relu, ["act_backward", "act_backward"]),
                                (nn.BasicBlock(8, 8), ["add"]), (nn.BasicBlock(8, 16, 2), ["add"]),
                                (nn.Bottleneck(8, 2), ["add"])):
        y = net(x)
        assert calls == [], type(net).__name__
        net.backward(np.ones_like(y))
        assert calls == backward_calls, type(net).__name__
        del calls[:]


def test_sequential_container_protocol():
    a, b, c = nn.Conv2d(1, 2, 1), nn.ReLU(), nn.MaxPool2d(2)
    net = nn.Sequential(a, b, c)
    assert len(net) == 3
    assert net[0] is a and net[-1] is c and net[np.int64(1)] is b
    assert list(net) == [a, b, c]
    sub = net[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    assert list(sub._modules) == ["1", "2"]  # torch keeps the names
    assert list(net[::2]) == [a, c]
    with pytest.raises(IndexError):
        net[3]
    with pytest.raises(IndexError):
        net[-4]
    with pytest.raises(TypeError):
        net["0"]
    d = nn.Flatten()
    assert net.append(d) is net and len(net) == 4 and net[3] is d
    assert list(net._modules) == ["0", "1", "2", "3"]
    with pytest.raises(TypeError):
        nn.Sequential(a, "relu")
    named = nn.Sequential(OrderedDict([("c", a), ("r", b)]))
    assert named.c is a and list(named) == [a, b]
    y = nn.Sequential()(randn((1, 2, 3, 3)))
    assert y.shape == (1, 2, 3, 3)


def test_sequential_input_grad_false_and_nested():
    inner = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
    net = nn.Sequential(nn.Conv2d(3, 4, 1), inner, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    x = randn((2, 3, 5, 5))
    y = net(x)
    assert y.shape == (2, 2)
    assert net.backward(np.ones_like(y), input_grad=False) is None
    assert all(p.grad is not None for p in net.parameters())
    check_against_reference(net, x)


# ------------------------------------------------------------------------------- blocks ---

BLOCKS = [
    ("basic", lambda: nn.BasicBlock(8, 8), (2, 8, 6, 6)),
    ("basic_down_s2", lambda: nn.BasicBlock(8, 20, stride=2), (2, 8, 7, 6)),
    ("basic_down_s1", lambda: nn.BasicBlock(5, 16), (2, 5, 5, 5)),
    ("bottleneck", lambda: nn.Bottleneck(16, 4), (2, 16, 5, 5)),
    ("bottleneck_down_s1", lambda: nn.Bottleneck(8, 5), (2, 8, 5, 6)),
    ("bottleneck_down_s2", lambda: nn.Bottleneck(12, 6, stride=2), (2, 12, 7, 7)),
    ("inverted_t1_res", lambda: nn.InvertedResidual(16, 16, 1, 1), (2, 16, 5, 5)),
    ("inverted_t1", lambda: nn.InvertedResidual(16, 8, 1, 1), (2, 16, 5, 5)),
    ("inverted_t6_res", lambda: nn.InvertedResidual(8, 8, 1, 6), (2, 8, 5, 5)),
    ("inverted_t6_s2", lambda: nn.InvertedResidual(8, 12, 2, 6), (2, 8, 7, 6)),
    ("inverted_t6_s1", lambda: nn.InvertedResidual(4, 6, 1, 6), (2, 4, 5, 5)),
]


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("make,shape", [b[1:] for b in BLOCKS], ids=[b[0] for b in BLOCKS])
def test_block_against_reference(make, shape, training):
    block = randomize_bn(make()).train(training)
    y, _ = check_against_reference(block, randn(shape, 1, 1.0, 0.2))
    if "inverted" in repr(make) and block.use_res_connect:
        assert y.shape == shape


def test_block_structure():
    assert nn.BasicBlock(8, 8).downsample is None
    assert nn.BasicBlock(8, 8, stride=2).downsample is not None
    assert nn.Bottleneck(16, 4).downsample is None and nn.Bottleneck(8, 4).downsample is not None
    assert nn.InvertedResidual(8, 8, 1, 6).use_res_connect
    assert not nn.InvertedResidual(8, 8, 2, 6).use_res_connect
    assert not nn.InvertedResidual(8, 16, 1, 6).use_res_connect
    custom = nn.Sequential(nn.Conv2d(4, 8, 1, bias=False), nn.BatchNorm2d(8))
    assert nn.BasicBlock(4, 8, downsample=custom).downsample is custom
    with pytest.raises(ValueError):
        nn.InvertedResidual(8, 8, 3, 6)


def test_blocks_at_every_isa(isa):
    for block, shape in ((nn.BasicBlock(16, 20, stride=2), (2, 16, 6, 6)),
                         (nn.InvertedResidual(8, 8, 1, 6), (2, 8, 5, 5)),
                         (nn.Sequential(nn.Conv2d(3, 17, 3), nn.ReLU(), nn.Flatten(), nn.Linear(17 * 9, 5)),
                          (2, 3, 5, 5))):
        check_against_reference(randomize_bn(block), randn(shape, 1))


def test_block_gradients_accumulate():
    block = nn.Bottleneck(8, 2)
    x = randn((2, 8, 4, 4))
    y = block(x)
    block.backward(np.ones_like(y))
    first = {n: p.grad.copy() for n, p in block.named_parameters()}
    block(x)
    block.backward(np.ones_like(y))
    for n, p in block.named_parameters():
        assert_close(p.grad, 2 * first[n], 1e-5, 1e-5, n)


# --------------------------------------------------------------- finite differences ---

@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_basic_block_finite_differences(training):
    """d(sum(y * r))/d(input and weight entries) by central differences, eps 1e-2 on float32."""
    block = randomize_bn(nn.BasicBlock(3, 4, stride=2)).train(training)
    x = randn((2, 3, 5, 5), 1, 1.0, 0.3)
    y = block(x)
    r = randn(y.shape, 2)
    dx = block.backward(r)
    grads = {n: p.grad.copy() for n, p in block.named_parameters()}

    def loss():
        return float(np.sum(block(x).astype(np.float64) * r))

    eps = 1e-2
    gen = np.random.default_rng(4)
    for _ in range(6):
        i = tuple(int(gen.integers(s)) for s in x.shape)
        saved = x[i]
        x[i] = saved + eps
        up = loss()
        x[i] = saved - eps
        down = loss()
        x[i] = saved
        fd = (up - down) / (2 * eps)
        assert abs(fd - dx[i]) <= 2e-2 + 2e-2 * abs(fd), (i, fd, dx[i])
    for name in ("conv1.weight", "conv2.weight", "downsample.0.weight", "bn1.weight", "bn2.bias"):
        p = dict(block.named_parameters())[name]
        for _ in range(3):
            i = tuple(int(gen.integers(s)) for s in p.shape)
            saved = p.data.copy()
            bumped = saved.copy()
            bumped[i] += eps
            p.data = bumped
            up = loss()
            bumped[i] = saved[i] - eps
            p.data = bumped
            down = loss()
            p.data = saved
            fd = (up - down) / (2 * eps)
            g = grads[name][i]
            assert abs(fd - g) <= 2e-2 + 2e-2 * abs(fd), (name, i, fd, g)
