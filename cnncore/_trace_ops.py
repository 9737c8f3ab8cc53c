"""cnncore.trace's converters: a recorded layer (MODULES, by class) or op (OPS, by the name its
`traced` decorator gives) becomes Graph nodes. A module converter gets (tracer, module, output,
input); an op converter gets (tracer, output, **the op's bound arguments)."""
import numpy as np

from . import nn
from .functional._validate import pair
from .trace import TraceError


def _pool_attrs(kernel_size, stride, padding, dilation=1, ceil_mode=False):
    k = pair(kernel_size, "kernel_size", 1)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else pair(stride, "stride", 1)
    p = pair(padding, "padding", 0)
    attrs = {"kernel_shape": list(k), "strides": list(s), "pads": [p[0], p[1], p[0], p[1]],
             "ceil_mode": int(bool(ceil_mode))}
    d = pair(dilation, "dilation", 1)
    if d != (1, 1):
        attrs["dilations"] = list(d)
    return attrs


def _max_pool(tr, out, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, **_):
    tr.emit("MaxPool", [tr.name(input)], out, _pool_attrs(kernel_size, stride, padding, dilation, ceil_mode))


def _avg_pool(tr, out, input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
              divisor_override=None, **_):
    if divisor_override is not None:
        raise TraceError("%s: avg_pool2d with divisor_override has no ONNX equivalent" % tr.where())
    attrs = _pool_attrs(kernel_size, stride, padding, 1, ceil_mode)
    attrs["count_include_pad"] = int(bool(count_include_pad))
    tr.emit("AveragePool", [tr.name(input)], out, attrs)


