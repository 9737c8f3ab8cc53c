"""`python -m cnncore bench`: the speed of cnncore on this machine beside its measured peak, NumPy
and PyTorch (see cli.py for the command, and README's "Benchmarks").

One purpose per module, imported in this order (no cycle):
    timing       settle, time blocks, watch other processes' load, re-measure disturbed rows
    probes       FMA peak (C probe) and memory bandwidth; the peak used; machine description
    baselines    the same work in NumPy
    torch_twins  PyTorch twins of cnncore's models (optional: imported only with torch)
    suite        the cases: layers and models, their callables and flop/byte counts
    runner       run cases, print the table, return results
    profile      per-layer profile of a training step
    plots        roofline and speed-ratio charts (optional: matplotlib)
    cli          the command line
"""
from .baselines import numpy_conv2d
from .cli import build_parser, main
from .probes import machine_peak, measure_bandwidth, measure_fma_peak, percent_of_peak
from .runner import run_suite
from .suite import OPS, PASSES, conv_flops
from .timing import NOISY_CORES, OtherLoad, settle, time_blocks

__all__ = ["measure_fma_peak", "measure_bandwidth", "machine_peak", "percent_of_peak", "time_blocks",
           "settle", "conv_flops", "numpy_conv2d", "run_suite", "main", "build_parser", "OtherLoad",
           "NOISY_CORES", "OPS", "PASSES"]
