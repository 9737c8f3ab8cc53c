"""BatchNorm2d, with the fused forms its containers use: BN+ReLU and BN+add+ReLU."""
import numpy as np

from ..functional import _norm as N
from ..functional._validate import float_arg, int_arg
from . import _flow
from .module import Module
from .parameter import Parameter


class BatchNorm2d(Module):
    """Batch normalization over (N, H, W) per channel, as torch.nn.BatchNorm2d(num_features,
    eps=1e-5, momentum=0.1, affine=True, track_running_stats=True).

    Training normalizes with the batch statistics and updates running_mean / running_var
    (unbiased variance) and num_batches_tracked; eval uses the running statistics. momentum=None
    gives the cumulative moving average, as in PyTorch.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
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
        self._cache = None

    def extra_repr(self):
        return "%d, eps=%s, momentum=%s, affine=%s, track_running_stats=%s" % (
            self.num_features, self.eps, self.momentum, self.affine, self.track_running_stats)

    def _mode(self):
        """(use batch statistics, momentum factor for the running update)."""
        use_batch = self.training or self.running_mean is None
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked = np.array(int(self.num_batches_tracked) + 1, dtype=np.int64)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        return use_batch, factor

    def _running(self, use_batch):
        if self.running_mean is None:
            return None, None
        for name in ("running_mean", "running_var"):  # loaded state may be float64 or read-only
            buf = self._buffers[name]
            if buf.dtype != np.float32 or not buf.flags.c_contiguous or not buf.flags.writeable:
                self._buffers[name] = np.array(buf, dtype=np.float32, order="C", copy=True)
        return self.running_mean, self.running_var

    def _check_input_shape(self, shape):
        N._check_count(shape, self.training or self.running_mean is None)

    def forward(self, x, relu=False, residual=None):
        """relu(bn(x) [+ residual]) when relu=True (fused, one pass); plain bn(x) by default."""
        xb, was_array = _flow.enter(x, self)
        if xb.channels != self.num_features:
            raise ValueError("BatchNorm2d input: expected %d channels, got shape %s"
                             % (self.num_features, xb.shape))
        use_batch, factor = self._mode()
        rm, rv = self._running(use_batch)
        w = None if self.weight is None else self.weight.data
        b = None if self.bias is None else self.bias.data
        args = (rm, rv, w, b, use_batch, factor, self.eps)
        if residual is not None:
            rb, _ = _flow.enter(residual, self)
            yb, mean, invstd = N.batch_norm_add_relu_blocked(xb, rb, *args)
        elif relu:
            yb, mean, invstd = N.batch_norm_relu_blocked(xb, *args)
        else:
            yb, mean, invstd = N.batch_norm_blocked(xb, *args)
        self._cache = (xb, yb if (relu or residual is not None) else None, residual is not None,
                       mean, invstd, use_batch, was_array)
        _flow.record(self, xb.shape, yb.shape)
        return _flow.leave(yb, was_array)

    def backward(self, grad_output, input_grad=True):
        """Accumulate weight/bias gradients; return the input gradient, or (input gradient,
        residual gradient) after a forward with a residual."""
        if self._cache is None:
            raise _flow.no_cache_error(self)
        xb, yb, has_residual, mean, invstd, use_batch, was_array = self._cache
        dyb = _flow.grad_enter(grad_output, xb.shape, self)
        w = np.ones(self.num_features, np.float32) if self.weight is None else self.weight.data
        dr = None
        if has_residual:
            dx, dr, dw, db = N.batch_norm_add_relu_backward_blocked(dyb, yb, xb, w, mean, invstd, use_batch)
        elif yb is not None:
            dx, dw, db = N.batch_norm_relu_backward_blocked(dyb, yb, xb, w, mean, invstd, use_batch)
        else:
            dx, dw, db = N.batch_norm_backward_blocked(dyb, xb, w, mean, invstd, use_batch)
        if self.weight is not None:
            self.weight.accumulate_grad(dw)
            self.bias.accumulate_grad(db)
        self._cache = None
        dx = _flow.leave(dx, was_array)
        if has_residual:
            return dx, _flow.leave(dr, was_array)
        return dx

    def flops(self, in_shape, out_shape):
        n = 1
        for d in out_shape:
            n *= d
        return 2 * n
