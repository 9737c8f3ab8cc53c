"""Map-style datasets and the torch-style DataLoader (samplers, collate_fn, drop_last, worker
processes), random_split, and the image transforms, against references and torch."""
import numpy as np
import pytest

import reference as R
import cnncore
from cnncore import data


def _ds(n=23):
    x = np.arange(n * 2 * 3 * 3, dtype=np.float32).reshape(n, 2, 3, 3)
    return data.TensorDataset(x, np.arange(n) % 4), x


def test_tensor_dataset_subset_random_split():
    ds, x = _ds()
    xi, yi = ds[5]
    np.testing.assert_array_equal(xi, x[5]) and yi == 1
    cnncore.manual_seed(0)
    parts = data.random_split(ds, [10, 8, 5])
    assert [len(p) for p in parts] == [10, 8, 5]
    idx = sorted(i for p in parts for i in p.indices)
    assert idx == list(range(23))
    np.testing.assert_array_equal(parts[1][0][0], x[parts[1].indices[0]])
    fr = data.random_split(ds, [0.5, 0.3, 0.2], generator=np.random.default_rng(1))
    torch = pytest.importorskip("torch")
    tl = [len(p) for p in torch.utils.data.random_split(range(23), [0.5, 0.3, 0.2])]
    assert [len(p) for p in fr] == tl


def test_loader_batches_drop_last_and_len():
    ds, x = _ds()
    dl = data.DataLoader(ds, batch_size=5)
    batches = list(dl)
    assert len(dl) == len(batches) == 5
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)
    assert batches[-1][0].shape == (3, 2, 3, 3) and batches[0][1].dtype == np.int64
    dl = data.DataLoader(ds, batch_size=5, drop_last=True, pin_memory=True)
    assert len(dl) == len(list(dl)) == 4


def test_loader_shuffle_is_a_permutation_reproducible_from_manual_seed():
    ds, x = _ds()
    cnncore.manual_seed(4)
    a = np.concatenate([b[1] for b in data.DataLoader(ds, batch_size=4, shuffle=True)])
    first = [b[0] for b in data.DataLoader(ds, batch_size=23, shuffle=True)][0]
    cnncore.manual_seed(4)
    b = np.concatenate([b[1] for b in data.DataLoader(ds, batch_size=4, shuffle=True)])
    np.testing.assert_array_equal(a, b)
    assert sorted(first[:, 0, 0, 0] // 18) == list(range(23))


def test_sampler_batch_sampler_collate_fn_and_no_batching():
    ds, x = _ds()
    dl = data.DataLoader(ds, batch_size=3, sampler=[4, 2, 0, 7])
    np.testing.assert_array_equal(np.concatenate([b[0] for b in dl]), x[[4, 2, 0, 7]])
    bs = data.BatchSampler(data.SequentialSampler(ds), 10, drop_last=False)
    dl = data.DataLoader(ds, batch_sampler=bs, collate_fn=lambda samples: len(samples))
    assert list(dl) == [10, 10, 3] and len(dl) == 3
    one = list(data.DataLoader(ds, batch_size=None))
    assert len(one) == 23 and one[3][0].shape == (2, 3, 3)


class Squares:
    def __len__(self):
        return 17

    def __getitem__(self, i):
        if i == 99:
            raise KeyError("no sample 99")
        return {"x": np.full((2,), i, np.float32), "y": i * i, "name": "s%d" % i}


def test_default_collate_structures_match_torch():
    batch = [Squares()[i] for i in range(3)]
    out = data.default_collate(batch)
    np.testing.assert_array_equal(out["x"], [[0, 0], [1, 1], [2, 2]])
    assert out["y"].dtype == np.int64 and out["name"] == ["s0", "s1", "s2"]
    torch = pytest.importorskip("torch")
    t = torch.utils.data.default_collate(batch)
    np.testing.assert_array_equal(t["x"].numpy(), out["x"])
    np.testing.assert_array_equal(t["y"].numpy(), out["y"])
    nested = [(np.ones(2), 1.5, [1, 2]) for _ in range(2)]
    ours, theirs = data.default_collate(nested), torch.utils.data.default_collate(nested)
    assert ours[1].dtype == np.float64 and theirs[1].dtype == torch.float64
    np.testing.assert_array_equal(ours[2][1], theirs[2][1].numpy())


def test_workers_give_the_same_batches_in_order():
    ds = Squares()
    serial = list(data.DataLoader(ds, batch_size=4))
    parallel = list(data.DataLoader(ds, batch_size=4, num_workers=2, prefetch_factor=1))
    assert len(parallel) == len(serial) == 5
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a["x"], b["x"])
        assert a["name"] == b["name"]


def test_worker_error_is_raised_in_the_main_process():
    dl = data.DataLoader(Squares(), batch_size=2, sampler=[0, 1, 99], num_workers=2)
    with pytest.raises(RuntimeError, match="KeyError"):
        list(dl)


