"""ONNX ModelProto -> Graph (cnncore.trace's schema) -> GraphModule.

Constant sub-graphs (Constant, Shape of a static value, Gather, Unsqueeze, Concat, Cast, Slice,
ConstantOfShape, Transpose... as PyTorch's exporter emits them around Reshape, Pad and Resize)
are folded here with NumPy, and PyTorch's GroupNorm pattern is fused (_fuse.py); ONNX attributes are
normalized to the Graph's conventions (defaults filled in, auto_pad resolved to pads, inputs that
are constants such as Clip's bounds or Reshape's shape turned into attributes). Ops the Graph
cannot run are kept as nodes and GraphModule rejects them, naming node and op type.
"""
import numpy as np

from .._graph_ops import interpolate_kwargs
from ..trace import Graph, Node, Value
from ._common import require_onnx
from ._fuse import fuse_group_norm
from ._module import GraphModule, UnsupportedOperatorError


def load(path):
    """An nn.Module (GraphModule, in eval mode) running the ONNX model at `path` (a file path,
    bytes or an onnx.ModelProto) with cnncore's ops. Its parameters come from the initializers
    (convolution, batch-norm and fully-connected weights are trainable Parameters; other
    constants are buffers); `train()` makes BatchNormalization use batch statistics, so the
    network can be fine-tuned. Raises UnsupportedOperatorError naming the node and op type of
    the first operator cnncore cannot run."""
    onnx = require_onnx()
    if isinstance(path, onnx.ModelProto):
        model = path
    elif isinstance(path, (bytes, bytearray)):
        model = onnx.load_from_string(bytes(path))
    else:
        model = onnx.load(path)
    return GraphModule(to_graph(model)).eval()


def _attrs(node):
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list):
            v = [x.decode() if isinstance(x, bytes) else x for x in v]
        out[a.name] = v
    return out


def _dims(value_info):
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)


def to_graph(model):
    """The Graph of an onnx.ModelProto (see load)."""
    require_onnx()
    from onnx import numpy_helper, shape_inference

    try:
        inferred = shape_inference.infer_shapes(model)
    except Exception:  # shapes are a help for folding; a model ORT can run still loads without
        inferred = model
    g = inferred.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    shapes = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        shapes[vi.name] = _dims(vi)
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    conv = _Converter(opset, shapes, consts)
    conv.used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    inputs = [Value(vi.name, shapes.get(vi.name) or ()) for vi in g.input if vi.name not in consts]
    for node in g.node:
        conv.node(node)
    for vi in g.output:
        conv.output(vi.name, shapes.get(vi.name) or ())
    nodes = fuse_group_norm(conv.nodes, conv.params, conv.origin)
    return Graph(inputs, [Value(vi.name, shapes.get(vi.name) or ()) for vi in g.output], nodes, conv.params)


