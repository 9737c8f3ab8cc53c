"""Activation modules GELU, LeakyReLU, ELU, Mish, Softmax, LogSoftmax and the functionals elu and
mish: forward and backward against tests/reference.py and PyTorch, on blocked activations
(padded lanes stay zero) and plain arrays, constructor arguments and bad input."""
import numpy as np
import pytest

import cnncore.functional as F
import cnncore.nn as nn
from cnncore import Tensor
from cnncore.functional._layout import BLOCK, Blocked
from cnncore.autograd.values import as_blocked
from conftest import assert_close, randn
import reference as R

MODULES = [
    (lambda: nn.GELU(), "gelu"),
    (lambda: nn.GELU(approximate="tanh"), "gelu_tanh"),
    (lambda: nn.LeakyReLU(), "leaky_relu"),
    (lambda: nn.ELU(), "elu"),
    (lambda: nn.Mish(), "mish"),
]


def _fwd_bwd(module, x, gy):
    """module(x) and x's gradient for upstream gy; a 4-d x enters in the blocked layout (as
    inside a network)."""
    xt = Tensor(x, requires_grad=True)
    if x.ndim == 4:
        xt._value = as_blocked(xt._value)
    y = module(xt)
    (y * Tensor(gy)).sum().backward()
    return y, xt.grad


@pytest.mark.parametrize("make,name", MODULES)
@pytest.mark.parametrize("shape", [(2, 17, 3, 4), (5, 7)])
def test_activation_modules_match_reference(make, name, shape):
    x, gy = randn(shape, 1) * 3, randn(shape, 2)
    y, gx = _fwd_bwd(make(), x, gy)
    assert_close(y.numpy(), R.activation(name, x), 1e-5, 1e-5)
    assert_close(gx, R.activation_backward(name, gy, x), 1e-4, 1e-5)
    if len(shape) == 4:
        assert isinstance(y.value, Blocked)
        assert not y.value.data[:, -1, :, :, shape[1] % BLOCK:].any()


def test_leaky_relu_and_elu_arguments():
    x, gy = randn((4, 6), 3) * 2, randn((4, 6), 4)
    y, gx = _fwd_bwd(nn.LeakyReLU(0.2), x, gy)
    assert_close(y.numpy(), np.where(x > 0, x, 0.2 * x))
    assert_close(gx, np.where(x > 0, gy, 0.2 * gy))
    y, gx = _fwd_bwd(nn.ELU(alpha=0.5), x, gy)
    assert_close(y.numpy(), np.where(x > 0, x, 0.5 * np.expm1(x)))
    assert_close(gx, np.where(x > 0, gy, gy * 0.5 * np.exp(x)))
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.ELU(alpha=0.5, inplace=True)) == "ELU(alpha=0.5, inplace=True)"


def test_functional_elu_mish_numpy_and_tensor():
    x = randn((3, 5), 5)
    assert isinstance(F.elu(x), np.ndarray)
    assert_close(F.elu(x, 2.0), np.where(x > 0, x, 2.0 * np.expm1(x)))
    assert_close(F.mish(x), R.activation("mish", x), 1e-5, 1e-5)
    assert isinstance(F.mish(Tensor(x)), Tensor)
    np.testing.assert_array_equal(F.leaky_relu(x, 0.2, inplace=True), F.leaky_relu(x, 0.2))
    np.testing.assert_array_equal(F.elu(x, inplace=True), F.elu(x))


@pytest.mark.parametrize("cls,log", [(nn.Softmax, False), (nn.LogSoftmax, True)])
@pytest.mark.parametrize("shape,dim", [((4, 9), 1), ((2, 5, 3, 3), 1), ((2, 5, 3, 3), -1), ((3, 4, 5), 0)])
def test_softmax_modules(cls, log, shape, dim):
    x, gy = randn(shape, 6) * 2, randn(shape, 7)
    y, gx = _fwd_bwd(cls(dim), x, gy)
    ref = (R.log_softmax if log else R.softmax)(x, dim)
    assert_close(y.numpy(), ref, 1e-5, 1e-5)
    refg = (R.log_softmax_backward if log else R.softmax_backward)(gy, x, dim)
    assert_close(gx, refg, 1e-4, 1e-5)


