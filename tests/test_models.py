"""Ready-made models: parameter counts (torchvision's where it has the model), output shapes,
a backward that fills every gradient, whole-model reference compositions on small inputs,
torchvision's state_dict keys, edge-only reorders, and Module.summary against hand counts."""
import io

import numpy as np
import pytest

from cnncore import _kernels, _random, models, nn
from conftest import assert_close
import refnet


@pytest.fixture(autouse=True)
def seeded():
    _random.manual_seed(0)


def randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def count(model):
    return sum(p.numel() for p in model.parameters())


def conv_params(cin, cout, k, bias=True, groups=1):
    return cout * (cin // groups) * k * k + (cout if bias else 0)


# ------------------------------------------------------------------------ parameter counts ---

@pytest.mark.parametrize("name,kwargs,expected", [
    ("resnet18", {}, 11_689_512),
    ("resnet50", {}, 25_557_032),
    ("mobilenet_v2", {}, 3_504_872),
])
def test_torchvision_parameter_counts(name, kwargs, expected):
    assert count(models.get_model(name, **kwargs)) == expected


def seed_cnn_count(num_classes, in_channels):
    n, c = 0, in_channels
    for w in (32, 64, 128):
        n += conv_params(c, w, 3) + 2 * w
        c = w
    return n + 2048 * 256 + 256 + 256 * num_classes + num_classes


def test_seed_cnn_parameter_counts():
    assert seed_cnn_count(10, 3) == 620_810
    assert count(models.seed_cnn(num_classes=10, in_channels=3)) == 620_810
    assert count(models.seed_cnn(num_classes=10, in_channels=1)) == 620_234
    assert count(models.seed_cnn(num_classes=100, in_channels=3)) == seed_cnn_count(100, 3)


def test_lenet5_parameter_count():
    expected = (conv_params(1, 6, 5) + conv_params(6, 16, 5) + 400 * 120 + 120 + 120 * 84 + 84
                + 84 * 10 + 10)
    assert expected == 61_706
    assert count(models.lenet5()) == 61_706


def test_resnet20_parameter_count():
    # CIFAR ResNet-20 with 1x1 conv + BN shortcuts where the shape changes (option B)
    stem = conv_params(3, 16, 3, False) + 32
    n = stem
    cin = 16
    for planes in (16, 32, 64):
        for i in range(3):
            n += conv_params(cin, planes, 3, False) + conv_params(planes, planes, 3, False) + 4 * planes
            if cin != planes:
                n += conv_params(cin, planes, 1, False) + 2 * planes
            cin = planes
    n += 64 * 10 + 10
    assert n == 272_474  # 269,722 of the option-A ResNet-20 + the two 1x1 shortcuts and their BN
    assert count(models.resnet20()) == n


# --------------------------------------------------------------------------- output shapes ---

SHAPE_CASES = [
    ("seed_cnn", {}, (2, 3, 8, 8), (2, 10)),
    ("seed_cnn", {}, (2, 3, 32, 32), (2, 10)),
    ("seed_cnn", {"in_channels": 1, "num_classes": 7}, (2, 1, 32, 32), (2, 7)),
    ("lenet5", {}, (2, 1, 28, 28), (2, 10)),
    ("resnet20", {}, (2, 3, 32, 32), (2, 10)),
    ("resnet18", {"small_input": True, "num_classes": 10}, (1, 3, 32, 32), (1, 10)),
    ("resnet18", {}, (1, 3, 64, 64), (1, 1000)),
    ("resnet50", {"small_input": True, "num_classes": 10}, (1, 3, 32, 32), (1, 10)),
    ("resnet50", {}, (1, 3, 64, 64), (1, 1000)),
    ("mobilenet_v2", {}, (2, 3, 32, 32), (2, 1000)),
    ("mobilenet_v2", {"small_input": True, "num_classes": 10, "width_mult": 0.5}, (2, 3, 32, 32), (2, 10)),
]


@pytest.mark.parametrize("name,kwargs,in_shape,out_shape", SHAPE_CASES,
                         ids=["%s-%s" % (c[0], c[2][-1]) for c in SHAPE_CASES])
def test_output_shape_and_backward_fills_every_grad(name, kwargs, in_shape, out_shape):
    model = models.get_model(name, **kwargs)
    x = randn(in_shape)
    y = model(x)
    assert y.shape == out_shape and y.dtype == np.float32 and np.isfinite(y).all()
    dx = model.backward(randn(out_shape, 1))
    assert dx.shape == in_shape and np.isfinite(dx).all()
    for n, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, n
        assert np.isfinite(p.grad).all(), n
    model.eval()
    assert model(x).shape == out_shape


def test_get_model_rejects_unknown_names():
    assert set(models.MODELS) == {"seed_cnn", "lenet5", "resnet20", "resnet18", "resnet50", "mobilenet_v2",
                                  "alexnet", "vgg16", "vgg16_bn", "googlenet", "efficientnet_b0"}
    with pytest.raises(ValueError, match="resnet18"):
        models.get_model("vgg19")


# ---------------------------------------------------------------- torchvision's key names ---

def test_resnet_keys_are_torchvisions():
    keys = list(models.resnet18().state_dict())
    assert keys[:7] == ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                        "bn1.num_batches_tracked", "layer1.0.conv1.weight"]
    assert "layer2.0.downsample.0.weight" in keys and "layer2.0.downsample.1.running_var" in keys
    assert "layer1.0.downsample.0.weight" not in keys
    assert keys[-2:] == ["fc.weight", "fc.bias"] and len(keys) == 122
    keys50 = models.resnet50().state_dict()
    assert "layer1.0.downsample.0.weight" in keys50 and "layer4.2.conv3.weight" in keys50
    assert keys50["layer1.0.conv2.weight"].shape == (64, 64, 3, 3)
    assert keys50["layer2.0.conv2.weight"].shape == (128, 128, 3, 3)  # stride on the 3x3 (v1.5)
    assert len(keys50) == 320  # 161 parameters + 3 buffers for each of 53 BatchNorms


