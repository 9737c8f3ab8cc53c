"""pytest-benchmark suite for the convolution kernels.

Run: `.venv/bin/python -m pytest benchmarks` (timings), or with `--benchmark-disable` (run once,
as CI does, so the suite cannot rot). Each case records GFLOP/s, ISA level and threads in
extra_info; the measured FMA peak is in the session's machine_info.
"""
import numpy as np
import pytest

import cnncore
from cnncore import bench
from cnncore.functional import PackedConv, conv2d_backward_blocked, conv2d_blocked, to_blocked

CASES = [
    # (id, N, C_in, C_out, H=W, kernel, stride, padding, groups)
    ("3x3_64_32x32", 32, 64, 64, 32, 3, 1, 1, 1),
    ("3x3_128_16x16", 32, 128, 128, 16, 3, 1, 1, 1),
    ("3x3_256_8x8", 32, 256, 256, 8, 3, 1, 1, 1),
    ("first_3_32_32x32", 32, 3, 32, 32, 3, 1, 1, 1),
    ("stem_7x7s2_3_64_112", 1, 3, 64, 112, 7, 2, 3, 1),
    ("1x1_256_64_16x16", 32, 256, 64, 16, 1, 1, 0, 1),
    ("dw3x3_128_16x16", 32, 128, 128, 16, 3, 1, 1, 128),
]


def _setup(n, c_in, c_out, hw, k, s, p, groups):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in, hw, hw)).astype(np.float32)
    w = rng.standard_normal((c_out, c_in // groups, k, k)).astype(np.float32)
    xb, packed = to_blocked(x), PackedConv(w, groups)
    y, g = conv2d_blocked(xb, packed, None, s, p)
    flops = bench.conv_flops(n, c_in, c_out, g.oh, g.ow, k, k, groups)
    return xb, packed, y, g, flops


def _info(benchmark, flops):
    benchmark.extra_info.update({"isa": cnncore.get_isa(), "threads": cnncore.get_num_threads(),
                                 "gflop": flops / 1e9})


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_conv_forward(benchmark, case):
    _, n, c_in, c_out, hw, k, s, p, groups = case
    xb, packed, _, _, flops = _setup(n, c_in, c_out, hw, k, s, p, groups)
    benchmark.group = "conv2d forward"
    _info(benchmark, flops)
    benchmark(conv2d_blocked, xb, packed, None, s, p)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_conv_backward(benchmark, case):
    _, n, c_in, c_out, hw, k, s, p, groups = case
    xb, packed, y, g, flops = _setup(n, c_in, c_out, hw, k, s, p, groups)
    benchmark.group = "conv2d backward (data + weights + bias)"
    _info(benchmark, 2 * flops)
    benchmark(conv2d_backward_blocked, y, xb, packed, g)
