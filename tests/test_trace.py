"""cnncore.trace: the graph of one eval forward (docs/TRACE.md)."""
import numpy as np
import pytest

import cnncore
from cnncore import functional as F
from cnncore import nn
from cnncore.autograd import Function
from cnncore.trace import Graph, TraceError, trace

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


@pytest.mark.parametrize("layer, pattern", [
    (lambda: nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"), "padding_mode='reflect'"),
    (lambda: nn.ConvTranspose2d(2, 2, 2, stride=2), "ConvTranspose2d"),
    (lambda: nn.Upsample(scale_factor=2), "Upsample"),
])
def test_layers_without_a_conversion_raise_naming_them(layer, pattern):
    with pytest.raises(TraceError, match=pattern):
        trace(nn.Sequential(layer(), nn.ReLU()), _x(1, 2, 4, 4))


def test_bad_arguments():
    with pytest.raises(TypeError, match="model"):
        trace(object(), _x(1, 3, 4, 4))
    with pytest.raises(TypeError, match="example_input"):
        trace(nn.ReLU(), np.array(["a"]))
