"""The losses beyond the fused cross-entropy: values and gradients of every option against the
float64 references (tests/reference.py, gradients by central differences) and against PyTorch
where it is installed; the recorded graph through them; the modules' options."""
import numpy as np
import pytest

import reference as R
import cnncore
from cnncore import functional as F
from cnncore import nn


def randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def value_and_grad(fn, x, *args, upstream=None, **kwargs):
    """The loss value and d loss / d x through the recorded graph."""
    xt = cnncore.Tensor(x, requires_grad=True)
    out = fn(xt, *args, **kwargs)
    if upstream is None:
        out.backward()
    else:
        out.backward(upstream)
    return out.numpy(), xt.grad


CE_TARGET = np.array([0, 3, 1, 2, 3])
CE_TARGET_IGN = np.array([0, -100, 1, 2, 3])
PROBS = np.random.default_rng(3).dirichlet(np.ones(4), size=5).astype(np.float32)
W4 = np.array([0.5, 1.0, 2.0, 0.25], np.float32)

CE_CASES = [
    ("plain-mean", randn((5, 4)), CE_TARGET, {}),
    ("weight-sum", randn((5, 4)), CE_TARGET, {"weight": W4, "reduction": "sum"}),
    ("weight-mean", randn((5, 4)), CE_TARGET, {"weight": W4}),
    ("ignore-mean", randn((5, 4)), CE_TARGET_IGN, {}),
    ("ignore-custom", randn((5, 4)), CE_TARGET, {"ignore_index": 3, "weight": W4}),
    ("none", randn((5, 4)), CE_TARGET_IGN, {"reduction": "none"}),
    ("smooth", randn((5, 4)), CE_TARGET, {"label_smoothing": 0.2}),
    ("smooth-weight-ignore", randn((5, 4)), CE_TARGET_IGN, {"label_smoothing": 0.1, "weight": W4}),
    ("probs", randn((5, 4)), PROBS, {}),
    ("probs-smooth-weight", randn((5, 4)), PROBS, {"label_smoothing": 0.3, "weight": W4, "reduction": "sum"}),
    ("nchw", randn((2, 4, 3, 2)), np.random.default_rng(1).integers(0, 4, (2, 3, 2)), {}),
    ("nchw-none-weight", randn((2, 4, 3, 2)), np.random.default_rng(1).integers(0, 4, (2, 3, 2)),
     {"reduction": "none", "weight": W4}),
    ("unbatched", randn((4,)), np.array(2), {}),
]


@pytest.mark.parametrize("name,x,t,kw", CE_CASES, ids=[c[0] for c in CE_CASES])
def test_cross_entropy_against_reference(name, x, t, kw):
    ref = R.cross_entropy_full(x, t, **kw)
    up = randn(np.shape(ref), 9) if kw.get("reduction") == "none" else None
    val, grad = value_and_grad(F.cross_entropy, x, t, upstream=up, **kw)
    np.testing.assert_allclose(val, ref, rtol=1e-5, atol=1e-6)
    ng = R.numeric_grad(lambda z: R.cross_entropy_full(z, t, **kw), x, up)
    np.testing.assert_allclose(grad, ng, rtol=1e-4, atol=1e-6)
    # NumPy in: a float (an array for 'none')
    out = F.cross_entropy(x, t, **kw)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


def test_cross_entropy_fast_path_kept():
    x = randn((6, 5))
    t = np.array([0, 1, 2, 3, 4, 0])
    assert isinstance(F.cross_entropy(x, t), float)
    xt = cnncore.Tensor(x, requires_grad=True)
    loss = nn.CrossEntropyLoss()(xt, t)
    assert cnncore.autograd.graph_ops(loss)[-1] == "CrossEntropy"  # the fused C kernel
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    loss = crit(x, t)
    assert cnncore.autograd.graph_ops(loss)[-1] == "CrossEntropyLoss"
    dx = crit.backward()
    np.testing.assert_allclose(dx, R.numeric_grad(lambda z: R.cross_entropy_full(z, t, label_smoothing=0.1), x),
                               rtol=1e-4, atol=1e-6)


