"""Graph (cnncore.trace) -> ONNX ModelProto: one ONNX node per graph node, except the few graph ops
ONNX spells differently (Silu; Gelu before opset 20, Mish before 18 and GroupNormalization before
21 as the primitive ops; attributes that ONNX takes as inputs: Clip, Reshape, Pad, Resize...)."""
import numpy as np

from .. import __version__
from ..trace import trace
from ._common import require_onnx

MIN_OPSET, MAX_OPSET = 13, 21


def export(model, example_input, path, opset=17, dynamic_batch=True, input_names=None, output_names=None):
    """Write `model` (a cnncore nn.Module) as an ONNX file at `path` (a path or a binary file object)
    and return the onnx.ModelProto. The model is traced once in eval mode on `example_input`
    (cnncore.trace): BatchNorm becomes BatchNormalization with the running statistics, Dropout
    disappears, parameters are initializers named by their state_dict keys. With
    `dynamic_batch`, dimension 0 of every input and output is the symbolic "batch"; the other
    dimensions are fixed to the example's. `onnx.checker.check_model` passes on the result."""
    onnx = require_onnx()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError("opset: expected an int from %d to %d, got %r" % (MIN_OPSET, MAX_OPSET, opset))
    graph = trace(model, example_input)
    proto = to_onnx(graph, opset, dynamic_batch, input_names, output_names, name=type(model).__name__)
    if path is not None:
        data = proto.SerializeToString()
        if hasattr(path, "write"):
            path.write(data)
        else:
            with open(path, "wb") as f:
                f.write(data)
    return proto


def _renamed(values, names, what):
    if names is None:
        return {}
    if len(names) != len(values):
        raise ValueError("%s: expected %d names, got %d" % (what, len(values), len(names)))
    return {v.name: str(n) for v, n in zip(values, names)}


def to_onnx(graph, opset=17, dynamic_batch=True, input_names=None, output_names=None, name="cnncore"):
    """The ONNX ModelProto of a traced Graph (see export)."""
    onnx = require_onnx()
    from onnx import TensorProto, helper, numpy_helper

    rename = _renamed(graph.inputs, input_names, "input_names")
    rename.update(_renamed(graph.outputs, output_names, "output_names"))
    emitter = _Emitter(graph, opset, rename)
    for node in graph.nodes:
        emitter.node(node)

    def value_info(v):
        shape = list(v.shape)
        if dynamic_batch and shape:
            shape[0] = "batch"
        return helper.make_tensor_value_info(rename.get(v.name, v.name), TensorProto.FLOAT, shape)

    inits = [numpy_helper.from_array(np.asarray(a, np.float32), k) for k, a in graph.params.items()]
    inits += [numpy_helper.from_array(a, k) for k, a in emitter.constants.items()]
    g = helper.make_graph(emitter.nodes, name, [value_info(v) for v in graph.inputs],
                          [value_info(v) for v in graph.outputs], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="cnncore", producer_version=__version__)
    model.ir_version = min(model.ir_version, 8 if opset <= 18 else 9)
    onnx.checker.check_model(model)
    return model


