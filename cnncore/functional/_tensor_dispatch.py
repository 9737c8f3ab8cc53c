"""The functional ops with Tensor arguments. Each function here returns a recorded
cnncore.Tensor when any argument is a Tensor, and keeps the NumPy-in, NumPy-out behaviour of
the stateless API otherwise (so `F.relu(array)` is still an array)."""
import numpy as np

from . import _activation, _conv, _conv_transpose, _linear, _loss, _pad, _pool, _resample
from ..autograd.tracehook import traced

__all__ = ["relu", "relu6", "leaky_relu", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid",
           "gelu", "elu", "mish", "softmax", "log_softmax", "conv2d", "linear", "max_pool2d", "avg_pool2d",
           "adaptive_avg_pool2d", "adaptive_max_pool2d", "dropout", "cross_entropy", "flatten", "nll_loss",
           "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "kl_div", "conv_transpose2d",
           "interpolate", "pixel_shuffle", "pixel_unshuffle", "pad"]


def _any_tensor(*args):
    from ..autograd.tensor import Tensor

    return any(isinstance(a, Tensor) for a in args)


def _numpy_result(t):
    """A Tensor op's result for NumPy callers: the values as an array."""
    return t.numpy()


def _autograd():
    from .. import autograd
    from ..autograd import activations, layers, ops

    return autograd, activations, layers, ops


def relu(input):
    """max(input, 0) elementwise (any shape)."""
    if _any_tensor(input):
        return _autograd()[1].relu(input)
    return _activation.relu(input)


def relu6(input):
    """min(max(input, 0), 6) elementwise (any shape)."""
    if _any_tensor(input):
        return _autograd()[1].relu6(input)
    return _activation.relu6(input)


def _numpy_or_tensor(fn_name, doc):
    """A functional activation: recorded on Tensors, NumPy in and out otherwise. `inplace=` is
    accepted as torch's functionals take it (cnncore never modifies an input)."""
    def fn(input, *args, **kwargs):
        kwargs.pop("inplace", None)
        op = getattr(_autograd()[1], fn_name)
        if _any_tensor(input):
            return op(input, *args, **kwargs)
        return _numpy_result(op(input, *args, **kwargs))

    fn.__name__ = fn.__qualname__ = fn_name
    fn.__doc__ = doc
    return fn


_ACTIVATIONS = {
    "leaky_relu": "x if x > 0 else negative_slope * x, as torch.nn.functional.leaky_relu.",
    "sigmoid": "1 / (1 + exp(-x)), as torch.sigmoid.",
    "tanh": "tanh(x), as torch.tanh.",
    "silu": "x * sigmoid(x), as torch.nn.functional.silu.",
    "hardswish": "x * relu6(x + 3) / 6, as torch.nn.functional.hardswish.",
    "hardsigmoid": "relu6(x + 3) / 6, as torch.nn.functional.hardsigmoid.",
    "gelu": "x * Phi(x) (approximate='none') or the tanh approximation, as torch.nn.functional.gelu.",
    "elu": "x if x > 0 else alpha * (exp(x) - 1), as torch.nn.functional.elu.",
    "mish": "x * tanh(softplus(x)), as torch.nn.functional.mish.",
}
globals().update({name: _numpy_or_tensor(name, doc) for name, doc in _ACTIVATIONS.items()})


def softmax(input, dim):
    """exp(x) / sum(exp(x)) along dim, as torch.softmax (computed stably)."""
    op = _autograd()[1].softmax
    return op(input, dim) if _any_tensor(input) else _numpy_result(op(input, dim))


def log_softmax(input, dim):
    """x - logsumexp(x) along dim, as torch.log_softmax (computed stably)."""
    op = _autograd()[1].log_softmax
    return op(input, dim) if _any_tensor(input) else _numpy_result(op(input, dim))


@traced("conv2d")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution, as torch.nn.functional.conv2d: input (N, C_in, H, W), weight (C_out,
    C_in/groups, KH, KW), bias (C_out,) or None; stride, padding (zeros), dilation: an int or a
    pair. Tensor arguments that require grad get gradients."""
    if _any_tensor(input, weight, bias):
        return _autograd()[2].conv2d(input, weight, bias, stride, padding, dilation, groups)
    return _conv.conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution, as torch.nn.functional.conv_transpose2d: input (N, C_in, H, W),
    weight (C_in, C_out/groups, KH, KW), bias (C_out,) or None. Tensor arguments that require
    grad get gradients."""
    if _any_tensor(input, weight, bias):
        from ..autograd import resample

        return resample.conv_transpose2d(input, weight, bias, stride, padding, output_padding,
                                         groups, dilation)
    return _conv_transpose.conv_transpose2d(input, weight, bias, stride, padding, output_padding,
                                            groups, dilation)


