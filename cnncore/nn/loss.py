"""Loss modules with torch.nn's names, constructor arguments and defaults: CrossEntropyLoss,
NLLLoss, MSELoss, L1Loss, SmoothL1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss.

loss = crit(input, target) returns a Tensor (0-d unless reduction='none'): `loss.backward()`
differentiates the whole graph, float(loss) is its value; crit.backward() returns d loss / d input
of the last call (times grad_output)."""
import numbers

import numpy as np

from ..autograd import losses as L
from .module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss",
           "MSELoss", "NLLLoss", "SmoothL1Loss"]


def _optional_array(value, name):
    if value is None:
        return None
    arr = np.asarray(value.numpy() if hasattr(value, "numpy") and not isinstance(value, np.ndarray)
                     else value)
    if arr.dtype.kind not in "fiu":
        raise TypeError("%s: expected a real numeric array or None, got dtype %s" % (name, arr.dtype))
    return np.array(arr, dtype=np.float32, copy=True)


class _Loss(Module):
    """Base of the losses: the reduction (torch's deprecated size_average / reduce honoured) and
    the explicit backward."""

    _tensor_args = 1  # targets stay as given (integer classes, probabilities)

    def __init__(self, size_average=None, reduce=None, reduction="mean", allowed=("mean", "sum", "none")):
        super().__init__()
        self.reduction = L.check_reduction(L.legacy_reduction(size_average, reduce, reduction), allowed)

    def backward(self, grad_output=1.0, input_grad=True):
        """Gradient of the last loss w.r.t. its input, times grad_output (a number for a reduced
        loss, an array of the loss's shape for reduction='none')."""
        if self.reduction != "none":
            if isinstance(grad_output, (bool, np.bool_)) or not isinstance(grad_output, numbers.Real):
                if not (isinstance(grad_output, np.ndarray) and grad_output.ndim == 0
                        and grad_output.dtype.kind in "fiu"):
                    raise TypeError("grad_output: expected a number (the gradient of the scalar "
                                    "loss), got %r" % (grad_output,))
            grad_output = np.float32(grad_output)
        if self.__dict__.get("_last_call") is None:
            raise RuntimeError("%s.backward() called before the loss was computed" % type(self).__name__)
        return super().backward(grad_output, input_grad)

    def extra_repr(self):
        return "reduction=%r" % self.reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _optional_array(weight, "weight"))


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy, as torch.nn.CrossEntropyLoss.

    Args:
        weight: (C,) class weights or None.
        ignore_index: target value whose positions add nothing (default -100).
        reduction: 'mean' (default; divided by the summed weights of the counted targets),
            'sum' or 'none'.
        label_smoothing: in [0, 1] (default 0): the target becomes (1 - s) one-hot + s / C.

    input: (N, C), (N, C, d1, ...) (per-pixel, e.g. segmentation) or (C,) logits; target: class
    indices of shape (N, d1, ...), or class probabilities of the input's shape (float). The
    integer-target mean without weight or smoothing on 2-d logits runs one fused C pass.
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        if not isinstance(ignore_index, numbers.Integral) or isinstance(ignore_index, bool):
            raise TypeError("ignore_index: expected an int, got %r" % (ignore_index,))
        self.ignore_index = int(ignore_index)
        self.label_smoothing = L._real(label_smoothing, "label_smoothing", 0.0, 1.0)

    def forward(self, input, target):
        return L.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (e.g. LogSoftmax outputs), as
    torch.nn.NLLLoss: weight (C,) or None, ignore_index (default -100), reduction."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        if not isinstance(ignore_index, numbers.Integral) or isinstance(ignore_index, bool):
            raise TypeError("ignore_index: expected an int, got %r" % (ignore_index,))
        self.ignore_index = int(ignore_index)

    def forward(self, input, target):
        return L.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """Mean squared error (input - target)**2, as torch.nn.MSELoss (reduction as there)."""

    def forward(self, input, target):
        return L.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error |input - target|, as torch.nn.L1Loss."""

    def forward(self, input, target):
        return L.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """0.5 d**2 / beta for |d| < beta, else |d| - 0.5 beta, as torch.nn.SmoothL1Loss
    (beta >= 0, default 1.0)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = L._real(beta, "beta", 0.0)

    def forward(self, input, target):
        return L.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """0.5 d**2 for |d| < delta, else delta (|d| - 0.5 delta), as torch.nn.HuberLoss
    (delta > 0, default 1.0)."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(None, None, reduction)
        self.delta = L._real(delta, "delta", 0.0)
        if self.delta == 0.0:
            raise ValueError("delta: expected a number > 0, got %r" % (delta,))

    def forward(self, input, target):
        return L.huber_loss(input, target, self.reduction, self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities in [0, 1], as torch.nn.BCELoss (weight: broadcast
    to the input's shape, or None)."""

    def forward(self, input, target):
        return L.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable step, as torch.nn.BCEWithLogitsLoss:
    weight (broadcast to the input) and pos_weight (the positives' weight, broadcast along the
    trailing dims, e.g. (C,) for (N, C) or (C, 1, 1) for images), or None."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _optional_array(weight, "weight"))
        self.register_buffer("pos_weight", _optional_array(pos_weight, "pos_weight"))

    def forward(self, input, target):
        return L.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence, as torch.nn.KLDivLoss: input log-probabilities, target
    probabilities (log-probabilities with log_target=True); reduction 'mean' (torch's default,
    the mean over elements), 'batchmean' (the sum over the batch size: the true KL), 'sum',
    'none'."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction, ("mean", "batchmean", "sum", "none"))
        if not isinstance(log_target, (bool, np.bool_)):
            raise TypeError("log_target: expected a bool, got %r" % (log_target,))
        self.log_target = bool(log_target)

    def forward(self, input, target):
        return L.kl_div(input, target, self.reduction, self.log_target)
