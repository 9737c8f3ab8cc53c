"""Transposed convolution (conv_transpose2d), forward and backward, on the convolution kernels.

A transposed convolution is the backward-data of the convolution whose weight it shares:
weight (C_in, C_out/groups, KH, KW) read as the OIHW weight of a convolution from C_out/groups*groups
channels to C_in channels. So its forward is that convolution's backward-data, its input gradient
the convolution's forward, and its weight gradient the convolution's backward-weights with input
and output gradient swapped. No convolution loop of its own: the geometry below is the
convolution's (input = our output, output = our input).
"""
import numpy as np

from .. import _kernels
from ._conv import (PackedConv, _as_bias, conv2d_blocked, conv_backward_data_blocked,
                    conv_backward_weights_blocked, conv_geometry)
from ._layout import Blocked, from_blocked, to_blocked
from ._validate import as_float32, check_alloc, check_shape, int_arg, pair

__all__ = ["conv_transpose2d", "conv_transpose2d_backward", "conv_transpose_geometry",
           "conv_transpose_output_padding"]


def _transposed_size(size, kernel, stride, padding, dilation, output_padding):
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def conv_transpose_geometry(x_shape, w_shape, stride=1, padding=0, output_padding=0, groups=1,
                            dilation=1):
    """Check a transposed convolution's arguments; returns the ConvGeometry of the convolution it
    transposes (its h, w: our output size; its oh, ow: our input size)."""
    s = pair(stride, "stride", 1)
    p = pair(padding, "padding", 0)
    op = pair(output_padding, "output_padding", 0)
    d = pair(dilation, "dilation", 1)
    groups = int_arg(groups, "groups", 1)
    n, c_in, h, w = x_shape
    wc_in, opg, kh, kw = w_shape
    if c_in < 1:
        raise ValueError("input: expected at least one channel, got shape %s" % (tuple(x_shape),))
    if c_in % groups:
        raise ValueError("groups: expected a divisor of the input's %d channels, got %d" % (c_in, groups))
    if wc_in != c_in:
        raise ValueError("weight: expected shape (%d, C_out/groups, KH, KW) for an input with %d "
                         "channels, got %s" % (c_in, c_in, tuple(w_shape)))
    if opg == 0 or kh == 0 or kw == 0:
        raise ValueError("weight: expected non-zero C_out/groups, KH and KW, got shape %s" % (tuple(w_shape),))
    for k in range(2):
        if op[k] >= s[k] and op[k] >= d[k]:
            raise ValueError("output_padding: expected values smaller than stride %s or dilation %s, "
                             "got %s" % (s, d, op))
    out = tuple(_transposed_size(size, kk, s[k], p[k], d[k], op[k])
                for k, (size, kk) in enumerate(((h, kh), (w, kw))))
    if min(out) < 1:
        raise ValueError("input: spatial size (%d, %d) with kernel (%d, %d), stride %s, padding %s "
                         "and dilation %s gives an output of (%d, %d)"
                         % (h, w, kh, kw, s, p, d, out[0], out[1]))
    check_alloc("output", (n, -(-opg * groups // 16), out[0], out[1], 16))
    g = conv_geometry((n, opg * groups, out[0], out[1]), w_shape, s, p, d, groups)
    # output_padding >= stride (allowed below dilation) leaves the convolution's last rows
    # without an input: the geometry's output is our input, whatever size it would have
    return g._replace(oh=h, ow=w)


def conv_transpose_output_padding(input_hw, output_size, kernel_size, stride, padding, dilation):
    """The output_padding that gives `output_size` (its last two entries), as
    torch.nn.ConvTranspose2d.forward(input, output_size) picks it: each size must lie in
    [smallest, smallest + stride - 1], the smallest being the size with output_padding 0."""
    try:
        size = tuple(output_size)[-2:]
    except TypeError:
        raise TypeError("output_size: expected a sequence of ints, got %r" % (output_size,)) from None
    if len(size) != 2:
        raise ValueError("output_size: expected (H, W) or a longer shape ending in them, got %r"
                         % (output_size,))
    size = tuple(int_arg(v, "output_size", 1) for v in size)
    lo = tuple(_transposed_size(input_hw[k], kernel_size[k], stride[k], padding[k], dilation[k], 0)
               for k in range(2))
    hi = tuple(lo[k] + stride[k] - 1 for k in range(2))
    if not all(lo[k] <= size[k] <= hi[k] for k in range(2)):
        raise ValueError("output_size: expected sizes from %s to %s for an input of spatial size %s, "
                         "got %s" % (lo, hi, tuple(input_hw), size))
    return tuple(size[k] - lo[k] for k in range(2))


def add_bias_blocked(yb, bias):
    """yb + bias per channel, in place on a buffer the caller owns (padded lanes stay zero)."""
    if bias is not None:
        cb = yb.data.shape[1]
        b16 = np.zeros(cb * 16, np.float32)
        b16[:bias.shape[0]] = bias
        yb.data += b16.reshape(1, cb, 1, 1, 16)
    return yb


def conv_transpose2d_blocked(xb, packed, g, bias=None):
    """Transposed convolution of a Blocked input (the backward-data of the convolution `g`)."""
    return add_bias_blocked(conv_backward_data_blocked(xb, packed, g), bias)


def conv_transpose2d_input_grad_blocked(dyb, packed, g):
    """Gradient w.r.t. a transposed convolution's input: the convolution `g` of dyb."""
    dx = conv2d_blocked(dyb, packed, None, g[7:9], g[9:11], g[11:13])[0]
    if dx.shape[2:] != (g.oh, g.ow):  # output_padding >= stride: the extra rows had no input
        dx = Blocked(np.ascontiguousarray(dx.data[:, :, :g.oh, :g.ow]), dx.channels)
    return dx


def conv_transpose2d_weight_grad_blocked(dyb, xb, packed, g):
    """Gradient w.r.t. the (C_in, C_out/groups, KH, KW) weight: the convolution's backward-weights
    with its input (our output gradient) and output gradient (our input) swapped."""
    return conv_backward_weights_blocked(xb, dyb, packed, g)


def _inputs(input, weight, groups):
    x = as_float32(input, "input", 4, "(N, C_in, H, W)")
    w = as_float32(weight, "weight", 4, "(C_in, C_out/groups, KH, KW)")
    int_arg(groups, "groups", 1)
    return x, w


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution, as torch.nn.functional.conv_transpose2d.

    input (N, C_in, H, W); weight (C_in, C_out/groups, KH, KW); bias (C_out,) or None; stride,
    padding, output_padding, dilation: an int or a pair. Output size per axis:
    (H - 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1.
    """
    x, w = _inputs(input, weight, groups)
    g = conv_transpose_geometry(x.shape, w.shape, stride, padding, output_padding, groups, dilation)
    b = _as_bias(bias, g.c_in)
    return from_blocked(conv_transpose2d_blocked(to_blocked(x), PackedConv(w, groups), g, b))


def conv_transpose2d_backward(grad_output, input, weight, stride=1, padding=0, output_padding=0,
                              groups=1, dilation=1):
    """Gradients of conv_transpose2d: (grad_input, grad_weight, grad_bias); grad_bias is
    grad_output summed over N, H, W (use it only if there was a bias)."""
    x, w = _inputs(input, weight, groups)
    g = conv_transpose_geometry(x.shape, w.shape, stride, padding, output_padding, groups, dilation)
    dy = as_float32(grad_output, "grad_output", 4, "(N, C_out, OH, OW)")
    check_shape(dy, "grad_output", (g.n, g.c_in, g.h, g.w))
    dyb, xb, packed = to_blocked(dy, "grad_output"), to_blocked(x), PackedConv(w, groups)
    dx = conv_transpose2d_input_grad_blocked(dyb, packed, g)
    dw = conv_transpose2d_weight_grad_blocked(dyb, xb, packed, g)
    return from_blocked(dx), dw, _kernels.bias_grad(dyb.data, g.c_in)
