"""pytest-benchmark suite: the cases of `python -m cnncore bench` (cnncore/bench/suite.py), each
pass of each case timed in cnncore and, when it is installed, in PyTorch (same group, so
pytest-benchmark's table shows them side by side).

Run: `.venv/bin/python -m pytest benchmarks` (timings; add --benchmark-group-by=group), or with
`--benchmark-disable` (each case runs once at batch 1, as `make test` does, so the suite cannot
rot). Each benchmark records in extra_info the case, pass, batch, impl, ISA level, threads,
GFLOP per call, and after a timed run its GFLOP/s and % of the FMA peak (the peak itself is in
the session's machine_info).
"""
import re

import pytest

import cnncore
from cnncore.bench import suite as S

from conftest import fma_peak

PARAMS = [(i, ps, impl) for i, spec in enumerate(S.SUITE) for ps in spec.passes for impl in ("cnncore", "torch")]


def _id(p):
    spec = S.SUITE[p[0]]
    name = re.sub(r"[^0-9A-Za-z]+", "_", spec.name).strip("_")
    mode = "" if spec.group != "models" else "_b%d" % spec.batch
    return "%s-%s%s-%s-%s" % (spec.group, name, mode, p[1], p[2])


_built = {}


def _rows(i, batch, torch):
    """The rows of SUITE[i] at `batch`, built once for its consecutive tests (one case's data at
    a time)."""
    key = (i, batch, torch is not None)
    if key not in _built:
        _built.clear()
        _built[key] = {r.pass_: r for r in S.SUITE[i].build(batch, with_numpy=False, torch=torch)}
    return _built[key]


@pytest.mark.parametrize("case", PARAMS, ids=[_id(p) for p in PARAMS])
def test_case(benchmark, case, quick, torch_module):
    i, ps, impl = case
    spec = S.SUITE[i]
    if impl == "torch" and torch_module is None:
        pytest.skip("PyTorch is not installed")
    batch = (2 if spec.group == "models" else 1) if quick else spec.batch
    row = _rows(i, batch, torch_module).get(ps)
    fn = None if row is None else row.cnncore if impl == "cnncore" else row.torch
    if fn is None:  # ONNX Runtime's row: only with onnxruntime installed, and no PyTorch column
        pytest.skip("%s: no %s callable for pass %s" % (spec.name, impl, ps))
    benchmark.group = "%s %s: %s b%d" % (spec.group, ps, spec.name, batch)
    benchmark.extra_info.update({"case": spec.name, "pass": ps, "batch": batch, "impl": impl,
                                 "isa": cnncore.get_isa(), "threads": cnncore.get_num_threads(),
                                 "gflop": row.flops / 1e9})
    benchmark(fn)
    stats = getattr(benchmark, "stats", None)
    if stats is not None and not quick:
        median = stats.stats.median
        gflops = row.flops / median / 1e9
        benchmark.extra_info.update({"gflops": gflops, "pct_peak": 100 * gflops / fma_peak()})
