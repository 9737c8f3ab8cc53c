"""The tutorial's table of architectures (AlexNet, VGG-16, VGG-16-BN, GoogLeNet, EfficientNet-B0):
torchvision's parameter counts (exact numbers from torchvision), and the same outputs (eval) and
gradients (training) as PyTorch twins written here from torchvision's model definitions, given the
same weights, on small inputs (the big models are never run at 224x224 here)."""
import copy

import numpy as np
import pytest

import cnncore
from cnncore import models, nn


def twins():
    from cnncore.bench import torch_table as torch_twins

    return torch_twins

# torchvision 0.28's parameter counts at 1000 classes
TORCHVISION_PARAMS = {"alexnet": 61_100_840, "vgg16": 138_357_544, "vgg16_bn": 138_365_992,
                      "googlenet": 13_004_888, "efficientnet_b0": 5_288_548}


def count(model):
    return sum(int(np.prod(p.shape)) for p in model.parameters())


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMS))
def test_parameter_counts_are_torchvisions(name):
    assert count(models.get_model(name)) == TORCHVISION_PARAMS[name]


def test_googlenet_without_aux_heads_has_the_tables_count():
    assert count(models.googlenet(aux_logits=False)) == 6_624_904
    assert count(models.googlenet(num_classes=10, aux_logits=False)) == 6_624_904 - 1024 * 990 - 990


def test_googlenet_returns_aux_logits_in_training_only():
    cnncore.manual_seed(0)
    m = models.googlenet(num_classes=5)
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    out = m(x)
    assert isinstance(out, tuple) and [o.shape for o in out] == [(2, 5)] * 3
    m.eval()
    assert m(x).shape == (2, 5)
    with pytest.raises(ValueError, match="transform_input"):
        models.googlenet(transform_input=True, in_channels=1)


def test_mbconv_rejects_bad_stride():
    with pytest.raises(ValueError, match="stride"):
        models.MBConv(6, 3, 3, 16, 24)


# ----------------------------------------------------------------- stochastic depth ---

def test_stochastic_depth_drops_whole_rows_and_rescales():
    cnncore.manual_seed(0)
    x = np.random.default_rng(1).standard_normal((64, 5, 3, 3)).astype(np.float32) + 3.0
    sd = nn.StochasticDepth(0.25, "row")
    y = sd(x).numpy()
    ratio = y / x
    kept = np.isclose(ratio, 1 / 0.75).all(axis=(1, 2, 3))
    dropped = (ratio == 0).all(axis=(1, 2, 3))
    assert (kept | dropped).all() and 0 < dropped.sum() < 64  # per sample: all or nothing
    assert abs(dropped.mean() - 0.25) < 0.15
    dx = sd.backward(np.ones_like(x))  # the same mask scales the gradient
    np.testing.assert_allclose(dx, np.broadcast_to(np.where(kept, 1 / 0.75, 0.0)[:, None, None, None], x.shape),
                               rtol=1e-6)
    yb = nn.StochasticDepth(0.5, "batch")(x).numpy()  # one draw for the batch
    assert (yb == 0).all() or np.allclose(yb, 2 * x)
    assert (nn.StochasticDepth(1.0, "row")(x).numpy() == 0).all()
    sd.eval()
    np.testing.assert_array_equal(sd(x).numpy(), x)
    np.testing.assert_array_equal(nn.stochastic_depth(x, 0.5, "row", training=False), x)  # NumPy in, out
    y = nn.stochastic_depth(x, 0.5, "batch")
    assert isinstance(y, np.ndarray) and ((y == 0).all() or np.allclose(y, 2 * x))
    t = cnncore.Tensor(x, requires_grad=True)
    out = nn.stochastic_depth(t, 0.5, "row")
    assert isinstance(out, cnncore.Tensor)
    out.sum().backward()
    np.testing.assert_allclose(t.grad, out.numpy() / x, rtol=1e-5)  # d(x * noise)/dx = noise


def test_efficientnet_stochastic_depth_grows_linearly_over_blocks():
    m = models.efficientnet_b0(num_classes=10)
    ps = [b.stochastic_depth.p for stage in list(m.features)[1:-1] for b in stage]
    assert len(ps) == 16
    np.testing.assert_allclose(ps, [0.2 * i / 16 for i in range(16)])


