"""Ready-made networks with PyTorch/torchvision attribute names, so their state_dicts load into
the same architectures written in PyTorch and back.

seed_cnn: the tutorial CNN (conv3x3-BN-ReLU with 32/64/128 filters, max pooling after the first two,
adaptive average pool to 4x4, Linear 2048-256, ReLU, Dropout 0.5, Linear); lenet5; resnet20 (CIFAR); resnet18 and
resnet50 (torchvision's keys and parameter counts); mobilenet_v2.
"""
from .nn.activation import Dropout, ReLU
from .nn.blocks import BasicBlock, Bottleneck, InvertedResidual, conv_bn_act
from .nn.container import Sequential
from .nn.conv import Conv2d
from .nn.linear import Flatten, Identity, Linear
from .nn.module import Module
from .nn.norm import BatchNorm2d
from .nn.pooling import AdaptiveAvgPool2d, MaxPool2d

__all__ = ["SeedCNN", "LeNet5", "ResNet", "MobileNetV2", "seed_cnn", "lenet5", "resnet20", "resnet18",
           "resnet50", "mobilenet_v2", "MODELS", "get_model"]


class _FeaturesClassifier(Module):
    """features (blocked convolutional part), the parameter-free modules of _neck() (none by
    default), then classifier (starting with Flatten unless the neck flattens)."""

    def _neck(self):
        return []

    def forward(self, x):
        h = self.features(x)
        for m in self._neck():
            h = m(h)
        return self.classifier(h)


class SeedCNN(_FeaturesClassifier):
    """The tutorial's CNN, module for module. features (indices 0-11): Conv2d(in, 32, 3, padding=1),
    BatchNorm2d(32), ReLU, MaxPool2d(2), Conv2d(32, 64, 3, padding=1), BatchNorm2d(64), ReLU,
    MaxPool2d(2), Conv2d(64, 128, 3, padding=1), BatchNorm2d(128), ReLU (no pooling after the third
    block), AdaptiveAvgPool2d((4, 4)); classifier (0-4): Flatten, Linear(2048, 256), ReLU,
    Dropout(0.5), Linear(256, num_classes)."""

    def __init__(self, num_classes=10, in_channels=3):
        super().__init__()
        layers, c = [], in_channels
        for width, pool in ((32, True), (64, True), (128, False)):
            layers += [Conv2d(c, width, 3, padding=1), BatchNorm2d(width), ReLU(inplace=True)]
            if pool:
                layers.append(MaxPool2d(2))
            c = width
        layers.append(AdaptiveAvgPool2d((4, 4)))
        self.features = Sequential(*layers)
        self.classifier = Sequential(Flatten(), Linear(128 * 4 * 4, 256), ReLU(inplace=True), Dropout(0.5),
                                     Linear(256, num_classes))


class LeNet5(_FeaturesClassifier):
    """LeNet-5 for 28x28 inputs (ReLU and max pooling): features Conv2d(in, 6, 5, padding=2), ReLU,
    MaxPool2d(2), Conv2d(6, 16, 5), ReLU, MaxPool2d(2); classifier Flatten, Linear(400, 120), ReLU,
    Linear(120, 84), ReLU, Linear(84, num_classes)."""

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.features = Sequential(Conv2d(in_channels, 6, 5, padding=2), ReLU(), MaxPool2d(2),
                                   Conv2d(6, 16, 5), ReLU(), MaxPool2d(2))
        self.classifier = Sequential(Flatten(), Linear(16 * 5 * 5, 120), ReLU(), Linear(120, 84), ReLU(),
                                     Linear(84, num_classes))