class _Converter:
    def __init__(self, opset, shapes, consts):
        self.opset, self.shapes, self.consts = opset, shapes, consts
        self.nodes, self.params, self.alias = [], {}, {}
        self.origin = {}  # folded constant -> the initializer it reshapes (its state_dict name)
        self._count = 0

    # ------------------------------------------------------------------ values
    def real(self, name):
        return self.alias.get(name, name)

    def is_const(self, name):
        return name == "" or self.real(name) in self.consts

    def const(self, name, node, what):
        if name == "":
            return None
        v = self.consts.get(self.real(name))
        if v is None:
            raise UnsupportedOperatorError("node %r (%s): %s (%r) must be a constant" % (node.name, node.op_type,
                                                                                        what, name))
        return v

    def operand(self, name, node):
        """A data input: a computed value, or a float constant as a graph parameter."""
        name = self.real(name)
        if name in self.consts:
            v = self.consts[name]
            if v.dtype.kind != "f":
                raise UnsupportedOperatorError("node %r (%s): integer input %r used as data"
                                               % (node.name, node.op_type, name))
            self.params.setdefault(name, np.asarray(v, np.float32))
        return name

    def shape_of(self, name):
        return self.shapes.get(self.real(name)) or self.shapes.get(name)

    # ------------------------------------------------------------------ nodes
    def emit(self, node, op, inputs, attrs):
        name = node.name or "%s_%d" % (op, self._count)
        self._count += 1
        out = node.output[0]
        shape = self.shapes.get(out)
        self.nodes.append(Node(op, name, [self.operand(i, node) for i in inputs], [out], attrs,
                               [shape if shape is not None else ()]))

    def output(self, name, shape):
        real = self.real(name)
        if real != name or real in self.consts:
            inp = self.operand(real, _Named(name, "Identity"))
            self.nodes.append(Node("Identity", name, [inp], [name], {}, [shape]))

    def node(self, node):
        op = node.op_type
        attrs = _attrs(node)
        if not node.name:
            node.name = node.output[0]  # unnamed nodes are named after their output (messages, modules)
        extra = [o for o in node.output[1:] if o and o in self.used]
        if extra:
            raise UnsupportedOperatorError("node %r (%s): its output %r is not supported (only the first output)"
                                           % (node.name, op, extra[0]))
        if op == "Constant":
            self.consts[node.output[0]] = _constant_value(node, attrs)
            return
        if op == "Dropout" and self._random_dropout(node, attrs):
            raise UnsupportedOperatorError("node %r (Dropout): training_mode=True (random at inference) is not "
                                           "supported" % node.name)
        if op in ("Identity", "Dropout"):
            self.alias[node.output[0]] = self.real(node.input[0])
            return
        if op == "Shape" and self._fold_shape(node, attrs):
            return
        if op in _FOLD and all(self.is_const(i) for i in node.input):
            vals = [self.const(i, node, "input") for i in node.input]
            self.consts[node.output[0]] = _FOLD[op](vals, attrs, self.opset)
            if op in ("Unsqueeze", "Squeeze", "Reshape") and vals[0].dtype.kind == "f":
                self.origin[node.output[0]] = self.origin.get(self.real(node.input[0]), self.real(node.input[0]))
            return
        convert = getattr(self, "_" + op, None)
        if convert is not None:
            convert(node, attrs)
        else:  # GraphModule decides whether it can run it
            self.emit(node, op, [i for i in node.input if i], attrs)

    def _random_dropout(self, node, attrs):
        ins = list(node.input) + ["", ""]
        training = self.const(ins[2], node, "training_mode")
        ratio = self.const(ins[1], node, "ratio")
        ratio = attrs.get("ratio", 0.5) if ratio is None else float(np.asarray(ratio).reshape(-1)[0])
        return training is not None and bool(np.asarray(training).reshape(-1)[0]) and ratio > 0

    def _fold_shape(self, node, attrs):
        """Shape of a static value is a constant; an unknown batch dimension is 0, which is what
        Reshape reads as "copy this dimension" (PyTorch's x.view(x.size(0), -1) pattern)."""
        s = self.shape_of(node.input[0])
        if s is None or any(d is None for d in s[1:]):
            return False
        dims = np.array([0 if d is None else d for d in s], np.int64)
        self.consts[node.output[0]] = dims[attrs.get("start", 0):attrs.get("end", len(dims))]
        return True

    # ------------------------------------------------------------------ normalized attributes
    def _pads(self, node, attrs, kernel):
        x = self.shape_of(node.input[0])
        n = len(kernel)
        strides = list(attrs.get("strides", [1] * n))
        dil = list(attrs.get("dilations", [1] * n))
        auto = attrs.get("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            if x is None or any(d is None for d in x[2:]):
                raise UnsupportedOperatorError("node %r (%s): auto_pad=%s needs a static input size"
                                               % (node.name, node.op_type, auto))
            begin, end = [], []
            for size, k, s, d in zip(x[2:], kernel, strides, dil):
                total = max(0, (-(-size // s) - 1) * s + (k - 1) * d + 1 - size)
                small, big = total // 2, total - total // 2
                begin.append(small if auto == "SAME_UPPER" else big)
                end.append(big if auto == "SAME_UPPER" else small)
            pads = begin + end
        elif auto == "VALID":
            pads = [0] * (2 * n)
        else:
            pads = list(attrs.get("pads", [0] * (2 * n)))
        if n != 2:
            raise UnsupportedOperatorError("node %r (%s): %d-d; cnncore runs 2-d (NCHW) only"
                                           % (node.name, node.op_type, n))
        return {"strides": strides, "pads": pads, "dilations": dil}

    def _Conv(self, node, attrs):
        w = self.const(node.input[1], node, "the weight")
        kernel = list(attrs.get("kernel_shape", w.shape[2:]))
        a = self._pads(node, attrs, kernel)
        a.update(kernel_shape=kernel, group=int(attrs.get("group", 1)))
        self.emit(node, "Conv", [i for i in node.input if i], a)

    def _ConvTranspose(self, node, attrs):
        w = self.const(node.input[1], node, "the weight")
        kernel = list(attrs.get("kernel_shape", w.shape[2:]))
        if "output_shape" in attrs or attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            raise UnsupportedOperatorError("node %r (ConvTranspose): output_shape / auto_pad SAME are not supported "
                                           "(give pads and output_padding)" % node.name)
        n = len(kernel)
        pads = [0] * (2 * n) if attrs.get("auto_pad") == "VALID" else list(attrs.get("pads", [0] * (2 * n)))
        if n != 2:
            raise UnsupportedOperatorError("node %r (ConvTranspose): %d-d; cnncore runs 2-d (NCHW) only"
                                           % (node.name, n))
        a = {"kernel_shape": kernel, "strides": list(attrs.get("strides", [1, 1])), "pads": pads,
             "dilations": list(attrs.get("dilations", [1, 1])), "group": int(attrs.get("group", 1)),
             "output_padding": list(attrs.get("output_padding", [0, 0]))}
        self.emit(node, "ConvTranspose", [i for i in node.input if i], a)

    def _pool(self, node, attrs, op):
        kernel = list(attrs["kernel_shape"])
        a = self._pads(node, attrs, kernel)
        a.update(kernel_shape=kernel, ceil_mode=int(attrs.get("ceil_mode", 0)))
        if op == "AveragePool":
            a["count_include_pad"] = int(attrs.get("count_include_pad", 0))
        self.emit(node, op, node.input[:1], a)

    def _MaxPool(self, node, attrs):
        if len(node.output) > 1 and node.output[1]:
            raise UnsupportedOperatorError("node %r (MaxPool): the Indices output is not supported" % node.name)
        self._pool(node, attrs, "MaxPool")

    def _AveragePool(self, node, attrs):
        self._pool(node, attrs, "AveragePool")

    def _BatchNormalization(self, node, attrs):
        self.emit(node, "BatchNormalization", node.input[:5],
                  {"epsilon": float(attrs.get("epsilon", 1e-5)), "momentum": float(attrs.get("momentum", 0.9))})

    def _Gemm(self, node, attrs):
        a = {k: attrs.get(k, d) for k, d in (("alpha", 1.0), ("beta", 1.0), ("transA", 0), ("transB", 0))}
        self.emit(node, "Gemm", [i for i in node.input if i], a)

    def _Clip(self, node, attrs):
        if self.opset < 11:
            lo, hi = attrs.get("min", -np.inf), attrs.get("max", np.inf)
        else:
            ins = list(node.input) + ["", ""]
            lo = self.const(ins[1], node, "min")
            hi = self.const(ins[2], node, "max")
            lo = -np.inf if lo is None else float(lo)
            hi = np.inf if hi is None else float(hi)
        self.emit(node, "Clip", node.input[:1], {"min": float(lo), "max": float(hi)})

    def _axes(self, node, attrs, k=1):
        if "axes" in attrs:
            return [int(a) for a in attrs["axes"]]
        if len(node.input) > k and node.input[k]:
            return [int(a) for a in self.const(node.input[k], node, "axes").reshape(-1)]
        return None

    def _reduce(self, node, attrs, op):
        axes = self._axes(node, attrs) or None  # empty: every axis, unless noop_with_empty_axes
        if axes is None and attrs.get("noop_with_empty_axes", 0):
            self.alias[node.output[0]] = self.real(node.input[0])
            return
        x = self.shape_of(node.input[0])
        if axes is not None and x is not None:
            axes = sorted(a + len(x) if a < 0 else a for a in axes)
        self.emit(node, op, node.input[:1], {"axes": axes, "keepdims": int(attrs.get("keepdims", 1))})

    def _ReduceMean(self, node, attrs):
        self._reduce(node, attrs, "ReduceMean")

    def _ReduceSum(self, node, attrs):
        self._reduce(node, attrs, "ReduceSum")

    def _static_reshape(self, node, shape):
        self.emit(node, "Reshape", node.input[:1], {"shape": [int(s) for s in shape]})

    def _Reshape(self, node, attrs):
        if int(attrs.get("allowzero", 0)):
            raise UnsupportedOperatorError("node %r (Reshape): allowzero=1 is not supported" % node.name)
        self._static_reshape(node, list(self.const(node.input[1], node, "the shape").reshape(-1)))

    def _squeeze_like(self, node, attrs):
        """Squeeze/Unsqueeze as a Reshape to the inferred output shape (unknown batch: copied)."""
        out = self.shapes.get(node.output[0])
        x = self.shape_of(node.input[0])
        if out is None or any(d is None for d in out[1:]) or (out and out[0] is None and (not x or x[0] is not None)):
            raise UnsupportedOperatorError("node %r (%s): needs a static output shape"
                                           % (node.name, node.op_type))
        self._static_reshape(node, [0 if d is None else d for d in out])

    _Squeeze = _Unsqueeze = _squeeze_like

    def _Flatten(self, node, attrs):
        self.emit(node, "Flatten", node.input[:1], {"axis": int(attrs.get("axis", 1))})

    def _softmax(self, node, attrs, op):
        x = self.shape_of(node.input[0])
        axis = int(attrs.get("axis", 1 if self.opset < 13 else -1))
        if self.opset < 13 and x is not None and axis not in (len(x) - 1, -1):
            raise UnsupportedOperatorError("node %r (%s): opset-%d semantics (flattened from axis %d)"
                                           % (node.name, op, self.opset, axis))
        self.emit(node, op, node.input[:1], {"axis": axis})

    def _Softmax(self, node, attrs):
        self._softmax(node, attrs, "Softmax")

    def _LogSoftmax(self, node, attrs):
        self._softmax(node, attrs, "LogSoftmax")

    def _Pad(self, node, attrs):
        if self.opset < 11:
            pads, value = list(attrs["pads"]), float(attrs.get("value", 0.0))
        else:
            ins = list(node.input) + ["", "", ""]
            if ins[3]:
                raise UnsupportedOperatorError("node %r (Pad): the axes input is not supported" % node.name)
            pads = [int(p) for p in self.const(ins[1], node, "pads").reshape(-1)]
            v = self.const(ins[2], node, "constant_value")
            value = 0.0 if v is None else float(np.asarray(v).reshape(-1)[0])
        self.emit(node, "Pad", node.input[:1], {"mode": attrs.get("mode", "constant"), "pads": pads, "value": value})

    def _Resize(self, node, attrs):
        """Resize normalized to full-rank scales or sizes (the axes attribute and an empty scales
        input resolved); modes cnncore's interpolate lacks raise here."""
        ins = list(node.input) + ["", "", ""]
        scales, sizes = (self.const(ins[1], node, "scales"), None) if self.opset < 11 else \
            (self.const(ins[2], node, "scales"), self.const(ins[3], node, "sizes"))
        x = self.shape_of(node.input[0])
        rank = len(x) if x else 4
        axes = [a + rank if a < 0 else a for a in attrs.get("axes", range(rank))]
        a = {k: attrs[k] for k in ("mode", "coordinate_transformation_mode", "nearest_mode") if k in attrs}
        for key, default in (("antialias", 0), ("exclude_outside", 0), ("keep_aspect_ratio_policy", "stretch")):
            if attrs.get(key, default) != default:
                raise UnsupportedOperatorError("node %r (Resize): %s=%r is not supported"
                                               % (node.name, key, attrs[key]))
        if sizes is not None and sizes.size:
            full = [0] * rank
            for ax, v in zip(axes, sizes.reshape(-1)):
                full[ax] = int(v)
            a["sizes"] = full
        elif scales is not None and scales.size:
            full = [1.0] * rank
            for ax, v in zip(axes, scales.reshape(-1)):
                full[ax] = float(v)
            a["scales"] = full
        else:
            raise UnsupportedOperatorError("node %r (Resize): needs constant scales or sizes" % node.name)
        try:
            interpolate_kwargs(a)
        except ValueError as exc:
            raise UnsupportedOperatorError("node %r (Resize): %s" % (node.name, exc)) from None
        self.emit(node, "Resize", node.input[:1], a)

    def _GroupNormalization(self, node, attrs):
        """Opset 18's per-group scale and bias become opset 21's per-channel ones (repeated)."""
        g = int(attrs["num_groups"])
        ins = [self.real(i) for i in node.input[:3]]
        scale, bias = (self.const(i, node, what) for i, what in zip(ins[1:], ("scale", "bias")))
        x = self.shape_of(node.input[0])
        c = x[1] if x and len(x) > 1 and x[1] else scale.size
        if scale.size == g != c:
            for k, arr in ((1, scale), (2, bias)):
                ins[k] = ins[k] + "/per_channel"
                self.consts[ins[k]] = np.repeat(arr.reshape(-1), c // g).astype(np.float32)
        self.emit(node, "GroupNormalization", ins, {"num_groups": g, "epsilon": float(attrs.get("epsilon", 1e-5))})

    def _Pow(self, node, attrs):
        self.const(node.input[1], node, "the exponent")
        self.emit(node, "Pow", node.input[:2], {})

    def _MatMul(self, node, attrs):
        x = self.shape_of(node.input[0])
        if x is not None and len(x) != 2:
            raise UnsupportedOperatorError("node %r (MatMul): %d-d input; 2-d only" % (node.name, len(x)))
        self.emit(node, "MatMul", node.input[:2], {})


class _Named:
    def __init__(self, name, op_type):
        self.name, self.op_type = name, op_type


def _constant_value(node, attrs):
    from onnx import numpy_helper

    for a in node.attribute:
        if a.name == "value":
            return numpy_helper.to_array(a.t)
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                       ("value_ints", np.int64)):
        if key in attrs:
            return np.array(attrs[key], dtype)
    raise UnsupportedOperatorError("node %r (Constant): only tensor, float and int values are supported"
                                   % node.name)


def _cast(vals, attrs, opset):
    from onnx import helper

    return vals[0].astype(helper.tensor_dtype_to_np_dtype(attrs["to"]))


def _unsqueeze(vals, attrs, opset):
    x = vals[0]
    axes = attrs.get("axes") if "axes" in attrs else [int(a) for a in vals[1].reshape(-1)]
    rank = x.ndim + len(axes)
    for a in sorted(a + rank if a < 0 else a for a in axes):
        x = np.expand_dims(x, a)
    return x


def _squeeze(vals, attrs, opset):
    axes = attrs.get("axes") if "axes" in attrs else (None if len(vals) < 2 or vals[1] is None
                                                        else [int(a) for a in vals[1].reshape(-1)])
    return np.squeeze(vals[0], None if axes is None else tuple(axes))


def _gather(vals, attrs, opset):
    return np.take(vals[0], vals[1].astype(np.int64), axis=attrs.get("axis", 0))


def _binary(fn):
    return lambda vals, attrs, opset: fn(vals[0], vals[1]).astype(np.result_type(vals[0], vals[1]))


def _slice(vals, attrs, opset):
    x = vals[0]
    starts, ends = [int(v) for v in vals[1].reshape(-1)], [int(v) for v in vals[2].reshape(-1)]
    axes = list(range(len(starts))) if len(vals) < 4 or vals[3] is None else [int(v) for v in vals[3].reshape(-1)]
    steps = [1] * len(starts) if len(vals) < 5 or vals[4] is None else [int(v) for v in vals[4].reshape(-1)]
    index = [slice(None)] * x.ndim
    for a, b, e, st in zip(axes, starts, ends, steps):
        index[a] = slice(b, e, st)
    return x[tuple(index)]


def _constant_of_shape(vals, attrs, opset):
    from onnx import numpy_helper

    v = attrs.get("value")
    fill = np.zeros(1, np.float32) if v is None else numpy_helper.to_array(v).reshape(-1)
    return np.full([int(d) for d in vals[0].reshape(-1)], fill[0], fill.dtype)


# constant folding: an op all of whose inputs are constants is computed at load time
_FOLD = {
    "Cast": _cast, "Slice": _slice, "ConstantOfShape": _constant_of_shape,
    "Transpose": lambda vals, attrs, opset: np.transpose(vals[0], attrs.get("perm")),
    "Unsqueeze": _unsqueeze, "Squeeze": _squeeze, "Gather": _gather,
    "Concat": lambda vals, attrs, opset: np.concatenate([np.atleast_1d(v) for v in vals], attrs.get("axis", 0)),
    "Reshape": lambda vals, attrs, opset: vals[0].reshape([vals[0].shape[k] if s == 0 else s
                                                           for k, s in enumerate(vals[1].tolist())]),
    "Add": _binary(np.add), "Sub": _binary(np.subtract), "Mul": _binary(np.multiply),
    "Div": _binary(lambda a, b: a // b if a.dtype.kind in "iu" and b.dtype.kind in "iu" else a / b),
}