# (name, cnncore builder, torch twin builder, input shape[, also compare training gradients])
CASES = [
    ("alexnet", lambda: models.alexnet(10), lambda: twins().t_alexnet(10), (1, 3, 64, 64)),
    ("vgg16", lambda: models.vgg16(10), lambda: twins().t_vgg(10, False), (1, 3, 32, 32)),
    ("vgg16_bn", lambda: models.vgg16_bn(10), lambda: twins().t_vgg(10, True), (2, 3, 32, 32)),
    ("googlenet", lambda: models.googlenet(10), lambda: twins().TGoogLeNet(10), (2, 3, 32, 32)),
    ("googlenet_transform", lambda: models.googlenet(10, aux_logits=False, transform_input=True),
     lambda: twins().TGoogLeNet(10, aux_logits=False, transform_input=True), (2, 3, 32, 32), False),
    # 64x64: at 32x32 the last stages' training-mode BN sees two values per channel, where float32
    # rounding decides the sign of nearly equal pairs (in PyTorch as in cnncore)
    ("efficientnet_b0", lambda: models.efficientnet_b0(10), lambda: twins().t_efficientnet_b0(10), (2, 3, 64, 64)),
]


def _randomize_bn(tm, gen):
    with torch.no_grad():
        for m in tm.modules():
            if isinstance(m, tnn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.from_numpy(gen.uniform(-0.2, 0.2, c).astype(np.float32)))
                m.running_var.copy_(torch.from_numpy(gen.uniform(0.5, 1.5, c).astype(np.float32)))
                m.weight.copy_(torch.from_numpy(gen.uniform(0.5, 1.5, c).astype(np.float32)))
                m.bias.copy_(torch.from_numpy(gen.uniform(-0.2, 0.2, c).astype(np.float32)))


def _no_randomness(tm, model):
    """Dropout and stochastic depth off in both (their masks come from different generators)."""
    for m in tm.modules():
        if isinstance(m, tnn.Dropout) or type(m).__name__ == "StochasticDepth":
            m.p = 0.0
    for m in model.modules():
        if type(m).__name__ in ("Dropout", "StochasticDepth"):
            m.p = 0.0


def _rel_err(got, want, floor=1e-6):
    return float(np.abs(np.asarray(got, np.float64) - want).max() / max(np.abs(want).max(), floor))


CASES = [c if len(c) == 5 else c + (True,) for c in CASES]


@pytest.mark.parametrize("name,make,make_torch,shape,train", CASES, ids=[c[0] for c in CASES])
def test_matches_torchvision_definition(name, make, make_torch, shape, train):
    global torch, tnn
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    torch.manual_seed(0)
    gen = np.random.default_rng(0)
    tm = make_torch()
    _randomize_bn(tm, gen)
    model = make()
    tstate = tm.state_dict()
    assert {k: tuple(v.shape) for k, v in tstate.items()} == {k: np.shape(v) for k, v in model.state_dict().items()}
    model.load_state_dict({k: v.numpy() for k, v in tstate.items()})
    x = gen.standard_normal(shape).astype(np.float32)
    # eval: outputs
    tm.eval()
    model.eval()
    with torch.no_grad():
        want = tm(torch.from_numpy(x)).numpy()
    got = model(x).numpy()
    assert _rel_err(got, want) < 1e-3, name
    if not train:
        return
    # training (batch statistics), dropout and stochastic depth off: every parameter's gradient
    tm.train()
    model.train()
    _no_randomness(tm, model)
    tout = tm(torch.from_numpy(x))
    out = model(x)
    touts, outs = (tout, out) if isinstance(tout, tuple) else ((tout,), (out,))
    assert len(outs) == len(touts)
    proj = [gen.standard_normal(o.shape).astype(np.float32) for o in touts]
    sum((o * torch.from_numpy(p)).sum() for o, p in zip(touts, proj)).backward()
    loss = None
    for o, p in zip(outs, proj):
        term = (o * p).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    for o, t in zip(outs, touts):
        assert _rel_err(o.numpy(), t.detach().numpy()) < 1e-3, name
    tgrads = {n: p.grad.numpy() for n, p in tm.named_parameters()}
    # a conv bias before a training-mode BN has a zero gradient: both sides are rounding noise,
    # so each error is relative to at least a thousandth of the largest gradient in the net
    floor = 1e-3 * max(float(np.abs(g).max()) for g in tgrads.values())
    bad = [n for n, p in model.named_parameters() if _rel_err(p.grad, tgrads[n], floor) >= 2e-3]
    if bad:  # deep nets, BN over a few values: no worse than PyTorch's float32 against float64
        # (training-mode outputs do not depend on the running statistics the forward moved)
        t64 = copy.deepcopy(tm).double()
        t64.zero_grad(set_to_none=True)
        outs64 = t64(torch.from_numpy(x).double())
        outs64 = outs64 if isinstance(outs64, tuple) else (outs64,)
        sum((o * torch.from_numpy(p).double()).sum() for o, p in zip(outs64, proj)).backward()
        g64 = {n: p.grad.numpy() for n, p in t64.named_parameters()}
        params = dict(model.named_parameters())
        for n in bad:
            ours, theirs = _rel_err(params[n].grad, g64[n], floor), _rel_err(tgrads[n], g64[n], floor)
            assert ours <= max(2e-3, 2 * theirs), (name, n, ours, theirs)
