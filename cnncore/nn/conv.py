"""Conv2d and ConvTranspose2d: PyTorch's constructors, defaults, initialization and state_dict keys."""
import math

import numpy as np

from .. import _random
from ..autograd.lazy import ConvNode
from ..autograd.resample import conv_transpose2d_module, pad as pad_op
from ..functional._conv import PackedConv, conv_geometry
from ..functional._pad import pad_geometry
from ..functional._conv_transpose import conv_transpose_geometry, conv_transpose_output_padding
from ..functional._validate import int_arg, pair
from . import _flow
from .module import Module
from .parameter import Parameter

# Conv2d's padding_mode -> the functional.pad mode it pads with
PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


class _ConvNd(Module):
    """What Conv2d and ConvTranspose2d share (as PyTorch's _ConvNd): the checked arguments, the
    weight and bias with PyTorch's initialization (kaiming-uniform with a=sqrt(5):
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = weight.shape[1] * kh * kw), and the weights packed
    for the kernels once per change of their values."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, transposed):
        super().__init__()
        self.in_channels = int_arg(in_channels, "in_channels", 1)
        self.out_channels = int_arg(out_channels, "out_channels", 1)
        self.kernel_size = pair(kernel_size, "kernel_size", 1)
        self.stride = pair(stride, "stride", 1)
        self.padding = pair(padding, "padding", 0)
        self.dilation = pair(dilation, "dilation", 1)
        self.groups = int_arg(groups, "groups", 1)
        self.padding_mode = padding_mode
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError("groups: expected a divisor of in_channels (%d) and out_channels (%d), got %d"
                             % (self.in_channels, self.out_channels, self.groups))
        if transposed:  # (in, out/groups, kh, kw)
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:  # (out, in/groups, kh, kw)
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        bound = 1.0 / math.sqrt(shape[1] * self.kernel_size[0] * self.kernel_size[1])
        self.weight = Parameter(_random.uniform(shape, bound))
        if bias:
            self.bias = Parameter(_random.uniform((self.out_channels,), bound))
        else:
            self.register_parameter("bias", None)
        self._packed = None
        self._packed_from = None
        self._geometry = None

    def extra_repr(self):
        s = "%d, %d, kernel_size=%s, stride=%s" % (self.in_channels, self.out_channels,
                                                   self.kernel_size, self.stride)
        for name, default in (("padding", (0, 0)), ("output_padding", (0, 0)), ("dilation", (1, 1))):
            if getattr(self, name, default) != default:
                s += ", %s=%s" % (name, getattr(self, name))
        if self.groups != 1:
            s += ", groups=%d" % self.groups
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode=%s" % self.padding_mode
        return s

    def packed(self):
        """The weights packed for the kernels, re-packed whenever their values changed."""
        version = self.weight.version
        if self._packed is None or self._packed_from != version:
            self._packed = PackedConv(self.weight._data, self.groups)
            self._packed_from = version
        return self._packed

    def _input_channels(self):
        return self.in_channels


class Conv2d(_ConvNd):
    """2-D convolution over an (N, C_in, H, W) input.

    Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    bias=True, padding_mode='zeros'), as in PyTorch; weight (out, in/groups, kh, kw) and bias
    initialized as PyTorch does. padding_mode 'reflect', 'replicate' or 'circular' pads the input
    with functional.pad first, as PyTorch does.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros"):
        if padding_mode not in PADDING_MODES:
            raise ValueError("padding_mode: expected one of %s, got %r" % (sorted(PADDING_MODES), padding_mode))
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, False)
        self._folded = None
        self._folded_key = None

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

    def forward(self, x):
        """conv(x) + bias: a pending node in the graph, so that a following ReLU or eval-mode
        BatchNorm is fused into it (cnncore.autograd.fusion)."""
        x = _flow.activation(x, self)  # checks the shape, computing its geometry once
        _, g, pad = self._geometry
        if pad is not None:  # padding_mode 'reflect', 'replicate' or 'circular': pad, then no padding
            x = pad_op(x, pad)
        return ConvNode.make(self, x, g)[1]

    def _check_input_shape(self, shape):
        """Validate an input shape (ValueError naming the problem); the geometry is computed once
        per input shape and reused by _run."""
        shape = tuple(shape)
        if self._geometry is None or self._geometry[0] != shape:
            pad, conv_shape, padding = None, shape, self.padding
            if self.padding_mode != "zeros":  # as PyTorch: F.pad(x, (pw, pw, ph, ph), mode), then conv
                ph, pw = self.padding
                pad = pad_geometry(shape, (pw, pw, ph, ph), PADDING_MODES[self.padding_mode])
                conv_shape, padding = pad.out_shape, 0
            g = conv_geometry(conv_shape, self.weight.shape, self.stride, padding, self.dilation, self.groups)
            self._geometry = (shape, g, pad)
        return self._geometry[1]

    def flops(self, in_shape, out_shape):
        n, _, oh, ow = out_shape
        kh, kw = self.kernel_size
        return 2 * n * self.out_channels * oh * ow * (self.in_channels // self.groups) * kh * kw

    def output_shape(self, in_shape):
        g = conv_geometry(in_shape, self.weight.shape, self.stride, self.padding, self.dilation, self.groups)
        return (in_shape[0], self.out_channels, g.oh, g.ow)


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution over an (N, C_in, H, W) input.

    ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
    groups=1, bias=True, dilation=1, padding_mode='zeros'), as in PyTorch: weight
    (in_channels, out_channels/groups, kh, kw), initialized as PyTorch does (bound
    1/sqrt(out_channels/groups * kh * kw) for weight and bias); output size per axis
    (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1, or the size asked
    for with forward(input, output_size). It runs on the convolution kernels: its forward is the
    backward-data of the convolution that has its weight.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros"):
        if padding_mode != "zeros":
            raise ValueError("padding_mode: expected 'zeros' (the only mode of ConvTranspose2d, as in "
                             "PyTorch), got %r" % (padding_mode,))
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, True)
        self.output_padding = pair(output_padding, "output_padding", 0)
        for k in range(2):
            if self.output_padding[k] >= self.stride[k] and self.output_padding[k] >= self.dilation[k]:
                raise ValueError("output_padding: expected values smaller than stride %s or dilation %s, "
                                 "got %s" % (self.stride, self.dilation, self.output_padding))

    def _check_input_shape(self, shape, output_padding=None):
        shape = tuple(shape)
        op = self.output_padding if output_padding is None else output_padding
        key = (shape, op)
        if self._geometry is None or self._geometry[0] != key:
            g = conv_transpose_geometry(shape, self.weight.shape, self.stride, self.padding, op,
                                        self.groups, self.dilation)
            self._geometry = (key, g)
        return self._geometry[1]

    def forward(self, x, output_size=None):
        """The transposed convolution of x; `output_size` ((H, W), or a shape ending in them)
        picks the output_padding that gives that size."""
        x = _flow.activation(x, self)
        op = None
        if output_size is not None:
            op = conv_transpose_output_padding(x.shape[2:], output_size, self.kernel_size, self.stride,
                                               self.padding, self.dilation)
        g = self._check_input_shape(x.shape, op)
        return conv_transpose2d_module(x, self.packed(), g, self.weight, self.bias)

    def flops(self, in_shape, out_shape):
        n, _, h, w = in_shape
        kh, kw = self.kernel_size
        return 2 * n * self.in_channels * h * w * (self.out_channels // self.groups) * kh * kw

    def output_shape(self, in_shape):
        g = conv_transpose_geometry(in_shape, self.weight.shape, self.stride, self.padding,
                                    self.output_padding, self.groups, self.dilation)
        return (in_shape[0], self.out_channels, g.h, g.w)