class _Emitter:
    def __init__(self, graph, opset, rename):
        self.graph, self.opset, self.rename = graph, opset, rename
        self.shapes = graph.shapes()
        self.batch = graph.inputs[0].shape[0] if graph.inputs and graph.inputs[0].shape else None
        self.nodes, self.constants = [], {}

    def const(self, base, array):
        name = "%s/%s" % (base, "c%d" % len([k for k in self.constants if k.startswith(base + "/")]))
        self.constants[name] = array
        return name

    def make(self, op, inputs, outputs, name, **attrs):
        from onnx import helper

        r = self.rename
        self.nodes.append(helper.make_node(op, [r.get(i, i) for i in inputs], [r.get(o, o) for o in outputs],
                                           name=name, **attrs))

    def node(self, n):
        special = getattr(self, "_" + n.op, None)
        if special is not None:
            special(n)
        else:
            self.make(n.op, n.inputs, n.outputs, n.name, **n.attrs)

    # graph ops that ONNX spells differently
    def _Silu(self, n):
        s = n.name + "/sigmoid"
        self.make("Sigmoid", n.inputs, [s], s)
        self.make("Mul", [n.inputs[0], s], n.outputs, n.name)

    def _Gelu(self, n):
        if self.opset >= 20:
            self.make("Gelu", n.inputs, n.outputs, n.name, **n.attrs)
            return
        if n.attrs.get("approximate", "none") != "none":
            raise ValueError("Gelu with approximate=%r needs opset 20 or later" % n.attrs["approximate"])
        x, b = n.inputs[0], n.name
        f32 = np.float32
        self.make("Div", [x, self.const(b, np.array(np.sqrt(2.0), f32))], [b + "/d"], b + "/div")
        self.make("Erf", [b + "/d"], [b + "/e"], b + "/erf")
        self.make("Add", [b + "/e", self.const(b, np.array(1.0, f32))], [b + "/a"], b + "/add")
        self.make("Mul", [x, b + "/a"], [b + "/m"], b + "/mul")
        self.make("Mul", [b + "/m", self.const(b, np.array(0.5, f32))], n.outputs, b)

    def _Clip(self, n):
        lo = self.const(n.name, np.array(n.attrs.get("min", -np.inf), np.float32))
        hi = self.const(n.name, np.array(n.attrs.get("max", np.inf), np.float32))
        self.make("Clip", [n.inputs[0], lo, hi], n.outputs, n.name)

    def _shape_input(self, n, key):
        """A shape attribute as an int64 initializer; with a symbolic batch, a leading dimension
        equal to the traced batch becomes 0 (Reshape: copy) or 1 (Expand: broadcast)."""
        shape = list(n.attrs[key])
        in_shape = self.shapes.get(n.inputs[0], ())
        if n.op == "Reshape" and shape and in_shape and shape[0] == in_shape[0] == self.batch:
            shape[0] = 0
        return self.const(n.name, np.array(shape, np.int64))

    def _Reshape(self, n):
        self.make("Reshape", [n.inputs[0], self._shape_input(n, "shape")], n.outputs, n.name)

    def _Expand(self, n):
        self.make("Expand", [n.inputs[0], self._shape_input(n, "shape")], n.outputs, n.name)

    def _reduce(self, n, axes_as_input):
        attrs = {"keepdims": n.attrs.get("keepdims", 1)}
        inputs = list(n.inputs[:1])
        if axes_as_input:
            inputs.append(self.const(n.name, np.array(n.attrs["axes"], np.int64)))
        else:
            attrs["axes"] = list(n.attrs["axes"])
        self.make(n.op, inputs, n.outputs, n.name, **attrs)

    def _ReduceMean(self, n):
        self._reduce(n, self.opset >= 18)

    def _ReduceSum(self, n):
        self._reduce(n, True)

    def _Pad(self, n):
        mode = n.attrs.get("mode", "constant")
        if mode == "wrap" and self.opset < 19:
            raise ValueError("Pad with mode 'wrap' (CircularPad2d, padding_mode='circular') needs opset 19 or "
                             "later, got opset %d" % self.opset)
        inputs = [n.inputs[0], self.const(n.name, np.array(n.attrs["pads"], np.int64))]
        if mode == "constant":
            inputs.append(self.const(n.name, np.array(n.attrs.get("value", 0.0), np.float32)))
        self.make("Pad", inputs, n.outputs, n.name, mode=mode)

    def _Resize(self, n):
        a, b = n.attrs, n.name
        attrs = {k: a[k] for k in ("mode", "coordinate_transformation_mode", "nearest_mode") if k in a}
        if "scales" in a:
            self.make("Resize", [n.inputs[0], "", self.const(b, np.array(a["scales"], np.float32))], n.outputs, b,
                      **attrs)
            return
        spatial = np.array(a["sizes"][2:], np.int64)
        if self.opset >= 18:  # sizes of the resized axes only: any batch
            self.make("Resize", [n.inputs[0], "", "", self.const(b, spatial)], n.outputs, b, axes=[2, 3], **attrs)
            return
        self.make("Shape", [n.inputs[0]], [b + "/shape"], b + "/shape", end=2)  # (N, C) of the input
        self.make("Concat", [b + "/shape", self.const(b, spatial)], [b + "/sizes"], b + "/sizes", axis=0)
        self.make("Resize", [n.inputs[0], "", "", b + "/sizes"], n.outputs, b, **attrs)

    def _Mish(self, n):
        if self.opset >= 18:
            self.make("Mish", n.inputs, n.outputs, n.name)
            return
        b = n.name
        self.make("Softplus", n.inputs, [b + "/softplus"], b + "/softplus")
        self.make("Tanh", [b + "/softplus"], [b + "/tanh"], b + "/tanh")
        self.make("Mul", [n.inputs[0], b + "/tanh"], n.outputs, b)

    def _LayerNormalization(self, n):
        if self.opset < 17:
            raise ValueError("LayerNormalization (LayerNorm) needs opset 17 or later, got opset %d" % self.opset)
        self.make("LayerNormalization", n.inputs, n.outputs, n.name, **n.attrs)

    def _GroupNormalization(self, n):
        """Opset 21's GroupNormalization (per-channel scale), else PyTorch's exporter's pattern:
        InstanceNormalization of x reshaped to (N, groups, -1), reshaped back, times the weight
        and plus the bias unsqueezed to (C, 1, ...) (cnncore.onnx.load reads it back as one
        GroupNorm)."""
        x, w, bias = n.inputs
        g, eps, b = int(n.attrs["num_groups"]), float(n.attrs["epsilon"]), n.name
        if self.opset >= 21:
            self.make("GroupNormalization", n.inputs, n.outputs, b, num_groups=g, epsilon=eps)
            return
        shape = list(self.shapes[x])
        f32 = np.float32
        self.make("Reshape", [x, self.const(b, np.array([0, g, -1], np.int64))], [b + "/grouped"], b + "/group")
        self.make("InstanceNormalization", [b + "/grouped", self.const(b, np.ones(g, f32)),
                                            self.const(b, np.zeros(g, f32))], [b + "/normed"], b + "/norm",
                  epsilon=eps)
        self.make("Reshape", [b + "/normed", self.const(b, np.array([0] + shape[1:], np.int64))],
                  [b + "/ungrouped"], b + "/ungroup")
        axes = self.const(b, np.arange(1, len(shape) - 1, dtype=np.int64))
        self.make("Unsqueeze", [w, axes], [b + "/w"], b + "/unsqueeze_w")
        self.make("Unsqueeze", [bias, axes], [b + "/b"], b + "/unsqueeze_b")
        self.make("Mul", [b + "/ungrouped", b + "/w"], [b + "/scaled"], b + "/mul")
        self.make("Add", [b + "/scaled", b + "/b"], n.outputs, b)
