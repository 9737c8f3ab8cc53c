"""Plain-NumPy reference implementations for cnncore.

This module is the source of truth that the C kernels are tested against.
Every function mirrors PyTorch semantics (``torch.nn.functional`` forward
ops and their autograd backward formulas):

* activations are NCHW, conv weights are ``(C_out, C_in // groups, KH, KW)``,
  linear weights are ``(out_features, in_features)``;
* integer-or-pair arguments (stride, padding, dilation, kernel_size,
  output_size) accept an int or a 2-sequence ``(h, w)``;
* everything is computed in float64 (inputs are cast with
  ``np.asarray(x, dtype=np.float64)``); nothing here mutates its inputs.

Clarity comes first, but the convolution is an im2col + batched matmul and
the pools loop only over kernel offsets, so the usual test shapes run in
milliseconds. Only NumPy is needed; this file must never import torch.
"""

import numpy as np

__all__ = [
    "conv2d", "conv2d_backward",
    "conv2d_relu", "conv2d_relu_backward",
    "max_pool2d", "max_pool2d_backward",
    "avg_pool2d", "avg_pool2d_backward",
    "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward",
    "global_avg_pool2d", "global_avg_pool2d_backward",
    "batch_norm", "batch_norm_backward",
    "batch_norm_relu", "batch_norm_relu_backward",
    "batch_norm_add_relu", "batch_norm_add_relu_backward",
    "relu", "relu_backward",
    "add",
    "linear", "linear_backward",
    "cross_entropy", "cross_entropy_backward",
    "conv2d_output_size", "pool_output_size",
]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _f64(a):
    return np.asarray(a, dtype=np.float64)


def _pair(v, name="argument"):
    """int -> (v, v); 2-sequence -> tuple of two ints."""
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    t = tuple(v)
    if len(t) == 1:
        return int(t[0]), int(t[0])
    if len(t) != 2:
        raise ValueError(f"{name} must be an int or a pair, got {v!r}")
    return int(t[0]), int(t[1])


def _check_4d(x, name="input"):
    if x.ndim != 4:
        raise ValueError(f"{name} must be 4-D (N, C, H, W), got shape {x.shape}")


