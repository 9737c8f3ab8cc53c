"""Recorded layer ops on Tensors: pooling, linear, dropout, cross-entropy, and the functional
convolution. Modules call these with the geometry they validated once per input shape; the
functional forms (cnncore.functional with Tensor arguments) validate and then call them too."""
import numpy as np

from .. import _kernels
from ..functional import _pool as P
from ..functional._conv import (PackedConv, conv2d_blocked, conv_backward_data_blocked,
                                conv_backward_weights_blocked, conv_geometry)
from ..functional._layout import Blocked
from ..functional._linear import grad_input, linear_backward_packed, linear_packed
from ..functional._loss import _ce_inputs, _run as _ce_run
from .lazy import blocked_input
from .ops import as_tensor, output, recording
from .values import as_blocked, as_plain


# ---------------------------------------------------------------------------- pooling ---

def max_pool2d(x, g):
    """Max pooling with a PoolGeometry g (the forward keeps the argmax for the backward)."""
    xb = blocked_input(x)
    y, argmax = _kernels.maxpool_forward(g, xb.data)

    def backward(grad, needs):
        dyb = as_blocked(grad)
        gb = P.PoolGeometry(g.n, g.c, g.h, g.w, 1, 1, 1, 1, 0, 0, 1, 1, g.oh, g.ow)
        return [Blocked(_kernels.maxpool_backward(gb, dyb.data, argmax), g.c)]

    return output(Blocked(y, g.c), (g.n, g.c, g.oh, g.ow), [x], "MaxPool2d", backward)


def avg_pool2d(x, g, count_include_pad, divisor_override):
    xb = blocked_input(x)
    div = 0 if divisor_override is None else divisor_override
    y = _kernels.avgpool_forward(g, xb.data, count_include_pad, div)

    def backward(grad, needs):
        return [Blocked(_kernels.avgpool_backward(g, as_blocked(grad).data, count_include_pad, div), g.c)]

    return output(Blocked(y, g.c), (g.n, g.c, g.oh, g.ow), [x], "AvgPool2d", backward)


def adaptive_avg_pool2d(x, g):
    xb = blocked_input(x)
    y = _kernels.adaptive_avgpool_forward(g, xb.data)

    def backward(grad, needs):
        return [Blocked(_kernels.adaptive_avgpool_backward(g, as_blocked(grad).data), g.c)]

    return output(Blocked(y, g.c), (g.n, g.c, g.oh, g.ow), [x], "AdaptiveAvgPool2d", backward)


def adaptive_max_pool2d(x, g):
    """Adaptive max pooling to (g.oh, g.ow) (the forward keeps the argmax for the backward)."""
    xb = blocked_input(x)
    y, argmax = P.adaptive_max_pool2d_blocked(xb, (g.oh, g.ow))

    def backward(grad, needs):
        return [P.adaptive_max_pool2d_backward_blocked(as_blocked(grad), argmax, (g.h, g.w))]

    return output(y, (g.n, g.c, g.oh, g.ow), [x], "AdaptiveMaxPool2d", backward)


# ----------------------------------------------------------------------------- linear ---

def linear(x, packed, weight, bias):
    """y = x @ W.T + b for a 2-d tensor x; weight, bias: the Parameters (bias may be None)."""
    arr = as_plain(x.value)
    params = (weight,) if bias is None else (weight, bias)
    y = linear_packed(arr, packed, None if bias is None else bias.data)
    keep = recording([x], params) and weight.requires_grad

    def backward(grad, needs):
        dy = as_plain(grad)
        if keep:
            dx, dw, db = linear_backward_packed(dy, arr, packed, need_input_grad=needs[0])
            weight.accumulate_grad(dw)
            if bias is not None:
                bias.accumulate_grad(db)
            return [dx]
        if bias is not None and bias.requires_grad:
            bias.accumulate_grad(dy.sum(axis=0, dtype=np.float32))
        if not needs[0]:
            return [None]
        return [grad_input(np.ascontiguousarray(dy, dtype=np.float32), packed)]

    return output(y, y.shape, [x], "Linear", backward, params)


# ---------------------------------------------------------------------------- dropout ---

def dropout(x, p, seed):
    """Training-mode dropout with a seed (the backward regenerates the mask from it)."""
    v = x.value
    if isinstance(v, Blocked):
        y = Blocked(_kernels.dropout_blocked(v.data, v.channels, p, seed), v.channels)
    else:
        y = _kernels.dropout(v, p, seed)

    def backward(grad, needs):
        if isinstance(v, Blocked):
            gb = as_blocked(grad)
            return [Blocked(_kernels.dropout_blocked(gb.data, gb.channels, p, seed), gb.channels)]
        return [_kernels.dropout(np.ascontiguousarray(as_plain(grad)), p, seed)]

    return output(y, x.shape, [x], "Dropout", backward)


# ------------------------------------------------------------------------------- loss ---

def cross_entropy(logits, target):
    """Mean softmax cross-entropy of (N, K) logits against integer targets: a 0-d Tensor."""
    x, t = _ce_inputs(as_plain(logits.value), target)
    want = recording([logits])
    loss, grad = _ce_run(x, t, want)

    def backward(g, needs):
        return [grad * np.float32(as_plain(g).reshape(()))]

    return output(np.asarray(loss, dtype=np.float32), (), [logits], "CrossEntropy", backward)


# ------------------------------------------------------------------------ convolution ---

def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Convolution with Tensor (or array) input, weight and bias: all three get gradients when
    they require them."""
    x, w = as_tensor(input, "input"), as_tensor(weight, "weight")
    b = None if bias is None else as_tensor(bias, "bias")
    if x.ndim != 4:
        raise ValueError("input: expected a 4-d tensor (N, C, H, W), got shape %s" % (x.shape,))
    if w.ndim != 4:
        raise ValueError("weight: expected a 4-d tensor (C_out, C_in/groups, KH, KW), got shape %s" % (w.shape,))
    g = conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
    if b is not None and b.shape != (g.c_out,):
        raise ValueError("bias: expected shape (%d,), got %s" % (g.c_out, b.shape))
    packed = PackedConv(as_plain(w.value), groups)
    xb = blocked_input(x)
    bias_arr = None if b is None else np.ascontiguousarray(as_plain(b.value))
    y = conv2d_blocked(xb, packed, bias_arr, g[7:9], g[9:11], g[11:13])[0]
    inputs = [x, w] if b is None else [x, w, b]

    def backward(grad, needs):
        dyb = as_blocked(grad)
        out = [conv_backward_data_blocked(dyb, packed, g) if needs[0] else None,
               conv_backward_weights_blocked(dyb, xb, packed, g) if needs[1] else None]
        if b is not None:
            out.append(_kernels.bias_grad(dyb.data, g.c_out) if needs[2] else None)
        return out

    return output(y, y.shape, inputs, "Conv2d", backward)
