"""DistributedSampler: each rank's share of the sample indices, as
torch.utils.data.distributed.DistributedSampler."""
import math
import numbers

import numpy as np


class DistributedSampler:
    """The indices of rank `rank` out of `num_replicas`, as torch's DistributedSampler(dataset,
    num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False).

    dataset: a sized dataset, or the number of samples. num_replicas / rank: default the
    process group's world size and rank. Each epoch the indices are permuted (shuffle: with
    numpy's default_rng((seed, epoch)), the same on every rank; call `set_epoch(epoch)` before
    each epoch, as in PyTorch, or let a cnncore DataLoader do it), then padded by repeating
    the first indices to a multiple of num_replicas (or, with drop_last, cut to one), and rank r
    takes every num_replicas-th index from position r: disjoint shards of equal length.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if isinstance(dataset, numbers.Integral) and not isinstance(dataset, bool):
            if dataset < 0:
                raise ValueError("dataset: expected a sized dataset or a number of samples >= 0, got %d" % dataset)
            n = int(dataset)
        elif hasattr(dataset, "__len__"):
            n = len(dataset)
        else:
            raise TypeError("dataset: expected a sized dataset or a number of samples, got %s"
                            % type(dataset).__name__)
        if num_replicas is None or rank is None:
            from . import process_group

            if num_replicas is None:
                num_replicas = process_group.get_world_size()
            if rank is None:
                rank = process_group.get_rank()
        for name, value in (("num_replicas", num_replicas), ("rank", rank), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError("%s: expected an int, got %r" % (name, value))
        if num_replicas < 1:
            raise ValueError("num_replicas: expected an int >= 1, got %d" % num_replicas)
        if not 0 <= rank < num_replicas:
            raise ValueError("rank: expected an int in [0, %d], got %d" % (num_replicas - 1, rank))
        for name, value in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError("%s: expected a bool, got %r" % (name, value))
        self.dataset, self.dataset_size = dataset, n
        self.num_replicas, self.rank, self.seed = int(num_replicas), int(rank), int(seed)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.epoch = 0
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """The epoch whose permutation the next iteration uses."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
            raise TypeError("epoch: expected an int, got %r" % (epoch,))
        self.epoch = int(epoch)

    def indices(self):
        """This rank's indices for the current epoch (an int64 array)."""
        n = self.dataset_size
        if self.shuffle:
            order = np.random.default_rng((self.seed, self.epoch)).permutation(n)
        else:
            order = np.arange(n)
        if not self.drop_last:
            pad = self.total_size - n
            if pad and n:
                order = np.concatenate([order, np.resize(order, pad)])
        else:
            order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas].astype(np.int64)

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples
