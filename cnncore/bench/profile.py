"""Per-layer profile of a training step, for `python -m cnncore bench --profile MODEL`.

The profile listens to the graph (cnncore.autograd.engine.profiler): every node is owned by the
leaf layer that made it (a fused node by the convolution or batch norm it grew from, so a
Conv2d+ReLU is one row and the ReLU module none), and the time of each node's computation and
backward is added to its owner's row. A layer's eager ops are timed by its call.

The step also runs the loss and the optimizer (timed as their own rows); what is left, the step
time minus everything timed, is spent outside the layers: Python glue in containers and blocks,
the NCHW <-> blocked reorders at the model's edges, allocation.
"""
import statistics
import time

import numpy as np

from .. import _random, models, optim
from ..autograd import engine
from ..autograd.lazy import BatchNormNode, ConvNode
from ..nn.loss import CrossEntropyLoss
from ..train import training_loss
from .probes import percent_of_peak
from .timing import NOISY_CORES, OtherLoad

# default input image (C, H, W) per model; others: 3 channels, 32x32 or the smallest size
# their pooling allows (models.MIN_INPUT_SIZE)
IMAGES = {"seed_cnn": (3, 32, 32), "resnet20": (3, 32, 32), "lenet5": (1, 28, 28),
          "resnet18": (3, 224, 224), "resnet50": (3, 224, 224), "mobilenet_v2": (3, 224, 224)}
CLASSES = {"resnet18": 1000, "resnet50": 1000, "mobilenet_v2": 1000}


def default_image(name):
    """The input image (C, H, W) a profile of model `name` uses when not told."""
    if name in IMAGES:
        return IMAGES[name]
    side = max(32, models.MIN_INPUT_SIZE.get(name, 32))
    return (3, side, side)


class _LayerTimes:
    def __init__(self, name, module):
        self.name, self.module = name, module
        self.kind = None
        self.in_shape = self.out_shape = None
        self.input_grad = False
        self.fwd_now = self.bwd_now = 0.0
        self.fwd, self.bwd = [], []  # seconds per recorded step
        self.order = None

    def end_step(self, record):
        if record:
            self.fwd.append(self.fwd_now)
            self.bwd.append(self.bwd_now)
        self.fwd_now = self.bwd_now = 0.0


class _GraphProfiler:
    """engine.profiler for one profile: node owners, per-layer forward and backward times."""

    def __init__(self, recs):
        self.by_module = {id(r.module): r for r in recs}
        self.owner = {}  # id(node) -> _LayerTimes
        self.current = []  # the leaf layers being called
        self.lazy_time = 0.0
        self.counter = 0

    def _claim(self, rec, node, out_shape=None):
        if rec.order is None:
            rec.order = self.counter
            self.counter += 1
        if rec.kind is None or "+" in node.name:
            rec.kind = node.name
        return rec

    def created(self, node):
        m = node.conv if isinstance(node, ConvNode) else node.bn if isinstance(node, BatchNormNode) else None
        rec = self.by_module.get(id(m)) if m is not None else (self.current[-1] if self.current else None)
        if rec is not None:
            self.owner[id(node)] = self._claim(rec, node)

    def timed_call(self, module, args, kwargs):
        rec = self.by_module.get(id(module))
        if rec is None:
            return module.forward(*args, **kwargs)
        self.current.append(rec)
        lazy0 = self.lazy_time
        t0 = time.perf_counter()
        try:
            out = module.forward(*args, **kwargs)
        finally:
            self.current.pop()
        rec.fwd_now += time.perf_counter() - t0 - (self.lazy_time - lazy0)
        if rec.in_shape is None and args:
            rec.in_shape = tuple(getattr(args[0], "shape", ()))
            rec.out_shape = tuple(getattr(out, "shape", ()))
        return out

    def timed_compute(self, node):
        lazy0 = self.lazy_time
        t0 = time.perf_counter()
        value = node.run()
        dt = time.perf_counter() - t0
        rec = self.owner.get(id(node))
        if rec is not None:  # its own time: less the pending inputs it computed first
            rec.fwd_now += dt - (self.lazy_time - lazy0)
        self.lazy_time = lazy0 + dt
        return value

    def timed_backward(self, node, grad, needs):
        t0 = time.perf_counter()
        out = node.backward(grad, needs)
        rec = self.owner.get(id(node))
        if rec is not None:
            rec.bwd_now += time.perf_counter() - t0
            if isinstance(node, ConvNode) and needs[0]:
                rec.input_grad = True
        return out


def _median(xs):
    return statistics.median(xs) if xs else 0.0


