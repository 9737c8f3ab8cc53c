"""Residual blocks with torchvision's child names, so state_dicts move between the two:
BasicBlock and Bottleneck (ResNet), InvertedResidual (MobileNetV2). Forward-only: the graph gives
their backward, and its fusion rules run BN+ReLU and BN+add+ReLU as single passes."""
from .activation import ReLU, ReLU6
from .conv import Conv2d
from .container import Sequential
from .module import Module
from .norm import BatchNorm2d


def _downsample(inplanes, outplanes, stride):
    if stride != 1 or inplanes != outplanes:
        return Sequential(Conv2d(inplanes, outplanes, 1, stride=stride, bias=False), BatchNorm2d(outplanes))
    return None


class BasicBlock(Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x)): two 3x3 convolutions, as
    torchvision's BasicBlock(inplanes, planes, stride=1, downsample=None). The downsample
    (1x1 conv + BN) is made when stride != 1 or inplanes != planes."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNorm2d(planes)
        self.relu = ReLU(inplace=True)
        self.conv2 = Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = BatchNorm2d(planes)
        self.downsample = downsample if downsample is not None else _downsample(inplanes, planes, stride)
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(Module):
    """1x1 reduce, 3x3 (carrying the stride), 1x1 expand (x4), plus the shortcut, as torchvision's
    Bottleneck(inplanes, planes, stride=1, downsample=None)."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = BatchNorm2d(planes)
        self.conv2 = Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = BatchNorm2d(planes)
        self.conv3 = Conv2d(planes, out, 1, bias=False)
        self.bn3 = BatchNorm2d(out)
        self.relu = ReLU(inplace=True)
        self.downsample = downsample if downsample is not None else _downsample(inplanes, out, stride)
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def conv_bn_act(inp, oup, kernel_size=3, stride=1, groups=1, activation=ReLU6):
    """Sequential(Conv2d (no bias), BatchNorm2d, activation): torchvision's Conv2dNormActivation."""
    return Sequential(Conv2d(inp, oup, kernel_size, stride, (kernel_size - 1) // 2, groups=groups, bias=False),
                      BatchNorm2d(oup), activation(inplace=True))


class InvertedResidual(Module):
    """MobileNetV2's block: 1x1 expand (+BN+ReLU6, skipped when expand_ratio == 1), 3x3 depthwise
    (+BN+ReLU6), 1x1 linear projection (+BN), and the identity shortcut when stride == 1 and
    inp == oup. Child names as torchvision's (conv.0.0.weight, ...)."""

    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError("stride: expected 1 or 2, got %r" % (stride,))
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(conv_bn_act(inp, hidden, kernel_size=1))
        layers += [conv_bn_act(hidden, hidden, stride=stride, groups=hidden),
                   Conv2d(hidden, oup, 1, bias=False), BatchNorm2d(oup)]
        self.conv = Sequential(*layers)
        self.downsample = None

    def forward(self, x):
        out = self.conv(x)
        return x + out if self.use_res_connect else out
