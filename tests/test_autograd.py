"""The recorded graph: each op's forward and backward against tests/reference.py (or plain NumPy
float64) and finite differences, on plain and blocked values; the rules of backward (fan-out,
retain_graph, errors); no_grad, detach, frozen parameters; fusion wherever the pattern occurs."""
import threading

import numpy as np
import pytest

import cnncore
from cnncore import functional as F
from cnncore import nn
from cnncore.autograd import Function, graph_ops, no_grad
from cnncore.autograd.values import as_blocked
from conftest import assert_close
import reference as R


def randn(shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def leaf(x, blocked=False):
    """A Tensor that requires grad; blocked=True keeps its 4-d value in NCHW16c."""
    t = cnncore.Tensor(x, requires_grad=True)
    if blocked:
        t._value = as_blocked(t._value)
    return t


def grads_of(fn, arrays, blocked=False, seed=7):
    """(output values, [d sum(out * r) / d array]) through the graph."""
    ts = [leaf(a, blocked and a.ndim == 4) for a in arrays]
    out = fn(*ts)
    r = randn(out.shape, seed)
    (out * cnncore.Tensor(r)).sum().backward()
    return out.numpy(), [t.grad for t in ts], r


def finite_difference_check(fn, arrays, grads, r, eps=1e-2, count=5, tol=3e-2):
    """Central differences of sum(fn(arrays) * r) at a few coordinates of each array."""
    gen = np.random.default_rng(3)
    for k, a in enumerate(arrays):
        for _ in range(count):
            i = tuple(int(gen.integers(s)) for s in a.shape)
            up, down = [x.copy() for x in arrays], [x.copy() for x in arrays]
            up[k][i] += eps
            down[k][i] -= eps
            with no_grad():
                f_up = float(np.sum(np.asarray(fn(*[cnncore.Tensor(x) for x in up]), np.float64) * r))
                f_down = float(np.sum(np.asarray(fn(*[cnncore.Tensor(x) for x in down]), np.float64) * r))
            numeric = (f_up - f_down) / (2 * eps)
            assert abs(numeric - grads[k][i]) <= tol * max(1.0, abs(numeric)), (k, i, numeric, grads[k][i])


# ------------------------------------------------------------------ elementwise ops ---

BINARY = [
    ("same shape", (2, 5, 3, 3), (2, 5, 3, 3)),
    ("per channel", (2, 20, 3, 3), (1, 20, 1, 1)),
    ("per sample and channel", (2, 20, 3, 3), (2, 20, 1, 1)),
    ("features", (4, 7), (7,)),
]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("case", BINARY, ids=[c[0] for c in BINARY])
@pytest.mark.parametrize("blocked", [False, True], ids=["plain", "blocked"])
def test_binary_ops_and_broadcasting(isa, op, case, blocked):
    _, sa, sb = case
    a, b = randn(sa, 1), randn(sb, 2)
    if op == "div":
        b = np.abs(b) + 0.5
    fns = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
           "div": lambda x, y: x / y}
    fn = fns[op]
    y, (ga, gb), r = grads_of(fn, [a, b], blocked)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert_close(y, fn(a64, b64), 1e-5, 1e-5, "forward")
    d = {"add": (r, r), "sub": (r, -r), "mul": (r * b64, r * a64), "div": (r / b64, -r * a64 / b64 ** 2)}[op]
    axes = tuple(k for k in range(len(sa)) if k >= len(sa) - len(sb) and sb[k - (len(sa) - len(sb))] == 1) \
        + tuple(range(len(sa) - len(sb)))
    assert_close(ga, d[0], 1e-4, 1e-4, "grad a")
    assert_close(gb, d[1].sum(axis=axes, keepdims=True).reshape(sb), 1e-4, 1e-4, "grad b")
    finite_difference_check(fn, [a, b], [ga, gb], r)


