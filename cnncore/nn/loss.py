"""CrossEntropyLoss."""
import numbers

import numpy as np

from ..functional._loss import softmax_cross_entropy
from .module import Module


class CrossEntropyLoss(Module):
    """Softmax cross-entropy with integer class targets, mean over the batch.

    loss = crit(logits, target) returns a float; crit.backward() returns d loss / d logits.
    """

    def __init__(self):
        super().__init__()
        self._grad = None

    def forward(self, input, target):
        loss, self._grad = softmax_cross_entropy(input, target)
        return loss

    def backward(self, grad_output=1.0):
        """Gradient of the last loss w.r.t. its logits, times grad_output (a scalar)."""
        if isinstance(grad_output, (bool, np.bool_)) or not isinstance(grad_output, numbers.Real):
            if not (isinstance(grad_output, np.ndarray) and grad_output.ndim == 0
                    and grad_output.dtype.kind in "fiu"):
                raise TypeError("grad_output: expected a number (the gradient of the scalar loss), "
                                "got %r" % (grad_output,))
        if self._grad is None:
            raise RuntimeError("CrossEntropyLoss.backward() called before the loss was computed")
        g = self._grad
        self._grad = None
        return g if grad_output == 1.0 else g * float(grad_output)
