"""Ready-made networks with PyTorch/torchvision attribute names, so their state_dicts load into
the same architectures written in PyTorch and back.

seed_cnn: the tutorial CNN (conv3x3-BN-ReLU with 32/64/128 filters, max pooling after the first two,
adaptive average pool to 4x4, Linear 2048-256, ReLU, Dropout 0.5, Linear); lenet5; resnet20 (CIFAR); resnet18 and
resnet50 (torchvision's keys and parameter counts); mobilenet_v2; and the tutorial's table of
architectures as torchvision defines them: alexnet, vgg16, vgg16_bn, googlenet, efficientnet_b0.
"""
import numpy as np

from . import functional as F
from .autograd.ops import cat
from .nn.activation import Dropout, ReLU, Sigmoid, SiLU
from .nn.blocks import BasicBlock, Bottleneck, InvertedResidual, conv_bn_act
from .nn.container import Sequential
from .nn.conv import Conv2d
from .nn.linear import Flatten, Identity, Linear
from .nn.module import Module
from .nn.norm import BatchNorm2d
from .nn.pooling import AdaptiveAvgPool2d, MaxPool2d
from .nn.stochastic import StochasticDepth

__all__ = ["SeedCNN", "LeNet5", "ResNet", "MobileNetV2", "AlexNet", "VGG", "GoogLeNet", "BasicConv2d",
           "Inception", "InceptionAux", "EfficientNet", "MBConv", "SqueezeExcitation", "seed_cnn", "lenet5",
           "resnet20", "resnet18", "resnet50", "mobilenet_v2", "alexnet", "vgg16", "vgg16_bn", "googlenet",
           "efficientnet_b0", "MODELS", "MIN_INPUT_SIZE", "get_model", "head_of"]


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



# ----------------------------------------------------------- the tutorial's table (torchvision) ---

