"""GroupNorm, LayerNorm and InstanceNorm2d, with PyTorch's constructor arguments, defaults and
state_dict keys. On 4-d inputs all three run one C operator on the blocked layout (statistics per
image and group of channels: GroupNorm's groups, LayerNorm's one group over (C, H, W) with a
per-element affine, InstanceNorm's one channel per group)."""
import numpy as np

from ..autograd import norms
from ..autograd.ops import as_tensor
from ..functional import _normalization as FN
from ..functional._validate import float_arg, int_arg
from .module import Module
from .norm import _RunningStats
from .parameter import Parameter


def _input(module, x, min_ndim=2):
    t = as_tensor(x, "%s input" % type(module).__name__)
    if t.ndim < min_ndim:
        raise ValueError("%s input: expected at least %d dimensions, got shape %s"
                         % (type(module).__name__, min_ndim, t.shape))
    return t


def _channels(module, t, c):
    if t.shape[1] != c:
        raise ValueError("%s input: expected %d channels, got shape %s" % (type(module).__name__, c, t.shape))
    FN._check_pixels(t)


class GroupNorm(Module):
    """Group normalization, as torch.nn.GroupNorm(num_groups, num_channels, eps=1e-5,
    affine=True): per image, the channels in num_groups groups of num_channels / num_groups,
    each normalized over its channels and pixels; then a per-channel weight and bias."""

    _keeps_channels = True

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True):
        super().__init__()
        self.num_groups = int_arg(num_groups, "num_groups", 1)
        self.num_channels = int_arg(num_channels, "num_channels", 1)
        if self.num_channels % self.num_groups:
            raise ValueError("num_channels: expected a multiple of num_groups (%d), got %d"
                             % (self.num_groups, self.num_channels))
        self.eps = float_arg(eps, "eps", 0.0, None)
        self.affine = bool(affine)
        if self.affine:
            self.weight = Parameter(np.ones(self.num_channels, np.float32))
            self.bias = Parameter(np.zeros(self.num_channels, np.float32))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def extra_repr(self):
        return "%d, %d, eps=%s, affine=%s" % (self.num_groups, self.num_channels, self.eps, self.affine)

    def forward(self, x):
        t = _input(self, x)
        _channels(self, t, self.num_channels)
        return FN._group_norm(t, self.num_groups, self.weight, self.bias, self.eps)[0]

    def flops(self, in_shape, out_shape):
        return 4 * int(np.prod(out_shape, dtype=np.int64))


class LayerNorm(Module):
    """Layer normalization, as torch.nn.LayerNorm(normalized_shape, eps=1e-5,
    elementwise_affine=True, bias=True): each sample normalized over its trailing dims
    normalized_shape, then an elementwise weight and bias of that shape. Over (C, H, W) of a 4-d
    input it runs on the blocked layout; other shapes ((N, D), (N, L, D), ...) on plain values."""

    _keeps_channels = True

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True):
        super().__init__()
        self.normalized_shape = FN.normalized_shape_arg(normalized_shape)
        self.eps = float_arg(eps, "eps", 0.0, None)
        self.elementwise_affine = bool(elementwise_affine)
        shape = self.normalized_shape
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(shape, np.float32))
            if bias:
                self.bias = Parameter(np.zeros(shape, np.float32))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def extra_repr(self):
        return "%s, eps=%s, elementwise_affine=%s" % (self.normalized_shape, self.eps,
                                                      self.elementwise_affine)

    def forward(self, x):
        t = _input(self, x, min_ndim=1)
        shape = self.normalized_shape
        if t.ndim < len(shape) or tuple(t.shape[t.ndim - len(shape):]) != shape:
            raise ValueError("LayerNorm input: expected trailing dimensions %s, got shape %s"
                             % (shape, t.shape))
        if t.ndim == 4 and len(shape) == 3:
            return norms.group_norm(t, 1, self.weight, self.bias, self.eps, per_pixel=True,
                                    name="LayerNorm")[0]
        return norms.layer_norm_plain(t, shape, self.weight, self.bias, self.eps)

    def flops(self, in_shape, out_shape):
        return 4 * int(np.prod(out_shape, dtype=np.int64))


class InstanceNorm2d(_RunningStats, Module):
    """Instance normalization, as torch.nn.InstanceNorm2d(num_features, eps=1e-5, momentum=0.1,
    affine=False, track_running_stats=False): each image's channels normalized over their
    pixels. With track_running_stats, training updates running_mean / running_var with the
    batch averages of the instance statistics (unbiased variance; momentum=None: no update, as
    torch) and eval normalizes with them."""

    _keeps_channels = True

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False):
        Module.__init__(self)
        self._init_stats(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x):
        t = _input(self, x)
        if t.ndim != 4:
            raise ValueError("InstanceNorm2d input: expected a 4-d array (N, C, H, W), got shape %s"
                             % (t.shape,))
        c = self.num_features
        _channels(self, t, c)
        use_input_stats = self.training or self.running_mean is None
        rm, rv = self._running(use_input_stats)
        if not use_input_stats:
            return norms.batch_norm(t, rm, rv, self.weight, self.bias, False, 0.0, self.eps, "InstanceNorm2d")
        y, mean, invstd = FN._group_norm(t, c, self.weight, self.bias, self.eps, name="InstanceNorm2d")
        if self.training and rm is not None and self.momentum is not None:
            FN.update_running(rm, rv, mean, invstd, self.eps, t.shape[2] * t.shape[3], self.momentum)
        return y

    def flops(self, in_shape, out_shape):
        return 4 * int(np.prod(out_shape, dtype=np.int64))
