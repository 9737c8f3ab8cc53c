"""Training end to end: the seed CNN reaches >= 97% test accuracy on the bundled digits, a
resumed run ends at the same weights as an uninterrupted one, and the history plots."""
import numpy as np
import pytest

import cnncore
from cnncore import data, models, optim, train


def _setup(seed=0, n_train=None):
    cnncore.manual_seed(seed)
    x_train, y_train, x_test, y_test = data.train_test_split(*data.load_digits(), 0.2, seed=0)
    if n_train:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    model = models.seed_cnn(num_classes=10, in_channels=1)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loader = data.DataLoader(x_train, y_train, batch_size=64, seed=seed)
    return model, opt, loader, (x_test, y_test)


def test_seed_cnn_learns_digits():
    model, opt, loader, test = _setup()
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8)
    history = train.fit(model, opt, loader, epochs=8, val_data=test, scheduler=sched, progress=False, log=None)
    loss, acc = train.evaluate(model, *test)
    assert acc >= 0.97, "test accuracy %.4f" % acc
    assert history["val_acc"][-1] == pytest.approx(acc)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert len(history) == 8 and all(r["images_per_s"] > 0 for r in history.records)


def _weights(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def test_checkpoint_resume_is_exact(tmp_path):
    ck = str(tmp_path / "ck.pkl")
    model, opt, loader, test = _setup(seed=5, n_train=200)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    train.fit(model, opt, loader, epochs=3, scheduler=sched, progress=False, log=None)
    straight = _weights(model)

    model, opt, loader, test = _setup(seed=5, n_train=200)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    train.fit(model, opt, loader, epochs=1, scheduler=sched, checkpoint=ck, progress=False, log=None)
    cnncore.manual_seed(123)  # a fresh process would have another generator state
    model, opt, loader, test = _setup(seed=99, n_train=200)  # different init, restored from file
    loader.seed = 5
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    history = train.fit(model, opt, loader, epochs=3, scheduler=sched, resume=ck, progress=False, log=None)
    resumed = _weights(model)
    assert len(history) == 3
    for k in straight:
        assert np.array_equal(straight[k], resumed[k]), k


def test_checkpoint_errors(tmp_path):
    model, opt, _, _ = _setup(n_train=64)
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        train.load_checkpoint(str(tmp_path / "missing.pkl"), model, opt)


def test_fit_rejects_bad_arguments():
    model, opt, loader, _ = _setup(n_train=64)
    with pytest.raises(ValueError, match="epochs"):
        train.fit(model, opt, loader, epochs=-1, progress=False, log=None)
    with pytest.raises(ValueError, match="scheduler_interval"):
        train.fit(model, opt, loader, epochs=1, scheduler_interval="batch", progress=False, log=None)


def test_history_plot(tmp_path):
    pytest.importorskip("matplotlib")
    h = train.History([{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "val_loss": 1.1, "val_acc": 0.4},
                       {"epoch": 2, "train_loss": 0.5, "train_acc": 0.8, "val_loss": 0.6, "val_acc": 0.7}])
    path = h.plot(str(tmp_path / "curves.png"))
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_cli_train_runs(capsys):
    from cnncore.__main__ import main

    rc = main(["train", "--epochs", "1", "--no-progress", "--batch-size", "128"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "final test accuracy" in out and "images/s" in out
