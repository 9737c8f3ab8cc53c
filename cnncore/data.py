"""Data: the bundled digits, loaders for MNIST (IDX files) and CIFAR-10 (python batches) from a
local path, batching with seeded shuffling, and batch augmentations.

Everything returns NCHW float32 images and int64 labels.
"""
import gzip
import inspect
import os
import pickle

import numpy as np

__all__ = ["load_digits", "load_mnist", "load_cifar10", "train_test_split", "DataLoader",
           "Compose", "RandomCrop", "RandomHorizontalFlip", "Normalize", "load_dataset",
           "Dataset", "TensorDataset", "Subset", "random_split", "default_collate", "get_worker_info",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "BatchSampler",
           "ToTensor", "RandomResizedCrop", "ColorJitter", "RandomRotation", "DistributedSampler"]

_HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------------------- data sets
def load_digits():
    """The bundled 8x8 handwritten digits: images (1797, 1, 8, 8) float32 in [0, 1], labels int64."""
    with np.load(os.path.join(_HERE, "datasets", "digits.npz")) as f:
        images = f["images"].astype(np.float32)[:, None] / 16.0
        labels = f["labels"].astype(np.int64)
    return images, labels


def train_test_split(images, labels, test_fraction=0.2, seed=0, stratify=True):
    """Split into (x_train, y_train, x_test, y_test); stratified by label by default, seeded."""
    images, labels = np.asarray(images), np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError("labels: expected %d labels (one per image), got %d" % (len(images), len(labels)))
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction: expected a number in (0, 1), got %r" % (test_fraction,))
    rng = np.random.default_rng(seed)
    if stratify:
        test_idx = []
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            rng.shuffle(idx)
            test_idx.append(idx[: int(round(len(idx) * test_fraction))])
        test_idx = np.sort(np.concatenate(test_idx))
    else:
        test_idx = np.sort(rng.permutation(len(labels))[: int(round(len(labels) * test_fraction))])
    mask = np.zeros(len(labels), bool)
    mask[test_idx] = True
    return images[~mask], labels[~mask], images[mask], labels[mask]


def _open_maybe_gz(path):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _find(directory, names, what):
    if not os.path.isdir(directory):
        raise FileNotFoundError("path: %s is not a directory (expected the folder holding the %s files)"
                                % (directory, what))
    for name in names:
        p = os.path.join(directory, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError("path: no %s file in %s (looked for %s)" % (what, directory, ", ".join(names)))


def _read_idx(path):
    with _open_maybe_gz(path) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError("%s: not an IDX file of unsigned bytes (bad magic number)" % path)
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4).astype(np.int64)
    expected = int(np.prod(dims))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != expected:
        raise ValueError("%s: IDX header says %s (%d values), the file holds %d" % (path, tuple(dims), expected, body.size))
    return body.reshape(tuple(dims))


def load_mnist(path, train=True):
    """MNIST (or Fashion-MNIST) from the IDX files in directory `path` (optionally .gz):
    {train,t10k}-{images-idx3,labels-idx1}-ubyte. Returns images (N, 1, 28, 28) float32 in [0, 1]
    and labels int64."""
    prefix = "train" if train else "t10k"
    img = _read_idx(_find(path, [prefix + "-images-idx3-ubyte", prefix + "-images-idx3-ubyte.gz",
                                 prefix + "-images.idx3-ubyte"], "MNIST %s images" % prefix))
    lab = _read_idx(_find(path, [prefix + "-labels-idx1-ubyte", prefix + "-labels-idx1-ubyte.gz",
                                 prefix + "-labels.idx1-ubyte"], "MNIST %s labels" % prefix))
    if img.ndim != 3 or lab.ndim != 1 or len(img) != len(lab):
        raise ValueError("path: MNIST images %s and labels %s do not match" % (img.shape, lab.shape))
    return img[:, None].astype(np.float32) / 255.0, lab.astype(np.int64)


