"""cnncore.optim: optimizers against float64 NumPy versions of torch.optim's formulas, their
state_dict format and round trip, the lr schedulers against closed forms, and bad arguments."""
import math
import warnings

import numpy as np
import pytest

from cnncore import _kernels
from cnncore.nn import Parameter
from cnncore.optim import SGD, Adam, AdamW, Optimizer, lr_scheduler

SHAPES = [(6, 5), (17,), (3, 2, 3, 3), (40000,)]  # the last one takes the kernels' threaded path
STEPS = 6


def _problem(seed=0, shapes=SHAPES, steps=STEPS):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(steps)]
    return init, grads


def _assert_float32_close(actual, expected, name):
    """A float32 run against a float64 reference: error within a few float32 ulps of the scale."""
    scale = max(1.0, float(np.max(np.abs(expected))))
    err = float(np.max(np.abs(np.asarray(actual, np.float64) - expected)))
    assert err <= 2e-6 * scale, "%s: max abs error %.3g (scale %.3g)" % (name, err, scale)


# ----------------------------------------------------------------------------------------------
# float64 references: torch.optim's single-tensor formulas, written out


def ref_sgd(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
            maximize=False):
    p = np.asarray(p, np.float64)
    buf = None
    for g in grads:
        g = np.asarray(g, np.float64)
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p, buf


def ref_adam(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             decoupled=False, maximize=False):
    beta1, beta2 = betas
    p = np.asarray(p, np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    vmax = np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        g = np.asarray(g, np.float64)
        if maximize:
            g = -g
        if weight_decay != 0:
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        if amsgrad:
            vmax = np.maximum(vmax, v)
            vhat = vmax
        else:
            vhat = v
        denom = np.sqrt(vhat) / math.sqrt(1 - beta2 ** t) + eps
        p = p - lr / (1 - beta1 ** t) * m / denom
    return p, m, v, (vmax if amsgrad else None)


def _run(make_opt, init, grads):
    params = [Parameter(a) for a in init]
    opt = make_opt(params)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = g
        opt.step()
    return params, opt


# ----------------------------------------------------------------------------------------------
# update formulas

SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, weight_decay=0.01),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, dampening=0.3),
    dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05),
    dict(lr=0.02, momentum=0.8, nesterov=True),
    dict(lr=0.02, momentum=0.8, nesterov=True, weight_decay=0.1, maximize=True),
]


@pytest.mark.parametrize("kw", SGD_CASES, ids=lambda kw: ",".join("%s=%s" % i for i in kw.items()))
def test_sgd_matches_reference(kw):
    init, grads = _problem()
    params, opt = _run(lambda ps: SGD(ps, **kw), init, grads)
    for i, p in enumerate(params):
        expected, buf = ref_sgd(init[i], [g[i] for g in grads], **kw)
        _assert_float32_close(p.data, expected, "param %d" % i)
        if kw.get("momentum", 0):
            _assert_float32_close(opt.state[p]["momentum_buffer"], buf, "buffer %d" % i)
        else:
            assert p not in opt.state


ADAM_CASES = [
    dict(lr=1e-3),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.02, betas=(0.5, 0.9), weight_decay=0.05, amsgrad=True, maximize=True),
    dict(lr=0.01, betas=(0.0, 0.99), eps=1e-3),
]


@pytest.mark.parametrize("cls", [Adam, AdamW])
@pytest.mark.parametrize("kw", ADAM_CASES, ids=lambda kw: ",".join("%s=%s" % i for i in kw.items()))
def test_adam_matches_reference(cls, kw):
    init, grads = _problem(1)
    params, opt = _run(lambda ps: cls(ps, **kw), init, grads)
    ref_kw = dict(kw, decoupled=cls is AdamW)
    if cls is AdamW:
        ref_kw.setdefault("weight_decay", 1e-2)  # AdamW's default
    for i, p in enumerate(params):
        expected, m, v, vmax = ref_adam(init[i], [g[i] for g in grads], **ref_kw)
        _assert_float32_close(p.data, expected, "param %d" % i)
        state = opt.state[p]
        assert state["step"] == STEPS
        _assert_float32_close(state["exp_avg"], m, "exp_avg %d" % i)
        _assert_float32_close(state["exp_avg_sq"], v, "exp_avg_sq %d" % i)
        if kw.get("amsgrad"):
            _assert_float32_close(state["max_exp_avg_sq"], vmax, "max_exp_avg_sq %d" % i)
        else:
            assert "max_exp_avg_sq" not in state


def test_adam_decoupled_weight_decay_is_adamw():
    init, grads = _problem(2, shapes=[(4, 7)])
    a, _ = _run(lambda ps: Adam(ps, lr=0.01, weight_decay=0.2, decoupled_weight_decay=True),
                init, grads)
    b, _ = _run(lambda ps: AdamW(ps, lr=0.01, weight_decay=0.2), init, grads)
    np.testing.assert_array_equal(a[0].data, b[0].data)


def test_param_groups_with_different_options():
    init, grads = _problem(3)
    groups = [
        dict(idx=[0, 2], opts=dict(lr=0.05, momentum=0.9, nesterov=True)),
        dict(idx=[1, 3], opts=dict(weight_decay=0.1, momentum=0.5, dampening=0.5)),
    ]
    params = [Parameter(a) for a in init]
    opt = SGD([dict(g["opts"], params=[params[i] for i in g["idx"]]) for g in groups], lr=0.01)
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[0]["weight_decay"] == 0
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = g
        opt.step()
    for g in groups:
        kw = dict(dict(lr=0.01), **g["opts"])
        for i in g["idx"]:
            expected, _ = ref_sgd(init[i], [s[i] for s in grads], **kw)
            _assert_float32_close(params[i].data, expected, "param %d" % i)

    init, grads = _problem(4)
    params = [Parameter(a) for a in init]
    opt = AdamW([{"params": params[:1], "lr": 0.05, "amsgrad": True},
                 {"params": params[1:], "betas": (0.8, 0.99), "weight_decay": 0.1}], lr=0.01)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = g
        opt.step()
    expected = ref_adam(init[0], [s[0] for s in grads], lr=0.05, weight_decay=1e-2,
                        amsgrad=True, decoupled=True)[0]
    _assert_float32_close(params[0].data, expected, "group 0")
    for i in range(1, len(init)):
        expected = ref_adam(init[i], [s[i] for s in grads], lr=0.01, betas=(0.8, 0.99),
                            weight_decay=0.1, decoupled=True)[0]
        _assert_float32_close(params[i].data, expected, "param %d" % i)


