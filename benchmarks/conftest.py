import cnncore
from cnncore import bench


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["cnncore"] = cnncore.config()
    machine_info["fma_peak_gflops"] = bench.measure_fma_peak(seconds=0.05, repeats=3)
