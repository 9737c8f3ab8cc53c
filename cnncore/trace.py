"""trace(model, example_input): one eval-mode forward recorded as a Graph, cnncore's plain-data
intermediate representation shared by ONNX export (cnncore.onnx), compiled inference and
anything else that needs the network as a list of ops. Schema: docs/TRACE.md.

Layers that own parameters or a geometry (Conv2d, BatchNorm2d, Linear, the pools) are recorded as
one node each, named by their module path, their parameters named by their state_dict keys; every
other op (activations, +, *, cat, flatten, mean, functional calls in custom forwards) is recorded
where it is called. An op the tracer cannot express raises TraceError naming it.
"""
import inspect
import numbers
import threading
from dataclasses import dataclass, field

import numpy as np

from .autograd import tracehook
from .autograd.engine import enable_grad
from .autograd.tensor import Tensor
from .nn.module import Module
from .nn.parameter import Parameter


class TraceError(RuntimeError):
    """The forward used an op (or an argument of an op) the graph cannot express."""


@dataclass
class Value:
    """A graph input or output: its name and shape (dimension 0 is the batch)."""
    name: str
    shape: tuple


@dataclass
class Node:
    """One op. `op`: the ONNX operator name (plus "Silu"); `inputs`/`outputs`: value names (an
    input may name a graph input, another node's output or a parameter in Graph.params);
    `attrs`: ONNX's attribute names and meanings, with what ONNX passes as constant inputs (Clip's
    min/max, Reshape's shape, Pad's pads, ReduceMean's axes...) given as attributes instead;
    `output_shapes`: one tuple per output; `module`: the path of the module that made it ("" for
    the model itself)."""
    op: str
    name: str
    inputs: list
    outputs: list
    attrs: dict = field(default_factory=dict)
    output_shapes: list = field(default_factory=list)
    module: str = ""


@dataclass
class Graph:
    """Nodes in execution order, graph inputs and outputs, and the parameters (float32 arrays by
    name: state_dict keys where a module owns them, "const_<k>" for constants of the forward)."""
    inputs: list
    outputs: list
    nodes: list
    params: dict

    def node_params(self, node):
        """The names of the node's inputs that are parameters."""
        return [n for n in node.inputs if n in self.params]

    def shapes(self):
        """Every value's shape by name (inputs, node outputs, parameters)."""
        out = {v.name: tuple(v.shape) for v in self.inputs}
        out.update((k, tuple(v.shape)) for k, v in self.params.items())
        for n in self.nodes:
            out.update(zip(n.outputs, (tuple(s) for s in n.output_shapes)))
        return out

    def __repr__(self):
        lines = ["Graph(inputs=%s, outputs=%s, %d params)" % (
            [(v.name, v.shape) for v in self.inputs], [(v.name, v.shape) for v in self.outputs], len(self.params))]
        for n in self.nodes:
            lines.append("  %s = %s(%s) %s" % (", ".join(n.outputs), n.op, ", ".join(n.inputs), n.attrs or ""))
        return "\n".join(lines)


def trace(model, example_input):
    """Run `model` once in eval mode on `example_input` (an (N, C, H, W) array or Tensor, or a
    tuple of them for several inputs) and return its Graph. The model's training mode is
    restored afterwards; its running statistics are not changed (eval mode)."""
    if not isinstance(model, Module):
        raise TypeError("model: expected a cnncore.nn.Module, got %s" % type(model).__name__)
    inputs = example_input if isinstance(example_input, tuple) else (example_input,)
    if not inputs:
        raise ValueError("example_input: expected at least one array, got an empty tuple")
    arrays = []
    for k, x in enumerate(inputs):
        arr = x.numpy() if isinstance(x, Tensor) else np.asarray(x)
        if arr.dtype.kind not in "fiu":
            raise TypeError("example_input: expected a real numeric array, got dtype %s" % arr.dtype)
        arrays.append(np.ascontiguousarray(arr, dtype=np.float32))
    was_training = model.training
    model.eval()
    tracer = Tracer(model)
    tensors = [Tensor._edge(a.copy()) for a in arrays]
    names = ["input"] if len(tensors) == 1 else ["input%d" % k for k in range(len(tensors))]
    for t, n in zip(tensors, names):
        tracer.bind(t, n)
    tracehook.install(tracer)
    try:
        with enable_grad():  # every op records, so an untraceable one can be named
            out = model(*tensors)
    finally:
        tracehook.install(None)
        model.train(was_training)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    out_names = ["output"] if len(outs) == 1 else ["output%d" % k for k in range(len(outs))]
    for t, name in zip(outs, out_names):
        if not isinstance(t, Tensor):
            raise TraceError("the model returned %s, not a Tensor" % type(t).__name__)
        tracer.rename_output(t, name)
    return Graph([Value(n, tuple(t.shape)) for n, t in zip(names, tensors)],
                 [Value(n, tuple(t.shape)) for n, t in zip(out_names, outs)],
                 tracer.nodes, tracer.params)


