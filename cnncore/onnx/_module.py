"""GraphModule: an nn.Module that runs a Graph (cnncore.trace's schema, also what ONNX import
builds) with cnncore's layers and functional ops, so that it records, differentiates and trains.

Conv, BatchNormalization and Gemm/MatMul with constant weights become Conv2d, BatchNorm2d and
Linear submodules (their fused kernels; batch statistics in train()); their parameters keep the
graph's names where these are state_dict-style ("layer1.0.conv1.weight"), so a traced cnncore
model's state_dict round-trips. Other constants are buffers; every other op is a functional call.
"""
import re

import numpy as np

from .. import functional as F
from ..autograd import Function
from ..autograd.ops import as_tensor, cat
from .._graph_ops import interpolate_kwargs, pad_args
from ..functional._pad import check_pad_options
from ..nn import (BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, GroupNorm, InstanceNorm2d, LayerNorm, Linear,
                  Module)

# op -> the weight inputs that become a layer's parameters (by position) and the layer's keys
_LAYER_KEYS = {"Conv": ("weight", "bias"), "ConvTranspose": ("weight", "bias"), "Gemm": ("weight", "bias"), "MatMul": ("weight",),
               "BatchNormalization": ("weight", "bias", "running_mean", "running_var"),
               "GroupNormalization": ("weight", "bias"), "LayerNormalization": ("weight", "bias"),
               "InstanceNormalization": ("weight", "bias")}


class UnsupportedOperatorError(ValueError):
    """A graph node whose op (or attribute) cnncore cannot run; names the node and op type."""


def _safe(name):
    """A module-path element (state_dict keys split on "."; digits allowed, as Sequential's)."""
    return re.sub(r"[^0-9A-Za-z_]", "_", name) or "_"


class _Holder(Module):
    """A path element of the module tree (holds layers or constants; never called)."""

    def forward(self, *args):
        raise RuntimeError("a GraphModule's holder modules are not called")


