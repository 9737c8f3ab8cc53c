"""Convolution backward-weights (csrc/ops/conv_backward_weights.c, csrc/ukernels/convbww) against
tests/reference.py, at every ISA level the CPU has.

The per-tap kernel takes up to max_lanes input lanes per call (16 avx512, 6 avx2, 3 generic), so
input channels 1..17 (and per-group counts 1..3) cover every lane count and split. Layers with
<= 3 input channels take the several-taps-per-call kernel, whose tap groups (9 avx512; 6, 3 or 2
avx2; 3 or 1 generic) are crossed by 1x1, 2x2, 3x3, 5x5 and 7x7 kernels. The op walks the pixels
in chunks of about 64 KiB of x and dy rows (16 output rows of a 32-wide 16-channel layer; 32 whole
4x4 images) and splits the batch of a layer with few (output, input) block pairs into chunks: the
shapes below sit at, below and past those edges. Every output starts NaN-filled (conftest).
"""
import numpy as np
import pytest

import cnncore
from cnncore.bench.suite import conv_backward_weights_blocked
from cnncore.functional import PackedConv, conv2d_blocked, to_blocked

try:  # tests/ may or may not be a package
    from . import reference as R
    from .conftest import assert_close
except ImportError:
    import reference as R
    from conftest import assert_close


def _case(n, cin, h, w, cout, kernel=3, stride=1, padding=0, dilation=1, groups=1):
    return dict(n=n, cin=cin, h=h, w=w, cout=cout, kernel=kernel,
                kw=dict(stride=stride, padding=padding, dilation=dilation, groups=groups))


CASES = {
    # per-tap kernel: every lane count of a block, one past it, and several blocks
    **{"lanes%d" % c: _case(2, c, 5, 6, 17, padding=1) for c in range(4, 18)},
    "lanes22": _case(1, 22, 4, 7, 16, padding=1),
    "lanes32_cout33": _case(1, 32, 4, 5, 33, padding=1),
    # 1..3 lanes per group through the per-tap kernel (groups keep them off the small kernel)
    "g2_lanes1": _case(2, 2, 5, 7, 4, padding=1, groups=2),
    "g3_lanes2": _case(2, 6, 5, 7, 6, padding=1, groups=3),
    "g3_lanes3": _case(2, 9, 5, 7, 9, padding=1, groups=3),
    "g2_lanes17": _case(1, 34, 4, 6, 20, padding=1, groups=2),
    # pixel chunks: 16 output rows of width 32 at 16 channels fill one; below, at and past it
    "rows15": _case(1, 16, 15, 32, 16, padding=1),
    "rows16": _case(1, 16, 16, 32, 16, padding=1),
    "rows17": _case(1, 16, 17, 32, 16, padding=1),
    "rows33_s2": _case(1, 16, 66, 32, 16, stride=2, padding=1),
    # whole small images per chunk (32 4x4 images), with enough block pairs to keep the batch whole
    "imgs33_4x4": _case(33, 64, 4, 4, 64, padding=1),
    "imgs32_4x4": _case(32, 64, 4, 4, 64, padding=1),
    # batch chunks of a layer with one block pair
    "batch13_one_pair": _case(13, 16, 3, 5, 16, padding=1),
    # stride, dilation, padding, kernels
    "s2_p1_w29": _case(2, 17, 9, 29, 16, stride=2, padding=1),
    "d2_p2": _case(2, 16, 9, 11, 17, padding=2, dilation=2),
    "s21_d12_p1": _case(1, 20, 9, 13, 16, stride=(2, 1), dilation=(1, 2), padding=1),
    "1x1_s2_p2": _case(2, 17, 7, 9, 15, kernel=1, stride=2, padding=2),
    "5x3_p2": _case(1, 16, 7, 9, 16, kernel=(5, 3), padding=(2, 1)),
    "k_eq_input": _case(2, 16, 3, 3, 16),
    # few taps, several output and input blocks, groups
    "1x1_blocks_c80-90": _case(3, 80, 5, 6, 90, kernel=1),
    "1x1_blocks_c64-64_s2": _case(2, 64, 7, 9, 64, kernel=1, stride=2),
    "1x1_blocks_g2_c66-130": _case(2, 66, 4, 5, 130, kernel=1, groups=2),
    "2x1_blocks_c40-36_p1": _case(2, 40, 5, 6, 36, kernel=(2, 1), padding=1),
    # small kernel (<= 3 input channels): every lane count and tap-group remainder
    **{"small_c%d_k%d" % (c, k): _case(2, c, 9, 11, 20, kernel=k, padding=k // 2)
       for c in (1, 2, 3) for k in (1, 2, 3, 5)},
    **{"small_stem_c%d" % c: _case(2, c, 15, 21, 33, kernel=7, stride=2, padding=3) for c in (1, 2, 3)},
    "small_d2_s2": _case(3, 3, 11, 12, 16, stride=2, padding=2, dilation=2),
    "small_rows_past_chunk": _case(1, 3, 27, 32, 16, padding=1),  # 26 rows of width 32 per chunk
    "small_batch9": _case(9, 3, 5, 6, 48, padding=1),  # 3 block pairs: batch chunks of 2
}


def _arrays(c, seed=0):
    rng = np.random.default_rng([seed, c["cin"], c["cout"], c["h"], c["w"]])
    k = c["kernel"] if isinstance(c["kernel"], tuple) else (c["kernel"], c["kernel"])
    x = rng.standard_normal((c["n"], c["cin"], c["h"], c["w"])).astype(np.float32)
    w = rng.standard_normal((c["cout"], c["cin"] // c["kw"]["groups"]) + k).astype(np.float32)
    oshape = R.conv2d(x[:1], w, None, **c["kw"]).shape
    gy = rng.standard_normal((c["n"], c["cout"]) + oshape[2:]).astype(np.float32)
    return x, w, gy


def _grad_weight(x, w, gy, kw):
    xb, packed = to_blocked(x), PackedConv(w, kw["groups"])
    _, g = conv2d_blocked(xb, packed, None, kw["stride"], kw["padding"], kw["dilation"])
    return conv_backward_weights_blocked(xb, to_blocked(gy), packed, g)


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_grad_weight_matches_reference(isa, case_id):
    c = CASES[case_id]
    x, w, gy = _arrays(c)
    got = _grad_weight(x, w, gy, c["kw"])
    want = R.conv2d_backward(gy, x, w, **c["kw"])[1]
    terms = gy.shape[0] * gy.shape[2] * gy.shape[3]  # products summed into each element
    assert got.dtype == np.float32
    assert_close(got, want, rtol=1e-4, atol=1e-4 + 2e-6 * terms, name="grad_weight")


@pytest.mark.parametrize("case_id", ["small_batch9", "batch13_one_pair", "g3_lanes2", "rows33_s2",
                                     "small_stem_c3", "1x1_blocks_c80-90"])
def test_one_and_two_threads_bit_identical(isa, case_id, restore_threads):
    c = CASES[case_id]
    x, w, gy = _arrays(c, seed=1)
    results = []
    for n in (1, 2):
        cnncore.set_num_threads(n)
        results.append(_grad_weight(x, w, gy, c["kw"]))
    np.testing.assert_array_equal(results[0], results[1])


def test_zero_gradient_gives_zero_weights(isa):
    """Every element is written (the outputs start NaN), also in the lanes past c_in."""
    c = CASES["small_stem_c2"]
    x, w, gy = _arrays(c)
    got = _grad_weight(x, w, np.zeros_like(gy), c["kw"])
    np.testing.assert_array_equal(got, np.zeros_like(w))
