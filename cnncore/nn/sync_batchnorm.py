"""SyncBatchNorm: batch normalization whose batch statistics (and their backward sums) are
reduced over every rank of the process group, so N ranks with batch B/N compute what one process
computes with batch B."""
import numpy as np

from .. import _kernels
from ..autograd.ops import output
from ..autograd.values import as_blocked
from ..functional._layout import BLOCK, Blocked
from . import _flow
from .norm import BatchNorm2d


def _per_lane(v, c, blocks):
    """A per-channel vector laid out as the blocked data's (1, C/16, 1, 1, 16) lanes, padding 0."""
    out = np.zeros(blocks * BLOCK, np.float32)
    out[:c] = v
    return out.reshape(1, blocks, 1, 1, BLOCK)


class SyncBatchNorm(BatchNorm2d):
    """Batch normalization with statistics over the whole distributed batch, as
    torch.nn.SyncBatchNorm(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True, process_group=None) for (N, C, H, W) inputs.

    In training mode with an initialized process group of more than one rank, the mean and
    (biased) variance are those of the batches of all ranks together (one float64 allreduce of
    the count, sums and sums of squares per forward), the running statistics get the unbiased
    variance of that global batch, and backward reduces sum(dy) and sum(dy * x_hat) so the input
    gradient is the global batch's; the weight and bias gradients are this rank's part (the
    DistributedDataParallel reduction averages them, as in PyTorch). Otherwise it is
    BatchNorm2d. Every rank must call it in the same order (it is a collective).
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None):
        if process_group is not None:
            raise ValueError("process_group: expected None (the default MPI group), got %r" % (process_group,))
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.process_group = None

    def forward(self, x):
        from .. import distributed

        if not (self.training and distributed.is_initialized() and distributed.get_world_size() > 1):
            return super().forward(x)
        x = _flow.activation(x, self)
        _, factor = self._mode()
        return _sync_batch_norm(self, x, factor, distributed.process_group.sum_over_ranks)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """`module` with every BatchNorm2d replaced by a SyncBatchNorm holding the same
        Parameters and a copy of its buffers (the module itself if it is one); returns it."""
        if process_group is not None:
            raise ValueError("process_group: expected None (the default MPI group), got %r" % (process_group,))
        if isinstance(module, BatchNorm2d) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats)
            if module.affine:
                out.weight, out.bias = module.weight, module.bias
            for name, buf in module._buffers.items():
                out._buffers[name] = None if buf is None else np.array(buf, copy=True)
            out.train(module.training)
            return out
        for name, child in list(module._modules.items()):
            if child is not None:
                module._modules[name] = cls.convert_sync_batchnorm(child)
        return module


def _sync_batch_norm(bn, x, factor, reduce):
    """The recorded SyncBatchNorm op on a 4-d Tensor x; reduce(float64 vector) -> its sum over
    the ranks (called once in forward, once in backward, by every rank). The batch-norm kernels do
    the passes over the data: this rank's statistics (training form), the normalization with the
    global ones (eval form), and in backward the local sums and dy * weight * invstd, to which the
    global mean terms are then added."""
    xb = as_blocked(x.value)
    data, c = xb.data, xb.channels
    blocks = data.shape[1]
    n, _, h, w = xb.shape
    local = n * h * w
    if local:
        _, m, invstd = _kernels.batch_norm_forward(data, c, None, False, None, None, True, 0.0, bn.eps, None, None)
        m = m.astype(np.float64)
        var = 1.0 / np.square(invstd.astype(np.float64)) - bn.eps
    else:
        m = var = np.zeros(c)
    total = reduce(np.concatenate([[local], local * m, local * (var + m * m)]))
    count = total[0]
    if count <= 1:
        raise ValueError("Expected more than 1 value per channel when training, got input size %s on "
                         "all ranks together" % (tuple(xb.shape),))
    mean = total[1:1 + c] / count
    var = np.maximum(total[1 + c:] / count - mean * mean, 0.0)
    if bn.running_mean is not None:
        rm, rv = bn._running(True)
        rm *= np.float32(1.0 - factor)
        rm += (factor * mean).astype(np.float32)
        rv *= np.float32(1.0 - factor)
        rv += (factor * var * count / (count - 1)).astype(np.float32)
    weight = None if bn.weight is None else bn.weight.data
    bias = None if bn.bias is None else bn.bias.data
    mean32, var32 = mean.astype(np.float32), var.astype(np.float32)
    if local:
        y, save_mean, save_invstd = _kernels.batch_norm_forward(data, c, None, False, weight, bias, False, 0.0,
                                                               bn.eps, mean32, var32)
    else:
        y, save_mean, save_invstd = np.zeros_like(data), mean32, (1.0 / np.sqrt(var + bn.eps)).astype(np.float32)
    params = [p for p in (bn.weight, bn.bias) if p is not None]

    def backward(grad, needs):
        dy = as_blocked(grad).data
        if local:
            dx, _, dw, db = _kernels.batch_norm_backward(dy, data, c, None, False, weight, save_mean, save_invstd,
                                                         False)  # dx = dy * weight * invstd
        else:
            dx, dw, db = np.zeros_like(data), np.zeros(c, np.float32), np.zeros(c, np.float32)
        if bn.weight is not None:
            bn.weight.accumulate_grad(dw)
            bn.bias.accumulate_grad(db)
        glob = reduce(np.concatenate([db, dw]))  # sum(dy), sum(dy * x_hat) over all ranks
        istd = save_invstd.astype(np.float64)
        a = istd if weight is None else weight * istd
        k1, k2 = a * glob[:c] / count, a * istd * glob[c:] / count
        # dx = a * (dy - mean(dy) - x_hat * mean(dy * x_hat)) = dx - k1 - (x - mean) * k2
        t = data * _per_lane(k2, c, blocks)
        t += _per_lane(k1 - mean32 * k2, c, blocks)
        dx -= t
        return [Blocked(dx, c)]

    return output(Blocked(y, c), xb.shape, [x], "SyncBatchNorm", backward, params)
