"""The schedulers beyond StepLR/MultiStepLR/CosineAnnealingLR/OneCycleLR: lr sequences against
closed forms and against torch.optim.lr_scheduler (equal values), state_dict round trips."""
import math
import warnings

import numpy as np
import pytest

from cnncore import optim
from cnncore.nn import Parameter
from cnncore.optim import lr_scheduler as S

N = 30


def _opt(cls=optim.SGD, lrs=(0.1, 0.02), **kw):
    groups = [{"params": [Parameter(np.zeros(3))], "lr": lr} for lr in lrs]
    return cls(groups, lr=lrs[0], **kw)


def _seq(sched, opt, n=N, metrics=None):
    out = [sched.get_last_lr()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            opt.step()
            sched.step() if metrics is None else sched.step(metrics[i])
            out.append(sched.get_last_lr())
    return out


def _momenta(opt):
    return [g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups]


def _lam(e):
    return 0.9 ** e + 0.01 * e


CASES = [
    ("LambdaLR", lambda o: S.LambdaLR(o, _lam), lambda t, o: t.LambdaLR(o, _lam)),
    ("LambdaLR-list", lambda o: S.LambdaLR(o, [_lam, lambda e: 1 / (1 + e)]),
     lambda t, o: t.LambdaLR(o, [_lam, lambda e: 1 / (1 + e)])),
    ("MultiplicativeLR", lambda o: S.MultiplicativeLR(o, lambda e: 0.95), lambda t, o: t.MultiplicativeLR(o, lambda e: 0.95)),
    ("ExponentialLR", lambda o: S.ExponentialLR(o, 0.9), lambda t, o: t.ExponentialLR(o, 0.9)),
    ("LinearLR", lambda o: S.LinearLR(o), lambda t, o: t.LinearLR(o)),
    ("LinearLR-down", lambda o: S.LinearLR(o, 1.0, 0.1, 7), lambda t, o: t.LinearLR(o, 1.0, 0.1, 7)),
    ("ConstantLR", lambda o: S.ConstantLR(o, 0.5, 4), lambda t, o: t.ConstantLR(o, 0.5, 4)),
    ("PolynomialLR", lambda o: S.PolynomialLR(o, 10, 2.0), lambda t, o: t.PolynomialLR(o, 10, 2.0)),
    ("CosineAnnealingWarmRestarts", lambda o: S.CosineAnnealingWarmRestarts(o, 5, 2, 0.001),
     lambda t, o: t.CosineAnnealingWarmRestarts(o, 5, 2, 0.001)),
    ("CosineAnnealingWarmRestarts-1", lambda o: S.CosineAnnealingWarmRestarts(o, 4),
     lambda t, o: t.CosineAnnealingWarmRestarts(o, 4)),
    ("CyclicLR", lambda o: S.CyclicLR(o, 0.01, 0.1, 4), lambda t, o: t.CyclicLR(o, 0.01, 0.1, 4)),
    ("CyclicLR-tri2", lambda o: S.CyclicLR(o, [0.01, 0.001], 0.1, 3, 5, mode="triangular2"),
     lambda t, o: t.CyclicLR(o, [0.01, 0.001], 0.1, 3, 5, mode="triangular2")),
    ("CyclicLR-exp", lambda o: S.CyclicLR(o, 0.01, 0.1, 3, mode="exp_range", gamma=0.95),
     lambda t, o: t.CyclicLR(o, 0.01, 0.1, 3, mode="exp_range", gamma=0.95)),
    ("SequentialLR", lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=4), S.ExponentialLR(o, 0.9)], [4]),
     lambda t, o: t.SequentialLR(o, [t.LinearLR(o, 0.1, total_iters=4), t.ExponentialLR(o, 0.9)], [4])),
    ("SequentialLR-3", lambda o: S.SequentialLR(o, [S.ConstantLR(o, 0.2, 3), S.StepLR(o, 3, 0.5),
                                                    S.CosineAnnealingLR(o, 6)], [3, 12]),
     lambda t, o: t.SequentialLR(o, [t.ConstantLR(o, 0.2, 3), t.StepLR(o, 3, 0.5), t.CosineAnnealingLR(o, 6)], [3, 12])),
    ("ChainedScheduler", lambda o: S.ChainedScheduler([S.ConstantLR(o, 0.5, 5), S.ExponentialLR(o, 0.9)]),
     lambda t, o: t.ChainedScheduler([t.ConstantLR(o, 0.5, 5), t.ExponentialLR(o, 0.9)])),
]

