"""PyTorch twins of cnncore's benchmark models, for `python -m cnncore bench` only.

The same architectures as cnncore.models (and the same module names, so that a cnncore state_dict
loads into them), written with torch.nn because torchvision is not a dependency. PyTorch is
optional: this module is imported only when it is installed, and everything torch-related is
built inside functions.
"""
import numpy as np


def _nn():
    import torch.nn as nn

    return nn


def seed_cnn(num_classes=10, in_channels=3):
    """cnncore.models.SeedCNN (the tutorial's CNN): conv3x3-BN-ReLU with 32, 64, 128 filters,
    MaxPool2d(2) after the first two only, adaptive avgpool 4x4, Flatten, Linear(2048, 256), ReLU,
    Dropout(0.5), Linear(256, num_classes)."""
    nn = _nn()

    class SeedCNN(nn.Module):
        def __init__(self):
            super().__init__()
            layers, c = [], in_channels
            for width, pool in ((32, True), (64, True), (128, False)):
                layers += [nn.Conv2d(c, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
                if pool:
                    layers.append(nn.MaxPool2d(2))
                c = width
            layers.append(nn.AdaptiveAvgPool2d((4, 4)))
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(128 * 4 * 4, 256), nn.ReLU(inplace=True),
                                            nn.Dropout(0.5), nn.Linear(256, num_classes))

        def forward(self, x):
            return self.classifier(self.features(x))

    return SeedCNN()


def _basic_block():
    nn = _nn()

    class BasicBlock(nn.Module):
        """torchvision's BasicBlock; the 1x1-conv + BN downsample when the shape changes."""

        def __init__(self, inplanes, planes, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                                                nn.BatchNorm2d(planes))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(out + identity)

    return BasicBlock


def _resnet(widths, layers, small_input, num_classes, in_channels):
    """cnncore.models.ResNet with BasicBlocks: stem (3x3 stride 1 without max pooling when
    small_input, else 7x7 stride 2 and a 3x3/2 max pool), stages of BasicBlocks, global average
    pool, Linear."""
    nn = _nn()
    block = _basic_block()

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            if small_input:
                self.conv1 = nn.Conv2d(in_channels, widths[0], 3, stride=1, padding=1, bias=False)
            else:
                self.conv1 = nn.Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, stride=2, padding=1)
            inplanes = widths[0]
            for i, (planes, count) in enumerate(zip(widths, layers)):
                stride = 1 if i == 0 else 2
                blocks = [block(inplanes, planes, stride)] + [block(planes, planes) for _ in range(count - 1)]
                setattr(self, "layer%d" % (i + 1), nn.Sequential(*blocks))
                inplanes = planes
            self.stages = len(widths)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(widths[-1], num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            for i in range(self.stages):
                x = getattr(self, "layer%d" % (i + 1))(x)
            return self.fc(self.flatten(self.avgpool(x)))

    return ResNet()


def resnet20(num_classes=10, in_channels=3):
    """cnncore.models.resnet20: 3x3 stem (16), 3 stages of 3 BasicBlocks (16, 32, 64 planes),
    global average pool, Linear(64, num_classes)."""
    return _resnet((16, 32, 64), (3, 3, 3), True, num_classes, in_channels)


def resnet18(num_classes=1000, in_channels=3):
    """cnncore.models.resnet18 (ImageNet stem)."""
    return _resnet((64, 128, 256, 512), (2, 2, 2, 2), False, num_classes, in_channels)


def mobilenet_v2(num_classes=1000, in_channels=3):
    """cnncore.models.mobilenet_v2 (torchvision's layout and keys, width 1.0)."""
    nn = _nn()
    from ..models import MobileNetV2, _make_divisible

    def cba(inp, oup, k=3, stride=1, groups=1):
        return nn.Sequential(nn.Conv2d(inp, oup, k, stride, (k - 1) // 2, groups=groups, bias=False),
                             nn.BatchNorm2d(oup), nn.ReLU6(inplace=True))

    class InvertedResidual(nn.Module):
        def __init__(self, inp, oup, stride, t):
            super().__init__()
            hidden = int(round(inp * t))
            self.res = stride == 1 and inp == oup
            layers = [cba(inp, hidden, 1)] if t != 1 else []
            layers += [cba(hidden, hidden, 3, stride, hidden), nn.Conv2d(hidden, oup, 1, bias=False),
                       nn.BatchNorm2d(oup)]
            self.conv = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv(x) if self.res else self.conv(x)

    class MobileNetV2Twin(nn.Module):
        def __init__(self):
            super().__init__()
            c, last = _make_divisible(32), _make_divisible(1280)
            layers = [cba(in_channels, c, 3, 2)]
            for t, ch, n, s in MobileNetV2.SETTINGS:
                out = _make_divisible(ch)
                for i in range(n):
                    layers.append(InvertedResidual(c, out, s if i == 0 else 1, t))
                    c = out
            layers += [cba(c, last, 1), nn.AdaptiveAvgPool2d((1, 1))]
            self.features = nn.Sequential(*layers)
            self.flatten = nn.Flatten()
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

        def forward(self, x):
            return self.classifier(self.flatten(self.features(x)))

    return MobileNetV2Twin()


def _table(name):
    """A builder of the tutorial-table twin `name` (torch_table.py; 3-channel inputs, as torchvision)."""

    def build(num_classes, in_channels, model):
        from . import torch_table as T

        if name == "alexnet":
            return T.t_alexnet(num_classes)
        if name in ("vgg16", "vgg16_bn"):
            return T.t_vgg(num_classes, name == "vgg16_bn")
        if name == "googlenet":
            return T.TGoogLeNet(num_classes, aux_logits=model.aux_logits, transform_input=model.transform_input)
        return T.t_efficientnet_b0(num_classes)

    return build


def _plain(build):
    return lambda num_classes, in_channels, model: build(num_classes=num_classes, in_channels=in_channels)


# name -> builder(num_classes, in_channels, the cnncore model)
MODELS = {name: _plain(build) for name, build in
          (("seed_cnn", seed_cnn), ("resnet20", resnet20), ("resnet18", resnet18), ("mobilenet_v2", mobilenet_v2))}
MODELS.update({name: _table(name) for name in ("alexnet", "vgg16", "vgg16_bn", "googlenet", "efficientnet_b0")})


def from_cnncore(name, model):
    """The torch twin of cnncore model `model` (registered as `name`), with its weights and
    buffers copied from model.state_dict()."""
    import torch

    from ..models import head_of

    if name not in MODELS:
        raise ValueError("no PyTorch twin for model %r (have: %s)" % (name, ", ".join(sorted(MODELS))))
    state = model.state_dict()
    head = head_of(model)
    tm = MODELS[name](state[head + ".weight"].shape[0], model._input_channels(), model)
    state = {k: torch.from_numpy(np.array(v)) for k, v in state.items()}
    tm.load_state_dict(state)
    return tm
