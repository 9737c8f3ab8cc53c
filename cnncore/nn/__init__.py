"""Layers, blocks and containers with PyTorch's names, constructor arguments, defaults and
state_dict keys. A module defines forward(); `loss.backward()` (the recorded graph) fills every
Parameter's `.grad`; `model.backward(dy)` differentiates from a given output gradient."""
from ..autograd.engine import ConcurrentUseError
from . import init, utils
from .activation import (ELU, GELU, Dropout, Hardsigmoid, Hardswish, LeakyReLU, LogSoftmax, Mish, ReLU, ReLU6,
                         Sigmoid, SiLU, Softmax, Tanh)
from .blocks import BasicBlock, Bottleneck, InvertedResidual, conv_bn_act
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout2d
from .linear import Flatten, Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss,
                   NLLLoss, SmoothL1Loss)
from .module import IncompatibleKeys, Module, StateDictError
from .norm import BatchNorm1d, BatchNorm2d
from .normalization import GroupNorm, InstanceNorm2d, LayerNorm
from .padding import CircularPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, ZeroPad2d
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d
from .resample import PixelShuffle, PixelUnshuffle, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .stochastic import StochasticDepth, stochastic_depth
from .sync_batchnorm import SyncBatchNorm

__all__ = [
    # containers and base classes
    "ConcurrentUseError", "IncompatibleKeys", "Module", "ModuleDict", "ModuleList", "Parameter",
    "Sequential", "StateDictError", "init", "utils",
    # convolution, linear, reshaping
    "Conv2d", "ConvTranspose2d", "Flatten", "Identity", "Linear",
    # normalization
    "BatchNorm1d", "BatchNorm2d", "GroupNorm", "InstanceNorm2d", "LayerNorm", "SyncBatchNorm",
    # activations and regularization
    "Dropout", "Dropout2d", "ELU", "GELU", "Hardsigmoid", "Hardswish", "LeakyReLU", "LogSoftmax", "Mish",
    "ReLU", "ReLU6", "Sigmoid", "SiLU", "Softmax", "Tanh",
    "StochasticDepth", "stochastic_depth",
    # pooling, resampling, padding
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "MaxPool2d",
    "PixelShuffle", "PixelUnshuffle", "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d",
    "CircularPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d", "ZeroPad2d",
    # losses
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss", "MSELoss",
    "NLLLoss", "SmoothL1Loss",
    # blocks of the bundled models
    "BasicBlock", "Bottleneck", "InvertedResidual", "conv_bn_act",
]
