"""PyTorch interchange (torch is in the `test` extra: `make test` and CI install the CPU build and
run these; CNNCORE_REQUIRE_TORCH=1, set by the Makefile, turns a missing torch into an error
instead of a skip).

The same architectures written in torch (torchvision's definitions, copied here: torchvision is not
a dependency), state_dicts moved both ways, and eval outputs, train outputs, input and parameter
gradients and BatchNorm running statistics compared. Run locally with a torch-enabled Python, e.g.
    PYTHONPATH=. python3 -m pytest -q tests/test_torch_interop.py
"""
import os

import pytest

if os.environ.get("CNNCORE_REQUIRE_TORCH") == "1":
    import torch
else:
    torch = pytest.importorskip("torch")
tnn = torch.nn

import numpy as np  # noqa: E402

from cnncore import _random, models, nn  # noqa: E402

torch.set_num_threads(2)

# the largest |cnncore - torch| seen per quantity, relative to max(1, |torch|); printed with -s
MAX_DIFF = {}


def close(ours, theirs, tol, what):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, "%s: %s != %s" % (what, ours.shape, theirs.shape)
    scale = max(1.0, float(np.abs(theirs).max(initial=0)))
    err = float(np.abs(ours.astype(np.float64) - theirs).max(initial=0)) / scale
    kind = what.split(":")[0]
    MAX_DIFF[kind] = max(MAX_DIFF.get(kind, 0.0), err)
    assert err <= tol, "%s: max relative difference %.3g" % (what, err)


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    print("\nmax |cnncore - torch| / max(1, |torch|):")
    for k in sorted(MAX_DIFF):
        print("  %-28s %.3g" % (k, MAX_DIFF[k]))


# ------------------------------------------------------------- torch architectures ---

