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
import os
import platform
import sys

import numpy as np

from .._cli import HelpFormatter, nonnegative_int, positive_int
from .._config import get_isa, get_num_threads, set_isa, set_num_threads
from . import plots, probes
from .runner import run_suite, summarize_ratios
from .suite import OPS
from .timing import NOISY_CORES


def _import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


# ------------------------------------------------------------------------------------- main ---

def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m cnncore bench", description=__doc__.split("\n\n")[0],
        formatter_class=HelpFormatter,
        epilog="ops: conv (3x3 at CIFAR sizes, the seed CNN's, ResNet-18/50's), depthwise (MobileNetV2's\n"
               "     3x3, EfficientNet-B0's 5x5), pool (max 3x3/2, global average), bn_relu, linear, models\n"
               "     (seed_cnn, resnet20 and the tutorial table's alexnet, vgg16, googlenet, efficientnet_b0:\n"
               "     training step and inference; mobilenet_v2 on 64x64 images: training step). --list shows\n"
               "     the cases.\n"
               "Ratios (vs np, vs torch) are their time / cnncore's time: above 1, cnncore is faster.")
    p.add_argument("--ops", default=",".join(OPS), help="comma-separated op groups (default: all): " + ",".join(OPS))
    p.add_argument("--case", action="append", default=None, metavar="NAME",
                   help="only cases whose name contains NAME (case-insensitive; repeatable)")
    p.add_argument("--list", action="store_true", help="list the selected cases and exit")
    p.add_argument("--batch", type=positive_int, default=None,
                   help="batch of every case (default: each case's own: 32 for CIFAR-size layers, 8 for "
                        "ImageNet-size ones, 64 for linear and training steps; --profile: 64)")
    p.add_argument("--threads", type=positive_int, default=None, help="threads (default: all, or OMP_NUM_THREADS)")
    p.add_argument("--isa", choices=["avx512", "avx2", "generic"], default=None,
                   help="cap the ISA level, as CNNCORE_ISA (default: the best the CPU has, or CNNCORE_ISA)")
    p.add_argument("--repeats", type=positive_int, default=10, help="timed runs per measurement, or profiled steps")
    p.add_argument("--warmup", type=nonnegative_int, default=2, help="untimed runs before them")
    p.add_argument("--retries", type=nonnegative_int, default=2,
                   help="measure a block again (after waiting up to 10 s for quiet, 120 s in all per run) "
                        "when other processes kept the cores busy during it, up to this many times "
                        "(rows still disturbed are marked '!')")
    p.add_argument("--quick", action="store_true",
                   help="a fast smoke run: batch 1 (2 for models), short peak/bandwidth probes, 1 warm-up run, "
                        "no retries")
    p.add_argument("--no-numpy", action="store_true", help="skip the NumPy baseline")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    p.add_argument("--profile", default=None, metavar="MODEL[,MODEL]",
                   help="instead of the suite: per-layer profile of a training step (e.g. seed_cnn,resnet20)")
    p.add_argument("--onnx", default=None, metavar="MODEL.onnx",
                   help="time this ONNX model run by cnncore against ONNX Runtime (batch: --batch, default 1)")
    p.add_argument("--input", default=None, metavar="X.npy", help="with --onnx: the input (default: random)")
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
    from .. import models
    from . import suite

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
        args.specs = suite.select(ops, args.case)
        if not args.specs:
            parser.error("no case matches --ops %s --case %s; cases: %s" % (
                ",".join(ops), " --case ".join(args.case or []),
                "; ".join(sorted({s.name for s in suite.SUITE}))))
    if args.json:
        _check_output_dir(parser, args.json, "--json")
    if args.plot:
        _check_output_dir(parser, args.plot + "_roofline.png", "--plot")
        try:
            plots.pyplot()
        except ImportError as exc:
            parser.error(str(exc))
    if args.quick and not any(a.startswith("--warmup") for a in argv):
        args.warmup = 1
    if args.quick and not any(a.startswith("--retries") for a in argv):
        args.retries = 0
    return args


def _threads(n):
    return "%d thread%s" % (n, "" if n == 1 else "s")


def _header(args, peaks, bws, torch, out, peak, peak_source):
    import cnncore

    threads = get_num_threads()
    print("cnncore %s bench, %s: %s (%d logical CPUs), isa %s, %s" % (
        cnncore.__version__, datetime.date.today().isoformat(), probes.cpu_model(), os.cpu_count() or 0,
        get_isa(), _threads(threads)), file=out)
    print("FMA peak (%s, C probe): %s; memory bandwidth (NumPy copy): %s" % (
        get_isa(), ", ".join("%s %.1f GFLOP/s" % (_threads(t), v) for t, v in peaks.items()),
        ", ".join("%s %.1f GB/s" % (_threads(t), v) for t, v in bws.items())), file=out)
    if peak_source != "measured":
        print("warning: %% of peak is of %.1f GFLOP/s, %s; other processes are using the cores and the "
              "timings below will be noisy" % (peak, peak_source), file=out)
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
    if args.onnx:
        return _onnx(args, threads, out)
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
    from . import profile

    quick = args.quick
    counts = sorted({1, threads})
    measured = probes.measure_peaks(counts, seconds=0.02 if quick else 0.2, repeats=1 if quick else 5,
                                    retries=args.retries)
    peaks = {t: v for t, (v, _) in measured.items()}
    peak, peak_source = probes.machine_peak(measured, threads)
    bws = {t: probes.measure_bandwidth(t, nbytes=(16 << 20) if quick else (256 << 20), repeats=1 if quick else 5)
           for t in counts}
    bw = bws[threads]
    _header(args, peaks, bws, torch, out, peak, peak_source)
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["python -m cnncore bench"] + args.argv),
        "machine": probes.machine_info(torch),
        "isa": get_isa(), "threads": threads,
        "peak_gflops": {str(t): v for t, v in peaks.items()},
        "peak_disturbed": {str(t): d for t, (_, d) in measured.items()},
        "peak_used_gflops": peak, "peak_used": peak_source,
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
                p = profile.profile(name, batch, steps=args.repeats, warmup=args.warmup, peak=peak,
                                           progress=bar.update, retries=args.retries)
            print("", file=out)
            print("\n".join(profile.format_profile(p)), file=out)
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
                report_version(), probes.cpu_model(), get_isa(), _threads(threads), datetime.date.today().isoformat())
            paths = [plots.plot_roofline(results, peak, bw, args.plot + "_roofline.png", title, peaks.get(1))]
            if any(r.get("torch_ratio") for r in results):
                paths.append(plots.plot_vs(results, "torch_ratio", "PyTorch", args.plot + "_vs_torch.png", title))
            elif any(r.get("numpy_ratio") for r in results):
                paths.append(plots.plot_vs(results, "numpy_ratio", "NumPy", args.plot + "_vs_numpy.png", title))
                print("no PyTorch results: wrote the chart against NumPy instead", file=out)
            print("wrote %s" % ", ".join(paths), file=out)
            report["plots"] = paths
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print("wrote %s" % args.json, file=out)
    return 0


def _onnx(args, threads, out):
    """bench --onnx: cnncore against ONNX Runtime on one ONNX file (cnncore.onnx._cli.bench)."""
    from ..onnx._cli import CliError, bench

    print("cnncore %s, isa %s, %s" % (report_version(), get_isa(), _threads(threads)), file=out)
    try:
        report = bench(args.onnx, args.batch or 1, args.repeats, args.warmup, threads, args.input, out)
    except CliError as exc:
        build_parser().error(str(exc))
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
