"""Speed of cnncore on this machine, beside its measured peak, NumPy and PyTorch.

`python -m cnncore bench` (or `cnncore-bench`, or `python -m cnncore.bench`) first measures the
machine's fp32 FMA peak at the current ISA level with a C probe (on 1 thread and on the
configured count) and its memory bandwidth (a large NumPy copy, see measure_bandwidth), then runs
the suite: convolutions (forward, backward-data and backward-weights timed apart), depthwise
convolutions, pooling, BatchNorm+ReLU, linear layers, and whole-model training steps and
inference. For each it prints the median time, GFLOP/s, % of the FMA peak, and beside them the
same work done with NumPy (float32 im2col + BLAS for convolutions, plain NumPy for the rest)
and, when PyTorch is installed, with PyTorch on the same thread count, with the speed ratios
(their time / cnncore's time: above 1 means cnncore is faster).

`--profile MODEL` instead times each layer of a training step (forward and backward), its share
of the step and the time spent outside the layers.

`--json PATH` writes everything (machine, peak, bandwidth, ISA, threads, versions, every time);
`--plot PREFIX` writes PREFIX_roofline.png and PREFIX_vs_torch.png (needs matplotlib).
"""
import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

from . import _kernels
from ._bench_suite import OPS, PASSES, conv_flops, numpy_conv2d  # noqa: F401  (re-exported)
from ._config import get_isa, get_num_threads, set_isa, set_num_threads

__all__ = ["measure_fma_peak", "measure_bandwidth", "time_blocks", "conv_flops", "numpy_conv2d",
           "run_suite", "main"]


# ---------------------------------------------------------------------------------- probes ---

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


def settle(max_wait=2.0, window=0.02):
    """Wait until this process's idle threads stop spinning: until it uses under 10% of a CPU
    over a `window` (at most `max_wait` seconds). Returns the seconds waited.

    After a call, OpenMP's and the BLAS's worker threads keep spinning for a while (OpenBLAS's
    for about 0.15 s here), and whatever runs next on the same cores shares them: measured here,
    cnncore's 0.7 ms linear forward took 8 ms right after NumPy's matmul, 0.7 ms after this wait."""
    try:
        import resource
    except ImportError:
        return 0.0

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_wait:
        c0 = cpu()
        time.sleep(window)
        if cpu() - c0 < 0.1 * window:
            break
    return time.perf_counter() - t0


def time_blocks(fns, repeats, warmup=2):
    """Time each callable in a block of its own (settle, warm-up, then `repeats` runs); returns
    each one's list of times in seconds.

    Not interleaved A B A B: the thread pools of OpenMP and of NumPy's BLAS spin for a while after
    each call, and alternating them makes each one's idle spinners steal the cores from the other
    (measured here: cnncore 2.5x slower when interleaved with NumPy's matmul). For the same
    reason each block starts once the previous one's threads have gone quiet (settle).
    """
    times = []
    for f in fns:
        settle()
        for _ in range(warmup):
            f()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        times.append(ts)
    return times


class OtherLoad:
    """How much CPU other processes took while a block ran: `with OtherLoad() as load: ...`, then
    load.cores is their average number of busy cores over the block's wall time (None where
    /proc/stat is missing, i.e. not Linux).

    The machine's busy time (/proc/stat, all CPUs) minus this process's own CPU time (getrusage:
    all its threads, OpenMP's and BLAS's included). On a shared machine a kernel split over all
    cores waits at every barrier for the thread the scheduler took away, often a whole time slice
    (4 ms): a block during which others were busy is not a measurement of cnncore."""

    def __enter__(self):
        self._t0, self._s0, self._w0 = _machine_busy(), _self_cpu(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        t1, s1 = _machine_busy(), _self_cpu()
        self.seconds = time.perf_counter() - self._w0
        self.cores = None
        if t1 is not None and self._t0 is not None and self.seconds > 0:
            others = (t1 - self._t0) - (s1 - self._s0)
            # /proc/stat counts in ticks of 1/CLK_TCK s per CPU: below a few ticks is rounding
            self.cores = max(0.0, others - 2.0 / _CLK_TCK) / self.seconds
        return False


try:
    _CLK_TCK = os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):
    _CLK_TCK = 100


