"""Map-style datasets, samplers, collation and worker processes for cnncore.data.DataLoader,
with torch.utils.data's names and behaviour (NumPy arrays where torch has tensors).

Random choices (RandomSampler, random_split) draw from cnncore's generator unless a
numpy Generator is passed, so `cnncore.manual_seed(s)` makes them reproducible.
"""
import collections.abc
import math
import multiprocessing as mp
import numbers
import queue
import traceback

import numpy as np

from . import _random

__all__ = ["BatchSampler", "Dataset", "RandomSampler", "SequentialSampler", "Subset",
           "SubsetRandomSampler", "TensorDataset", "default_collate", "random_split"]


class Dataset:
    """Base of map-style datasets: subclasses define __getitem__(index) and __len__()."""

    def __getitem__(self, index):
        raise NotImplementedError("%s does not define __getitem__" % type(self).__name__)


class TensorDataset(Dataset):
    """Samples are tuples (a[i], b[i], ...) of arrays that share their first dimension."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("tensors: expected at least one array")
        arrays = []
        for k, t in enumerate(tensors):
            a = t.numpy() if hasattr(t, "numpy") and not isinstance(t, np.ndarray) else np.asarray(t)
            if a.ndim == 0:
                raise ValueError("tensors[%d]: expected an array with a first dimension, got a 0-d value" % k)
            arrays.append(a)
        n = len(arrays[0])
        for k, a in enumerate(arrays):
            if len(a) != n:
                raise ValueError("tensors[%d]: expected %d rows (as tensors[0]), got %d" % (k, n, len(a)))
        self.tensors = tuple(arrays)

    def __getitem__(self, index):
        return tuple(a[index] for a in self.tensors)

    def __len__(self):
        return len(self.tensors[0])


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = list(indices)

    def __getitem__(self, index):
        if isinstance(index, (list, tuple, np.ndarray)):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def _check_len(dataset, name="dataset"):
    if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
        raise TypeError("%s: expected a map-style dataset (with __len__ and __getitem__), got %s"
                        % (name, type(dataset).__name__))
    return len(dataset)


def _rng(generator):
    if generator is None:
        return _random.generator()
    if not isinstance(generator, np.random.Generator):
        raise TypeError("generator: expected a numpy.random.Generator or None, got %s"
                        % type(generator).__name__)
    return generator


def random_split(dataset, lengths, generator=None):
    """Split a dataset into non-overlapping Subsets of the given lengths (ints summing to
    len(dataset), or fractions summing to 1, the remainder spread one by one over the first
    subsets, as torch.utils.data.random_split)."""
    n = _check_len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("lengths: expected at least one length")
    for i, v in enumerate(lengths):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or v < 0:
            raise ValueError("lengths[%d]: expected a non-negative number, got %r" % (i, v))
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1 and not all(
            isinstance(v, numbers.Integral) for v in lengths):
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if any(not float(v).is_integer() for v in lengths) or sum(lengths) != n:
        raise ValueError("lengths: expected integers summing to the dataset's length %d (or "
                         "fractions summing to 1), got %r" % (n, lengths))
    order = _rng(generator).permutation(n).tolist()
    out, start = [], 0
    for v in lengths:
        out.append(Subset(dataset, order[start:start + int(v)]))
        start += int(v)
    return out


# -------------------------------------------------------------------------------- samplers

class SequentialSampler:
    """Indices 0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler:
    """A new random permutation each epoch (or num_samples draws with replacement)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, (bool, np.bool_)):
            raise TypeError("replacement: expected a bool, got %r" % (replacement,))
        if num_samples is not None and (isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral)
                                        or num_samples <= 0):
            raise ValueError("num_samples: expected a positive int, got %r" % (num_samples,))
        _rng(generator)
        self.data_source, self.replacement = data_source, bool(replacement)
        self._num_samples, self.generator = num_samples, generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, rng = len(self.data_source), _rng(self.generator)
        if self.replacement:
            return iter(rng.integers(0, n, size=self.num_samples).tolist())
        reps = -(-self.num_samples // n) if n else 0
        order = np.concatenate([rng.permutation(n) for _ in range(reps)]) if reps else np.zeros(0, int)
        return iter(order[:self.num_samples].tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler:
    """The given indices in a new random order each epoch."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = list(indices), generator
        _rng(generator)

    def __iter__(self):
        return iter([self.indices[i] for i in _rng(self.generator).permutation(len(self.indices))])

    def __len__(self):
        return len(self.indices)


