"""Time data-parallel training steps of a model under MPI (weak scaling: a fixed batch per rank).

    OMP_NUM_THREADS=1 mpirun -np 2 python benchmarks/distributed_step.py --model resnet20 --batch 64

Rank 0 prints one JSON line: ranks, threads per rank, batch per rank, median step ms, global
images/s, median time a step waited for its gradient reductions after its own backward was done
(ms), the gradient bytes and the bucket sizes. A step is zero_grad, forward, cross-entropy,
backward (with the bucketed allreduce), SGD step; docs/DISTRIBUTED.md models larger jobs from it.
"""
import argparse
import json
import statistics
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet20")
    ap.add_argument("--batch", type=int, default=64, help="images per rank and step")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--bucket-cap-mb", type=float, default=None)
    ap.add_argument("--sync-bn", action="store_true", help="convert the BatchNorms to SyncBatchNorm")
    a = ap.parse_args()
    import cnncore
    from cnncore import distributed as dist
    from cnncore import models, nn, optim

    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    cnncore.manual_seed(0)
    model = models.get_model(a.model, num_classes=10, in_channels=3)
    if a.sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=a.bucket_cap_mb)
    opt = optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    rng = np.random.default_rng(rank)
    x = rng.standard_normal((a.batch, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, a.batch)
    steps, waits = [], []
    for i in range(a.warmup + a.steps):
        dist.barrier()
        t0 = time.perf_counter()
        opt.zero_grad()
        crit(ddp(x), y).backward()
        opt.step()
        if i >= a.warmup:
            steps.append(time.perf_counter() - t0)
            waits.append(ddp.comm_wait_time)
    step = statistics.median(steps)
    if rank == 0:
        print(json.dumps({"model": a.model, "sync_bn": a.sync_bn, "ranks": world, "threads_per_rank": cnncore.get_num_threads(),
                          "batch_per_rank": a.batch, "isa": cnncore.get_isa(), "step_ms": 1e3 * step,
                          "images_per_s": world * a.batch / step,
                          "comm_wait_ms": 1e3 * statistics.median(waits),
                          "gradient_bytes": 4 * sum(ddp.bucket_sizes()),
                          "bucket_sizes": ddp.bucket_sizes()}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