def _resample_ops():
    from ..autograd import resample

    return resample


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize a 4-d input, as torch.nn.functional.interpolate (modes 'nearest', 'nearest-exact',
    'bilinear'; size or scale_factor)."""
    if _any_tensor(input):
        t = _tensor_4d(input)
        g = _resample.interp_geometry(t.shape, size, scale_factor, mode, align_corners,
                                      recompute_scale_factor, antialias)
        return _resample_ops().interpolate(t, g)
    return _resample.interpolate(input, size, scale_factor, mode, align_corners,
                                 recompute_scale_factor, antialias)


def _shuffle(input, factor, up):
    t = _tensor_4d(input)
    _, r = _resample.shuffle_shape(t.shape, factor, up)
    return _resample_ops().pixel_shuffle(t, r, up)


def pixel_shuffle(input, upscale_factor):
    """(N, C * r**2, H, W) -> (N, C, H * r, W * r), as torch.nn.functional.pixel_shuffle."""
    if _any_tensor(input):
        return _shuffle(input, upscale_factor, True)
    return _resample.pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input, downscale_factor):
    """(N, C, H * r, W * r) -> (N, C * r**2, H, W), as torch.nn.functional.pixel_unshuffle."""
    if _any_tensor(input):
        return _shuffle(input, downscale_factor, False)
    return _resample.pixel_unshuffle(input, downscale_factor)


def pad(input, pad, mode="constant", value=None):
    """Pad the last two dimensions of a 4-d input, as torch.nn.functional.pad (modes 'constant',
    'reflect', 'replicate', 'circular'; pad (left, right[, top, bottom]))."""
    if _any_tensor(input):
        t = _tensor_4d(input)
        return _resample_ops().pad(t, _pad.pad_geometry(t.shape, pad, mode, value))
    return _pad.pad(input, pad, mode, value)


@traced("linear")
def linear(input, weight, bias=None):
    """input @ weight.T + bias, as torch.nn.functional.linear (input 2-d)."""
    if _any_tensor(input, weight, bias):
        ops = _autograd()[3]
        x = ops.as_tensor(input, "input")
        w = ops.as_tensor(weight, "weight")
        out = _matmul_t(x, w)
        return out if bias is None else ops.add(out, bias)
    return _linear.linear(input, weight, bias)


def _matmul_t(x, w):
    """x @ w.T for 2-d tensors, recorded (gradients for both)."""
    from ..autograd.ops import output
    from ..autograd.values import as_plain

    a, b = as_plain(x.value), as_plain(w.value)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError("input: expected (N, %d) for a weight of shape %s, got %s"
                         % (b.shape[1] if b.ndim == 2 else -1, b.shape, a.shape))
    y = np.ascontiguousarray(a @ b.T, dtype=np.float32)

    def backward(g, needs):
        g = as_plain(g)
        return [np.ascontiguousarray(g @ b, dtype=np.float32) if needs[0] else None,
                np.ascontiguousarray(g.T @ a, dtype=np.float32) if needs[1] else None]

    return output(y, y.shape, [x, w], "MatMulT", backward)


@traced("max_pool2d")
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling, as torch.nn.functional.max_pool2d."""
    if _any_tensor(input):
        if return_indices:
            raise ValueError("return_indices: not available for Tensor inputs (use a NumPy array)")
        t = _tensor_4d(input)
        g = _pool._pool_geometry(t.shape, kernel_size, stride, padding, dilation, ceil_mode)
        return _autograd()[2].max_pool2d(t, g)
    return _pool.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@traced("avg_pool2d")
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling, as torch.nn.functional.avg_pool2d."""
    if _any_tensor(input):
        t = _tensor_4d(input)
        g = _pool._pool_geometry(t.shape, kernel_size, stride, padding, 1, ceil_mode)
        cip, div = _pool._avg_options(count_include_pad, divisor_override)
        return _autograd()[2].avg_pool2d(t, g, cip, div)
    return _pool.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                            divisor_override)


@traced("adaptive_avg_pool2d")
def adaptive_avg_pool2d(input, output_size):
    """2-D adaptive average pooling, as torch.nn.functional.adaptive_avg_pool2d."""
    if _any_tensor(input):
        t = _tensor_4d(input)
        _pool._check_input_sizes(t.shape)
        oh, ow = _pool._adaptive_output_size(output_size, t.shape[2], t.shape[3])
        return _autograd()[2].adaptive_avg_pool2d(t, _pool._adaptive_geometry(t.shape, oh, ow))
    return _pool.adaptive_avg_pool2d(input, output_size)


@traced("adaptive_max_pool2d")
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """2-D adaptive max pooling, as torch.nn.functional.adaptive_max_pool2d."""
    if _any_tensor(input):
        if return_indices:
            raise ValueError("return_indices: not available for Tensor inputs (use a NumPy array)")
        t = _tensor_4d(input)
        _pool._check_input_sizes(t.shape)
        oh, ow = _pool._adaptive_output_size(output_size, t.shape[2], t.shape[3])
        return _autograd()[2].adaptive_max_pool2d(t, _pool._adaptive_geometry(t.shape, oh, ow))
    return _pool.adaptive_max_pool2d(input, output_size, return_indices)


def _tensor_4d(t):
    if t.ndim != 4:
        raise ValueError("input: expected a 4-d tensor (N, C, H, W), got shape %s" % (t.shape,))
    return t


@traced("dropout")
def dropout(input, p=0.5, training=True, seed=None):
    """Dropout, as torch.nn.functional.dropout. With a NumPy input and an int seed, the
    stateless seeded form (cnncore.functional._activation.dropout); with a Tensor, a recorded op
    drawing its seed from cnncore's generator unless one is given."""
    if _any_tensor(input):
        from .. import _random

        p, s, training = _activation._dropout_args(p, 0 if seed is None else seed, training)
        if not training or p == 0:
            return input
        return _autograd()[2].dropout(input, p, _random.next_seed() if seed is None else s)
    return _activation.dropout(input, p, training, 0 if seed is None else seed)


