"""Run a list of suite cases (cnncore.bench.suite): build each, measure each pass of it in cnncore,
NumPy and PyTorch (cnncore.bench.timing), print a table row per pass and return the results."""
import math
import statistics
import sys

from .._config import get_num_threads
from .probes import percent_of_peak
from .timing import NOISY_CORES, WaitBudget, measure

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


def run_suite(specs, batch=None, repeats=10, warmup=2, with_numpy=True, torch=None, peak=None,
              bandwidth=None, out=sys.stdout, progress=True, retries=2, max_wait=120.0):
    """Run the specs (see cnncore.bench.suite); returns one result dict per row. batch: None for
    each case's own, an int for all, or a callable(spec) -> int. Rows are printed to `out` as they
    finish, under a progress bar on stderr; a '!' after a row marks a measurement other processes
    disturbed even after `retries` new attempts (see timing.measure; the waits for quiet before them
    add up to at most `max_wait` seconds per run)."""
    from tqdm import tqdm

    threads = get_num_threads()
    budget = WaitBudget(max_wait)
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
                meas = measure(row, repeats, warmup, threads, retries, budget)
                times = {k: v[0] for k, v in meas.items()}
                ms = 1e3 * statistics.median(times["cnncore"])
                np_ms = 1e3 * statistics.median(times["numpy"]) if "numpy" in times else None
                t_ms = 1e3 * statistics.median(times["torch"]) if "torch" in times else None
                gflops = row.flops / ms / 1e6 if ms > 0 else None
                r = {"group": row.group, "case": row.case, "pass": row.pass_, "batch": row.batch,
                     "flops": row.flops, "bytes": row.nbytes, "intensity": row.intensity,
                     "ms": ms, "ms_all": [1e3 * t for t in times["cnncore"]],
                     "gflops": gflops, "pct_peak": percent_of_peak(gflops, peak),
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
