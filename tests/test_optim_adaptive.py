"""RMSprop, Adagrad, Adamax, NAdam, RAdam: trajectories against the float64 references
(tests/reference.py) and against torch.optim step by step, state_dict round trips, param groups,
maximize."""
import numpy as np
import pytest

import reference as R
from cnncore import optim
from cnncore.nn import Parameter

SHAPES = [(6, 5), (17,), (2, 3, 3, 3)]
STEPS = 12  # RAdam's rectification starts at step 6


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(STEPS)]
    return init, grads


def _run(cls, kw, init, grads):
    params = [Parameter(a) for a in init]
    opt = cls(params, **kw)
    traj = []
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = g
        opt.step()
        traj.append([p.data.copy() for p in params])
    return params, opt, traj


CASES = [
    (optim.RMSprop, R.rmsprop, {}),
    (optim.RMSprop, R.rmsprop, {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    (optim.RMSprop, R.rmsprop, {"alpha": 0.9, "eps": 1e-6, "momentum": 0.5, "maximize": True}),
    (optim.Adagrad, R.adagrad, {}),
    (optim.Adagrad, R.adagrad, {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.01,
                                "initial_accumulator_value": 0.1, "maximize": True}),
    (optim.Adamax, R.adamax, {}),
    (optim.Adamax, R.adamax, {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1, "maximize": True}),
    (optim.NAdam, R.nadam, {}),
    (optim.NAdam, R.nadam, {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01}),
    (optim.NAdam, R.nadam, {"weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    (optim.RAdam, R.radam, {}),
    (optim.RAdam, R.radam, {"lr": 0.01, "weight_decay": 0.1}),
    (optim.RAdam, R.radam, {"weight_decay": 0.1, "decoupled_weight_decay": True, "betas": (0.8, 0.9)}),
]
IDS = ["%s-%d" % (c[0].__name__, i) for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls,ref,kw", CASES, ids=IDS)
def test_matches_float64_reference(cls, ref, kw):
    init, grads = _problem()
    params, _, _ = _run(cls, kw, init, grads)
    for k, p in enumerate(params):
        expected = ref(init[k], [g[k] for g in grads], **kw)
        scale = max(1.0, float(np.abs(expected).max()))
        assert np.abs(p.data - expected).max() <= 5e-6 * scale


@pytest.mark.parametrize("cls,ref,kw", CASES, ids=IDS)
def test_matches_torch_every_step(cls, ref, kw):
    torch = pytest.importorskip("torch")
    init, grads = _problem(1)
    _, _, traj = _run(cls, kw, init, grads)
    tparams = [torch.tensor(a, requires_grad=True) for a in init]
    topt = getattr(torch.optim, cls.__name__)(tparams, **kw)
    for step, step_grads in enumerate(grads):
        for p, g in zip(tparams, step_grads):
            p.grad = torch.tensor(g)
        topt.step()
        for ours, theirs in zip(traj[step], tparams):
            np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-6, atol=1e-6)  # float32 rounding (torch may fuse multiply-adds)


@pytest.mark.parametrize("cls,ref,kw", CASES, ids=IDS)
def test_state_dict_round_trip_continues_identically(cls, ref, kw):
    init, grads = _problem(2)
    half = STEPS // 2
    params, opt, _ = _run(cls, kw, init, grads[:half])
    saved = opt.state_dict()
    values = [p.data.copy() for p in params]
    for step_grads in grads[half:]:
        for p, g in zip(params, step_grads):
            p.grad = g
        opt.step()
    params2 = [Parameter(v) for v in values]
    opt2 = cls(params2, **kw)
    opt2.load_state_dict(saved)
    for step_grads in grads[half:]:
        for p, g in zip(params2, step_grads):
            p.grad = g
        opt2.step()
    for a, b in zip(params, params2):
        np.testing.assert_array_equal(a.data, b.data)


def test_torch_state_dict_loads_and_continues():
    torch = pytest.importorskip("torch")
    init, grads = _problem(3)
    tparams = [torch.tensor(a, requires_grad=True) for a in init]
    topt = torch.optim.NAdam(tparams, lr=0.01)
    for step_grads in grads[:4]:
        for p, g in zip(tparams, step_grads):
            p.grad = torch.tensor(g)
        topt.step()
    sd = topt.state_dict()
    sd = {"param_groups": sd["param_groups"],
          "state": {k: {n: (v.numpy() if hasattr(v, "numpy") else v) for n, v in s.items()}
                    for k, s in sd["state"].items()}}
    params = [Parameter(p.detach().numpy()) for p in tparams]
    opt = optim.NAdam(params, lr=0.01)
    opt.load_state_dict(sd)
    for step_grads in grads[4:]:
        for p, tp, g in zip(params, tparams, step_grads):
            p.grad = g
            tp.grad = torch.tensor(g)
        opt.step()
        topt.step()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=2e-6, atol=2e-7)


def test_param_groups_and_grad_untouched():
    init, grads = _problem(4)
    params = [Parameter(a) for a in init]
    opt = optim.RMSprop([{"params": params[:1], "lr": 0.1}, {"params": params[1:]}], lr=0.01,
                        maximize=True)
    g0 = grads[0][0].copy()
    for p, g in zip(params, grads[0]):
        p.grad = g
    opt.step()
    np.testing.assert_array_equal(params[0].grad, g0)
    np.testing.assert_allclose(params[0].data, R.rmsprop(init[0], [g0], lr=0.1, maximize=True), rtol=1e-5)
    np.testing.assert_allclose(params[1].data, R.rmsprop(init[1], [grads[0][1]], lr=0.01, maximize=True),
                               rtol=1e-5)
    assert len(optim.Adagrad(params).state) == len(params)  # torch creates Adagrad's state at once


@pytest.mark.parametrize("cls", [optim.RMSprop, optim.Adagrad, optim.Adamax, optim.NAdam, optim.RAdam])
def test_defaults_match_torch(cls):
    torch = pytest.importorskip("torch")
    ours = cls([Parameter(np.zeros(2))]).defaults
    theirs = getattr(torch.optim, cls.__name__)([torch.zeros(2, requires_grad=True)]).defaults
    for k, v in ours.items():
        if k in theirs and k not in ("foreach", "fused"):
            assert theirs[k] == v or tuple(theirs[k]) == tuple(v), k


KERNELS = {"RMSprop": "rmsprop_update", "Adagrad": "adagrad_update", "Adamax": "adamax_update",
           "NAdam": "nadam_update", "RAdam": "radam_update"}


@pytest.mark.parametrize("cls", [optim.RMSprop, optim.Adagrad, optim.Adamax, optim.NAdam, optim.RAdam])
def test_one_fused_kernel_call_per_parameter(cls, monkeypatch):
    from cnncore import _kernels

    name = KERNELS[cls.__name__]
    real, calls = getattr(_kernels, name), []
    monkeypatch.setattr(_kernels, name, lambda *a: calls.append(1) or real(*a))
    params = [Parameter(np.ones(s)) for s in SHAPES + [(40000,)]]  # the last: the threaded path
    for p in params:
        p.grad = np.full(p.shape, 0.5, np.float32)
    g0 = params[0].grad.copy()
    cls(params, maximize=True).step()
    assert len(calls) == len(params)
    np.testing.assert_array_equal(params[0].grad, g0)  # the gradient is never written
    np.testing.assert_array_equal(params[-1].data[:10], params[-1].data[-10:])  # every element updated alike
    assert (params[-1].data > 1).all()  # maximize climbs


def test_kernels_check_sizes():
    from cnncore import _kernels

    a, b = np.zeros(4, np.float32), np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="grad"):
        _kernels.adagrad_update(a, b, a.copy(), 0.1, 1e-10, 0.0)
    with pytest.raises(ValueError, match="exp_avg_sq"):
        _kernels.radam_update(a, a.copy(), a.copy(), b, 0.1, 0.9, 0.999, 1e-8, 0.0, False, 1)
    with pytest.raises(ValueError, match="momentum_buffer"):
        _kernels.rmsprop_update(a, a.copy(), a.copy(), None, None, 0.1, 0.99, 1e-8, 0.0, 0.9)
