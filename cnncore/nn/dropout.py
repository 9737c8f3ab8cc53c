"""Dropout2d: channel-wise dropout (torch.nn.Dropout2d)."""
import numpy as np

from .. import _random
from ..autograd.ops import as_tensor, mul
from .activation import Dropout

__all__ = ["Dropout2d"]


class Dropout2d(Dropout):
    """Zeroes whole channels of an (N, C, H, W) input with probability p in training, scaling the
    kept ones by 1/(1-p); identity in eval mode (torch.nn.Dropout2d). The (N, C) mask is drawn
    from cnncore's generator (cnncore.manual_seed); the gradient goes through the same mask."""

    def forward(self, x):
        x = as_tensor(x, "Dropout2d input")
        if x.ndim != 4:
            raise ValueError("Dropout2d input: expected a 4-d array (N, C, H, W), got shape %s"
                             % (tuple(x.shape),))
        if not (self.training and self.p > 0):
            return x
        n, c = x.shape[:2]
        keep = _random.generator().random((n, c)) >= self.p
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        mask = (keep * scale).astype(np.float32).reshape(n, c, 1, 1)
        return mul(x, mask)