def _losses():
    from ..autograd import losses

    return losses


def _loss_result(t, tensors):
    """A loss's result: the Tensor when a Tensor came in; otherwise a float for a reduced loss
    and an array for reduction='none'."""
    if tensors:
        return t
    return float(t.numpy()) if t.ndim == 0 else t.numpy()


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy, as torch.nn.functional.cross_entropy: input (N, C), (N, C, d1, ...)
    or (C,) logits; target class indices (N, d1, ...) or class probabilities of the input's shape;
    weight (C,), ignore_index, reduction ('mean', 'sum', 'none'), label_smoothing in [0, 1].
    A Tensor (differentiable) for Tensor logits; a float (an array for 'none') otherwise."""
    L = _losses()
    reduction = L.legacy_reduction(size_average, reduce, reduction)
    if (not _any_tensor(input, target, weight) and weight is None and reduction == "mean"
            and ignore_index == -100 and label_smoothing == 0.0
            and np.asarray(input).ndim == 2 and np.asarray(target).dtype.kind in "iu"
            and not (np.asarray(target) == -100).any()):
        return _loss.cross_entropy(input, target)
    return _loss_result(L.cross_entropy(input, target, weight, ignore_index, reduction,
                                        label_smoothing), _any_tensor(input))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities, as torch.nn.functional.nll_loss."""
    L = _losses()
    reduction = L.legacy_reduction(size_average, reduce, reduction)
    return _loss_result(L.nll_loss(input, target, weight, ignore_index, reduction), _any_tensor(input))


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """(input - target)**2 reduced, as torch.nn.functional.mse_loss."""
    L = _losses()
    reduction = L.legacy_reduction(size_average, reduce, reduction)
    return _loss_result(L.mse_loss(input, target, reduction), _any_tensor(input, target))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """|input - target| reduced, as torch.nn.functional.l1_loss."""
    L = _losses()
    reduction = L.legacy_reduction(size_average, reduce, reduction)
    return _loss_result(L.l1_loss(input, target, reduction), _any_tensor(input, target))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Smooth L1 (quadratic below beta, linear above), as torch.nn.functional.smooth_l1_loss."""
    L = _losses()
    reduction = L.legacy_reduction(size_average, reduce, reduction)
    return _loss_result(L.smooth_l1_loss(input, target, reduction, beta), _any_tensor(input, target))


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Huber loss (quadratic below delta, delta-linear above), as torch.nn.functional.huber_loss."""
    return _loss_result(_losses().huber_loss(input, target, reduction, delta),
                        _any_tensor(input, target))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross-entropy of probabilities, as torch.nn.functional.binary_cross_entropy."""
    L = _losses()
    reduction = L.legacy_reduction(size_average, reduce, reduction)
    return _loss_result(L.binary_cross_entropy(input, target, weight, reduction), _any_tensor(input))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy, stable, as
    torch.nn.functional.binary_cross_entropy_with_logits (pos_weight for the positives)."""
    L = _losses()
    reduction = L.legacy_reduction(size_average, reduce, reduction)
    return _loss_result(L.binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight),
                        _any_tensor(input))


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence of target from input (log-probabilities), as torch.nn.functional.kl_div."""
    L = _losses()
    reduction = L.legacy_reduction(size_average, reduce, reduction)
    return _loss_result(L.kl_div(input, target, reduction, log_target), _any_tensor(input))


def flatten(input, start_dim=0, end_dim=-1):
    """Flatten dims start_dim..end_dim, as torch.flatten."""
    ops = _autograd()[3]
    if _any_tensor(input):
        return ops.flatten(input, start_dim, end_dim)
    return ops.flatten(input, start_dim, end_dim).numpy()