def profile(name, batch=64, steps=10, warmup=2, peak=None, progress=None, image=None, model=None, retries=2):
    """Profile `steps` training steps of model `name` (after `warmup` untimed ones) on random
    images of shape `image` (default: default_image(name)) at `batch`. model: an instance to
    profile instead of a new cnncore.models.get_model(name) (its weights are trained).

    Steps during which other processes kept the cores busy (bench.OtherLoad) do not count: up to
    steps * (1 + retries) steps run to collect `steps` undisturbed ones; if fewer than
    min(steps, 3) are undisturbed, all steps count and the result says disturbed=True.

    Returns a dict: model, batch, image, steps, step_ms (median), layers (one dict per leaf layer
    that ran, in execution order: name, type, in/out shape, fwd_ms, bwd_ms (medians), share (of
    the step), and for Conv2d/Linear flops and GFLOP/s, % of `peak`), loss_ms, optimizer_ms,
    outside_ms (step minus everything timed, >= 0) and their shares. The shares sum to <= 1.
    progress: an optional callable(n) called after each step.
    """
    if model is None and name not in models.MODELS:
        raise ValueError("model: expected one of %s, got %r" % (", ".join(sorted(models.MODELS)), name))
    image = tuple(image or default_image(name))
    classes = CLASSES.get(name, 10)
    _random.manual_seed(0)
    if model is None:
        model = models.get_model(name, num_classes=classes, in_channels=image[0])
    model.train()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch,) + image, dtype=np.float32)
    labels = None  # drawn after the first forward, from the number of logits
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    crit = CrossEntropyLoss()

    recs = [_LayerTimes(n, m) for n, m in model.named_modules() if not m._modules and n]
    step_t, loss_t, opt_t, outside_t, others = [], [], [], [], []
    if engine.profiler is not None:
        raise RuntimeError("profile: another profile is running")
    engine.profiler = _GraphProfiler(recs)
    try:
        i = 0
        while True:
            record = i >= warmup
            load = OtherLoad().__enter__()
            t0 = time.perf_counter()
            opt.zero_grad()
            t1 = time.perf_counter()
            outputs = model(x)
            if labels is None:  # GoogLeNet's training forward: (logits, aux2, aux1)
                logits = outputs[0] if isinstance(outputs, (tuple, list)) else outputs
                labels = rng.integers(0, logits.shape[1], batch)
            t2 = time.perf_counter()
            loss = training_loss(outputs, labels, crit)[0]
            t3 = time.perf_counter()
            loss.backward()
            t4 = time.perf_counter()
            opt.step()
            t5 = time.perf_counter()
            load.__exit__(None, None, None)
            if record:
                others.append(load.cores)
                step_t.append(t5 - t0)
                loss_t.append(t3 - t2)
                opt_t.append((t1 - t0) + (t5 - t4))
                timed = loss_t[-1] + opt_t[-1] + sum(r.fwd_now + r.bwd_now for r in recs)
                outside_t.append(max(0.0, step_t[-1] - timed))
            for r in recs:
                r.end_step(record)
            if progress is not None:
                progress(1)
            i += 1
            clean = sum(1 for c in others if c is None or c <= NOISY_CORES)
            if len(others) >= steps and (clean >= steps or len(others) >= steps * (1 + retries)):
                break
    finally:
        engine.profiler = None

    keep = [k for k, c in enumerate(others) if c is None or c <= NOISY_CORES]
    disturbed = len(keep) < min(steps, 3)
    if disturbed:
        keep = list(range(len(others)))

    def pick(xs):
        return [xs[k] for k in keep]

    step_t, loss_t, opt_t, outside_t = pick(step_t), pick(loss_t), pick(opt_t), pick(outside_t)
    for r in recs:
        r.fwd, r.bwd = pick(r.fwd), pick(r.bwd)
    step = _median(step_t)
    layers = []
    for r in sorted((r for r in recs if r.order is not None and r.kind is not None), key=lambda r: r.order):
        row = {"name": r.name, "type": r.kind, "in_shape": list(r.in_shape), "out_shape": list(r.out_shape),
               "fwd_ms": 1e3 * _median(r.fwd), "bwd_ms": 1e3 * _median(r.bwd)}
        if r.kind.split("+")[0] in ("Conv2d", "Linear") and hasattr(r.module, "flops"):
            f = float(r.module.flops(r.in_shape, r.out_shape))
            fb = f * (2 if r.input_grad else 1)  # backward-weights (+ backward-data)
            row.update({"fwd_flops": f, "bwd_flops": fb})
            for ps, fl in (("fwd", f), ("bwd", fb)):
                t = row[ps + "_ms"] / 1e3
                row[ps + "_gflops"] = fl / t / 1e9 if t > 0 else None
                row[ps + "_pct_peak"] = percent_of_peak(row[ps + "_gflops"], peak) if t > 0 else None
        layers.append(row)
    loss_ms, opt_ms, outside = 1e3 * _median(loss_t), 1e3 * _median(opt_t), 1e3 * _median(outside_t)
    # Every part is a median over the steps, and so is the step time; on a quiet machine the parts
    # add up to the step. Interruptions (other processes, a preempted OpenMP thread) land in
    # random parts, which their medians drop and the median step may keep: shares are taken
    # against the larger of the median step and the sum of the parts' medians, so they add up
    # to at most 100%.
    parts = sum(r["fwd_ms"] + r["bwd_ms"] for r in layers) + loss_ms + opt_ms + outside
    base = max(1e3 * step, parts) or 1.0
    by_type = {}
    for r in layers:
        r["share"] = (r["fwd_ms"] + r["bwd_ms"]) / base
        t = by_type.setdefault(r["type"], {"count": 0, "fwd_ms": 0.0, "bwd_ms": 0.0, "share": 0.0})
        t["count"] += 1
        for k in ("fwd_ms", "bwd_ms", "share"):
            t[k] += r[k]
    return {
        "by_type": by_type,
        "model": name, "batch": batch, "image": list(image), "steps": len(keep), "steps_run": len(others),
        "disturbed": disturbed, "others_cores": [c for c in others], "step_ms": 1e3 * step,
        "step_ms_all": [1e3 * t for t in step_t], "images_per_s": batch / step if step else None,
        "layers": layers, "loss_ms": loss_ms, "loss_share": loss_ms / base,
        "optimizer_ms": opt_ms, "optimizer_share": opt_ms / base,
        "outside_ms": outside, "outside_share": outside / base,
        "outside_ms_all": [1e3 * t for t in outside_t], "parts_ms": parts,
        "conv_linear_share": sum(r["share"] for r in layers if "fwd_flops" in r),
        "peak_gflops": peak,
    }


