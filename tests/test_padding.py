"""F.pad (constant with any fill and negative pads, reflect, replicate, circular), the padding
layers and Conv2d(padding_mode=...), forward and backward, against NumPy references (np.pad and
its adjoint) at every ISA level and channel-block edges; errors; parity with PyTorch."""
import numpy as np
import pytest

import cnncore
import cnncore.functional as F
from cnncore import nn
from conftest import assert_close, torch_or_skip

import reference as R

RNG = np.random.default_rng(11)
NP_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def ref_pad(x, pad, mode="constant", value=0.0):
    """np.pad of the last two axes; negative constant pads crop."""
    left, right, top, bottom = tuple(pad) + (0, 0) * (len(pad) == 2)
    widths = [(0, 0), (0, 0), (max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0))]
    if mode == "constant":
        y = np.pad(x.astype(np.float64), widths, constant_values=value)
    else:
        y = np.pad(x.astype(np.float64), widths, mode=NP_MODES[mode])
    h, w = y.shape[2:]
    return y[:, :, max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]


def ref_pad_backward(gy, shape, pad, mode):
    """The adjoint of ref_pad: pad an index map, then scatter-add the gradient through it."""
    n, c, h, w = shape
    index = np.arange(h * w, dtype=np.float64).reshape(1, 1, h, w)
    where = ref_pad(index, pad, mode, value=-1).astype(np.int64)[0, 0]
    gx = np.zeros((n, c, h * w))
    inside = where >= 0
    for k, flat in zip(np.flatnonzero(inside), where[inside]):
        gx[:, :, flat] += gy.reshape(n, c, -1)[:, :, k]
    return gx.reshape(shape)


CASES = [
    ((2, 3, 5, 6), (1, 2, 3, 0)),
    ((1, 17, 4, 4), (2, 2, 2, 2)),
    ((1, 16, 3, 7), (0, 1, 1, 0)),
    ((2, 1, 6, 5), (3, 3, 2, 4)),
    ((1, 33, 2, 3), (1, 1, 1, 1)),
]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", CASES)
def test_pad_matches_reference(isa, shape, pad, mode):
    if mode == "reflect" and (max(pad[2:]) >= shape[2] or max(pad[:2]) >= shape[3]):
        pad = tuple(min(p, s - 1) for p, s in zip(pad, (shape[3],) * 2 + (shape[2],) * 2))
    if mode == "circular":
        pad = tuple(min(p, s) for p, s in zip(pad, (shape[3],) * 2 + (shape[2],) * 2))
    x = randn(*shape)
    value = 1.5 if mode == "constant" else None
    y = F.pad(x, pad, mode, value)
    ry = ref_pad(x, pad, mode, 1.5)
    assert y.dtype == np.float32
    assert_close(y, ry, name="pad")
    gy = randn(*ry.shape)
    assert_close(F.pad_backward(gy, shape, pad, mode), ref_pad_backward(gy, shape, pad, mode),
                 name="pad_backward")


def test_constant_pad_crops_and_pads_one_axis(isa):
    x = randn(2, 5, 6, 7)
    for pad in ((-1, 2, 0, -3), (2, -2), (-2, -2, -1, -1)):
        y = F.pad(x, pad, value=-0.5)
        assert_close(y, ref_pad(x, pad, value=-0.5))
        gy = randn(*y.shape)
        assert_close(F.pad_backward(gy, x.shape, pad), ref_pad_backward(gy, x.shape, pad, "constant"))


def test_constant_fill_leaves_the_padded_lanes_zero():
    """The fill reaches the real channels only: the blocked layout's spare lanes stay zero."""
    from cnncore.functional import to_blocked
    from cnncore.functional._pad import pad_blocked, pad_geometry

    x = randn(1, 3, 2, 2)
    yb = pad_blocked(to_blocked(x), pad_geometry(x.shape, (1, 1, 1, 1), "constant", 7.0))
    assert (yb.data[..., 3:] == 0).all() and (yb.data[..., :3] != 0).all()