@pytest.mark.parametrize("blocked", [False, True], ids=["plain", "blocked"])
def test_scalars_pow_and_reflected_ops(blocked):
    x = np.abs(randn((2, 18, 3, 2), 1)) + 0.5

    def fn(t):
        return (2.0 * t + 1.0) ** 2 / 3.0 - 1.0 / t - (-t) + 5.0 - t * 0.5

    y, (g,), r = grads_of(fn, [x], blocked)
    x64 = x.astype(np.float64)
    assert_close(y, fn(x64), 1e-5, 1e-5)
    assert_close(g, r * (4 * (2 * x64 + 1) / 3 + 1 / x64 ** 2 + 1 - 0.5), 1e-4, 1e-4)
    finite_difference_check(fn, [x], [g], r)


ACTS = ["relu", "relu6", "leaky_relu", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "gelu", "gelu_tanh"]


@pytest.mark.parametrize("name", ACTS)
@pytest.mark.parametrize("blocked", [False, True], ids=["plain", "blocked"])
def test_activations_against_reference(isa, name, blocked):
    x = randn((2, 21, 4, 3), 1, 4.0)  # 21 channels: padded lanes in the blocked layout
    fn = (lambda t: F.gelu(t, approximate="tanh")) if name == "gelu_tanh" else getattr(F, name)
    y, (g,), r = grads_of(fn, [x], blocked)
    ref = R.activation(name, x) if name != "relu" else R.relu(x)
    assert_close(y, ref, 1e-5, 1e-5, "forward")
    ref_g = R.activation_backward(name, r, x) if name != "relu" else R.relu_backward(r, R.relu(x))
    assert_close(g, ref_g, 1e-4, 1e-4, "backward")
    if name not in ("relu", "relu6", "leaky_relu", "hardswish", "hardsigmoid"):  # kinks
        finite_difference_check(fn, [x], [g], r)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("dim", [1, -1])
def test_softmax_and_log_softmax(log, dim):
    x = randn((3, 6, 2, 5), 2, 3.0)
    fn = (lambda t: F.log_softmax(t, dim)) if log else (lambda t: F.softmax(t, dim))
    y, (g,), r = grads_of(fn, [x], True)
    assert_close(y, (R.log_softmax if log else R.softmax)(x, dim), 1e-5, 1e-5)
    assert_close(g, (R.log_softmax_backward if log else R.softmax_backward)(r, x, dim), 1e-4, 1e-4)
    finite_difference_check(fn, [x], [g], r)


# --------------------------------------------------------------- reductions and shapes ---

@pytest.mark.parametrize("dims,keepdim", [((2, 3), True), ((2, 3), False), (1, False), (None, False), ((0, 2), True)])
@pytest.mark.parametrize("mean", [True, False])
@pytest.mark.parametrize("blocked", [False, True], ids=["plain", "blocked"])
def test_mean_and_sum(dims, keepdim, mean, blocked):
    x = randn((2, 19, 3, 4), 1)

    def fn(t):
        return t.mean(dims, keepdim) if mean else t.sum(dims, keepdim)

    y, (g,), r = grads_of(fn, [x], blocked)
    x64 = x.astype(np.float64)
    axis = dims if dims is not None else None
    ref = x64.mean(axis=axis, keepdims=keepdim) if mean else x64.sum(axis=axis, keepdims=keepdim)
    assert_close(y, ref, 1e-5, 1e-5)
    count = x.size // ref.size
    expected = np.broadcast_to(np.reshape(r, x64.mean(axis=axis, keepdims=True).shape), x.shape)
    assert_close(g, expected / (count if mean else 1), 1e-5, 1e-5)


@pytest.mark.parametrize("blocked", [False, True], ids=["plain", "blocked"])
def test_reshape_flatten_and_indexing(blocked):
    x = randn((2, 6, 3, 4), 1)
    for fn, ref in ((lambda t: t.flatten(1), lambda a: a.reshape(2, -1)),
                    (lambda t: t.reshape(4, -1), lambda a: a.reshape(4, -1)),
                    (lambda t: t.view((2, 6, 12)), lambda a: a.reshape(2, 6, 12)),
                    (lambda t: t[1], lambda a: a[1]),
                    (lambda t: t[:, 2:5], lambda a: a[:, 2:5]),
                    (lambda t: t[..., 1:3, ::2], lambda a: a[..., 1:3, ::2]),
                    (lambda t: t[np.array([1, 1, 0])], lambda a: a[np.array([1, 1, 0])])):
        y, (g,), r = grads_of(fn, [x], blocked)
        np.testing.assert_array_equal(y, ref(x))
        expected = np.zeros(x.shape)
        np.add.at(expected, None, 0)
        idx = np.arange(x.size).reshape(x.shape)
        np.add.at(expected.reshape(-1), ref(idx).reshape(-1), r.reshape(-1))
        assert_close(g, expected, 1e-6, 1e-6)


