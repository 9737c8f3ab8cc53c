"""Python cost of a recorded op: microseconds per call on inputs so small that the kernels take
almost nothing, with recording on (requires_grad) and under no_grad.

    python benchmarks/op_overhead.py

prints one line per case: median microseconds per call (best of 5 batches of 2,000 calls).
"""
import statistics
import time

import numpy as np

import cnncore
from cnncore import functional as F
from cnncore import nn


def per_call(fn, calls=2000, batches=5):
    best = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(best)


def main():
    x = cnncore.Tensor(np.random.rand(1, 16, 2, 2).astype(np.float32), requires_grad=True)
    with cnncore.no_grad():
        xb = nn.Identity()(x) * 1.0  # blocked value
    xr = cnncore.Tensor(xb.numpy(), requires_grad=True)
    xr._value = xb.value
    conv, relu, bn = nn.Conv2d(16, 16, 1), nn.ReLU(), nn.BatchNorm2d(16)
    seq = nn.Sequential(conv, bn, relu)
    cases = [
        ("tensor add (recorded)", lambda: xr + xr),
        ("F.relu (recorded)", lambda: F.relu(xr)),
        ("nn.ReLU module (recorded)", lambda: relu(xr)),
        ("nn.Conv2d 1x1 module, 16 ch, 2x2 (recorded)", lambda: conv(xr).value),
        ("Sequential conv-BN-ReLU (recorded, fused)", lambda: seq(xr).value),
    ]
    for name, fn in cases:
        print("%-48s %7.2f us" % (name, per_call(fn)))
    with cnncore.no_grad():
        for name, fn in cases:
            print("%-48s %7.2f us" % (name.replace("recorded", "no_grad"), per_call(fn)))


if __name__ == "__main__":
    main()
