"""CrossEntropyLoss."""
import numbers

import numpy as np

from ..autograd.layers import cross_entropy
from ..autograd.ops import as_tensor
from .module import Module


class CrossEntropyLoss(Module):
    """Softmax cross-entropy with integer class targets, mean over the batch.

    loss = crit(logits, target) returns a 0-d Tensor: `loss.backward()` differentiates the whole
    graph, float(loss) is its value; crit.backward() returns d loss / d logits.
    """

    _tensor_args = 1  # the targets stay integers

    def forward(self, input, target):
        return cross_entropy(as_tensor(input, "input"), target)

    def backward(self, grad_output=1.0, input_grad=True):
        """Gradient of the last loss w.r.t. its logits, times grad_output (a number)."""
        if isinstance(grad_output, (bool, np.bool_)) or not isinstance(grad_output, numbers.Real):
            if not (isinstance(grad_output, np.ndarray) and grad_output.ndim == 0
                    and grad_output.dtype.kind in "fiu"):
                raise TypeError("grad_output: expected a number (the gradient of the scalar loss), "
                                "got %r" % (grad_output,))
        if self.__dict__.get("_last_call") is None:
            raise RuntimeError("CrossEntropyLoss.backward() called before the loss was computed")
        return super().backward(np.float32(grad_output), input_grad)
