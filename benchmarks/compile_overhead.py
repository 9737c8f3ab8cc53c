"""Per-op cost of the compiled-plan executor (cnncore.compile): a model of K tiny ops (ReLU6 of a
1x16x1x1 tensor, so the kernels take almost nothing), compiled, timed for K = 0 and K = 400;
the difference over 400 is the executor's cost per op (descriptor dispatch, the operator's call,
its OpenMP decision). Eager cnncore's per-op cost on the same model is printed beside it.

    python benchmarks/compile_overhead.py

Times are medians of 7 batches; on a loaded machine they are noisy (say so when quoting them).
"""
import statistics
import time

import numpy as np

import cnncore
from cnncore import nn

OPS = 400


def per_call(fn, calls, batches=7):
    fn()
    out = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        out.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(out)


def chain(k):
    """Identity, then k ReLU6 (nothing fuses: an activation's producer is an activation)."""
    return nn.Sequential(nn.Identity(), *[nn.ReLU6() for _ in range(k)]).eval()


def main():
    x = np.random.default_rng(0).standard_normal((1, 16, 1, 1)).astype(np.float32)
    rows = {}
    for k in (0, OPS):
        model = chain(k)
        fast = cnncore.compile(model)
        plan = fast.plan(x.shape)
        assert plan.c_calls == 1 and len(plan.steps) == k + 2
        arena = np.empty(max(plan.arena_size, 1), np.float32)
        out = np.empty(plan.output_shape, np.float32)
        rows[k] = {
            "one C call (PlanProgram.run)": per_call(
                lambda: plan._program.run(0, len(plan.steps), arena, x.reshape(-1), out.reshape(-1)), 200),
            "compiled call (fast(x))": per_call(lambda: fast(x), 200),
            "eager cnncore (model(x))": per_call(lambda: model(x), 20),
        }
    for what in rows[0]:
        print("%-32s %8.2f us per op  (%d ops: %.1f us, 0 ops: %.1f us)" % (
            what, (rows[OPS][what] - rows[0][what]) / OPS, OPS, rows[OPS][what], rows[0][what]))


if __name__ == "__main__":
    main()