@pytest.mark.parametrize("lo,hi", [(0, 16), (16, 37), (3, 20), (0, 37), (5, 6)])
def test_channel_slices_of_blocked_activations_stay_blocked(lo, hi):
    x = randn((2, 37, 3, 3), 1)
    t = leaf(x, True)
    y = t[:, lo:hi]
    assert isinstance(y.value, cnncore.functional.Blocked)
    np.testing.assert_array_equal(y.numpy(), x[:, lo:hi])
    r = randn(y.shape, 2)
    y.backward(r)
    expected = np.zeros_like(x)
    expected[:, lo:hi] = r
    np.testing.assert_array_equal(t.grad, expected)


@pytest.mark.parametrize("channels", [(16, 16), (5, 7, 9), (16, 3, 32), (1,)])
@pytest.mark.parametrize("blocked", [False, True], ids=["plain", "blocked"])
def test_cat_on_channels_and_batch(channels, blocked):
    xs = [randn((2, c, 3, 2), k) for k, c in enumerate(channels)]
    y, gs, r = grads_of(lambda *ts: cnncore.cat(list(ts), dim=1), xs, blocked)
    np.testing.assert_array_equal(y, np.concatenate(xs, axis=1))
    bounds = np.cumsum([0] + list(channels))
    for k, g in enumerate(gs):
        np.testing.assert_array_equal(g, r[:, bounds[k]:bounds[k + 1]])
    ys = [randn((k + 1, 5, 3, 2), k) for k in range(3)]
    y, gs, r = grads_of(lambda *ts: cnncore.cat(ts, 0), ys, blocked)
    np.testing.assert_array_equal(y, np.concatenate(ys))
    np.testing.assert_array_equal(gs[2], r[3:])


def test_cat_keeps_blocked_layout_without_reorders(monkeypatch):
    from cnncore import _kernels

    calls = []
    original = _kernels.blocked_to_nchw
    monkeypatch.setattr(_kernels, "blocked_to_nchw", lambda *a: calls.append(1) or original(*a))
    a, b = leaf(randn((2, 16, 3, 3)), True), leaf(randn((2, 32, 3, 3), 1), True)
    y = cnncore.cat([a, b], 1) * 2.0
    assert isinstance(y.value, cnncore.functional.Blocked) and calls == []


def test_stack():
    xs = [randn((3, 4), k) for k in range(3)]
    y, gs, r = grads_of(lambda *ts: cnncore.stack(ts, dim=1), xs)
    np.testing.assert_array_equal(y, np.stack(xs, axis=1))
    np.testing.assert_array_equal(gs[1], r[:, 1])


# -------------------------------------------------------------------------- layer ops ---

def test_functional_conv_pool_linear_with_tensor_weights(isa):
    x, w, b = randn((2, 5, 7, 6), 1), randn((18, 5, 3, 3), 2, 0.3), randn((18,), 3)

    def fn(tx, tw, tb):
        y = F.conv2d(tx, tw, tb, stride=1, padding=1)
        y = F.max_pool2d(F.relu(y), 2) + F.avg_pool2d(y, 2) + F.adaptive_avg_pool2d(y, (3, 3))
        return y

    out, (gx, gw, gb), r = grads_of(fn, [x, w, b])
    z = R.conv2d(x, w, b, 1, 1)
    pool, idx = R.max_pool2d(R.relu(z), 2)
    ref = pool + R.avg_pool2d(z, 2) + R.adaptive_avg_pool2d(z, (3, 3))
    assert_close(out, ref, 1e-4, 1e-4)
    gz = R.relu_backward(R.max_pool2d_backward(r, idx, z.shape), R.relu(z)) \
        + R.avg_pool2d_backward(r, z.shape, 2) + R.adaptive_avg_pool2d_backward(r, z.shape)
    rgx, rgw, rgb = R.conv2d_backward(gz, x, w, 1, 1)
    assert_close(gx, rgx, 1e-4, 1e-4)
    assert_close(gw, rgw, 1e-4, 1e-4)
    assert_close(gb, rgb, 1e-4, 1e-4)
    lx, lw, lb = randn((4, 6), 4), randn((3, 6), 5), randn((3,), 6)
    out, (gx, gw, gb), r = grads_of(lambda a, b, c: F.linear(a, b, c), [lx, lw, lb])
    assert_close(out, R.linear(lx, lw, lb), 1e-5, 1e-5)
    for got, want in zip((gx, gw, gb), R.linear_backward(r, lx, lw)):
        assert_close(got, want, 1e-5, 1e-5)