def test_thread_count_does_not_change_results(restore_threads):
    x, gy = randn(2, 20, 9, 11), randn(2, 20, 13, 15)
    results = []
    for n in (1, 3):
        cnncore.set_num_threads(n)
        results.append((F.pad(x, (2, 2, 2, 2), "replicate"), F.pad_backward(gy, x.shape, (2, 2, 2, 2), "replicate")))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("layer,mode,value", [
    (lambda: nn.ZeroPad2d((1, 2, 0, 1)), "constant", 0.0),
    (lambda: nn.ConstantPad2d(2, -1.0), "constant", -1.0),
    (lambda: nn.ReflectionPad2d((1, 2, 0, 1)), "reflect", None),
    (lambda: nn.ReplicationPad2d(2), "replicate", None),
    (lambda: nn.CircularPad2d(1), "circular", None),
])
def test_padding_layers(layer, mode, value):
    m = layer()
    pad = m.padding
    x = cnncore.Tensor(randn(2, 3, 4, 5), requires_grad=True)
    y = m(x)
    assert_close(y.numpy(), ref_pad(x.numpy(), pad, mode, value or 0.0))
    gy = randn(*y.shape)
    y.backward(gy)
    assert_close(x.grad, ref_pad_backward(gy, x.shape, pad, mode))
    assert "Pad" in cnncore.autograd.graph_ops(y)
    assert m.state_dict() == {}


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv2d_padding_mode(mode):
    cnncore.manual_seed(1)
    m = nn.Conv2d(3, 5, 3, stride=(1, 2), padding=(1, 2), padding_mode=mode)
    x = cnncore.Tensor(randn(2, 3, 6, 7), requires_grad=True)
    y = m(x)
    xp = ref_pad(x.numpy(), (2, 2, 1, 1), mode)
    ry = R.conv2d(xp, m.weight.data, m.bias.data, (1, 2), 0)
    assert_close(y.numpy(), ry)
    gy = randn(*y.shape)
    y.backward(gy)
    gxp, gw, gb = R.conv2d_backward(gy, xp, m.weight.data, (1, 2), 0)
    assert_close(x.grad, ref_pad_backward(gxp, x.shape, (2, 2, 1, 1), mode))
    assert_close(m.weight.grad, gw, atol=2e-4)
    assert_close(m.bias.grad, gb, atol=2e-4)
    assert "padding_mode=%s" % mode in repr(m)
    assert m.output_shape((2, 3, 6, 7)) == y.shape


def test_conv2d_padding_mode_fuses_relu_and_depthwise():
    """The padded input goes through the same convolution node: ReLU fusion and depthwise
    weights work as with zero padding."""
    cnncore.manual_seed(2)
    conv = nn.Conv2d(16, 16, 3, padding=1, groups=16, padding_mode="reflect")
    net = nn.Sequential(conv, nn.ReLU())
    x = randn(1, 16, 5, 5)
    y = net(x)
    assert "Conv2d+ReLU" in cnncore.autograd.graph_ops(y)
    ry = np.maximum(R.conv2d(ref_pad(x, (1, 1, 1, 1), "reflect"), conv.weight.data, conv.bias.data,
                             1, 0, 1, 16), 0)
    assert_close(y.numpy(), ry)


@pytest.mark.parametrize("call,exc,words", [
    (lambda x: F.pad(x, (1, 1, 1)), ValueError, ["pad", "(1, 1, 1)"]),
    (lambda x: F.pad(x, (1.0, 1)), TypeError, ["pad"]),
    (lambda x: F.pad(x, (1, 1), "reflect"), ValueError, ["pad", "'reflect'", "(left, right, top, bottom)"]),
    (lambda x: F.pad(x, (4, 0, 0, 0), "reflect"), ValueError, ["reflect", "(3, 4)"]),
    (lambda x: F.pad(x, (5, 0, 0, 0), "circular"), ValueError, ["circular", "(3, 4)"]),
    (lambda x: F.pad(x, (-1, 0, 0, 0), "replicate"), ValueError, ["pad", ">= 0"]),
    (lambda x: F.pad(x, (1, 1, 1, 1), "edge"), ValueError, ["mode", "'edge'"]),
    (lambda x: F.pad(x, (1, 1, 1, 1), "reflect", 2.0), ValueError, ["value", "'reflect'"]),
    (lambda x: F.pad(x, (-2, -2)), ValueError, ["pad", "(3, 0)"]),
    (lambda x: F.pad(x, (1, 1), value="a"), TypeError, ["value"]),
    (lambda x: F.pad(x[0], (1, 1)), ValueError, ["input", "4-d"]),
    (lambda x: nn.ZeroPad2d((1, 2)), TypeError, ["padding", "(1, 2)"]),
    (lambda x: nn.ReflectionPad2d(-1), ValueError, ["pad", ">= 0"]),
    (lambda x: nn.Conv2d(3, 3, 3, padding_mode="mirror"), ValueError, ["padding_mode", "'mirror'"]),
    (lambda x: nn.Conv2d(3, 3, 3, padding=4, padding_mode="reflect")(x), ValueError, ["reflect", "(3, 4)"]),
])
def test_errors(call, exc, words):
    with pytest.raises(exc) as info:
        call(randn(1, 3, 3, 4))
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_and_conv_padding_mode_match_torch(mode):
    torch = torch_or_skip()
    x = randn(2, 3, 5, 6)
    pad = (1, 2, 2, 0)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.pad(tx, pad, mode)
    assert_close(F.pad(x, pad, mode), ty.detach().numpy().astype(np.float64))
    gy = randn(*ty.shape)
    ty.backward(torch.tensor(gy))
    assert_close(F.pad_backward(gy, x.shape, pad, mode), tx.grad.numpy().astype(np.float64))
    cmode = "zeros" if mode == "constant" else mode
    tm = torch.nn.Conv2d(3, 4, 3, padding=(2, 1), padding_mode=cmode)
    m = nn.Conv2d(3, 4, 3, padding=(2, 1), padding_mode=cmode)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert_close(m(x).numpy(), tm(torch.tensor(x)).detach().numpy().astype(np.float64))
