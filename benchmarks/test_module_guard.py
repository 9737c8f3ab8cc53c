"""The cost of the one-thread-at-a-time guard around Module.forward/backward (cnncore.nn.module):
a few dict operations per call. Guarded and unguarded ReLU on a tiny array share a
pytest-benchmark group; the guarded run records the ratio of the medians in
extra_info["ratio_vs_unguarded"]. A benchmark, not a unit test: nothing about speed is asserted
under `make test` (--benchmark-disable). Numbers: README, "Benchmarks"."""
import numpy as np
import pytest

from cnncore import nn

_medians = {}


@pytest.mark.parametrize("variant", ["unguarded", "guarded"])  # unguarded first: the ratio needs it
def test_module_guard(benchmark, variant, quick):
    relu = nn.ReLU()
    x = np.zeros(4, np.float32)
    raw = getattr(type(relu).forward, "__wrapped__", None)
    if raw is None:
        pytest.skip("Module.forward is not wrapped by a guard")
    fn = (lambda: relu.forward(x)) if variant == "guarded" else (lambda: raw(relu, x))
    benchmark.group = "Module guard: ReLU forward on 4 floats"
    benchmark(fn)
    stats = getattr(benchmark, "stats", None)
    if stats is None or quick:
        return
    _medians[variant] = stats.stats.median
    if variant == "guarded" and "unguarded" in _medians:
        benchmark.extra_info["ratio_vs_unguarded"] = _medians["guarded"] / _medians["unguarded"]
