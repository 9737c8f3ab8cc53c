import pytest

import cnncore
from cnncore import bench

_peak = {}


def fma_peak():
    """The machine's FMA peak at the current ISA and thread count, measured once per session."""
    key = (cnncore.get_isa(), cnncore.get_num_threads())
    if key not in _peak:
        _peak[key] = bench.measure_fma_peak(seconds=0.05, repeats=3)
    return _peak[key]


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["cnncore"] = cnncore.config()
    machine_info["fma_peak_gflops"] = fma_peak()


@pytest.fixture(scope="session")
def quick(request):
    """True under --benchmark-disable (each case runs once, as `make test` does): the cases then
    run at batch 1 (2 for models) so that the suite only checks that everything still runs."""
    return bool(request.config.getoption("benchmark_disable", False))


@pytest.fixture(scope="session")
def torch_module():
    """PyTorch on cnncore's thread count, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        yield None
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(cnncore.get_num_threads())
    yield torch
    torch.set_num_threads(previous)
