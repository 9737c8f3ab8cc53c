"""Layers, blocks and containers with PyTorch's names, constructor arguments, defaults and
state_dict keys. A module defines forward(); `loss.backward()` (the recorded graph) fills every
Parameter's `.grad`; `model.backward(dy)` differentiates from a given output gradient."""
from ..autograd.engine import ConcurrentUseError
from .activation import Dropout, Hardsigmoid, Hardswish, ReLU, ReLU6, Sigmoid, SiLU, Tanh
from .blocks import BasicBlock, Bottleneck, InvertedResidual, conv_bn_act
from .container import Sequential
from .conv import Conv2d
from .linear import Flatten, Identity, Linear
from .loss import CrossEntropyLoss
from .module import IncompatibleKeys, Module, StateDictError
from .norm import BatchNorm2d
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .stochastic import StochasticDepth, stochastic_depth
from .pooling import AdaptiveMaxPool2d

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BasicBlock", "BatchNorm2d", "Bottleneck", "ConcurrentUseError", "Conv2d",
    "CrossEntropyLoss", "Dropout", "Flatten", "Hardsigmoid", "Hardswish", "Identity", "IncompatibleKeys",
    "InvertedResidual", "Linear", "MaxPool2d", "Module", "Parameter", "ReLU", "ReLU6", "Sequential",
    "Sigmoid", "SiLU", "StateDictError", "Tanh", "conv_bn_act",
    "StochasticDepth", "stochastic_depth", "AdaptiveMaxPool2d",
]
from .loss import (BCELoss, BCEWithLogitsLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,  # noqa: E402
                   SmoothL1Loss)

__all__ += ["BCELoss", "BCEWithLogitsLoss", "HuberLoss", "KLDivLoss", "L1Loss", "MSELoss", "NLLLoss",
            "SmoothL1Loss"]
from . import init, utils  # noqa: E402
from .container import ModuleDict, ModuleList  # noqa: E402
from .dropout import Dropout2d  # noqa: E402

__all__ += ["Dropout2d", "ModuleDict", "ModuleList", "init", "utils"]
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, Mish, Softmax  # noqa: E402
from .norm import BatchNorm1d  # noqa: E402
from .normalization import GroupNorm, InstanceNorm2d, LayerNorm  # noqa: E402

__all__ += ["BatchNorm1d", "ELU", "GELU", "GroupNorm", "InstanceNorm2d", "LayerNorm", "LeakyReLU",
            "LogSoftmax", "Mish", "Softmax"]
