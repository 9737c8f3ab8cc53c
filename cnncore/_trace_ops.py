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
    w = tr.name(weight, "weight")
    kernel = list(tr.params[w].shape[2:]) if w in tr.params else None
    if kernel is None:
        raise TraceError("%s: conv2d with a computed weight cannot be traced" % tr.where())
    p = pair(padding, "padding", 0)
    attrs = {"kernel_shape": kernel, "strides": list(pair(stride, "stride", 1)), "pads": [p[0], p[1], p[0], p[1]],
             "dilations": list(pair(dilation, "dilation", 1)), "group": int(groups)}
    tr.emit("Conv", [tr.name(input), w] + ([] if bias is None else [tr.name(bias, "bias")]), out, attrs)


def _gemm(tr, out, input, weight, bias=None):
    names = [tr.name(input), tr.name(weight, "weight")] + ([] if bias is None else [tr.name(bias, "bias")])
    tr.emit("Gemm", names, out, {"alpha": 1.0, "beta": 1.0, "transB": 1})


def _conv_module(tr, m, out, x):
    mode = getattr(m, "padding_mode", "zeros")
    if mode != "zeros" and any(m.padding):
        raise TraceError("%s: Conv2d with padding_mode=%r cannot be traced yet (only zero padding)"
                         % (tr.where(), mode))
    _conv(tr, out, x, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups)


def _batch_norm(tr, m, out, x):
    if m.running_mean is None or m.running_var is None:
        raise TraceError("%s: BatchNorm2d without running statistics (track_running_stats=False) uses "
                         "batch statistics in eval mode; cannot be traced" % tr.where())
    c = m.num_features
    names = [tr.name(x),
             tr.param(m, "weight") if m.weight is not None else tr.param(m, "weight", np.ones(c, np.float32)),
             tr.param(m, "bias") if m.bias is not None else tr.param(m, "bias", np.zeros(c, np.float32)),
             tr.param(m, "running_mean"), tr.param(m, "running_var")]
    momentum = 0.9 if m.momentum is None else 1.0 - m.momentum  # ONNX's momentum weighs the old value
    tr.emit("BatchNormalization", names, out, {"epsilon": float(m.eps), "momentum": float(momentum)})


MODULES = {
    nn.Conv2d: _conv_module,
    nn.BatchNorm2d: _batch_norm,
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
}