def conv2d_output_size(size, kernel, stride, padding, dilation):
    """One spatial dim of a convolution's output (PyTorch formula)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_size(size, kernel, stride, padding, dilation=1, ceil_mode=False):
    """One spatial dim of a pooling output, exactly as PyTorch's
    ``pooling_output_shape``: with ceil_mode the division rounds up, but the
    last window must start inside the input or the left padding."""
    num = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        num += stride - 1
    out = num // stride + 1  # Python // floors, like PyTorch's div_rtn
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _windows(xp, kh, kw, sh, sw, dh, dw, oh, ow):
    """Gather the kernel taps of a (already padded) NCHW array.

    Returns shape (N, C, KH, KW, OH, OW) with
    out[n, c, i, j, p, q] = xp[n, c, p*sh + i*dh, q*sw + j*dw].
    """
    n, c = xp.shape[:2]
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=xp.dtype)
    for i in range(kh):
        for j in range(kw):
            h0, w0 = i * dh, j * dw
            cols[:, :, i, j] = xp[:, :, h0:h0 + sh * (oh - 1) + 1:sh,
                                  w0:w0 + sw * (ow - 1) + 1:sw]
    return cols


def _unwindows(cols, padded_shape, sh, sw, dh, dw):
    """Adjoint of ``_windows``: scatter-add taps back into a padded array."""
    n, c, kh, kw, oh, ow = cols.shape
    out = np.zeros(padded_shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            h0, w0 = i * dh, j * dw
            out[:, :, h0:h0 + sh * (oh - 1) + 1:sh,
                w0:w0 + sw * (ow - 1) + 1:sw] += cols[:, :, i, j]
    return out


# --------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------

def _conv_geometry(x_shape, w_shape, stride, padding, dilation, groups):
    n, c, h, w_ = x_shape
    cout, cg, kh, kw = w_shape
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    groups = int(groups)
    if groups < 1 or c % groups or cout % groups:
        raise ValueError(f"groups={groups} must divide C_in={c} and C_out={cout}")
    if cg != c // groups:
        raise ValueError(f"weight has {cg} input channels per group, "
                         f"expected C_in/groups = {c // groups}")
    if min(sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
        raise ValueError("stride/dilation must be >= 1 and padding >= 0")
    oh = conv2d_output_size(h, kh, sh, ph, dh)
    ow = conv2d_output_size(w_, kw, sw, pw, dw)
    if oh < 1 or ow < 1:
        raise ValueError(f"conv output would be empty ({oh}x{ow})")
    return (sh, sw), (ph, pw), (dh, dw), groups, (oh, ow)


def _im2col(x, kh, kw, s, p, d, oh, ow):
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    return _windows(xp, kh, kw, s[0], s[1], d[0], d[1], oh, ow)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """torch.nn.functional.conv2d (cross-correlation, zero padding)."""
    x, w = _f64(x), _f64(w)
    _check_4d(x)
    _check_4d(w, "weight")
    s, p, d, g, (oh, ow) = _conv_geometry(x.shape, w.shape, stride, padding,
                                          dilation, groups)
    n, c = x.shape[:2]
    cout, cg, kh, kw = w.shape
    cols = _im2col(x, kh, kw, s, p, d, oh, ow)               # N,C,KH,KW,OH,OW
    cols = cols.reshape(n, g, cg * kh * kw, oh * ow)          # N,G,K,L
    wm = w.reshape(g, cout // g, cg * kh * kw)                # G,Og,K
    y = np.matmul(wm[None], cols)                             # N,G,Og,L
    y = y.reshape(n, cout, oh, ow)
    if b is not None:
        y = y + _f64(b).reshape(1, cout, 1, 1)
    return y


def conv2d_backward(gy, x, w, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of conv2d: returns (gx, gw, gb) with gb = gy.sum((0, 2, 3))."""
    gy, x, w = _f64(gy), _f64(x), _f64(w)
    _check_4d(x)
    _check_4d(w, "weight")
    s, p, d, g, (oh, ow) = _conv_geometry(x.shape, w.shape, stride, padding,
                                          dilation, groups)
    n, c, h, wd = x.shape
    cout, cg, kh, kw = w.shape
    if gy.shape != (n, cout, oh, ow):
        raise ValueError(f"gy has shape {gy.shape}, expected {(n, cout, oh, ow)}")
    gym = gy.reshape(n, g, cout // g, oh * ow)                # N,G,Og,L
    cols = _im2col(x, kh, kw, s, p, d, oh, ow).reshape(n, g, cg * kh * kw, oh * ow)
    wm = w.reshape(g, cout // g, cg * kh * kw)                # G,Og,K

    gw = np.einsum("ngol,ngkl->gok", gym, cols, optimize=True)
    gw = gw.reshape(cout, cg, kh, kw)

    gcols = np.matmul(np.swapaxes(wm, 1, 2)[None], gym)       # N,G,K,L
    gcols = gcols.reshape(n, c, kh, kw, oh, ow)
    gxp = _unwindows(gcols, (n, c, h + 2 * p[0], wd + 2 * p[1]),
                     s[0], s[1], d[0], d[1])
    gx = gxp[:, :, p[0]:p[0] + h, p[1]:p[1] + wd].copy()

    gb = gy.sum(axis=(0, 2, 3))
    return gx, gw, gb


def conv2d_relu(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """relu(conv2d(x, w, b, ...))."""
    return relu(conv2d(x, w, b, stride, padding, dilation, groups))


def conv2d_relu_backward(gy, y, x, w, stride=1, padding=0, dilation=1, groups=1):
    """Backward of conv2d_relu; y is the (post-relu) forward output."""
    return conv2d_backward(relu_backward(gy, y), x, w, stride, padding,
                           dilation, groups)


# --------------------------------------------------------------------------
# max pooling
# --------------------------------------------------------------------------

def _pool_geometry(shape, kernel_size, stride, padding, dilation, ceil_mode):
    _, _, h, w = shape
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(kernel_size if stride is None else stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    if min(kh, kw, sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
        raise ValueError("kernel_size/stride/dilation must be >= 1, padding >= 0")
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError("pad should be at most half of kernel size")
    oh = pool_output_size(h, kh, sh, ph, dh, ceil_mode)
    ow = pool_output_size(w, kw, sw, pw, dw, ceil_mode)
    if oh < 1 or ow < 1:
        raise ValueError(f"pool output would be empty ({oh}x{ow})")
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow)


def _tap_positions(o, k, s, p, d):
    """Input coordinate of every (tap, output) pair along one dim: (K, O)."""
    return np.arange(k)[:, None] * d + np.arange(o)[None, :] * s - p


def _pad_for_windows(x, k, s, p, d, o, value):
    """Pad (left = padding, right = whatever the last window needs)."""
    h, w = x.shape[2:]
    right_h = max(0, (o[0] - 1) * s[0] + (k[0] - 1) * d[0] + 1 - h - p[0])
    right_w = max(0, (o[1] - 1) * s[1] + (k[1] - 1) * d[1] + 1 - w - p[1])
    return np.pad(x, ((0, 0), (0, 0), (p[0], right_h), (p[1], right_w)),
                  constant_values=value)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """torch.nn.functional.max_pool2d(..., return_indices=True).

    Returns (y, indices); indices are int64 flat offsets ih*W + iw into each
    (n, c) input plane. Padding acts as -inf and is never selected. Window
    elements are scanned in row-major order with PyTorch's CPU rule
    ``if val > maxval or isnan(val)``: the first maximum wins on ties, a NaN
    wins over any number (the last NaN in the window if there are several),
    and a window of all -inf reports its first in-bounds element.
    """
    x = _f64(x)
    _check_4d(x)
    n, c, h, w = x.shape
    k, s, p, d, o = _pool_geometry(x.shape, kernel_size, stride, padding,
                                   dilation, ceil_mode)
    xp = _pad_for_windows(x, k, s, p, d, o, -np.inf)
    vals = _windows(xp, k[0], k[1], s[0], s[1], d[0], d[1], o[0], o[1])
    vals = vals.reshape(n, c, k[0] * k[1], o[0], o[1])       # taps row-major

    rows = _tap_positions(o[0], k[0], s[0], p[0], d[0])      # KH, OH
    cols = _tap_positions(o[1], k[1], s[1], p[1], d[1])      # KW, OW
    row_ok = (rows >= 0) & (rows < h)
    col_ok = (cols >= 0) & (cols < w)
    valid = (row_ok[:, None, :, None] & col_ok[None, :, None, :])
    valid = valid.reshape(k[0] * k[1], o[0], o[1])           # taps, OH, OW

    isnan = np.isnan(vals) & valid
    clean = np.where(valid & ~isnan, vals, -np.inf)
    mx = clean.max(axis=2, keepdims=True)
    first_max = np.argmax(valid & ~isnan & (clean == mx), axis=2)
    ntap = k[0] * k[1]
    last_nan = ntap - 1 - np.argmax(isnan[:, :, ::-1], axis=2)
    tap = np.where(isnan.any(axis=2), last_nan, first_max)   # N, C, OH, OW

    y = np.take_along_axis(vals, tap[:, :, None], axis=2)[:, :, 0]
    oh_i = np.arange(o[0])[:, None]
    ow_i = np.arange(o[1])[None, :]
    ih = oh_i * s[0] - p[0] + (tap // k[1]) * d[0]
    iw = ow_i * s[1] - p[1] + (tap % k[1]) * d[1]
    indices = (ih * w + iw).astype(np.int64)
    return y, indices


def max_pool2d_backward(gy, indices, input_shape):
    """Scatter-add gy into a zero gradient through the max-pool indices."""
    gy = _f64(gy)
    indices = np.asarray(indices, dtype=np.int64)
    n, c, h, w = (int(v) for v in input_shape)
    if gy.shape != indices.shape or gy.shape[:2] != (n, c):
        raise ValueError("gy / indices / input_shape mismatch")
    plane = np.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1) * (h * w)
    flat = (plane + indices).ravel()
    gx = np.bincount(flat, weights=gy.ravel(), minlength=n * c * h * w)
    return gx.reshape(n, c, h, w)


# --------------------------------------------------------------------------
# average pooling
# --------------------------------------------------------------------------

def _avg_divisors(size, o, k, s, p, count_include_pad):
    """Per-output-position divisor along one dim (PyTorch CPU kernel rule).

    The window [start, start + k) is first clipped to the *padded* extent
    [-p, size + p) -- that length is the count_include_pad divisor -- and
    then to the input [0, size) -- the count_include_pad=False divisor.
    Windows entirely outside the input produce 0 (count 0 returned).
    """
    start = np.arange(o) * s - p
    end_padded = np.minimum(start + k, size + p)
    incl = end_padded - start
    excl = np.minimum(end_padded, size) - np.maximum(start, 0)
    excl = np.maximum(excl, 0)
    return incl if count_include_pad else excl, excl


def _avg_geometry(shape, kernel_size, stride, padding, ceil_mode,
                  count_include_pad, divisor_override):
    k, s, p, _, o = _pool_geometry(shape, kernel_size, stride, padding, 1,
                                   ceil_mode)
    h, w = shape[2:]
    div_h, cnt_h = _avg_divisors(h, o[0], k[0], s[0], p[0], count_include_pad)
    div_w, cnt_w = _avg_divisors(w, o[1], k[1], s[1], p[1], count_include_pad)
    empty = (cnt_h[:, None] == 0) | (cnt_w[None, :] == 0)     # OH, OW
    if divisor_override is not None:
        if int(divisor_override) == 0:
            raise ValueError("divisor_override must be non-zero")
        div = np.full(o, float(divisor_override))
    else:
        div = (div_h[:, None] * div_w[None, :]).astype(np.float64)
    div = np.where(empty, 1.0, div)
    return k, s, p, o, div, empty


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """torch.nn.functional.avg_pool2d (zero padding, PyTorch divisor rule)."""
    x = _f64(x)
    _check_4d(x)
    n, c = x.shape[:2]
    k, s, p, o, div, empty = _avg_geometry(x.shape, kernel_size, stride,
                                           padding, ceil_mode,
                                           count_include_pad, divisor_override)
    xp = _pad_for_windows(x, k, s, p, (1, 1), o, 0.0)
    win = _windows(xp, k[0], k[1], s[0], s[1], 1, 1, o[0], o[1])
    y = win.sum(axis=(2, 3)) / div
    return np.where(empty, 0.0, y)


def avg_pool2d_backward(gy, input_shape, kernel_size, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True,
                        divisor_override=None):
    """Gradient of avg_pool2d w.r.t. its input."""
    gy = _f64(gy)
    n, c, h, w = (int(v) for v in input_shape)
    k, s, p, o, div, empty = _avg_geometry((n, c, h, w), kernel_size, stride,
                                           padding, ceil_mode,
                                           count_include_pad, divisor_override)
    if gy.shape != (n, c, o[0], o[1]):
        raise ValueError(f"gy has shape {gy.shape}, expected {(n, c) + o}")
    g = np.where(empty, 0.0, gy / div)
    taps = np.broadcast_to(g[:, :, None, None], (n, c, k[0], k[1], o[0], o[1]))
    padded = _pad_for_windows(np.zeros((n, c, h, w)), k, s, p, (1, 1), o, 0.0)
    gxp = _unwindows(taps, padded.shape, s[0], s[1], 1, 1)
    return gxp[:, :, p[0]:p[0] + h, p[1]:p[1] + w].copy()


# --------------------------------------------------------------------------
# adaptive / global average pooling
# --------------------------------------------------------------------------

def _adaptive_bins(size, out):
    """Indicator matrix (out, size): bin i covers
    [floor(i*size/out), ceil((i+1)*size/out))."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)  # ceil division
    pos = np.arange(size)
    return ((pos[None, :] >= start[:, None]) & (pos[None, :] < end[:, None])).astype(np.float64)


def _adaptive_output_size(shape, output_size):
    h, w = shape[2:]
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    oh, ow = tuple(output_size)
    oh = h if oh is None else int(oh)
    ow = w if ow is None else int(ow)
    if oh < 1 or ow < 1:
        raise ValueError("output_size must be >= 1")
    return oh, ow


def adaptive_avg_pool2d(x, output_size):
    """torch.nn.functional.adaptive_avg_pool2d (None in output_size keeps
    that input dim)."""
    x = _f64(x)
    _check_4d(x)
    h, w = x.shape[2:]
    oh, ow = _adaptive_output_size(x.shape, output_size)
    bh, bw = _adaptive_bins(h, oh), _adaptive_bins(w, ow)
    sums = np.einsum("ih,nchw,jw->ncij", bh, x, bw, optimize=True)
    counts = bh.sum(1)[:, None] * bw.sum(1)[None, :]
    return sums / counts


def adaptive_avg_pool2d_backward(gy, input_shape):
    """Gradient of adaptive_avg_pool2d; output size is read from gy."""
    gy = _f64(gy)
    n, c, h, w = (int(v) for v in input_shape)
    oh, ow = gy.shape[2:]
    bh, bw = _adaptive_bins(h, oh), _adaptive_bins(w, ow)
    counts = bh.sum(1)[:, None] * bw.sum(1)[None, :]
    return np.einsum("ih,ncij,jw->nchw", bh, gy / counts, bw, optimize=True)


def adaptive_max_pool2d(x, output_size):
    """torch.nn.functional.adaptive_max_pool2d(..., return_indices=True): (y, int64 indices
    ih*W + iw); bin i covers [floor(i*H/OH), ceil((i+1)*H/OH)); ties go to the first maximum in
    row-major bin order."""
    x = _f64(x)
    _check_4d(x)
    n, c, h, w = x.shape
    oh, ow = _adaptive_output_size(x.shape, output_size)
    y = np.empty((n, c, oh, ow))
    idx = np.empty((n, c, oh, ow), dtype=np.int64)
    for i in range(oh):
        h0, h1 = (i * h) // oh, -(-((i + 1) * h) // oh)
        for j in range(ow):
            w0, w1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            win = x[:, :, h0:h1, w0:w1].reshape(n, c, -1)
            a = np.argmax(win, axis=2)
            y[:, :, i, j] = np.take_along_axis(win, a[..., None], axis=2)[..., 0]
            idx[:, :, i, j] = (h0 + a // (w1 - w0)) * w + w0 + a % (w1 - w0)
    return y, idx


def global_avg_pool2d(x):
    """Mean over H and W: (N, C, H, W) -> (N, C)."""
    x = _f64(x)
    _check_4d(x)
    return x.mean(axis=(2, 3))


def global_avg_pool2d_backward(gy, input_shape):
    """Gradient of global_avg_pool2d: (N, C) -> (N, C, H, W)."""
    gy = _f64(gy)
    n, c, h, w = (int(v) for v in input_shape)
    return np.broadcast_to(gy.reshape(n, c, 1, 1) / (h * w), (n, c, h, w)).copy()


# --------------------------------------------------------------------------
# batch norm (+ fused variants)
# --------------------------------------------------------------------------

def _bn_axes(x):
    if x.ndim < 2:
        raise ValueError(f"batch_norm expects at least 2-D input, got {x.shape}")
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v, x, default):
    """Per-channel vector (or default if None) broadcastable against x."""
    c = x.shape[1]
    v = np.full(c, float(default)) if v is None else _f64(v).reshape(c)
    return v.reshape((1, c) + (1,) * (x.ndim - 2))


def batch_norm(x, running_mean, running_var, weight=None, bias=None,
               training=False, momentum=0.1, eps=1e-5):
    """torch.nn.functional.batch_norm, returning
    (y, save_mean, save_invstd, new_running_mean, new_running_var).

    Inputs are not modified. Training normalises with the batch mean and the
    biased batch variance, and updates the running stats as
    (1 - momentum) * r + momentum * stat with the *unbiased* variance.
    running_mean / running_var may be None in training (no tracking), and
    then the new running stats are None too. In eval, save_mean is
    running_mean and save_invstd is 1/sqrt(running_var + eps).
    """
    x = _f64(x)
    axes = _bn_axes(x)
    c = x.shape[1]
    rm = None if running_mean is None else _f64(running_mean).reshape(c).copy()
    rv = None if running_var is None else _f64(running_var).reshape(c).copy()
    if training:
        count = x.size // c
        if count <= 1:
            raise ValueError("Expected more than 1 value per channel when training")
        mean = x.mean(axis=axes)
        var = ((x - _per_channel(mean, x, 0)) ** 2).mean(axis=axes)  # biased
        invstd = 1.0 / np.sqrt(var + eps)
        new_rm = None if rm is None else (1 - momentum) * rm + momentum * mean
        new_rv = (None if rv is None else
                  (1 - momentum) * rv + momentum * var * count / (count - 1))
    else:
        if rm is None or rv is None:
            raise ValueError("running_mean and running_var are required in eval mode")
        mean = rm.copy()
        invstd = 1.0 / np.sqrt(rv + eps)
        new_rm, new_rv = rm, rv
    xhat = (x - _per_channel(mean, x, 0)) * _per_channel(invstd, x, 1)
    y = xhat * _per_channel(weight, x, 1) + _per_channel(bias, x, 0)
    return y, mean, invstd, new_rm, new_rv


def batch_norm_backward(gy, x, weight, save_mean, save_invstd, training=True):
    """Gradients of batch_norm: (gx, gweight, gbias).

    training=True differentiates through the batch statistics;
    training=False treats save_mean / save_invstd as constants (eval mode):
    gx = gy * weight * save_invstd. weight None means 1.
    """
    gy, x = _f64(gy), _f64(x)
    axes = _bn_axes(x)
    mean = _per_channel(save_mean, x, 0)
    invstd = _per_channel(save_invstd, x, 1)
    wgt = _per_channel(weight, x, 1)
    xhat = (x - mean) * invstd
    gbias = gy.sum(axis=axes)
    gweight = (gy * xhat).sum(axis=axes)
    if training:
        count = x.size // x.shape[1]
        mean_gy = _per_channel(gbias / count, x, 0)
        mean_gy_xhat = _per_channel(gweight / count, x, 0)
        gx = wgt * invstd * (gy - mean_gy - xhat * mean_gy_xhat)
    else:
        gx = gy * wgt * invstd
    return gx, gweight, gbias


def relu(x):
    """max(x, 0) (NaN propagates, as in torch.relu)."""
    x = _f64(x)
    return np.where(x > 0, x, np.where(np.isnan(x), x, 0.0))


def relu_backward(gy, y):
    """gy * (y > 0), y being relu's output (PyTorch threshold_backward)."""
    gy, y = _f64(gy), _f64(y)
    return np.where(y > 0, gy, 0.0)


def add(a, b):
    """a + b (broadcasting, float64)."""
    return _f64(a) + _f64(b)


def batch_norm_relu(x, running_mean, running_var, weight=None, bias=None,
                    training=False, momentum=0.1, eps=1e-5):
    """batch_norm followed by relu; same 5-tuple as batch_norm."""
    y, sm, si, rm, rv = batch_norm(x, running_mean, running_var, weight, bias,
                                   training, momentum, eps)
    return relu(y), sm, si, rm, rv


def batch_norm_relu_backward(gy, y, x, weight, save_mean, save_invstd,
                             training=True):
    """Backward of batch_norm_relu; y is its (post-relu) output."""
    return batch_norm_backward(relu_backward(gy, y), x, weight, save_mean,
                               save_invstd, training)


def batch_norm_add_relu(x, residual, running_mean, running_var, weight=None,
                        bias=None, training=False, momentum=0.1, eps=1e-5):
    """relu(batch_norm(x) + residual); same 5-tuple as batch_norm."""
    y, sm, si, rm, rv = batch_norm(x, running_mean, running_var, weight, bias,
                                   training, momentum, eps)
    return relu(y + _f64(residual)), sm, si, rm, rv


def batch_norm_add_relu_backward(gy, y, x, weight, save_mean, save_invstd,
                                 training=True):
    """Backward of batch_norm_add_relu: (gx, gresidual, gweight, gbias)."""
    g = relu_backward(gy, y)
    gx, gw, gb = batch_norm_backward(g, x, weight, save_mean, save_invstd,
                                     training)
    return gx, g, gw, gb


# --------------------------------------------------------------------------
# linear / loss
# --------------------------------------------------------------------------

def linear(x, w, b=None):
    """x @ w.T + b, x of shape (..., in), w of shape (out, in)."""
    x, w = _f64(x), _f64(w)
    y = x @ w.T
    if b is not None:
        y = y + _f64(b)
    return y


def linear_backward(gy, x, w):
    """Gradients of linear: (gx, gw, gb); leading dims of x are batch dims."""
    gy, x, w = _f64(gy), _f64(x), _f64(w)
    gx = gy @ w
    gy2 = gy.reshape(-1, w.shape[0])
    x2 = x.reshape(-1, w.shape[1])
    gw = gy2.T @ x2
    gb = gy2.sum(axis=0)
    return gx, gw, gb


def _log_softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _check_ce(logits, target):
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, C), got {logits.shape}")
    if target.shape != (logits.shape[0],):
        raise ValueError(f"target must be ({logits.shape[0]},), got {target.shape}")
    if target.size and (target.min() < 0 or target.max() >= logits.shape[1]):
        raise ValueError("target class index out of range")


def cross_entropy(logits, target):
    """Mean cross-entropy of (N, C) logits against int class indices (N,)."""
    logits = _f64(logits)
    target = np.asarray(target).astype(np.int64)
    _check_ce(logits, target)
    logp = _log_softmax(logits)
    n = logits.shape[0]
    return float(-logp[np.arange(n), target].mean())


def cross_entropy_backward(logits, target):
    """d(mean cross-entropy)/d(logits) = (softmax - onehot) / N."""
    logits = _f64(logits)
    target = np.asarray(target).astype(np.int64)
    _check_ce(logits, target)
    n = logits.shape[0]
    g = np.exp(_log_softmax(logits))
    g[np.arange(n), target] -= 1.0
    return g / n


# ---------------------------------------------------------------- more activations ---
# Each as (forward(x), backward(gy, x)) in float64, PyTorch's formulas and gradients.

def _sigmoid64(x):
    return 1.0 / (1.0 + np.exp(-x))


def _erf64(x):
    import math

    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _gelu_tanh_parts(x):
    k = np.sqrt(2.0 / np.pi)
    inner = k * (x + 0.044715 * x ** 3)
    return np.tanh(inner), k * (1 + 3 * 0.044715 * x * x)


ACTIVATIONS = {
    "sigmoid": (lambda x: _sigmoid64(x), lambda g, x: g * _sigmoid64(x) * (1 - _sigmoid64(x))),
    "tanh": (np.tanh, lambda g, x: g * (1 - np.tanh(x) ** 2)),
    "silu": (lambda x: x * _sigmoid64(x),
             lambda g, x: g * _sigmoid64(x) * (1 + x * (1 - _sigmoid64(x)))),
    "hardswish": (lambda x: x * np.clip(x + 3, 0, 6) / 6,
                  lambda g, x: g * np.where(x < -3, 0.0, np.where(x <= 3, x / 3 + 0.5, 1.0))),
    "hardsigmoid": (lambda x: np.clip(x + 3, 0, 6) / 6,
                    lambda g, x: g * np.where((x > -3) & (x < 3), 1 / 6, 0.0)),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.01 * x), lambda g, x: g * np.where(x > 0, 1.0, 0.01)),
    "gelu": (lambda x: 0.5 * x * (1 + _erf64(x / np.sqrt(2))),
             lambda g, x: g * (0.5 * (1 + _erf64(x / np.sqrt(2))) + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi))),
    "gelu_tanh": (lambda x: 0.5 * x * (1 + _gelu_tanh_parts(x)[0]),
                  lambda g, x: g * (0.5 * (1 + _gelu_tanh_parts(x)[0])
                                    + 0.5 * x * (1 - _gelu_tanh_parts(x)[0] ** 2) * _gelu_tanh_parts(x)[1])),
    "relu": (lambda x: np.maximum(x, 0), lambda g, x: g * (x > 0)),
    "relu6": (lambda x: np.clip(x, 0, 6), lambda g, x: g * ((x > 0) & (x < 6))),
    "elu": (lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
            lambda g, x: g * np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))),
    "mish": (lambda x: x * np.tanh(np.logaddexp(0, x)),
             lambda g, x: g * (np.tanh(np.logaddexp(0, x))
                               + x * _sigmoid64(x) * (1 - np.tanh(np.logaddexp(0, x)) ** 2))),
}