def test_lr_changed_between_steps_is_used():
    init, grads = _problem(5, shapes=[(8,)], steps=3)
    p = Parameter(init[0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    lrs = [0.1, 0.05, 0.2]
    expected = np.asarray(init[0], np.float64)
    buf = None
    for lr, g in zip(lrs, grads):
        opt.param_groups[0]["lr"] = lr
        p.grad = g[0]
        opt.step()
        buf = g[0] if buf is None else 0.9 * buf + g[0]
        expected = expected - lr * buf
    _assert_float32_close(p.data, expected, "param")


def test_gradient_dtype_and_layout_converted():
    init, grads = _problem(6, shapes=[(9, 7)], steps=3)
    ref, _ = _run(lambda ps: Adam(ps, lr=0.01), init, grads)
    for convert in (lambda g: np.asfortranarray(g.astype(np.float64)),
                    lambda g: g.T.copy().T,  # Fortran-ordered float32
                    lambda g: np.repeat(g, 2, axis=1)[:, ::2]):  # strided view
        params = [Parameter(init[0])]
        opt = Adam(params, lr=0.01)
        for g in grads:
            params[0].grad = convert(g[0])
            opt.step()
        np.testing.assert_array_equal(params[0].data, ref[0].data)
    p = Parameter(init[0])
    p.grad = grads[0][0].astype(np.float16)
    SGD([p], lr=0.1).step()
    expected = init[0] - 0.1 * grads[0][0].astype(np.float16).astype(np.float64)
    _assert_float32_close(p.data, expected, "float16 grad")


def test_maximize_leaves_grad_untouched():
    p = Parameter(np.ones(4))
    g = np.full(4, 0.5, np.float32)
    p.grad = g
    SGD([p], lr=0.1, maximize=True).step()
    np.testing.assert_array_equal(g, 0.5)
    np.testing.assert_allclose(p.data, 1.05)


def test_one_kernel_call_per_parameter(monkeypatch):
    calls = []
    real_sgd, real_adam = _kernels.sgd_update, _kernels.adam_update
    monkeypatch.setattr(_kernels, "sgd_update", lambda *a: calls.append("sgd") or real_sgd(*a))
    monkeypatch.setattr(_kernels, "adam_update", lambda *a: calls.append("adam") or real_adam(*a))
    params = [Parameter(np.ones(s)) for s in SHAPES]
    for p in params:
        p.grad = np.ones(p.shape, np.float32)
    SGD(params, lr=0.1, momentum=0.9).step()
    Adam(params, lr=0.1).step()
    assert calls == ["sgd"] * len(params) + ["adam"] * len(params)


def test_grad_of_wrong_shape_raises():
    p = Parameter(np.ones((3, 4)))
    p.grad = np.ones(12, np.float32)
    with pytest.raises(ValueError, match="grad"):
        SGD([p], lr=0.1).step()


def test_kernels_check_sizes():
    p = np.ones(5, np.float32)
    with pytest.raises(ValueError, match="grad"):
        _kernels.sgd_update(p, np.ones(4, np.float32), None, 0.1, 0.0, 0.0, 0.0, False, True)
    with pytest.raises(ValueError, match="buf"):
        _kernels.sgd_update(p, np.ones(5, np.float32), None, 0.1, 0.9, 0.0, 0.0, False, True)
    with pytest.raises(ValueError, match="v"):
        _kernels.adam_update(p, p.copy(), p.copy(), np.ones(3, np.float32), None, 0.1, 0.9,
                             0.999, 1e-8, 0.0, False, 1)


# ----------------------------------------------------------------------------------------------
# zero_grad, skipped parameters, the closure


def test_zero_grad():
    params = [Parameter(np.ones(3)), Parameter(np.ones(2))]
    opt = SGD(params, lr=0.1)
    for p in params:
        p.grad = np.ones(p.shape, np.float32)
    g0 = params[0].grad
    opt.zero_grad(set_to_none=False)
    assert params[0].grad is g0 and not g0.any() and not params[1].grad.any()
    opt.zero_grad()
    assert params[0].grad is None and params[1].grad is None


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: Adam(ps, lr=0.1)], ids=["SGD", "Adam"])
def test_parameters_without_grad_or_requires_grad_are_skipped(make):
    a, b, c = Parameter(np.ones(3)), Parameter(np.ones(3)), Parameter(np.ones(3),
                                                                      requires_grad=False)
    opt = make([a, b, c])
    a.grad = np.ones(3, np.float32)
    c.grad = np.ones(3, np.float32)
    opt.step()
    assert not np.array_equal(a.data, np.ones(3))
    np.testing.assert_array_equal(b.data, 1.0)
    np.testing.assert_array_equal(c.data, 1.0)
    assert b not in opt.state and c not in opt.state
    assert list(opt.state_dict()["state"]) == [0]


def test_step_returns_closure_loss():
    p = Parameter(np.ones(2))
    opt = Adam([p])
    calls = []

    def closure():
        calls.append(1)
        p.grad = np.ones(2, np.float32)
        return 3.5

    assert opt.step(closure) == 3.5 and calls == [1]


# ----------------------------------------------------------------------------------------------
# state_dict