class _Pad(Function):
    """Constant padding of the trailing dimensions (ONNX Pad, mode constant)."""

    @staticmethod
    def forward(ctx, x, pads, value):
        n = x.ndim
        begin, end = pads[:n], pads[n:]
        ctx.slices = tuple(slice(b, b + s) for b, s in zip(begin, x.shape))
        return np.pad(x, list(zip(begin, end)), constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return np.ascontiguousarray(g[ctx.slices]), None, None


class _Clamp(Function):
    """min(max(x, lo), hi) (ONNX Clip with bounds other than ReLU/ReLU6's)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.mask = (x >= lo) & (x <= hi)
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask, None, None


class _Softplus(Function):
    """log(1 + exp(x)) (ONNX Softplus: Mish before opset 18 is Softplus, Tanh, Mul)."""

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return np.logaddexp(0.0, x.astype(np.float64)).astype(np.float32)

    @staticmethod
    def backward(ctx, g):
        return (g / (1.0 + np.exp(-ctx.x.astype(np.float64)))).astype(np.float32)


class _Transpose(Function):
    """ONNX Transpose of any rank (PixelUnshuffle exports as Reshape, Transpose, Reshape)."""

    @staticmethod
    def forward(ctx, x, perm):
        ctx.inverse = np.argsort(perm)
        return np.ascontiguousarray(np.transpose(x, perm))

    @staticmethod
    def backward(ctx, g):
        return np.ascontiguousarray(np.transpose(g, ctx.inverse)), None


def clamp(x, lo, hi):
    if lo == 0.0 and hi == 6.0:
        return F.relu6(x)
    if lo == 0.0 and hi == np.inf:
        return F.relu(x)
    return _Clamp.apply(x, float(lo), float(hi))


def _pad(x, pads, value=0.0):
    """Pad with ONNX's pads layout ([begin of each dim..., end of each dim...])."""
    if not any(pads):
        return x
    return _Pad.apply(x, [int(p) for p in pads], float(value))


def _spatial_pads(pads, kernel=None):
    """(symmetric padding pair, None) when the layer can pad itself (equal sides, at most half
    the kernel for pooling), else ((0, 0), the full ONNX pads for a separate Pad)."""
    t, l, b, r = pads
    if t == b and l == r and (kernel is None or (2 * t <= kernel[0] and 2 * l <= kernel[1])):
        return (t, l), None
    return (0, 0), [0, 0, t, l, 0, 0, b, r]


class GraphModule(Module):
    """Runs `graph` (a cnncore.trace.Graph). forward(*inputs) returns the output Tensor (or a
    tuple for several outputs). Unsupported ops raise UnsupportedOperatorError here, at
    construction, naming the node and op type."""

    def __init__(self, graph):
        super().__init__()
        object.__setattr__(self, "graph", graph)
        object.__setattr__(self, "_run", [])
        self._layer_paths = {}
        used = {i for n in graph.nodes for i in n.inputs}
        in_layers = set()
        for node in graph.nodes:
            keys = _LAYER_KEYS.get(node.op)
            if keys and len(node.inputs) > 1 and node.inputs[1] in graph.params:
                in_layers.update(node.inputs[1:])
        object.__setattr__(self, "_consts", {})
        for name in graph.params:
            if name in used and name not in in_layers:
                self._consts[name] = self._register(name, np.asarray(graph.params[name], np.float32))
        for node in graph.nodes:
            self._run.append(self._compile(node))

    # ------------------------------------------------------------------ building
    def _holder(self, path):
        m = self
        for part in path:
            child = m._modules.get(part)
            if child is None:
                child = _Holder()
                m.add_module(part, child)
            m = child
        return m

    def _register(self, name, array):
        """A constant as a buffer at the graph's dotted name; returns a getter."""
        parts = [_safe(p) for p in name.split(".")]
        holder = self._holder(parts[:-1])
        while parts[-1] in holder._modules or parts[-1] in holder._parameters:
            parts[-1] += "_"
        holder.register_buffer(parts[-1], array)
        return lambda: holder._buffers[parts[-1]]

    def _place(self, node, layer, names):
        """Put `layer` at the path its parameter names share ("a.b" for "a.b.weight"...), else
        at the node's name."""
        prefixes = {n.rsplit(".", 1)[0] for n in names if "." in n}
        suffixes = [n.rsplit(".", 1)[-1] for n in names]
        keys = _LAYER_KEYS[node.op]
        if len(prefixes) == 1 and all(s in keys for s in suffixes):
            path = [_safe(p) for p in prefixes.pop().split(".")]
        else:
            path = ["node_" + _safe(node.name)]
        holder = self._holder(path[:-1])
        while path[-1] in holder._modules or path[-1] in holder._parameters or path[-1] in holder._buffers:
            path[-1] += "_"
        holder.add_module(path[-1], layer)
        return layer

    def _param(self, node, k):
        name = node.inputs[k]
        if name not in self.graph.params:
            raise UnsupportedOperatorError("node %r (%s): input %d (%r) must be a constant (initializer)"
                                           % (node.name, node.op, k, name))
        return np.asarray(self.graph.params[name], np.float32)

    def _unsupported(self, node, why):
        return UnsupportedOperatorError("node %r: op %s is not supported%s" % (node.name, node.op, why))

    def _compile(self, node):
        build = getattr(self, "_op_" + node.op, None)
        if build is None:
            raise self._unsupported(node, "")
        names = node.inputs[:1] if node.op in _FIRST_ONLY else list(node.inputs)
        return build(node), names, node.outputs[0]

    # ------------------------------------------------------------------ layers
    def _op_Conv(self, node):
        a = node.attrs
        w = self._param(node, 1)
        bias = self._param(node, 2) if len(node.inputs) > 2 else None
        padding, pre = _spatial_pads(a.get("pads", [0, 0, 0, 0]))
        group = int(a.get("group", 1))
        conv = Conv2d(w.shape[1] * group, w.shape[0], tuple(w.shape[2:]), tuple(a.get("strides", (1, 1))),
                      padding, tuple(a.get("dilations", (1, 1))), group, bias is not None)
        conv.weight.data = w
        if bias is not None:
            conv.bias.data = bias
        self._place(node, conv, node.inputs[1:])
        if pre is None:
            return lambda x: conv(x)
        return lambda x: conv(_pad(x, pre))

    def _op_ConvTranspose(self, node):
        a = node.attrs
        w = self._param(node, 1)
        bias = self._param(node, 2) if len(node.inputs) > 2 else None
        t, l, b, r = a.get("pads", [0, 0, 0, 0])
        if (t, l) != (b, r):
            raise self._unsupported(node, " with asymmetric pads")
        group = int(a.get("group", 1))
        try:
            conv = ConvTranspose2d(w.shape[0], w.shape[1] * group, tuple(w.shape[2:]), tuple(a.get("strides", (1, 1))),
                                   (t, l), tuple(a.get("output_padding", (0, 0))), group, bias is not None,
                                   tuple(a.get("dilations", (1, 1))))
        except (TypeError, ValueError) as exc:
            raise self._unsupported(node, " with these attributes (%s)" % exc)
        conv.weight.data = w
        if bias is not None:
            conv.bias.data = bias
        self._place(node, conv, node.inputs[1:])
        return lambda x: conv(x)

    def _rank(self, node):
        """The rank of the node's output (0 when unknown)."""
        return len(node.output_shapes[0]) if node.output_shapes and node.output_shapes[0] else 0

    def _op_BatchNormalization(self, node):
        scale, b, mean, var = (self._param(node, k) for k in range(1, 5))
        layer = BatchNorm1d if self._rank(node) in (2, 3) else BatchNorm2d
        bn = layer(len(scale), eps=float(node.attrs.get("epsilon", 1e-5)),
                   momentum=1.0 - float(node.attrs.get("momentum", 0.9)))
        bn.weight.data, bn.bias.data = scale, b
        bn.running_mean, bn.running_var = mean.copy(), var.copy()
        self._place(node, bn, node.inputs[1:])
        return lambda x: bn(x)

    def _affine(self, node, layer, shape):
        """Set `layer`'s weight and bias from the node's inputs 1 and 2 (bias optional) and place it."""
        w = self._param(node, 1)
        if w.shape != tuple(shape):
            raise self._unsupported(node, " with a scale of shape %s (expected %s)" % (w.shape, tuple(shape)))
        layer.weight.data = w
        if layer.bias is not None:
            layer.bias.data = self._param(node, 2) if len(node.inputs) > 2 else np.zeros(shape, np.float32)
        self._place(node, layer, node.inputs[1:])
        return layer

    def _op_GroupNormalization(self, node):
        w = self._param(node, 1)
        gn = GroupNorm(int(node.attrs["num_groups"]), w.size, float(node.attrs.get("epsilon", 1e-5)))
        return self._affine(node, gn, (w.size,))

    def _op_LayerNormalization(self, node):
        w = self._param(node, 1)
        axis, rank = int(node.attrs.get("axis", -1)), self._rank(node)
        if (-axis if axis < 0 else rank - axis) != w.ndim:
            raise self._unsupported(node, " with a scale that does not span the normalized axes (axis=%d)" % axis)
        ln = LayerNorm(w.shape, float(node.attrs.get("epsilon", 1e-5)), bias=len(node.inputs) > 2)
        return self._affine(node, ln, w.shape)

    def _op_InstanceNormalization(self, node):
        w = self._param(node, 1)
        layer = self._affine(node, InstanceNorm2d(w.size, float(node.attrs.get("epsilon", 1e-5)), affine=True),
                             (w.size,))

        def run(x):  # other ranks (N, C, ...) as (N, C, pixels, 1)
            x = as_tensor(x)
            if x.ndim == 4:
                return layer(x)
            s = tuple(x.shape)
            return layer(x.reshape(s[0], s[1], int(np.prod(s[2:], dtype=np.int64)), 1)).reshape(s)
        return run

    def _op_Gemm(self, node):
        a = node.attrs
        if int(a.get("transA", 0)):
            raise self._unsupported(node, " with transA=1")
        w = self._param(node, 1)
        w = w if int(a.get("transB", 0)) else w.T
        w = w * np.float32(a.get("alpha", 1.0))
        bias = None
        if len(node.inputs) > 2:
            bias = self._param(node, 2) * np.float32(a.get("beta", 1.0))
            if bias.size not in (1, w.shape[0]) or (bias.ndim == 2 and bias.shape[0] != 1):
                raise self._unsupported(node, " with a C that is not a per-output bias")
            bias = np.broadcast_to(bias.reshape(-1), (w.shape[0],))
        lin = Linear(w.shape[1], w.shape[0], bias is not None)
        lin.weight.data = np.ascontiguousarray(w)
        if bias is not None:
            lin.bias.data = np.ascontiguousarray(bias, np.float32)
        self._place(node, lin, node.inputs[1:])
        return lambda x: lin(x)

    def _op_MatMul(self, node):
        w = self._param(node, 1)
        if w.ndim != 2:
            raise self._unsupported(node, " for a %d-d weight (2-d only)" % w.ndim)
        lin = Linear(w.shape[0], w.shape[1], False)
        lin.weight.data = np.ascontiguousarray(w.T)
        self._place(node, lin, node.inputs[1:])
        return lambda x: lin(x)

    # ------------------------------------------------------------------ functional ops
    def _op_MaxPool(self, node):
        a = node.attrs
        padding, pre = _spatial_pads(a.get("pads", [0, 0, 0, 0]), a["kernel_shape"])
        k, s, d, c = tuple(a["kernel_shape"]), tuple(a.get("strides", (1, 1))), tuple(a.get("dilations", (1, 1))), \
            bool(a.get("ceil_mode", 0))
        if pre is None:
            return lambda x: F.max_pool2d(x, k, s, padding, d, c)
        return lambda x: F.max_pool2d(_pad(x, pre, -np.inf), k, s, 0, d, c)

    def _op_AveragePool(self, node):
        a = node.attrs
        padding, pre = _spatial_pads(a.get("pads", [0, 0, 0, 0]), a["kernel_shape"])
        cip = bool(a.get("count_include_pad", 0))
        if pre is not None and not cip:
            raise self._unsupported(node, " with asymmetric (or over half-kernel) pads and count_include_pad=0")
        if any(d != 1 for d in a.get("dilations", (1, 1))):
            raise self._unsupported(node, " with dilations")
        k, s, c = tuple(a["kernel_shape"]), tuple(a.get("strides", (1, 1))), bool(a.get("ceil_mode", 0))
        if pre is None:
            return lambda x: F.avg_pool2d(x, k, s, padding, c, cip)
        return lambda x: F.avg_pool2d(_pad(x, pre), k, s, 0, c, True)

    def _op_GlobalAveragePool(self, node):
        return lambda x: F.adaptive_avg_pool2d(x, 1)

    def _op_GlobalMaxPool(self, node):
        return lambda x: F.adaptive_max_pool2d(x, 1)

    def _op_Relu(self, node):
        return F.relu

    def _op_Sigmoid(self, node):
        return F.sigmoid

    def _op_Tanh(self, node):
        return F.tanh

    def _op_HardSwish(self, node):
        return F.hardswish

    def _op_Silu(self, node):
        return F.silu

    def _op_Abs(self, node):
        return abs

    def _op_Gelu(self, node):
        approximate = node.attrs.get("approximate", "none")
        return lambda x: F.gelu(x, approximate)

    def _op_Elu(self, node):
        alpha = float(node.attrs.get("alpha", 1.0))
        return lambda x: F.elu(x, alpha)

    def _op_Mish(self, node):
        return F.mish

    def _op_Softplus(self, node):
        return lambda x: _Softplus.apply(as_tensor(x))

    def _op_Transpose(self, node):
        perm = node.attrs.get("perm")
        return lambda x: _Transpose.apply(as_tensor(x), list(range(x.ndim))[::-1] if perm is None else list(perm))

    def _op_DepthToSpace(self, node):
        if node.attrs.get("mode", "DCR") != "CRD":
            raise self._unsupported(node, " with mode DCR (PixelShuffle is mode CRD)")
        r = int(node.attrs["blocksize"])
        return lambda x: F.pixel_shuffle(x, r)

    def _op_Resize(self, node):
        try:
            kwargs = interpolate_kwargs(node.attrs)
        except ValueError as exc:
            raise self._unsupported(node, ": %s" % exc) from None
        return lambda x: F.interpolate(x, **kwargs)

    def _op_LeakyRelu(self, node):
        alpha = float(node.attrs.get("alpha", 0.01))
        return lambda x: F.leaky_relu(x, alpha)

    def _op_HardSigmoid(self, node):
        alpha, beta = float(node.attrs.get("alpha", 0.2)), float(node.attrs.get("beta", 0.5))
        if abs(alpha - 1.0 / 6) < 1e-7 and beta == 0.5:
            return F.hardsigmoid
        return lambda x: clamp(x * alpha + beta, 0.0, 1.0)

    def _op_Clip(self, node):
        lo, hi = float(node.attrs.get("min", -np.inf)), float(node.attrs.get("max", np.inf))
        return lambda x: clamp(x, lo, hi)

    def _op_Add(self, node):
        return lambda a, b: a + b

    def _op_Sub(self, node):
        return lambda a, b: a - b

    def _op_Mul(self, node):
        return lambda a, b: a * b

    def _op_Div(self, node):
        return lambda a, b: a / b

    def _op_Pow(self, node):
        e = self._param(node, 1)
        if e.size != 1:
            raise self._unsupported(node, " with a non-scalar exponent")
        e = float(e.reshape(-1)[0])
        return lambda x: as_tensor(x) ** e

    def _op_Concat(self, node):
        axis = int(node.attrs["axis"])
        return lambda *xs: cat(list(xs), axis)

    def _op_Flatten(self, node):
        axis = int(node.attrs.get("axis", 1))

        def flatten(x):
            x = as_tensor(x)
            ax = axis + x.ndim if axis < 0 else axis
            lead = int(np.prod(x.shape[:ax], dtype=np.int64))
            return x.reshape(lead, -1)
        return flatten

    def _op_Reshape(self, node):
        shape = [int(s) for s in node.attrs["shape"]]

        def reshape(x):
            x = as_tensor(x)
            return x.reshape(tuple(x.shape[k] if s == 0 else s for k, s in enumerate(shape)))
        return reshape

    def _op_Expand(self, node):
        ones = np.ones(node.attrs["shape"], np.float32)
        return lambda x: as_tensor(x) * ones

    def _reduce(self, node, method):
        axes = node.attrs.get("axes")
        keep = bool(node.attrs.get("keepdims", 1))
        def reduce(x):
            x = as_tensor(x)
            return getattr(x, method)(tuple(range(x.ndim)) if axes is None else tuple(axes), keep)
        return reduce

    def _op_ReduceMean(self, node):
        return self._reduce(node, "mean")

    def _op_ReduceSum(self, node):
        return self._reduce(node, "sum")

    def _op_Softmax(self, node):
        axis = int(node.attrs.get("axis", -1))
        return lambda x: F.softmax(x, axis)

    def _op_LogSoftmax(self, node):
        axis = int(node.attrs.get("axis", -1))
        return lambda x: F.log_softmax(x, axis)

    def _op_Identity(self, node):
        return lambda x: as_tensor(x)

    def _op_Pad(self, node):
        """H and W of a 4-d input: cnncore's pad (every mode; constant pads may be negative, a
        crop); constant padding of other axes: NumPy's."""
        a = node.attrs
        pads, value, mode = list(a["pads"]), float(a.get("value", 0.0)), a.get("mode", "constant")
        try:
            pad, torch_mode, fill = pad_args(a)
            check_pad_options(pad, torch_mode, fill)
        except ValueError as exc:
            if mode != "constant" or min(pads) < 0:
                raise self._unsupported(node, ": %s" % exc) from None
            return lambda x: _pad(as_tensor(x), pads, value)
        return lambda x: F.pad(x, pad, torch_mode, fill)

    # ------------------------------------------------------------------ running
    def forward(self, *inputs):
        g = self.graph
        if len(inputs) != len(g.inputs):
            raise TypeError("GraphModule: expected %d inputs (%s), got %d"
                            % (len(g.inputs), ", ".join(v.name for v in g.inputs), len(inputs)))
        env = {}
        for v, x in zip(g.inputs, inputs):
            if tuple(x.shape[1:]) != tuple(v.shape[1:]):
                raise ValueError("%s: expected shape (N, %s), got %s"
                                 % (v.name, ", ".join(map(str, v.shape[1:])), tuple(x.shape)))
            env[v.name] = x
        consts = self._consts
        for fn, names, out in self._run:
            env[out] = fn(*[env[i] if i in env else consts[i]() for i in names])
        outs = tuple(env[v.name] for v in g.outputs)
        return outs[0] if len(outs) == 1 else outs


# ops whose inputs after the first are constants the builder has taken in (weights, shapes...)
_FIRST_ONLY = set(_LAYER_KEYS) | {"Pow", "Reshape", "Expand", "Pad", "ReduceMean", "ReduceSum", "Clip", "Identity",
                                   "Resize"}