def format_profile(p, top=5):
    """The profile as text lines (a table, then the top layers by share)."""
    w = max([len(r["name"]) for r in p["layers"]] + [24])
    lines = ["training step of %s, batch %d, %s images: %.1f ms/step, median of %d undisturbed steps of %d "
             "(%.0f images/s)" % (p["model"], p["batch"], "x".join(map(str, p["image"])), p["step_ms"],
                                  p["steps"], p["steps_run"], p["images_per_s"] or 0)]
    if p.get("disturbed"):
        lines.append("warning: other processes kept the cores busy during most steps: these times are not "
                     "cnncore's alone")
    head = "%-*s %-22s %-16s %9s %9s %7s %9s %6s %9s %6s" % (
        w, "layer", "type", "output", "fwd ms", "bwd ms", "share", "fwd GF/s", "%peak", "bwd GF/s", "%peak")
    lines += [head, "-" * len(head)]

    def num(v, fmt):
        return fmt % v if v is not None else "-"

    for r in p["layers"]:
        lines.append("%-*s %-22s %-16s %9.3f %9.3f %6.1f%% %9s %6s %9s %6s" % (
            w, r["name"], r["type"], "x".join(map(str, r["out_shape"][1:])), r["fwd_ms"], r["bwd_ms"],
            100 * r["share"], num(r.get("fwd_gflops"), "%.1f"), num(r.get("fwd_pct_peak"), "%.0f%%"),
            num(r.get("bwd_gflops"), "%.1f"), num(r.get("bwd_pct_peak"), "%.0f%%")))
    lines.append("-" * len(head))
    for label, key in (("loss (CrossEntropyLoss; + 0.3 x aux heads)", "loss"), ("optimizer (zero_grad + SGD step)", "optimizer"),
                       ("outside layers (Python, reorders, adds, allocation)", "outside")):
        lines.append("%-*s %9.3f ms %6.1f%%" % (w + 40, label, p[key + "_ms"], 100 * p[key + "_share"]))
    lines.append("%-*s %9.3f ms" % (w + 40, "sum of the parts' medians", p["parts_ms"]))
    lines.append("%-*s %9.3f ms" % (w + 40, "step (median)", p["step_ms"]))
    lines.append("conv + linear layers: %.1f%% of the step" % (100 * p["conv_linear_share"]))
    kinds = sorted(p["by_type"].items(), key=lambda kv: -kv[1]["share"])
    lines.append("by type: %s" % ", ".join("%s x%d %.1f%% (fwd %.1f + bwd %.1f ms)" % (
        k, v["count"], 100 * v["share"], v["fwd_ms"], v["bwd_ms"]) for k, v in kinds if v["share"] >= 0.005))
    ranked = sorted(p["layers"], key=lambda r: -r["share"])[:top]
    lines.append("top %d: %s" % (len(ranked), ", ".join("%s %s %.1f%%" % (r["name"], r["type"], 100 * r["share"])
                                                      for r in ranked)))
    return lines
