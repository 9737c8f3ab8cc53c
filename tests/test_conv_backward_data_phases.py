"""Backward-data by stride phases (csrc/ops/conv_phase.c): the input gradient of conv2d and the
forward of conv_transpose2d (the same operation) against tests/reference.py, at every ISA level,
for every kind of phase: stride 2 and 3 (and 2 x 3), kernels smaller than the stride (phases no
tap reaches are zero), dilation 2 (phases reached by no tap, taps spaced in dy), padding 0, 1, 2
and past the kernel's reach (negative phase padding: dy cropped), odd and even sizes, phase widths
at the forward tiles (14 AVX-512, 6 AVX2, 8 generic) and one past them, groups, depthwise, and
ConvTranspose2d output_padding (rows no dy pixel reaches). Outputs start NaN-filled (conftest), so
a phase left unwritten fails. Also the depthwise weight gradient, whose kernel takes a kernel row's
taps in groups of 3, 2, 1 (kernel widths 1 to 7) and whose batch is sliced below 8 channel blocks."""
import numpy as np
import pytest

import cnncore.functional as F

try:  # tests/ may or may not be a package
    from . import reference as R
    from .conftest import assert_close
except ImportError:
    import reference as R
    from conftest import assert_close

# (n, c_in, h, w, c_out, kernel, stride, padding, dilation, groups)
CASES = [
    (2, 17, 9, 8, 33, 3, 2, 1, 1, 1),         # odd rows, even columns
    (1, 16, 8, 9, 16, 3, 2, 0, 1, 1),
    (1, 15, 7, 29, 17, 3, 2, 2, 1, 1),        # phase widths 15, 14
    (1, 16, 5, 13, 16, 3, 2, 3, 1, 1),        # padding past the reach: phase padding < 0
    (1, 3, 12, 57, 16, 3, 2, 1, 1, 1),        # phase widths 29, 28 (2 tiles + tail)
    (2, 16, 9, 11, 16, 3, 3, 1, 1, 1),
    (1, 17, 10, 10, 15, 2, 3, 0, 1, 1),       # kernel < stride: zero phases
    (1, 16, 11, 9, 17, 2, 3, 1, 1, 1),
    (1, 16, 13, 12, 16, 5, 3, 2, 2, 1),       # stride 3, dilation 2
    (1, 17, 11, 12, 16, 3, 2, 2, 2, 1),       # stride 2, dilation 2: odd phases unreached
    (1, 16, 9, 10, 33, 3, 2, 1, 2, 1),
    (2, 17, 9, 7, 16, 1, 2, 0, 1, 1),         # 1x1 stride 2 downsample
    (1, 33, 8, 8, 16, 1, 2, 1, 1, 1),         # 1x1 stride 2, padding past the reach
    (1, 16, 4, 4, 16, 1, 1, 1, 1, 1),         # stride 1, padding past the reach
    (1, 16, 9, 14, 17, (3, 2), (2, 3), (1, 0), 1, 1),
    (1, 16, 9, 13, 16, (1, 3), (3, 2), (0, 2), (1, 2), 1),
    (2, 34, 9, 9, 36, 3, 2, 1, 1, 2),         # groups, 17 / 18 channels each
    (1, 6, 8, 11, 9, 3, 3, 1, 1, 3),
    (1, 48, 7, 8, 32, 2, 2, 0, 1, 16),
    # depthwise (its own operator)
    (2, 17, 9, 29, 17, 3, 2, 1, 1, 17),
    (1, 24, 12, 16, 24, 5, 2, 2, 1, 24),
    (1, 16, 13, 12, 16, 5, 3, 2, 2, 16),
    (1, 33, 8, 9, 33, 2, 3, 0, 1, 33),        # kernel < stride
    (1, 16, 8, 9, 16, 1, 2, 1, 1, 16),        # 1x1, padding past the reach
    (1, 16, 11, 12, 16, 3, 2, 2, 2, 16),
    (1, 16, 9, 10, 16, 3, 2, 3, 1, 16),       # padding past the reach
]


