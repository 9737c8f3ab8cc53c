"""What the machine can do, measured: its fp32 FMA peak (a C probe, csrc/probe/) and its memory
bandwidth (a NumPy copy), the peak the bench divides by (machine_peak), and a description of the
machine for the report."""
import os
import platform
import time

import numpy as np

from .. import _kernels
from .._config import get_num_threads

def measure_fma_peak(threads=None, seconds=0.2, repeats=5):
    """fp32 FMA peak in GFLOP/s at the current ISA level on `threads` threads: the best of
    `repeats` runs (a peak: other processes can only slow a run down).

    The C probe runs independent chains of the ISA's widest FMA on every thread (no memory
    access); each run is calibrated to about `seconds`."""
    threads = get_num_threads() if threads is None else threads
    iterations = 1 << 16
    while True:  # calibrate to about `seconds` per run
        t0 = time.perf_counter()
        _kernels.fma_peak_run(iterations, threads)
        if time.perf_counter() - t0 > seconds / 4 or iterations > 1 << 30:
            break
        iterations *= 4
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        flops = _kernels.fma_peak_run(iterations, threads)
        rates.append(flops / (time.perf_counter() - t0) / 1e9)
    return max(rates)


def measure_bandwidth(threads=1, nbytes=256 << 20, repeats=5):
    """Main-memory bandwidth in GB/s, measured without C: `threads` Python threads each copy
    their share of a float32 array of `nbytes` with np.copyto (which releases the GIL), far larger
    than the caches. Counts bytes read + bytes written per copy, as STREAM's copy does (the
    write-allocate traffic is not counted), and returns the best of `repeats` copies (after one
    untimed copy that faults the pages in), as STREAM does."""
    from concurrent.futures import ThreadPoolExecutor

    n = max(1, nbytes // 4)
    src = np.ones(n, np.float32)
    dst = np.empty_like(src)
    edges = np.linspace(0, n, threads + 1).astype(np.int64)
    parts = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]

    def copy(part):
        np.copyto(dst[part[0]:part[1]], src[part[0]:part[1]])

    best = 0.0
    with ThreadPoolExecutor(threads) as pool:
        for i in range(repeats + 1):
            t0 = time.perf_counter()
            list(pool.map(copy, parts))
            dt = time.perf_counter() - t0
            if i:
                best = max(best, 2 * n * 4 / dt / 1e9)
    return best


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(torch=None):
    import cnncore

    info = {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cnncore": cnncore.config(),
        "torch": None if torch is None else torch.__version__,
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "filepath")}
                        for d in threadpool_info() if d.get("user_api") == "blas"]
    except ImportError:
        info["blas"] = None
    return info


def measure_peaks(counts, seconds=0.2, repeats=5, retries=2):
    """{threads: (GFLOP/s, disturbed)} for each thread count in `counts`: the best of the probe's
    runs (other processes can only slow a run down), measured again up to `retries` times when
    others kept the cores busy meanwhile; disturbed tells whether every attempt was."""
    from .timing import NOISY_CORES, OtherLoad, wait_quiet

    peaks = {}
    for t in counts:
        best, disturbed = 0.0, True
        for attempt in range(retries + 1):
            if attempt:
                wait_quiet(10.0, NOISY_CORES)
            with OtherLoad() as load:
                best = max(best, measure_fma_peak(t, seconds=seconds, repeats=repeats))
            if load.cores is None or load.cores <= NOISY_CORES:
                disturbed = False
                break
        peaks[t] = (best, disturbed)
    return peaks


def machine_peak(peaks, threads):
    """(GFLOP/s, how) of the peak the bench divides by, from measure_peaks' result: the best run of
    the `threads`-thread probe, unless that probe was disturbed by other processes or fell below
    the 1-thread peak (which more threads cannot do unless disturbed); then the larger of it and
    threads x the 1-thread peak (a probe is only ever underestimated; a disturbed one once gave
    "% of peak" values of 3292%). Not threads x the 1-thread peak always: two hardware threads of
    one core do not double its FMA throughput."""
    value, disturbed = peaks[threads]
    if threads == 1 or 1 not in peaks:
        return value, "measured"
    one = peaks[1][0]
    if (disturbed or value < one) and threads * one > value:
        return threads * one, ("%d x the 1-thread peak: the %d-thread probe (%.1f GFLOP/s) was disturbed "
                               "by other processes" % (threads, threads, value))
    return value, "measured"


def percent_of_peak(gflops, peak):
    """100 * gflops / peak, never above 100 (a row faster than the peak means the peak was
    underestimated, not that the row beat the hardware); None without both."""
    if not peak or not gflops:
        return None
    return min(100.0, 100.0 * gflops / peak)
