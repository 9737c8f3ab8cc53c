"""cnncore.trace: the graph of one eval forward (docs/TRACE.md)."""
import numpy as np
import pytest

import cnncore
from cnncore import functional as F
from cnncore import nn
from cnncore.autograd import Function
from cnncore.trace import Graph, TraceError, trace
from graph_layers import NEW_LAYERS, example

RNG = np.random.default_rng(0)
SMALL = {"lenet5": 28, "alexnet": 63, "googlenet": 32, "efficientnet_b0": 32, "vgg16": 32, "vgg16_bn": 32}


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _small(name):
    kwargs = {"num_classes": 7}
    return cnncore.models.get_model(name, **kwargs), SMALL.get(name, 16)


def test_seed_cnn_nodes_params_and_shapes():
    model = cnncore.models.seed_cnn()
    g = trace(model, _x(2, 3, 32, 32))
    assert isinstance(g, Graph)
    assert [n.op for n in g.nodes] == (["Conv", "BatchNormalization", "Relu", "MaxPool"] * 2
                                       + ["Conv", "BatchNormalization", "Relu", "AveragePool", "Flatten",
                                          "Gemm", "Relu", "Gemm"])
    state = model.state_dict()
    for k, v in g.params.items():
        assert v.dtype == np.float32
        np.testing.assert_array_equal(v, np.asarray(state[k], np.float32))
    conv = g.nodes[0]
    assert conv.inputs == ["input", "features.0.weight", "features.0.bias"]
    assert conv.attrs == {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1], "dilations": [1, 1],
                          "group": 1}
    assert g.nodes[1].attrs == {"epsilon": 1e-5, "momentum": pytest.approx(0.9)}
    assert g.inputs[0].name == "input" and g.inputs[0].shape == (2, 3, 32, 32)
    assert g.outputs[0].name == "output" and g.outputs[0].shape == (2, 10)
    assert g.nodes[-1].outputs == ["output"]
    assert g.shapes()["features.3"] == (2, 32, 16, 16)
    assert g.node_params(g.nodes[-1]) == ["classifier.4.weight", "classifier.4.bias"]


def test_trace_restores_training_mode_and_statistics():
    model = cnncore.models.seed_cnn()
    before = model.features[1].running_mean.copy()
    trace(model, _x(2, 3, 16, 16))
    assert model.training
    np.testing.assert_array_equal(model.features[1].running_mean, before)


@pytest.mark.parametrize("name", ["resnet20", "googlenet", "efficientnet_b0"])
def test_custom_forwards_trace_to_a_graph_that_computes_the_model(name):
    """Residual adds, Inception's concatenation, squeeze-excitation's product: the graph, run by
    GraphModule (cnncore.onnx), gives the model's eval output; every node input is defined before
    use. (Every model is traced by the ONNX export tests.)"""
    from cnncore.onnx import GraphModule

    model, size = _small(name)
    x = _x(2, model_channels(model), size, size)
    g = trace(model, x)
    known = {v.name for v in g.inputs} | set(g.params)
    for n in g.nodes:
        assert all(i in known for i in n.inputs), (n, "uses a value not computed before it")
        known.update(n.outputs)
    assert g.outputs[0].name in known and g.outputs[0].shape == (2, 7)
    np.testing.assert_array_equal(GraphModule(g).eval()(x).numpy(), model.eval()(x).numpy())


def model_channels(model):
    return model._input_channels() or 3


def test_custom_forward_with_functional_ops_and_constants():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 4, 3, padding=1)
            self.b = nn.Conv2d(3, 4, 1)

        def forward(self, x):
            y = cnncore.cat([F.relu(self.a(x)), self.b(x) * 0.5], 1)
            y = F.max_pool2d(y, 2) + np.ones((1, 8, 1, 1), np.float32)
            return F.sigmoid(y.mean((2, 3)))

    g = trace(Net(), _x(1, 3, 8, 8))
    assert [n.op for n in g.nodes] == ["Conv", "Relu", "Conv", "Mul", "Concat", "MaxPool", "Add", "ReduceMean",
                                       "Sigmoid"]
    mul = g.nodes[3]
    assert g.params[mul.inputs[1]].shape == () and float(g.params[mul.inputs[1]]) == 0.5
    assert g.nodes[4].attrs == {"axis": 1}
    assert g.nodes[7].attrs == {"axes": [2, 3], "keepdims": 0}