def activation(name, x):
    return ACTIVATIONS[name][0](_f64(x))


def activation_backward(name, gy, x):
    return ACTIVATIONS[name][1](_f64(gy), _f64(x))


def softmax(x, dim):
    x = _f64(x)
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def softmax_backward(gy, x, dim):
    y = softmax(x, dim)
    gy = _f64(gy)
    return y * (gy - (gy * y).sum(axis=dim, keepdims=True))


def log_softmax(x, dim):
    return np.log(softmax(x, dim))


def log_softmax_backward(gy, x, dim):
    gy = _f64(gy)
    return gy - softmax(x, dim) * gy.sum(axis=dim, keepdims=True)


# ------------------------------------------------------------------------ more losses ---
# Forward only, written per position from torch's documented formulas; gradients are checked
# against numeric_grad of these (central differences in float64).

def _reduce_loss(per, reduction, denom=None):
    per = np.asarray(per, dtype=np.float64)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() / (per.size if denom is None else denom)


def cross_entropy_full(x, target, weight=None, ignore_index=-100, reduction="mean",
                       label_smoothing=0.0):
    """torch.nn.functional.cross_entropy: (N, C, ...) logits, class indices or probabilities."""
    x = _f64(x)
    if x.ndim == 1:
        x, target = x[None], np.asarray(target)[None]
        out = cross_entropy_full(x, target, weight, ignore_index, reduction, label_smoothing)
        return out[0] if reduction == "none" else out
    c = x.shape[1]
    w = np.ones(c) if weight is None else _f64(weight)
    target = np.asarray(target)
    probs = target.shape == x.shape and target.dtype.kind == "f"
    spatial = x.shape[:1] + x.shape[2:]
    per = np.zeros(spatial)
    wsum = 0.0
    for pos in np.ndindex(*spatial):
        z = np.array([x[(pos[0], k) + pos[1:]] for k in range(c)])
        logp = z - z.max() - np.log(np.exp(z - z.max()).sum())
        if probs:
            q = np.array([target[(pos[0], k) + pos[1:]] for k in range(c)], dtype=np.float64)
            q = q * (1 - label_smoothing) + label_smoothing / c
            per[pos] = -(w * q * logp).sum()
        else:
            t = int(target[pos])
            if t == ignore_index:
                continue
            nll = -w[t] * logp[t]
            smooth = -(w * logp).sum()
            per[pos] = (1 - label_smoothing) * nll + label_smoothing / c * smooth
            wsum += w[t]
    return _reduce_loss(per, reduction, None if probs else wsum)