def test_mobilenet_v2_keys_are_torchvisions():
    sd = models.mobilenet_v2().state_dict()
    assert [k for k in sd if k.startswith("classifier")] == ["classifier.1.weight", "classifier.1.bias"]
    assert sd["classifier.1.weight"].shape == (1000, 1280)
    assert sd["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert sd["features.1.conv.0.0.weight"].shape == (32, 1, 3, 3)
    assert sd["features.1.conv.1.weight"].shape == (16, 32, 1, 1)
    assert sd["features.2.conv.0.0.weight"].shape == (96, 16, 1, 1)
    assert sd["features.17.conv.2.weight"].shape == (320, 960, 1, 1)
    assert sd["features.18.0.weight"].shape == (1280, 320, 1, 1)
    assert len(sd) == 314
    prefixes = {k.split(".")[1] for k in sd if k.startswith("features.")}
    assert prefixes == {str(i) for i in range(19)}


# ---------------------------------------------- whole models against the float64 reference ---

def randomize_bn(model, seed=7):
    r = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = r.uniform(0.5, 1.5, c)
            m.bias.data = r.uniform(-0.5, 0.5, c)
            m.running_mean = r.uniform(-0.3, 0.3, c).astype(np.float32)
            m.running_var = r.uniform(0.5, 2.0, c).astype(np.float32)
    return model


REF_CASES = [
    ("seed_cnn", lambda: models.seed_cnn(), (2, 3, 16, 16)),
    ("lenet5", lambda: models.lenet5(), (2, 1, 28, 28)),
    ("resnet20", lambda: models.resnet20(), (2, 3, 16, 16)),
    ("resnet_bottleneck", lambda: models.ResNet(nn.Bottleneck, [1, 1, 1, 1], 10, small_input=False,
                                                widths=(8, 8, 16, 16)), (2, 3, 32, 32)),
    # 32x32, not 16x16: with a 1x1 last stage, training-mode BN over 2 values per channel cancels
    # catastrophically in float32 (the gradient through it is ~0 plus rounding noise)
    ("mobilenet_v2", lambda: models.mobilenet_v2(10, width_mult=0.25, small_input=True), (2, 3, 32, 32)),
]


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("make,shape", [c[1:] for c in REF_CASES], ids=[c[0] for c in REF_CASES])
def test_model_against_reference(make, shape, training):
    model = randomize_bn(make()).train(training)
    for m in model.modules():  # no reference for a random dropout mask
        if isinstance(m, nn.Dropout):
            m.eval()
    ref = refnet.build(model)
    x = randn(shape, 1)
    y = model(x)
    tol = 1e-3
    assert_close(y, ref.forward(x), tol, tol, "forward")
    dy = randn(y.shape, 2)

    def grad_atol(expected):
        # Training-mode BatchNorm's backward subtracts per-channel means of products: each gradient
        # element is a difference of sums whose rounding error scales with the whole array's
        # magnitude, not its own (MobileNetV2's first weight gradient: 3.6e-4 of the array's
        # largest value off the float64 reference, while perturbing the input by 1e-7 moves the
        # reference itself by 1.6e-4 of it). Eval mode keeps the plain per-element bound.
        return tol * max(1.0, float(np.abs(expected).max(initial=0.0))) if training else tol

    ref_dx = ref.backward(dy)
    assert_close(model.backward(dy), ref_dx, tol, grad_atol(ref_dx), "grad_input")
    assert sorted(n for n, _ in model.named_parameters()) == sorted(ref.grads)
    for n, p in model.named_parameters():
        assert_close(p.grad, ref.grads[n], tol, grad_atol(ref.grads[n]), n)
    state = model.state_dict()
    for k, v in ref.new_state.items():
        assert_close(state[k], v, tol, tol, k)


def test_models_reorder_only_at_their_edges(monkeypatch):
    calls = []
    to_b, to_n = _kernels.nchw_to_blocked, _kernels.blocked_to_nchw
    monkeypatch.setattr(_kernels, "nchw_to_blocked", lambda *a: calls.append("in") or to_b(*a))
    monkeypatch.setattr(_kernels, "blocked_to_nchw", lambda *a: calls.append("out") or to_n(*a))
    for model, shape in ((models.resnet20(), (2, 3, 16, 16)), (models.seed_cnn(), (2, 3, 16, 16)),
                         (models.mobilenet_v2(10, 0.25), (2, 3, 32, 32))):
        y = model(randn(shape))
        assert calls == ["in", "out"], type(model).__name__  # in at the stem, out at Flatten
        del calls[:]
        model.backward(np.ones_like(y))
        assert calls == ["in", "out"], type(model).__name__
        del calls[:]


def test_model_input_grad_false():
    model = models.resnet20()
    y = model(randn((1, 3, 8, 8)))
    assert model.backward(np.ones_like(y), input_grad=False) is None
    assert model.conv1.weight.grad is not None


def test_dropout_in_the_classifier_is_reproducible():
    model = models.seed_cnn()
    x = randn((4, 3, 8, 8))
    _random.manual_seed(3)
    a = model(x)
    _random.manual_seed(3)
    b = model(x)
    np.testing.assert_array_equal(a, b)
    model.eval()
    np.testing.assert_array_equal(model(x), model(x))


# ------------------------------------------------------------------------------ summary ---

def test_summary_hand_counts():
    net = nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(64 * 15 * 15, 10))
    out = io.StringIO()
    info = net.summary((1, 3, 32, 32), file=out)
    rows = info["rows"]
    assert [r[1] for r in rows] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert [r[0] for r in rows] == ["0", "1", "2", "3", "4", "5"]
    assert [r[2] for r in rows] == [(1, 64, 30, 30), (1, 64, 30, 30), (1, 64, 30, 30), (1, 64, 15, 15),
                                    (1, 14400), (1, 10)]
    assert rows[0][3] == 64 * (3 * 9 + 1) == 1_792
    assert rows[1][3] == 128 and rows[5][3] == 14400 * 10 + 10
    assert rows[0][4] == 2 * 1 * 64 * 30 * 30 * 3 * 3 * 3
    assert rows[5][4] == 2 * 14400 * 10
    total = 1_792 + 128 + 144_010
    assert info["total_params"] == info["trainable_params"] == total == count(net)
    assert info["flops"] == sum(r[4] for r in rows)
    text = out.getvalue()
    assert "Total params: {:,}".format(total) in text and "1,792" in text
    assert net.training and net[1].training  # the eval-mode pass restores the mode


