"""cnncore.data: bundled digits, MNIST/CIFAR-10 loaders on tiny files written here, batching,
augmentations."""
import gzip
import pickle
import struct

import numpy as np
import pytest

from cnncore import data


def test_digits_bundled():
    x, y = data.load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert np.array_equal(np.bincount(y), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_train_test_split_stratified_and_seeded():
    x, y = data.load_digits()
    a = data.train_test_split(x, y, 0.2, seed=1)
    b = data.train_test_split(x, y, 0.2, seed=1)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    xtr, ytr, xte, yte = a
    assert len(ytr) + len(yte) == 1797
    assert abs(len(yte) - 0.2 * 1797) < 10
    assert np.all(np.abs(np.bincount(yte) - 0.2 * np.bincount(y)) <= 1)
    with pytest.raises(ValueError, match="test_fraction"):
        data.train_test_split(x, y, 1.5)


def _write_idx(path, array, gz=False):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_loader(tmp_path, gz):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 28, 28))
    labs = np.array([3, 1, 4, 1, 5])
    suffix = ".gz" if gz else ""
    _write_idx(str(tmp_path / ("t10k-images-idx3-ubyte" + suffix)), imgs, gz)
    _write_idx(str(tmp_path / ("t10k-labels-idx1-ubyte" + suffix)), labs, gz)
    x, y = data.load_mnist(str(tmp_path), train=False)
    assert x.shape == (5, 1, 28, 28) and np.allclose(x[:, 0] * 255, imgs)
    assert np.array_equal(y, labs)


def test_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="path: .* is not a directory"):
        data.load_mnist(str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="MNIST train images"):
        data.load_mnist(str(tmp_path))
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04")
    _write_idx(str(tmp_path / "train-labels-idx1-ubyte"), np.zeros(2))
    with pytest.raises(ValueError, match="bad magic"):
        data.load_mnist(str(tmp_path))


def test_cifar10_loader(tmp_path):
    rng = np.random.default_rng(0)
    batches = {}
    for name in ["data_batch_%d" % i for i in range(1, 6)] + ["test_batch"]:
        d = rng.integers(0, 256, (2, 3072)).astype(np.uint8)
        labels = list(rng.integers(0, 10, 2))
        batches[name] = (d, labels)
        with open(tmp_path / name, "wb") as f:
            pickle.dump({b"data": d, b"labels": labels}, f)
    x, y = data.load_cifar10(str(tmp_path), train=True)
    assert x.shape == (10, 3, 32, 32) and y.shape == (10,)
    assert np.allclose(x[0].reshape(-1) * 255, batches["data_batch_1"][0][0])
    xt, yt = data.load_cifar10(str(tmp_path), train=False)
    assert xt.shape == (2, 3, 32, 32) and list(yt) == batches["test_batch"][1]
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        data.load_cifar10(str(tmp_path / ".."), train=True)


def test_load_dataset_errors():
    with pytest.raises(ValueError, match="dataset"):
        data.load_dataset("imagenet")
    with pytest.raises(ValueError, match="path"):
        data.load_dataset("mnist")


def test_dataloader_batches_shuffle_and_epochs():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    y = np.arange(10)
    dl = data.DataLoader(x, y, batch_size=4, shuffle=True, seed=3)
    assert len(dl) == 3
    e0 = [b for _, b in dl]
    e1 = [b for _, b in dl]
    assert [len(b) for b in e0] == [4, 4, 2]
    assert sorted(np.concatenate(e0)) == list(range(10))
    assert not all(np.array_equal(a, b) for a, b in zip(e0, e1))  # reshuffled per epoch
    dl.set_epoch(0)
    assert all(np.array_equal(a, b) for a, b in zip(e0, [b for _, b in dl]))  # same seed+epoch
    dl2 = data.DataLoader(x, y, batch_size=4, drop_last=True, shuffle=False)
    assert len(dl2) == 2 and [list(b) for _, b in dl2] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    for xb, yb in data.DataLoader(x, y, 3, shuffle=True, seed=1):
        assert np.array_equal(xb.reshape(-1), yb.astype(np.float32))  # images stay with labels
    with pytest.raises(ValueError, match="batch_size"):
        data.DataLoader(x, y, batch_size=0)
    with pytest.raises(ValueError, match="labels"):
        data.DataLoader(x, y[:3])


def test_augmentations():
    rng = np.random.default_rng(0)
    x = rng.random((6, 3, 5, 5)).astype(np.float32)
    crop = data.RandomCrop(5, padding=2)(x, np.random.default_rng(1))
    assert crop.shape == x.shape
    for i in range(6):  # each crop is a shifted window of the zero-padded image
        xp = np.pad(x[i], ((0, 0), (2, 2), (2, 2)))
        assert any(np.array_equal(crop[i], xp[:, a:a + 5, b:b + 5]) for a in range(5) for b in range(5))
    flipped = data.RandomHorizontalFlip(1.0)(x, rng)
    assert np.array_equal(flipped, x[..., ::-1])
    assert np.array_equal(data.RandomHorizontalFlip(0.0)(x, rng), x)
    norm = data.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])(x)
    assert np.allclose(norm, (x - 0.5) / 0.25)
    comp = data.Compose([data.RandomHorizontalFlip(1.0), data.Normalize([0.0], [2.0])])
    assert np.allclose(comp(x, rng), x[..., ::-1] / 2)
    with pytest.raises(ValueError, match="std"):
        data.Normalize([0.0], [0.0])
