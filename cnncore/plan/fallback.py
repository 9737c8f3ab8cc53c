"""Python implementations of the traced graph's ops (ONNX names, docs/TRACE.md) on row-major
float32 arrays: what a compiled plan runs for an op without a C executor entry. Each entry is
fn(attrs) -> callable(*arrays); cnncore.functional does the work where it has the op, so the
numbers are the eager model's."""
import numpy as np

from .. import functional as F
from .._graph_ops import interpolate_kwargs, pad_args


def _pads(attrs):
    p = attrs.get("pads", [0, 0, 0, 0])
    if p[0] != p[2] or p[1] != p[3]:
        raise NotImplementedError("asymmetric pads %s" % (p,))
    return (p[0], p[1])


def _conv(a):
    return lambda x, w, b=None: F.conv2d(x, w, b, a["strides"], _pads(a), a.get("dilations", 1), a.get("group", 1))


def _pool(fn, a, **extra):
    return lambda x: fn(x, a["kernel_shape"], a["strides"], _pads(a), ceil_mode=bool(a.get("ceil_mode")), **extra)


def _gemm(a):
    if a.get("transB") != 1 or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0 or a.get("transA"):
        raise NotImplementedError("Gemm with attributes %s" % (a,))
    return lambda x, w, b=None: F.linear(x, w, b)


def _unary(fn):
    return lambda a: fn


def _axes_reduce(np_fn):
    return lambda a: lambda x: np_fn(x, axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))


def _pad(a):
    pad, mode, value = pad_args(a)
    return lambda x: F.pad(x, pad, mode, value)


def _conv_transpose(a):
    return lambda x, w, b=None: F.conv_transpose2d(x, w, b, a["strides"], _pads(a), a.get("output_padding", 0),
                                                   a.get("group", 1), a.get("dilations", 1))


def _instance_norm(a):
    def run(x, w, b):
        s = x.shape  # any rank (N, C, ...) as (N, C, pixels, 1)
        y = F.instance_norm(x.reshape(s[0], s[1], -1, 1), weight=w, bias=b, eps=a["epsilon"])
        return y.reshape(s)
    return run


def _layer_norm(a):
    return lambda x, w, b=None: F.layer_norm(x, x.shape[a["axis"]:], w, b,
                                             a["epsilon"])


FALLBACK = {
    "Conv": _conv,
    "Gemm": _gemm,
    "BatchNormalization": lambda a: lambda x, w, b, m, v: F.batch_norm(x, m, v, w, b, False, eps=a["epsilon"]),
    "MaxPool": lambda a: _pool(F.max_pool2d, a, dilation=a.get("dilations", 1)),
    "AveragePool": lambda a: _pool(F.avg_pool2d, a, count_include_pad=bool(a.get("count_include_pad", 0))),
    "GlobalAveragePool": _unary(lambda x: x.mean(axis=(2, 3), keepdims=True, dtype=np.float64).astype(np.float32)),
    "GlobalMaxPool": _unary(lambda x: x.max(axis=(2, 3), keepdims=True)),
    "Relu": _unary(F.relu),
    "Clip": lambda a: lambda x: np.clip(x, a.get("min", -np.inf), a.get("max", np.inf)),
    "Sigmoid": _unary(F.sigmoid),
    "Silu": _unary(F.silu),
    "HardSwish": _unary(F.hardswish),
    "HardSigmoid": lambda a: lambda x: np.clip(x * a.get("alpha", 0.2) + a.get("beta", 0.5), 0, 1).astype(np.float32),
    "Tanh": _unary(F.tanh),
    "Abs": _unary(np.abs),
    "LeakyRelu": lambda a: lambda x: F.leaky_relu(x, a.get("alpha", 0.01)),
    "Gelu": lambda a: lambda x: F.gelu(x, approximate=a.get("approximate", "none")),
    "Softmax": lambda a: lambda x: F.softmax(x, a["axis"]),
    "LogSoftmax": lambda a: lambda x: F.log_softmax(x, a["axis"]),
    "Add": _unary(np.add), "Sub": _unary(np.subtract), "Mul": _unary(np.multiply),
    "Div": _unary(np.divide), "Pow": _unary(np.power),
    "ReduceMean": _axes_reduce(np.mean), "ReduceSum": _axes_reduce(np.sum),
    "Flatten": _unary(lambda x: x.reshape(x.shape[0], -1)),
    "Reshape": lambda a: lambda x: x.reshape(a["shape"]),
    "Expand": lambda a: lambda x: np.broadcast_to(x, np.broadcast_shapes(x.shape, tuple(a["shape"]))),
    "Concat": lambda a: lambda *xs: np.concatenate(xs, axis=a["axis"]),
    "Identity": _unary(lambda x: x),
    "ConvTranspose": _conv_transpose,
    "GroupNormalization": lambda a: lambda x, w, b: F.group_norm(x, a["num_groups"], w, b, a["epsilon"]),
    "LayerNormalization": _layer_norm,
    "InstanceNormalization": _instance_norm,
    "Elu": lambda a: lambda x: F.elu(x, a.get("alpha", 1.0)),
    "Mish": _unary(F.mish),
    "Softplus": _unary(lambda x: np.logaddexp(0.0, x.astype(np.float64))),
    "Pad": _pad,
    "Resize": lambda a: (lambda kw: lambda x: F.interpolate(x, **kw))(interpolate_kwargs(a)),
    "DepthToSpace": lambda a: lambda x: F.pixel_shuffle(x, a["blocksize"]),
    "Transpose": lambda a: lambda x: np.ascontiguousarray(np.transpose(x, a.get("perm"))),
}


def fallback(node, params):
    """The Python callable for a traced node: its non-parameter inputs in, its output out (the
    parameters bound). Raises NotImplementedError for an op it does not know."""
    make = FALLBACK.get(node.op)
    if make is None:
        raise NotImplementedError("op %r" % node.op)
    fn = make(node.attrs)
    slots = [params.get(name) for name in node.inputs]

    def run(*arrays):
        it = iter(arrays)
        args = [next(it) if p is None else p for p in slots]
        return np.asarray(fn(*args), dtype=np.float32)
    return run