def test_cross_entropy_all_ignored_is_nan_with_zero_gradient():
    val, grad = value_and_grad(F.cross_entropy, randn((2, 3)), np.array([-100, -100]))
    assert np.isnan(val)
    np.testing.assert_array_equal(grad, 0)


def test_cross_entropy_segmentation_trains_through_conv():
    conv = nn.Conv2d(3, 4, 3, padding=1)
    x = randn((2, 3, 5, 5))
    t = np.random.default_rng(0).integers(0, 4, (2, 5, 5))
    loss = nn.CrossEntropyLoss(ignore_index=0)(conv(x), t)
    loss.backward()
    assert conv.weight.grad.shape == conv.weight.shape and np.abs(conv.weight.grad).sum() > 0


NLL_CASES = [
    ("mean", randn((5, 4)), CE_TARGET, {}),
    ("weight-ignore", randn((5, 4)), CE_TARGET_IGN, {"weight": W4}),
    ("sum", randn((5, 4)), CE_TARGET, {"reduction": "sum"}),
    ("nchw-none", randn((2, 4, 3, 2)), np.random.default_rng(1).integers(0, 4, (2, 3, 2)), {"reduction": "none"}),
]


@pytest.mark.parametrize("name,x,t,kw", NLL_CASES, ids=[c[0] for c in NLL_CASES])
def test_nll_loss_against_reference(name, x, t, kw):
    ref = R.nll_loss_full(x, t, **kw)
    up = randn(np.shape(ref), 9) if kw.get("reduction") == "none" else None
    val, grad = value_and_grad(F.nll_loss, x, t, upstream=up, **kw)
    np.testing.assert_allclose(val, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, R.numeric_grad(lambda z: R.nll_loss_full(z, t, **kw), x, up),
                               rtol=1e-4, atol=1e-6)


PROB_X = (np.random.default_rng(4).uniform(0.05, 0.95, (3, 4))).astype(np.float32)
BIN_T = (np.random.default_rng(5).uniform(0, 1, (3, 4)) > 0.5).astype(np.float32)
ELEM = [
    ("mse", F.mse_loss, R.mse_loss, randn((3, 4)), randn((3, 4), 1), {}),
    ("mse-sum", F.mse_loss, R.mse_loss, randn((3, 4)), randn((3, 4), 1), {"reduction": "sum"}),
    ("l1", F.l1_loss, R.l1_loss, randn((3, 4)), randn((3, 4), 1), {}),
    ("l1-none", F.l1_loss, R.l1_loss, randn((3, 4)), randn((3, 4), 1), {"reduction": "none"}),
    ("smooth_l1", F.smooth_l1_loss, R.smooth_l1_loss, randn((3, 4)) * 2, randn((3, 4), 1), {}),
    ("smooth_l1-beta", F.smooth_l1_loss, R.smooth_l1_loss, randn((3, 4)) * 2, randn((3, 4), 1), {"beta": 0.5}),
    ("smooth_l1-beta0", F.smooth_l1_loss, R.smooth_l1_loss, randn((3, 4)), randn((3, 4), 1), {"beta": 0.0}),
    ("huber", F.huber_loss, R.huber_loss, randn((3, 4)) * 2, randn((3, 4), 1), {"delta": 1.5}),
    ("huber-none", F.huber_loss, R.huber_loss, randn((3, 4)) * 2, randn((3, 4), 1), {"reduction": "none"}),
    ("bce", F.binary_cross_entropy, R.binary_cross_entropy, PROB_X, BIN_T, {}),
    ("bce-weight", F.binary_cross_entropy, R.binary_cross_entropy, PROB_X, PROB_X[::-1].copy(),
     {"weight": np.array([1.0, 2.0, 0.5, 1.0], np.float32), "reduction": "sum"}),
    ("bcel", F.binary_cross_entropy_with_logits, R.binary_cross_entropy_with_logits, randn((3, 4)) * 3, BIN_T, {}),
    ("bcel-pos", F.binary_cross_entropy_with_logits, R.binary_cross_entropy_with_logits, randn((3, 4)) * 3,
     PROB_X, {"pos_weight": np.array([1.0, 3.0, 0.5, 2.0], np.float32), "weight": PROB_X[0]}),
    ("bcel-none", F.binary_cross_entropy_with_logits, R.binary_cross_entropy_with_logits, randn((3, 4)), BIN_T,
     {"reduction": "none"}),
    ("kl", F.kl_div, R.kl_div, np.log(PROB_X), np.where(BIN_T > 0, PROB_X, 0).astype(np.float32), {}),
    ("kl-batchmean", F.kl_div, R.kl_div, np.log(PROB_X), PROB_X[::-1].copy(), {"reduction": "batchmean"}),
    ("kl-logt", F.kl_div, R.kl_div, np.log(PROB_X), np.log(PROB_X[::-1]).astype(np.float32),
     {"log_target": True, "reduction": "sum"}),
]