def test_cross_entropy_tensor_and_numpy_forms():
    logits, target = randn((5, 7), 1, 2.0), np.arange(5) % 7
    t = leaf(logits)
    loss = F.cross_entropy(t, target)
    assert loss.shape == () and abs(float(loss) - R.cross_entropy(logits, target)) < 1e-5
    loss.backward()
    assert_close(t.grad, R.cross_entropy_backward(logits, target), 1e-6, 1e-6)
    assert isinstance(F.cross_entropy(logits, target), float)


# ----------------------------------------------------------------- backward's rules ---

def test_fan_out_accumulates_and_leaf_grads_accumulate_across_backwards():
    x = leaf(randn((2, 3, 4, 4), 1), True)
    y = x * x + x
    y.sum().backward()
    assert_close(x.grad, 2 * x.numpy() + 1, 1e-5, 1e-5)
    (x * 3.0).sum().backward()
    assert_close(x.grad, 2 * x.numpy() + 4, 1e-5, 1e-5)


def test_backward_twice_needs_retain_graph():
    x = leaf(randn((3, 4)))
    loss = (F.sigmoid(x) * 2.0).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert_close(x.grad, 2 * 2 * R.activation_backward("sigmoid", np.ones((3, 4)), x.numpy()), 1e-5, 1e-5)
    with pytest.raises(RuntimeError, match="a second time.*retain_graph=True"):
        loss.backward()


def test_backward_of_a_non_scalar_needs_a_gradient():
    y = leaf(randn((3, 4))) * 2.0
    with pytest.raises(RuntimeError, match="one element.*gradient"):
        y.backward()
    with pytest.raises(ValueError, match=r"gradient: expected shape \(3, 4\)"):
        y.backward(np.ones((4, 3)))
    with pytest.raises(RuntimeError, match="does not require grad"):
        cnncore.Tensor(np.ones(3)).sum().backward()


def test_parameter_changed_before_backward_is_an_error():
    conv = nn.Conv2d(3, 4, 3)
    x = randn((2, 3, 5, 5))
    loss = conv(x).sum()
    conv.weight.data = np.zeros(conv.weight.shape)  # as an optimizer step would
    with pytest.raises(RuntimeError, match="changed in place.*after the forward"):
        loss.backward()