def nll_loss_full(x, target, weight=None, ignore_index=-100, reduction="mean"):
    x = _f64(x)
    c = x.shape[1]
    w = np.ones(c) if weight is None else _f64(weight)
    spatial = x.shape[:1] + x.shape[2:]
    per, wsum = np.zeros(spatial), 0.0
    for pos in np.ndindex(*spatial):
        t = int(np.asarray(target)[pos])
        if t != ignore_index:
            per[pos] = -w[t] * x[(pos[0], t) + pos[1:]]
            wsum += w[t]
    return _reduce_loss(per, reduction, wsum)


def mse_loss(x, t, reduction="mean"):
    return _reduce_loss((_f64(x) - _f64(t)) ** 2, reduction)


def l1_loss(x, t, reduction="mean"):
    return _reduce_loss(np.abs(_f64(x) - _f64(t)), reduction)


def smooth_l1_loss(x, t, reduction="mean", beta=1.0):
    d = np.abs(_f64(x) - _f64(t))
    per = d if beta == 0 else np.where(d < beta, 0.5 * d ** 2 / beta, d - 0.5 * beta)
    return _reduce_loss(per, reduction)


def huber_loss(x, t, reduction="mean", delta=1.0):
    d = np.abs(_f64(x) - _f64(t))
    return _reduce_loss(np.where(d < delta, 0.5 * d ** 2, delta * (d - 0.5 * delta)), reduction)


