"""Graph (cnncore.trace) -> ONNX ModelProto: one ONNX node per graph node, except the few graph ops
ONNX spells differently (Silu, Gelu before opset 20, attributes that ONNX takes as inputs)."""
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
