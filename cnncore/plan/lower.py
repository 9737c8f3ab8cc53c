"""Lowering: the fused op list of one input shape -> values and steps (C descriptors, or Python
steps for ops without a C entry). Geometries are computed (and checked) here, once; weights are
packed here, once per plan.

Layouts: the graph's input and output are the caller's row-major arrays; every 2-d and 4-d value
inside is NCHW16c (2-d (N, F) as (N, F, 1, 1)), so reorders happen only at the edges (and around
Python steps). A linear layer reads a flatten's input directly as a convolution whose kernel
covers the whole image (the weight (O, C*H*W) seen as (O, C, H, W)), so flatten costs nothing."""
from typing import List, NamedTuple

import numpy as np

from ..functional._conv import PackedConv, conv_geometry
from ..functional._pool import (_adaptive_geometry, _adaptive_output_size, _avg_options,
                                _pool_geometry)
from . import steps as S
from .ops import ACTIVATIONS, consumers
from .steps import CStep, PythonStep, Value, blocked_dims


class Lowered(NamedTuple):
    values: List[Value]
    steps: list
    input: int
    output: int


def _blockable(shape):
    return len(shape) in (2, 4) and all(s > 0 for s in shape)


def lower(ops, shapes, graph_input, graph_output):
    """ops: fused Op list; shapes: value -> logical shape. Returns a Lowered."""
    low = _Lowering(ops, shapes, graph_output)
    values = low.values
    x = low.new(shapes[graph_input], blocked=False)
    low.where[graph_input] = x
    if _blockable(shapes[graph_input]):
        n, c, h, w = blocked_dims(shapes[graph_input])
        low.where[graph_input] = low.new(shapes[graph_input])
        low.steps.append(CStep("to_blocked", S.TO_BLOCKED, [x], low.where[graph_input], n=n, c=c, hw=h * w))
    for op in ops:
        low.op(op)
    src = low.where[graph_output]
    y = low.new(shapes[graph_output], blocked=False)
    if values[src].blocked:
        n, c, h, w = blocked_dims(values[src].shape)
        low.steps.append(CStep("to_plain", S.TO_PLAIN, [src], y, n=n, c=c, hw=h * w))
    else:
        low.steps.append(PythonStep("output", lambda a: a, [src], y, values))
    return Lowered(values, low.steps, x, y)


