"""Linear layers on the packed GEMM (csrc/ops/gemm.c): forward y = x W^T + b, backward-data
dx = dy W and backward-weights dW = dy^T x are each one GEMM; the weight operand of the first two
is read in place by the first product of a weight version (the GEMM packs each block of it as it
goes: a training step uses each version once) and packed once for the products after it (inference
reuses a version), the other operands per call inside the GEMM."""
import numpy as np

from .. import _kernels
from ._conv import _as_bias
from ._validate import as_float32, check_shape

__all__ = ["linear", "linear_backward", "PackedLinear", "linear_packed", "linear_backward_packed"]


class PackedLinear:
    """Linear weights (out_features, in_features) for the GEMM: W^T for the forward, W for
    backward-data. Each product's first call reads the weights in place; from its second call on,
    they are packed (once, kept) for it: packing ahead costs a pass over the weights to memory and
    back, which a training step, using each weight version once, does not win back (a 25088 x 4096
    weight at batch 16: the packing took longer than the multiply-adds). A packing belongs to the
    ISA level's micro-kernel (its panel width); after a level change it is built again. Build a
    new PackedLinear whenever the weights change."""

    def __init__(self, weight):
        w = as_float32(weight, "weight", 2, "(out_features, in_features)")
        # a private copy: the lazily built backward-data packing must match the forward one even
        # if the caller changes its array in place in between (pooled: a layer packs every step)
        if w is weight:
            w = _kernels.pooled_empty(w.shape, np.float32)
            np.copyto(w, weight)
        self.weight = w
        self.out_features, self.in_features = w.shape
        self._forward = self._transposed = None
        self._calls = {True: 0, False: 0}  # products run so far: x W^T (True), dy W (False)

    @property
    def forward_packing(self):
        """B = W^T (in_features x out_features) in panels: (panels, k, n, nr)."""
        self._forward = _current(self._forward, self.weight, True)
        return self._forward

    @property
    def transposed_packing(self):
        """B = W (out_features x in_features) in panels, for backward-data."""
        self._transposed = _current(self._transposed, self.weight, False)
        return self._transposed


    def product(self, a, transposed, bias=None):
        """a @ W.T + bias (transposed) or a @ W, for a C-contiguous float32 2-d a."""
        if self._calls[transposed]:
            packing = self.forward_packing if transposed else self.transposed_packing
            return _kernels.gemm_packed(a, False, packing, bias)
        self._calls[transposed] += 1
        return _kernels.gemm(a, False, self.weight, transposed, bias)


def _current(packing, w, trans):
    if packing is None or packing[3] != _kernels.gemm_kernel()[2]:
        packing = _kernels.gemm_pack_b(w, trans)
    return packing


def _check_packed(packed):
    if not isinstance(packed, PackedLinear):
        raise TypeError("packed: expected a PackedLinear, got %s" % type(packed).__name__)


def _rows(x, name, features):
    x = as_float32(x, name, 2, "(N, in_features)")
    if x.shape[1] != features:
        raise ValueError("%s: expected %d features, got shape %s" % (name, features, x.shape))
    return x


def linear_packed(x, packed, bias=None):
    """y = x @ W.T + bias for an (N, in_features) float32 array and a PackedLinear."""
    _check_packed(packed)
    x = _rows(x, "input", packed.in_features)
    bias = _as_bias(bias, packed.out_features)
    if x.shape[0] == 0:
        return np.zeros((0, packed.out_features), dtype=np.float32)
    return packed.product(x, True, bias)


def grad_input(dy, packed):
    """dx = dy @ W for a C-contiguous float32 (N, out_features) dy (N may be 0)."""
    if dy.shape[0] == 0:
        return np.zeros((0, packed.in_features), dtype=np.float32)
    return packed.product(dy, False)


def grad_weight(dy, x):
    """dW = dy.T @ x for C-contiguous float32 dy (N, out_features) and x (N, in_features)."""
    return _kernels.gemm(dy, True, x, False)


def linear_backward_packed(dy, x, packed, need_input_grad=True):
    """(grad_input or None, grad_weight, grad_bias) of linear_packed."""
    _check_packed(packed)
    x = _rows(x, "input", packed.in_features)
    dy = as_float32(dy, "grad_output", 2, "(N, out_features)")
    check_shape(dy, "grad_output", (x.shape[0], packed.out_features))
    dx = grad_input(dy, packed) if need_input_grad else None
    return dx, grad_weight(dy, x), dy.sum(axis=0, dtype=np.float32)


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
