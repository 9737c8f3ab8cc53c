"""Denormals: a convolution whose inputs and weights are full of subnormal float32 numbers should
not run more than 2x slower than on normal numbers (subnormal operands take a microcode assist of
~100 cycles per instruction on x86 unless the kernels flush them: FTZ/DAZ or equivalent). The
kernels belong to csrc/ops/conv_*.c and csrc/ukernels/; this file only measures.

A benchmark, not a unit test (its result depends on the machine and its load): the normal and the
subnormal runs of each case share a pytest-benchmark group, so the table shows them side by side,
and the subnormal run records the ratio of the medians in extra_info["ratio_vs_normal"]. Timed
runs (without --benchmark-disable) fail above MAX_RATIO; `make test` runs each case once, so the
code cannot rot, and asserts nothing about speed. Numbers: README, "Benchmarks"."""
import numpy as np
import pytest

import cnncore
from cnncore import functional as F
from cnncore.functional._layout import to_blocked

MAX_RATIO = 2.0
_medians = {}


def _operands(subnormal, operands, rng):
    """subnormal=False: normal numbers. operands='both': inputs and weights subnormal (products
    underflow); 'input': subnormal inputs, normal weights (products and sums stay subnormal)."""
    x = rng.standard_normal((4, 32, 24, 24)).astype(np.float32)
    w = (rng.standard_normal((32, 32, 3, 3)) * 0.1).astype(np.float32)
    if subnormal:  # same signs and spread, magnitudes in the subnormal range [1e-45, 1.2e-38)
        tiny = np.finfo(np.float32).tiny
        x = (x * np.float32(1e-39)).astype(np.float32)
        assert np.all(np.abs(x[x != 0]) < tiny)
        if operands == "both":
            w = (w * np.float32(1e-38)).astype(np.float32)
            assert np.all(np.abs(w[w != 0]) < tiny)
    return x, w


def _runner(kind, subnormal, operands):
    rng = np.random.default_rng(0)
    x, w = _operands(subnormal, operands, rng)
    xb = to_blocked(x)
    packed = F.PackedConv(w)
    if kind == "forward":
        return lambda: F.conv2d_blocked(xb, packed, None, 1, 1)
    y, g = F.conv2d_blocked(xb, packed, None, 1, 1)
    return lambda: F.conv2d_backward_blocked(y, xb, packed, g)


@pytest.fixture
def one_thread():
    before = cnncore.get_num_threads()
    cnncore.set_num_threads(1)
    yield
    cnncore.set_num_threads(before)


@pytest.mark.parametrize("numbers", ["normal", "subnormal"])  # normal first: the ratio needs it
@pytest.mark.parametrize("operands", ["both", "input"])
@pytest.mark.parametrize("kind", ["forward", "backward"])
@pytest.mark.parametrize("level", cnncore.available_isas())
def test_denormals(benchmark, level, kind, operands, numbers, one_thread, quick):
    previous = cnncore.get_isa()
    cnncore.set_isa(level)
    try:
        fn = _runner(kind, numbers == "subnormal", operands)
        benchmark.group = "denormals %s %s-subnormal conv 4x32x24x24 3x3 %s 1 thread" % (kind, operands, level)
        benchmark.extra_info.update({"isa": level, "kind": kind, "operands": operands, "numbers": numbers})
        benchmark(fn)
    finally:
        cnncore.set_isa(previous)
    stats = getattr(benchmark, "stats", None)
    if stats is None or quick:
        return
    key = (level, kind, operands)
    _medians.setdefault(key, {})[numbers] = stats.stats.median
    if numbers == "subnormal" and "normal" in _medians[key]:
        ratio = _medians[key]["subnormal"] / _medians[key]["normal"]
        benchmark.extra_info["ratio_vs_normal"] = ratio
        # the portable scalar kernels are the correctness reference, not tuned for speed
        if level != "generic":
            assert ratio <= MAX_RATIO, "subnormal %s: %s %.2fx slower than normal numbers" % (operands, kind, ratio)
