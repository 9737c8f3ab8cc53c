"""The tutorial's CNN, module for module: cnncore's seed_cnn against a PyTorch class written from
the tutorial's text (not from cnncore's code), compared layer by layer (type and hyperparameters),
by state_dict keys and shapes, and by output and gradients from the same weights."""
import numpy as np
import pytest

from cnncore import models

torch = pytest.importorskip("torch")
tnn = torch.nn


class TutorialCNN(tnn.Module):
    """As the tutorial writes it: three conv blocks, pooling after the first two only."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = tnn.Sequential(
            # Block 1
            tnn.Conv2d(3, 32, kernel_size=3, padding=1),
            tnn.BatchNorm2d(32),
            tnn.ReLU(inplace=True),
            tnn.MaxPool2d(2),
            # Block 2
            tnn.Conv2d(32, 64, kernel_size=3, padding=1),
            tnn.BatchNorm2d(64),
            tnn.ReLU(inplace=True),
            tnn.MaxPool2d(2),
            # Block 3
            tnn.Conv2d(64, 128, kernel_size=3, padding=1),
            tnn.BatchNorm2d(128),
            tnn.ReLU(inplace=True),
            tnn.AdaptiveAvgPool2d((4, 4)),
        )
        self.classifier = tnn.Sequential(
            tnn.Flatten(),
            tnn.Linear(128 * 4 * 4, 256),
            tnn.ReLU(inplace=True),
            tnn.Dropout(0.5),
            tnn.Linear(256, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x)


def _describe(module):
    """The hyperparameters that define a layer, read from PyTorch-named attributes."""
    def pair(v):
        return tuple(v) if isinstance(v, (tuple, list)) else (v, v)

    name = type(module).__name__
    if name == "Conv2d":
        return (name, module.in_channels, module.out_channels, pair(module.kernel_size), pair(module.stride),
                pair(module.padding), pair(module.dilation), module.groups, module.bias is not None)
    if name == "BatchNorm2d":
        return (name, module.num_features, float(module.eps), float(module.momentum), bool(module.affine))
    if name == "MaxPool2d":
        stride = module.stride if module.stride is not None else module.kernel_size
        return (name, pair(module.kernel_size), pair(stride), pair(module.padding), bool(module.ceil_mode))
    if name == "AdaptiveAvgPool2d":
        return (name, pair(module.output_size))
    if name == "Linear":
        return (name, module.in_features, module.out_features, module.bias is not None)
    if name == "Dropout":
        return (name, float(module.p))
    if name == "ReLU":
        return (name, bool(module.inplace))
    return (name,)


def _layers(model):
    return [(n, _describe(m)) for n, m in model.named_modules() if n and n not in ("features", "classifier")]


def test_seed_cnn_is_the_tutorial_network_layer_by_layer():
    ours, theirs = _layers(models.seed_cnn(num_classes=10)), _layers(TutorialCNN(10))
    assert [n for n, _ in ours] == ["features.%d" % i for i in range(12)] + ["classifier.%d" % i for i in range(5)]
    assert ours == theirs
    assert type(models.seed_cnn().features[11]).__name__ == "AdaptiveAvgPool2d"


def test_seed_cnn_state_dict_shapes_match_the_tutorial():
    ours = {k: np.shape(v) for k, v in models.seed_cnn().state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in TutorialCNN().state_dict().items()}
    assert ours == theirs


@pytest.mark.parametrize("size", [32, 8])
def test_seed_cnn_computes_what_the_tutorial_network_computes(size):
    torch.manual_seed(0)
    tm = TutorialCNN(10)
    with torch.no_grad():  # non-trivial running statistics for the eval pass
        for m in tm.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    model = models.seed_cnn(10)
    model.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)
    tm.eval()
    model.eval()
    with torch.no_grad():
        want = tm(torch.from_numpy(x)).numpy()
    got = model(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    # training mode (batch statistics), dropout off: gradients of every parameter
    tm.train()
    model.train()
    tm.classifier[3].p = 0.0
    model.classifier[3].p = 0.0
    tx = torch.from_numpy(x)
    tm(tx).square().sum().backward()
    out = model(x)
    (out * out).sum().backward()
    tgrads = {n: p.grad.numpy() for n, p in tm.named_parameters()}
    for n, p in model.named_parameters():
        scale = max(1.0, float(np.abs(tgrads[n]).max()))
        np.testing.assert_allclose(p.grad, tgrads[n], rtol=1e-3, atol=1e-3 * scale, err_msg=n)
