"""Lazy nodes: convolution, batch norm and the add that may join a batch norm.

Their output is computed when first needed, which leaves a window in which a following op can
rewrite them (cnncore.autograd.fusion). The window closes when the outermost module call returns:
`flush()` computes whatever is still pending, so a batch norm's running statistics are updated
exactly once per call, as in eager execution.

A node rewritten into a fused one is *absorbed*: it stays in place as a side-effect-free recipe
for its own output, computed only if that output is used after all (say a pre-activation value
used twice); the fused node carries the side effects.
"""
import threading
import weakref

import numpy as np

from .. import _kernels
from ..functional._conv import (_shares_blocks, conv2d_blocked, conv_backward_data_blocked,
                                conv_backward_weights_blocked)
from ..functional._layout import Blocked
from . import engine
from .engine import Node, taking_part
from .tensor import Tensor
from .values import as_blocked

_local = threading.local()


def module_depth():
    return getattr(_local, "depth", 0)


def set_module_depth(depth):
    _local.depth = depth


def _pending():
    p = getattr(_local, "pending", None)
    if p is None:
        p = _local.pending = []
    return p


def discard_pending():
    """Forget pending nodes without computing them (the call that made them raised)."""
    del _pending()[:]


def flush():
    """Compute every node still pending (called when the outermost module call returns)."""
    pending = _pending()
    while pending:
        nodes = list(pending)
        del pending[:]
        for node in nodes:
            if node.done:
                continue
            out = node.out()
            if out is not None:
                out.value
            elif node.side_effects and not node.absorbed:
                node.run()


def unpend(node):
    """Forget a pending node that was absorbed: it is pure, so it need not be flushed, and
    its inputs may go as soon as nothing else holds them."""
    pending = _pending()
    for k in range(len(pending) - 1, max(-1, len(pending) - 9), -1):
        if pending[k] is node:
            del pending[k]
            return


def blocked_input(t):
    """The Blocked value of a 4-d input tensor (a leaf's converted value is kept)."""
    v = t.value
    if isinstance(v, Blocked):
        return v
    b = as_blocked(v)
    if t._node is None:
        t._value = b
    return b


class LazyNode(Node):
    """A node computed on demand. Subclasses implement `run()` (the value; sets what backward
    needs when `rec`) and `variant(**changes)` (the same op with fused parts changed)."""

    __slots__ = ("out", "done", "absorbed", "rec", "save")
    lazy = True
    side_effects = False
    holds_pending_inputs = False  # only an add waiting for a ReLU keeps its inputs pending

    def compute(self):
        value = self.run() if engine.profiler is None else engine.profiler.timed_compute(self)
        self.done = True
        self.link()
        return value

    def emit(self, shape, inputs, params):
        """The pending output Tensor of this node. Its pending inputs are computed now (unless
        it is an add that may still join them): the window stays one op wide, so a long chain of
        layers never becomes a deep chain of pending computations."""
        if not self.holds_pending_inputs:
            for t in inputs:
                if t._value is None:
                    t.value
        rg, rec = taking_part(inputs, params)
        self.rec = rec
        self.done = False
        self.absorbed = False
        self.save = None
        if engine.profiler is not None:
            engine.profiler.created(self)
        t = Tensor._make(None, shape, self, rec, rg and rec)
        self.out = weakref.ref(t)
        if module_depth() > 0:
            _pending().append(self)
        else:
            t.value
        return t

    def release(self):
        self.save = None


# -------------------------------------------------------------------------- convolution ---

