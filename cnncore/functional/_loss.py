"""Softmax cross-entropy loss on (N, K) logits with integer class targets.

softmax_cross_entropy returns the loss and its gradient from one pass over the logits (what a
training step uses); cross_entropy and cross_entropy_backward are the two halves, as in torch.
"""
import numpy as np

from .. import _kernels
from ._validate import as_float32, as_labels

__all__ = ["cross_entropy", "cross_entropy_backward", "softmax_cross_entropy"]


def _ce_inputs(input, target):
    x = as_float32(input, "input", 2, "(N, K) of class scores")
    n, k = x.shape
    if k == 0:
        raise ValueError("input: expected at least one class (K >= 1), got shape %s" % (x.shape,))
    t = as_labels(target, "target", n, k)
    return x, t


def _run(x, t, want_grad):
    if x.shape[0] == 0:  # mean over an empty batch: NaN, as torch
        return float("nan"), (np.zeros(x.shape, np.float32) if want_grad else None)
    return _kernels.softmax_cross_entropy(x, t, want_grad)


def cross_entropy(input, target):
    """Mean cross-entropy of logits against class indices, as torch.nn.functional.cross_entropy
    with integer targets and reduction='mean'.

    input: (N, K) scores (any real dtype); target: (N,) integers in [0, K). Computed stably
    (log-sum-exp with the row maximum subtracted). Returns a Python float (NaN for N == 0).
    """
    x, t = _ce_inputs(input, target)
    return _run(x, t, False)[0]


def cross_entropy_backward(input, target):
    """Gradient of cross_entropy with respect to input: (softmax(input) - onehot(target)) / N,
    float32 (N, K)."""
    x, t = _ce_inputs(input, target)
    return _run(x, t, True)[1]


def softmax_cross_entropy(input, target):
    """cross_entropy and its gradient in one pass: (loss as a float, grad (N, K) float32)."""
    x, t = _ce_inputs(input, target)
    return _run(x, t, True)