class ResNet(Module):
    """torchvision's ResNet layout (conv1, bn1, relu, maxpool, layer1..layerN, avgpool, fc).

    small_input=True uses a 3x3 stride-1 stem without max pooling (CIFAR-size images).
    widths: the planes of each stage (ResNet-18/50: 64, 128, 256, 512; ResNet-20: 16, 32, 64).
    """

    def __init__(self, block, layers, num_classes=1000, small_input=False, widths=(64, 128, 256, 512),
                 in_channels=3):
        super().__init__()
        if len(layers) != len(widths):
            raise ValueError("layers: expected one block count per stage (%d), got %r" % (len(widths), layers))
        self.inplanes = widths[0]
        if small_input:
            self.conv1 = Conv2d(in_channels, widths[0], 3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False)
        self.bn1 = BatchNorm2d(widths[0])
        self.relu = ReLU(inplace=True)
        self.maxpool = Identity() if small_input else MaxPool2d(3, stride=2, padding=1)
        self._stages = []
        for i, (planes, count) in enumerate(zip(widths, layers)):
            stage = self._make_layer(block, planes, count, stride=1 if i == 0 else 2)
            setattr(self, "layer%d" % (i + 1), stage)
            self._stages.append("layer%d" % (i + 1))
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.flatten = Flatten()
        self.fc = Linear(widths[-1] * block.expansion, num_classes)

    def _make_layer(self, block, planes, count, stride):
        blocks = [block(self.inplanes, planes, stride)]
        self.inplanes = planes * block.expansion
        blocks += [block(self.inplanes, planes) for _ in range(1, count)]
        return Sequential(*blocks)

    def _trunk(self):
        return [self.maxpool] + [getattr(self, s) for s in self._stages] + [self.avgpool]

    def forward(self, x):
        h = self.relu(self.bn1(self.conv1(x)))
        for m in self._trunk():
            h = m(h)
        return self.fc(self.flatten(h))


def _make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class MobileNetV2(_FeaturesClassifier):
    """MobileNetV2 (torchvision's layout: features.0 conv-BN-ReLU6 stem, 17 InvertedResidual
    blocks, a 1x1 conv-BN-ReLU6 to 1280 channels, global average pool; flatten; classifier
    Dropout(0.2), Linear). small_input=True makes the stem stride 1 (CIFAR-size images)."""

    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, num_classes=1000, width_mult=1.0, in_channels=3, small_input=False, dropout=0.2):
        super().__init__()
        c = _make_divisible(32 * width_mult)
        last = _make_divisible(1280 * max(1.0, width_mult))
        layers = [conv_bn_act(in_channels, c, stride=1 if small_input else 2)]
        for t, ch, n, s in self.SETTINGS:
            out = _make_divisible(ch * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        layers += [conv_bn_act(c, last, kernel_size=1), AdaptiveAvgPool2d((1, 1))]
        self.features = Sequential(*layers)
        # torchvision flattens outside the classifier: classifier = (Dropout, Linear), so that
        # the keys are classifier.1.weight / classifier.1.bias as in its state_dicts
        self.flatten = Flatten()
        self.classifier = Sequential(Dropout(dropout), Linear(last, num_classes))

    def _neck(self):
        return [self.flatten]


def seed_cnn(num_classes=10, in_channels=3):
    return SeedCNN(num_classes, in_channels)


def lenet5(num_classes=10, in_channels=1):
    return LeNet5(num_classes, in_channels)


def resnet20(num_classes=10, in_channels=3):
    """CIFAR ResNet-20: 3 stages of 3 BasicBlocks (16, 32, 64 planes), 1x1-conv shortcuts."""
    return ResNet(BasicBlock, [3, 3, 3], num_classes, small_input=True, widths=(16, 32, 64),
                  in_channels=in_channels)


def resnet18(num_classes=1000, small_input=False, in_channels=3):
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, small_input, in_channels=in_channels)


def resnet50(num_classes=1000, small_input=False, in_channels=3):
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, small_input, in_channels=in_channels)


def mobilenet_v2(num_classes=1000, width_mult=1.0, in_channels=3, small_input=False):
    return MobileNetV2(num_classes, width_mult, in_channels, small_input)


MODELS = {"seed_cnn": seed_cnn, "lenet5": lenet5, "resnet20": resnet20, "resnet18": resnet18,
          "resnet50": resnet50, "mobilenet_v2": mobilenet_v2}


def get_model(name, **kwargs):
    """A model by name (one of MODELS)."""
    if name not in MODELS:
        raise ValueError("model: expected one of %s, got %r" % (", ".join(sorted(MODELS)), name))
    return MODELS[name](**kwargs)
