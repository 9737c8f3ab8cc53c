"""Shared fixtures: every ISA level the CPU has, NaN-filled outputs, float tolerances."""
import os

import numpy as np
import pytest

import cnncore
from cnncore import _kernels

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


@pytest.fixture(params=ISAS)
def isa(request):
    """Run the test once per ISA level the CPU supports (forced through the cap)."""
    previous = cnncore.get_isa()
    cnncore.set_isa(request.param)
    yield request.param
    cnncore.set_isa(previous)


@pytest.fixture(autouse=True)
def nan_filled_outputs():
    """Every kernel output buffer starts as NaN, so an element left unwritten fails the test."""
    _kernels.set_fill_outputs_with_nan(True)
    yield
    _kernels.set_fill_outputs_with_nan(False)


def assert_close(actual, expected, rtol=1e-4, atol=1e-4, name="value"):
    """float32 result against a float64 reference, with a tolerance scaled by the magnitudes."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, "%s: shape %s != %s" % (name, actual.shape, expected.shape)
    assert np.all(np.isfinite(actual) == np.isfinite(expected)), "%s: non-finite mismatch" % name
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    err = float(np.abs(actual - expected).max(initial=0.0))
    assert err <= atol * scale + rtol * scale, "%s: max abs error %.3g (scale %.3g)" % (name, err, scale)
