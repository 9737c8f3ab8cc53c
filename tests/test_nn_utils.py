"""nn.init, nn.utils (clipping, flat vectors), ModuleList, ModuleDict, Module.apply and
requires_grad_, Parameter.numel/size, Dropout2d: against the float64 references and torch."""
import math

import numpy as np
import pytest

import reference as R
import cnncore
from cnncore import nn
from cnncore.nn import Parameter, init


def randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ------------------------------------------------------------------------------ nn.init ---

@pytest.mark.parametrize("shape", [(64, 32), (32, 16, 3, 3), (8, 4, 5), (16, 1, 7, 7)])
def test_fans_and_gains_match_reference_and_torch(shape):
    fi, fo = R.fan_in_out(shape)
    assert init._calculate_fan_in_and_fan_out(shape) == (fi, fo)
    torch = pytest.importorskip("torch")
    assert torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape)) == (fi, fo)
    for nl, param in (("relu", None), ("tanh", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
                      ("conv2d", None), ("sigmoid", None)):
        assert init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param), rel=1e-15)


INITS = [
    ("kaiming_uniform_", dict(a=math.sqrt(5)), "uniform",
     lambda fi, fo: math.sqrt(3) * math.sqrt(2 / (1 + 5)) / math.sqrt(fi)),
    ("kaiming_uniform_", dict(mode="fan_out", nonlinearity="relu"), "uniform",
     lambda fi, fo: math.sqrt(3) * math.sqrt(2) / math.sqrt(fo)),
    ("kaiming_normal_", dict(mode="fan_out", nonlinearity="relu"), "normal", lambda fi, fo: math.sqrt(2 / fo)),
    ("kaiming_normal_", dict(), "normal", lambda fi, fo: math.sqrt(2 / (1 + 0.01 ** 2)) / math.sqrt(fi)),
    ("xavier_uniform_", dict(gain=2.0), "uniform", lambda fi, fo: 2.0 * math.sqrt(6 / (fi + fo))),
    ("xavier_normal_", dict(), "normal", lambda fi, fo: math.sqrt(2 / (fi + fo))),
]


@pytest.mark.parametrize("name,kw,kind,param", INITS, ids=["%s-%d" % (i[0], k) for k, i in enumerate(INITS)])
def test_random_inits_have_torchs_distribution(name, kw, kind, param):
    shape = (64, 32, 3, 3)
    fi, fo = R.fan_in_out(shape)
    cnncore.manual_seed(1)
    p = Parameter(np.zeros(shape))
    v0 = p.version
    assert getattr(init, name)(p, **kw) is p and p.version != v0
    w = p.data.astype(np.float64)
    expected = param(fi, fo)
    if kind == "uniform":
        assert np.abs(w).max() <= expected and np.abs(w).max() > 0.99 * expected
        assert w.std() == pytest.approx(expected / math.sqrt(3), rel=0.02)
    else:
        assert w.std() == pytest.approx(expected, rel=0.02) and abs(w.mean()) < 0.01 * expected
    cnncore.manual_seed(1)
    again = getattr(init, name)(Parameter(np.zeros(shape)), **kw)
    np.testing.assert_array_equal(again.data, p.data)  # reproducible from cnncore.manual_seed


def test_simple_inits_and_arrays():
    p = Parameter(randn((3, 4)))
    np.testing.assert_array_equal(init.zeros_(p).data, 0)
    np.testing.assert_array_equal(init.ones_(p).data, 1)
    np.testing.assert_array_equal(init.constant_(p, 0.25).data, 0.25)
    a = np.zeros((1000, 10), np.float32)
    init.normal_(a, 2.0, 0.5)
    assert a.mean() == pytest.approx(2.0, abs=0.02) and a.std() == pytest.approx(0.5, rel=0.03)
    init.uniform_(a, -1, 3)
    assert a.min() >= -1 and a.max() < 3 and a.mean() == pytest.approx(1.0, abs=0.05)


def test_trunc_normal_is_a_truncated_normal():
    a = np.zeros(200000, np.float32)
    init.trunc_normal_(a, mean=0.5, std=1.0, a=-0.5, b=1.0)
    assert a.min() >= -0.5 and a.max() <= 1.0
    # moments of N(0.5, 1) truncated to [-1, 0.5] standard units, float64 by quadrature
    z = np.linspace(-1.0, 0.5, 200001)
    pdf = np.exp(-z ** 2 / 2)
    mean = 0.5 + (z * pdf).sum() / pdf.sum()
    var = ((z + 0.5 - mean) ** 2 * pdf).sum() / pdf.sum()
    assert a.mean() == pytest.approx(mean, abs=0.005)
    assert a.var() == pytest.approx(var, rel=0.02)
    vals = init._erfinv(np.linspace(-0.9999, 0.9999, 101))
    np.testing.assert_allclose([math.erf(v) for v in vals], np.linspace(-0.9999, 0.9999, 101), atol=1e-7)


# -------------------------------------------------------------------------- nn.utils ---