def test_a_graph_differentiated_from_two_threads_raises():
    entered, release = threading.Event(), threading.Event()

    class Wait(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            entered.set()
            assert release.wait(30)
            return g

    x = leaf(randn((2, 3)))
    loss = (Wait.apply(x * 2.0) * 3.0).sum()
    errors = []
    t = threading.Thread(target=lambda: loss.backward(retain_graph=True))
    t.start()
    try:
        assert entered.wait(30)
        with pytest.raises(cnncore.autograd.ConcurrentUseError, match="another thread"):
            loss.backward(retain_graph=True)
    except Exception as exc:  # pragma: no cover
        errors.append(exc)
    finally:
        release.set()
        t.join(30)
    assert not errors
    assert_close(x.grad, np.full((2, 3), 6.0), 0, 0)


def test_custom_function_gets_needs_input_grad_and_saved_tensors():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return k * x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * ctx.k * x ** 2 * g, None

    x = leaf(randn((4,)))
    Cube.apply(x, 2.0).sum().backward()
    assert_close(x.grad, 6 * x.numpy() ** 2, 1e-5, 1e-5)


def test_no_grad_records_nothing_and_detach_cuts_the_graph():
    conv = nn.Conv2d(3, 4, 3)
    x = randn((2, 3, 5, 5))
    with no_grad():
        y = conv(x)
    assert not y.requires_grad and y.grad_fn is None

    @no_grad()
    def infer(a):
        return conv(a)

    assert infer(x).grad_fn is None and cnncore.is_grad_enabled()
    t = leaf(randn((3,)))
    z = (t * 2.0).detach() * t
    z.sum().backward()
    assert_close(t.grad, 2 * t.numpy(), 1e-6, 1e-6)  # only the non-detached factor


def test_frozen_parameters_skip_their_kernels(monkeypatch):
    from cnncore import _kernels

    calls = []
    for name in ("conv_backward_weights", "conv_backward_data", "bias_grad"):
        original = getattr(_kernels, name)
        monkeypatch.setattr(_kernels, name, lambda *a, _n=name, _f=original: calls.append(_n) or _f(*a))
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 1, bias=False))
    x = randn((2, 3, 6, 6))
    net(x).sum().backward()
    # the first layer needs no input gradient; the second conv has no bias
    assert sorted(calls) == ["bias_grad", "conv_backward_data", "conv_backward_weights",
                             "conv_backward_weights"]
    del calls[:]
    net.zero_grad()
    net[0].weight.requires_grad = False
    net[0].bias.requires_grad = False
    net(x).sum().backward()
    assert calls == ["conv_backward_weights"] and net[0].weight.grad is None
    assert net[2].weight.grad is not None


def test_one_module_called_twice_accumulates_its_gradient():
    conv = nn.Conv2d(4, 4, 3, padding=1)
    x = randn((1, 4, 5, 5), 1)
    y = conv(F.relu(conv(x)))
    r = randn(y.shape, 2)
    y.backward(r)
    w, b = conv.weight.data, conv.bias.data
    z = R.conv2d(x, w, b, 1, 1)
    gz1, gw1, gb1 = R.conv2d_backward(r, R.relu(z), w, 1, 1)
    _, gw0, gb0 = R.conv2d_backward(R.relu_backward(gz1, R.relu(z)), x, w, 1, 1)
    assert_close(conv.weight.grad, gw0 + gw1, 1e-4, 1e-4)
    assert_close(conv.bias.grad, gb0 + gb1, 1e-4, 1e-4)


def test_two_heads_and_two_losses():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
            self.a = nn.Linear(8, 5)
            self.b = nn.Linear(8, 2)

        def forward(self, x):
            h = self.body(x).mean((2, 3))
            return self.a(h), self.b(h)

    net = TwoHeads()
    x, ya, yb = randn((4, 3, 6, 6)), np.array([0, 1, 2, 3]), np.array([1, 0, 1, 0])
    crit = nn.CrossEntropyLoss()
    oa, ob = net(x)
    loss = crit(oa, ya) + 0.5 * crit(ob, yb)
    loss.backward()
    both = {n: p.grad.copy() for n, p in net.named_parameters()}
    for head, weight in (("a", 1.0), ("b", 0.5)):
        net.zero_grad()
        out = net(x)[0 if head == "a" else 1]
        (crit(out, ya if head == "a" else yb) * weight).backward()
        for n, p in net.named_parameters():
            if n.startswith(head + "."):
                assert_close(p.grad, both[n], 1e-5, 1e-5, n)
    assert abs(float(loss) - (float(crit(oa, ya)) + 0.5 * float(crit(ob, yb)))) < 1e-6


# -------------------------------------------------------------------------- fusion ---

def test_fusion_applies_in_custom_forwards_too():
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
            self.c2, self.b2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)

        def forward(self, x):
            h = F.relu(self.b1(self.c1(x)))
            return F.relu(self.b2(self.c2(h)) + h)

    net = Custom()
    x = randn((2, 3, 5, 5))
    assert graph_ops(net(x)) == ["Conv2d", "BatchNorm2d+ReLU", "Conv2d", "BatchNorm2d+Add+ReLU"]
    net.eval()
    assert graph_ops(net(x)) == ["Conv2d+BatchNorm2d+ReLU", "Conv2d", "BatchNorm2d+Add+ReLU"]