def test_softmax_implicit_dim_as_torch():
    x = randn((2, 3, 4), 8)
    assert_close(nn.Softmax()(x).numpy(), R.softmax(x, 0), 1e-5, 1e-5)  # 3-d: dim 0
    x4 = randn((2, 3, 4, 5), 9)
    assert_close(nn.LogSoftmax()(x4).numpy(), R.log_softmax(x4, 1), 1e-5, 1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("erf")
    with pytest.raises(TypeError, match="negative_slope"):
        nn.LeakyReLU("a")
    with pytest.raises(TypeError, match="alpha"):
        nn.ELU(None)
    with pytest.raises(TypeError, match="dim"):
        nn.Softmax(1.5)
    with pytest.raises(ValueError, match="dim"):
        nn.Softmax(3)(randn((2, 3)))
    with pytest.raises(TypeError, match="alpha"):
        F.elu(randn((2, 3)), "x")


def _torch():
    import os

    if os.environ.get("CNNCORE_REQUIRE_TORCH"):
        import torch
    else:
        torch = pytest.importorskip("torch")
    return torch


@pytest.mark.parametrize("name", ["GELU", "GELU-tanh", "LeakyReLU", "ELU", "Mish", "Softmax", "LogSoftmax"])
def test_activation_modules_match_torch(name):
    torch = _torch()
    make = {
        "GELU": (lambda m: m.GELU()), "GELU-tanh": (lambda m: m.GELU(approximate="tanh")),
        "LeakyReLU": (lambda m: m.LeakyReLU(0.05)), "ELU": (lambda m: m.ELU(1.3)),
        "Mish": (lambda m: m.Mish()), "Softmax": (lambda m: m.Softmax(1)),
        "LogSoftmax": (lambda m: m.LogSoftmax(1)),
    }[name]
    x, gy = randn((2, 19, 3, 3), 10) * 3, randn((2, 19, 3, 3), 11)
    tx = torch.tensor(x, requires_grad=True)
    make(torch.nn)(tx).backward(torch.tensor(gy))
    y, gx = _fwd_bwd(make(nn), x, gy)
    tx2 = torch.tensor(x)
    assert_close(y.numpy(), make(torch.nn)(tx2).numpy(), 1e-5, 1e-5)
    assert_close(gx, tx.grad.numpy(), 1e-4, 1e-5)


# ------------------------------------------------------------- conv epilogue fusion ---

EPILOGUE = [("ReLU", lambda: nn.ReLU(), "relu"), ("ReLU6", lambda: nn.ReLU6(), "relu6"),
            ("LeakyReLU", lambda: nn.LeakyReLU(0.1), None), ("Sigmoid", lambda: nn.Sigmoid(), "sigmoid"),
            ("Tanh", lambda: nn.Tanh(), "tanh"), ("SiLU", lambda: nn.SiLU(), "silu"),
            ("Hardswish", lambda: nn.Hardswish(), "hardswish"),
            ("Hardsigmoid", lambda: nn.Hardsigmoid(), "hardsigmoid")]
FROM_OUTPUT = {"ReLU", "ReLU6", "LeakyReLU", "Sigmoid", "Tanh"}


def _ref_act(ref, z):
    return np.where(z > 0, z, 0.1 * z) if ref is None else R.activation(ref, z)


@pytest.mark.parametrize("name,make,ref", EPILOGUE, ids=[e[0] for e in EPILOGUE])
@pytest.mark.parametrize("conv", ["dense", "depthwise", "grouped"])
def test_activation_runs_in_the_conv_epilogue(isa, name, make, ref, conv):
    from cnncore import no_grad
    from cnncore.autograd import graph_ops

    c_in, c_out, groups = {"dense": (5, 20, 1), "depthwise": (20, 20, 20), "grouped": (8, 20, 4)}[conv]
    layer = nn.Conv2d(c_in, c_out, 3, padding=1, groups=groups)
    net = nn.Sequential(layer, make())
    x = randn((2, c_in, 6, 5), 12)
    z = F.conv2d(x, layer.weight.data, layer.bias.data, padding=1, groups=groups)
    with no_grad():
        y = net(x)
    _padded_lanes_zero(y)
    assert_close(y.numpy(), _ref_act(ref, z), 1e-5, 1e-5)
    xt = Tensor(x, requires_grad=True)
    y = net(xt)
    fused = name in FROM_OUTPUT  # when recording, only activations whose gradient follows from y
    assert graph_ops(y) == (["Conv2d+" + name] if fused else ["Conv2d", name])
    gy = randn(y.shape, 13)
    (y * Tensor(gy)).sum().backward()
    gz = (R.activation_backward(ref, gy, z) if ref is not None
          else np.where(z > 0, gy, 0.1 * gy))
    rgx, rgw, rgb = R.conv2d_backward(gz, x, layer.weight.data, padding=1, groups=groups)
    assert_close(xt.grad, rgx, 1e-4, 1e-4)
    assert_close(layer.weight.grad, rgw, 1e-4, 1e-4)


def _padded_lanes_zero(y):
    v = y.value
    assert isinstance(v, Blocked)
    tail = v.channels % BLOCK
    if tail:
        assert not v.data[:, -1, :, :, tail:].any()


@pytest.mark.parametrize("name", ["relu", "relu6", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid"])
def test_activation_kernels_at_every_isa(isa, name):
    """The per-ISA activation micro-kernels (cnn_act.h): values and gradients against the float64
    reference over a wide range, NaN and infinities as torch gives them."""
    x = np.concatenate([np.linspace(-30, 30, 4001), [-100, 100, 0, -3, 3, 6]]).astype(np.float32)
    gy = randn(x.shape, 14)
    xt = Tensor(x, requires_grad=True)
    y = getattr(F, name)(xt)
    (y * Tensor(gy)).sum().backward()
    assert_close(y.numpy(), R.activation(name, x), 2e-6, 1e-6)
    kink = np.isin(x, [0, -3, 3, 6])  # one-sided derivatives differ there
    assert_close(xt.grad[~kink], R.activation_backward(name, gy, x)[~kink], 2e-5, 1e-6)
    special = np.array([np.nan, np.inf, -np.inf], np.float32)
    with np.errstate(all="ignore"):
        want = R.activation(name, special)
    np.testing.assert_array_equal(getattr(F, name)(special), want.astype(np.float32))