@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0), (0.3, float("inf")), (2.0, 3.0)])
def test_clip_grad_norm_against_reference_and_torch(max_norm, norm_type):
    grads = [randn((4, 3), 1), randn((5,), 2), randn((2, 2, 3, 3), 3)]
    params = [Parameter(np.zeros(g.shape)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    params.append(Parameter(np.zeros(2)))  # no gradient: skipped
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    ref, ref_total = R.clip_grad_norm(grads, max_norm, norm_type)
    assert total == pytest.approx(ref_total, rel=1e-6)
    for p, r in zip(params, ref):
        np.testing.assert_allclose(p.grad, r, rtol=2e-6, atol=1e-7)
    torch = pytest.importorskip("torch")
    tps = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for tp, g in zip(tps, grads):
        tp.grad = torch.tensor(g)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    assert total == pytest.approx(float(ttotal), rel=1e-6)
    for p, tp in zip(params, tps):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=2e-6, atol=1e-7)


def test_clip_grad_norm_nonfinite_and_value():
    p = Parameter(np.zeros(3))
    p.grad = np.array([1.0, np.inf, 0.0], np.float32)
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    p.grad = np.array([-3.0, 0.5, 2.0], np.float32)
    nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad, [-1.0, 0.5, 1.0])


def test_parameters_to_vector_round_trip_and_torch_order():
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(12, 4))
    vec = nn.utils.parameters_to_vector(net.parameters())
    assert vec.dtype == np.float32 and vec.shape == (sum(p.numel() for p in net.parameters()),)
    np.testing.assert_array_equal(vec, np.concatenate([p.data.ravel() for p in net.parameters()]))
    nn.utils.vector_to_parameters(vec * 2, net.parameters())
    np.testing.assert_array_equal(nn.utils.parameters_to_vector(net.parameters()), vec * 2)
    y = net(randn((1, 2, 4, 4)))  # the conv re-packed its doubled weights
    assert y.shape == (1, 4)
    torch = pytest.importorskip("torch")
    tps = [torch.tensor(p.data) for p in net.parameters()]
    np.testing.assert_array_equal(torch.nn.utils.parameters_to_vector(tps).numpy(),
                                  nn.utils.parameters_to_vector(net.parameters()))


# ------------------------------------------------------------------- containers, module ---

def test_module_list_and_dict_register_children_with_torchs_keys():
    ml = nn.ModuleList([nn.Linear(2, 3), nn.ReLU()])
    ml.append(nn.Linear(3, 1))
    ml.insert(1, nn.Linear(3, 3))
    assert [type(m).__name__ for m in ml] == ["Linear", "Linear", "ReLU", "Linear"]
    assert list(ml.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"]
    del ml[1]
    assert list(ml.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert isinstance(ml[0:2], nn.ModuleList) and len(ml[0:2]) == 2 and ml[-1] is ml[2]
    md = nn.ModuleDict({"enc": nn.Conv2d(1, 2, 3), "dec": nn.Conv2d(2, 1, 3)})
    md["head"] = nn.Linear(2, 2)
    assert list(md) == ["enc", "dec", "head"] and "dec" in md and len(md) == 3
    assert list(md.state_dict())[:2] == ["enc.weight", "enc.bias"]
    assert md.pop("head").in_features == 2 and list(md.keys()) == ["enc", "dec"]
    torch = pytest.importorskip("torch")
    tml = torch.nn.ModuleList([torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)])
    ours = nn.ModuleList([nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)])
    assert list(tml.state_dict()) == list(ours.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in tml.state_dict().items()})


def test_module_list_in_a_custom_forward_trains():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Conv2d(2, 2, 3, padding=1) for _ in range(3)])

        def forward(self, x):
            for b in self.blocks:
                x = b(x).relu()
            return x.mean()

    net = Net()
    net(randn((2, 2, 5, 5))).backward()
    assert all(p.grad is not None for p in net.parameters())


def test_apply_requires_grad_numel_size():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1)))
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Conv2d", "BatchNorm2d", "Conv2d", "Sequential", "Sequential"]  # children first
    net.apply(lambda m: init.zeros_(m.bias) if isinstance(m, nn.Conv2d) else None)
    assert not net[0].bias.data.any()
    assert net.requires_grad_(False) is net and not any(p.requires_grad for p in net.parameters())
    net[1].requires_grad_()
    assert [p.requires_grad for p in net.parameters()] == [False, False, True, True, True, True]
    w = net[0].weight
    assert w.numel() == 108 and w.size() == (4, 3, 3, 3) and w.size(1) == 3 and w.size(-1) == 3 and w.dim() == 4


# -------------------------------------------------------------------------- Dropout2d ---

def test_dropout2d_drops_whole_channels_and_backward_uses_the_mask():
    x = randn((3, 20, 4, 5))
    cnncore.manual_seed(3)
    d = nn.Dropout2d(0.3)
    y = d(x).numpy()
    keep = np.abs(y).sum(axis=(2, 3)) > 0
    np.testing.assert_allclose(y, R.dropout2d(x, keep, 0.3), rtol=1e-6)
    assert 0.4 < keep.mean() < 0.95
    dy = randn(x.shape, 1)
    np.testing.assert_allclose(d.backward(dy), R.dropout2d(dy, keep, 0.3), rtol=1e-6)
    cnncore.manual_seed(3)
    np.testing.assert_array_equal(nn.Dropout2d(0.3)(x).numpy(), y)  # reproducible
    np.testing.assert_array_equal(d.eval()(x).numpy(), x)
    np.testing.assert_array_equal(nn.Dropout2d(1.0)(x).numpy(), 0)
