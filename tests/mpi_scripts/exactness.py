"""Run under mpirun -np N (test_distributed_mpirun.py): N ranks with SyncBatchNorm and batch
B/N each against one process with batch B (computed on every rank), over the first 3 SGD steps:
weights and BatchNorm statistics within 1e-5 relative, ranks bit-identical to each other, rank 0's
weights on every rank after the wrap; no_sync keeps gradients local until the next reducing
backward. Prints "OK rank r" on success; a failed check raises, which
the distributed fault handler turns into an aborted job."""
import hashlib
import os

import numpy as np

import cnncore
from cnncore import _kernels, data, nn, optim
from cnncore import distributed as dist
from cnncore.distributed.process_group import communicator

B, STEPS, TOL = 12, 3, 1e-5


def make_net(seed):
    cnncore.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 20, 3, stride=2, padding=1), nn.BatchNorm2d(20), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(20, 5))


def state(model):
    return {k: np.asarray(v, dtype=np.float64) for k, v in model.state_dict().items()}


def close(got, want, what):
    for k, w in want.items():
        g = got[k]
        scale = max(np.abs(w).max(), 1e-30)
        err = np.abs(g - w).max() / scale
        if err > TOL:
            raise AssertionError("%s: %s differs from one process by %.3g relative" % (what, k, err))


def same_on_all_ranks(model, what, buffers=True):
    values = model.state_dict().values() if buffers else [p.data for p in model.parameters()]
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(v).tobytes() for v in values)).hexdigest()
    everyone = communicator().allgather(digest)
    if len(set(everyone)) != 1:
        raise AssertionError("%s: ranks are not bit-identical (%s)" % (what, everyone))


def loader(x, y, batch, replicas, rank):
    return data.DataLoader(x, y, batch, sampler=data.DistributedSampler(len(x), replicas, rank, seed=3))


def train(model, net, batches, step_check, explicit_backward=False):
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    crit = nn.CrossEntropyLoss()
    for step, (xb, yb) in enumerate(batches):
        opt.zero_grad()
        out = net(xb)
        if explicit_backward:  # d(mean cross-entropy)/d logits, handed to net.backward
            p = np.exp(out.numpy() - out.numpy().max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            p[np.arange(len(yb)), yb] -= 1.0
            net.backward((p / len(yb)).astype(np.float32), input_grad=False)
        else:
            crit(out, yb).backward()
        opt.step()
        step_check(step, model)
        if step + 1 == STEPS:
            break


def main():
    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    if "OMP_NUM_THREADS" not in os.environ:  # the default: CPUs per rank on this host
        expected = max(1, min(_kernels.cpu_limit(), (os.cpu_count() or 1) // world))
        if cnncore.get_num_threads() != expected:
            raise AssertionError("threads: %d, expected %d" % (cnncore.get_num_threads(), expected))
    rng = np.random.default_rng(7)
    x = rng.standard_normal((B * STEPS, 3, 8, 8)).astype(np.float32) + 0.5
    y = rng.integers(0, 5, B * STEPS)

    reference, snapshots = make_net(0), []
    train(reference, reference, loader(x, y, B, 1, 0), lambda s, m: snapshots.append(state(m)))

    for cap, explicit in ((0.0005, False), (None, True)):  # several buckets / one bucket
        model = nn.SyncBatchNorm.convert_sync_batchnorm(make_net(0 if rank == 0 else 100 + rank))
        ddp = dist.DistributedDataParallel(model, bucket_cap_mb=cap)
        close(state(model), state(make_net(0)), "after the wrap")
        same_on_all_ranks(model, "after the wrap")
        if cap is not None and len(ddp.bucket_sizes()) < 3:
            raise AssertionError("bucket_cap_mb=%s gave buckets %s" % (cap, ddp.bucket_sizes()))

        def check(step, m, cap=cap):
            close(state(m), snapshots[step], "step %d (bucket_cap_mb=%s)" % (step + 1, cap))
            same_on_all_ranks(m, "step %d" % (step + 1))

        train(model, ddp, loader(x, y, B // world, world, rank), check, explicit)

    # plain BatchNorm: per-rank statistics (running statistics differ after a step until the next
    # training forward copies rank 0's), the averaged gradients keep the weights identical
    model = make_net(rank)
    ddp = dist.DistributedDataParallel(model)
    train(model, ddp, loader(x, y, B // world, world, rank),
          lambda s, m: same_on_all_ranks(m, "plain BN", buffers=False))
    # no_sync: a local backward (gradients differ across ranks), then a reducing one (identical)
    grads = lambda: b"".join(p.grad.tobytes() for p in model.parameters())  # noqa: E731
    crit = nn.CrossEntropyLoss()
    xs, ys = x[rank::world][:4], y[rank::world][:4]
    ddp.zero_grad()
    with ddp.no_sync():
        crit(ddp(xs), ys).backward()
    local = communicator().allgather(hashlib.sha256(grads()).hexdigest())
    crit(ddp(xs[::-1].copy()), ys[::-1].copy()).backward()
    reduced = communicator().allgather(hashlib.sha256(grads()).hexdigest())
    if len(set(local)) != world or len(set(reduced)) != 1:
        raise AssertionError("no_sync: local %s, then reduced %s" % (local, reduced))
    dist.barrier()
    print("OK rank %d" % rank, flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