def test_state_dict_format_and_copies():
    params = [Parameter(np.ones((2, 3))), Parameter(np.ones(4)), Parameter(np.ones(5))]
    opt = Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.5}], amsgrad=True)
    for p in params[:2]:
        p.grad = np.ones(p.shape, np.float32)
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sorted(sd["state"]) == [0, 1]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["state"][0]["step"] == 1 and sd["state"][0]["exp_avg"].shape == (2, 3)
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["lr"] == 1e-3
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    sd["state"][0]["exp_avg"][...] = 123.0
    sd["param_groups"][0]["lr"] = 7.0
    assert not (opt.state[params[0]]["exp_avg"] == 123.0).any()
    assert opt.param_groups[0]["lr"] == 1e-3


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    lambda ps: SGD([{"params": ps[:2], "nesterov": True}, {"params": ps[2:]}], lr=0.1,
                   momentum=0.9),
    lambda ps: Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.1),
    lambda ps: AdamW([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.003}], lr=0.01),
], ids=["SGD", "SGD-groups", "Adam", "AdamW-groups"])
def test_state_dict_round_trip_continues_identically(make):
    init, grads = _problem(7, steps=6)

    def train(params, opt, steps):
        for step_grads in steps:
            for p, g in zip(params, step_grads):
                p.grad = g
            opt.step()

    straight = [Parameter(a) for a in init]
    train(straight, make(straight), grads)

    first = [Parameter(a) for a in init]
    opt = make(first)
    train(first, opt, grads[:3])
    saved = opt.state_dict()
    saved_params = [p.data.copy() for p in first]
    del opt, first

    resumed = [Parameter(a) for a in saved_params]
    opt2 = make(resumed)
    for g in opt2.param_groups:
        g["lr"] = 99.0  # replaced by the loaded options
    opt2.load_state_dict(saved)
    train(resumed, opt2, grads[3:])
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.data, b.data)


def test_load_state_dict_accepts_torch_style_step():
    p = Parameter(np.ones(3))
    opt = Adam([p])
    p.grad = np.ones(3, np.float32)
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["step"] = np.array(1.0, np.float32)  # torch saves step as a float tensor
    sd["state"][0]["exp_avg"] = sd["state"][0]["exp_avg"].astype(np.float64)
    opt2 = Adam([Parameter(np.ones(3))])
    opt2.load_state_dict(sd)
    state = next(iter(opt2.state.values()))
    assert state["step"] == 1 and isinstance(state["step"], int)
    assert state["exp_avg"].dtype == np.float32 and state["exp_avg"].flags.c_contiguous


def _trained_sgd(shapes, groups=None):
    params = [Parameter(np.ones(s)) for s in shapes]
    opt = SGD(params if groups is None else [{"params": [params[i] for i in g]} for g in groups],
              lr=0.1, momentum=0.9)
    for p in params:
        p.grad = np.ones(p.shape, np.float32)
    opt.step()
    return opt


def test_load_state_dict_mismatches_raise():
    sd = _trained_sgd([(2, 3), (4,)]).state_dict()
    with pytest.raises(ValueError, match="number of parameter groups"):
        _trained_sgd([(2, 3), (4,)], groups=[[0], [1]]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"param_groups\[0\] has 2 parameters.*has 3"):
        _trained_sgd([(2, 3), (4,), (1,)]).load_state_dict(sd)
    target = _trained_sgd([(3, 2), (4,)])
    before = [b.copy() for b in (s["momentum_buffer"] for s in target.state.values())]
    with pytest.raises(ValueError, match=r"state\[0\]\['momentum_buffer'\]: shape \(2, 3\)"):
        target.load_state_dict(sd)
    after = [s["momentum_buffer"] for s in target.state.values()]
    for a, b in zip(after, before):  # a failed load changes nothing
        np.testing.assert_array_equal(a, b)
    bad = dict(sd, state={5: sd["state"][0]})
    with pytest.raises(ValueError, match=r"state\[5\]"):
        _trained_sgd([(2, 3), (4,)]).load_state_dict(bad)
    with pytest.raises(ValueError, match="state_dict"):
        _trained_sgd([(2, 3), (4,)]).load_state_dict({"state": {}})
    bad_group = {"state": {}, "param_groups": [dict(sd["param_groups"][0], lr=-1.0)]}
    with pytest.raises(ValueError, match="lr"):
        _trained_sgd([(2, 3), (4,)]).load_state_dict(bad_group)


# ----------------------------------------------------------------------------------------------
# construction errors and bad hyper-parameters


def test_parameter_list_errors():
    p = Parameter(np.ones(3))
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        SGD([])
    with pytest.raises(ValueError, match="more than once"):
        SGD([p, p])
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": [p]}, {"params": [p]}])
    with pytest.raises(TypeError, match="iterable of Parameters"):
        SGD(p)
    with pytest.raises(TypeError, match="can only optimize Parameters"):
        SGD([np.ones(3)])
    with pytest.raises(TypeError, match="ordered collections"):
        SGD({p})
    opt = SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})
    q = Parameter(np.ones(2))
    opt.add_param_group({"params": q, "lr": 0.5})
    assert opt.param_groups[1]["params"] == [q] and opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[1]["momentum"] == 0