METRICS = [1.0, 0.9, 0.95, 0.96, 0.97, 0.97, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.5, 0.6, 0.6,
           0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
PLATEAU = [
    ("ReduceLROnPlateau", dict(patience=2)),
    ("ReduceLROnPlateau-max-abs", dict(mode="max", patience=1, threshold=0.05, threshold_mode="abs", cooldown=2)),
    ("ReduceLROnPlateau-min_lr", dict(factor=0.5, patience=0, min_lr=[0.03, 0.0])),
]


@pytest.mark.parametrize("name,ours,theirs", CASES, ids=[c[0] for c in CASES])
def test_lr_sequence_equals_torch(name, ours, theirs):
    torch = pytest.importorskip("torch")
    o = _opt(momentum=0.9)
    mine = _seq(ours(o), o)
    moms = _momenta(o)
    tp = [torch.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)]
    to = torch.optim.SGD([{"params": [tp[0]], "lr": 0.1}, {"params": [tp[1]], "lr": 0.02}], lr=0.1, momentum=0.9)
    ref = _seq(theirs(torch.optim.lr_scheduler, to), to)
    assert mine == ref
    assert moms == [g["momentum"] for g in to.param_groups]


@pytest.mark.parametrize("name,kw", PLATEAU, ids=[p[0] for p in PLATEAU])
def test_plateau_equals_torch(name, kw):
    torch = pytest.importorskip("torch")
    o = _opt()
    mine = _seq(S.ReduceLROnPlateau(o, **kw), o, metrics=METRICS)
    tp = [torch.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)]
    to = torch.optim.SGD([{"params": [tp[0]], "lr": 0.1}, {"params": [tp[1]], "lr": 0.02}], lr=0.1)
    ref = _seq(torch.optim.lr_scheduler.ReduceLROnPlateau(to, **kw), to, metrics=METRICS)
    assert mine == ref


def test_cyclic_lr_cycles_adam_beta1_as_torch():
    torch = pytest.importorskip("torch")
    o = _opt(optim.Adam)
    _seq(S.CyclicLR(o, 0.01, 0.1, 3), o, 7)
    tp = [torch.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)]
    to = torch.optim.Adam([{"params": [tp[0]], "lr": 0.1}, {"params": [tp[1]], "lr": 0.02}], lr=0.1)
    _seq(torch.optim.lr_scheduler.CyclicLR(to, 0.01, 0.1, 3), to, 7)
    assert [g["betas"] for g in o.param_groups] == [tuple(g["betas"]) for g in to.param_groups]


def test_closed_forms():
    """The schedules against their closed forms, written out in float64."""
    o = _opt(lrs=(0.1,))
    seq = _seq(S.ExponentialLR(o, 0.8), o, 10)
    np.testing.assert_allclose([s[0] for s in seq], [0.1 * 0.8 ** e for e in range(11)], rtol=1e-12)
    o = _opt(lrs=(0.1,))
    seq = _seq(S.PolynomialLR(o, 6, 1.5), o, 10)
    np.testing.assert_allclose([s[0] for s in seq], [0.1 * (1 - min(e, 6) / 6) ** 1.5 for e in range(11)],
                               rtol=1e-12, atol=1e-15)
    o = _opt(lrs=(0.1,))
    seq = _seq(S.LinearLR(o, 0.25, 1.0, 4), o, 8)
    np.testing.assert_allclose([s[0] for s in seq], [0.1 * (0.25 + 0.75 * min(e, 4) / 4) for e in range(9)],
                               rtol=1e-12)
    o = _opt(lrs=(0.1,))
    seq = _seq(S.CosineAnnealingWarmRestarts(o, 3, 2), o, 9)  # periods 3, 6
    tcur = [0, 1, 2, 0, 1, 2, 3, 4, 5, 0]
    ti = [3, 3, 3, 6, 6, 6, 6, 6, 6, 12]
    np.testing.assert_allclose([s[0] for s in seq], [0.05 * (1 + math.cos(math.pi * c / i)) for c, i in zip(tcur, ti)],
                               rtol=1e-12, atol=1e-15)
    o = _opt(lrs=(0.1,), momentum=0.9)
    seq = _seq(S.CyclicLR(o, 0.0, 1.0, 2, 2), o, 8)
    np.testing.assert_allclose([s[0] for s in seq], [0, 0.5, 1, 0.5, 0, 0.5, 1, 0.5, 0], atol=1e-12)


@pytest.mark.parametrize("name,ours,theirs", CASES, ids=[c[0] for c in CASES])
def test_state_dict_round_trip(name, ours, theirs):
    o1 = _opt(momentum=0.9)
    s1 = ours(o1)
    _seq(s1, o1, 7)
    saved, osaved = s1.state_dict(), o1.state_dict()
    rest1 = _seq(s1, o1, 8)
    o2 = _opt(momentum=0.9)
    s2 = ours(o2)
    o2.load_state_dict(osaved)
    s2.load_state_dict(saved)
    assert _seq(s2, o2, 8) == rest1


def test_plateau_state_dict_round_trip():
    o1 = _opt()
    s1 = S.ReduceLROnPlateau(o1, patience=1)
    _seq(s1, o1, 10, METRICS)
    saved, osaved = s1.state_dict(), o1.state_dict()
    rest1 = _seq(s1, o1, 10, METRICS[10:])
    o2 = _opt()
    s2 = S.ReduceLROnPlateau(o2, patience=1)
    o2.load_state_dict(osaved)
    s2.load_state_dict(saved)
    assert _seq(s2, o2, 10, METRICS[10:]) == rest1
