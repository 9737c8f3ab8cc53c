"""Layers, blocks and containers with PyTorch's names, constructor arguments, defaults and
state_dict keys. Training is layer-wise: `y = model(x)`, `dx = model.backward(dy)` (parameter
gradients accumulate into `Parameter.grad`)."""
from .activation import Dropout, ReLU, ReLU6
from .blocks import BasicBlock, Bottleneck, InvertedResidual, conv_bn_act
from .container import Sequential
from .conv import Conv2d
from .linear import Flatten, Identity, Linear
from .loss import CrossEntropyLoss
from .module import ConcurrentUseError, IncompatibleKeys, Module, StateDictError
from .norm import BatchNorm2d
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BasicBlock", "BatchNorm2d", "Bottleneck", "ConcurrentUseError", "Conv2d",
    "CrossEntropyLoss", "Dropout", "Flatten", "Identity", "IncompatibleKeys", "InvertedResidual",
    "Linear", "MaxPool2d", "Module", "Parameter", "ReLU", "ReLU6", "Sequential", "StateDictError",
    "conv_bn_act",
]
