"""Upsample (and UpsamplingNearest2d / UpsamplingBilinear2d), PixelShuffle and PixelUnshuffle:
torch.nn's signatures and defaults, on cnncore.functional's interpolation and pixel shuffle."""
from ..autograd import resample as A
from ..functional import _resample as R
from ..functional._validate import int_arg
from . import _flow
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle"]


class Upsample(Module):
    """Resize (N, C, H, W) inputs, as torch.nn.Upsample(size=None, scale_factor=None,
    mode='nearest', align_corners=None, recompute_scale_factor=None): modes 'nearest',
    'nearest-exact' and 'bilinear', PyTorch's index formulas (see functional.interpolate)."""

    _keeps_channels = True

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        R.check_interp_options(size, scale_factor, mode, align_corners, recompute_scale_factor)
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor
        self._geom = None

    def extra_repr(self):
        what = "size=%s" % (self.size,) if self.size is not None else "scale_factor=%s" % (self.scale_factor,)
        s = "%s, mode=%r" % (what, self.mode)
        if self.align_corners is not None:
            s += ", align_corners=%s" % self.align_corners
        return s

    def _check_input_shape(self, shape):
        shape = tuple(shape)
        if self._geom is None or self._geom[0] != shape:
            self._geom = (shape, R.interp_geometry(shape, self.size, self.scale_factor, self.mode,
                                                   self.align_corners, self.recompute_scale_factor))
        return self._geom[1]

    def forward(self, x):
        x = _flow.activation(x, self)
        return A.interpolate(x, self._check_input_shape(x.shape))

    def flops(self, in_shape, out_shape):
        n = 1
        for d in out_shape:
            n *= d
        return n * (8 if self.mode == "bilinear" else 1)


class UpsamplingNearest2d(Upsample):
    """Nearest upsampling, as torch.nn.UpsamplingNearest2d(size=None, scale_factor=None)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling with align_corners=True, as torch.nn.UpsamplingBilinear2d(size=None,
    scale_factor=None)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class _Shuffle(Module):
    _up = True

    def _check_input_shape(self, shape):
        return R.shuffle_shape(shape, self._factor, self._up)

    def forward(self, x):
        x = _flow.activation(x, self)
        return A.pixel_shuffle(x, self._check_input_shape(x.shape)[1], self._up)


class PixelShuffle(_Shuffle):
    """(N, C * r**2, H, W) -> (N, C, H * r, W * r), as torch.nn.PixelShuffle(upscale_factor)."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = self._factor = int_arg(upscale_factor, "upscale_factor", 1)

    def extra_repr(self):
        return "upscale_factor=%d" % self.upscale_factor


class PixelUnshuffle(_Shuffle):
    """(N, C, H * r, W * r) -> (N, C * r**2, H, W), as torch.nn.PixelUnshuffle(downscale_factor)."""

    _up = False

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = self._factor = int_arg(downscale_factor, "downscale_factor", 1)

    def extra_repr(self):
        return "downscale_factor=%d" % self.downscale_factor