def test_a_fused_intermediate_used_again_is_computed_and_differentiated():
    """relu(bn(x)) fuses; using bn(x) as well computes it separately, and both paths give
    their gradient; the running statistics are updated once."""
    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 6, 1), nn.BatchNorm2d(6)

        def forward(self, x):
            z = self.bn(self.conv(x))
            return F.relu(z) * 2.0 + z

    net = Both()
    x = randn((2, 3, 4, 4))
    y = net(x)
    r = randn(y.shape, 2)
    y.backward(r)
    c = R.conv2d(x, net.conv.weight.data, net.conv.bias.data)
    z, mean, invstd, rm, rv = R.batch_norm(c, np.zeros(6), np.ones(6), None, None, True)
    assert_close(y, 2 * R.relu(z) + z, 1e-4, 1e-4)
    assert_close(net.bn.running_mean, rm, 1e-5, 1e-5)  # updated once, not twice
    assert_close(net.bn.running_var, rv, 1e-5, 1e-5)
    assert int(net.bn.num_batches_tracked) == 1
    gz = 2 * R.relu_backward(r, R.relu(z)) + r
    gc, _, _ = R.batch_norm_backward(gz, c, None, mean, invstd, True)
    _, gw, gb = R.conv2d_backward(gc, x, net.conv.weight.data)
    assert_close(net.conv.weight.grad, gw, 1e-3, 1e-3)


def test_pending_batch_norm_updates_running_stats_even_if_its_output_is_unused():
    class Drop(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm2d(3)

        def forward(self, x):
            self.bn(x)  # output discarded
            return x * 1.0

    m = Drop()
    m(randn((4, 3, 2, 2)) + 5.0)
    assert int(m.bn.num_batches_tracked) == 1 and m.bn.running_mean.min() > 0.3


def test_a_deep_network_keeps_the_pending_window_one_op_wide():
    """400 conv-BN-ReLU layers: no recursion through pending nodes, fused all the same."""
    layers = []
    for _ in range(400):
        layers += [nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2), nn.ReLU()]
    net = nn.Sequential(*layers)
    y = net(randn((2, 2, 2, 2)))
    assert graph_ops(y)[:2] == ["Conv2d", "BatchNorm2d+ReLU"] and len(graph_ops(y)) == 800
    y.sum().backward()
    assert net[0].weight.grad is not None


def test_an_error_inside_forward_leaves_nothing_pending():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)

        def forward(self, x):
            self.bn(self.conv(x))
            raise KeyError("boom")

    m = Bad()
    with pytest.raises(KeyError, match="boom") as info:
        m(randn((2, 3, 2, 2)))
    assert info.value.__context__ is None  # no second error while cleaning up
    from cnncore.autograd import lazy

    assert lazy._pending() == []
    assert int(m.bn.num_batches_tracked) == 1  # the call happened; its output was never computed


def test_buffer_pool_reuses_activation_blocks_and_releases_them():
    from cnncore import _kernels

    conv = nn.Conv2d(3, 16, 3, padding=1)
    x = randn((4, 3, 8, 8))
    with no_grad():
        conv(x).numpy()
        _, _, hits, _ = _kernels.pool_stats()
        conv(x).numpy()
        assert _kernels.pool_stats()[2] > hits  # the second call reuses the first call's blocks
    cnncore.release_buffers()
    assert _kernels.pool_stats()[0] == 0
    assert cnncore.config()["buffer_pool"]["limit_bytes"] > 0


def test_buffer_pool_limit_from_the_environment():
    import os
    import subprocess
    import sys

    code = "import cnncore; print(cnncore.config()['buffer_pool']['limit_bytes'])"
    env = dict(os.environ, CNNCORE_POOL_MB="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == str(3 * 1024 * 1024), out.stderr
    env["CNNCORE_POOL_MB"] = "lots"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "CNNCORE_POOL_MB" in out.stderr and "'lots'" in out.stderr
