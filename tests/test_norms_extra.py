"""GroupNorm, LayerNorm, InstanceNorm2d and BatchNorm1d (modules and functionals): forward and
backward against tests/reference.py and PyTorch, group sizes that straddle the 16-channel blocks,
padded lanes kept zero, running statistics, state_dict keys, thread-count independence, and bad
input."""
import numpy as np
import pytest

import cnncore
import cnncore.functional as F
import cnncore.nn as nn
from cnncore import Tensor
from cnncore.autograd import graph_ops
from cnncore.functional._layout import BLOCK, Blocked
from conftest import assert_close, randn
import reference as R

# (N, C, H, W, groups): groups of 16 (aligned), two per block, 9 across blocks, one channel
# each, one group, channels not a multiple of 16
GN_CASES = [(2, 48, 5, 3, 3), (2, 64, 4, 4, 32), (3, 36, 3, 5, 4), (2, 5, 3, 3, 5), (1, 17, 2, 7, 1),
            (2, 33, 1, 1, 3)]


def _padded_lanes_zero(t):
    v = t.value if isinstance(t, Tensor) else t
    assert isinstance(v, Blocked)
    tail = v.channels % BLOCK
    if tail:
        assert not v.data[:, -1, :, :, tail:].any()


def _run(fn, x, params, gy):
    """fn(x Tensor, *param Tensors) forward + backward with upstream gy: (y, [grads])."""
    xt = Tensor(x, requires_grad=True)
    pts = [Tensor(p, requires_grad=True) for p in params]
    y = fn(xt, *pts)
    (y * Tensor(gy)).sum().backward()
    return y, [xt.grad] + [p.grad for p in pts]


@pytest.mark.parametrize("n,c,h,w,g", GN_CASES)
def test_group_norm_matches_reference(n, c, h, w, g):
    x = randn((n, c, h, w), 1) * 3 + 2
    wt, b, gy = randn(c, 2), randn(c, 3), randn((n, c, h, w), 4)
    y, (gx, gw, gb) = _run(lambda t, a, bb: F.group_norm(t, g, a, bb), x, [wt, b], gy)
    _padded_lanes_zero(y)
    assert_close(y.numpy(), R.group_norm(x, g, wt, b)[0], name="y")
    rgx, rgw, rgb = R.group_norm_backward(gy, x, g, wt)
    assert_close(gx, rgx, name="dx")
    assert_close(gw, rgw, name="dweight")
    assert_close(gb, rgb, name="dbias")


@pytest.mark.parametrize("n,c,h,w", [(2, 20, 3, 4), (3, 16, 2, 2), (2, 3, 5, 1)])
def test_layer_norm_over_chw_matches_reference(n, c, h, w):
    x = randn((n, c, h, w), 5) * 2 - 1
    wt, b, gy = randn((c, h, w), 6), randn((c, h, w), 7), randn((n, c, h, w), 8)
    shape = (c, h, w)
    y, (gx, gw, gb) = _run(lambda t, a, bb: F.layer_norm(t, shape, a, bb), x, [wt, b], gy)
    _padded_lanes_zero(y)
    assert graph_ops(F.layer_norm(Tensor(x, requires_grad=True), shape)) == ["LayerNorm"]
    assert_close(y.numpy(), R.layer_norm(x, shape, wt, b), name="y")
    for got, want, name in zip((gx, gw, gb), R.layer_norm_backward(gy, x, shape, wt), ("dx", "dw", "db")):
        assert_close(got, want, name=name)


@pytest.mark.parametrize("shape,norm", [((4, 10), (10,)), ((2, 3, 6), (6,)), ((2, 3, 6), (3, 6)),
                                        ((2, 3, 4, 5), (5,)), ((2, 3, 4, 5), (4, 5))])
def test_layer_norm_over_trailing_dims(shape, norm):
    x, wt, b, gy = randn(shape, 9), randn(norm, 10), randn(norm, 11), randn(shape, 12)
    y, (gx, gw, gb) = _run(lambda t, a, bb: F.layer_norm(t, norm, a, bb), x, [wt, b], gy)
    assert_close(y.numpy(), R.layer_norm(x, norm, wt, b), name="y")
    for got, want, name in zip((gx, gw, gb), R.layer_norm_backward(gy, x, norm, wt), ("dx", "dw", "db")):
        assert_close(got, want, name=name)


