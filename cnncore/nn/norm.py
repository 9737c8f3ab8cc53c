"""BatchNorm2d (fused with a following ReLU, residual add + ReLU, or into a preceding convolution
in eval mode, by the graph's fusion rules) and BatchNorm1d."""
import numpy as np

from ..autograd import fusion, norms
from ..autograd.lazy import BatchNormNode
from ..autograd.ops import as_tensor
from ..functional import _norm as N
from ..functional._validate import float_arg, int_arg
from . import _flow
from .module import Module
from .parameter import Parameter


class _RunningStats:
    """What batch and instance norms share: num_features, eps, momentum, the optional affine
    Parameters and running statistics, with PyTorch's names (num_batches_tracked included)."""

    def _init_stats(self, num_features, eps, momentum, affine, track_running_stats):
        self.num_features = int_arg(num_features, "num_features", 1)
        self.eps = float_arg(eps, "eps", 0.0, None, lo_open=True)
        self.momentum = None if momentum is None else float_arg(momentum, "momentum", 0.0, 1.0)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        c = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(c, np.float32))
            self.bias = Parameter(np.zeros(c, np.float32))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, np.float32))
            self.register_buffer("running_var", np.ones(c, np.float32))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def extra_repr(self):
        return "%d, eps=%s, momentum=%s, affine=%s, track_running_stats=%s" % (
            self.num_features, self.eps, self.momentum, self.affine, self.track_running_stats)

    def _running(self, use_batch):
        if self.running_mean is None:
            return None, None
        for name in ("running_mean", "running_var"):  # loaded state may be float64 or read-only
            buf = self._buffers[name]
            if buf.dtype != np.float32 or not buf.flags.c_contiguous or not buf.flags.writeable:
                self._buffers[name] = np.array(buf, dtype=np.float32, order="C", copy=True)
        return self.running_mean, self.running_var


class _BatchNorm(_RunningStats, Module):
    """What BatchNorm1d and BatchNorm2d share (siblings, as in torch, so that code looking for
    BatchNorm2d, such as SyncBatchNorm.convert_sync_batchnorm, does not take a BatchNorm1d)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        Module.__init__(self)
        self._init_stats(num_features, eps, momentum, affine, track_running_stats)

    def flops(self, in_shape, out_shape):
        n = 1
        for d in out_shape:
            n *= d
        return 2 * n

    def _mode(self):
        """(use batch statistics, momentum factor for the running update)."""
        use_batch = self.training or self.running_mean is None
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked = np.array(int(self.num_batches_tracked) + 1, dtype=np.int64)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        return use_batch, factor


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, H, W) per channel, as torch.nn.BatchNorm2d(num_features,
    eps=1e-5, momentum=0.1, affine=True, track_running_stats=True).

    Training normalizes with the batch statistics and updates running_mean / running_var
    (unbiased variance) and num_batches_tracked; eval uses the running statistics. momentum=None
    gives the cumulative moving average, as in PyTorch.
    """

    def _check_input_shape(self, shape):
        N._check_count(shape, self.training or self.running_mean is None)

    def _input_channels(self):
        return self.num_features

    def forward(self, x):
        """bn(x): a pending node, so that a following ReLU (or ReLU of a sum with a residual)
        runs in the same pass; in eval mode it folds into a convolution that produced x."""
        x = _flow.activation(x, self)
        use_batch, factor = self._mode()
        if not use_batch:
            folded = fusion.batch_norm_eval(self, x)
            if folded is not None:
                return folded
        return BatchNormNode.make(self, x, use_batch, factor)[1]


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs (classifier heads), as
    torch.nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True): statistics per channel over N (and L), the same C kernels as
    BatchNorm2d."""

    def forward(self, x):
        x = as_tensor(x, "BatchNorm1d input")
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError("BatchNorm1d input: expected (N, %d) or (N, %d, L), got shape %s"
                             % (self.num_features, self.num_features, x.shape))
        use_batch = self.training or self.running_mean is None
        N._check_count(x.shape, use_batch)
        use_batch, factor = self._mode()
        rm, rv = self._running(use_batch)
        return norms.batch_norm(x, rm, rv, self.weight, self.bias, use_batch, factor, self.eps, "BatchNorm1d")
