"""The NumPy baselines of the bench: the same work as each case's cnncore callable, in float32
NumPy (im2col + BLAS for convolutions, plain NumPy for the rest). tests/test_bench.py checks they
compute what cnncore computes."""
import numpy as np


def _pad(x, p, value=0.0):
    if p == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=value)


def _out(size, k, s, p):
    return (size + 2 * p - k) // s + 1


def _tap(i, j, s, oh, ow):
    """The strided window of tap (i, j) in a padded input: rows i, i+s, ..., oh of them."""
    return (slice(None), slice(None), slice(i, i + s * (oh - 1) + 1, s), slice(j, j + s * (ow - 1) + 1, s))


def im2col(x, k, s, p):
    """(N*OH*OW, C*K*K) float32 columns of x (N, C, H, W), and OH, OW."""
    n, c, h, w = x.shape
    oh, ow = _out(h, k, s, p), _out(w, k, s, p)
    win = np.lib.stride_tricks.sliding_window_view(_pad(x, p), (k, k), axis=(2, 3))
    win = win[:, :, ::s, ::s][:, :, :oh, :ow]  # (n, c, oh, ow, k, k)
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * k * k), oh, ow


def numpy_conv2d(x, w, stride=1, padding=0):
    """Convolution the NumPy way: float32 im2col and one BLAS matmul (groups=1, no dilation)."""
    n = x.shape[0]
    o, _, k, _ = w.shape
    cols, oh, ow = im2col(x, k, stride, padding)
    y = cols @ w.reshape(o, -1).T
    return y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)


def numpy_conv2d_backward_data(dy, w, x_shape, stride=1, padding=0):
    """Input gradient: one matmul to columns, then col2im (one strided add per tap)."""
    n, c, h, wd = x_shape
    o, _, k, _ = w.shape
    oh, ow = dy.shape[2:]
    dcols = (dy.transpose(0, 2, 3, 1).reshape(-1, o) @ w.reshape(o, -1)).reshape(n, oh, ow, c, k, k)
    dxp = np.zeros((n, c, h + 2 * padding, wd + 2 * padding), np.float32)
    for i in range(k):
        for j in range(k):
            dxp[_tap(i, j, stride, oh, ow)] += dcols[..., i, j].transpose(0, 3, 1, 2)
    return dxp[:, :, padding:padding + h, padding:padding + wd]


def numpy_conv2d_backward_weights(x, dy, k, stride=1, padding=0):
    """Weight gradient: im2col and one matmul."""
    o = dy.shape[1]
    cols, _, _ = im2col(x, k, stride, padding)
    return (dy.transpose(0, 2, 3, 1).reshape(-1, o).T @ cols).reshape(o, x.shape[1], k, k)


def numpy_dwconv2d(x, w, stride, padding):
    """Depthwise convolution: one broadcast multiply-add per tap."""
    k = w.shape[2]
    oh, ow = _out(x.shape[2], k, stride, padding), _out(x.shape[3], k, stride, padding)
    xp = _pad(x, padding)
    y = np.zeros((x.shape[0], x.shape[1], oh, ow), np.float32)
    for i in range(k):
        for j in range(k):
            y += xp[_tap(i, j, stride, oh, ow)] * w[None, :, 0, i, j, None, None]
    return y


def numpy_dwconv2d_backward_data(dy, w, x_shape, stride, padding):
    n, c, h, wd = x_shape
    k = w.shape[2]
    oh, ow = dy.shape[2:]
    dxp = np.zeros((n, c, h + 2 * padding, wd + 2 * padding), np.float32)
    for i in range(k):
        for j in range(k):
            dxp[_tap(i, j, stride, oh, ow)] += dy * w[None, :, 0, i, j, None, None]
    return dxp[:, :, padding:padding + h, padding:padding + wd]


def numpy_dwconv2d_backward_weights(x, dy, k, stride, padding):
    oh, ow = dy.shape[2:]
    xp = _pad(x, padding)
    dw = np.empty((x.shape[1], 1, k, k), np.float32)
    for i in range(k):
        for j in range(k):
            dw[:, 0, i, j] = np.einsum("nchw,nchw->c", xp[_tap(i, j, stride, oh, ow)], dy)
    return dw


def numpy_max_pool2d(x, k, s, p):
    oh, ow = _out(x.shape[2], k, s, p), _out(x.shape[3], k, s, p)
    xp = _pad(x, p, -np.inf)
    y = np.full((x.shape[0], x.shape[1], oh, ow), -np.inf, np.float32)
    for i in range(k):
        for j in range(k):
            np.maximum(y, xp[_tap(i, j, s, oh, ow)], out=y)
    return y


def numpy_max_pool2d_argmax(x, k, s, p):
    """Window-tap index (0..k*k-1) of each output's maximum (setup for the backward)."""
    oh, ow = _out(x.shape[2], k, s, p), _out(x.shape[3], k, s, p)
    xp = _pad(x, p, -np.inf)
    return np.stack([xp[_tap(i, j, s, oh, ow)] for i in range(k) for j in range(k)]).argmax(0)


def numpy_max_pool2d_backward(dy, tap, x_shape, k, s, p):
    n, c, h, w = x_shape
    oh, ow = dy.shape[2:]
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p), np.float32)
    for i in range(k):
        for j in range(k):
            dxp[_tap(i, j, s, oh, ow)] += np.where(tap == i * k + j, dy, np.float32(0))
    return dxp[:, :, p:p + h, p:p + w]


def numpy_bn_relu(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm (batch statistics) and ReLU; returns y, mean, invstd."""
    mean = x.mean((0, 2, 3))
    invstd = 1.0 / np.sqrt(x.var((0, 2, 3)) + eps)
    scale = (gamma * invstd)[None, :, None, None]
    y = np.maximum((x - mean[None, :, None, None]) * scale + beta[None, :, None, None], 0)
    return y, mean, invstd


def numpy_bn_relu_backward(dy, y, x, gamma, mean, invstd):
    m = x.shape[0] * x.shape[2] * x.shape[3]
    d = np.where(y > 0, dy, np.float32(0))
    xhat = (x - mean[None, :, None, None]) * invstd[None, :, None, None]
    db = d.sum((0, 2, 3))
    dg = (d * xhat).sum((0, 2, 3))
    dx = (gamma * invstd / m)[None, :, None, None] * (m * d - db[None, :, None, None]
                                                      - xhat * dg[None, :, None, None])
    return dx, dg, db