class ConvNode(LazyNode):
    """conv(x) + bias, optionally with an eval-mode BatchNorm folded into the weights (`fold`)
    and an activation (`act`, an activations.Act, or None) in the epilogue."""

    __slots__ = ("conv", "geom", "packed", "bias", "act", "fold", "plain")

    @property
    def name(self):
        return ("Conv2d" + ("+BatchNorm2d" if self.fold is not None else "")
                + ("+" + self.act.name if self.act is not None else ""))

    @classmethod
    def make(cls, conv, x, geom, act=None, fold=None, plain=None):
        node = cls.__new__(cls)
        params = [p for p in (conv.weight, conv.bias) if p is not None]
        if fold is not None:
            params += [p for p in (fold.weight, fold.bias) if p is not None]
        Node.__init__(node, [x], params)
        node.conv, node.geom, node.act, node.fold = conv, geom, act, fold
        node.plain = plain
        if fold is None:
            node.packed, node.bias = conv.packed(), conv._bias()
        else:
            node.packed, node.bias = conv._fold(fold)[:2]
        shape = (geom.n, geom.c_out, geom.oh, geom.ow)
        return node, node.emit(shape, [x], params)

    def variant(self, act=None, fold=None):
        act = self.act if act is None else act
        return ConvNode.make(self.conv, self.inputs[0], self.geom, act,
                             fold if fold is not None else self.fold, self.plain)

    def run(self):
        xb = blocked_input(self.inputs[0])
        g, packed, act = self.geom, self.packed, self.act
        kind, alpha = (0, 0.0) if act is None else (act.kind, act.alpha)
        if packed.depthwise or _shares_blocks(packed) or g.n == 0:
            y = conv2d_blocked(xb, packed, self.bias, g[7:9], g[9:11], g[11:13], act=act)[0]
        else:
            p, lo, cnt, _ = packed.forward_packing
            y = Blocked(_kernels.conv_forward(g, xb.data, p, lo, cnt, self.bias, kind, alpha), g.c_out)
        if self.rec:
            self.save = (xb if self._needs_weight_grad() else None, y if act is not None else None)
        return y

    def _needs_weight_grad(self):
        conv, bn = self.conv, self.fold
        if conv.weight.requires_grad:
            return True
        return bn is not None and bn.weight is not None and bn.weight.requires_grad

    def backward(self, grad, needs):
        xb, y = self.save
        dyb = as_blocked(grad)
        if y is not None:  # fusion admits only activations whose gradient follows from y
            act = self.act
            dyb = Blocked(_kernels.act_backward(act.kind, act.alpha, dyb.data, None, y.data), dyb.channels)
        g, packed, conv, bn = self.geom, self.packed, self.conv, self.fold
        dx = conv_backward_data_blocked(dyb, packed, g) if needs[0] else None
        dw = conv_backward_weights_blocked(dyb, xb, packed, g) if xb is not None else None
        want_bias = (conv.bias is not None and conv.bias.requires_grad) or (
            bn is not None and bn.weight is not None and (bn.weight.requires_grad or bn.bias.requires_grad))
        db = _kernels.bias_grad(dyb.data, g.c_out) if want_bias else None
        if bn is None:
            if dw is not None:
                conv.weight.accumulate_grad(dw)
            if db is not None and conv.bias is not None:
                conv.bias.accumulate_grad(db)
            return [dx]
        # y = conv(x, w * s) + (b - mean) * s + beta, s = gamma * invstd, per output channel
        _, _, scale, invstd = conv._fold(bn)
        if dw is not None and conv.weight.requires_grad:
            conv.weight.accumulate_grad((dw.astype(np.float64) * scale[:, None, None, None]).astype(np.float32))
        if db is not None and conv.bias is not None:
            conv.bias.accumulate_grad((db.astype(np.float64) * scale).astype(np.float32))
        if bn.weight is not None and db is not None:
            b = np.zeros(conv.out_channels) if conv.bias is None else conv.bias.data.astype(np.float64)
            if bn.weight.requires_grad:
                ds = (dw.astype(np.float64) * conv.weight.data).sum(axis=(1, 2, 3)) + \
                    db.astype(np.float64) * (b - bn.running_mean)
                bn.weight.accumulate_grad((ds * invstd).astype(np.float32))
            bn.bias.accumulate_grad(db.astype(np.float32))
        return [dx]


# --------------------------------------------------------------------------- batch norm ---