class TSeedCNN(tnn.Module):
    def __init__(self, num_classes=10, in_channels=3):
        super().__init__()
        layers, c = [], in_channels
        for w, pool in ((32, True), (64, True), (128, False)):  # the tutorial: no third MaxPool
            layers += [tnn.Conv2d(c, w, 3, padding=1), tnn.BatchNorm2d(w), tnn.ReLU(inplace=True)]
            layers += [tnn.MaxPool2d(2)] if pool else []
            c = w
        layers.append(tnn.AdaptiveAvgPool2d((4, 4)))
        self.features = tnn.Sequential(*layers)
        self.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(2048, 256), tnn.ReLU(inplace=True),
                                         tnn.Dropout(0.5), tnn.Linear(256, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class TBasicBlock(tnn.Module):  # torchvision.models.resnet.BasicBlock
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class TBottleneck(tnn.Module):  # torchvision.models.resnet.Bottleneck (v1.5: stride on the 3x3)
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv3 = tnn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class TResNet(tnn.Module):  # torchvision.models.resnet.ResNet, with a CIFAR stem option and widths
    def __init__(self, block, layers, num_classes=1000, small_input=False, widths=(64, 128, 256, 512)):
        super().__init__()
        self.inplanes = widths[0]
        if small_input:
            self.conv1 = tnn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
            self.maxpool = tnn.Identity()
        else:
            self.conv1 = tnn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
        self.bn1 = tnn.BatchNorm2d(widths[0])
        self.relu = tnn.ReLU(inplace=True)
        self.stages = []
        for i, (planes, n) in enumerate(zip(widths, layers)):
            setattr(self, "layer%d" % (i + 1), self._make_layer(block, planes, n, 1 if i == 0 else 2))
            self.stages.append("layer%d" % (i + 1))
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(widths[-1] * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = tnn.Sequential(tnn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                                        tnn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return tnn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for s in self.stages:
            x = getattr(self, s)(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def t_conv_bn_act(inp, oup, kernel_size=3, stride=1, groups=1):  # Conv2dNormActivation
    return tnn.Sequential(tnn.Conv2d(inp, oup, kernel_size, stride, (kernel_size - 1) // 2, groups=groups,
                                     bias=False), tnn.BatchNorm2d(oup), tnn.ReLU6(inplace=True))


class TInvertedResidual(tnn.Module):  # torchvision.models.mobilenetv2.InvertedResidual
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(t_conv_bn_act(inp, hidden, kernel_size=1))
        layers += [t_conv_bn_act(hidden, hidden, stride=stride, groups=hidden),
                   tnn.Conv2d(hidden, oup, 1, 1, 0, bias=False), tnn.BatchNorm2d(oup)]
        self.conv = tnn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


def _make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class TMobileNetV2(tnn.Module):  # torchvision.models.mobilenetv2.MobileNetV2 (+ a stride-1 stem option)
    def __init__(self, num_classes=1000, width_mult=1.0, small_input=False):
        super().__init__()
        c = _make_divisible(32 * width_mult)
        last = _make_divisible(1280 * max(1.0, width_mult))
        features = [t_conv_bn_act(3, c, stride=1 if small_input else 2)]
        for t, ch, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                            (6, 160, 3, 2), (6, 320, 1, 1)]:
            out = _make_divisible(ch * width_mult)
            for i in range(n):
                features.append(TInvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        features.append(t_conv_bn_act(c, last, kernel_size=1))
        self.features = tnn.Sequential(*features)
        self.classifier = tnn.Sequential(tnn.Dropout(0.2), tnn.Linear(last, num_classes))

    def forward(self, x):
        x = tnn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


# ------------------------------------------------------------------------- cases ---

CASES = {
    "seed_cnn": (lambda: TSeedCNN(10, 3), lambda: models.seed_cnn(10, 3), (4, 3, 32, 32)),
    "resnet20": (lambda: TResNet(TBasicBlock, [3, 3, 3], 10, True, (16, 32, 64)), models.resnet20,
                 (4, 3, 32, 32)),
    "resnet18": (lambda: TResNet(TBasicBlock, [2, 2, 2, 2], 1000), models.resnet18, (2, 3, 64, 64)),
    "resnet_bottleneck": (lambda: TResNet(TBottleneck, [1, 1, 1, 1], 10, False, (8, 16, 16, 32)),
                          lambda: models.ResNet(nn.Bottleneck, [1, 1, 1, 1], 10, widths=(8, 16, 16, 32)),
                          (4, 3, 64, 64)),
    "resnet_bottleneck_small": (lambda: TResNet(TBottleneck, [2, 1, 1], 10, True, (8, 16, 16)),
                                lambda: models.ResNet(nn.Bottleneck, [2, 1, 1], 10, True, widths=(8, 16, 16)),
                                (2, 3, 16, 16)),
    # batch 8: at batch 2 the 2x2 last stage leaves 8 values per BN channel and both float32
    # engines then stray from float64 by up to 1e-2 for some inputs (ReLU6 kinks, cancellation)
    "mobilenet_v2_0.5": (lambda: TMobileNetV2(10, 0.5, True), lambda: models.mobilenet_v2(10, 0.5, small_input=True),
                         (8, 3, 32, 32)),
    "mobilenet_v2": (lambda: TMobileNetV2(1000), lambda: models.mobilenet_v2(), (2, 3, 64, 64)),
}


def randomize_torch(tm, seed=0):
    """Non-trivial BN affine parameters and running statistics (torch's init is 1, 0, 0, 1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in tm.modules():
            if isinstance(m, tnn.BatchNorm2d):
                c = m.num_features
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.5, 0.5, generator=g)
                m.running_mean.uniform_(-0.3, 0.3, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
                m.num_batches_tracked.fill_(int(torch.randint(0, 100, (1,), generator=g)))
    return tm


def dropout_off(model):
    """Dropout masks are generator-specific: compare with the dropouts in eval mode."""
    for m in model.modules():
        if isinstance(m, (tnn.Dropout, nn.Dropout)):
            m.eval()


def torch_to_cnncore(name):
    make_t, make_c, shape = CASES[name]
    torch.manual_seed(0)
    _random.manual_seed(0)
    tm = randomize_torch(make_t())
    cm = make_c()
    result = cm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert list(cm.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in cm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    return tm, cm, shape


def x_for(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("name", list(CASES))
def test_torch_state_dict_into_cnncore_eval(name):
    tm, cm, shape = torch_to_cnncore(name)
    tm.eval()
    cm.eval()
    x = x_for(shape)
    with torch.no_grad():
        ty = tm(torch.from_numpy(x))
    close(cm(x), ty, 1e-4, "eval output: " + name)


def test_load_torch_tensors_directly():
    """load_state_dict takes CPU torch tensors as they come (np.asarray converts them)."""
    make_t, make_c, shape = CASES["resnet20"]
    torch.manual_seed(0)
    tm = randomize_torch(make_t()).eval()
    cm = make_c()
    cm.load_state_dict(tm.state_dict())
    cm.eval()
    x = x_for(shape)
    with torch.no_grad():
        close(cm(x), tm(torch.from_numpy(x)), 1e-4, "eval output: tensors loaded directly")
    assert int(cm.bn1.num_batches_tracked) == int(tm.bn1.num_batches_tracked)


# Not the full-width MobileNetV2 at 2x3x64x64: in its training step one pre-activation of
# features.10's depthwise BN (channel 80) lies 5.8e-7 from ReLU6's kink at 0, so float32 rounding
# decides whether its gradient passes; cnncore (at every ISA level) and the float64 reference
# disagree on it and features.10.conv.1.1.bias's gradient differs by 0.28 of the array's largest
# value (torch happens to round like the reference). A kink, not a bug; mobilenet_v2_0.5 below
# covers the architecture's training step.
@pytest.mark.parametrize("name", [n for n in CASES if n != "mobilenet_v2"])
def test_torch_state_dict_into_cnncore_train_step(name):
    tm, cm, shape = torch_to_cnncore(name)
    tm.train()
    cm.train()
    dropout_off(tm)
    dropout_off(cm)
    x = x_for(shape)
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    ty = tm(tx)
    y = cm(x)
    close(y, ty, 2e-4, "train output: " + name)
    dy = x_for(y.shape, 2)
    ty.backward(torch.from_numpy(dy))
    dx = cm.backward(dy)
    close(dx, tx.grad, 1e-3, "input grad: " + name)
    tparams = dict(tm.named_parameters())
    for n, p in cm.named_parameters():
        close(p.grad, tparams[n].grad, 1e-3, "param grad: %s %s" % (name, n))
    tstate = tm.state_dict()
    for k, v in cm.state_dict().items():
        if k.endswith("num_batches_tracked"):
            assert int(v) == int(tstate[k]), k
        elif "running" in k:
            close(v, tstate[k], 5e-5, "running stats: %s %s" % (name, k))


@pytest.mark.parametrize("name", ["seed_cnn", "resnet20", "resnet_bottleneck", "mobilenet_v2_0.5"])
def test_momentum_none_and_several_steps_match_torch(name):
    tm, cm, shape = torch_to_cnncore(name)
    for m in tm.modules():
        if isinstance(m, tnn.BatchNorm2d):
            m.momentum = None
    for m in cm.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None
    for step in range(3):
        x = x_for(shape, 10 + step)
        with torch.no_grad():
            tm(torch.from_numpy(x))
        cm(x)
    tstate = tm.state_dict()
    for k, v in cm.state_dict().items():
        if k.endswith("num_batches_tracked"):
            assert int(v) == int(tstate[k]), k
        elif "running" in k:
            close(v, tstate[k], 5e-5, "running stats (momentum None): %s %s" % (name, k))


@pytest.mark.parametrize("name", list(CASES))
def test_cnncore_state_dict_into_torch(name):
    make_t, make_c, shape = CASES[name]
    _random.manual_seed(3)
    cm = make_c()
    for step in range(2):  # non-trivial running statistics and counts
        cm(x_for(shape, 20 + step))
    r = np.random.default_rng(5)
    for m in cm.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data = r.uniform(0.5, 1.5, m.num_features)
    torch.manual_seed(4)
    tm = make_t()
    sd = cm.state_dict()
    tm.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
    for k, v in tm.state_dict().items():
        assert v.dtype == (torch.int64 if k.endswith("num_batches_tracked") else torch.float32), k
        np.testing.assert_array_equal(v.numpy(), sd[k])
    tm.eval()
    cm.eval()
    x = x_for(shape, 6)
    with torch.no_grad():
        ty = tm(torch.from_numpy(x))
    close(cm(x), ty, 1e-4, "eval output (reverse): " + name)


def test_single_layers_match_torch():
    """Layers with the options the models do not use, against torch's modules."""
    _random.manual_seed(0)
    torch.manual_seed(0)
    x = x_for((2, 12, 9, 8))
    pairs = [
        (nn.Conv2d(12, 10, 3, stride=2, padding=2, dilation=2, groups=2),
         tnn.Conv2d(12, 10, 3, stride=2, padding=2, dilation=2, groups=2)),
        (nn.Conv2d(12, 12, (3, 5), padding=(1, 2), groups=12, bias=False),
         tnn.Conv2d(12, 12, (3, 5), padding=(1, 2), groups=12, bias=False)),
        (nn.BatchNorm2d(12, momentum=0.3, eps=1e-3), tnn.BatchNorm2d(12, momentum=0.3, eps=1e-3)),
        (nn.BatchNorm2d(12, affine=False), tnn.BatchNorm2d(12, affine=False)),
        (nn.BatchNorm2d(12, track_running_stats=False), tnn.BatchNorm2d(12, track_running_stats=False)),
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), tnn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (nn.AvgPool2d(3, 2, 1, count_include_pad=False), tnn.AvgPool2d(3, 2, 1, count_include_pad=False)),
        (nn.AdaptiveAvgPool2d((4, 3)), tnn.AdaptiveAvgPool2d((4, 3))),
        (nn.ReLU6(), tnn.ReLU6()),
    ]
    for ours, theirs in pairs:
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        for mode in (True, False):
            ours.train(mode)
            theirs.train(mode)
            tx = torch.from_numpy(x.copy()).requires_grad_(True)
            ty = theirs(tx)
            y = ours(x)
            what = "%s train=%s" % (type(ours).__name__, mode)
            close(y, ty, 1e-5, "layer output: " + what)
            dy = x_for(y.shape, 3)
            ty.backward(torch.from_numpy(dy))
            close(ours.backward(dy), tx.grad, 1e-4, "layer input grad: " + what)
            tp = dict(theirs.named_parameters())
            for n, p in ours.named_parameters():
                close(p.grad, tp[n].grad, 1e-4, "layer param grad: %s %s" % (what, n))
                tp[n].grad = None
                p.grad = None
            for k, v in theirs.state_dict().items():
                close(ours.state_dict()[k], v, 1e-5, "layer state: %s %s" % (what, k))
    lin, tlin = nn.Linear(30, 7), tnn.Linear(30, 7)
    lin.load_state_dict({k: v.numpy() for k, v in tlin.state_dict().items()})
    f = x_for((5, 30))
    tf = torch.from_numpy(f.copy()).requires_grad_(True)
    ty = tlin(tf)
    close(lin(f), ty, 1e-5, "layer output: Linear")
    ty.backward(torch.ones_like(ty))
    close(lin.backward(np.ones((5, 7), np.float32)), tf.grad, 1e-5, "layer input grad: Linear")
    close(lin.weight.grad, tlin.weight.grad, 1e-5, "layer param grad: Linear")
    logits, target = x_for((6, 9)) * 3, np.arange(6) % 9
    tl = torch.from_numpy(logits.copy()).requires_grad_(True)
    tloss = tnn.CrossEntropyLoss()(tl, torch.from_numpy(target))
    tloss.backward()
    crit = nn.CrossEntropyLoss()
    assert abs(crit(logits, target) - tloss.item()) < 1e-5
    close(crit.backward(), tl.grad, 1e-6, "cross-entropy grad")


def test_default_initialization_matches_torch_in_distribution():
    """torch's kaiming-uniform(a=sqrt(5)) init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
    _random.manual_seed(0)
    torch.manual_seed(0)
    for ours, theirs, fan_in in ((nn.Conv2d(16, 32, 3), tnn.Conv2d(16, 32, 3), 16 * 9),
                                 (nn.Linear(200, 50), tnn.Linear(200, 50), 200),
                                 (nn.Conv2d(8, 8, 3, groups=8), tnn.Conv2d(8, 8, 3, groups=8), 9)):
        bound = 1 / np.sqrt(fan_in)
        for n, p in ours.named_parameters():
            t = dict(theirs.named_parameters())[n].detach().numpy()
            assert np.abs(t).max() <= bound and np.abs(p.data).max() <= bound, n
            if p.numel() >= 500:  # U(-b, b) has std b / sqrt(3)
                assert abs(p.data.std() - bound / np.sqrt(3)) < 0.05 * bound, n
                assert abs(t.std() - bound / np.sqrt(3)) < 0.05 * bound, n
