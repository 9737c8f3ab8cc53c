"""PyTorch's training step of the same models (cnncore/bench/torch_twins.py), for time and
peak RSS beside benchmarks/train_step.py: python benchmarks/torch_step.py --model resnet20"""
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
    a = ap.parse_args()
    import torch

    from cnncore.bench import torch_twins

    torch.manual_seed(0)
    model = getattr(torch_twins, a.model)(num_classes=10)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    crit = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((a.batch, 3, 32, 32)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 10, a.batch))
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        crit(model(x), y).backward()
        opt.step()
        if i >= a.warmup:
            times.append(1e3 * (time.perf_counter() - t0))
    print(json.dumps({"model": a.model, "batch": a.batch, "median_ms": statistics.median(times),
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