def _id(c):
    return "n%d_c%d-%d_%dx%d_k%s_s%s_p%s_d%s_g%d" % c


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_conv2d_grad_input_by_phases(isa, case):
    n, cin, h, w, cout, k, s, p, d, g = case
    kh, kw = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(sum(map(abs, np.ravel(case[:5]))))
    x = rng.standard_normal((n, cin, h, w)).astype(np.float32)
    wt = rng.standard_normal((cout, cin // g, kh, kw)).astype(np.float32)
    kwargs = dict(stride=s, padding=p, dilation=d, groups=g)
    gy = rng.standard_normal(R.conv2d(x, wt, None, **kwargs).shape).astype(np.float32)
    gx = F.conv2d_backward(gy, x, wt, **kwargs)[0]
    assert_close(gx, R.conv2d_backward(gy, x, wt, **kwargs)[0], name="grad_input")


# (x shape, C_out, kernel, stride, padding, output_padding, groups, dilation)
TRANSPOSE_CASES = [
    ((2, 16, 7, 6), 17, 3, 2, 1, 1, 1, 1),
    ((1, 17, 5, 5), 16, 3, 3, 0, 2, 1, 1),
    ((1, 16, 4, 5), 16, 2, 3, 1, (2, 1), 1, 1),   # kernel < stride: rows no tap reaches
    ((1, 16, 5, 4), 16, 3, 3, 2, 2, 1, 2),
    ((1, 16, 4, 4), 16, 1, 2, 0, 1, 1, 1),        # 1x1: every odd row and column is zero
    ((2, 32, 5, 6), 34, 3, 2, 1, 1, 2, 1),
    ((1, 16, 6, 5), 16, 3, 2, 1, 1, 16, 1),       # depthwise
    ((1, 16, 4, 5), 16, 5, 3, 2, (2, 0), 16, 2),
]


@pytest.mark.parametrize("shape,c_out,k,s,p,op,g,d", TRANSPOSE_CASES)
def test_conv_transpose2d_output_padding_by_phases(isa, shape, c_out, k, s, p, op, g, d):
    rng = np.random.default_rng(shape[1] + c_out + 7 * s)
    x = rng.standard_normal(shape).astype(np.float32)
    wt = rng.standard_normal((shape[1], c_out // g, k, k)).astype(np.float32)
    y = F.conv_transpose2d(x, wt, None, s, p, op, g, d)
    # conv_transpose2d(x) is the input gradient of conv2d(., wt) at grad_output x
    dummy = np.zeros((shape[0], c_out) + y.shape[2:], np.float32)
    ref = R.conv2d_backward(x, dummy, wt, stride=s, padding=p, dilation=d, groups=g)[0]
    assert_close(y, ref, name="conv_transpose2d")


# depthwise (n, c, h, w, kernel, stride, padding, dilation): kernel widths 1..7 (tap groups 1, 2,
# 3, 3+1, 3+2, 3+3+1), batch sliced (c <= 112) or not (c = 130: 9 blocks), strides and dilation
DW_WEIGHT_CASES = [
    (3, 17, 6, 9, (3, 1), 1, (1, 0), 1),
    (2, 16, 7, 8, (1, 2), 1, 0, 1),
    (2, 33, 9, 15, 3, 2, 1, 1),
    (1, 16, 8, 10, (2, 4), 1, (1, 2), (1, 2)),
    (2, 20, 9, 17, 5, 2, 2, 1),
    (1, 130, 5, 6, 3, 1, 1, 1),
    (2, 16, 9, 29, 7, 2, 3, 1),
    (3, 16, 10, 9, 3, 3, 2, 2),
]


@pytest.mark.parametrize("case", DW_WEIGHT_CASES, ids=["n%d_c%d_%dx%d_k%s_s%s_p%s_d%s" % c for c in DW_WEIGHT_CASES])
def test_depthwise_grad_weight(isa, case):
    n, c, h, w, k, s, p, d = case
    kh, kw = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(c + h * w)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((c, 1, kh, kw)).astype(np.float32)
    kwargs = dict(stride=s, padding=p, dilation=d, groups=c)
    gy = rng.standard_normal(R.conv2d(x, wt, None, **kwargs).shape).astype(np.float32)
    got = F.conv2d_backward(gy, x, wt, **kwargs)
    want = R.conv2d_backward(gy, x, wt, **kwargs)
    assert_close(got[1], want[1], rtol=1e-4, atol=2e-4, name="grad_weight")
    assert_close(got[0], want[0], name="grad_input")
