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


def resnet20(num_classes=10, in_channels=3):
    """cnncore.models.resnet20: 3x3 stem (16), 3 stages of 3 BasicBlocks (16, 32, 64 planes),
    global average pool, Linear(64, num_classes)."""
    nn = _nn()
    block = _basic_block()

    class ResNet20(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(in_channels, 16, 3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.Identity()
            inplanes = 16
            for i, planes in enumerate((16, 32, 64)):
                stride = 1 if i == 0 else 2
                blocks = [block(inplanes, planes, stride)] + [block(planes, planes) for _ in range(2)]
                setattr(self, "layer%d" % (i + 1), nn.Sequential(*blocks))
                inplanes = planes
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(64, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(self.flatten(self.avgpool(x)))

    return ResNet20()


def _table(name):
    """A builder(num_classes, model) of the tutorial-table twin `name` (torch_table.py)."""

    def build(num_classes, model):
        from . import torch_table as T

        if name == "alexnet":
            return T.t_alexnet(num_classes)
        if name in ("vgg16", "vgg16_bn"):
            return T.t_vgg(num_classes, name == "vgg16_bn")
        if name == "googlenet":
            return T.TGoogLeNet(num_classes, aux_logits=model.aux_logits, transform_input=model.transform_input)
        return T.t_efficientnet_b0(num_classes)

    return build


MODELS = {"seed_cnn": lambda num_classes, model: seed_cnn(num_classes),
          "resnet20": lambda num_classes, model: resnet20(num_classes)}
MODELS.update({name: _table(name) for name in ("alexnet", "vgg16", "vgg16_bn", "googlenet", "efficientnet_b0")})


def from_cnncore(name, model):
    """The torch twin of cnncore model `model` (registered as `name`), with its weights and
    buffers copied from model.state_dict()."""
    import torch

    from ..models import head_of

    if name not in MODELS:
        raise ValueError("no PyTorch twin for model %r (have: %s)" % (name, ", ".join(sorted(MODELS))))
    tm = MODELS[name](dict(model.named_modules())[head_of(model)].out_features, model)
    state = {k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()}
    tm.load_state_dict(state)
    return tm
