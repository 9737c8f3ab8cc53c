"""ConvTranspose2d and functional conv_transpose2d: forward and backward against a NumPy scatter
reference (float64) at every ISA level, at channel-block edges, with stride, padding,
output_padding, dilation and groups (depthwise included); the layer's PyTorch layout, init bound,
state_dict, output_size and errors; the recorded graph; parity with PyTorch."""
import numpy as np
import pytest

import cnncore
import cnncore.functional as F
from cnncore import nn
from conftest import assert_close, torch_or_skip

RNG = np.random.default_rng(20261202)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _layout(x_shape, w_shape, stride, padding, output_padding, groups, dilation):
    s, p, op, d = _pair(stride), _pair(padding), _pair(output_padding), _pair(dilation)
    n, ci, h, w = x_shape
    _, opg, kh, kw = w_shape
    out = [(size - 1) * s[k] - 2 * p[k] + d[k] * (kk - 1) + op[k] + 1
           for k, (size, kk) in enumerate(((h, kh), (w, kw)))]
    # the scatter buffer: every tap of every input pixel, and the whole cropped window
    full = [max((size - 1) * s[k] + d[k] * (kk - 1) + 1, p[k] + out[k])
            for k, (size, kk) in enumerate(((h, kh), (w, kw)))]
    return s, p, d, out, full, ci // groups, opg