@pytest.mark.parametrize("name,fn,ref_fn,x,t,kw", ELEM, ids=[c[0] for c in ELEM])
def test_elementwise_losses_against_reference(name, fn, ref_fn, x, t, kw):
    ref = ref_fn(x, t, **kw)
    up = randn(np.shape(ref), 9) if kw.get("reduction") == "none" else None
    val, grad = value_and_grad(fn, x, t, upstream=up, **kw)
    np.testing.assert_allclose(val, ref, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(grad, R.numeric_grad(lambda z: ref_fn(z, t, **kw), x, up, h=1e-7),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fn(x, t, **kw), ref, rtol=2e-5, atol=1e-6)


def test_regression_losses_give_target_gradients():
    x, t = cnncore.Tensor(randn((3, 4)), requires_grad=True), cnncore.Tensor(randn((3, 4), 1), requires_grad=True)
    F.mse_loss(x, t).backward()
    np.testing.assert_allclose(t.grad, -x.grad, rtol=1e-6)


def test_loss_modules_match_functional_and_state_dict():
    x, t = randn((3, 4)), BIN_T
    for crit, fn in ((nn.MSELoss(reduction="sum"), lambda: F.mse_loss(x, t, reduction="sum")),
                     (nn.L1Loss(), lambda: F.l1_loss(x, t)),
                     (nn.SmoothL1Loss(beta=0.3), lambda: F.smooth_l1_loss(x, t, beta=0.3)),
                     (nn.HuberLoss(delta=0.7), lambda: F.huber_loss(x, t, delta=0.7)),
                     (nn.BCELoss(), lambda: F.binary_cross_entropy(PROB_X, t)),
                     (nn.BCEWithLogitsLoss(pos_weight=W4), lambda: F.binary_cross_entropy_with_logits(x, t, pos_weight=W4)),
                     (nn.KLDivLoss(reduction="batchmean"), lambda: F.kl_div(np.log(PROB_X), PROB_X, reduction="batchmean")),
                     (nn.NLLLoss(weight=W4), lambda: F.nll_loss(x, CE_TARGET[:3], weight=W4))):
        a = crit(PROB_X if isinstance(crit, nn.BCELoss) else np.log(PROB_X) if isinstance(crit, nn.KLDivLoss) else x,
                 CE_TARGET[:3] if isinstance(crit, nn.NLLLoss) else PROB_X if isinstance(crit, nn.KLDivLoss) else t)
        np.testing.assert_allclose(float(a), fn(), rtol=1e-6)
    assert set(nn.CrossEntropyLoss(weight=W4).state_dict()) == {"weight"}
    assert set(nn.BCEWithLogitsLoss(pos_weight=W4).state_dict()) == {"pos_weight"}
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.L1Loss(reduce=False).reduction == "none"


def test_loss_module_backward_with_reduction_none():
    crit = nn.MSELoss(reduction="none")
    x, t = randn((2, 3)), randn((2, 3), 1)
    crit(x, t)
    up = randn((2, 3), 2)
    np.testing.assert_allclose(crit.backward(up), up * 2 * (x - t), rtol=1e-5)


# ---------------------------------------------------------------------- against PyTorch ---

def _torch_case(torch, fn, x, t, kw, int_target=False):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tt = torch.tensor(t) if int_target else torch.tensor(t, dtype=torch.float64)
    kw = {k: (torch.tensor(v, dtype=torch.float64) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    out = fn(xt, tt, **kw)
    up = torch.tensor(randn(tuple(out.shape), 9), dtype=torch.float64) if out.ndim else torch.tensor(1.0, dtype=torch.float64)
    out.backward(up)
    return out.detach().numpy(), xt.grad.numpy(), up.numpy()


@pytest.mark.parametrize("name,x,t,kw", CE_CASES + [("nll-" + c[0],) + c[1:] for c in NLL_CASES],
                         ids=[c[0] for c in CE_CASES] + ["nll-" + c[0] for c in NLL_CASES])
def test_class_losses_against_torch(name, x, t, kw):
    torch = pytest.importorskip("torch")
    probs = t.dtype.kind == "f"
    fn, ours = ((torch.nn.functional.nll_loss, F.nll_loss) if name.startswith("nll")
                else (torch.nn.functional.cross_entropy, F.cross_entropy))
    ref, gref, up = _torch_case(torch, fn, x, t.astype(np.int64) if not probs else t, kw, not probs)
    val, grad = value_and_grad(ours, x, t, upstream=up if up.ndim else None, **kw)
    np.testing.assert_allclose(val, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, gref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,fn,ref_fn,x,t,kw", ELEM, ids=[c[0] for c in ELEM])
def test_elementwise_losses_against_torch(name, fn, ref_fn, x, t, kw):
    torch = pytest.importorskip("torch")
    tf = getattr(torch.nn.functional, fn.__name__)
    ref, gref, up = _torch_case(torch, tf, x, t, kw)
    val, grad = value_and_grad(fn, x, t, upstream=up if up.ndim else None, **kw)
    np.testing.assert_allclose(val, ref, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(grad, gref, rtol=2e-5, atol=1e-6)


def test_classifier_with_label_smoothing_trains_on_digits():
    """A small CNN with CrossEntropyLoss(label_smoothing), RMSprop, gradient clipping and a
    warm-up schedule, fed by the dataset-style DataLoader: the training loss falls and the
    accuracy rises well above chance within two epochs of a subset."""
    from cnncore import data, optim

    cnncore.manual_seed(0)
    x, y = data.load_digits()
    ds = data.TensorDataset(x[:400], y[:400])
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Dropout(0.1), nn.Linear(8 * 4 * 4, 10))
    net.apply(lambda m: nn.init.kaiming_normal_(m.weight, nonlinearity="relu") if isinstance(m, nn.Conv2d) else None)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    opt = optim.RMSprop(net.parameters(), lr=3e-3)
    sched = optim.lr_scheduler.SequentialLR(opt, [optim.lr_scheduler.LinearLR(opt, 0.2, total_iters=5),
                                                  optim.lr_scheduler.ExponentialLR(opt, 0.99)], [5])
    losses = []
    for epoch in range(2):
        for xb, yb in data.DataLoader(ds, batch_size=32, shuffle=True):
            opt.zero_grad()
            loss = crit(net(xb), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
            losses.append(float(loss))
    net.eval()
    acc = float((net(x[1000:1400]).numpy().argmax(1) == y[1000:1400]).mean())
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])  # 2.30 -> 1.23 on this seed
    assert acc > 0.6  # 0.81 on this seed
