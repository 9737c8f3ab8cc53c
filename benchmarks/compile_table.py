"""The table of issue 13 re-measured: ONNX Runtime, PyTorch eager, cnncore eager and cnncore
compiled on the tutorial CNN (batch 1 and 64, 3x32x32), ResNet-18 and MobileNetV2 (batch 1,
3x224x224), in one process on cnncore's thread count.

    python benchmarks/compile_table.py [--rounds 7] [--calls 10] [--cases seed_cnn,resnet18] [--threads 1]

PyTorch, cnncore eager and cnncore compiled are interleaved by blocks (A B C A B C ..., `rounds`
rounds of `calls` calls each, each block started once the previous one's threads went quiet); ONNX Runtime (when onnxruntime and onnx are installed; the model exported from
the PyTorch twin, opset 17) runs afterwards in a block of its own. Each cell is the median of the
per-round medians, with the range of the round medians. On a shared machine say "loaded".
"""
import argparse
import statistics

import numpy as np

import cnncore
from cnncore.bench import torch_twins
from cnncore.bench.compiled import onnxruntime_session
from cnncore.bench.timing import time_blocks

CASES = [("tutorial CNN", "seed_cnn", 1, (3, 32, 32), 10), ("tutorial CNN", "seed_cnn", 64, (3, 32, 32), 10),
         ("ResNet-18", "resnet18", 1, (3, 224, 224), 1000), ("MobileNetV2", "mobilenet_v2", 1, (3, 224, 224), 1000)]


def round_ms(fn, calls):
    """Median ms of `calls` calls after one warm-up, started once this process's idle OpenMP and
    BLAS threads have gone quiet (timing.time_blocks: spinning pools of the previous library would
    otherwise steal the cores)."""
    return 1e3 * statistics.median(time_blocks([fn], calls, 1)[0])


def cell(values):
    if not values:
        return "-"
    return "%.2f ms (%.2f-%.2f)" % (statistics.median(values), min(values), max(values))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=10)
    ap.add_argument("--cases", default="", help="comma-separated model names (default: all)")
    ap.add_argument("--threads", type=int, default=0, help="threads for all three libraries (default: cnncore's)")
    args = ap.parse_args()
    import torch

    if args.threads:
        cnncore.set_num_threads(args.threads)
    torch.set_num_threads(cnncore.get_num_threads())
    wanted = [c for c in args.cases.split(",") if c]
    print("cnncore %s, isa %s, %d threads; torch %s" % (cnncore.__version__, cnncore.get_isa(),
                                                       cnncore.get_num_threads(), torch.__version__))
    print("| model, input | ONNX Runtime | PyTorch eager | cnncore eager | cnncore compiled | compiled vs ORT |")
    print("|---|---|---|---|---|---|")
    for label, name, batch, image, classes in CASES:
        if wanted and name not in wanted:
            continue
        cnncore.manual_seed(0)
        model = cnncore.models.get_model(name, num_classes=classes).eval()
        x = np.random.default_rng(0).standard_normal((batch,) + image).astype(np.float32)
        fast = cnncore.compile(model)
        tm = torch_twins.from_cnncore(name, model).eval()
        xt = torch.from_numpy(x)

        def torch_eager():
            with torch.inference_mode():
                return tm(xt)

        def eager():  # inference without recording, as PyTorch's side (inference_mode)
            with cnncore.no_grad():
                return model(x)

        runs = {"torch": torch_eager, "eager": eager, "compiled": lambda: fast(x)}
        times = {k: [] for k in runs}
        for _ in range(args.rounds):
            for k, fn in runs.items():
                times[k].append(round_ms(fn, args.calls))
        ort = onnxruntime_session(torch, tm, x)
        times["ort"] = [round_ms(ort, args.calls) for _ in range(args.rounds)] if ort else []
        ratio = (statistics.median(times["ort"]) / statistics.median(times["compiled"])) if ort else None
        print("| %s, %dx%s | %s | %s | %s | %s | %s |" % (
            label, batch, "x".join(map(str, image)), cell(times["ort"]), cell(times["torch"]),
            cell(times["eager"]), cell(times["compiled"]), "-" if ratio is None else "%.2fx" % ratio), flush=True)


if __name__ == "__main__":
    main()