def test_identity_output_and_residual_alias():
    g = trace(nn.Sequential(nn.Identity(), nn.Dropout(0.5)), _x(2, 3, 4, 4))
    assert [(n.op, n.inputs, n.outputs) for n in g.nodes] == [("Identity", ["input"], ["output"])]


def test_untraceable_ops_raise_naming_them():
    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Custom(nn.Module):
        def forward(self, x):
            return F.relu(Twice.apply(x))

    with pytest.raises(TraceError, match="Twice"):
        trace(Custom(), _x(1, 2, 3, 3))

    class Index(nn.Module):
        def forward(self, x):
            return x[:, :1]

    with pytest.raises(TraceError, match="getitem"):
        trace(Index(), _x(1, 2, 3, 3))


@pytest.mark.parametrize("name", sorted(NEW_LAYERS))
def test_new_layers_trace_run_as_graph_and_compile_to_eager(name):
    """Each layer traces to its ONNX-named ops; the graph (GraphModule) and the compiled plan
    (the Python fallback for ops without a C entry) give the eager eval output."""
    from cnncore.onnx import GraphModule

    make, shape, ops, _ = NEW_LAYERS[name]
    model = make()
    x = example(shape, 2)
    g = trace(model, x)
    assert [n.op for n in g.nodes] == ops
    np.testing.assert_allclose(GraphModule(g).eval()(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)
    fast = cnncore.compile(model)
    for batch in (1, 2):
        x = example(shape, batch, seed=batch)
        np.testing.assert_allclose(fast(x), model(x).numpy(), rtol=1e-5, atol=1e-5)


def test_new_layer_attributes():
    g = trace(nn.Sequential(nn.Conv2d(2, 4, 3, padding=(1, 2), padding_mode="circular"), nn.GroupNorm(2, 4, eps=1e-3),
                            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), nn.PixelShuffle(2)),
              _x(1, 2, 4, 4))
    pad, conv, gn, resize, d2s = g.nodes[:5]
    assert pad.attrs == {"mode": "wrap", "pads": [0, 0, 1, 2, 0, 0, 1, 2], "value": 0.0}
    assert conv.inputs[0] == pad.outputs[0] and conv.attrs["pads"] == [0, 0, 0, 0]
    assert gn.inputs == [conv.outputs[0], "1.weight", "1.bias"] and gn.attrs == {"num_groups": 2, "epsilon": 1e-3}
    assert resize.attrs == {"mode": "linear", "coordinate_transformation_mode": "align_corners",
                            "sizes": [1, 4, 8, 12]}
    assert d2s.attrs == {"blocksize": 2, "mode": "CRD"}
    t = trace(nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=1),
              _x(1, 4, 3, 3)).nodes[0]
    assert t.attrs == {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "dilations": [1, 1],
                       "group": 2, "output_padding": [1, 1]}
    up = trace(nn.Upsample(scale_factor=2), _x(1, 2, 3, 3)).nodes[0]
    assert up.attrs == {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor",
                        "scales": [1.0, 1.0, 2.0, 2.0]}


@pytest.mark.parametrize("layer, pattern", [
    (lambda: nn.AdaptiveAvgPool2d(3), "windows of different sizes"),
    (lambda: nn.BatchNorm2d(2, track_running_stats=False), "running statistics"),
    (lambda: nn.AvgPool2d(2, divisor_override=3), "divisor_override"),
])
def test_layers_without_a_conversion_raise_naming_them(layer, pattern):
    with pytest.raises(TraceError, match=pattern):
        trace(nn.Sequential(layer(), nn.ReLU()), _x(1, 2, 4, 4))


def test_bad_arguments():
    with pytest.raises(TypeError, match="model"):
        trace(object(), _x(1, 3, 4, 4))
    with pytest.raises(TypeError, match="example_input"):
        trace(nn.ReLU(), np.array(["a"]))
