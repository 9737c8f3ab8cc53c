"""The tutorial's digits demo (`make demo`: python -m cnncore train --model seed_cnn --dataset digits
--epochs 10) beside PyTorch's twin trained with the same recipe, and where cnncore's step time goes.

Same data (the bundled digits, the same train/test split), same batches in the same order (one
cnncore.data.DataLoader feeds both), Adam (lr 1e-3), cosine schedule over the epochs, batch 64,
PyTorch's twin of seed_cnn (cnncore/bench/torch_twins.py) with cnncore's initial weights. Each
side's speed is measured as `make demo` prints it: images / s of an epoch (forward, loss,
backward, optimizer step, the accuracy count), median over epochs. The two are run alternately,
epoch by epoch, so machine load hits both alike.

The breakdown (--profile) runs cnncore's per-layer profile of one step at this image size
(cnncore.bench.profile) and the same step of PyTorch, and prints the share of the step spent in
the kernels' layers against the rest (Python, graph recording, allocation).

    python benchmarks/digits_demo.py [--epochs 10] [--threads 2] [--profile]
"""
import argparse
import statistics
import time

import numpy as np


def _epoch(step, loader):
    """Images / s of one pass over `loader` with `step(images, labels)`."""
    seen, t0 = 0, time.perf_counter()
    for images, labels in loader:
        step(images, labels)
        seen += len(labels)
    return seen / (time.perf_counter() - t0)


def cnncore_side(x, y, epochs, batch, lr):
    """(step function, scheduler step) of cnncore's demo recipe (cnncore/__main__.py's train)."""
    import cnncore
    from cnncore import models, optim
    from cnncore.nn.loss import CrossEntropyLoss

    cnncore.manual_seed(0)
    model = models.get_model("seed_cnn", num_classes=10, in_channels=x.shape[1])
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    crit = CrossEntropyLoss()
    model.train()

    def step(images, labels):
        opt.zero_grad()
        logits = model(images)
        loss = crit(logits, labels)
        loss.backward()
        opt.step()
        return int((logits.argmax(1) == labels).sum())

    return model, step, sched.step


def torch_side(model, epochs, lr):
    """The same for PyTorch's twin of `model` (cnncore's initial weights)."""
    import torch

    from cnncore.bench import torch_twins

    tm = torch_twins.from_cnncore("seed_cnn", model)
    tm.train()
    opt = torch.optim.Adam(tm.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    crit = torch.nn.CrossEntropyLoss()

    def step(images, labels):
        xt, yt = torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))
        opt.zero_grad(set_to_none=True)
        logits = tm(xt)
        loss = crit(logits, yt)
        loss.backward()
        opt.step()
        return int((logits.argmax(1) == yt).sum())

    return step, sched.step


def breakdown(batch, image, threads):
    """cnncore's per-layer profile of one step at the demo's size, as text."""
    from cnncore.bench.profile import format_profile, profile

    p = profile("seed_cnn", batch=batch, steps=30, warmup=5, image=image)
    kernels = sum(r["fwd_ms"] + r["bwd_ms"] for r in p["layers"])
    return ("\n".join(format_profile(p)) + "\nlayers' own time %.3f ms of a %.3f ms step (%.0f%%); the rest is Python, "
            "graph recording, loss and optimizer" % (kernels, p["step_ms"], 100 * kernels / p["step_ms"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=None, help="threads of both (default: cnncore's default)")
    ap.add_argument("--profile", action="store_true", help="also print cnncore's per-layer profile of a step")
    a = ap.parse_args()
    import torch

    import cnncore
    from cnncore import data

    if a.threads:
        cnncore.set_num_threads(a.threads)
    torch.set_num_threads(cnncore.get_num_threads())
    x_train, y_train, _, _, _ = data.load_dataset("digits", None, seed=0)
    loader = data.DataLoader(x_train, y_train, a.batch, shuffle=True, seed=0)
    model, c_step, c_sched = cnncore_side(x_train, y_train, a.epochs, a.batch, a.lr)
    t_step, t_sched = torch_side(model, a.epochs, a.lr)
    speeds = {"cnncore": [], "torch": []}
    for epoch in range(a.epochs):
        loader.set_epoch(epoch)
        for name, step, sched in (("cnncore", c_step, c_sched), ("torch", t_step, t_sched)):
            speeds[name].append(_epoch(step, loader))
            sched()
    c, t = statistics.median(speeds["cnncore"]), statistics.median(speeds["torch"])
    print("digits demo (seed_cnn, %s images, batch %d, Adam, %d epochs), %d threads, isa %s, torch %s"
          % ("x".join(map(str, x_train.shape[1:])), a.batch, a.epochs, cnncore.get_num_threads(),
             cnncore.get_isa(), torch.__version__))
    print("cnncore %.0f images/s, PyTorch %.0f images/s (median over epochs): %.2fx" % (c, t, c / t))
    if a.profile:
        print(breakdown(a.batch, tuple(x_train.shape[1:]), cnncore.get_num_threads()))


if __name__ == "__main__":
    main()