class AlexNet(Module):
    """torchvision's AlexNet (61.1M parameters at 1000 classes): features (5 convolutions with
    ReLU, 3 max pools), AdaptiveAvgPool2d((6, 6)), flatten, classifier (Dropout, Linear(9216, 4096),
    ReLU, Dropout, Linear(4096, 4096), ReLU, Linear(4096, num_classes))."""

    def __init__(self, num_classes=1000, dropout=0.5, in_channels=3):
        super().__init__()
        self.features = Sequential(
            Conv2d(in_channels, 64, 11, stride=4, padding=2), ReLU(inplace=True), MaxPool2d(3, stride=2),
            Conv2d(64, 192, 5, padding=2), ReLU(inplace=True), MaxPool2d(3, stride=2),
            Conv2d(192, 384, 3, padding=1), ReLU(inplace=True),
            Conv2d(384, 256, 3, padding=1), ReLU(inplace=True),
            Conv2d(256, 256, 3, padding=1), ReLU(inplace=True), MaxPool2d(3, stride=2))
        self.avgpool = AdaptiveAvgPool2d((6, 6))
        self.flatten = Flatten()
        self.classifier = Sequential(
            Dropout(dropout), Linear(256 * 6 * 6, 4096), ReLU(inplace=True),
            Dropout(dropout), Linear(4096, 4096), ReLU(inplace=True), Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


class VGG(Module):
    """torchvision's VGG: features from a configuration (ints: 3x3 convolutions, padding 1, with
    BatchNorm2d when batch_norm, then ReLU; "M": MaxPool2d(2)), AdaptiveAvgPool2d((7, 7)), flatten,
    classifier (Linear(512 * 7 * 7, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Dropout,
    Linear(4096, num_classes))."""

    def __init__(self, cfg=VGG16_CFG, batch_norm=False, num_classes=1000, dropout=0.5, in_channels=3):
        super().__init__()
        layers, c = [], in_channels
        for v in cfg:
            if v == "M":
                layers.append(MaxPool2d(2, stride=2))
                continue
            layers.append(Conv2d(c, v, 3, padding=1))
            if batch_norm:
                layers.append(BatchNorm2d(v))
            layers.append(ReLU(inplace=True))
            c = v
        self.features = Sequential(*layers)
        self.avgpool = AdaptiveAvgPool2d((7, 7))
        self.flatten = Flatten()
        self.classifier = Sequential(
            Linear(c * 7 * 7, 4096), ReLU(True), Dropout(dropout),
            Linear(4096, 4096), ReLU(True), Dropout(dropout), Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


class BasicConv2d(Module):
    """GoogLeNet's convolution: Conv2d (no bias), BatchNorm2d(eps=0.001), ReLU (torchvision's
    BasicConv2d(in_channels, out_channels, **conv_kwargs))."""

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(Module):
    """torchvision's Inception block: four branches (1x1; 1x1 then 3x3; 1x1 then 3x3, where the
    paper has 5x5, as torchvision builds it; 3x3/1 max pool (ceil_mode) then 1x1) concatenated on
    channels."""

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                  BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                  BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = Sequential(MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                  BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(Module):
    """GoogLeNet's auxiliary classifier: adaptive average pool to 4x4, BasicConv2d 1x1 to 128,
    flatten, fc1 (2048 -> 1024), ReLU, Dropout, fc2."""

    def __init__(self, in_channels, num_classes, dropout=0.7):
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = Linear(2048, 1024)
        self.fc2 = Linear(1024, num_classes)
        self.dropout = Dropout(p=dropout)

    def forward(self, x):
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(self.dropout(x))


# transform_input: ImageNet-normalized input re-normalized to (x - 0.5) / 0.5 per channel
_GOOGLENET_SCALE = np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1) / np.float32(0.5)
_GOOGLENET_SHIFT = (np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1) - np.float32(0.5)) / np.float32(0.5)


class GoogLeNet(Module):
    """torchvision's GoogLeNet (Inception v1 with batch norm): 6.6M parameters without the
    auxiliary heads, 13.0M with them. aux_logits (torchvision's default True): in training mode
    forward returns (logits, aux2, aux1), otherwise the logits. transform_input: re-normalize an
    ImageNet-normalized 3-channel input as torchvision's pretrained weights expect. Max pools use
    ceil_mode=True, so 32x32 inputs work."""

    def __init__(self, num_classes=1000, aux_logits=True, transform_input=False, dropout=0.2,
                 dropout_aux=0.7, in_channels=3):
        super().__init__()
        if transform_input and in_channels != 3:
            raise ValueError("transform_input: needs 3 input channels, got in_channels=%r" % (in_channels,))
        self.aux_logits = bool(aux_logits)
        self.transform_input = bool(transform_input)
        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        if self.aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout=dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.dropout = Dropout(p=dropout)
        self.fc = Linear(1024, num_classes)

    def _input_channels(self):
        return self.conv1.conv.in_channels

    def forward(self, x):
        if self.transform_input:
            x = x * _GOOGLENET_SCALE + _GOOGLENET_SHIFT
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.avgpool(self.inception5b(self.inception5a(x)))
        x = self.fc(self.dropout(x.flatten(1)))
        if self.training and self.aux_logits:
            return x, aux2, aux1
        return x


class SqueezeExcitation(Module):
    """torchvision.ops.SqueezeExcitation(input_channels, squeeze_channels, activation, scale_activation):
    input * scale_activation(fc2(activation(fc1(avgpool(input))))), fc1/fc2 1x1 convolutions."""

    def __init__(self, input_channels, squeeze_channels, activation=ReLU, scale_activation=Sigmoid):
        super().__init__()
        self.avgpool = AdaptiveAvgPool2d(1)
        self.fc1 = Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _input_channels(self):
        return self.fc1.in_channels

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


def _conv_norm_act(inp, oup, kernel_size=3, stride=1, groups=1, activation=SiLU):
    """torchvision's Conv2dNormActivation with BatchNorm2d: Conv2d (no bias, padding (k-1)//2),
    BatchNorm2d, and the activation unless it is None."""
    layers = [Conv2d(inp, oup, kernel_size, stride, (kernel_size - 1) // 2, groups=groups, bias=False),
              BatchNorm2d(oup)]
    if activation is not None:
        layers.append(activation(inplace=True))
    return Sequential(*layers)


class MBConv(Module):
    """EfficientNet's block (torchvision's MBConv): 1x1 expansion (+BN+SiLU, skipped at ratio 1),
    depthwise kernel x kernel with the stride (+BN+SiLU), squeeze-excitation (SiLU, sigmoid; squeeze
    to input_channels // 4), 1x1 projection (+BN), and, when stride 1 and in == out, stochastic
    depth on the branch plus the identity."""

    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, stochastic_depth_prob=0.0):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError("stride: expected 1 or 2, got %r" % (stride,))
        self.use_res_connect = stride == 1 and input_channels == out_channels
        expanded = _make_divisible(input_channels * expand_ratio, 8)
        layers = []
        if expanded != input_channels:
            layers.append(_conv_norm_act(input_channels, expanded, kernel_size=1))
        layers.append(_conv_norm_act(expanded, expanded, kernel_size=kernel, stride=stride, groups=expanded))
        layers.append(SqueezeExcitation(expanded, max(1, input_channels // 4), activation=SiLU))
        layers.append(_conv_norm_act(expanded, out_channels, kernel_size=1, activation=None))
        self.block = Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = out_channels

    def forward(self, x):
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + x
        return result


class EfficientNet(Module):
    """torchvision's EfficientNet (B0 settings by default: 5.3M parameters at 1000 classes):
    features (3x3/2 conv-BN-SiLU stem to 32, seven stages of MBConv blocks, 1x1 conv-BN-SiLU to
    1280), global average pool, flatten, classifier (Dropout(dropout), Linear). Stochastic depth
    grows linearly from 0 to stochastic_depth_prob over the blocks, as in torchvision."""

    # (expand_ratio, kernel, stride, input_channels, out_channels, num_layers)
    B0 = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
          (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]

    def __init__(self, settings=None, dropout=0.2, stochastic_depth_prob=0.2, num_classes=1000, in_channels=3):
        super().__init__()
        settings = self.B0 if settings is None else settings
        layers = [_conv_norm_act(in_channels, settings[0][3], kernel_size=3, stride=2)]
        total = sum(s[5] for s in settings)
        block_id = 0
        for expand, kernel, stride, inp, out, num in settings:
            stage = []
            for i in range(num):
                sd = stochastic_depth_prob * float(block_id) / total
                stage.append(MBConv(expand, kernel, stride if i == 0 else 1, inp if i == 0 else out, out, sd))
                block_id += 1
            layers.append(Sequential(*stage))
        last_in = settings[-1][4]
        last = 4 * last_in
        layers.append(_conv_norm_act(last_in, last, kernel_size=1))
        self.features = Sequential(*layers)
        self.avgpool = AdaptiveAvgPool2d(1)
        self.flatten = Flatten()
        self.classifier = Sequential(Dropout(p=dropout, inplace=True), Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


def alexnet(num_classes=1000, dropout=0.5, in_channels=3):
    """torchvision.models.alexnet's architecture (61,100,840 parameters at 1000 classes)."""
    return AlexNet(num_classes, dropout, in_channels)


def vgg16(num_classes=1000, dropout=0.5, in_channels=3):
    """torchvision.models.vgg16's architecture (138,357,544 parameters at 1000 classes)."""
    return VGG(VGG16_CFG, False, num_classes, dropout, in_channels)


def vgg16_bn(num_classes=1000, dropout=0.5, in_channels=3):
    """torchvision.models.vgg16_bn's architecture (138,365,992 parameters at 1000 classes)."""
    return VGG(VGG16_CFG, True, num_classes, dropout, in_channels)


def googlenet(num_classes=1000, aux_logits=True, transform_input=False, in_channels=3):
    """torchvision.models.googlenet's architecture (6,624,904 parameters without the auxiliary
    heads, 13,004,888 with them, at 1000 classes)."""
    return GoogLeNet(num_classes, aux_logits, transform_input, in_channels=in_channels)


def efficientnet_b0(num_classes=1000, dropout=0.2, stochastic_depth_prob=0.2, in_channels=3):
    """torchvision.models.efficientnet_b0's architecture (5,288,548 parameters at 1000 classes)."""
    return EfficientNet(None, dropout, stochastic_depth_prob, num_classes, in_channels)


MODELS = {"seed_cnn": seed_cnn, "lenet5": lenet5, "resnet20": resnet20, "resnet18": resnet18,
          "resnet50": resnet50, "mobilenet_v2": mobilenet_v2, "alexnet": alexnet, "vgg16": vgg16,
          "vgg16_bn": vgg16_bn, "googlenet": googlenet, "efficientnet_b0": efficientnet_b0}


# The smallest square input each model's pooling allows (the train command upsamples smaller images);
# models not listed take any size down to 8x8.
MIN_INPUT_SIZE = {"lenet5": 28, "alexnet": 63, "vgg16": 32, "vgg16_bn": 32, "googlenet": 32,
                  "efficientnet_b0": 32}


def head_of(model):
    """The qualified name of a model's last Linear layer (its classifier head), or None."""
    name = None
    for n, m in model.named_modules():
        if isinstance(m, Linear):
            name = n
    return name


def get_model(name, **kwargs):
    """A model by name (one of MODELS)."""
    if name not in MODELS:
        raise ValueError("model: expected one of %s, got %r" % (", ".join(sorted(MODELS)), name))
    return MODELS[name](**kwargs)