def test_named_parameters_accepted():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(3))
    opt = Adam([("w", a), ("b", b)])
    assert opt.param_groups[0]["params"] == [a, b]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


def test_defaults_match_torch():
    p = Parameter(np.ones(2))
    assert SGD([p]).defaults == dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                                     nesterov=False, maximize=False)
    d = Adam([p]).defaults
    assert (d["lr"], d["betas"], d["eps"], d["weight_decay"], d["amsgrad"]) == \
        (1e-3, (0.9, 0.999), 1e-8, 0, False)
    d = AdamW([p]).defaults
    assert (d["lr"], d["betas"], d["eps"], d["weight_decay"], d["amsgrad"]) == \
        (1e-3, (0.9, 0.999), 1e-8, 1e-2, False)
    assert d["decoupled_weight_decay"] is True


BAD_ARGS = [
    (SGD, dict(lr=-0.1), ValueError, "lr"),
    (SGD, dict(lr=float("nan")), ValueError, "lr"),
    (SGD, dict(lr="0.1"), TypeError, "lr"),
    (SGD, dict(lr=None), TypeError, "lr"),
    (SGD, dict(momentum=-0.5), ValueError, "momentum"),
    (SGD, dict(weight_decay=-1e-4), ValueError, "weight_decay"),
    (SGD, dict(dampening="x"), TypeError, "dampening"),
    (SGD, dict(nesterov=True), ValueError, "nesterov"),
    (SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), ValueError, "nesterov"),
    (SGD, dict(nesterov="yes"), TypeError, "nesterov"),
    (Adam, dict(lr=-1.0), ValueError, "lr"),
    (Adam, dict(eps=-1e-8), ValueError, "eps"),
    (Adam, dict(weight_decay=-0.1), ValueError, "weight_decay"),
    (Adam, dict(betas=(1.0, 0.999)), ValueError, r"betas\[0\]"),
    (Adam, dict(betas=(0.9, -0.1)), ValueError, r"betas\[1\]"),
    (Adam, dict(betas=(0.9,)), ValueError, "betas"),
    (Adam, dict(betas=0.9), TypeError, "betas"),
    (Adam, dict(betas=("a", 0.9)), TypeError, r"betas\[0\]"),
    (Adam, dict(amsgrad="no"), TypeError, "amsgrad"),
    (AdamW, dict(weight_decay=-0.01), ValueError, "weight_decay"),
    (AdamW, dict(lr=[0.1]), TypeError, "lr"),
]


@pytest.mark.parametrize("cls,kw,exc,name", BAD_ARGS,
                         ids=["%s-%s" % (c.__name__, k) for c, k, _, _ in BAD_ARGS])
def test_bad_hyper_parameters_raise_naming_them(cls, kw, exc, name):
    p = Parameter(np.ones(2))
    with pytest.raises(exc, match=name):
        cls([p], **kw)
    with pytest.raises(exc, match=name):  # the same option given in a parameter group
        group = dict(kw, params=[Parameter(np.ones(2))])
        cls([group])


# ----------------------------------------------------------------------------------------------
# learning-rate schedulers


def _sgd_two_groups(lrs=(0.1, 0.02), **kw):
    return SGD([{"params": [Parameter(np.zeros(2))], "lr": lr} for lr in lrs], **kw)


def _lrs(opt, sched, n):
    """lr after construction, then after each of n (optimizer.step, scheduler.step) pairs."""
    out = [sched.get_last_lr()]
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr())
        assert out[-1] == [g["lr"] for g in opt.param_groups]
    return np.array(out)


def test_scheduler_sets_initial_lr():
    opt = _sgd_two_groups()
    lr_scheduler.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.02]
    opt2 = _sgd_two_groups()
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt2, step_size=2, last_epoch=3)


