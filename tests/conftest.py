"""Shared fixtures: every ISA level the CPU has, NaN-filled outputs, float tolerances; the test
summary ends with the ISA levels that ran."""
import os

import numpy as np
import pytest

import cnncore
from cnncore import _kernels
from cnncore._config import ISA_LEVELS

# `make sanitize` runs the suite inside a copy of the tree built with the sanitizers: make sure
# that copy's extension is the one under test, not the editable install's.
_EXPECT_ROOT = os.environ.get("CNNCORE_EXPECT_ROOT")
if _EXPECT_ROOT and not os.path.realpath(cnncore.__file__).startswith(os.path.realpath(_EXPECT_ROOT)):
    raise RuntimeError("testing %s, expected the cnncore under %s" % (cnncore.__file__, _EXPECT_ROOT))
if _EXPECT_ROOT:
    with open("/proc/self/maps") as _maps:
        if "libasan" not in _maps.read():
            raise RuntimeError("make sanitize: AddressSanitizer is not loaded (LD_PRELOAD of libasan)")

ISAS = cnncore.available_isas()
ALL_ISAS = ISA_LEVELS  # ("generic", "avx2", "avx512"), lowest first
_isa_runs = {}  # level -> number of tests that ran with it forced through the `isa` fixture


@pytest.fixture(params=ISAS)
def isa(request):
    """Run the test once per ISA level the CPU supports (forced through the cap)."""
    previous = cnncore.get_isa()
    cnncore.set_isa(request.param)
    _isa_runs[request.param] = _isa_runs.get(request.param, 0) + 1
    yield request.param
    cnncore.set_isa(previous)


def isa_summary(runs, available, all_levels=ALL_ISAS):
    """The lines the test summary ends with: which ISA levels the per-level tests ran at, and,
    by name, every level that did not run because the CPU lacks it."""
    ran = ", ".join("%s (%d tests)" % (level, runs[level]) for level in all_levels if runs.get(level))
    lines = ["cnncore ISA levels exercised: %s" % (ran or "none (no per-ISA test ran)")]
    for level in all_levels:
        if level not in available:
            lines.append("cnncore ISA level %s NOT exercised: this CPU lacks it (best: %s); its kernels "
                         "were not tested on this machine" % (level, available[-1]))
        elif runs and not runs.get(level):
            lines.append("cnncore ISA level %s NOT exercised by this run (the CPU has it)" % level)
    return lines


def pytest_terminal_summary(terminalreporter):
    terminalreporter.section("cnncore ISA levels")
    for line in isa_summary(_isa_runs, ISAS):
        terminalreporter.write_line(line)


def randn(shape, seed=0):
    """Standard-normal float32 test data, the same for the same `seed`."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.fixture
def restore_threads():
    """Put cnncore's thread count back after a test that changes it."""
    before = cnncore.get_num_threads()
    yield
    cnncore.set_num_threads(before)


@pytest.fixture(autouse=True)
def nan_filled_outputs():
    """Every kernel output buffer starts as NaN, so an element left unwritten fails the test."""
    _kernels.set_fill_outputs_with_nan(True)
    yield
    _kernels.set_fill_outputs_with_nan(False)


def assert_close(actual, expected, rtol=1e-4, atol=1e-4, name="value"):
    """float32 result against a float64 reference, element by element:
    |actual - expected| <= atol + rtol * |expected| everywhere (as numpy.isclose), so an error in a
    small-magnitude region is not hidden by the array's largest values."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, "%s: shape %s != %s" % (name, actual.shape, expected.shape)
    finite = np.isfinite(expected)
    assert np.array_equal(np.isfinite(actual), finite), "%s: non-finite mismatch" % name
    a = actual.astype(np.float64)[finite]
    e = expected.astype(np.float64)[finite]
    excess = np.abs(a - e) - (atol + rtol * np.abs(e))
    if excess.size and excess.max() > 0:
        i = int(np.argmax(excess))
        where = np.unravel_index(np.flatnonzero(finite)[i], expected.shape) if expected.ndim else ()
        raise AssertionError(
            "%s: %d of %d elements off by more than atol %.3g + rtol %.3g * |expected|; worst at %s: "
            "%.8g, expected %.8g" % (name, int((excess > 0).sum()), excess.size, atol, rtol,
                                     tuple(int(j) for j in where), a[i], e[i]))


def torch_or_skip():
    """torch for a parity test: skipped when missing, unless CNNCORE_REQUIRE_TORCH=1 (make test)."""
    if os.environ.get("CNNCORE_REQUIRE_TORCH") == "1":
        import torch
        return torch
    return pytest.importorskip("torch")
