"""Linear layers as a 1x1 convolution over a 1 x N "image": the batch becomes the pixel row, so
the same packed-GEMM micro-kernels (pixels x 16 outputs in registers, weights streamed in packed
order) serve both, and the backward passes are the convolution's."""
import numpy as np

from .. import _kernels
from ._conv import ConvGeometry, PackedConv, _as_bias
from ._validate import as_float32, check_shape

__all__ = ["linear", "linear_backward", "PackedLinear", "linear_packed", "linear_backward_packed"]


class PackedLinear(PackedConv):
    """Linear weights (out_features, in_features) packed for the kernels."""

    def __init__(self, weight):
        w = as_float32(weight, "weight", 2, "(out_features, in_features)")
        super().__init__(w.reshape(w.shape[0], w.shape[1], 1, 1), 1)
        self.out_features, self.in_features = w.shape


def _check_packed(packed):
    if not isinstance(packed, PackedLinear):
        raise TypeError("packed: expected a PackedLinear, got %s" % type(packed).__name__)


def _rows(x, name, features):
    x = as_float32(x, name, 2, "(N, in_features)")
    if x.shape[1] != features:
        raise ValueError("%s: expected %d features, got shape %s" % (name, features, x.shape))
    return x


def _rows_to_blocked(x, features):
    """(N, F) -> (1, ceil(F/16), 1, N, 16): features blocked, the batch along the pixel row."""
    n = x.shape[0]
    fb = (features + 15) // 16
    padded = np.zeros((n, fb * 16), dtype=np.float32)
    padded[:, :features] = x
    return np.ascontiguousarray(padded.reshape(n, fb, 16).transpose(1, 0, 2)).reshape(1, fb, 1, n, 16)


def _blocked_to_rows(yb, features):
    fb, n = yb.shape[1], yb.shape[3]
    return np.ascontiguousarray(yb.reshape(fb, n, 16).transpose(1, 0, 2).reshape(n, fb * 16)[:, :features])


def _geometry(n, packed):
    return ConvGeometry(1, packed.in_features, 1, n, packed.out_features, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, n)


def linear_packed(x, packed, bias=None):
    """y = x @ W.T + bias for an (N, in_features) float32 array and a PackedLinear."""
    _check_packed(packed)
    x = _rows(x, "input", packed.in_features)
    bias = _as_bias(bias, packed.out_features)
    n = x.shape[0]
    if n == 0:
        return np.zeros((0, packed.out_features), dtype=np.float32)
    g = _geometry(n, packed)
    p, lo, cnt, _ = packed.forward_packing
    yb = _kernels.conv_forward(g, _rows_to_blocked(x, packed.in_features), p, lo, cnt, bias, False)
    return _blocked_to_rows(yb, packed.out_features)


def linear_backward_packed(dy, x, packed, need_input_grad=True):
    """(grad_input or None, grad_weight, grad_bias) of linear_packed."""
    _check_packed(packed)
    x = _rows(x, "input", packed.in_features)
    dy = as_float32(dy, "grad_output", 2, "(N, out_features)")
    check_shape(dy, "grad_output", (x.shape[0], packed.out_features))
    n = x.shape[0]
    if n == 0:
        gi = np.zeros((0, packed.in_features), dtype=np.float32) if need_input_grad else None
        return (gi, np.zeros((packed.out_features, packed.in_features), dtype=np.float32),
                np.zeros(packed.out_features, dtype=np.float32))
    g = _geometry(n, packed)
    dyb = _rows_to_blocked(dy, packed.out_features)
    xb = _rows_to_blocked(x, packed.in_features)
    dx = None
    if need_input_grad:
        pt, lot, cntt, _ = packed.transposed_packing
        dx = _blocked_to_rows(_kernels.conv_backward_data(g, dyb, pt, lot, cntt), packed.in_features)
    _, lo, cnt, nicb_max = packed.forward_packing
    dwp = _kernels.conv_backward_weights(g, xb, dyb, lo, cnt, nicb_max)
    dw = _kernels.conv_unpack(g, dwp, lo).reshape(packed.out_features, packed.in_features)
    db = _kernels.bias_grad(dyb, packed.out_features)
    return dx, dw, db


def _linear_inputs(input, weight):
    x = as_float32(input, "input", 2, "(N, in_features)")
    w = as_float32(weight, "weight", 2, "(out_features, in_features)")
    if x.shape[1] != w.shape[1]:
        raise ValueError("input: expected %d features (weight is %s), got shape %s"
                         % (w.shape[1], w.shape, x.shape))
    if w.shape[0] == 0 or w.shape[1] == 0:
        raise ValueError("weight: expected non-zero out_features and in_features, got shape %s" % (w.shape,))
    return x, w


def linear(input, weight, bias=None):
    """y = input @ weight.T + bias, as torch.nn.functional.linear.

    input (N, in_features); weight (out_features, in_features); bias (out_features,) or None.
    """
    x, w = _linear_inputs(input, weight)
    b = _as_bias(bias, w.shape[0])
    return linear_packed(x, PackedLinear(w), b)


def linear_backward(grad_output, input, weight):
    """Gradients of linear: (grad_input, grad_weight, grad_bias)."""
    x, w = _linear_inputs(input, weight)
    dy = as_float32(grad_output, "grad_output", 2, "(N, out_features)")
    check_shape(dy, "grad_output", (x.shape[0], w.shape[0]))
    return linear_backward_packed(dy, x, PackedLinear(w))