def test_step_lr():
    opt = _sgd_two_groups()
    got = _lrs(opt, lr_scheduler.StepLR(opt, step_size=3, gamma=0.5), 20)
    epochs = np.arange(21)[:, None]
    np.testing.assert_allclose(got, np.array([0.1, 0.02]) * 0.5 ** (epochs // 3), rtol=1e-12)


def test_multi_step_lr_with_repeated_milestone():
    opt = _sgd_two_groups()
    got = _lrs(opt, lr_scheduler.MultiStepLR(opt, milestones=[2, 5, 5, 9], gamma=0.1), 12)
    factor = [1, 1, .1, .1, .1, .001, .001, .001, .001, .0001, .0001, .0001, .0001]
    np.testing.assert_allclose(got, np.outer(factor, [0.1, 0.02]), rtol=1e-12)


@pytest.mark.parametrize("t_max,eta_min", [(10, 0.0), (7, 1e-3), (30, 0.005)])
def test_cosine_annealing_lr_matches_closed_form(t_max, eta_min):
    opt = _sgd_two_groups()
    n = max(30, 3 * t_max + 2)  # past T_max the cosine rises again, as torch's does
    got = _lrs(opt, lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min), n)
    t = np.arange(n + 1)[:, None]
    expected = eta_min + (np.array([0.1, 0.02]) - eta_min) * (1 + np.cos(np.pi * t / t_max)) / 2
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_scheduler_step_with_epoch_uses_closed_form():
    opt = _sgd_two_groups()
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    with pytest.warns(UserWarning):
        sched.step(4)
    assert sched.get_last_lr()[0] == pytest.approx(0.05 * (1 + math.cos(math.pi * 0.4)), 1e-15)


def _one_cycle_reference(total, max_lr, pct, div=25.0, final_div=1e4, strategy="cos",
                         three_phase=False, lo=0.85, hi=0.95):
    """Hand-written OneCycleLR: (lr, momentum) for steps 0..total, torch's phase boundaries."""
    if strategy == "cos":
        anneal = lambda a, b, x: b + (a - b) / 2 * (math.cos(math.pi * x) + 1)  # noqa: E731
    else:
        anneal = lambda a, b, x: a + (b - a) * x  # noqa: E731
    init = max_lr / div
    low = init / final_div
    e1 = pct * total - 1
    if three_phase:
        e2 = 2 * pct * total - 2
        phases = [(0, e1, init, max_lr, hi, lo), (e1, e2, max_lr, init, lo, hi),
                  (e2, total - 1, init, low, hi, hi)]
    else:
        phases = [(0, e1, init, max_lr, hi, lo), (e1, total - 1, max_lr, low, lo, hi)]
    out = []
    for t in range(total + 1):
        for i, (s, e, a, b, ma, mb) in enumerate(phases):
            if t <= e or i == len(phases) - 1:
                x = (t - s) / (e - s)
                out.append((anneal(a, b, x), anneal(ma, mb, x)))
                break
    return np.array(out)


@pytest.mark.parametrize("total,pct,strategy,three_phase", [
    (100, 0.3, "cos", False), (37, 0.25, "linear", False), (50, 0.3, "cos", True),
    (20, 0.4, "linear", True)])
def test_one_cycle_lr_sgd_momentum(total, pct, strategy, three_phase):
    opt = SGD([Parameter(np.zeros(2))], lr=0.01, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.4, total_steps=total, pct_start=pct,
                                    anneal_strategy=strategy, three_phase=three_phase)
    got, moms = [sched.get_last_lr()[0]], [opt.param_groups[0]["momentum"]]
    for _ in range(total):
        opt.step()
        sched.step()
        got.append(sched.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
    ref = _one_cycle_reference(total, 0.4, pct, strategy=strategy, three_phase=three_phase)
    np.testing.assert_allclose(got, ref[:, 0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(moms, ref[:, 1], rtol=1e-12)
    # step total_steps - 1 ends at min_lr; the final step() (allowed, as in torch) extrapolates
    assert got[0] == pytest.approx(0.4 / 25) and got[-2] == pytest.approx(0.4 / 25 / 1e4)
    with pytest.raises(ValueError, match="total steps"):
        sched.step()


def test_one_cycle_lr_adam_beta1_and_per_group_max_lr():
    params = [Parameter(np.zeros(2)), Parameter(np.zeros(2))]
    opt = Adam([{"params": params[:1]}, {"params": params[1:]}], betas=(0.9, 0.99))
    sched = lr_scheduler.OneCycleLR(opt, max_lr=[1.0, 0.1], epochs=3, steps_per_epoch=4,
                                    div_factor=10.0, final_div_factor=100.0)
    assert sched.total_steps == 12
    ref = _one_cycle_reference(12, 1.0, 0.3, div=10.0, final_div=100.0)
    rows = []
    for _ in range(12):
        rows.append([g["lr"] for g in opt.param_groups] + [g["betas"][0] for g in
                                                           opt.param_groups])
        opt.step()
        sched.step()
    rows.append([g["lr"] for g in opt.param_groups] + [g["betas"][0] for g in opt.param_groups])
    rows = np.array(rows)
    np.testing.assert_allclose(rows[:, 0], ref[:, 0], rtol=1e-12)
    np.testing.assert_allclose(rows[:, 1], ref[:, 0] * 0.1, rtol=1e-12)
    np.testing.assert_allclose(rows[:, 2], ref[:, 1], rtol=1e-12)
    assert all(g["betas"][1] == 0.99 for g in opt.param_groups)


def test_one_cycle_lr_without_momentum_cycling():
    opt = SGD([Parameter(np.zeros(2))], lr=0.01)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, cycle_momentum=False)
    for _ in range(10):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["momentum"] == 0


@pytest.mark.parametrize("make", [
    lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, 6, 6]),
    lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=8, eta_min=1e-3),
    lambda o: lr_scheduler.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=15, three_phase=True),
], ids=["StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR"])
def test_scheduler_state_dict_round_trip(make):
    opt = _sgd_two_groups(momentum=0.9)
    straight = _lrs(opt, make(opt), 14)

    opt1 = _sgd_two_groups(momentum=0.9)
    sched1 = make(opt1)
    _lrs(opt1, sched1, 6)
    opt_sd, sched_sd = opt1.state_dict(), sched1.state_dict()
    assert "optimizer" not in sched_sd and sched_sd["last_epoch"] == 6

    opt2 = _sgd_two_groups((0.7, 0.7), momentum=0.9)
    sched2 = make(opt2)
    opt2.load_state_dict(opt_sd)  # after constructing the scheduler, as in torch
    sched2.load_state_dict(sched_sd)
    assert sched2.get_last_lr() == list(straight[6])
    resumed = _lrs(opt2, sched2, 8)
    np.testing.assert_array_equal(resumed, straight[6:])
    with pytest.raises(ValueError, match="state_dict"):
        sched2.load_state_dict({"foo": 1})