def test_functionals_take_numpy_and_return_numpy():
    x = randn((2, 6, 3, 3), 13)
    y = F.group_norm(x, 2)
    assert isinstance(y, np.ndarray)
    assert_close(y, R.group_norm(x, 2)[0])
    assert_close(F.layer_norm(x, (6, 3, 3)), R.layer_norm(x, (6, 3, 3)))
    assert_close(F.instance_norm(x), R.group_norm(x, 6)[0])


def test_group_norm_module_fills_parameter_grads_and_keys():
    m = nn.GroupNorm(4, 36)
    assert list(m.state_dict()) == ["weight", "bias"]
    assert list(nn.GroupNorm(4, 36, affine=False).state_dict()) == []
    m.weight.data = randn(36, 14)
    m.bias.data = randn(36, 15)
    x, gy = randn((2, 36, 3, 3), 16), randn((2, 36, 3, 3), 17)
    y = m(x)
    (y * Tensor(gy)).sum().backward()
    rgx, rgw, rgb = R.group_norm_backward(gy, x, 4, m.weight.data)
    assert_close(y.numpy(), R.group_norm(x, 4, m.weight.data, m.bias.data)[0])
    assert_close(m.weight.grad, rgw)
    assert_close(m.bias.grad, rgb)
    m(x)
    assert_close(m.backward(gy), rgx)


def test_layer_norm_module_options_and_keys():
    assert list(nn.LayerNorm((3, 4, 4)).state_dict()) == ["weight", "bias"]
    assert list(nn.LayerNorm(8, bias=False).state_dict()) == ["weight"]
    assert list(nn.LayerNorm(8, elementwise_affine=False).state_dict()) == []
    m = nn.LayerNorm(8, bias=False)
    x = randn((5, 8), 18)
    y = m(x)
    y.sum().backward()
    assert_close(y.numpy(), R.layer_norm(x, (8,), m.weight.data))
    assert m.weight.grad.shape == (8,)


def test_instance_norm_running_stats_and_eval():
    m = nn.InstanceNorm2d(5, momentum=0.2, affine=True, track_running_stats=True)
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    x = randn((3, 5, 4, 3), 19) * 2 + 1
    y = m(x)
    assert_close(y.numpy(), R.group_norm(x, 5)[0])
    per = x.astype(np.float64).reshape(3, 5, -1)
    assert_close(m.running_mean, 0.8 * 0 + 0.2 * per.mean(axis=2).mean(axis=0), 1e-5, 1e-6)
    assert_close(m.running_var, 0.8 * 1 + 0.2 * per.var(axis=2, ddof=1).mean(axis=0), 1e-5, 1e-6)
    m.eval()
    rm, rv = m.running_mean.copy(), m.running_var.copy()
    y = m(x)
    assert_close(y.numpy(), (x - rm[:, None, None]) / np.sqrt(rv[:, None, None] + 1e-5))
    np.testing.assert_array_equal(m.running_mean, rm)


def test_instance_norm_default_has_no_state_and_grads():
    m = nn.InstanceNorm2d(17)
    assert list(m.state_dict()) == []
    x, gy = randn((2, 17, 3, 2), 20), randn((2, 17, 3, 2), 21)
    xt = Tensor(x, requires_grad=True)
    y = m(xt)
    _padded_lanes_zero(y)
    (y * Tensor(gy)).sum().backward()
    assert_close(xt.grad, R.group_norm_backward(gy, x, 17)[0])


@pytest.mark.parametrize("shape", [(6, 5), (4, 5, 7), (2, 20), (3, 20, 2)])
def test_batch_norm_1d_training_eval_and_grads(shape):
    c = shape[1]
    m = nn.BatchNorm1d(c, momentum=0.3)
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    m.weight.data, m.bias.data = randn(c, 22), randn(c, 23)
    x, gy = randn(shape, 24) + 1, randn(shape, 25)
    xt = Tensor(x, requires_grad=True)
    y = m(xt)
    assert isinstance(y.value, np.ndarray) and y.shape == shape
    ry, sm, si, rm, rv = R.batch_norm(x, np.zeros(c), np.ones(c), m.weight.data, m.bias.data, True, 0.3)
    assert_close(y.numpy(), ry)
    assert_close(m.running_mean, rm, 1e-5, 1e-6)
    assert_close(m.running_var, rv, 1e-5, 1e-6)
    assert int(m.num_batches_tracked) == 1
    (y * Tensor(gy)).sum().backward()
    gx, gw, gb = R.batch_norm_backward(gy, x, m.weight.data, sm, si, True)
    assert_close(xt.grad, gx)
    assert_close(m.weight.grad, gw)
    assert_close(m.bias.grad, gb)
    m.eval()
    assert_close(m(x).numpy(), R.batch_norm(x, rm, rv, m.weight.data, m.bias.data, False)[0])


