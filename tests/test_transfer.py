"""Transfer learning: cnncore.save / cnncore.load (.npz, .safetensors, torch.save'd state_dicts)
and fine-tuning (a new head, a frozen body, then unfrozen) on the bundled digits."""
import numpy as np
import pytest

import cnncore
from cnncore import data, models, nn, optim


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _trained_bn_model():
    cnncore.manual_seed(0)
    m = models.resnet20(num_classes=4)
    m(_x((4, 3, 8, 8)))  # a training-mode forward: running statistics and num_batches_tracked move
    m.eval()
    return m


@pytest.mark.parametrize("ext", [".npz", ".safetensors"])
def test_save_load_round_trip(tmp_path, ext):
    if ext == ".safetensors":
        pytest.importorskip("safetensors")
    m = _trained_bn_model()
    state = m.state_dict()
    path = tmp_path / ("w" + ext)
    cnncore.save(state, path)
    back = cnncore.load(str(path))
    assert list(back) == list(state)  # the key order too
    for k, v in state.items():
        assert back[k].dtype == np.asarray(v).dtype, k
        np.testing.assert_array_equal(back[k], v)
    assert back["bn1.num_batches_tracked"].dtype == np.int64 and int(back["bn1.num_batches_tracked"]) == 1
    m2 = models.resnet20(num_classes=4)
    m2.load_state_dict(back)
    m2.eval()
    x = _x((2, 3, 8, 8), 1)
    np.testing.assert_array_equal(m2(x).numpy(), m(x).numpy())


def test_save_load_bad_input(tmp_path):
    state = {"w": np.zeros(3, np.float32)}
    with pytest.raises(ValueError, match="path.*npz"):
        cnncore.save(state, tmp_path / "w.bin")
    with pytest.raises(TypeError, match="state_dict"):
        cnncore.save([1, 2], tmp_path / "w.npz")
    with pytest.raises(TypeError, match=r"state_dict\['w'\].*object"):
        cnncore.save({"w": np.array([object()])}, tmp_path / "w.npz")
    with pytest.raises(TypeError, match="path"):
        cnncore.save(state, 3)
    with pytest.raises(FileNotFoundError, match="path"):
        cnncore.load(tmp_path / "missing.npz")


def test_load_reads_a_torch_checkpoint_of_a_torchvision_model(tmp_path):
    torch = pytest.importorskip("torch")
    from cnncore.bench import torch_table as torch_twins

    torch.manual_seed(0)
    tm = torch_twins.t_efficientnet_b0(7).eval()
    path = tmp_path / "effnet.pth"
    torch.save(tm.state_dict(), path)
    model = models.efficientnet_b0(num_classes=7)
    model.load_state_dict(cnncore.load(path))
    model.eval()
    x = _x((2, 3, 32, 32), 2)
    with torch.no_grad():
        want = tm(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x).numpy(), want, rtol=1e-4, atol=1e-5)
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(ValueError, match="state_dict"):
        cnncore.load(tmp_path / "list.pth")


# --------------------------------------------------------------------------- fine-tuning ---

def _steps(model, params, x, y, steps, seed):
    opt = optim.Adam(params, lr=2e-3)
    crit = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(steps):
        idx = rng.choice(len(x), min(32, len(x)), replace=False)
        opt.zero_grad()
        crit(model(x[idx]), y[idx]).backward()
        opt.step()
    return opt


def _accuracy(model, x, y):
    model.eval()
    with cnncore.no_grad():
        return float((model(x).numpy().argmax(1) == y).mean())


def test_fine_tuning_a_pretrained_body_beats_training_from_scratch(tmp_path):
    """Pretrain on digits 0-4; fine-tune a new head on 5-9 (40 labelled images, 10 steps) with the
    body frozen; the same steps from scratch do worse (measured: 0.56 against 0.42 test accuracy).
    Then unfreeze and train on."""
    x, y = data.load_digits()
    a, b = y < 5, y >= 5
    xa, ya = x[a], y[a]
    xb, yb = x[b], y[b] - 5
    xb_train, yb_train, xb_test, yb_test = xb[:40], yb[:40], xb[60:], yb[60:]

    cnncore.manual_seed(0)
    pre = models.seed_cnn(num_classes=5, in_channels=1)
    _steps(pre, pre.parameters(), xa, ya, 60, 0)
    cnncore.save(pre.state_dict(), tmp_path / "pre.npz")

    cnncore.manual_seed(1)
    tuned = models.seed_cnn(num_classes=5, in_channels=1)
    tuned.load_state_dict(cnncore.load(tmp_path / "pre.npz"))
    tuned.classifier[4] = nn.Linear(256, 5)  # a new head
    for p in tuned.features.parameters():
        p.requires_grad = False
    body = {k: np.array(v) for k, v in tuned.features.state_dict().items()}
    opt = _steps(tuned, tuned.parameters(), xb_train, yb_train, 10, 1)
    frozen = list(tuned.features.parameters())
    assert all(p.grad is None for p in frozen)  # the frozen body's weight gradients never ran
    assert all(p not in opt.state for p in frozen)  # and the optimizer keeps no state for them
    for k, v in tuned.features.state_dict().items():
        if not k.endswith(("running_mean", "running_var", "num_batches_tracked")):
            np.testing.assert_array_equal(v, body[k], err_msg=k)

    cnncore.manual_seed(1)
    scratch = models.seed_cnn(num_classes=5, in_channels=1)
    _steps(scratch, scratch.parameters(), xb_train, yb_train, 10, 1)

    acc_tuned, acc_scratch = _accuracy(tuned, xb_test, yb_test), _accuracy(scratch, xb_test, yb_test)
    assert acc_tuned > acc_scratch + 0.05, (acc_tuned, acc_scratch)

    for p in tuned.features.parameters():  # unfreeze: the body trains again
        p.requires_grad = True
    _steps(tuned, tuned.parameters(), xb_train, yb_train, 2, 2)
    assert not np.array_equal(tuned.features[0].weight.data, body["0.weight"])


def test_train_command_fine_tunes_from_pretrained_weights(tmp_path, capsys):
    from cnncore.__main__ import main

    cnncore.manual_seed(0)
    pre = models.seed_cnn(num_classes=3, in_channels=1)  # another task: a 3-class head
    cnncore.save(pre.state_dict(), tmp_path / "pre.npz")
    rc = main(["train", "--epochs", "1", "--no-progress", "--batch-size", "128", "--pretrained",
               str(tmp_path / "pre.npz"), "--freeze-body"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "kept initialized: classifier.4.bias, classifier.4.weight" in out
    assert "training classifier.4 only" in out and "final test accuracy" in out


def test_train_command_upsamples_digits_for_models_that_need_larger_images():
    assert models.MIN_INPUT_SIZE["alexnet"] == 63  # 64 and above: AlexNet's last max pool has an input
    m = models.alexnet(num_classes=10, in_channels=1)
    m.eval()
    assert m(np.zeros((1, 1, 64, 64), np.float32)).shape == (1, 10)
    with pytest.raises(ValueError):
        m(np.zeros((1, 1, 62, 62), np.float32))
    assert models.head_of(m) == "classifier.6"
    assert models.head_of(models.efficientnet_b0()) == "classifier.1"
    assert models.head_of(models.googlenet(aux_logits=False)) == "fc"
