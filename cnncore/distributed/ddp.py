"""DistributedDataParallel: gradients averaged across ranks by non-blocking MPI allreduce in
fused buckets that start during backward (PyTorch DDP's reducer, Horovod's tensor fusion).

Parameters are grouped into buckets of at most `bucket_cap_mb` in reverse order of
registration (roughly the order backward finishes them). Each Parameter has a grad-ready hook
(cnncore.nn.Parameter.register_grad_ready_hook): when the last gradient of a bucket is final, the
bucket's gradients are copied into one contiguous buffer and its Iallreduce starts while the
rest of the backward runs. Buckets start strictly in index order, so every rank issues the same
collectives in the same order. At the end of the backward (engine.queue_callback) the reducer
starts whatever is left, waits for the reductions in order and writes the averages into
`.grad`, so the optimizer sees averaged gradients exactly as without DDP.
"""
import contextlib
import time

import numpy as np

from ..autograd import engine
from ..nn.module import Module
from .process_group import communicator


class _Bucket:
    __slots__ = ("params", "offsets", "buffer", "waiting", "request")

    def __init__(self, params):
        self.params = params
        sizes = [p.numel() for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.buffer = np.zeros(int(self.offsets[-1]), np.float32)
        self.waiting = len(params)
        self.request = None


def _buckets(params, cap_bytes):
    """Parameters (in reverse registration order) split into buckets of at most cap_bytes
    (a parameter larger than the cap gets a bucket of its own)."""
    groups, current, size = [], [], 0
    for p in reversed(params):
        nbytes = 4 * p.numel()
        if current and size + nbytes > cap_bytes:
            groups.append(current)
            current, size = [], 0
        current.append(p)
        size += nbytes
    if current:
        groups.append(current)
    return [_Bucket(g) for g in groups]


class _Reducer:
    """The per-step state: which buckets are complete, started, and the requests in flight."""

    def __init__(self, params, cap_bytes, comm):
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = comm
        self.size = comm.Get_size()
        self.buckets = _buckets(params, cap_bytes)
        self.where = {}
        for b, bucket in enumerate(self.buckets):
            for k, p in enumerate(bucket.params):
                self.where[id(p)] = (b, k)
        self.armed = False
        self.next = 0
        self.finishing = False
        self.wait_seconds = 0.0
        self.handles = [p.register_grad_ready_hook(self._ready) for p in params]

    def arm(self):
        """The next backward reduces (called by a training forward through the wrapper)."""
        for bucket in self.buckets:
            bucket.waiting = len(bucket.params)
            bucket.request = None
        self.next = 0
        self.finishing = False
        self.armed = True

    def _ready(self, p):
        if not self.armed:
            return
        if not self.finishing:
            self.finishing = True
            engine.queue_callback(self._finish)
        b, _ = self.where[id(p)]
        self.buckets[b].waiting -= 1
        while self.next < len(self.buckets) and self.buckets[self.next].waiting == 0:
            self._start(self.buckets[self.next])
            self.next += 1
        started = [bk.request for bk in self.buckets[:self.next] if bk.request is not None]
        if started:  # let MPI progress the reductions in flight (no progress thread)
            self.MPI.Request.Testall(started)

    def _start(self, bucket):
        buf, off = bucket.buffer, bucket.offsets
        for k, p in enumerate(bucket.params):
            if p.grad is None:  # not reached by this backward on this rank: contributes zeros
                buf[off[k]:off[k + 1]] = 0.0
            else:
                buf[off[k]:off[k + 1]] = np.asarray(p.grad, dtype=np.float32).reshape(-1)
        bucket.request = self.comm.Iallreduce(self.MPI.IN_PLACE, [buf, self.MPI.FLOAT], op=self.MPI.SUM)

    def _finish(self):
        self.armed = False
        while self.next < len(self.buckets):  # parameters this backward did not reach
            self._start(self.buckets[self.next])
            self.next += 1
        t0 = time.perf_counter()
        for bucket in self.buckets:
            bucket.request.Wait()
        self.wait_seconds = time.perf_counter() - t0
        scale = np.float32(1.0 / self.size)
        for bucket in self.buckets:
            buf, off = bucket.buffer, bucket.offsets
            if self.size & (self.size - 1) == 0:
                buf *= scale  # exact for a power of two
            else:
                buf /= np.float32(self.size)
            for k, p in enumerate(bucket.params):
                avg = buf[off[k]:off[k + 1]].reshape(p.shape)
                if isinstance(p.grad, np.ndarray) and p.grad.flags.writeable and p.grad.shape == p.shape:
                    np.copyto(p.grad, avg)
                else:
                    p.grad = avg.copy()

    def remove(self):
        for h in self.handles:
            h.remove()


class DistributedDataParallel(Module):
    """Data-parallel training over the MPI process group, as torch.nn.parallel.
    DistributedDataParallel(module, device_ids=None, output_device=None, dim=0,
    broadcast_buffers=True, process_group=None, bucket_cap_mb=None,
    find_unused_parameters=False, check_reduction=False, gradient_as_bucket_view=False,
    static_graph=False).

    At wrap time rank 0's parameters and buffers are broadcast, so every rank starts identical.
    `ddp(x)` runs `module(x)`; the next `loss.backward()` (or `ddp.backward(dy)`) averages the
    gradients of every parameter that requires grad across ranks, in buckets of bucket_cap_mb
    (default 25) MB reduced with non-blocking allreduce as backward finishes them. With
    broadcast_buffers, each training forward first copies rank 0's buffers (BatchNorm running
    statistics) to every rank. Parameters a backward does not reach contribute zeros (so
    find_unused_parameters is accepted and has no effect). `no_sync()`: gradients accumulate
    locally, for gradient accumulation. `comm_wait_time`: seconds the last backward waited for
    its reductions after its own work was done. device_ids / output_device must be None (CPU);
    dim must be 0.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError("module: expected a cnncore.nn.Module, got %s" % type(module).__name__)
        for name, value in (("device_ids", device_ids), ("output_device", output_device),
                            ("process_group", process_group)):
            if value is not None:
                raise ValueError("%s: expected None (CPU ranks of the default MPI group), got %r" % (name, value))
        if dim != 0:
            raise ValueError("dim: expected 0 (the batch dimension), got %r" % (dim,))
        cap = 25.0 if bucket_cap_mb is None else bucket_cap_mb
        if isinstance(cap, bool) or not isinstance(cap, (int, float)) or not cap > 0:
            raise ValueError("bucket_cap_mb: expected a number > 0, got %r" % (bucket_cap_mb,))
        comm = communicator()
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = float(cap)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.static_graph = bool(static_graph)
        object.__setattr__(self, "_sync", True)
        _check_same_model(module, comm)
        _broadcast_parameters(module, comm)
        _broadcast_buffers(module, comm)
        params = [p for p in module.parameters() if p.requires_grad]
        object.__setattr__(self, "_reducer", _Reducer(params, int(cap * 1024 * 1024), comm))

    def forward(self, *args, **kwargs):
        if self.training and self.broadcast_buffers:
            _broadcast_buffers(self.module, communicator())
        if self._sync and self.training and engine.is_grad_enabled():
            self._reducer.arm()
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside: forwards (and their backwards) accumulate gradients locally without
        reducing; the first backward after leaving reduces the accumulated sums."""
        previous = self._sync
        object.__setattr__(self, "_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_sync", previous)

    @property
    def comm_wait_time(self):
        return self._reducer.wait_seconds

    def bucket_sizes(self):
        """The number of float32 values in each bucket, in the order they are reduced."""
        return [int(b.offsets[-1]) for b in self._reducer.buckets]

    def extra_repr(self):
        return "bucket_cap_mb=%s, buckets=%d" % (self.bucket_cap_mb, len(self._reducer.buckets))


def _check_same_model(module, comm):
    """Every rank wraps parameters of the same names and shapes (else ValueError on every rank)."""
    everyone = comm.allgather([(name, tuple(p.shape)) for name, p in module.named_parameters()])
    for r, theirs in enumerate(everyone):
        if theirs != everyone[0]:
            pairs = [(a, b) for a, b in zip(theirs, everyone[0]) if a != b]
            what = ("%s of shape %s where rank 0 has %s of shape %s" % (pairs[0][0] + pairs[0][1])) if pairs \
                else "%d parameters where rank 0 has %d" % (len(theirs), len(everyone[0]))
            raise ValueError("module: rank %d has %s; every rank must wrap the same architecture" % (r, what))


def _broadcast_parameters(module, comm):
    """Rank 0's parameter values on every rank (one fused float32 broadcast)."""
    from mpi4py import MPI

    params = list(module.parameters())
    if not params:
        return
    flat = np.concatenate([p.data.reshape(-1) for p in params]).astype(np.float32)
    comm.Bcast([flat, MPI.FLOAT], root=0)
    if comm.Get_rank() != 0:
        offset = 0
        for p in params:
            n = p.numel()
            p.data = flat[offset:offset + n].reshape(p.shape)
            offset += n


def _broadcast_buffers(module, comm):
    """Rank 0's buffers (BatchNorm running statistics, counters) on every rank."""
    owners = [(m, name) for m in module.modules() for name, b in m._buffers.items() if b is not None]
    if not owners:
        return
    values = comm.bcast([m._buffers[name] for m, name in owners] if comm.Get_rank() == 0 else None, root=0)
    if comm.Get_rank() != 0:
        for (m, name), v in zip(owners, values):
            m._buffers[name] = np.array(v, copy=True)