def _machine_busy():
    """Busy CPU seconds of the whole machine since boot (None without /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (sum(v) - v[3] - v[4]) / _CLK_TCK  # all but idle and iowait


def _self_cpu():
    try:
        import resource
    except ImportError:
        return 0.0
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _wait_quiet(limit, threshold, window=0.5):
    """Wait (up to `limit` seconds) until others keep fewer than `threshold` cores busy over a
    `window`."""
    end = time.perf_counter() + limit
    while time.perf_counter() < end:
        with OtherLoad() as load:
            time.sleep(window)
        if load.cores is None or load.cores < threshold:
            return True
    return False


# ----------------------------------------------------------------------------- environment ---

def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _blas_limit(threads):
    """A context limiting NumPy's BLAS to `threads` (threadpoolctl, when installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def machine_info(torch=None):
    import cnncore

    info = {
        "cpu": _cpu_model(),
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


# ------------------------------------------------------------------------------------ suite ---

def _ratio(other_ms, ms):
    return None if other_ms is None or not ms else other_ms / ms


def _fmt(v, fmt, width):
    return (fmt % v if v is not None else "-").rjust(width)


TABLE_HEAD = "%-28s %-11s %5s %9s %8s %6s %7s %9s %7s %9s %8s" % (
    "case", "pass", "batch", "ms", "GFLOP/s", "%peak", "GB/s", "numpy ms", "vs np", "torch ms", "vs torch")


def format_row(r):
    return "%-28s %-11s %5d %s %s %s %s %s %s %s %s" % (
        r["case"][:28], r["pass"], r["batch"], _fmt(r["ms"], "%.3f", 9), _fmt(r["gflops"], "%.1f", 8),
        _fmt(r["pct_peak"], "%.1f%%", 6), _fmt(r["gbs"], "%.1f", 7), _fmt(r["numpy_ms"], "%.3f", 9),
        _fmt(r["numpy_ratio"], "%.2fx", 7), _fmt(r["torch_ms"], "%.3f", 9), _fmt(r["torch_ratio"], "%.2fx", 8))


NOISY_CORES = 0.1  # others' average busy cores above which a block is measured again


class _WaitBudget:
    """Seconds left to wait for quiet over a whole run: on a machine that stays busy, retries
    stop once it is spent instead of making the run last hours."""

    def __init__(self, seconds):
        self.left = seconds

    def wait(self, limit):
        t0 = time.perf_counter()
        _wait_quiet(min(limit, self.left), NOISY_CORES)
        self.left = max(0.0, self.left - (time.perf_counter() - t0))


def _measure(row, repeats, warmup, threads, retries=2, budget=None, wait=10.0):
    """{impl: (times in seconds, others' busy cores during them)} for cnncore, numpy, torch. A
    block during which other processes kept more than NOISY_CORES busy is measured again (after
    waiting up to `wait` s, within `budget`, for them to calm down), up to `retries` times; the
    least disturbed block is kept."""
    budget = _WaitBudget(wait * retries) if budget is None else budget
    impls = [("cnncore", row.cnncore), ("numpy", row.numpy), ("torch", row.torch)]
    out = {}
    for name, f in impls:
        if f is None:
            continue
        best = None
        for attempt in range(retries + 1):
            if attempt:
                if budget.left <= 0:
                    break
                budget.wait(wait)
            with OtherLoad() as load:
                if name == "numpy":
                    with _blas_limit(threads):
                        ts = time_blocks([f], repeats, warmup)[0]
                else:
                    ts = time_blocks([f], repeats, warmup)[0]
            cores = load.cores
            if best is None or (cores is not None and cores < best[1]):
                best = (ts, cores)
            if cores is None or cores <= NOISY_CORES:
                break
        out[name] = best
    return out


def run_suite(specs, batch=None, repeats=10, warmup=2, with_numpy=True, torch=None, peak=None,
              bandwidth=None, out=sys.stdout, progress=True, retries=2, max_wait=120.0):
    """Run the specs (see cnncore._bench_suite); returns one result dict per row. batch: None for
    each case's own, an int for all, or a callable(spec) -> int. Rows are printed to `out` as they
    finish, under a progress bar on stderr; a '!' after a row marks a measurement other processes
    disturbed even after `retries` new attempts (see _measure; the waits for quiet before them
    add up to at most `max_wait` seconds per run)."""
    from tqdm import tqdm

    threads = get_num_threads()
    budget = _WaitBudget(max_wait)
    jobs, seen = [], set()
    for spec in specs:
        b = spec.batch if batch is None else batch(spec) if callable(batch) else batch
        key = (spec.name, spec.passes, b)
        if key not in seen:  # an override can make two cases the same
            seen.add(key)
            jobs.append((spec, b))
    total = sum(len(spec.passes) for spec, _ in jobs)
    results = []
    print(TABLE_HEAD, file=out)
    print("-" * len(TABLE_HEAD), file=out)
    bar = tqdm(total=total, desc="bench", unit="row", file=sys.stderr, disable=not progress,
               dynamic_ncols=True, leave=False)
    try:
        group = None
        for spec, b in jobs:
            bar.set_postfix_str(spec.name)
            rows = spec.build(b, with_numpy, torch)
            for row in rows:
                meas = _measure(row, repeats, warmup, threads, retries, budget)
                times = {k: v[0] for k, v in meas.items()}
                ms = 1e3 * statistics.median(times["cnncore"])
                np_ms = 1e3 * statistics.median(times["numpy"]) if "numpy" in times else None
                t_ms = 1e3 * statistics.median(times["torch"]) if "torch" in times else None
                gflops = row.flops / ms / 1e6 if ms > 0 else None
                r = {"group": row.group, "case": row.case, "pass": row.pass_, "batch": row.batch,
                     "flops": row.flops, "bytes": row.nbytes, "intensity": row.intensity,
                     "ms": ms, "ms_all": [1e3 * t for t in times["cnncore"]],
                     "gflops": gflops, "pct_peak": (100 * gflops / peak) if (peak and gflops) else None,
                     "gbs": (row.nbytes / ms / 1e6) if (row.nbytes and ms > 0) else None,
                     "numpy_ms": np_ms, "numpy_ratio": _ratio(np_ms, ms),
                     "torch_ms": t_ms, "torch_ratio": _ratio(t_ms, ms)}
                if "torch" in times:
                    r["torch_ms_all"] = [1e3 * t for t in times["torch"]]
                r["others_cores"] = {k: v[1] for k, v in meas.items()}
                r["disturbed"] = any(v[1] is not None and v[1] > NOISY_CORES for v in meas.values())
                results.append(r)
                if row.group != group:
                    group = row.group
                    bar.write("[%s]" % group, file=out)
                bar.write(format_row(r) + (" !" if r["disturbed"] else ""), file=out)
                bar.update(1)
            del rows
    finally:
        bar.close()
    return results


def summarize_ratios(results, key):
    """Geometric mean of a ratio column per (group, pass)."""
    acc = {}
    for r in results:
        v = r.get(key)
        if v:
            acc.setdefault((r["group"], r["pass"]), []).append(math.log(v))
    return {"%s %s" % k: math.exp(sum(v) / len(v)) for k, v in acc.items()}


# ------------------------------------------------------------------------------------ plots ---

def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("--plot needs matplotlib: pip install matplotlib (or pip install 'cnncore[bench]')") from exc
    return plt


MARKERS = {"fwd": "o", "bwd_data": "s", "bwd_weights": "^", "bwd": "D", "train": "*", "infer": "P"}


def plot_roofline(results, peak, bandwidth, path, title="", peak1=None):
    """Each row's GFLOP/s against its arithmetic intensity (flops / bytes of inputs, weights and
    outputs), under the roof min(peak, bandwidth * intensity) (and the 1-thread peak `peak1`,
    dashed). Models have no byte count and are left out."""
    plt = _pyplot()
    pts = [r for r in results if r.get("intensity") and r.get("gflops")]
    fig, ax = plt.subplots(figsize=(10, 5.2))
    groups = sorted({r["group"] for r in pts}, key=lambda g: OPS.index(g) if g in OPS else 99)
    colors = dict(zip(groups, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    lo = min([r["intensity"] for r in pts] + [0.05]) / 2
    hi = max([r["intensity"] for r in pts] + [100.0]) * 2
    xs = np.logspace(math.log10(lo), math.log10(hi), 200)
    ax.plot(xs, np.minimum(peak, bandwidth * xs), "k-", lw=1.5,
            label="roof: FMA peak %.0f GFLOP/s,\ncopy bandwidth %.1f GB/s" % (peak, bandwidth))
    if peak1 and peak1 < peak:
        ax.plot(xs, np.minimum(peak1, bandwidth * xs), "k--", lw=0.8, label="1-thread FMA peak %.0f GFLOP/s" % peak1)
    for g in groups:
        for ps in PASSES:
            sel = [r for r in pts if r["group"] == g and r["pass"] == ps]
            if sel:
                ax.scatter([r["intensity"] for r in sel], [r["gflops"] for r in sel], color=colors[g],
                           marker=MARKERS.get(ps, "o"), s=36, alpha=0.85, edgecolors="none",
                           label="%s %s" % (g, ps))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (flop / byte of inputs + weights + outputs)")
    ax.set_ylabel("GFLOP/s")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_vs(results, key, label, path, title=""):
    """Horizontal bars of a speed ratio (other time / cnncore time) per row, log scale."""
    plt = _pyplot()
    rows = [r for r in results if r.get(key)]
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.19 * max(len(rows), 1)))
    names = ["%s %s b%d" % (r["case"], r["pass"], r["batch"]) for r in rows]
    vals = [r[key] for r in rows]
    y = np.arange(len(rows))[::-1]
    ax.barh(y, vals, color=["tab:green" if v >= 1 else "tab:red" for v in vals], height=0.7)
    for yi, v in zip(y, vals):
        ax.text(v, yi, " %.2f" % v, va="center", fontsize=6)
    ax.axvline(1.0, color="k", lw=1)
    ax.set_xscale("log")
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlim(min(vals + [1.0]) / 1.5, max(vals + [1.0]) * 2)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlabel("%s time / cnncore time (> 1: cnncore faster)" % label)
    ax.set_title(title, fontsize=9)
    ax.grid(True, axis="x", which="both", alpha=0.25)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------- main ---

def _positive(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an integer >= 1, got %r" % text)
    if v < 1:
        raise argparse.ArgumentTypeError("expected an integer >= 1, got %d" % v)
    return v


def _nonnegative(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an integer >= 0, got %r" % text)
    if v < 0:
        raise argparse.ArgumentTypeError("expected an integer >= 0, got %d" % v)
    return v


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m cnncore bench", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="ops: conv (3x3 at CIFAR sizes, the seed CNN's, ResNet-18/50's), depthwise (MobileNetV2's),\n"
               "     pool (max 3x3/2, global average), bn_relu, linear, models (seed_cnn and resnet20:\n"
               "     training step and inference). --list shows the cases.\n"
               "Ratios (vs np, vs torch) are their time / cnncore's time: above 1, cnncore is faster.")
    p.add_argument("--ops", default=",".join(OPS), help="comma-separated op groups (default: all): " + ",".join(OPS))
    p.add_argument("--case", action="append", default=None, metavar="NAME",
                   help="only cases whose name contains NAME (case-insensitive; repeatable)")
    p.add_argument("--list", action="store_true", help="list the selected cases and exit")
    p.add_argument("--batch", type=_positive, default=None,
                   help="batch of every case (default: each case's own: 32 for CIFAR-size layers, 8 for "
                        "ImageNet-size ones, 64 for linear and training steps; --profile: 64)")
    p.add_argument("--threads", type=_positive, default=None, help="threads (default: all, or OMP_NUM_THREADS)")
    p.add_argument("--isa", choices=["avx512", "avx2", "generic"], default=None,
                   help="cap the ISA level (as CNNCORE_ISA)")
    p.add_argument("--repeats", type=_positive, default=10, help="timed runs per measurement, or profiled steps (default 10)")
    p.add_argument("--warmup", type=_nonnegative, default=2, help="untimed runs before them (default 2)")
    p.add_argument("--retries", type=_nonnegative, default=2,
                   help="measure a block again (after waiting up to 10 s for quiet, 120 s in all per run) "
                        "when other processes kept the cores busy during it, up to this many times "
                        "(default 2; rows still disturbed are marked '!')")
    p.add_argument("--quick", action="store_true",
                   help="a fast smoke run: batch 1 (2 for models), short peak/bandwidth probes, 1 warm-up run, "
                        "no retries")
    p.add_argument("--no-numpy", action="store_true", help="skip the NumPy baseline")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    p.add_argument("--profile", default=None, metavar="MODEL[,MODEL]",
                   help="instead of the suite: per-layer profile of a training step (e.g. seed_cnn,resnet20)")
    p.add_argument("--json", default=None, metavar="PATH", help="write all results as JSON")
    p.add_argument("--plot", default=None, metavar="PREFIX",
                   help="write PREFIX_roofline.png and PREFIX_vs_torch.png (needs matplotlib)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _check_output_dir(parser, path, option):
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        parser.error("%s: directory %s does not exist" % (option, d))


def _parse(argv):
    from . import _bench_suite, models

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    bad = [o for o in ops if o not in OPS]
    if bad or not ops:
        parser.error("--ops: unknown op group %s; choose from %s" % (", ".join(map(repr, bad)) or "''", ",".join(OPS)))
    args.ops = ops
    if args.profile is not None:
        names = [m.strip() for m in args.profile.split(",") if m.strip()]
        bad = [m for m in names if m not in models.MODELS]
        if bad or not names:
            parser.error("--profile: unknown model %s; choose from %s"
                         % (", ".join(map(repr, bad)) or "''", ", ".join(sorted(models.MODELS))))
        args.profile = names
    else:
        args.specs = _bench_suite.select(ops, args.case)
        if not args.specs:
            parser.error("no case matches --ops %s --case %s; cases: %s" % (
                ",".join(ops), " --case ".join(args.case or []),
                "; ".join(sorted({s.name for s in _bench_suite.SUITE}))))
    if args.json:
        _check_output_dir(parser, args.json, "--json")
    if args.plot:
        _check_output_dir(parser, args.plot + "_roofline.png", "--plot")
        try:
            _pyplot()
        except ImportError as exc:
            parser.error(str(exc))
    if args.quick and not any(a.startswith("--warmup") for a in argv):
        args.warmup = 1
    if args.quick and not any(a.startswith("--retries") for a in argv):
        args.retries = 0
    return args


def _threads(n):
    return "%d thread%s" % (n, "" if n == 1 else "s")


def _header(args, peaks, bws, torch, out):
    import cnncore

    threads = get_num_threads()
    print("cnncore %s bench, %s: %s (%d logical CPUs), isa %s, %s" % (
        cnncore.__version__, datetime.date.today().isoformat(), _cpu_model(), os.cpu_count() or 0,
        get_isa(), _threads(threads)), file=out)
    print("FMA peak (%s, C probe): %s; memory bandwidth (NumPy copy): %s" % (
        get_isa(), ", ".join("%s %.1f GFLOP/s" % (_threads(t), v) for t, v in peaks.items()),
        ", ".join("%s %.1f GB/s" % (_threads(t), v) for t, v in bws.items())), file=out)
    if threads > 1 and 1 in peaks and peaks[threads] < 0.75 * threads * peaks[1]:
        print("warning: the %d-thread peak is only %.1fx the 1-thread peak: other processes are using the "
              "cores, and the timings below will be noisy" % (threads, peaks[threads] / peaks[1]), file=out)
    if not args.no_torch:
        if torch is None:
            print("PyTorch is not installed: no comparison (pip install 'cnncore[bench]')", file=out)
        else:
            print("PyTorch %s on %s; numpy %s; ratios are their time / cnncore's (> 1: cnncore faster)"
                  % (torch.__version__, _threads(torch.get_num_threads()), np.__version__), file=out)


def main(argv=None, out=None):
    out = sys.stdout if out is None else out
    args = _parse(argv)
    if args.list and not args.profile:
        for s in args.specs:
            print("%-10s %-28s batch %-3d %s" % (s.group, s.name, s.batch, ",".join(s.passes)), file=out)
        return 0
    if args.isa:
        set_isa(args.isa)
    if args.threads:
        set_num_threads(args.threads)
    threads = get_num_threads()
    torch = None if args.no_torch else _import_torch()
    torch_threads = None
    if torch is not None:
        torch_threads = torch.get_num_threads()
        torch.set_num_threads(threads)
    try:
        return _run(args, threads, torch, out)
    finally:
        if torch is not None:
            torch.set_num_threads(torch_threads)


def _run(args, threads, torch, out):
    from . import _bench_profile

    quick = args.quick
    counts = sorted({1, threads})
    peaks = {}
    for t in counts:  # the best of the attempts: a peak is only ever underestimated
        for attempt in range(args.retries + 1):
            if attempt:
                _wait_quiet(10.0, NOISY_CORES)
            with OtherLoad() as load:
                v = measure_fma_peak(t, seconds=0.02 if quick else 0.2, repeats=1 if quick else 5)
            peaks[t] = max(peaks.get(t, 0.0), v)
            if load.cores is None or load.cores <= NOISY_CORES:
                break
    bws = {t: measure_bandwidth(t, nbytes=(16 << 20) if quick else (256 << 20), repeats=1 if quick else 5)
           for t in counts}
    peak, bw = peaks[threads], bws[threads]
    _header(args, peaks, bws, torch, out)
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["python -m cnncore bench"] + args.argv),
        "machine": machine_info(torch),
        "isa": get_isa(), "threads": threads,
        "peak_gflops": {str(t): v for t, v in peaks.items()},
        "bandwidth_gbs": {str(t): v for t, v in bws.items()},
        "bandwidth_method": "NumPy copy of %d MB split over the threads, (read + write) bytes / time, best of runs"
                            % ((16 if quick else 256)),
        "repeats": args.repeats, "warmup": args.warmup, "retries": args.retries,
        "noisy_cores_threshold": NOISY_CORES,
        "versions": {"cnncore": report_version(), "numpy": np.__version__,
                     "torch": None if torch is None else torch.__version__, "python": platform.python_version()},
    }
    if args.profile:
        from tqdm import tqdm

        report["profiles"] = []
        batch = args.batch or (2 if quick else 64)
        for name in args.profile:
            with tqdm(total=args.warmup + args.repeats, desc="profile %s" % name, file=sys.stderr,
                      disable=args.no_progress, leave=False) as bar:
                p = _bench_profile.profile(name, batch, steps=args.repeats, warmup=args.warmup, peak=peak,
                                           progress=bar.update, retries=args.retries)
            print("", file=out)
            print("\n".join(_bench_profile.format_profile(p)), file=out)
            report["profiles"].append(p)
    else:
        specs, batch = args.specs, args.batch
        if quick and batch is None:  # batch-norm in training needs more than one image per batch
            batch = lambda spec: 2 if spec.group == "models" else 1  # noqa: E731
        results = run_suite(specs, batch, args.repeats, args.warmup, not args.no_numpy, torch, peak, bw, out,
                            not args.no_progress, args.retries)
        report["results"] = results
        disturbed = sum(1 for r in results if r["disturbed"])
        report["disturbed_rows"] = disturbed
        if disturbed:
            print("%d of %d rows (marked !) were disturbed by other processes even after %d retries: their "
                  "times are not cnncore's alone" % (disturbed, len(results), args.retries), file=out)
        for key, label in (("torch_ratio", "PyTorch"), ("numpy_ratio", "NumPy")):
            s = summarize_ratios(results, key)
            if s:
                report["geomean_" + key] = s
                print("geometric mean of %s time / cnncore time: %s" % (
                    label, ", ".join("%s %.2fx" % kv for kv in s.items())), file=out)
        if args.plot:
            title = "cnncore %s, %s, isa %s, %s, %s" % (
                report_version(), _cpu_model(), get_isa(), _threads(threads), datetime.date.today().isoformat())
            paths = [plot_roofline(results, peak, bw, args.plot + "_roofline.png", title, peaks.get(1))]
            if any(r.get("torch_ratio") for r in results):
                paths.append(plot_vs(results, "torch_ratio", "PyTorch", args.plot + "_vs_torch.png", title))
            elif any(r.get("numpy_ratio") for r in results):
                paths.append(plot_vs(results, "numpy_ratio", "NumPy", args.plot + "_vs_numpy.png", title))
                print("no PyTorch results: wrote the chart against NumPy instead", file=out)
            print("wrote %s" % ", ".join(paths), file=out)
            report["plots"] = paths
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print("wrote %s" % args.json, file=out)
    return 0


def report_version():
    import cnncore

    return cnncore.__version__


if __name__ == "__main__":
    sys.exit(main())
