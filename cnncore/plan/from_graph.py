"""The traced Graph (cnncore.trace, ONNX-named nodes) -> the planner's Op list (ops.py): nodes
with a C executor entry get their kind and their arguments in cnncore's terms; every node also
carries its Python fallback (fallback.py) for the shapes or arguments the C entry does not take."""
import numpy as np

from .fallback import fallback
from .ops import Op


def _pads(a):
    p = a.get("pads", [0, 0, 0, 0])
    return (p[0], p[1]) if p[0] == p[2] and p[1] == p[3] else None


def _conv(a, params):
    pads = _pads(a)
    if pads is None:
        return None
    return "conv2d", {"stride": tuple(a["strides"]), "padding": pads, "dilation": tuple(a.get("dilations", (1, 1))),
                      "groups": a.get("group", 1)}, params[:2]


def _pool(kind, **extra):
    def convert(a, params):
        pads = _pads(a)
        if pads is None:
            return None
        attrs = {"kernel_size": tuple(a["kernel_shape"]), "stride": tuple(a["strides"]), "padding": pads,
                 "ceil_mode": bool(a.get("ceil_mode", 0))}
        for key, (onnx_key, default) in extra.items():
            attrs[key] = a.get(onnx_key, default)
        if kind == "avg_pool2d":
            attrs["count_include_pad"] = bool(attrs["count_include_pad"])
        return kind, attrs, []
    return convert


def _gemm(a, params):
    if a.get("transB") != 1 or a.get("transA") or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
        return None
    return "linear", {}, params[:2]


def _clip(a, params):
    return ("relu6", {}, []) if (a.get("min"), a.get("max")) == (0.0, 6.0) else None


def _hardsigmoid(a, params):
    """PyTorch's Hardsigmoid (relu6(x + 3) / 6) only: the C kernel has no other slope."""
    return ("hardsigmoid", {}, []) if np.isclose(a.get("alpha", 0.2), 1 / 6) and a.get("beta", 0.5) == 0.5 else None


# ONNX op -> convert(attrs, [weight name, bias name, ...]) -> (kind, attrs, parameter names) or None
_C_OPS = {
    "Conv": _conv,
    "BatchNormalization": lambda a, p: ("batch_norm", {"eps": a["epsilon"]}, p),
    "Gemm": _gemm,
    "Relu": lambda a, p: ("relu", {}, []),
    "Sigmoid": lambda a, p: ("sigmoid", {}, []),
    "Silu": lambda a, p: ("silu", {}, []),
    "HardSwish": lambda a, p: ("hardswish", {}, []),
    "Tanh": lambda a, p: ("tanh", {}, []),
    "LeakyRelu": lambda a, p: ("leaky_relu", {"alpha": float(a.get("alpha", 0.01))}, []),
    "HardSigmoid": _hardsigmoid,
    "Mul": lambda a, p: ("mul", {}, []) if not p else None,
    "Expand": lambda a, p: ("expand", {}, []),
    "Concat": lambda a, p: ("concat", {}, []) if a.get("axis") == 1 and not p else None,
    "Clip": _clip,
    "Add": lambda a, p: ("add", {}, []) if not p else None,
    "MaxPool": _pool("max_pool2d", dilation=("dilations", (1, 1))),
    "AveragePool": _pool("avg_pool2d", count_include_pad=("count_include_pad", 0)),
    "GlobalAveragePool": lambda a, p: ("adaptive_avg_pool2d", {"output_size": (1, 1)}, []),
    "Flatten": lambda a, p: ("flatten", {"start_dim": 1}, []) if a.get("axis", 1) == 1 else None,
    "Identity": lambda a, p: ("identity", {}, []),
}
_PARAM_KEYS = {"conv2d": ("weight", "bias"), "linear": ("weight", "bias"),
               "batch_norm": ("weight", "bias", "running_mean", "running_var")}


def from_graph(graph):
    """Returns (ops, shapes, input value, output value), values numbered from 0."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise NotImplementedError("compile: models with one input and one output only, got %d inputs and "
                                  "%d outputs" % (len(graph.inputs), len(graph.outputs)))
    ids, shapes = {}, {}

    def value(name, shape=None):
        if name not in ids:
            ids[name] = len(ids)
            shapes[ids[name]] = tuple(shape)
        return ids[name]

    value(graph.inputs[0].name, graph.inputs[0].shape)
    ops = []
    for node in graph.nodes:
        if len(node.outputs) != 1:
            raise NotImplementedError("compile: node %s (%s) has %d outputs" % (node.name, node.op, len(node.outputs)))
        param_names = [n for n in node.inputs if n in graph.params]
        inputs = [ids[n] for n in node.inputs if n not in graph.params]
        out = value(node.outputs[0], node.output_shapes[0])
        try:
            fn = fallback(node, graph.params)
        except NotImplementedError:
            fn = None
        convert = _C_OPS.get(node.op)
        lowered = convert(node.attrs, param_names) if convert else None
        if lowered is None:
            ops.append(Op("python", node.name, inputs, out, {"fn": fn, "op": node.op}, {}))
            continue
        kind, attrs, names = lowered
        params = {key: graph.params[n] for key, n in zip(_PARAM_KEYS.get(kind, ()), names)}
        ops.append(Op(kind, node.name, inputs, out, dict(attrs, fn=fn, op=node.op), params))
    return ops, shapes, ids[graph.inputs[0].name], ids[graph.outputs[0].name]