def test_batch_norm_functional_on_tensors():
    x, w = randn((8, 3), 26), randn(3, 27)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    y = F.batch_norm(xt, rm, rv, wt, None, training=True)
    y.sum().backward()
    ry, sm, si, nrm, _ = R.batch_norm(x, np.zeros(3), np.ones(3), w, None, True)
    assert_close(y.numpy(), ry)
    assert_close(rm, nrm, 1e-5, 1e-6)
    gx, gw, _ = R.batch_norm_backward(np.ones_like(x), x, w, sm, si, True)
    assert_close(xt.grad, gx)
    assert_close(wt.grad, gw)


def test_group_norm_same_result_for_any_thread_count(restore_threads):
    x = randn((2, 40, 70, 70), 28)  # several reduction ranges per image and lane
    gy = randn(x.shape, 29)
    out = []
    for t in (1, 2):
        cnncore.set_num_threads(t)
        y, grads = _run(lambda a: F.group_norm(a, 5), x, [], gy)
        out.append((y.numpy(), grads[0]))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


def test_bad_arguments_raise_clear_errors():
    x = randn((2, 6, 3, 3))
    with pytest.raises(ValueError, match="num_groups"):
        F.group_norm(x, 4)
    with pytest.raises(ValueError, match="num_channels"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="expected 6 channels"):
        nn.GroupNorm(2, 6)(randn((2, 4, 3, 3)))
    with pytest.raises(ValueError, match="weight: expected shape"):
        F.group_norm(x, 2, np.ones(5))
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(x, (4, 3))
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(())
    with pytest.raises(TypeError, match="num_groups"):
        F.group_norm(x, 2.5)
    with pytest.raises(ValueError, match="eps"):
        F.group_norm(x, 2, eps=-1)
    with pytest.raises(ValueError, match="BatchNorm1d input"):
        nn.BatchNorm1d(6)(x)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(6)(randn((1, 6)))
    with pytest.raises(ValueError, match="InstanceNorm2d input"):
        nn.InstanceNorm2d(6)(randn((2, 6)))
    with pytest.raises(ValueError, match="at least one value"):
        F.group_norm(np.zeros((2, 6, 0, 3), np.float32), 2)
    before = x.copy()
    F.group_norm(x, 3)
    np.testing.assert_array_equal(x, before)


# ------------------------------------------------------------------------------- PyTorch ---

def _torch():
    import os

    if os.environ.get("CNNCORE_REQUIRE_TORCH"):
        import torch
    else:
        torch = pytest.importorskip("torch")
    return torch


@pytest.mark.parametrize("kind", ["group", "layer_chw", "layer_last", "instance", "bn1d"])
def test_norm_modules_match_torch(kind):
    torch = _torch()
    tnn = torch.nn
    pairs = {
        "group": (nn.GroupNorm(3, 48), tnn.GroupNorm(3, 48), (2, 48, 4, 3)),
        "layer_chw": (nn.LayerNorm((20, 3, 2)), tnn.LayerNorm((20, 3, 2)), (2, 20, 3, 2)),
        "layer_last": (nn.LayerNorm(7), tnn.LayerNorm(7), (3, 5, 7)),
        "instance": (nn.InstanceNorm2d(5, affine=True, track_running_stats=True),
                     tnn.InstanceNorm2d(5, affine=True, track_running_stats=True), (2, 5, 4, 4)),
        "bn1d": (nn.BatchNorm1d(6), tnn.BatchNorm1d(6), (5, 6, 3)),
    }
    ours, theirs, shape = pairs[kind]
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(3)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x, gy = randn(shape, 30) * 2 + 0.5, randn(shape, 31)
    tx = torch.tensor(x, requires_grad=True)
    ty = theirs(tx)
    ty.backward(torch.tensor(gy))
    xt = Tensor(x, requires_grad=True)
    y = ours(xt)
    (y * Tensor(gy)).sum().backward()
    assert_close(y.numpy(), ty.detach().numpy(), name="y")
    assert_close(xt.grad, tx.grad.numpy(), name="dx")
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(p.grad, tp.grad.numpy(), name=name)
    for name, buf in theirs.state_dict().items():
        assert_close(np.asarray(ours.state_dict()[name]), buf.numpy(), 1e-5, 1e-6, name=name)
