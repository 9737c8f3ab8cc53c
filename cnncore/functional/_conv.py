"""Convolution: conv2d and its fused ReLU form, forward and backward.

The public functions take NCHW arrays and OIHW weights like torch.nn.functional.conv2d. The
*_blocked functions are the internal entry points for the layer API: they take Blocked activations
and a PackedConv, whose packings are built once per weight update.
"""
from typing import NamedTuple

import numpy as np

from .. import _kernels
from ._layout import Blocked, check_blocked, from_blocked, to_blocked
from ._validate import as_float32, check_alloc, check_shape, check_sizes, int_arg, pair


class ConvGeometry(NamedTuple):
    """Every size of one convolution (the tuple the C layer reads)."""
    n: int
    c_in: int
    h: int
    w: int
    c_out: int
    kh: int
    kw: int
    sh: int
    sw: int
    ph: int
    pw: int
    dh: int
    dw: int
    groups: int
    oh: int
    ow: int


def conv_output_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_geometry(x_shape, w_shape, stride=1, padding=0, dilation=1, groups=1):
    """Check the arguments of a convolution and compute its geometry (raises ValueError/TypeError)."""
    sh, sw = pair(stride, "stride", 1)
    ph, pw = pair(padding, "padding", 0)
    dh, dw = pair(dilation, "dilation", 1)
    groups = int_arg(groups, "groups", 1)
    n, c_in, h, w = x_shape
    c_out, cpg, kh, kw = w_shape
    if c_in % groups:
        raise ValueError("groups: expected a divisor of the input's %d channels, got %d" % (c_in, groups))
    if c_out % groups:
        raise ValueError("groups: expected a divisor of the weight's %d output channels, got %d"
                         % (c_out, groups))
    if cpg * groups != c_in:
        raise ValueError(
            "weight: expected shape (C_out, %d, KH, KW) for an input with %d channels and groups=%d, got %s"
            % (c_in // groups, c_in, groups, tuple(w_shape)))
    if c_out == 0 or kh == 0 or kw == 0:
        raise ValueError("weight: expected non-zero C_out, KH and KW, got shape %s" % (tuple(w_shape),))
    if c_in == 0:
        raise ValueError("input: expected at least one channel, got shape %s" % (tuple(x_shape),))
    check_sizes("stride", stride=max(sh, sw))
    check_sizes("padding", padded_height=h + 2 * ph, padded_width=w + 2 * pw)
    check_sizes("dilation", kernel_span=max(dh * (kh - 1), dw * (kw - 1)))
    eff_h, eff_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if eff_h > h + 2 * ph or eff_w > w + 2 * pw:
        raise ValueError(
            "weight: kernel (%d, %d) with dilation (%d, %d) spans (%d, %d), larger than the padded "
            "input (%d, %d)" % (kh, kw, dh, dw, eff_h, eff_w, h + 2 * ph, w + 2 * pw))
    oh = conv_output_size(h, kh, sh, ph, dh)
    ow = conv_output_size(w, kw, sw, pw, dw)
    check_alloc("output", (n, -(-c_out // 16), oh, ow, 16))
    return ConvGeometry(n, c_in, h, w, c_out, kh, kw, sh, sw, ph, pw, dh, dw, groups, oh, ow)


class PackedConv:
    """A convolution's weights packed for the kernels: the forward packing, and (built on first
    use) the transposed packing of backward-data. Depthwise convolutions (groups == C_in == C_out)
    get their own packing. Build a new one whenever the weights change."""

    def __init__(self, weight, groups=1):
        w = as_float32(weight, "weight", 4, "(C_out, C_in/groups, KH, KW)")
        # a private copy: the lazily built transposed packing must match the forward one even if
        # the caller changes its array in place in between
        self.weight = w.copy() if w is weight else w
        self.groups = int_arg(groups, "groups", 1)
        c_out, cpg, kh, kw = self.weight.shape
        self.c_out, self.c_in, self.kh, self.kw = c_out, cpg * self.groups, kh, kw
        self.depthwise = cpg == 1 and self.groups == c_out and self.groups > 1
        if c_out % self.groups:
            raise ValueError("groups: expected a divisor of the weight's %d output channels, got %d"
                             % (c_out, self.groups))
        # packing depends only on channels, groups and taps: a geometry with dummy spatial sizes
        self._pack_geom = ConvGeometry(1, self.c_in, kh, kw, c_out, kh, kw, 1, 1, 0, 0, 1, 1,
                                       self.groups, 1, 1)
        if self.depthwise:
            self.forward_packing = _kernels.dwconv_pack(self._pack_geom, self.weight, False)
        else:
            self.forward_packing = _kernels.conv_pack(self._pack_geom, self.weight, False)
        self._transposed = None

    @property
    def transposed_packing(self):
        if self._transposed is None:
            if self.depthwise:
                self._transposed = _kernels.dwconv_pack(self._pack_geom, self.weight, True)
            else:
                self._transposed = _kernels.conv_pack(self._pack_geom, self.weight, True)
        return self._transposed


def _as_bias(bias, c_out):
    if bias is None:
        return None
    b = as_float32(bias, "bias", 1, "(C_out,)")
    check_shape(b, "bias", (c_out,))
    return b


def _shares_blocks(packed):
    """A grouped (not depthwise) convolution whose groups share 16-channel blocks. Its kernels
    compute whole blocks and rely on zero weights between groups, which a NaN or Inf turns into
    NaN (0 * inf): such inputs take the group-by-group path below instead."""
    g = packed.groups
    return (g > 1 and not packed.depthwise
            and bool((packed.c_in // g) % 16 or (packed.c_out // g) % 16))


def _by_group(arr, c_arr, packed, run):
    """Concatenate run(k, NCHW slice of group k of arr, PackedConv of group k) over the groups."""
    x = from_blocked(Blocked(arr, c_arr))
    step, wstep = c_arr // packed.groups, packed.c_out // packed.groups
    outs = [from_blocked(run(k, x[:, k * step:(k + 1) * step],
                             PackedConv(packed.weight[k * wstep:(k + 1) * wstep])))
            for k in range(packed.groups)]
    return to_blocked(np.concatenate(outs, axis=1)).data


def _check_packed(packed):
    if not isinstance(packed, PackedConv):
        raise TypeError("packed: expected a PackedConv, got %s" % type(packed).__name__)


def conv2d_blocked(xb, packed, bias=None, stride=1, padding=0, dilation=1, relu=False, act=None):
    """Convolution of a Blocked input with PackedConv weights; returns (Blocked output, geometry).
    The kernel's epilogue runs a ReLU (relu=True) or the activation `act`, a (kind, alpha) pair of
    cnn_act.h (cnncore.autograd.activations.Act), which takes precedence."""
    kind, alpha = (act[0], act[1]) if act is not None else (int(bool(relu)), 0.0)
    check_blocked(xb, "input")
    _check_packed(packed)
    g = conv_geometry(xb.shape, packed.weight.shape, stride, padding, dilation, packed.groups)
    bias = _as_bias(bias, g.c_out)  # the kernels read C_out float32s from it
    if g.ph or g.pw:  # the C operator's zero-padded copy of the input
        check_alloc("padded input", (g.n, -(-g.c_in // 16), g.h + 2 * g.ph, g.w + 2 * g.pw, 16))
    if packed.depthwise:
        y = _kernels.dwconv_forward(g, xb.data, packed.forward_packing, bias, kind, alpha)
    elif _shares_blocks(packed) and not np.isfinite(xb.data).all():
        opg = g.c_out // g.groups
        y = _by_group(xb.data, g.c_in, packed, lambda k, x, p: conv2d_blocked(
            to_blocked(x), p, None if bias is None else bias[k * opg:(k + 1) * opg],
            stride, padding, dilation, relu, act)[0])
    else:
        p, lo, cnt, _ = packed.forward_packing
        y = _kernels.conv_forward(g, xb.data, p, lo, cnt, bias, kind, alpha)
    return Blocked(y, g.c_out), g


def conv2d_backward_blocked(dyb, xb, packed, g, need_input_grad=True):
    """Gradients of a convolution: (Blocked grad_input or None, grad_weight OIHW, grad_bias)."""
    if not isinstance(g, ConvGeometry):
        raise TypeError("g: expected the ConvGeometry conv2d_blocked returned, got %s" % type(g).__name__)
    _check_packed(packed)
    check_blocked(dyb, "grad_output")
    check_blocked(xb, "input")
    if tuple(xb.shape) != (g.n, g.c_in, g.h, g.w):
        raise ValueError("input: expected shape %s (the geometry's), got %s"
                         % ((g.n, g.c_in, g.h, g.w), tuple(xb.shape)))
    if tuple(dyb.shape) != (g.n, g.c_out, g.oh, g.ow):
        raise ValueError("grad_output: expected shape %s (the forward output's), got %s"
                         % ((g.n, g.c_out, g.oh, g.ow), tuple(dyb.shape)))
    if (packed.c_out, packed.c_in, packed.kh, packed.kw, packed.groups) != (g.c_out, g.c_in, g.kh, g.kw, g.groups):
        raise ValueError("packed: expected weights of shape %s and groups=%d (the geometry's), got %s "
                         "and groups=%d" % ((g.c_out, g.c_in // g.groups, g.kh, g.kw), g.groups,
                                            packed.weight.shape, packed.groups))
    if need_input_grad and (g.sh > 1 or g.sw > 1):  # the C operator's scratch for one stride phase
        check_alloc("grad_input stride phase", (g.n, -(-g.c_in // 16), -(-g.h // g.sh), -(-g.w // g.sw), 16))
    if g.ph or g.pw:
        check_alloc("padded input", (g.n, -(-g.c_in // 16), g.h + 2 * g.ph, g.w + 2 * g.pw, 16))
    dx = conv_backward_data_blocked(dyb, packed, g) if need_input_grad else None
    dw = conv_backward_weights_blocked(dyb, xb, packed, g)
    db = _kernels.bias_grad(dyb.data, g.c_out)
    return dx, dw, db


def conv_backward_data_blocked(dyb, packed, g):
    """The input gradient of a convolution (Blocked), trusting a geometry that matches dyb."""
    if packed.depthwise:
        return Blocked(_kernels.dwconv_backward_data(g, dyb.data, packed.transposed_packing), g.c_in)
    if _shares_blocks(packed) and not np.isfinite(dyb.data).all():
        gk = g._replace(c_in=g.c_in // g.groups, c_out=g.c_out // g.groups, groups=1)
        return Blocked(_by_group(dyb.data, g.c_out, packed, lambda k, dy, p: Blocked(
            _kernels.conv_backward_data(gk, to_blocked(dy).data, *p.transposed_packing[:3]),
            gk.c_in)), g.c_in)
    pt, lot, cntt, _ = packed.transposed_packing
    return Blocked(_kernels.conv_backward_data(g, dyb.data, pt, lot, cntt), g.c_in)


def conv_backward_weights_blocked(dyb, xb, packed, g):
    """The weight gradient (OIHW) of a convolution, trusting a geometry that matches xb, dyb."""
    if packed.depthwise:
        return _kernels.dwconv_unpack(g, _kernels.dwconv_backward_weights(g, xb.data, dyb.data))
    _, lo, cnt, nicb_max = packed.forward_packing
    dwp = _kernels.conv_backward_weights(g, xb.data, dyb.data, lo, cnt, nicb_max)
    return _kernels.conv_unpack(g, dwp, lo)


def relu_mask_blocked(dyb, yb):
    """Gradient through a ReLU whose (Blocked) output was yb."""
    check_blocked(dyb, "grad_output")
    check_blocked(yb, "output")
    if dyb.shape != yb.shape:
        raise ValueError("output: expected the shape of grad_output %s, got %s" % (dyb.shape, yb.shape))
    return Blocked(_kernels.relu_backward(dyb.data, yb.data), dyb.channels)


def _conv_inputs(input, weight, bias, groups):
    x = as_float32(input, "input", 4, "(N, C, H, W)")
    w = as_float32(weight, "weight", 4, "(C_out, C_in/groups, KH, KW)")
    int_arg(groups, "groups", 1)
    return x, w


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution, as torch.nn.functional.conv2d.

    input (N, C_in, H, W); weight (C_out, C_in/groups, KH, KW); bias (C_out,) or None; stride,
    padding (zeros), dilation: an int or a pair. Returns (N, C_out, OH, OW) float32.
    """
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, relu=False)


def conv2d_relu(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """relu(conv2d(...)) in one pass (the ReLU runs in the kernel's epilogue)."""
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, relu=True)


def _conv2d(input, weight, bias, stride, padding, dilation, groups, relu):
    x, w = _conv_inputs(input, weight, bias, groups)
    conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)  # validate before packing
    b = _as_bias(bias, w.shape[0])
    y, _ = conv2d_blocked(to_blocked(x), PackedConv(w, groups), b, stride, padding, dilation, relu)
    return from_blocked(y)


def conv2d_backward(grad_output, input, weight, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of conv2d: returns (grad_input, grad_weight, grad_bias).

    grad_output (N, C_out, OH, OW) is the gradient of conv2d(input, weight, ...)'s output;
    grad_bias is grad_output summed over N, OH, OW (use it only if the convolution had a bias).
    """
    x, w = _conv_inputs(input, weight, None, groups)
    g = conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
    dy = as_float32(grad_output, "grad_output", 4, "(N, C_out, OH, OW)")
    check_shape(dy, "grad_output", (g.n, g.c_out, g.oh, g.ow))
    dx, dw, db = conv2d_backward_blocked(to_blocked(dy, "grad_output"), to_blocked(x), PackedConv(w, groups), g)
    return from_blocked(dx), dw, db


def conv2d_relu_backward(grad_output, output, input, weight, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of conv2d_relu given its output: (grad_input, grad_weight, grad_bias)."""
    x, w = _conv_inputs(input, weight, None, groups)
    g = conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
    dy = as_float32(grad_output, "grad_output", 4, "(N, C_out, OH, OW)")
    y = as_float32(output, "output", 4, "(N, C_out, OH, OW)")
    check_shape(dy, "grad_output", (g.n, g.c_out, g.oh, g.ow))
    check_shape(y, "output", (g.n, g.c_out, g.oh, g.ow))
    masked = np.where(y > 0, dy, np.float32(0))
    dx, dw, db = conv2d_backward_blocked(to_blocked(masked, "grad_output"), to_blocked(x), PackedConv(w, groups), g)
    return from_blocked(dx), dw, db