def binary_cross_entropy(x, t, weight=None, reduction="mean"):
    x, t = _f64(x), _f64(t)
    per = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log(1 - x), -100))
    return _reduce_loss(per if weight is None else per * _f64(weight), reduction)


def binary_cross_entropy_with_logits(x, t, weight=None, reduction="mean", pos_weight=None):
    x, t = _f64(x), _f64(t)
    s = 1.0 / (1.0 + np.exp(-x))
    pw = 1.0 if pos_weight is None else _f64(pos_weight)
    per = -(pw * t * np.log(s) + (1 - t) * np.log(1 - s))
    return _reduce_loss(per if weight is None else per * _f64(weight), reduction)


def kl_div(x, t, reduction="mean", log_target=False):
    x, t = _f64(x), _f64(t)
    if log_target:
        per = np.exp(t) * (t - x)
    else:
        per = np.array([0.0 if ti == 0 else ti * np.log(ti) for ti in t.ravel()]).reshape(t.shape) - t * x
    if reduction == "batchmean":
        return per.sum() / x.shape[0]
    return _reduce_loss(per, reduction)


def numeric_grad(f, x, upstream=None, h=1e-6):
    """Central-difference gradient of sum(upstream * f(x)) with respect to x (float64)."""
    x = _f64(x).copy()
    g = np.zeros_like(x)
    up = 1.0 if upstream is None else _f64(upstream)
    for i in np.ndindex(*x.shape):
        old = x[i]
        x[i] = old + h
        fp = np.sum(up * f(x))
        x[i] = old - h
        fm = np.sum(up * f(x))
        x[i] = old
        g[i] = (fp - fm) / (2 * h)
    return g


