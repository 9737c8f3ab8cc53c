"""Speed measurements: the machine's measured FMA peak and convolution throughput beside it.

`python -m cnncore.bench` (or `python -m cnncore bench`) prints, for each convolution of the
suite, the median time, GFLOP/s, the fraction of the measured FMA peak at the same thread count,
and the same convolution done the NumPy way (float32 im2col + BLAS matmul) with the speed ratio.
"""
import argparse
import statistics
import sys
import time

import numpy as np

from . import _kernels
from ._config import get_isa, get_num_threads, set_isa, set_num_threads
from .functional import PackedConv, conv2d_blocked, to_blocked

# (name, C_in, C_out, H=W, kernel, stride, padding)
CONV_SUITE = [
    ("conv3x3 64->64 @32x32", 64, 64, 32, 3, 1, 1),
    ("conv3x3 128->128 @16x16", 128, 128, 16, 3, 1, 1),
    ("conv3x3 256->256 @8x8", 256, 256, 8, 3, 1, 1),
]


def measure_fma_peak(threads=None, seconds=0.2, repeats=5):
    """fp32 FMA peak in GFLOP/s at the current ISA level on `threads` threads (median of runs)."""
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
    return statistics.median(rates)


def conv_flops(n, c_in, c_out, oh, ow, kh, kw, groups=1):
    """Multiply-adds counted as two flops."""
    return 2.0 * n * c_out * oh * ow * (c_in // groups) * kh * kw


def numpy_conv2d(x, w, stride=1, padding=0):
    """Convolution the NumPy way: float32 im2col and one BLAS matmul (groups=1, no dilation)."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (h + 2 * padding - kh) // stride + 1
    ow = (wd + 2 * padding - kw) // stride + 1
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride][:, :, :oh, :ow]  # (n, c, oh, ow, kh, kw)
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    y = cols @ w.reshape(o, -1).T
    return y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)


def time_blocks(fns, repeats, warmup=2):
    """Time each callable in a block of its own (warm-up, then `repeats` runs); returns each one's
    list of times in seconds.

    Not interleaved A B A B: the thread pools of OpenMP and of NumPy's BLAS spin for a while after
    each call, and alternating them makes each one's idle spinners steal the cores from the other
    (measured here: cnncore 2.5x slower when interleaved with NumPy's matmul).
    """
    times = []
    for f in fns:
        for _ in range(warmup):
            f()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        times.append(ts)
    return times


def run_conv_suite(batch=32, repeats=10, with_numpy=True, out=sys.stdout):
    threads = get_num_threads()
    peak = measure_fma_peak(threads)
    print("cnncore conv2d forward: isa=%s threads=%d batch=%d; measured FMA peak %.1f GFLOP/s"
          % (get_isa(), threads, batch, peak), file=out)
    header = "%-26s %9s %9s %7s" % ("case", "ms", "GFLOP/s", "%peak")
    if with_numpy:
        header += " %11s %9s" % ("numpy ms", "speedup")
    print(header, file=out)
    rows = []
    rng = np.random.default_rng(0)
    for name, c_in, c_out, hw, k, s, p in CONV_SUITE:
        x = rng.standard_normal((batch, c_in, hw, hw)).astype(np.float32)
        w = (rng.standard_normal((c_out, c_in, k, k)) / np.sqrt(c_in * k * k)).astype(np.float32)
        xb, packed = to_blocked(x), PackedConv(w)
        fns = [lambda: conv2d_blocked(xb, packed, None, s, p)]
        if with_numpy:
            fns.append(lambda: numpy_conv2d(x, w, s, p))
        times = time_blocks(fns, repeats)
        oh = (hw + 2 * p - k) // s + 1
        flops = conv_flops(batch, c_in, c_out, oh, oh, k, k)
        t = statistics.median(times[0])
        row = {"case": name, "ms": t * 1e3, "gflops": flops / t / 1e9, "peak_gflops": peak}
        line = "%-26s %9.2f %9.1f %6.0f%%" % (name, row["ms"], row["gflops"], 100 * row["gflops"] / peak)
        if with_numpy:
            tn = statistics.median(times[1])
            row["numpy_ms"] = tn * 1e3
            line += " %11.2f %8.1fx" % (tn * 1e3, tn / t)
        print(line, file=out)
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnncore.bench", description=__doc__)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="default: all (OMP_NUM_THREADS)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--isa", choices=["avx512", "avx2", "generic"], default=None,
                        help="cap the ISA level (as CNNCORE_ISA)")
    parser.add_argument("--no-numpy", action="store_true", help="skip the NumPy im2col+BLAS baseline")
    args = parser.parse_args(argv)
    if args.isa:
        set_isa(args.isa)
    if args.threads:
        set_num_threads(args.threads)
    run_conv_suite(args.batch, args.repeats, not args.no_numpy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
