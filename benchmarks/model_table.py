"""The tutorial's table of architectures, measured on this machine: for each model, its depth
(weight layers on the longest path of the recorded graph), parameters, FLOPs of one 224x224 image
(as `model.summary` counts them), and the time of a training step and of an inference forward at
batch 1 and 16, beside its PyTorch twin with the same weights (cnncore/bench/torch_table.py).

    python benchmarks/model_table.py [--size 64] [--repeats 2] [--models alexnet,googlenet]

Prints a Markdown table (the README's). Timings are the minimum over `repeats` runs after one
warm-up, cnncore's then PyTorch's in one process, on --size x --size images (default 64,
so that VGG-16's training step stays a few seconds; FLOPs are always counted at 224x224).
Inference runs after batch-norm calibration (bench.suite.calibrate_batch_norm). GoogLeNet trains
with its aux heads (torchvision's recipe) and is counted without them (torchvision's 6.6M).
"""
import argparse
import time

import numpy as np

import cnncore
from cnncore import models, optim
from cnncore.autograd import engine
from cnncore.autograd.tensor import Tensor
from cnncore.bench.suite import calibrate_batch_norm, torch_training_loss
from cnncore.nn.loss import CrossEntropyLoss
from cnncore.nn.summary import summarize
from cnncore.train import training_loss

# (name in the table, cnncore model, classes, input channels and side for the FLOPs)
TABLE = [("tutorial CNN", "seed_cnn", 10, 3, 32), ("LeNet-5", "lenet5", 10, 1, 28),
         ("AlexNet", "alexnet", 1000, 3, 224), ("VGG-16", "vgg16", 1000, 3, 224),
         ("GoogLeNet", "googlenet", 1000, 3, 224), ("ResNet-50", "resnet50", 1000, 3, 224),
         ("EfficientNet-B0", "efficientnet_b0", 1000, 3, 224)]
WEIGHT_OPS = ("Conv2d", "Linear")


def depth(model, shape):
    """Weight layers (convolutions and linear layers, fused or not) on the longest path of the
    graph one forward records, the way the tutorial counts depth."""
    x = Tensor(np.zeros(shape, np.float32), requires_grad=True)
    out = model(x)
    order, _ = engine._order([engine.edge(out)], set())
    longest = {}
    for node in order:  # inputs first
        below = max((longest.get(id(i), 0) for i in node.inputs), default=0)
        longest[id(node)] = below + (1 if node.name.split("+")[0] in WEIGHT_OPS else 0)
    return max(longest.values())


def build(name, classes, channels, aux):
    kwargs = {"aux_logits": aux} if name == "googlenet" else {}
    return models.get_model(name, num_classes=classes, in_channels=channels, **kwargs)


def timed(fns, repeats):
    """Minimum seconds of each callable over `repeats` runs after one warm-up, one callable after
    the other (as the bench does: a library's OpenMP threads spin for a while after its last op
    and would steal the cores from the other's run), with a pause between them."""
    best = []
    for f in fns:
        time.sleep(0.5)
        f()
        t = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            f()
            t = min(t, time.perf_counter() - t0)
        best.append(t)
    return best


def speeds(name, classes, channels, side, batch, repeats, torch):
    """{'train': [cnncore s, torch s], 'infer': [...]} at `batch` on side x side images (no
    torch time for a model without a PyTorch twin)."""
    from cnncore.bench import torch_twins

    cnncore.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, channels, side, side)).astype(np.float32)
    labels = rng.integers(0, classes, batch)
    model = build(name, classes, channels, aux=True)
    calibrate_batch_norm(model, x)
    tm = torch_twins.from_cnncore(name, model) if name in torch_twins.MODELS else None
    xt, lt = torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))
    out = {}
    model.eval()

    def infer():  # without recording, as PyTorch's side under inference_mode
        with cnncore.no_grad():
            return model(x)

    fns = [infer]
    if tm is not None:
        tm.eval()

        def t_infer():
            with torch.inference_mode():
                return tm(xt)

        fns.append(t_infer)
    out["infer"] = timed(fns, repeats)
    model.train()
    opt, crit = optim.SGD(model.parameters(), lr=0.01, momentum=0.9), CrossEntropyLoss()

    def c_train():
        opt.zero_grad()
        training_loss(model(x), labels, crit)[0].backward()
        opt.step()

    fns = [c_train]
    if tm is not None:
        tm.train()
        topt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)

        def t_train():
            topt.zero_grad(set_to_none=True)
            torch_training_loss(torch, tm(xt), lt).backward()
            topt.step()

        fns.append(t_train)
    out["train"] = timed(fns, repeats)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64, help="image side of the timings (FLOPs: 224)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--models", default=None, help="comma-separated cnncore model names (default: all)")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(cnncore.get_num_threads())
    pick = None if a.models is None else set(a.models.split(","))
    # the first steps in a process run far slower in both libraries (thread pools, cnncore's
    # buffer pool, first-use setup: a tutorial-CNN step took 490 ms, then 3 ms): one untimed pass
    for _ in range(2):
        speeds("seed_cnn", 10, 3, 32, 2, 3, torch)
    ms = lambda s: "-" if s is None else "%.0f" % (1e3 * s) if s >= 0.01 else "%.1f" % (1e3 * s)  # noqa: E731
    print("cnncore %s, isa %s, %d threads; PyTorch %s; timings on %dx%d images (LeNet-5: 28, the tutorial "
          "CNN: 32), min of %d runs, ms cnncore / PyTorch\n" % (
              cnncore.__version__, cnncore.get_isa(), cnncore.get_num_threads(), torch.__version__,
              a.size, a.size, a.repeats))
    print("| model | depth | parameters | GFLOPs (224x224) | train b1 | train b16 | infer b1 | infer b16 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, name, classes, channels, side in TABLE:
        if pick is not None and name not in pick:
            continue
        model = build(name, classes, channels, aux=False)
        params = sum(p.numel() for p in model.parameters())
        gflops = sum(r[4] for r in summarize(model, (1, channels, side, side))) / 1e9
        d = depth(model.eval(), (1, channels, side, side))
        tside = side if side < 64 else a.size
        cells = {}
        for batch in (1, 16):
            for mode, times in speeds(name, classes, channels, tside, batch, a.repeats, torch).items():
                cells[mode, batch] = "%s / %s" % (ms(times[0]), ms((times + [None])[1]))
        print("| %s (`%s`) | %d | %s | %s | %s | %s | %s | %s |" % (
            label, name, d, format(params, ","), "%.4g" % gflops, cells["train", 1], cells["train", 16],
            cells["infer", 1], cells["infer", 16]), flush=True)


if __name__ == "__main__":
    main()