# ---------------------------------------------------------------- more optimizers ---
# torch.optim's single-tensor formulas, float64, written out per step: each returns the
# parameter after len(grads) steps.

def _optim_grad(g, p, maximize, weight_decay):
    g = -_f64(g) if maximize else _f64(g)
    return g + weight_decay * p if weight_decay else g


def rmsprop(p, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
            maximize=False):
    p = _f64(p).copy()
    v, gavg, buf = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for g in grads:
        g = _optim_grad(g, p, maximize, weight_decay)
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            gavg = alpha * gavg + (1 - alpha) * g
            avg = np.sqrt(v - gavg ** 2) + eps
        else:
            avg = np.sqrt(v) + eps
        if momentum > 0:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
    return p


def adagrad(p, grads, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
            maximize=False):
    p = _f64(p).copy()
    acc = np.full_like(p, initial_accumulator_value)
    for t, g in enumerate(grads, 1):
        g = _optim_grad(g, p, maximize, weight_decay)
        acc = acc + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(acc) + eps)
    return p


def adamax(p, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False):
    p = _f64(p).copy()
    m, u = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        g = _optim_grad(g, p, maximize, weight_decay)
        m = betas[0] * m + (1 - betas[0]) * g
        u = np.maximum(betas[1] * u, np.abs(g) + eps)
        p = p - lr / (1 - betas[0] ** t) * m / u
    return p


