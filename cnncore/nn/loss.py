"""CrossEntropyLoss."""
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
        if self._grad is None:
            raise RuntimeError("CrossEntropyLoss.backward() called before the loss was computed")
        g = self._grad
        self._grad = None
        return g if grad_output == 1.0 else g * float(grad_output)