def _adaptive(kind):
    """Adaptive pooling: the global pool for a 1x1 output, else a plain pool when the input size
    is a whole multiple of the output size (the only case with fixed windows)."""
    def convert(tr, out, input, **_):
        (h, w), (oh, ow) = input.shape[2:], out.shape[2:]
        if (oh, ow) == (1, 1):
            tr.emit("Global%sPool" % kind, [tr.name(input)], out)
        elif (h, w) == (1, 1):  # every window is the one pixel: a broadcast
            tr.emit("Expand", [tr.name(input)], out, {"shape": [1, 1, oh, ow]})
        elif h % oh == 0 and w % ow == 0:
            k = [h // oh, w // ow]
            attrs = {"kernel_shape": k, "strides": k, "pads": [0, 0, 0, 0], "ceil_mode": 0}
            tr.emit("%sPool" % ("Average" if kind == "Average" else "Max"), [tr.name(input)], out, attrs)
        else:
            raise TraceError("%s: adaptive %s pooling from %dx%d to %dx%d has windows of different sizes "
                             "(no fixed-window equivalent)" % (tr.where(), kind.lower(), h, w, oh, ow))
    return convert


def _conv(tr, out, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    _conv_named(tr, out, tr.name(input), weight, bias, stride, padding, dilation, groups)


def _conv_named(tr, out, x, weight, bias, stride, padding, dilation, groups):
    """A Conv node on the value named `x`."""
    w = tr.name(weight, "weight")
    kernel = list(tr.params[w].shape[2:]) if w in tr.params else None
    if kernel is None:
        raise TraceError("%s: conv2d with a computed weight cannot be traced" % tr.where())
    p = pair(padding, "padding", 0)
    attrs = {"kernel_shape": kernel, "strides": list(pair(stride, "stride", 1)), "pads": [p[0], p[1], p[0], p[1]],
             "dilations": list(pair(dilation, "dilation", 1)), "group": int(groups)}
    tr.emit("Conv", [x, w] + ([] if bias is None else [tr.name(bias, "bias")]), out, attrs)


def _gemm(tr, out, input, weight, bias=None):
    names = [tr.name(input), tr.name(weight, "weight")] + ([] if bias is None else [tr.name(bias, "bias")])
    tr.emit("Gemm", names, out, {"alpha": 1.0, "beta": 1.0, "transB": 1})


# cnncore's (torch's) padding modes -> ONNX Pad's
_PAD_MODES = {0: "constant", 1: "reflect", 2: "edge", 3: "wrap"}
_PAD_CODES = {"reflect": 1, "replicate": 2, "circular": 3}


def _pad_attrs(mode, top, left, bottom, right, value=0.0):
    return {"mode": mode, "pads": [0, 0, int(top), int(left), 0, 0, int(bottom), int(right)],
            "value": float(value)}


def _conv_module(tr, m, out, x):
    mode = getattr(m, "padding_mode", "zeros")
    if mode == "zeros" or not any(m.padding):
        _conv(tr, out, x, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups)
        return
    (ph, pw), shape = m.padding, tuple(x.shape)  # as torch: F.pad(x, (pw, pw, ph, ph), mode), then conv
    padded = tr.emit_value("Pad", [tr.name(x)], shape[:2] + (shape[2] + 2 * ph, shape[3] + 2 * pw),
                           _pad_attrs(_PAD_MODES[_PAD_CODES[mode]], ph, pw, ph, pw),
                           name=(tr.where_path() or "conv") + "/pad")
    _conv_named(tr, out, padded, m.weight, m.bias, m.stride, 0, m.dilation, m.groups)


def _conv_transpose_module(tr, m, out, x):
    (ph, pw) = m.padding
    attrs = {"kernel_shape": list(m.kernel_size), "strides": list(m.stride), "pads": [ph, pw, ph, pw],
             "dilations": list(m.dilation), "group": int(m.groups), "output_padding": list(m.output_padding)}
    names = [tr.name(x), tr.name(m.weight, "weight")] + ([] if m.bias is None else [tr.name(m.bias, "bias")])
    tr.emit("ConvTranspose", names, out, attrs)


def _affine(tr, m, c_shape, weight="weight", bias="bias"):
    """The names of a norm layer's weight and bias (ones and zeros under its path without affine)."""
    w, b = getattr(m, weight), getattr(m, bias)
    return [tr.param(m, "weight") if w is not None else tr.param(m, "weight", np.ones(c_shape, np.float32)),
            tr.param(m, "bias") if b is not None else tr.param(m, "bias", np.zeros(c_shape, np.float32))]


def _group_norm(tr, m, out, x):
    tr.emit("GroupNormalization", [tr.name(x)] + _affine(tr, m, m.num_channels), out,
            {"num_groups": int(m.num_groups), "epsilon": float(m.eps)})


def _layer_norm(tr, m, out, x):
    shape = tuple(m.normalized_shape)
    tr.emit("LayerNormalization", [tr.name(x)] + _affine(tr, m, shape), out,
            {"axis": -len(shape), "epsilon": float(m.eps)})


def _instance_norm(tr, m, out, x):
    if m.running_mean is not None:  # eval with tracked statistics: a batch norm with them
        _batch_norm(tr, m, out, x)
        return
    tr.emit("InstanceNormalization", [tr.name(x)] + _affine(tr, m, m.num_features), out, {"epsilon": float(m.eps)})


def _batch_norm(tr, m, out, x):
    if m.running_mean is None or m.running_var is None:
        raise TraceError("%s: BatchNorm2d without running statistics (track_running_stats=False) uses "
                         "batch statistics in eval mode; cannot be traced" % tr.where())
    c = m.num_features
    names = [tr.name(x)] + _affine(tr, m, c) + [tr.param(m, "running_mean"), tr.param(m, "running_var")]
    momentum = 0.9 if m.momentum is None else 1.0 - m.momentum  # ONNX's momentum weighs the old value
    tr.emit("BatchNormalization", names, out, {"epsilon": float(m.eps), "momentum": float(momentum)})


MODULES = {
    nn.Conv2d: _conv_module,
    nn.BatchNorm2d: _batch_norm,
    nn.BatchNorm1d: _batch_norm,
    nn.ConvTranspose2d: _conv_transpose_module,
    nn.GroupNorm: _group_norm,
    nn.LayerNorm: _layer_norm,
    nn.InstanceNorm2d: _instance_norm,
    nn.Linear: lambda tr, m, out, x: _gemm(tr, out, x, m.weight, m.bias),
    nn.MaxPool2d: lambda tr, m, out, x: _max_pool(tr, out, x, m.kernel_size, m.stride, m.padding,
                                                  m.dilation, m.ceil_mode),
    nn.AvgPool2d: lambda tr, m, out, x: _avg_pool(tr, out, x, m.kernel_size, m.stride, m.padding, m.ceil_mode,
                                                  m.count_include_pad, m.divisor_override),
    nn.AdaptiveAvgPool2d: lambda tr, m, out, x: _adaptive("Average")(tr, out, x),
    nn.AdaptiveMaxPool2d: lambda tr, m, out, x: _adaptive("Max")(tr, out, x),
}


def _unary(op, **attrs):
    return lambda tr, out, x, *_, **__: tr.emit(op, [tr.name(x)], out, attrs)


def _binary(op):
    return lambda tr, out, a, b: tr.emit(op, [tr.name(a), tr.name(b)], out)


def _axis(d, ndim):
    return int(d) + ndim if int(d) < 0 else int(d)


def _reduce(op):
    def convert(tr, out, x, dim=None, keepdim=False):
        dims = list(range(x.ndim)) if dim is None else \
            sorted(_axis(d, x.ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,)))
        if op == "ReduceMean" and x.ndim == 4 and dims == [2, 3] and keepdim:
            tr.emit("GlobalAveragePool", [tr.name(x)], out)
        else:
            tr.emit(op, [tr.name(x)], out, {"axes": dims, "keepdims": int(bool(keepdim))})
    return convert


def _flatten(tr, out, x, start_dim=0, end_dim=-1):
    if x.ndim >= 2 and _axis(start_dim, x.ndim) == 1 and _axis(end_dim, x.ndim) == x.ndim - 1:
        tr.emit("Flatten", [tr.name(x)], out, {"axis": 1})
    else:
        tr.emit("Reshape", [tr.name(x)], out, {"shape": list(out.shape)})


def _cat(tr, out, tensors, dim=0):
    tr.emit("Concat", [tr.name(t) for t in tensors], out, {"axis": _axis(dim, out.ndim)})


def _softmax(op):
    return lambda tr, out, x, dim: tr.emit(op, [tr.name(x)], out, {"axis": _axis(dim, x.ndim)})


def _pow(tr, out, x, exponent):
    tr.emit("Pow", [tr.name(x), tr.name(exponent, "exponent")], out)


def _dropout(tr, out, input, p=0.5, training=True, seed=None):
    if training and p > 0:
        raise TraceError("%s: dropout with training=True is random; cannot be traced" % tr.where())
    tr.alias(out, input)


def _pad(tr, out, x, g):
    tr.emit("Pad", [tr.name(x)], out, _pad_attrs(_PAD_MODES[g.mode], g.top, g.left, g.bottom, g.right, g.value))


def _interpolate(tr, out, x, g):
    """Resize with PyTorch's index formulas: nearest is ONNX's asymmetric + floor, nearest-exact
    half_pixel + round_prefer_ceil, bilinear pytorch_half_pixel or align_corners. Scales when the
    geometry maps by the given scale factors, else the output sizes."""
    if g.mode == 1:
        attrs = {"mode": "linear", "coordinate_transformation_mode":
                 "align_corners" if g.align_corners else "pytorch_half_pixel"}
    elif g.mode == 0:
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    else:
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "half_pixel",
                 "nearest_mode": "round_prefer_ceil"}
    if g.scale_h > 0 and not g.align_corners:
        attrs["scales"] = [1.0, 1.0, float(g.scale_h), float(g.scale_w)]
    else:
        attrs["sizes"] = [int(d) for d in out.shape]
    tr.emit("Resize", [tr.name(x)], out, attrs)


