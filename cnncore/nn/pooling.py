"""MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d (torch.nn's signatures and defaults)."""
from ..autograd import layers as L
from ..functional import _pool as P
from . import _flow
from .module import Module


class _Pool(Module):
    _keeps_channels = True

    def __init__(self):
        super().__init__()
        self._geom = None

    def _check_input_shape(self, shape):
        self._geometry(tuple(shape))

    def _geometry(self, shape):
        """The pooling geometry of an input shape (validated), computed once per shape."""
        if self._geom is None or self._geom[0] != shape:
            self._geom = (shape, self._make_geometry(shape))
        return self._geom[1]

    def forward(self, x):
        x = _flow.activation(x, self)
        return self._op(x, self._geometry(x.shape))


class MaxPool2d(_Pool):
    """Max pooling, as torch.nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1,
    return_indices=False, ceil_mode=False). The forward keeps the argmax for the backward."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        P._pool_args(kernel_size, stride, padding, dilation, ceil_mode)
        if return_indices:
            raise ValueError("return_indices: MaxPool2d modules keep indices internally; use "
                             "cnncore.functional.max_pool2d(..., return_indices=True) for them")
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode
        self.return_indices = False

    def extra_repr(self):
        return "kernel_size=%s, stride=%s, padding=%s, dilation=%s, ceil_mode=%s" % (
            self.kernel_size, self.stride if self.stride is not None else self.kernel_size,
            self.padding, self.dilation, self.ceil_mode)

    def _make_geometry(self, shape):
        return P._pool_geometry(shape, self.kernel_size, self.stride, self.padding, self.dilation,
                                self.ceil_mode)

    def _op(self, x, g):
        return L.max_pool2d(x, g)

    def flops(self, in_shape, out_shape):
        k = self.kernel_size if isinstance(self.kernel_size, (tuple, list)) else (self.kernel_size,) * 2
        return out_shape[0] * out_shape[1] * out_shape[2] * out_shape[3] * k[0] * k[1]


class AvgPool2d(_Pool):
    """Average pooling, as torch.nn.AvgPool2d(kernel_size, stride=None, padding=0,
    ceil_mode=False, count_include_pad=True, divisor_override=None)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        P._pool_args(kernel_size, stride, padding, 1, ceil_mode)
        self._options = P._avg_options(count_include_pad, divisor_override)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self):
        return "kernel_size=%s, stride=%s, padding=%s" % (
            self.kernel_size, self.stride if self.stride is not None else self.kernel_size, self.padding)

    def _make_geometry(self, shape):
        return P._pool_geometry(shape, self.kernel_size, self.stride, self.padding, 1, self.ceil_mode)

    def _op(self, x, g):
        cip, div = self._options
        return L.avg_pool2d(x, g, cip, div)

    def flops(self, in_shape, out_shape):
        k = self.kernel_size if isinstance(self.kernel_size, (tuple, list)) else (self.kernel_size,) * 2
        return out_shape[0] * out_shape[1] * out_shape[2] * out_shape[3] * k[0] * k[1]


class _AdaptivePool(_Pool):
    """Adaptive pooling to `output_size` (an int, or a pair of ints or None)."""

    def __init__(self, output_size):
        super().__init__()
        P._adaptive_output_size(output_size, 1, 1)
        self.output_size = output_size

    def extra_repr(self):
        return "output_size=%s" % (self.output_size,)

    def _make_geometry(self, shape):
        P._check_input_sizes(shape)
        oh, ow = P._adaptive_output_size(self.output_size, shape[2], shape[3])
        return P._adaptive_geometry(shape, oh, ow)

    def flops(self, in_shape, out_shape):
        return in_shape[0] * in_shape[1] * in_shape[2] * in_shape[3]


class AdaptiveAvgPool2d(_AdaptivePool):
    """Adaptive average pooling to `output_size`, as torch.nn.AdaptiveAvgPool2d."""

    def _op(self, x, g):
        return L.adaptive_avg_pool2d(x, g)


class AdaptiveMaxPool2d(_AdaptivePool):
    """Adaptive max pooling to `output_size`, as torch.nn.AdaptiveMaxPool2d(output_size,
    return_indices=False). The forward keeps the argmax for the backward."""

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        if return_indices:
            raise ValueError("return_indices: AdaptiveMaxPool2d modules keep indices internally; use "
                             "cnncore.functional.adaptive_max_pool2d(..., return_indices=True) for them")
        self.return_indices = False

    def _op(self, x, g):
        return L.adaptive_max_pool2d(x, g)
