"""cnncore.onnx.export: every model and layer runs in ONNX Runtime with cnncore's eval output;
cnncore.onnx.load of the exported file gives the model back (values and state_dict keys)."""
import io
import os

import numpy as np
import pytest

import cnncore
from cnncore import functional as F
from cnncore import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from cnncore.onnx import export, load  # noqa: E402
from graph_layers import NEW_LAYERS  # noqa: E402

RNG = np.random.default_rng(1)
SIZE = {"lenet5": 28, "alexnet": 63, "googlenet": 32, "efficientnet_b0": 32, "vgg16": 32, "vgg16_bn": 32}
BIG = {"alexnet", "vgg16", "vgg16_bn", "resnet50"}  # 10-30 s each to construct: CNNCORE_TEST_BIG=1
MODELS = sorted(set(cnncore.models.MODELS) - (set() if os.environ.get("CNNCORE_TEST_BIG") else BIG))


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _randomize_norms(model):
    """Batch-norm statistics and affine parameters away from their init, so outputs depend on them."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean = RNG.normal(0, 0.1, c).astype(np.float32)
            m.running_var = RNG.uniform(0.5, 1.5, c).astype(np.float32)
            m.weight.data = RNG.uniform(0.5, 1.5, c).astype(np.float32)
            m.bias.data = RNG.normal(0, 0.1, c).astype(np.float32)
    return model


def _session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _check(model, shape, batches=(1, 2), **kwargs):
    """Export at batch 1; ONNX Runtime at each batch size equals cnncore's eval output."""
    model.eval()
    f = io.BytesIO()
    proto = export(model, _x(1, *shape), f, **kwargs)
    onnx.checker.check_model(onnx.load_from_string(f.getvalue()))
    sess = _session(proto)
    for b in batches:
        x = _x(b, *shape)
        want = model(x).numpy()
        got = sess.run(None, {"input": x})[0]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(want).max())))
    return proto


@pytest.mark.parametrize("name", MODELS)
def test_every_model_runs_in_onnx_runtime(name):
    model = _randomize_norms(cnncore.models.get_model(name, num_classes=7))
    c = model._input_channels() or 3
    _check(model, (c, SIZE.get(name, 16), SIZE.get(name, 16)))


def _residual():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):
            return F.relu(self.conv(x) + x) * 0.5 - x / 3.0

    return Residual()


def _functional(fn):
    class Fn(nn.Module):
        def forward(self, x):
            return fn(x)

    return Fn()


