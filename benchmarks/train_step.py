"""Time training steps of a model with whichever cnncore is importable (for before/after
comparisons across commits: run it alternately with PYTHONPATH pointing at two built trees).

    python benchmarks/train_step.py --model resnet20 --batch 64 --steps 15

prints one JSON line: model, batch, median step ms, the per-step times, peak RSS (MiB) and the
cnncore file used. A step is zero_grad, forward, cross-entropy, backward, SGD step.
"""
import argparse
import json
import resource
import statistics
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="seed_cnn")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--image", default="3,32,32")
    a = ap.parse_args()
    import cnncore
    from cnncore import models, nn, optim

    image = tuple(int(v) for v in a.image.split(","))
    cnncore.manual_seed(0)
    model = models.get_model(a.model, num_classes=10, in_channels=image[0])
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((a.batch,) + image).astype(np.float32)
    y = rng.integers(0, 10, a.batch)
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        out = model(x)
        if isinstance(out, tuple):  # GoogLeNet's (logits, aux2, aux1): torchvision's recipe
            loss = crit(out[0], y) + 0.3 * (crit(out[1], y) + crit(out[2], y))
        else:
            loss = crit(out, y)
        if hasattr(loss, "backward"):
            loss.backward()
        else:  # the layer-wise API of earlier versions
            model.backward(crit.backward(), input_grad=False)
        opt.step()
        if i >= a.warmup:
            times.append(1e3 * (time.perf_counter() - t0))
    print(json.dumps({"model": a.model, "batch": a.batch, "median_ms": statistics.median(times),
                      "times_ms": [round(t, 3) for t in times],
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "cnncore": cnncore.__file__}))


if __name__ == "__main__":
    main()