def test_scheduler_warns_when_stepped_before_optimizer():
    opt = _sgd_two_groups()
    sched = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step"):
        sched.step()
    opt2 = _sgd_two_groups()
    sched2 = lr_scheduler.StepLR(opt2, step_size=2)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


BAD_SCHED = [
    (lambda o: lr_scheduler.StepLR(o, step_size=0), ValueError, "step_size"),
    (lambda o: lr_scheduler.StepLR(o, step_size=2.5), TypeError, "step_size"),
    (lambda o: lr_scheduler.StepLR(o, step_size=2, gamma="x"), TypeError, "gamma"),
    (lambda o: lr_scheduler.MultiStepLR(o, milestones=[1, "a"]), TypeError, "milestones"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1), ValueError, "total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError,
     "total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5),
     ValueError, "pct_start"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
     ValueError, "anneal_strategy"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=[0.1, 0.2, 0.3], total_steps=10), ValueError,
     "max_lr"),
    (lambda o: lr_scheduler.StepLR(object(), step_size=2), TypeError, "not an Optimizer"),
]


@pytest.mark.parametrize("make,exc,name", BAD_SCHED, ids=[n for _, _, n in BAD_SCHED])
def test_bad_scheduler_arguments(make, exc, name):
    with pytest.raises(exc, match=name):
        make(_sgd_two_groups())


def test_custom_optimizer_subclass():
    class PlainGD(Optimizer):
        """Minimal subclass: the base class handles groups, state and the step bookkeeping."""

        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in self._params_to_update(group):
                    p.data = p.data - group["lr"] * p.grad

    p = Parameter(np.ones(3))
    opt = PlainGD([p])
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    p.grad = np.ones(3, np.float32)
    opt.step()
    sched.step()
    np.testing.assert_allclose(p.data, 0.9)
    assert opt.param_groups[0]["lr"] == 0.05