def _pixel_shuffle(tr, out, x, r, up):
    if up:
        tr.emit("DepthToSpace", [tr.name(x)], out, {"blocksize": int(r), "mode": "CRD"})
        return
    n, c, h, w = x.shape  # pixel_unshuffle: (n, c, h/r, r, w/r, r) -> (n, c, r, r, h/r, w/r)
    base = tr.where_path() or "pixel_unshuffle"
    split = tr.emit_value("Reshape", [tr.name(x)], (n, c, h // r, r, w // r, r),
                          {"shape": [n, c, h // r, r, w // r, r]}, name=base + "/split")
    moved = tr.emit_value("Transpose", [split], (n, c, r, r, h // r, w // r), {"perm": [0, 1, 3, 5, 2, 4]},
                          name=base + "/transpose")
    tr.emit("Reshape", [moved], out, {"shape": list(out.shape)})


def _cannot(what):
    def convert(tr, out, *args, **kwargs):
        raise TraceError("cannot trace op %r (%s): no ONNX-style node for it yet" % (what, tr.where()))
    return convert


OPS = {
    "add": _binary("Add"), "sub": _binary("Sub"), "mul": _binary("Mul"), "div": _binary("Div"),
    "pow": _pow, "mean": _reduce("ReduceMean"), "sum": _reduce("ReduceSum"),
    "reshape": lambda tr, out, x, shape: tr.emit("Reshape", [tr.name(x)], out, {"shape": list(out.shape)}),
    "flatten": _flatten, "cat": _cat, "stack": _cannot("stack"), "getitem": _cannot("getitem (indexing)"),
    "relu": _unary("Relu"), "relu6": _unary("Clip", min=0.0, max=6.0), "abs": _unary("Abs"),
    "leaky_relu": lambda tr, out, x, negative_slope=0.01: tr.emit("LeakyRelu", [tr.name(x)], out,
                                                                  {"alpha": float(negative_slope)}),
    "sigmoid": _unary("Sigmoid"), "tanh": _unary("Tanh"), "silu": _unary("Silu"),
    "hardswish": _unary("HardSwish"), "hardsigmoid": _unary("HardSigmoid", alpha=1.0 / 6, beta=0.5),
    "gelu": lambda tr, out, x, approximate="none": tr.emit("Gelu", [tr.name(x)], out, {"approximate": approximate}),
    "softmax": _softmax("Softmax"), "log_softmax": _softmax("LogSoftmax"),
    "conv2d": _conv, "linear": _gemm, "max_pool2d": _max_pool, "avg_pool2d": _avg_pool,
    "adaptive_avg_pool2d": _adaptive("Average"), "adaptive_max_pool2d": _adaptive("Max"),
    "dropout": _dropout,
    "elu": lambda tr, out, x, alpha=1.0: tr.emit("Elu", [tr.name(x)], out, {"alpha": float(alpha)}),
    "mish": _unary("Mish"), "pad": _pad, "interpolate": _interpolate, "pixel_shuffle": _pixel_shuffle,
}