def _seen_worker(i):
    info = data.get_worker_info()
    return np.array([info.id, info.num_workers])


class WhoAmI:
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return _seen_worker(i)


def test_worker_info_and_round_robin_assignment():
    assert data.get_worker_info() is None
    out = list(data.DataLoader(WhoAmI(), batch_size=2, num_workers=3))
    assert [int(b[0, 0]) for b in out] == [0, 1, 2] and all(int(b[0, 1]) == 3 for b in out)


# -------------------------------------------------------------------------- transforms ---

def test_to_tensor():
    img = np.random.default_rng(0).integers(0, 256, (5, 4, 3)).astype(np.uint8)
    np.testing.assert_allclose(data.ToTensor()(img), R.to_tensor(img), rtol=1e-6)
    assert data.ToTensor()(img[None]).shape == (1, 3, 5, 4)
    assert data.ToTensor()(img[:, :, 0]).shape == (1, 5, 4)


def test_resize_against_reference_and_torch():
    from cnncore._transforms import resize_bilinear

    img = np.random.default_rng(1).random((2, 5, 7)).astype(np.float32)
    for size in ((9, 4), (5, 7), (3, 11)):
        ours = resize_bilinear(img, size)
        np.testing.assert_allclose(ours, R.resize_bilinear(img, size), rtol=1e-5, atol=1e-6)
        torch = pytest.importorskip("torch")
        t = torch.nn.functional.interpolate(torch.tensor(img[None]), size=size, mode="bilinear", align_corners=False)
        np.testing.assert_allclose(ours, t[0].numpy(), rtol=1e-5, atol=1e-6)


def test_random_resized_crop():
    img = np.random.default_rng(2).random((3, 12, 12)).astype(np.float32)
    full = data.RandomResizedCrop(6, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    np.testing.assert_allclose(full(img), R.resize_bilinear(img, (6, 6)), rtol=1e-5, atol=1e-6)
    t = data.RandomResizedCrop((5, 4))
    rng = np.random.default_rng(0)
    for _ in range(20):
        i, j, h, w = t.get_params(12, 12, rng)
        assert 0 <= i and i + h <= 12 and 0 <= j and j + w <= 12
        assert 0.08 * 144 * 0.7 <= h * w <= 144
    assert t(np.stack([img, img]), rng).shape == (2, 3, 5, 4)


def test_color_jitter_brightness_and_contrast():
    img = np.random.default_rng(3).random((3, 6, 6)).astype(np.float32) * 0.5
    out = data.ColorJitter(brightness=0.5)(img, np.random.default_rng(0))
    ratio = out / img
    assert np.allclose(ratio, ratio.flat[0], rtol=1e-5) and 0.5 <= ratio.flat[0] <= 1.5
    rng = np.random.default_rng(5)
    out = data.ColorJitter(contrast=(0.3, 0.3))(img, rng)
    np.testing.assert_allclose(out, R.adjust_contrast(img, 0.3), rtol=1e-5, atol=1e-6)


def test_random_rotation_right_angles():
    img = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    rots = [np.rot90(img, k, axes=(1, 2)) for k in range(4)]
    t = data.RandomRotation(180)
    assert t.angles == [-180, -90, 0, 90, 180]
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(30):
        out = t(img, rng)
        k = [i for i, r in enumerate(rots) if np.array_equal(out, r)]
        assert len(k) == 1
        seen.add(k[0])
    assert seen == {0, 1, 2, 3}
    wide = np.ones((1, 2, 4), np.float32)
    out = data.RandomRotation((90, 90))(wide)
    np.testing.assert_array_equal(out, [[[0, 1, 1, 0], [0, 1, 1, 0]]])


def test_compose_mixes_rng_and_plain_callables():
    img = (np.random.default_rng(4).random((6, 6, 3)) * 255).astype(np.uint8)
    t = data.Compose([data.ToTensor(), lambda x: x * 2, data.RandomRotation(90)])
    out = t(img, np.random.default_rng(0))
    assert out.shape == (3, 6, 6) and out.max() <= 2.0


class ConvFeatures:
    """A dataset whose samples run cnncore kernels (in the worker processes)."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((8, 3, 10, 10)).astype(np.float32)
        self.w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        from cnncore import functional as F

        return F.conv2d(self.x[i:i + 1], self.w, padding=1)[0]


def test_workers_run_cnncore_kernels_after_the_parent_did():
    from cnncore import functional as F

    ds = ConvFeatures()
    F.conv2d(np.ones((2, 16, 32, 32), np.float32), np.ones((16, 16, 3, 3), np.float32))  # parent's threads exist
    serial = np.concatenate(list(data.DataLoader(ds, batch_size=3)))
    parallel = np.concatenate(list(data.DataLoader(ds, batch_size=3, num_workers=2)))
    np.testing.assert_array_equal(serial, parallel)
