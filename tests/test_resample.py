"""interpolate / Upsample (nearest, nearest-exact, bilinear with and without align_corners; size or
scale_factor, integer and not) and PixelShuffle / PixelUnshuffle, forward and backward, against
NumPy references (PyTorch's index formulas in float32, interpolation in float64) at every ISA
level and channel-block edges; the layers, the recorded graph, errors, and parity with PyTorch."""
import math

import numpy as np
import pytest

import cnncore
import cnncore.functional as F
from cnncore import nn
from conftest import assert_close, torch_or_skip

RNG = np.random.default_rng(7)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# ------------------------------------------------------------------------- reference ---

def _scale(in_size, out_size, sf):
    """PyTorch's compute_scales_value<float>: 1/scale_factor if given, else in/out, in float32."""
    return np.float32(1.0 / sf) if sf else np.float32(in_size) / np.float32(out_size)


def ref_axis(in_size, out_size, mode, align_corners, sf):
    """Per output index: (i0, i1, w0, w1), as PyTorch's CPU kernels compute them for float32."""
    f32 = np.float32
    rows = []
    for o in range(out_size):
        if mode == "nearest":
            i = o if out_size == in_size else (o >> 1 if out_size == 2 * in_size else
                                              min(int(math.floor(f32(o) * _scale(in_size, out_size, sf))), in_size - 1))
            rows.append((i, i, 1.0, 0.0))
        elif mode == "nearest-exact":
            s = _scale(in_size, out_size, sf)
            i = min(int(math.floor(f32((o + 0.5) * np.float64(s)))), in_size - 1)
            rows.append((i, i, 1.0, 0.0))
        elif out_size == in_size:
            rows.append((o, o, 1.0, 0.0))
        else:
            if align_corners:
                s = f32(in_size - 1) / f32(out_size - 1) if out_size > 1 else f32(0)
                real = s * f32(o)
            else:
                s = _scale(in_size, out_size, sf)
                real = max(s * (f32(o) + f32(0.5)) - f32(0.5), f32(0))
            i0 = min(int(math.floor(real)), in_size - 1)
            lam = min(max(float(real - f32(i0)), 0.0), 1.0)
            rows.append((i0, i0 + (1 if i0 < in_size - 1 else 0), 1.0 - lam, lam))
    return rows


def ref_matrix(in_size, out_size, mode, align_corners, sf):
    """(out, in) float64 interpolation matrix of one axis."""
    m = np.zeros((out_size, in_size))
    for o, (i0, i1, w0, w1) in enumerate(ref_axis(in_size, out_size, mode, align_corners, sf)):
        m[o, i0] += w0
        m[o, i1] += w1
    return m


def ref_interpolate(x, size, mode, align_corners=False, sf=(None, None)):
    mh = ref_matrix(x.shape[2], size[0], mode, align_corners, sf[0])
    mw = ref_matrix(x.shape[3], size[1], mode, align_corners, sf[1])
    return np.einsum("oh,nchw,pw->ncop", mh, x.astype(np.float64), mw), (mh, mw)


def ref_interpolate_backward(gy, mats):
    mh, mw = mats
    return np.einsum("oh,ncop,pw->nchw", mh, gy.astype(np.float64), mw)


def _out_size(shape, size, scale_factor):
    if size is not None:
        return (size, size) if isinstance(size, int) else tuple(size)
    sf = (scale_factor, scale_factor) if not isinstance(scale_factor, tuple) else scale_factor
    return tuple(int(math.floor(d * s)) for d, s in zip(shape[2:], sf))