def load_cifar10(path, train=True):
    """CIFAR-10 from its python batches in directory `path` (data_batch_1..5, test_batch; the
    cifar-10-batches-py folder). Returns images (N, 3, 32, 32) float32 in [0, 1], labels int64."""
    names = ["data_batch_%d" % i for i in range(1, 6)] if train else ["test_batch"]
    xs, ys = [], []
    for name in names:
        p = _find(path, [name], "CIFAR-10 '%s'" % name)
        with open(p, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        data = batch.get(b"data", batch.get("data"))
        labels = batch.get(b"labels", batch.get("labels"))
        if data is None or labels is None:
            raise ValueError("%s: not a CIFAR-10 python batch (no data/labels entries)" % p)
        xs.append(np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(labels, dtype=np.int64))
    return np.concatenate(xs).astype(np.float32) / 255.0, np.concatenate(ys)


def load_dataset(name, path=None, test_fraction=0.2, seed=0):
    """(x_train, y_train, x_test, y_test, num_classes) for 'digits', 'mnist' or 'cifar10'."""
    if name == "digits":
        x, y = load_digits()
        return train_test_split(x, y, test_fraction, seed) + (10,)
    if name in ("mnist", "cifar10"):
        if path is None:
            raise ValueError("path: the %s loader reads local files; pass the folder that holds them" % name)
        load = load_mnist if name == "mnist" else load_cifar10
        return load(path, True) + load(path, False) + (10,)
    raise ValueError("dataset: expected 'digits', 'mnist' or 'cifar10', got %r" % (name,))


# -------------------------------------------------------------------------------------- batching
def _is_array_pair(args, kwargs):
    """DataLoader(images, labels, ...): the second positional argument (or labels=) is an array."""
    if "labels" in kwargs:
        return True
    if args:
        second = args[0]
        return not (second is None or isinstance(second, (bool, np.bool_, int, np.integer)))
    return False


class DataLoader:
    """Batches from arrays or from a map-style dataset.

    Two forms:

    - DataLoader(images, labels, batch_size=64, shuffle=True, seed=0, drop_last=False,
      transform=None, sampler=None): (images, labels) batches of the two arrays, reshuffled each
      epoch: epoch e uses the permutation of default_rng((seed, e)), so the order depends only on
      seed and epoch (a resumed run sees the same batches); `transform(batch, rng)` is applied to
      each image batch (e.g. Compose([RandomCrop(8, 1), ...])). A sampler (e.g. a
      DistributedSampler: this rank's shard) gives the indices instead (shuffle must then be
      left unset or False); the loader's epoch is passed to its set_epoch.
    - DataLoader(dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
      num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
      worker_init_fn=None, multiprocessing_context=None, generator=None, *, prefetch_factor=None,
      persistent_workers=False, pin_memory_device=''): torch.utils.data.DataLoader's form, for any
      dataset with __len__ and __getitem__; batches are default_collate'd (NumPy arrays), shuffling
      draws from `generator` (a numpy Generator) or cnncore's generator; num_workers > 0 fetches
      batches in that many worker processes (forked where the platform allows; each seeds cnncore's
      generator with base_seed + worker id), in order; pin_memory is accepted and has no effect
      (there is no device to copy to).
    """

    def __init__(self, dataset, *args, **kwargs):
        self._arrays = _is_array_pair(args, kwargs)
        if self._arrays:
            self._init_arrays(dataset, *args, **kwargs)
        else:
            self._init_dataset(dataset, *args, **kwargs)

    # ---- arrays
    def _init_arrays(self, images, labels, batch_size=64, shuffle=None, seed=0, drop_last=False, transform=None,
                     sampler=None):
        if sampler is not None:
            if shuffle:
                raise ValueError("sampler: option is mutually exclusive with shuffle")
            if not hasattr(sampler, "__iter__") or not hasattr(sampler, "__len__"):
                raise TypeError("sampler: expected a sized iterable of indices, got %s" % type(sampler).__name__)
            shuffle = False
        elif shuffle is None:
            shuffle = True
        for name, v in (("images", images), ("labels", labels)):
            kind = np.asarray(v).dtype.kind
            if kind not in ("fiu" if name == "images" else "iu"):
                raise TypeError("%s: expected a %s array, got dtype %s"
                                % (name, "real numeric" if name == "images" else "integer", np.asarray(v).dtype))
        for name, v in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(v, (bool, np.bool_)):
                raise TypeError("%s: expected a bool, got %r" % (name, v))
        if transform is not None and not callable(transform):
            raise TypeError("transform: expected a callable (batch, rng) -> batch, got %r" % (transform,))
        self.images = np.ascontiguousarray(images, dtype=np.float32)
        self.labels = np.ascontiguousarray(labels, dtype=np.int64)
        if len(self.images) != len(self.labels):
            raise ValueError("labels: expected %d labels (one per image), got %d"
                             % (len(self.images), len(self.labels)))
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError("batch_size: expected an int >= 1, got %r" % (batch_size,))
        self.batch_size, self.shuffle, self.seed = int(batch_size), bool(shuffle), int(seed)
        self.drop_last, self.transform = bool(drop_last), transform
        self.sampler = sampler
        self.epoch = 0

    # ---- datasets
    def _init_dataset(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
                      num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                      worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                      prefetch_factor=None, persistent_workers=False, pin_memory_device=""):
        from . import _dataset as D

        D._check_len(dataset)
        for name, v in (("shuffle", shuffle), ("drop_last", drop_last), ("pin_memory", pin_memory),
                        ("persistent_workers", persistent_workers)):
            if not isinstance(v, (bool, np.bool_)) and not (name == "shuffle" and v is None):
                raise TypeError("%s: expected a bool, got %r" % (name, v))
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError("num_workers: expected an int >= 0, got %r" % (num_workers,))
        if prefetch_factor is not None and num_workers == 0:
            raise ValueError("prefetch_factor: option could only be specified in multiprocessing; "
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None")
        pf = 2 if prefetch_factor is None else prefetch_factor
        if isinstance(pf, bool) or not isinstance(pf, (int, np.integer)) or pf < 1:
            raise ValueError("prefetch_factor: expected an int >= 1, got %r" % (prefetch_factor,))
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise ValueError("timeout: expected a number >= 0, got %r" % (timeout,))
        for name, fn in (("collate_fn", collate_fn), ("worker_init_fn", worker_init_fn)):
            if fn is not None and not callable(fn):
                raise TypeError("%s: expected a callable or None, got %r" % (name, fn))
        if sampler is not None and shuffle:
            raise ValueError("sampler: option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler: option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError("batch_size: None (no automatic batching) is mutually exclusive "
                                 "with drop_last")
        elif isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError("batch_size: expected an int >= 1 or None, got %r" % (batch_size,))
        if sampler is None:
            sampler = D.RandomSampler(dataset, generator=generator) if shuffle else D.SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = D.BatchSampler(sampler, batch_size, bool(drop_last))
        self.dataset, self.sampler, self.batch_sampler = dataset, sampler, batch_sampler
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last, self.num_workers = bool(drop_last), int(num_workers)
        self._auto_collation = batch_sampler is not None
        self.collate_fn = collate_fn if collate_fn is not None else (
            D.default_collate if self._auto_collation else D.default_convert)
        self.pin_memory, self.timeout, self.worker_init_fn = bool(pin_memory), timeout, worker_init_fn
        self.multiprocessing_context, self.generator = multiprocessing_context, generator
        self.prefetch_factor, self.persistent_workers = int(pf), bool(persistent_workers)

    def __len__(self):
        if not self._arrays:
            return len(self.batch_sampler if self._auto_collation else self.sampler)
        n = len(self.labels) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch):
        """The epoch of the next pass (its shuffle, and its sampler's set_epoch if it has one)."""
        self.epoch = int(epoch)
        if getattr(self, "sampler", None) is not None and hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(self.epoch)

    def __iter__(self):
        if not self._arrays:
            return self._iter_dataset()
        return self._iter_arrays()

    def _iter_dataset(self):
        from . import _dataset as D

        tasks = self.batch_sampler if self._auto_collation else self.sampler
        if self.num_workers > 0:
            yield from D.worker_batches(self, tasks)
            return
        for indices in tasks:
            yield D._fetch(self.dataset, indices, self.collate_fn, self._auto_collation)

    def _iter_arrays(self):
        n = len(self.labels)
        rng = np.random.default_rng((self.seed, self.epoch))
        if self.sampler is not None:
            order = np.fromiter(iter(self.sampler), dtype=np.int64, count=len(self.sampler))
        else:
            order = rng.permutation(n) if self.shuffle else np.arange(n)
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            x = self.images[idx]
            if self.transform is not None:
                x = self.transform(x, rng)
            yield x, self.labels[idx]
        self.set_epoch(self.epoch + 1)


# ---------------------------------------------------------------------------------- augmentation
def _takes_rng(t):
    """Whether transform t is called as t(x, rng) (cnncore's) rather than t(x) (a plain callable)."""
    try:
        params = list(inspect.signature(t).parameters.values())
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


class Compose:
    """Apply transforms in order: Compose([RandomCrop(32, 4), RandomHorizontalFlip()]). Each is
    called as t(x, rng) (the same Generator for all), or t(x) if it takes one argument."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError("transforms[%d]: expected a callable, got %s" % (i, type(t).__name__))
        self._rng_args = [_takes_rng(t) for t in self.transforms]

    def __call__(self, x, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        for t, with_rng in zip(self.transforms, self._rng_args):
            x = t(x, rng) if with_rng else t(x)
        return x


class RandomCrop:
    """Zero-pad each image by `padding` and crop a random size x size window (per image)."""

    def __init__(self, size, padding=0):
        self.size = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        if len(self.size) != 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
                                      for s in self.size):
            raise ValueError("size: expected an int or a pair of ints >= 1, got %r" % (size,))
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError("padding: expected an int >= 0, got %r" % (padding,))
        self.padding = int(padding)

    def __call__(self, x, rng):
        n, c, h, w = x.shape
        p, (sh, sw) = self.padding, self.size
        if sh > h + 2 * p or sw > w + 2 * p:
            raise ValueError("size: crop %s larger than the padded image (%d, %d)" % (self.size, h + 2 * p, w + 2 * p))
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        top = rng.integers(0, h + 2 * p - sh + 1, size=n)
        left = rng.integers(0, w + 2 * p - sw + 1, size=n)
        rows = top[:, None] + np.arange(sh)[None, :]
        cols = left[:, None] + np.arange(sw)[None, :]
        return xp[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


class RandomHorizontalFlip:
    """Flip each image left-right with probability p."""

    def __init__(self, p=0.5):
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0 <= p <= 1:
            raise ValueError("p: expected a probability in [0, 1], got %r" % (p,))
        self.p = float(p)

    def __call__(self, x, rng):
        flip = rng.random(len(x)) < self.p
        out = x.copy()
        out[flip] = x[flip][..., ::-1]
        return out


class Normalize:
    """(x - mean) / std per channel."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
        self.std = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
        if np.any(self.std <= 0):
            raise ValueError("std: expected positive values, got %s" % (std,))

    def __call__(self, x, rng=None):
        if x.shape[1] != self.mean.shape[1] and self.mean.shape[1] != 1:
            raise ValueError("Normalize: expected %d channels, got shape %s" % (self.mean.shape[1], x.shape))
        return ((x - self.mean) / self.std).astype(np.float32)


from ._dataset import (BatchSampler, Dataset, RandomSampler, SequentialSampler, Subset,  # noqa: E402
                       SubsetRandomSampler, TensorDataset, default_collate, get_worker_info, random_split)
from ._transforms import ColorJitter, RandomResizedCrop, RandomRotation, ToTensor  # noqa: E402


from .distributed.sampler import DistributedSampler  # noqa: E402