@pytest.mark.parametrize("make", [models.seed_cnn, models.resnet20, lambda: models.mobilenet_v2(10),
                                  models.lenet5])
def test_summary_totals_match_parameters(make):
    model = make()
    shape = (1, 1, 28, 28) if isinstance(model, models.LeNet5) else (1, 3, 32, 32)
    info = model.summary(shape, file=io.StringIO())
    assert info["total_params"] == count(model)
    assert sum(r[3] for r in info["rows"]) == count(model)  # every parameter's layer was traced
    for name, kind, out_shape, params, flops in info["rows"]:
        if kind == "Conv2d":
            conv = dict(model.named_modules())[name]
            n, cout, oh, ow = out_shape
            kh, kw = conv.kernel_size
            assert flops == 2 * n * cout * oh * ow * (conv.in_channels // conv.groups) * kh * kw


def test_summary_of_seed_cnn_first_layer():
    info = models.seed_cnn().summary((3, 32, 32), file=io.StringIO())
    name, kind, shape, params, flops = info["rows"][0]
    assert (name, kind, shape, params) == ("features.0", "Conv2d", (1, 32, 32, 32), 32 * 28)
    assert flops == 2 * 32 * 32 * 32 * 3 * 9
    assert info["rows"][-1][2] == (1, 10)


def test_summary_restores_each_modules_own_mode():
    model = models.resnet20()
    model.bn1.eval()  # e.g. a frozen BatchNorm during fine-tuning
    model.summary((1, 3, 8, 8), file=io.StringIO())
    assert model.training and not model.bn1.training and model.layer1[0].bn1.training
    model.eval()
    model.summary((1, 3, 8, 8), file=io.StringIO())
    assert not any(m.training for m in model.modules())


def test_model_backward_misuse():
    for model, shape in ((models.resnet20(), (2, 3, 8, 8)), (models.seed_cnn(), (2, 3, 8, 8)),
                         (models.mobilenet_v2(10, 0.25), (2, 3, 32, 32))):
        with pytest.raises(RuntimeError, match="before forward"):
            model.backward(np.ones((2, 10), np.float32))
        y = model(randn(shape))
        with pytest.raises(ValueError, match="shape"):
            model.backward(np.ones((2, 11), np.float32))