def nadam(p, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
          decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    p = _f64(p).copy()
    m, v, mu_prod = np.zeros_like(p), np.zeros_like(p), 1.0
    for t, g in enumerate(grads, 1):
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
            g = _optim_grad(g, p, maximize, 0)
        else:
            g = _optim_grad(g, p, maximize, weight_decay)
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_prod *= mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v / (1 - b2 ** t)) + eps
        p = p - lr * (1 - mu) / (1 - mu_prod) * g / denom - lr * mu_next / (1 - mu_prod * mu_next) * m / denom
    return p


def radam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
          decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    p = _f64(p).copy()
    m, v = np.zeros_like(p), np.zeros_like(p)
    rho_inf = 2 / (1 - b2) - 1
    for t, g in enumerate(grads, 1):
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
            g = _optim_grad(g, p, maximize, 0)
        else:
            g = _optim_grad(g, p, maximize, weight_decay)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat = m / (1 - b1 ** t)
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t > 5:
            r = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p = p - lr * mhat * r * np.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
        else:
            p = p - lr * mhat
    return p


# ------------------------------------------------------------- init and clipping ---

def fan_in_out(shape):
    """torch.nn.init's fans: (in * prod(kernel), out * prod(kernel))."""
    k = 1
    for s in shape[2:]:
        k *= s
    return shape[1] * k, shape[0] * k