class BatchNormNode(LazyNode):
    """relu?(batch_norm(x) [+ residual]) with the module's statistics mode fixed at the call."""

    __slots__ = ("bn", "relu", "use_batch", "factor", "stats", "affine", "residual")

    @property
    def name(self):
        return "BatchNorm2d" + ("+Add" if self.residual else "") + ("+ReLU" if self.relu else "")
    side_effects = True

    @classmethod
    def make(cls, bn, x, use_batch, factor, relu=False, residual=None):
        node = cls.__new__(cls)
        params = [p for p in (bn.weight, bn.bias) if p is not None]
        Node.__init__(node, [x] if residual is None else [x, residual], params)
        node.bn, node.relu, node.use_batch, node.factor = bn, relu, use_batch, factor
        node.residual = residual is not None
        rm, rv = bn._running(use_batch)
        if not use_batch:  # read-only statistics: a copy, so a later replay sees these values
            rm, rv = rm.copy(), rv.copy()
        node.stats = (rm, rv)
        node.affine = (None if bn.weight is None else bn.weight.data.copy(),
                       None if bn.bias is None else bn.bias.data.copy())
        return node, node.emit(x.shape, node.inputs, params)

    def variant(self, relu=None, residual=None):
        node, t = BatchNormNode.make(self.bn, self.inputs[0], self.use_batch, self.factor,
                                     self.relu if relu is None else relu, residual)
        return node, t

    def run(self):
        xb = blocked_input(self.inputs[0])
        rb = blocked_input(self.inputs[1]) if len(self.inputs) > 1 else None
        c = xb.channels
        n, _, h, w = xb.shape
        rm, rv = self.stats
        weight, bias = self.affine
        bn = self.bn
        if n * h * w == 0:  # empty batch: empty output, running statistics untouched (as torch)
            y = Blocked(np.zeros_like(xb.data), c)
            mean, invstd = np.zeros(c, np.float32), np.ones(c, np.float32)
        else:
            if self.use_batch and self.absorbed:  # a replay: the fused node updates the stats
                rm = rv = None
            y, mean, invstd = _kernels.batch_norm_forward(
                xb.data, c, None if rb is None else rb.data, self.relu or rb is not None, weight, bias,
                self.use_batch, self.factor, bn.eps, rm, rv)
            y = Blocked(y, c)
        if self.rec:
            self.save = (xb, y if (self.relu or rb is not None) else None, mean, invstd)
        return y

    def backward(self, grad, needs):
        xb, y, mean, invstd = self.save
        dyb = as_blocked(grad)
        c = xb.channels
        has_residual = self.residual
        weight = self.affine[0] if self.affine[0] is not None else np.ones(c, np.float32)
        n, _, h, w = xb.shape
        if n * h * w == 0:
            z = Blocked(np.zeros_like(xb.data), c)
            return [z, z] if has_residual else [z]
        dx, dr, dw, db = _kernels.batch_norm_backward(
            dyb.data, xb.data, c, None if y is None else y.data, has_residual, weight, mean, invstd,
            self.use_batch)
        bn = self.bn
        if bn.weight is not None:
            bn.weight.accumulate_grad(dw)
            bn.bias.accumulate_grad(db)
        out = [Blocked(dx, c)]
        if has_residual:
            out.append(Blocked(dr, c))
        return out


# ---------------------------------------------------------------------------------- add ---

class AddNode(LazyNode):
    """a + b of two blocked activations of one shape, left pending so that a following ReLU can
    join it to a batch norm (BN + add + ReLU in one pass)."""

    __slots__ = ()
    name = "Add"
    holds_pending_inputs = True

    @classmethod
    def make(cls, a, b):
        node = cls.__new__(cls)
        Node.__init__(node, [a, b])
        return node, node.emit(a.shape, [a, b], ())

    def run(self):
        a, b = blocked_input(self.inputs[0]), blocked_input(self.inputs[1])
        return Blocked(_kernels.add(a.data, b.data), a.channels)

    def backward(self, grad, needs):
        g = as_blocked(grad)
        return [g if needs[0] else None, g if needs[1] else None]