class Tracer:
    """The recording side of trace(): values by Tensor identity, nodes, parameters."""

    def __init__(self, model):
        self.thread = threading.get_ident()
        self.nodes, self.params = [], {}
        self._names = {}  # id(Tensor) -> value name
        self._keep = []  # the Tensors named, so that their ids stay theirs
        self._paths = {id(m): p for p, m in model.named_modules()}
        self._param_names = {id(p): k for k, p in model.named_parameters()}
        self._node_names = set()
        self._stack = []  # module paths being called
        self._inside = 0  # > 0 while a recorded layer or op runs (its inner ops are not recorded)

    # ------------------------------------------------------------------ hooks
    def module(self, module, args, kwargs):
        path = self._paths.get(id(module))
        convert = _MODULES.get(type(module)) if not self._inside else None
        if not self._stack:
            self._root = type(module).__name__  # the model itself, named by its class in messages
        self._stack.append(path if path is not None else type(module).__name__)
        try:
            if convert is None:
                return module.forward(*args, **kwargs)
            self._inside += 1
            try:
                out = module.forward(*args, **kwargs)
            finally:
                self._inside -= 1
            convert(self, module, out, args[0] if args else kwargs.get("input", kwargs.get("x")))
            return out
        finally:
            self._stack.pop()

    def op(self, kind, fn, args, kwargs):
        if self._inside:
            return fn(*args, **kwargs)
        self._inside += 1
        try:
            out = fn(*args, **kwargs)
        finally:
            self._inside -= 1
        if isinstance(out, Tensor) and id(out) not in self._names:
            bound = inspect.signature(fn).bind(*args, **kwargs)
            bound.apply_defaults()
            _OPS[kind](self, out, **bound.arguments)
        return out

    # ------------------------------------------------------------------ values
    def bind(self, t, name):
        self._names[id(t)] = name
        self._keep.append(t)

    def name(self, x, what="input"):
        """The value name of an op's operand: a traced Tensor, a Parameter, or a constant."""
        if isinstance(x, Tensor):
            name = self._names.get(id(x))
            if name is not None:
                return name
            if x._node is not None and x._rec:
                raise TraceError("cannot trace op %r: its output (shape %s) feeds %s, but cnncore.trace "
                                 "has no conversion for it" % (x._node.name, tuple(x.shape), self.where()))
            return self.constant(x.numpy())
        if isinstance(x, Parameter):
            key = self._param_names.get(id(x))
            if key is not None:
                self.params.setdefault(key, np.array(x.data, np.float32))
                return key
            return self.constant(np.asarray(x.data))
        if isinstance(x, (np.ndarray, numbers.Number)) and not isinstance(x, bool):
            return self.constant(x)
        raise TraceError("%s: cannot trace %s %s" % (self.where(), what, type(x).__name__))

    def constant(self, arr):
        name = "const_%d" % len([k for k in self.params if k.startswith("const_")])
        self.params[name] = np.array(arr, np.float32)
        return name

    def param(self, module, key, value=None):
        """The parameter or buffer `key` of a recorded layer, named by its state_dict key (a
        value computed for the graph, e.g. ones for a BatchNorm without affine, by
        <path>.<key> too)."""
        path = self._paths.get(id(module), "")
        name = "%s.%s" % (path, key) if path else key
        if value is None:
            value = getattr(module, key)
            value = value.data if isinstance(value, Parameter) else value
        self.params.setdefault(name, np.array(value, np.float32))
        return name

    def where_path(self):
        """The path of the module running ("" at the top level)."""
        return self._stack[-1] if self._stack else ""

    def where(self):
        if not self._stack:
            return "the model's forward"
        return "module %r" % (self._stack[-1] or self._root)

    # ------------------------------------------------------------------ nodes
    def emit(self, op, inputs, out, attrs=None, name=None):
        """Append a node computing Tensor `out` from the value names `inputs`."""
        base = self.emit_value(op, inputs, out.shape, attrs, name)
        self.bind(out, base)
        return base

    def emit_value(self, op, inputs, shape, attrs=None, name=None):
        """Append a node computing a value of `shape` that no Tensor holds (the first of the
        nodes one layer becomes, e.g. Pad before a reflect-padded Conv); returns its name."""
        base = name or (self._stack[-1] if self._stack else op.lower()) or op.lower()
        if base in self._node_names or base == "":
            k = 1
            while "%s_%d" % (base or op.lower(), k) in self._node_names:
                k += 1
            base = "%s_%d" % (base or op.lower(), k)
        self._node_names.add(base)
        self.nodes.append(Node(op, base, list(inputs), [base], dict(attrs or {}), [tuple(shape)],
                               self._stack[-1] if self._stack else ""))
        return base

    def alias(self, out, x):
        """`out` is the value of `x` (Identity, Dropout in eval): no node."""
        if id(out) not in self._names:
            self.bind(out, self.name(x))

    def rename_output(self, t, name):
        """Give the graph's output its name: the producing node's output is renamed, or an
        Identity node is added (an output that is an input or a second output of one value)."""
        src = self.name(t, "output")
        producer = next((n for n in self.nodes if src in n.outputs), None)
        if producer is None or src.startswith("output"):
            self.nodes.append(Node("Identity", name, [src], [name], {}, [tuple(t.shape)], ""))
            return
        producer.outputs = [name if o == src else o for o in producer.outputs]
        for n in self.nodes:
            n.inputs = [name if i == src else i for i in n.inputs]
        self._names[id(t)] = name


from ._trace_ops import MODULES as _MODULES, OPS as _OPS  # noqa: E402  (the converters use Tracer)