def ref_conv_transpose2d(x, w, b, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Each input pixel scatters weight * value to the output pixels its taps reach (float64)."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    s, p, d, out, full, ipg, opg = _layout(x.shape, w.shape, stride, padding, output_padding, groups, dilation)
    n, _, h, wd = x.shape
    buf = np.zeros((n, opg * groups) + tuple(full))
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            for g in range(groups):
                xs = x[:, g * ipg:(g + 1) * ipg]
                buf[:, g * opg:(g + 1) * opg, i * d[0]:i * d[0] + (h - 1) * s[0] + 1:s[0],
                    j * d[1]:j * d[1] + (wd - 1) * s[1] + 1:s[1]] += np.einsum(
                        "nihw,io->nohw", xs, w[g * ipg:(g + 1) * ipg, :, i, j])
    y = buf[:, :, p[0]:p[0] + out[0], p[1]:p[1] + out[1]]
    return y if b is None else y + np.asarray(b, np.float64)[None, :, None, None]


def ref_conv_transpose2d_backward(gy, x, w, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The adjoint of the scatter: each input pixel gathers what its taps reached."""
    gy, x, w = gy.astype(np.float64), x.astype(np.float64), w.astype(np.float64)
    s, p, d, out, full, ipg, opg = _layout(x.shape, w.shape, stride, padding, output_padding, groups, dilation)
    n, _, h, wd = x.shape
    buf = np.zeros((n, opg * groups) + tuple(full))
    buf[:, :, p[0]:p[0] + out[0], p[1]:p[1] + out[1]] = gy
    gx, gw = np.zeros_like(x), np.zeros_like(w)
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            for g in range(groups):
                win = buf[:, g * opg:(g + 1) * opg, i * d[0]:i * d[0] + (h - 1) * s[0] + 1:s[0],
                          j * d[1]:j * d[1] + (wd - 1) * s[1] + 1:s[1]]
                gx[:, g * ipg:(g + 1) * ipg] += np.einsum("nohw,io->nihw", win, w[g * ipg:(g + 1) * ipg, :, i, j])
                gw[g * ipg:(g + 1) * ipg, :, i, j] = np.einsum("nihw,nohw->io", x[:, g * ipg:(g + 1) * ipg], win)
    return gx, gw, gy.sum(axis=(0, 2, 3))


# (x shape, C_out, kernel, stride, padding, output_padding, groups, dilation): channels below, at,
# above and not a multiple of 16; odd and non-square sizes; output_padding below the stride and
# (with dilation) at or above it; grouped with groups inside and across 16-channel blocks; depthwise
CASES = [
    ((2, 3, 4, 5), 5, 3, 2, 1, 1, 1, 1),
    ((1, 16, 3, 3), 16, 2, 2, 0, 0, 1, 1),
    ((2, 17, 5, 4), 33, 3, 1, 1, 0, 1, 2),
    ((1, 1, 3, 3), 1, 1, 1, 0, 0, 1, 1),
    ((2, 6, 3, 3), 4, 3, 3, 0, 2, 2, 1),
    ((1, 4, 3, 3), 4, 3, 1, 0, 1, 1, 2),
    ((1, 32, 3, 5), 48, (3, 1), (2, 1), (1, 0), (1, 0), 16, 1),
    ((2, 8, 4, 4), 8, 3, 2, 1, 1, 8, 1),
    ((1, 20, 2, 3), 10, (2, 4), (1, 3), (0, 1), 0, 5, (2, 1)),
]


def _weight(x_shape, c_out, k, groups):
    kh, kw = _pair(k)
    return randn(x_shape[1], c_out // groups, kh, kw)


@pytest.mark.parametrize("shape,c_out,k,s,p,op,g,d", CASES)
def test_conv_transpose2d_matches_reference(isa, shape, c_out, k, s, p, op, g, d):
    x, w, b = randn(*shape), _weight(shape, c_out, k, g), randn(c_out)
    y = F.conv_transpose2d(x, w, b, s, p, op, g, d)
    ry = ref_conv_transpose2d(x, w, b, s, p, op, g, d)
    assert y.dtype == np.float32
    assert_close(y, ry, name="conv_transpose2d")
    gy = randn(*ry.shape)
    gx, gw, gb = F.conv_transpose2d_backward(gy, x, w, s, p, op, g, d)
    rx, rw, rb = ref_conv_transpose2d_backward(gy, x, w, s, p, op, g, d)
    assert_close(gx, rx, name="grad_input")
    assert_close(gw, rw, rtol=1e-4, atol=2e-4, name="grad_weight")
    assert_close(gb, rb, name="grad_bias")


def test_conv_transpose2d_is_the_adjoint_of_conv2d(isa):
    """<conv2d(u, w), v> == <u, conv_transpose2d(v, w)> for the same weight and arguments."""
    u, w = randn(2, 6, 9, 8), randn(10, 3, 3, 3)  # conv2d: 6 -> 10 channels, groups 2
    cy = F.conv2d(u, w, None, 2, 1, 1, 2)
    v = randn(*cy.shape)
    tv = F.conv_transpose2d(v, w, None, 2, 1, (0, 1), 2, 1)  # (0, 1): back to 9 x 8 from 5 x 4
    assert tv.shape == u.shape
    lhs = float((cy.astype(np.float64) * v).sum())
    rhs = float((u.astype(np.float64) * tv).sum())
    assert abs(lhs - rhs) <= 1e-4 * max(1.0, abs(lhs))


def test_layer_layout_init_state_dict_and_graph():
    cnncore.manual_seed(0)
    m = nn.ConvTranspose2d(6, 4, (3, 2), stride=2, padding=1, output_padding=1, groups=2)
    assert m.weight.shape == (6, 2, 3, 2) and m.bias.shape == (4,)
    bound = 1 / np.sqrt(2 * 3 * 2)  # fan_in = out_channels / groups * kh * kw, as PyTorch
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.weight.data).max() > 0.8 * bound
    assert list(m.state_dict()) == ["weight", "bias"]
    x = cnncore.Tensor(randn(2, 6, 4, 5), requires_grad=True)
    y = m(x)
    assert y.shape == (2, 4, 8, 9)  # (4-1)*2 - 2 + 2 + 1 + 1, (5-1)*2 - 2 + 1 + 1 + 1
    assert "ConvTranspose2d" in cnncore.autograd.graph_ops(y)
    y.sum().backward()
    rx, rw, rb = ref_conv_transpose2d_backward(np.ones(y.shape, np.float32), x.numpy(), m.weight.data,
                                               2, 1, 1, 2, 1)
    assert_close(x.grad, rx)
    assert_close(m.weight.grad, rw, atol=2e-4)
    assert_close(m.bias.grad, rb, atol=2e-4)
    assert_close(y.numpy(), ref_conv_transpose2d(x.numpy(), m.weight.data, m.bias.data, 2, 1, 1, 2, 1))
    assert "output_padding=(1, 1)" in repr(m) and "groups=2" in repr(m)


def test_layer_output_size_picks_output_padding():
    m = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    x = randn(1, 3, 4, 4)
    assert m(x).shape == (1, 2, 7, 7)
    y = m(x, output_size=(8, 7))
    assert y.shape == (1, 2, 8, 7)
    assert_close(y.numpy(), ref_conv_transpose2d(x, m.weight.data, m.bias.data, 2, 1, (1, 0)))
    assert m(x, output_size=(1, 2, 8, 8)).shape == (1, 2, 8, 8)
    with pytest.raises(ValueError, match=r"output_size.*\(7, 7\).*\(8, 8\).*\(9, 7\)"):
        m(x, output_size=(9, 7))


def test_frozen_weight_and_functional_tensor_gradients():
    m = nn.ConvTranspose2d(3, 5, 3, stride=2, bias=False)
    m.weight.requires_grad = False
    x = cnncore.Tensor(randn(1, 3, 3, 3), requires_grad=True)
    m(x).sum().backward()
    assert m.weight.grad is None and x.grad is not None
    xv, wv, bv = randn(2, 4, 3, 3), randn(4, 3, 2, 2), randn(3)
    x, w, b = (cnncore.Tensor(v, requires_grad=True) for v in (xv, wv, bv))
    y = F.conv_transpose2d(x, w, b, stride=2)
    gy = randn(*y.shape)
    y.backward(gy)
    rx, rw, rb = ref_conv_transpose2d_backward(gy, xv, wv, 2)
    assert_close(x.grad, rx)
    assert_close(w.grad, rw, atol=2e-4)
    assert_close(b.grad, rb, atol=2e-4)
    assert isinstance(F.conv_transpose2d(xv, wv, bv, stride=2), np.ndarray)


@pytest.mark.parametrize("c_in,c_out,groups", [(17, 4, 1), (6, 10, 2)])
def test_nan_propagates_and_inputs_unchanged(c_in, c_out, groups):
    """A NaN reaches exactly the outputs (and gradients) it touches, also when groups share a
    16-channel block (whose kernels run group by group on non-finite values)."""
    x, w = randn(1, c_in, 3, 3), randn(c_in, c_out // groups, 3, 3)
    x[0, 2, 1, 1] = np.nan
    x0, w0 = x.copy(), w.copy()
    y = F.conv_transpose2d(x, w, stride=2, groups=groups)
    ry = ref_conv_transpose2d(x, w, None, 2, groups=groups)
    assert np.isnan(y).any()
    assert_close(y, ry)
    gy = randn(*y.shape)
    gy[0, 1, 2, 2] = np.inf
    gx = F.conv_transpose2d_backward(gy, x0, w0, 2, groups=groups)[0]
    assert_close(gx, ref_conv_transpose2d_backward(gy, x0, w0, 2, groups=groups)[0])
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


@pytest.mark.parametrize("kwargs,exc,words", [
    (dict(output_padding=2, stride=2), ValueError, ["output_padding", "stride", "dilation"]),
    (dict(output_padding=(0, 1)), ValueError, ["output_padding", "(0, 1)"]),
    (dict(groups=2), ValueError, ["groups", "3", "2"]),
    (dict(stride=0), ValueError, ["stride", "0"]),
    (dict(padding=-1), ValueError, ["padding", "-1"]),
    (dict(padding=3), ValueError, ["input", "output of"]),
])
def test_functional_errors(kwargs, exc, words):
    with pytest.raises(exc) as info:
        F.conv_transpose2d(randn(1, 3, 2, 2), randn(3, 2, 3, 3), **kwargs)
    for word in words:
        assert word in str(info.value)


def test_layer_errors():
    with pytest.raises(ValueError, match="output_padding"):
        nn.ConvTranspose2d(3, 3, 3, stride=2, output_padding=2)
    nn.ConvTranspose2d(3, 3, 3, stride=1, output_padding=1, dilation=2)  # below the dilation: allowed
    with pytest.raises(ValueError, match="padding_mode.*'reflect'"):
        nn.ConvTranspose2d(3, 3, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"weight.*\(3, C_out/groups"):
        F.conv_transpose2d(randn(1, 3, 2, 2), randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"ConvTranspose2d input.*3 channels"):
        nn.ConvTranspose2d(3, 3, 3)(randn(1, 4, 2, 2))
    with pytest.raises(ValueError, match=r"grad_output.*\(1, 2, 4, 4\)"):
        F.conv_transpose2d_backward(randn(1, 2, 3, 3), randn(1, 3, 2, 2), randn(3, 2, 3, 3))


def test_matches_torch():
    torch = torch_or_skip()
    for args, kw, shape in (((6, 4, 3), dict(stride=2, padding=1, output_padding=1, groups=2), (2, 6, 5, 4)),
                            ((16, 16, 4), dict(stride=2, padding=1, groups=16), (1, 16, 3, 3)),
                            ((3, 20, 2), dict(stride=2, dilation=2, output_padding=1, bias=False), (2, 3, 3, 4))):
        tm = torch.nn.ConvTranspose2d(*args, **kw)
        m = nn.ConvTranspose2d(*args, **kw)
        m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
        x = randn(*shape)
        tx = torch.tensor(x, requires_grad=True)
        ty = tm(tx)
        cx = cnncore.Tensor(x, requires_grad=True)
        y = m(cx)
        assert_close(y.numpy(), ty.detach().numpy().astype(np.float64))
        gy = randn(*ty.shape)
        ty.backward(torch.tensor(gy))
        y.backward(gy)
        assert_close(cx.grad, tx.grad.numpy().astype(np.float64))
        for (name, p), tp in zip(m.named_parameters(), tm.parameters()):
            assert_close(p.grad, tp.grad.numpy().astype(np.float64), atol=2e-4, name=name)
