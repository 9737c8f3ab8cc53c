"""cnncore.onnx.load of ONNX files written by PyTorch's exporter (the tutorial CNN, ResNet-18,
MobileNetV2, EfficientNet-B0): the loaded module gives ONNX Runtime's output and fine-tunes."""
import io
import warnings

import numpy as np
import pytest

import cnncore
from cnncore import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
from cnncore.onnx import UnsupportedOperatorError, load  # noqa: E402

tnn = torch.nn
RNG = np.random.default_rng(2)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def t_resnet18(num_classes=10):
    from cnncore.bench.torch_twins import _basic_block

    block = _basic_block()

    class ResNet18(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = tnn.BatchNorm2d(64)
            self.relu = tnn.ReLU(inplace=True)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
            layers, inplanes = [], 64
            for i, planes in enumerate((64, 128, 256, 512)):
                layers.append(tnn.Sequential(block(inplanes, planes, 1 if i == 0 else 2), block(planes, planes)))
                inplanes = planes
            self.layers = tnn.Sequential(*layers)
            self.fc = tnn.Linear(512, num_classes)

        def forward(self, x):
            x = self.layers(self.maxpool(self.relu(self.bn1(self.conv1(x)))))
            return self.fc(torch.flatten(tnn.functional.adaptive_avg_pool2d(x, 1), 1))

    return ResNet18()


def t_mobilenet_v2(num_classes=10):
    def cba(inp, oup, k=3, stride=1, groups=1, act=True):
        layers = [tnn.Conv2d(inp, oup, k, stride, (k - 1) // 2, groups=groups, bias=False), tnn.BatchNorm2d(oup)]
        return layers + ([tnn.ReLU6(inplace=True)] if act else [])

    class InvertedResidual(tnn.Module):
        def __init__(self, inp, oup, stride, t):
            super().__init__()
            hidden = inp * t
            self.use_res = stride == 1 and inp == oup
            layers = (cba(inp, hidden, 1) if t != 1 else []) + cba(hidden, hidden, 3, stride, hidden) + \
                cba(hidden, oup, 1, act=False)
            self.conv = tnn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv(x) if self.use_res else self.conv(x)

    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1)]
    features, c = [tnn.Sequential(*cba(3, 32, 3, 2))], 32
    for t, ch, n, s in settings:
        for i in range(n):
            features.append(InvertedResidual(c, ch, s if i == 0 else 1, t))
            c = ch
    features.append(tnn.Sequential(*cba(c, 1280, 1)))

    class MobileNetV2(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(*features)
            self.classifier = tnn.Sequential(tnn.Dropout(0.2), tnn.Linear(1280, num_classes))

        def forward(self, x):
            x = tnn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
            return self.classifier(x.view(x.size(0), -1))  # Shape/Gather/Unsqueeze/Concat/Reshape

    return MobileNetV2()


def t_seed_cnn():
    from cnncore.bench.torch_twins import seed_cnn

    return seed_cnn()


def t_efficientnet_b0():
    from cnncore.bench.torch_table import t_efficientnet_b0

    return t_efficientnet_b0(10)


def _randomized(model):
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, tnn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    return model.eval()


def _torch_onnx(model, shape, keep_batchnorm=False):
    """The model as ONNX bytes from torch.onnx.export (the TorchScript exporter: the dynamo one
    needs onnxscript), batch dimension dynamic."""
    f = io.BytesIO()
    kwargs = {"training": torch.onnx.TrainingMode.PRESERVE, "do_constant_folding": False} if keep_batchnorm else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.from_numpy(_x(1, *shape)),), f, dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, **kwargs)
    return f.getvalue()