def clip_grad_norm(grads, max_norm, norm_type=2.0):
    """(clipped gradients, total norm) in float64: all gradients as one vector."""
    flat = np.concatenate([_f64(g).ravel() for g in grads])
    if np.isinf(norm_type):
        total = np.abs(flat).max()
    else:
        total = (np.abs(flat) ** norm_type).sum() ** (1.0 / norm_type)
    coef = min(1.0, max_norm / (total + 1e-6))
    return [_f64(g) * coef for g in grads], total


def dropout2d(x, keep, p):
    """Channel dropout with a given (N, C) keep mask."""
    return _f64(x) * (np.asarray(keep, np.float64) / (1 - p))[:, :, None, None]


# ------------------------------------------------------------------------- transforms ---

def to_tensor(img):
    """uint8 (H, W, C) in [0, 255] -> float64 (C, H, W) in [0, 1]."""
    return np.transpose(np.asarray(img, np.float64), (2, 0, 1)) / 255.0


def resize_bilinear(img, size):
    """(C, h, w) -> (C, H, W), bilinear with half-pixel centres (align_corners=False), per pixel."""
    img = _f64(img)
    c, h, w = img.shape
    oh, ow = size
    out = np.zeros((c, oh, ow))
    for y in range(oh):
        sy = min(max((y + 0.5) * h / oh - 0.5, 0.0), h - 1)
        y0 = int(np.floor(sy))
        y1, fy = min(y0 + 1, h - 1), sy - y0
        for x in range(ow):
            sx = min(max((x + 0.5) * w / ow - 0.5, 0.0), w - 1)
            x0 = int(np.floor(sx))
            x1, fx = min(x0 + 1, w - 1), sx - x0
            out[:, y, x] = ((1 - fy) * ((1 - fx) * img[:, y0, x0] + fx * img[:, y0, x1])
                            + fy * ((1 - fx) * img[:, y1, x0] + fx * img[:, y1, x1]))
    return out


def adjust_contrast(img, factor):
    """torchvision's adjust_contrast on a float RGB image in [0, 1]."""
    img = _f64(img)
    mean = (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]).mean()
    return np.clip(factor * img + (1 - factor) * mean, 0, 1)


# ------------------------------------------------------------- group / layer / instance norm ---

def group_norm(x, groups, weight=None, bias=None, eps=1e-5):
    """torch.nn.functional.group_norm on (N, C, *): returns (y, mean (N, G), invstd (N, G))."""
    x = _f64(x)
    n, c = x.shape[:2]
    xg = x.reshape(n, groups, -1)
    mean = xg.mean(axis=2)
    invstd = 1.0 / np.sqrt(xg.var(axis=2) + eps)
    y = ((xg - mean[:, :, None]) * invstd[:, :, None]).reshape(x.shape)
    return y * _per_channel(weight, x, 1) + _per_channel(bias, x, 0), mean, invstd


def group_norm_backward(gy, x, groups, weight=None, eps=1e-5):
    """Gradients of group_norm: (gx, gweight, gbias)."""
    gy, x = _f64(gy), _f64(x)
    n, c = x.shape[:2]
    xhat = group_norm(x, groups, eps=eps)[0]
    axes = (0,) + tuple(range(2, x.ndim))
    gweight, gbias = (gy * xhat).sum(axis=axes), gy.sum(axis=axes)
    g = (gy * _per_channel(weight, x, 1)).reshape(n, groups, -1)
    xh = xhat.reshape(n, groups, -1)
    invstd = group_norm(x, groups, eps=eps)[2][:, :, None]
    gx = invstd * (g - g.mean(axis=2, keepdims=True) - xh * (g * xh).mean(axis=2, keepdims=True))
    return gx.reshape(x.shape), gweight, gbias


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """torch.nn.functional.layer_norm: normalize over the trailing len(normalized_shape) dims."""
    x = _f64(x)
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    xhat = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return xhat * (1.0 if weight is None else _f64(weight)) + (0.0 if bias is None else _f64(bias))


def layer_norm_backward(gy, x, normalized_shape, weight=None, eps=1e-5):
    """Gradients of layer_norm: (gx, gweight, gbias) (weight-shaped)."""
    gy, x = _f64(gy), _f64(x)
    k = len(normalized_shape)
    axes = tuple(range(x.ndim - k, x.ndim))
    xhat = layer_norm(x, normalized_shape, eps=eps)
    invstd = 1.0 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    g = gy * (1.0 if weight is None else _f64(weight))
    gx = invstd * (g - g.mean(axis=axes, keepdims=True)
                   - xhat * (g * xhat).mean(axis=axes, keepdims=True))
    lead = tuple(range(x.ndim - k))
    return gx, (gy * xhat).sum(axis=lead), gy.sum(axis=lead)
