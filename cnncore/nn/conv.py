"""Conv2d: torch.nn.Conv2d's constructor, defaults, initialization and state_dict keys."""
import math

import numpy as np

from .. import _random
from ..autograd.lazy import ConvNode
from ..functional._conv import PackedConv, conv_geometry
from ..functional._validate import int_arg, pair
from . import _flow
from .module import Module
from .parameter import Parameter


class Conv2d(Module):
    """2-D convolution over an (N, C_in, H, W) input.

    Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    bias=True, padding_mode='zeros'), as in PyTorch; weight (out, in/groups, kh, kw) and bias
    initialized as PyTorch does (kaiming-uniform with a=sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
    The weights are packed for the kernels once per change of their values.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros"):
        super().__init__()
        self.in_channels = int_arg(in_channels, "in_channels", 1)
        self.out_channels = int_arg(out_channels, "out_channels", 1)
        self.kernel_size = pair(kernel_size, "kernel_size", 1)
        self.stride = pair(stride, "stride", 1)
        self.padding = pair(padding, "padding", 0)
        self.dilation = pair(dilation, "dilation", 1)
        self.groups = int_arg(groups, "groups", 1)
        if padding_mode != "zeros":
            raise ValueError("padding_mode: expected 'zeros' (the only mode cnncore implements), got %r"
                             % (padding_mode,))
        self.padding_mode = padding_mode
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError("groups: expected a divisor of in_channels (%d) and out_channels (%d), got %d"
                             % (self.in_channels, self.out_channels, self.groups))
        fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = Parameter(_random.uniform(
            (self.out_channels, self.in_channels // self.groups) + self.kernel_size, bound))
        if bias:
            self.bias = Parameter(_random.uniform((self.out_channels,), bound))
        else:
            self.register_parameter("bias", None)
        self._packed = None
        self._packed_from = None
        self._folded = None
        self._folded_key = None
        self._geometry = None

    def extra_repr(self):
        s = "%d, %d, kernel_size=%s, stride=%s" % (self.in_channels, self.out_channels,
                                                   self.kernel_size, self.stride)
        if self.padding != (0, 0):
            s += ", padding=%s" % (self.padding,)
        if self.dilation != (1, 1):
            s += ", dilation=%s" % (self.dilation,)
        if self.groups != 1:
            s += ", groups=%d" % self.groups
        if self.bias is None:
            s += ", bias=False"
        return s

    def packed(self):
        """The weights packed for the kernels, re-packed whenever their values changed."""
        version = self.weight.version
        if self._packed is None or self._packed_from != version:
            self._packed = PackedConv(self.weight._data, self.groups)
            self._packed_from = version
        return self._packed

    def _bias(self):
        return None if self.bias is None else self.bias.data

    def _fold(self, bn):
        """Weights and bias with an eval-mode BatchNorm folded in: w * s, (b - mean) * s + beta,
        s = gamma / sqrt(running_var + eps). Cached until any of them changes."""
        key = (self.weight.version, None if self.bias is None else self.bias.version,
               None if bn.weight is None else (bn.weight.version, bn.bias.version),
               bn.running_mean.tobytes(), bn.running_var.tobytes(), bn.eps)
        if self._folded is None or self._folded_key != key:
            invstd = 1.0 / np.sqrt(bn.running_var.astype(np.float64) + bn.eps)
            gamma = np.ones(self.out_channels) if bn.weight is None else bn.weight.data.astype(np.float64)
            beta = np.zeros(self.out_channels) if bn.bias is None else bn.bias.data.astype(np.float64)
            scale = gamma * invstd
            b = np.zeros(self.out_channels) if self.bias is None else self.bias.data.astype(np.float64)
            w = (self.weight.data.astype(np.float64) * scale[:, None, None, None]).astype(np.float32)
            bias = ((b - bn.running_mean) * scale + beta).astype(np.float32)
            self._folded = (PackedConv(w, self.groups), bias, scale, invstd)
            self._folded_key = key
        return self._folded

    def _input_channels(self):
        return self.in_channels

    def forward(self, x):
        """conv(x) + bias: a pending node in the graph, so that a following ReLU or eval-mode
        BatchNorm is fused into it (cnncore.autograd.fusion)."""
        x = _flow.activation(x, self)
        return ConvNode.make(self, x, self._check_input_shape(x.shape))[1]

    def _check_input_shape(self, shape):
        """Validate an input shape (ValueError naming the problem); the geometry is computed once
        per input shape and reused by _run."""
        shape = tuple(shape)
        if self._geometry is None or self._geometry[0] != shape:
            g = conv_geometry(shape, self.weight.shape, self.stride, self.padding, self.dilation, self.groups)
            self._geometry = (shape, g)
        return self._geometry[1]

    def flops(self, in_shape, out_shape):
        n, _, oh, ow = out_shape
        kh, kw = self.kernel_size
        return 2 * n * self.out_channels * oh * ow * (self.in_channels // self.groups) * kh * kw

    def output_shape(self, in_shape):
        g = conv_geometry(in_shape, self.weight.shape, self.stride, self.padding, self.dilation, self.groups)
        return (in_shape[0], self.out_channels, g.oh, g.ow)