def _matches_onnx_runtime(data, model, size, batches=(1, 2)):
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for b in batches:
        x = _x(b, 3, size, size)
        want = sess.run(None, {"input": x})[0]
        np.testing.assert_allclose(model(x).numpy(), want, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("name, make, size", [("seed_cnn", t_seed_cnn, 16), ("mobilenet_v2", t_mobilenet_v2, 32),
                                              ("efficientnet_b0", t_efficientnet_b0, 32)])
def test_torch_exported_models_match_onnx_runtime(name, make, size):
    """(BatchNorm folded into the convolutions by the exporter, as for deployment.)"""
    data = _torch_onnx(_randomized(make()), (3, size, size))
    _matches_onnx_runtime(data, load(data), size)


def test_torch_exported_resnet18_runs_and_fine_tunes_with_batch_statistics():
    data = _torch_onnx(_randomized(t_resnet18()), (3, 32, 32), keep_batchnorm=True)
    model = load(data)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 20  # kept as BatchNormalization: train() uses batch statistics
    _matches_onnx_runtime(data, model, 32)
    x, y = _x(4, 3, 32, 32), RNG.integers(0, 10, 4)
    model.train()
    opt = cnncore.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[2] < losses[1] < losses[0], losses
    before = bns[0].running_mean.copy()
    model(x)
    assert not np.array_equal(bns[0].running_mean, before)  # batch statistics update the running ones


def _single_node_model(op, inputs=(), attrs=None, opset=17, shape=(1, 2, 4, 4)):
    """A valid one-node model (onnx's shape inference accepts it); `inputs`: (name, array) constants."""
    from onnx import TensorProto, helper, numpy_helper

    names = ["x"] + [n for n, _ in inputs]
    node = helper.make_node(op, names, ["y"], name="the_node", **(attrs or {}))
    inits = [numpy_helper.from_array(np.asarray(v), n) for n, v in inputs if n]
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


@pytest.mark.parametrize("op, inputs, attrs, pattern", [
    ("Resize", [("", None), ("scales", np.array([1, 1, 2, 2], np.float32))], {"mode": "cubic"}, "mode='cubic'"),
    ("Resize", [("", None), ("scales", np.array([1, 1, 2, 2], np.float32))],
     {"mode": "linear", "coordinate_transformation_mode": "asymmetric"}, "coordinate_transformation_mode='asymmetric'"),
    ("Resize", [("", None), ("scales", np.array([1, 2, 2, 2], np.float32))], {"mode": "nearest",
     "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, "expected [1, 1, scale_h, scale_w]"),
    ("DepthToSpace", [], {"blocksize": 2}, "mode DCR"),
    ("LRN", [], {"size": 3}, "LRN is not supported"),
    ("Pad", [], {"mode": "reflect", "pads": [1, 0, 1, 1, 0, 0, 1, 1]}, "beyond the last two axes"),
])
def test_unsupported_operators_raise_at_load_naming_node_and_op(op, inputs, attrs, pattern):
    model = _single_node_model(op, inputs, attrs, opset=10 if op == "Pad" else 17,
                               shape=(1, 4, 4, 4) if op == "DepthToSpace" else (1, 2, 4, 4))
    with pytest.raises(UnsupportedOperatorError, match="the_node") as info:
        load(model)
    assert op in str(info.value) and pattern in str(info.value)


@pytest.mark.parametrize("mode, np_mode", [("reflect", "reflect"), ("edge", "edge"), ("wrap", "wrap")])
def test_pad_modes_on_the_spatial_axes(mode, np_mode):
    pads = [0, 0, 1, 2, 0, 0, 2, 1]
    x = _x(2, 2, 4, 4)
    got = load(_single_node_model("Pad", [], {"mode": mode, "pads": pads}, opset=10))(x).numpy()
    np.testing.assert_array_equal(got, np.pad(x, [(0, 0), (0, 0), (1, 2), (2, 1)], mode=np_mode))


def test_load_arguments(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(str(tmp_path / "missing.onnx"))
    x = _x(2, 2, 4, 4)
    m = load(_single_node_model("Relu").SerializeToString())
    np.testing.assert_array_equal(m(x).numpy(), np.maximum(x, 0))
    with pytest.raises(ValueError, match="expected shape"):
        m(_x(2, 3, 4, 4))


T_LAYERS = {  # PyTorch's exporter's spelling of the layers traced since issue 14's follow-up
    "group_norm": (lambda: tnn.GroupNorm(2, 8), tnn.GroupNorm),
    "group_norm_no_affine": (lambda: tnn.GroupNorm(4, 8, affine=False), tnn.GroupNorm),
    "layer_norm": (lambda: tnn.LayerNorm((8, 6, 5)), tnn.LayerNorm),
    "instance_norm": (lambda: tnn.InstanceNorm2d(8, affine=True), tnn.InstanceNorm2d),
    "elu_mish": (lambda: tnn.Sequential(tnn.ELU(0.5), tnn.Mish()), None),
    "conv_transpose": (lambda: tnn.ConvTranspose2d(8, 4, 3, 2, 1, 1), tnn.ConvTranspose2d),
    "conv_reflect": (lambda: tnn.Conv2d(8, 4, 3, padding=1, padding_mode="reflect"), tnn.Conv2d),
    "conv_replicate": (lambda: tnn.Conv2d(8, 4, 3, padding=1, padding_mode="replicate"), tnn.Conv2d),
    "pads": (lambda: tnn.Sequential(tnn.ReflectionPad2d((1, 2, 0, 1)), tnn.ConstantPad2d(1, 0.3)), None),
    "upsample_nearest": (lambda: tnn.Upsample(scale_factor=2), None),
    "upsample_nearest_size": (lambda: tnn.Upsample(size=(9, 7)), None),
    "upsample_bilinear": (lambda: tnn.Upsample(scale_factor=2, mode="bilinear"), None),
    "upsample_bilinear_align": (lambda: tnn.Upsample(size=(9, 7), mode="bilinear", align_corners=True), None),
    "pixel_shuffle_unshuffle": (lambda: tnn.Sequential(tnn.PixelShuffle(2), tnn.PixelUnshuffle(2)), None),
    "dropout2d": (lambda: tnn.Dropout2d(), None),
}
_CNN = {tnn.GroupNorm: nn.GroupNorm, tnn.LayerNorm: nn.LayerNorm, tnn.InstanceNorm2d: nn.InstanceNorm2d,
        tnn.ConvTranspose2d: nn.ConvTranspose2d, tnn.Conv2d: nn.Conv2d}


@pytest.mark.parametrize("name", sorted(T_LAYERS))
def test_torch_exported_new_layers_load_as_cnncore_layers(name):
    make, kind = T_LAYERS[name]
    model = make().eval()
    for p in model.parameters():
        with torch.no_grad():
            p.uniform_(0.5, 1.5)
    data = _torch_onnx(model, (8, 6, 5))
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    back = load(data)
    x = _x(2, 8, 6, 5)
    want = sess.run(None, {"input": x})[0]
    np.testing.assert_allclose(back(x).numpy(), want, rtol=1e-5, atol=1e-5)
    if kind is not None:  # the one cnncore layer, its parameters trainable
        layers = [m for m in back.modules() if isinstance(m, _CNN[kind])]
        assert len(layers) == 1 and all(p.requires_grad for p in layers[0].parameters())


def test_resize_nodes_map_onto_interpolate():
    x = _x(2, 2, 3, 4)
    nearest = _single_node_model("Resize", [("", None), ("scales", np.array([1, 1, 2, 3], np.float32))],
                                 {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                                  "nearest_mode": "floor"}, shape=(2, 2, 3, 4))
    np.testing.assert_array_equal(load(nearest)(x).numpy(), x.repeat(2, 2).repeat(3, 3))
    linear = _single_node_model("Resize", [("", None), ("", None), ("sizes", np.array([5, 7], np.int64))],
                                {"mode": "linear", "coordinate_transformation_mode": "align_corners", "axes": [2, 3]},
                                opset=18, shape=(2, 2, 3, 4))
    want = ort.InferenceSession(linear.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(load(linear)(x).numpy(), want, rtol=1e-5, atol=1e-6)


def test_group_normalization_opset_18_per_group_scale():
    scale, bias = np.array([0.5, 2.0], np.float32), np.array([0.1, -0.3], np.float32)
    model = _single_node_model("GroupNormalization", [("scale", scale), ("bias", bias)],
                               {"num_groups": 2, "epsilon": 1e-5}, opset=18, shape=(1, 4, 3, 3))
    x = _x(2, 4, 3, 3)
    want = torch.nn.functional.group_norm(torch.from_numpy(x), 2, torch.from_numpy(scale.repeat(2)),
                                          torch.from_numpy(bias.repeat(2))).numpy()
    back = load(model)
    np.testing.assert_allclose(back(x).numpy(), want, rtol=1e-5, atol=1e-5)
    assert any(isinstance(m, nn.GroupNorm) for m in back.modules())