# (shape, size, scale_factor): upsampling by 2 (the shortcut of nearest), by 3, by 1.7 (not an
# integer), unequal factors, downsampling, sizes, the identity; channels 1, 3, 16, 17, 33
RESIZE_CASES = [
    ((2, 3, 5, 7), None, 2),
    ((1, 17, 4, 4), None, 1.7),
    ((1, 16, 6, 5), None, (0.5, 3.3)),
    ((2, 1, 5, 4), (11, 3), None),
    ((1, 33, 3, 3), 3, None),
    ((1, 4, 7, 6), None, 3),
    ((1, 2, 9, 9), (4, 13), None),
]
MODES = [("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True)]


@pytest.mark.parametrize("mode,align", MODES)
@pytest.mark.parametrize("shape,size,sf", RESIZE_CASES)
def test_interpolate_matches_reference(isa, shape, size, sf, mode, align):
    x = randn(*shape)
    out = _out_size(shape, size, sf)
    sfs = (sf, sf) if not isinstance(sf, tuple) else sf
    y = F.interpolate(x, size=size, scale_factor=sf, mode=mode, align_corners=align)
    ry, mats = ref_interpolate(x, out, mode, align, sfs)
    assert y.shape == ry.shape and y.dtype == np.float32
    assert_close(y, ry, rtol=1e-5, atol=1e-5, name="interpolate")
    gy = randn(*y.shape)
    gx = F.interpolate_backward(gy, shape, sf, mode, align)
    assert_close(gx, ref_interpolate_backward(gy, mats), name="interpolate_backward")


def test_recompute_scale_factor_uses_the_sizes():
    x = randn(1, 2, 5, 5)
    y = F.interpolate(x, scale_factor=1.3, recompute_scale_factor=True)
    ry, _ = ref_interpolate(x, (6, 6), "nearest")  # in/out = 5/6, not 1/1.3
    assert_close(y, ry)
    plain, _ = ref_interpolate(x, (6, 6), "nearest", sf=(1.3, 1.3))
    assert_close(F.interpolate(x, scale_factor=1.3), plain)
    assert not np.allclose(ry, plain)  # the two formulas differ here, so the test can fail


def test_thread_count_does_not_change_results(restore_threads):
    x, gy = randn(2, 20, 9, 11), randn(2, 20, 17, 23)
    results = []
    for n in (1, 2, 3):
        cnncore.set_num_threads(n)
        results.append((F.interpolate(x, size=(17, 23), mode="bilinear"),
                        F.interpolate_backward(gy, x.shape, None, "bilinear")))
    for y, gx in results[1:]:
        np.testing.assert_array_equal(y, results[0][0])
        np.testing.assert_array_equal(gx, results[0][1])


def test_upsample_layers_and_graph():
    x = cnncore.Tensor(randn(2, 3, 4, 5), requires_grad=True)
    m = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
    y = m(x)
    assert y.shape == (2, 3, 8, 10) and "Upsample" in cnncore.autograd.graph_ops(y)
    gy = randn(*y.shape)
    y.backward(gy)
    ry, mats = ref_interpolate(x.numpy(), (8, 10), "bilinear", False, (2, 2))
    assert_close(y.numpy(), ry)
    assert_close(x.grad, ref_interpolate_backward(gy, mats))
    assert_close(nn.UpsamplingBilinear2d(size=(7, 9))(x.numpy()).numpy(),
                 ref_interpolate(x.numpy(), (7, 9), "bilinear", True)[0])
    assert_close(nn.UpsamplingNearest2d(scale_factor=3)(x.numpy()).numpy(),
                 ref_interpolate(x.numpy(), (12, 15), "nearest", sf=(3, 3))[0])
    assert "scale_factor=2" in repr(m) and "bilinear" in repr(m)
    assert m.state_dict() == {}
    t = F.interpolate(x, size=(6, 6))
    assert isinstance(t, cnncore.Tensor) and t.requires_grad


def test_upsample_in_a_network_keeps_the_blocked_layout():
    cnncore.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
                        nn.Conv2d(8, 2, 1))
    x = randn(2, 3, 5, 5)
    y = net(x)
    assert y.shape == (2, 2, 10, 10)
    y.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def _pixel_shuffle_ref(x, r):
    n, c, h, w = x.shape
    y = np.empty((n, c // (r * r), h * r, w * r), x.dtype)
    for ch in range(c // (r * r)):
        for i in range(r):
            for j in range(r):
                y[:, ch, i::r, j::r] = x[:, ch * r * r + i * r + j]
    return y


def test_pixel_shuffle_and_unshuffle():
    x = randn(2, 18, 3, 4)
    y = F.pixel_shuffle(x, 3)
    np.testing.assert_array_equal(y, _pixel_shuffle_ref(x, 3))
    np.testing.assert_array_equal(F.pixel_unshuffle(y, 3), x)
    t = cnncore.Tensor(x, requires_grad=True)
    ty = nn.PixelShuffle(3)(t)
    gy = randn(*ty.shape)
    ty.backward(gy)
    np.testing.assert_array_equal(t.grad, F.pixel_unshuffle(gy, 3))
    u = cnncore.Tensor(y, requires_grad=True)
    uy = nn.PixelUnshuffle(3)(u)
    np.testing.assert_array_equal(uy.numpy(), x)
    uy.backward(x)
    np.testing.assert_array_equal(u.grad, y)
    assert "PixelShuffle" in cnncore.autograd.graph_ops(ty)


@pytest.mark.parametrize("call,exc,words", [
    (lambda x: F.interpolate(x), ValueError, ["size", "scale_factor", "exactly one"]),
    (lambda x: F.interpolate(x, size=4, scale_factor=2), ValueError, ["exactly one"]),
    (lambda x: F.interpolate(x, size=0), ValueError, ["size", ">= 1"]),
    (lambda x: F.interpolate(x, size=2.5), TypeError, ["size", "2.5"]),
    (lambda x: F.interpolate(x, scale_factor=-1), ValueError, ["scale_factor", "-1"]),
    (lambda x: F.interpolate(x, scale_factor=0.1), ValueError, ["scale_factor", "(0, 0)"]),
    (lambda x: F.interpolate(x, scale_factor=2, mode="bicubic"), ValueError, ["mode", "'bicubic'"]),
    (lambda x: F.interpolate(x, scale_factor=2, align_corners=True), ValueError,
     ["align_corners", "'nearest'"]),
    (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=1), TypeError, ["align_corners"]),
    (lambda x: F.interpolate(x, size=4, recompute_scale_factor=True), ValueError, ["recompute_scale_factor"]),
    (lambda x: F.interpolate(x, size=4, antialias=True), ValueError, ["antialias"]),
    (lambda x: F.interpolate(x[0], size=4), ValueError, ["input", "4-d"]),
    (lambda x: F.pixel_shuffle(x, 2), ValueError, ["upscale_factor**2", "(1, 3, 5, 5)"]),
    (lambda x: F.pixel_unshuffle(x, 2), ValueError, ["downscale_factor", "(1, 3, 5, 5)"]),
    (lambda x: F.pixel_shuffle(x, 0), ValueError, ["upscale_factor", "0"]),
    (lambda x: nn.Upsample(scale_factor=2, mode="linear"), ValueError, ["mode", "'linear'"]),
    (lambda x: nn.PixelShuffle(1.5), TypeError, ["upscale_factor"]),
])
def test_errors(call, exc, words):
    with pytest.raises(exc) as info:
        call(randn(1, 3, 5, 5))
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("mode,align", MODES)
def test_interpolate_matches_torch(mode, align):
    torch = torch_or_skip()
    for shape, size, sf in RESIZE_CASES + [((1, 3, 10, 7), None, 0.37), ((2, 5, 3, 8), None, (4.2, 1.5))]:
        x = randn(*shape)
        tx = torch.tensor(x, requires_grad=True)
        ty = torch.nn.functional.interpolate(tx, size=size, scale_factor=sf, mode=mode, align_corners=align)
        y = F.interpolate(x, size=size, scale_factor=sf, mode=mode, align_corners=align)
        assert_close(y, ty.detach().numpy().astype(np.float64), rtol=1e-5, atol=1e-5)
        gy = randn(*ty.shape)
        ty.backward(torch.tensor(gy))
        assert_close(F.interpolate_backward(gy, shape, sf, mode, align), tx.grad.numpy().astype(np.float64))
