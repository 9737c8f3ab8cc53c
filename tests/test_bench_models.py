"""The tutorial-table models in `python -m cnncore bench`: their rows (training step with
GoogLeNet's aux heads, inference after batch-norm calibration) beside their PyTorch twins, and
`bench --profile` of them (default image sizes their pooling allows, GoogLeNet's tuple output).
Speed is never asserted here."""
import numpy as np
import pytest

import cnncore
from cnncore import models
from cnncore.bench import profile as _bench_profile
from cnncore.bench import suite as _bench_suite


def test_table_models_have_train_and_infer_rows():
    for name in _bench_suite.TABLE_MODELS:
        modes = {s.mode for s in _bench_suite.SUITE if s.group == "models" and s.model == name}
        assert modes == {"train", "infer"}, name


def test_profile_default_image_is_one_the_model_accepts():
    assert _bench_profile.default_image("alexnet") == (3, 63, 63)
    assert _bench_profile.default_image("googlenet") == (3, 32, 32)
    assert _bench_profile.default_image("resnet18") == (3, 224, 224)
    p = _bench_profile.profile("alexnet", batch=1, steps=1, warmup=0, retries=0, model=models.alexnet(num_classes=10))
    assert p["image"] == [3, 63, 63] and p["layers"][-1]["name"] == "classifier.6"


def test_profile_googlenet_trains_its_aux_heads():
    cnncore.manual_seed(0)
    model = models.googlenet(num_classes=10)
    p = _bench_profile.profile("googlenet", batch=2, steps=1, warmup=0, retries=0, model=model)
    names = {r["name"] for r in p["layers"]}
    assert "aux1.fc2" in names and "aux2.fc2" in names and "fc" in names
    assert model.aux1.fc2.weight.grad is not None and np.abs(model.aux1.fc2.weight.grad).sum() > 0


def test_calibrate_batch_norm_sets_running_stats_from_one_batch():
    cnncore.manual_seed(0)
    model = models.seed_cnn().eval()
    x = np.random.default_rng(0).standard_normal((4, 3, 16, 16)).astype(np.float32)
    model.features[1].momentum = 0.25
    _bench_suite.calibrate_batch_norm(model, x)
    assert not model.training and model.features[1].momentum == 0.25
    conv_out = np.asarray(model.features[0](x))
    np.testing.assert_allclose(model.features[1].running_mean, conv_out.mean((0, 2, 3)), rtol=1e-4, atol=1e-5)
    n = conv_out.size / conv_out.shape[1]
    np.testing.assert_allclose(model.features[1].running_var, conv_out.var((0, 2, 3)) * n / (n - 1), rtol=1e-3)


@pytest.mark.parametrize("name", ["googlenet", "efficientnet_b0"])
def test_table_model_rows_match_their_torch_twins(name):
    torch = pytest.importorskip("torch")
    spec = _bench_suite.ModelSpec(name, name, "infer", 2, image=(3, 32, 32))
    (row,) = spec.build(2, with_numpy=False, torch=torch)
    ours, theirs = np.asarray(row.cnncore()), row.torch().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4 * np.abs(theirs).max())
    spec = _bench_suite.ModelSpec(name, name, "train", 2, image=(3, 32, 32))
    (row,) = spec.build(2, with_numpy=False, torch=torch)
    assert np.isfinite(float(row.cnncore())) and np.isfinite(row.torch().item())


def test_model_table_depth_counts_weight_layers_on_the_longest_path():
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "model_table.py")
    spec = importlib.util.spec_from_file_location("model_table", path)
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    assert table.depth(models.seed_cnn().eval(), (1, 3, 32, 32)) == 5  # 3 convolutions, 2 linear
    # 19 convolutions and the fc on the main path; the 1x1 shortcut convolutions are beside it
    assert table.depth(models.resnet20().eval(), (1, 3, 32, 32)) == 20