LAYERS = {
    "conv": (nn.Conv2d(4, 6, 3), (4, 9, 9)),
    "conv_stride_pad_dilation": (nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2), (4, 11, 10)),
    "conv_groups_nobias": (nn.Conv2d(4, 8, (3, 1), padding=(1, 0), groups=2, bias=False), (4, 7, 7)),
    "conv_depthwise": (nn.Conv2d(4, 4, 3, padding=1, groups=4), (4, 7, 7)),
    "batchnorm": (_randomize_norms(nn.BatchNorm2d(4)), (4, 5, 5)),
    "batchnorm_no_affine": (nn.BatchNorm2d(4, affine=False, momentum=None), (4, 5, 5)),
    "linear": (nn.Sequential(nn.Flatten(), nn.Linear(4 * 3 * 3, 5)), (4, 3, 3)),
    "linear_nobias": (nn.Sequential(nn.Flatten(), nn.Linear(4 * 3 * 3, 5, bias=False)), (4, 3, 3)),
    "maxpool": (nn.MaxPool2d(3, stride=2, padding=1), (4, 9, 9)),
    "maxpool_ceil": (nn.MaxPool2d(2, ceil_mode=True), (4, 7, 7)),
    "maxpool_dilation": (nn.MaxPool2d(2, stride=1, dilation=2), (4, 7, 7)),
    "avgpool": (nn.AvgPool2d(3, stride=2, padding=1), (4, 9, 9)),
    "avgpool_exclude_pad": (nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (4, 9, 9)),
    "avgpool_ceil": (nn.AvgPool2d(2, ceil_mode=True), (4, 8, 8)),
    "adaptive_avg_global": (nn.AdaptiveAvgPool2d(1), (4, 5, 6)),
    "adaptive_avg_2x2": (nn.AdaptiveAvgPool2d((2, 2)), (4, 6, 4)),
    "adaptive_avg_expand": (nn.AdaptiveAvgPool2d((3, 3)), (4, 1, 1)),
    "adaptive_max_global": (nn.AdaptiveMaxPool2d(1), (4, 5, 6)),
    "adaptive_max_2x2": (nn.AdaptiveMaxPool2d(2), (4, 6, 4)),
    "relu": (nn.ReLU(), (4, 3, 3)), "relu6": (nn.ReLU6(), (4, 3, 3)), "sigmoid": (nn.Sigmoid(), (4, 3, 3)),
    "tanh": (nn.Tanh(), (4, 3, 3)), "silu": (nn.SiLU(), (4, 3, 3)), "hardswish": (nn.Hardswish(), (4, 3, 3)),
    "hardsigmoid": (nn.Hardsigmoid(), (4, 3, 3)),
    "dropout_identity_flatten": (nn.Sequential(nn.Dropout(0.3), nn.Dropout2d(0.3), nn.Identity(), nn.Flatten()),
                                 (4, 3, 3)),
    "stochastic_depth": (nn.Sequential(nn.StochasticDepth(0.2, "row"), nn.ReLU()), (4, 3, 3)),
    "basic_block": (nn.BasicBlock(4, 8, stride=2, downsample=nn.Sequential(nn.Conv2d(4, 8, 1, stride=2, bias=False),
                                                                             nn.BatchNorm2d(8))), (4, 8, 8)),
    "bottleneck": (nn.Bottleneck(16, 4), (16, 6, 6)),
    "inverted_residual": (nn.InvertedResidual(8, 8, 1, 6), (8, 6, 6)),
    "residual_custom": (_residual(), (4, 5, 5)),
    "leaky_relu": (_functional(lambda x: F.leaky_relu(x, 0.2)), (4, 3, 3)),
    "softmax_logsoftmax": (_functional(lambda x: F.softmax(x.flatten(1), 1) + F.log_softmax(x.flatten(1), 1)),
                           (4, 3, 3)),
    "gelu": (_functional(lambda x: F.gelu(x)), (4, 3, 3)),
    "mean_sum_pow": (_functional(lambda x: x.mean((2, 3)) + (x ** 2).sum((1, 2)).reshape(x.shape[0], -1)),
                     (4, 4, 4)),
    "global_mean_keepdim": (_functional(lambda x: x * x.mean((2, 3), keepdim=True)), (4, 3, 3)),
    "cat": (_functional(lambda x: cnncore.cat([x, F.relu(x)], 1)), (4, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_runs_in_onnx_runtime(name):
    model, shape = LAYERS[name]
    _check(model, shape)


# the cnncore layer each new layer's graph op loads back as (trainable where it has parameters)
_LOADS_AS = {"GroupNormalization": nn.GroupNorm, "LayerNormalization": nn.LayerNorm,
             "InstanceNormalization": nn.InstanceNorm2d, "ConvTranspose": nn.ConvTranspose2d}


@pytest.mark.parametrize("name", sorted(NEW_LAYERS))
def test_new_layers_run_in_onnx_runtime_and_load_back(name):
    """At the lowest opset that spells the layer (GroupNorm and Mish as primitive ops before
    opsets 21 and 18) and at opset 21: ONNX Runtime gives cnncore's eval output at batches 1 and
    2; cnncore.onnx.load gives it too, with the model's parameters as trainable ones."""
    make, shape, ops, low = NEW_LAYERS[name]
    model = nn.Sequential(make()).eval()  # parameters under a path ("0.weight"), as in any network
    for opset in (low, 21):
        proto = _check(model, shape, opset=opset)
        back = load(proto)
        x = _x(3, *shape)
        np.testing.assert_allclose(back(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)
        params = dict(back.named_parameters())
        for key, p in model.named_parameters():
            np.testing.assert_array_equal(params[key].data, p.data)
            assert params[key].requires_grad
        wanted = {_LOADS_AS[op] for op in ops if op in _LOADS_AS}
        assert wanted <= {type(m) for m in back.modules()}


def test_new_layers_need_their_opsets():
    with pytest.raises(ValueError, match="opset 19"):
        export(nn.CircularPad2d(1), _x(1, 2, 3, 3), None, opset=18)
    with pytest.raises(ValueError, match="LayerNormalization.*opset 17"):
        export(nn.LayerNorm(3), _x(1, 2, 3, 3), None, opset=16)
    ops = [n.op_type for n in export(nn.GroupNorm(2, 4), _x(1, 4, 3, 3), None, opset=17).graph.node]
    assert ops == ["Reshape", "InstanceNormalization", "Reshape", "Unsqueeze", "Unsqueeze", "Mul", "Add"]
    assert [n.op_type for n in export(nn.GroupNorm(2, 4), _x(1, 4, 3, 3), None, opset=21).graph.node] == \
        ["GroupNormalization"]
    assert [n.op_type for n in export(nn.Mish(), _x(1, 4, 3, 3), None, opset=17).graph.node] == \
        ["Softplus", "Tanh", "Mul"]
    resize = export(nn.Upsample(size=(5, 4)), _x(1, 4, 3, 3), None, opset=17).graph.node
    assert [n.op_type for n in resize] == ["Shape", "Concat", "Resize"]  # sizes for any batch


def test_new_layers_fine_tune_after_load():
    """Loaded back (opset 17: Mish as Softplus/Tanh/Mul, GroupNorm as the fused pattern,
    PixelUnshuffle as Reshape/Transpose/Reshape), every parameter gets a gradient and SGD lowers
    the loss."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect"), nn.GroupNorm(2, 8), nn.Mish(),
                          nn.PixelUnshuffle(2), nn.InstanceNorm2d(32, affine=True),
                          nn.Upsample(scale_factor=2, mode="bilinear"), nn.ConvTranspose2d(32, 4, 2, 2), nn.ELU(),
                          nn.Flatten(), nn.Linear(4 * 16 * 16, 3)).eval()
    back = load(export(model, _x(1, 3, 8, 8), None, opset=17)).train()
    assert set(dict(back.named_parameters())) == set(dict(model.named_parameters()))
    x, y = _x(4, 3, 8, 8), np.array([0, 1, 2, 0])
    opt = cnncore.optim.SGD(back.parameters(), lr=0.01)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(back(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.numpy()))
    assert all(p.grad is not None for p in back.parameters())
    assert losses[2] < losses[0], losses


def test_unet_example_runs_in_onnx_runtime_and_loads_back():
    """examples/unet.py's network (reflect-padded conv, ConvTranspose2d, bilinear Upsample, skip
    concatenations) with trained-looking batch norms."""
    import sys

    examples = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
    if examples not in sys.path:
        sys.path.insert(0, examples)
    import unet

    model = _randomize_norms(unet.UNet(width=4))
    proto = _check(model, (1, 16, 16))
    x = _x(2, 1, 16, 16)
    np.testing.assert_allclose(load(proto)(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)


def test_names_opsets_and_static_batch():
    model = _randomize_norms(cnncore.models.seed_cnn())
    proto = _check(model, (3, 16, 16), opset=13)
    assert proto.opset_import[0].version == 13
    init = {t.name for t in proto.graph.initializer}
    assert {"features.0.weight", "features.1.running_var", "classifier.4.bias"} <= init
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    static = export(model, _x(3, 3, 16, 16), None, dynamic_batch=False, opset=18,
                    input_names=["images"], output_names=["logits"])
    dims = static.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [3, 3, 16, 16]
    assert static.graph.input[0].name == "images" and static.graph.output[0].name == "logits"
    x = _x(3, 3, 16, 16)
    np.testing.assert_allclose(_session(static).run(None, {"images": x})[0], model(x).numpy(), rtol=1e-4, atol=1e-5)
    _check(_functional(lambda x: F.gelu(x)), (4, 3, 3), opset=20)


def test_trained_tutorial_cnn_gives_the_same_predictions(tmp_path):
    model = cnncore.models.seed_cnn(num_classes=4)
    opt = cnncore.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = _x(16, 3, 16, 16), RNG.integers(0, 4, 16)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(3):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    model.eval()
    path = tmp_path / "seed.onnx"
    export(model, x[:1], str(path))
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    want = model(x).numpy()
    np.testing.assert_array_equal(got.argmax(1), want.argmax(1))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    back = load(str(path))  # and back into cnncore: same values, same state_dict keys
    np.testing.assert_allclose(back(x).numpy(), want, rtol=1e-5, atol=1e-6)
    assert set(back.state_dict()) == set(model.state_dict())
    back.load_state_dict(model.state_dict())


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="opset"):
        export(nn.ReLU(), _x(1, 2, 3, 3), None, opset=7)
    with pytest.raises(TypeError, match="model"):
        export("resnet", _x(1, 2, 3, 3), None)
    with pytest.raises(ValueError, match="input_names"):
        export(nn.ReLU(), _x(1, 2, 3, 3), None, input_names=["a", "b"])