class _Lowering:
    def __init__(self, ops, shapes, graph_output):
        self.ops, self.shapes, self.graph_output = ops, shapes, graph_output
        self.values, self.steps, self.where = [], [], {}
        self.flattened = {}  # flatten's output value -> its 4-d input value (graph numbering)

    def new(self, shape, blocked=None):
        self.values.append(Value(shape, _blockable(shape) if blocked is None else blocked))
        return len(self.values) - 1

    def out(self, op):
        v = self.new(self.shapes[op.output])
        self.where[op.output] = v
        return v

    def op(self, op):
        ins = [self.shapes[v] for v in op.inputs]
        if op.kind != "python" and all(_blockable(s) for s in ins) and _blockable(self.shapes[op.output]):
            lowered = self._activation(op) if op.kind in ACTIVATIONS else getattr(self, "_" + op.kind)(op)
            if lowered is _ALIAS:
                return
            if lowered is not None:
                self.steps += lowered if isinstance(lowered, list) else [lowered]
                return
        self.python(op)

    def python(self, op):
        fn = op.attrs.get("fn")
        if fn is None:
            raise NotImplementedError("compile: op %s (%s) has neither a C entry for these shapes nor "
                                      "a Python fallback" % (op.name, op.kind))
        ins = [self.where[v] for v in op.inputs]
        self.steps.append(PythonStep(op.name, fn, ins, self.out(op), self.values,
                                     [self.shapes[v] for v in op.inputs]))

    def _blocked_in(self, op, i=0):
        return self.where[op.inputs[i]]

    # ---- ops with a C entry; each returns a CStep, or None for the Python fallback ----

    def _conv2d(self, op):
        if op.attrs.get("padding_mode", "zeros") != "zeros" or isinstance(op.attrs.get("padding"), str):
            return None
        x = self._blocked_in(op)
        return self._conv(op, x, self.shapes[op.inputs[0]], op.params["weight"], op.params.get("bias"),
                          op.attrs.get("stride", 1), op.attrs.get("padding", 0),
                          op.attrs.get("dilation", 1), op.attrs.get("groups", 1))

    def _conv(self, op, x, x_shape, weight, bias, stride, padding, dilation, groups):
        g = conv_geometry(blocked_dims(x_shape), weight.shape, stride, padding, dilation, groups)
        packed = PackedConv(np.ascontiguousarray(weight, np.float32), g.groups)
        if g.groups > 1 and not packed.depthwise and (g.c_in // g.groups) % 16:
            return None  # grouped, blocks shared between groups: the eager path handles NaN there
        bias = None if bias is None else np.ascontiguousarray(bias, np.float32)
        return self._step(op, S.DWCONV if packed.depthwise else S.CONV, [x], conv=g,
                          packing=packed.forward_packing, bias=bias)

    def _linear(self, op):
        src = op.inputs[0]
        x_shape = self.shapes[src]
        if src in self.flattened:  # linear(flatten(x)): a convolution over all of x
            src = self.flattened[src]
            x_shape = self.shapes[src]
        if len(x_shape) != 2 and len(x_shape) != 4:
            return None
        n, c, h, w = blocked_dims(x_shape)
        weight = op.params["weight"].reshape(-1, c, h, w)
        return self._conv(op, self.where[src], x_shape, weight, op.params.get("bias"), 1, 0, 1, 1)

    def _flatten(self, op):
        """Flatten (N, C, H, W) -> (N, C*H*W): no step. With H*W == 1 both have the same blocked
        storage; otherwise only linear layers may read the output (they read the 4-d input, see
        _linear), else the Python fallback materialises it."""
        shape = self.shapes[op.inputs[0]]
        if len(shape) != 4 or op.attrs.get("start_dim", 1) != 1 or op.attrs.get("end_dim", -1) not in (-1, 3):
            return None
        if shape[2] * shape[3] != 1:
            if op.output == self.graph_output or any(r.kind != "linear" for r in consumers(self.ops, op.output)):
                return None
            self.flattened[op.output] = op.inputs[0]
        self.where[op.output] = self.where[op.inputs[0]]
        return _ALIAS

    def _add(self, op):
        if len(op.inputs) != 2 or self.shapes[op.inputs[0]] != self.shapes[op.inputs[1]]:
            return None
        return self._step(op, S.ADD, [self._blocked_in(op, 0), self._blocked_in(op, 1)])

    def _mul(self, op):
        """x * y of one shape, or x * s with s (N, C, 1, 1) (squeeze-excitation's scale), either
        order."""
        shapes = [self.shapes[v] for v in op.inputs]
        if len(shapes) != 2 or len(shapes[0]) != 4:
            return None
        order = [0, 1] if shapes[0] == self.shapes[op.output] else [1, 0]
        full, other = shapes[order[0]], shapes[order[1]]
        if full != self.shapes[op.output] or other not in (full, full[:2] + (1, 1)):
            return None
        return self._step(op, S.MUL, [self._blocked_in(op, i) for i in order], x2_hw=other[2] * other[3])

    def _concat(self, op):
        """Channel concatenation of 4-d values as block copies: every input but the last must have
        a multiple of 16 channels. Returns the steps (one per input) as a list."""
        shapes = [self.shapes[v] for v in op.inputs]
        if any(len(s) != 4 for s in shapes) or any(s[1] % 16 for s in shapes[:-1]):
            return None
        y = self.out(op)
        n, c, h, w = self.shapes[op.output]
        steps, offset = [], 0
        for v, shape in zip(op.inputs, shapes):
            steps.append(CStep(op.name, S.COPY_BLOCKS, [self.where[v]], y, n=n, c=shape[1], hw=h * w,
                               blocks_out=-(-c // 16), block_offset=offset))
            offset += shape[1] // 16
        return steps

    def _expand(self, op):
        """(N, C, 1, 1) -> (N, C, H, W), the value at every pixel."""
        x, y = self.shapes[op.inputs[0]], self.shapes[op.output]
        if len(x) != 4 or x[2:] != (1, 1) or y[:2] != x[:2]:
            return None
        return self._step(op, S.BROADCAST, [self._blocked_in(op)])

    def _activation(self, op):
        return self._step(dict_op(op, act=op.kind, act_alpha=op.attrs.get("alpha", 0.0)), S.ACT,
                          [self._blocked_in(op)])

    def _step(self, op, kind, inputs, **args):
        """A CStep writing op's output, with op's activation (attrs["act"]) as its epilogue."""
        y = self.out(op)
        n, c, h, w = blocked_dims(self.values[y].shape)
        fields = dict(n=n, c=c, hw=h * w, count=self.values[y].size)
        fields.update(args)
        return CStep(op.name, kind, inputs, y, act=S.ACTS[op.attrs.get("act")],
                     alpha=float(op.attrs.get("act_alpha", 0.0)), **fields)

    def _pool(self, op, kind, g, scratch=0, **args):
        return self._step(op, kind, [self._blocked_in(op)], scratch=scratch, pool=g, **args)

    def _max_pool2d(self, op):
        a = op.attrs
        if len(self.shapes[op.inputs[0]]) != 4 or a.get("return_indices"):
            return None
        g = _pool_geometry(self.shapes[op.inputs[0]], a["kernel_size"], a.get("stride"),
                           a.get("padding", 0), a.get("dilation", 1), a.get("ceil_mode", False))
        return self._pool(op, S.MAXPOOL, g, scratch=Value(self.shapes[op.output], True).size)

    def _avg_pool2d(self, op):
        a = op.attrs
        if len(self.shapes[op.inputs[0]]) != 4:
            return None
        g = _pool_geometry(self.shapes[op.inputs[0]], a["kernel_size"], a.get("stride"),
                           a.get("padding", 0), 1, a.get("ceil_mode", False))
        cip, div = _avg_options(a.get("count_include_pad", True), a.get("divisor_override"))
        return self._pool(op, S.AVGPOOL, g, count_include_pad=cip, divisor_override=div)

    def _adaptive_avg_pool2d(self, op):
        shape = self.shapes[op.inputs[0]]
        if len(shape) != 4:
            return None
        oh, ow = _adaptive_output_size(op.attrs["output_size"], shape[2], shape[3])
        return self._pool(op, S.ADAPTIVE_AVGPOOL, _adaptive_geometry(shape, oh, ow))

    def _batch_norm(self, op):
        return None  # an eval batch norm not after a conv: the Python fallback


def dict_op(op, **attrs):
    return op._replace(attrs=dict(op.attrs, **attrs))


_ALIAS = object()  # an op lowered to no step: its output is its input's storage
