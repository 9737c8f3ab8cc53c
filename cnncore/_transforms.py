"""Image transforms with torchvision's names and arguments, on NumPy arrays: ToTensor,
RandomResizedCrop, ColorJitter, RandomRotation.

Each random transform is called as t(x, rng=None) on one image (C, H, W) or a batch
(N, C, H, W) (each image of a batch draws its own parameters); rng is a numpy Generator,
cnncore's generator when None. Compose passes its rng along.
"""
import math
import numbers

import numpy as np

from . import _random

__all__ = ["ColorJitter", "RandomResizedCrop", "RandomRotation", "ToTensor"]


def _rng(rng):
    if rng is None:
        return _random.generator()
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng: expected a numpy.random.Generator or None, got %s" % type(rng).__name__)
    return rng


def _images(x, who):
    """x as a float array (N, C, H, W) and whether it was a single image."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise TypeError("%s input: expected a real numeric array, got dtype %s" % (who, arr.dtype))
    if arr.ndim not in (3, 4):
        raise ValueError("%s input: expected an image (C, H, W) or a batch (N, C, H, W), got shape %s"
                         % (who, arr.shape))
    single = arr.ndim == 3
    return (arr[None] if single else arr), single


def _pair(v, name):
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        v = (v, v)
    try:
        h, w = v
    except (TypeError, ValueError):
        raise TypeError("%s: expected an int or a pair of ints, got %r" % (name, v)) from None
    for e in (h, w):
        if isinstance(e, bool) or not isinstance(e, numbers.Integral) or e < 1:
            raise ValueError("%s: expected sizes >= 1, got %r" % (name, v))
    return int(h), int(w)


def _range(v, name, lo=None):
    try:
        a, b = v
    except (TypeError, ValueError):
        raise TypeError("%s: expected a pair of numbers (min, max), got %r" % (name, v)) from None
    for e in (a, b):
        if isinstance(e, bool) or not isinstance(e, numbers.Real):
            raise TypeError("%s: expected a pair of numbers, got %r" % (name, v))
    if a > b or (lo is not None and a < lo):
        raise ValueError("%s: expected min <= max%s, got %r" % (name, "" if lo is None else " and min >= %s" % lo, v))
    return float(a), float(b)


class ToTensor:
    """uint8 images (H, W), (H, W, C) or batches (N, H, W, C) in [0, 255] -> float32 (C, H, W) /
    (N, C, H, W) in [0, 1], as torchvision's ToTensor on ndarrays (other dtypes are only
    transposed, not scaled)."""

    def __call__(self, x, rng=None):
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiub":
            raise TypeError("ToTensor input: expected a real numeric array, got dtype %s" % arr.dtype)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim == 3:
            out = arr.transpose(2, 0, 1)
        elif arr.ndim == 4:
            out = arr.transpose(0, 3, 1, 2)
        else:
            raise ValueError("ToTensor input: expected (H, W), (H, W, C) or (N, H, W, C), got shape %s"
                             % (arr.shape,))
        out = np.ascontiguousarray(out, dtype=np.float32)
        if arr.dtype == np.uint8:
            out /= np.float32(255)
        return out

    def __repr__(self):
        return "ToTensor()"


def resize_bilinear(img, size):
    """(C, h, w) -> (C, H, W) by bilinear interpolation with half-pixel centres
    (align_corners=False, no antialiasing)."""
    c, h, w = img.shape
    oh, ow = size

    def axis(n_in, n_out):
        src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        src = np.clip(src, 0, n_in - 1)
        i0 = np.floor(src).astype(np.int64)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, (src - i0).astype(np.float32)

    y0, y1, fy = axis(h, oh)
    x0, x1, fx = axis(w, ow)
    img = img.astype(np.float32, copy=False)
    top = img[:, y0][:, :, x0] * (1 - fx) + img[:, y0][:, :, x1] * fx
    bot = img[:, y1][:, :, x0] * (1 - fx) + img[:, y1][:, :, x1] * fx
    return top * (1 - fy)[:, None] + bot * fy[:, None]


class RandomResizedCrop:
    """Crop a random area fraction in `scale` with aspect ratio in `ratio` (log-uniform) and
    resize it to `size`, as torchvision's RandomResizedCrop (ten tries, then a central crop of
    the clamped ratio); bilinear resizing without antialiasing."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interpolation="bilinear",
                 antialias=True):
        self.size = _pair(size, "size")
        self.scale = _range(scale, "scale", 0.0)
        self.ratio = _range(ratio, "ratio")
        if self.ratio[0] <= 0:
            raise ValueError("ratio: expected positive aspect ratios, got %r" % (ratio,))
        if interpolation not in ("bilinear",):
            raise ValueError("interpolation: only 'bilinear' is available, got %r" % (interpolation,))
        self.interpolation, self.antialias = interpolation, antialias

    def get_params(self, h, w, rng):
        """(top, left, height, width) of a crop of an h x w image."""
        area = h * w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(*log_ratio))
            cw = int(round(math.sqrt(target * aspect)))
            ch = int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw
        in_ratio = w / h
        if in_ratio < self.ratio[0]:
            cw, ch = w, int(round(w / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            ch, cw = h, int(round(h * self.ratio[1]))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def __call__(self, x, rng=None):
        rng = _rng(rng)
        imgs, single = _images(x, "RandomResizedCrop")
        out = np.empty(imgs.shape[:2] + self.size, np.float32)
        for k, img in enumerate(imgs):
            i, j, ch, cw = self.get_params(img.shape[1], img.shape[2], rng)
            out[k] = resize_bilinear(img[:, i:i + ch, j:j + cw], self.size)
        return out[0] if single else out


def _blend(img, other, factor):
    return np.clip(factor * img + (1.0 - factor) * other, 0.0, 1.0)


def _gray(img):
    if img.shape[0] == 3:
        return 0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]
    return img.mean(axis=0)


class ColorJitter:
    """Random brightness, contrast and saturation, in a random order per image, as
    torchvision's ColorJitter on float images in [0, 1]: each factor is uniform in
    [max(0, 1 - v), 1 + v] (or the given (min, max)); brightness scales, contrast blends with the
    grayscale mean, saturation with the grayscale image (3 channels). hue must stay 0."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = self._factor(brightness, "brightness")
        self.contrast = self._factor(contrast, "contrast")
        self.saturation = self._factor(saturation, "saturation")
        if isinstance(hue, bool) or not isinstance(hue, numbers.Real) or hue != 0:
            raise ValueError("hue: only hue=0 is available (no hue rotation), got %r" % (hue,))
        self.hue = None

    @staticmethod
    def _factor(v, name):
        if isinstance(v, (tuple, list)):
            lo, hi = _range(v, name, 0.0)
        else:
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or v < 0:
                raise ValueError("%s: expected a non-negative number or a (min, max) pair, got %r" % (name, v))
            lo, hi = max(0.0, 1.0 - v), 1.0 + v
        return None if lo == hi == 1.0 else (lo, hi)

    def __call__(self, x, rng=None):
        rng = _rng(rng)
        imgs, single = _images(x, "ColorJitter")
        out = np.array(imgs, dtype=np.float32)
        for k in range(len(out)):
            img = out[k]
            for op in rng.permutation(4):
                if op == 0 and self.brightness is not None:
                    img = _blend(img, 0.0, rng.uniform(*self.brightness))
                elif op == 1 and self.contrast is not None:
                    img = _blend(img, _gray(img).mean(), rng.uniform(*self.contrast))
                elif op == 2 and self.saturation is not None and img.shape[0] == 3:
                    img = _blend(img, _gray(img)[None], rng.uniform(*self.saturation))
            out[k] = img
        return out[0] if single else out


class RandomRotation:
    """Rotate by a random multiple of 90 degrees within [-degrees, degrees] (or (min, max)),
    counter-clockwise for positive angles, as torchvision's RandomRotation restricted to right
    angles: the image keeps its size (a non-square image rotated by 90 is centred on its
    canvas, cropped and padded with `fill`)."""

    def __init__(self, degrees, interpolation="nearest", expand=False, center=None, fill=0):
        if isinstance(degrees, numbers.Real) and not isinstance(degrees, bool):
            if degrees < 0:
                raise ValueError("degrees: expected a non-negative number, got %r" % (degrees,))
            degrees = (-degrees, degrees)
        self.degrees = _range(degrees, "degrees")
        self.angles = [a for a in range(int(math.ceil(self.degrees[0] / 90.0)) * 90,
                                        int(math.floor(self.degrees[1] / 90.0)) * 90 + 1, 90)]
        if not self.angles:
            raise ValueError("degrees: the range %r holds no multiple of 90 degrees (only right-angle "
                             "rotations are available)" % (degrees,))
        if expand or center is not None:
            raise ValueError("expand / center: only expand=False and center=None are available")
        if isinstance(fill, bool) or not isinstance(fill, numbers.Real):
            raise TypeError("fill: expected a number, got %r" % (fill,))
        self.fill = float(fill)

    def __call__(self, x, rng=None):
        rng = _rng(rng)
        imgs, single = _images(x, "RandomRotation")
        out = np.empty(imgs.shape, np.float32)
        h, w = imgs.shape[2:]
        for k, img in enumerate(imgs):
            r = np.rot90(img, (self.angles[int(rng.integers(len(self.angles)))] // 90) % 4, axes=(1, 2))
            canvas = np.full(img.shape, self.fill, np.float32)
            rh, rw = r.shape[1:]
            top, left = (h - rh) // 2, (w - rw) // 2
            sy, sx = max(0, -top), max(0, -left)
            dy, dx = max(0, top), max(0, left)
            ch, cw = min(h, rh), min(w, rw)
            canvas[:, dy:dy + ch, dx:dx + cw] = r[:, sy:sy + ch, sx:sx + cw]
            out[k] = canvas
        return out[0] if single else out