class BatchSampler:
    """Groups a sampler's indices into lists of batch_size (the last shorter unless drop_last)."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError("batch_size: expected an int >= 1, got %r" % (batch_size,))
        if not isinstance(drop_last, (bool, np.bool_)):
            raise TypeError("drop_last: expected a bool, got %r" % (drop_last,))
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), bool(drop_last)

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# ------------------------------------------------------------------------------- collation

def default_collate(batch):
    """Stack a list of samples as torch's default_collate does, with NumPy arrays: arrays (and
    cnncore Tensors) are stacked, Python ints become int64 and floats float64 arrays, strings
    stay a list, and tuples / lists / dicts / namedtuples are collated field by field."""
    from .autograd.tensor import Tensor

    if len(batch) == 0:
        raise ValueError("batch: expected at least one sample")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return np.stack([b.numpy() for b in batch])
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OUS":
            raise TypeError("default_collate: arrays of dtype %s cannot be stacked" % elem.dtype)
        return np.stack(batch)
    if isinstance(elem, np.generic):
        return np.asarray(batch)
    if isinstance(elem, (bool, np.bool_)):
        return np.asarray(batch, dtype=bool)
    if isinstance(elem, numbers.Integral):
        return np.asarray(batch, dtype=np.int64)
    if isinstance(elem, numbers.Real):
        return np.asarray(batch, dtype=np.float64)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {k: default_collate([b[k] for b in batch]) for k in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError("default_collate: batch must contain arrays, numbers, dicts or lists; found %s"
                    % type(elem).__name__)


def default_convert(sample):
    """batch_size=None: samples pass through, Tensors become arrays."""
    from .autograd.tensor import Tensor

    return sample.numpy() if isinstance(sample, Tensor) else sample


# --------------------------------------------------------------------------------- workers

class WorkerInfo:
    """What get_worker_info() returns inside a worker: id, num_workers, seed, dataset."""

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset


_worker_info = None


def get_worker_info():
    """In a DataLoader worker process, its WorkerInfo; None in the main process."""
    return _worker_info


def _fetch(dataset, indices, collate_fn, auto_collation):
    if auto_collation:
        return collate_fn([dataset[i] for i in indices])
    return collate_fn(dataset[indices])


def _worker_loop(dataset, index_queue, result_queue, collate_fn, auto_collation, worker_id,
                 num_workers, seed, init_fn):
    """A worker process: seed cnncore's generator (seed + id), run worker_init_fn, then fetch
    batches until it receives None."""
    global _worker_info
    _random.manual_seed(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    try:
        if init_fn is not None:
            init_fn(worker_id)
    except Exception:
        result_queue.put((-1, None, "in worker_init_fn of worker %d:\n%s" % (worker_id, traceback.format_exc())))
        return
    while True:
        task = index_queue.get()
        if task is None:
            break
        k, indices = task
        try:
            result_queue.put((k, _fetch(dataset, indices, collate_fn, auto_collation), None))
        except Exception:
            result_queue.put((k, None, "in DataLoader worker process %d:\n%s"
                              % (worker_id, traceback.format_exc())))


def worker_batches(loader, tasks):
    """Yield the batches of `tasks` (lists of indices, in order) fetched by loader.num_workers
    processes: task k goes to worker k % num_workers, at most prefetch_factor * num_workers are
    in flight, results come back in order. Workers are stopped when the iteration ends (or is
    abandoned)."""
    nw = loader.num_workers
    ctx = loader.multiprocessing_context
    if ctx is None:
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    elif isinstance(ctx, str):
        ctx = mp.get_context(ctx)
    base_seed = int(_random.generator().integers(0, 2 ** 62))
    result_q = ctx.Queue()
    index_qs = [ctx.Queue() for _ in range(nw)]
    workers = []
    try:
        for w in range(nw):
            p = ctx.Process(target=_worker_loop, args=(loader.dataset, index_qs[w], result_q, loader.collate_fn,
                                                       loader._auto_collation, w, nw, base_seed + w,
                                                       loader.worker_init_fn), daemon=True)
            p.start()
            workers.append(p)
        tasks = iter(enumerate(tasks))
        sent = done = 0
        pending = {}
        limit = loader.prefetch_factor * nw

        def send():
            nonlocal sent
            task = next(tasks, None)
            if task is None:
                return False
            index_qs[task[0] % nw].put(task)
            sent += 1
            return True

        while sent < limit and send():
            pass
        while done < sent:
            while done not in pending:
                try:
                    k, batch, err = result_q.get(timeout=loader.timeout if loader.timeout > 0 else 5.0)
                except queue.Empty:
                    dead = [p.pid for p in workers if not p.is_alive()]
                    if dead:
                        raise RuntimeError("DataLoader worker (pid(s) %s) exited unexpectedly"
                                           % ", ".join(map(str, dead))) from None
                    if loader.timeout > 0:
                        raise RuntimeError("DataLoader timed out after %s seconds" % loader.timeout) from None
                    continue
                if err is not None:
                    raise RuntimeError("Caught an exception " + err)
                pending[k] = batch
            batch = pending.pop(done)
            done += 1
            send()
            yield batch
    finally:
        for q in index_qs:
            q.put(None)
        for p in workers:
            p.join(timeout=2.0)
            if p.is_alive():
                p.terminate()
                p.join()
        for q in index_qs + [result_q]:
            q.cancel_join_thread()  # never block on a queue whose reader is gone
            q.close()
