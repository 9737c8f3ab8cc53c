"""cnncore.compile: compiled inference plans.

    model.eval()
    fast = cnncore.compile(model)
    y = fast(x)          # x: (N, C, H, W) array; y: model(x) as a NumPy array

On the first call with a new input shape the model is traced (cnncore.trace) and planned for that
shape: identities dropped, eval batch norm folded into the convolution before it, ReLU / ReLU6
fused into the convolution, add or pooling that produces their input, weights packed once,
geometries computed once, every activation given a place in one arena by liveness. Each call then
reorders the input to NCHW16c, runs the ops as one C call over prepared descriptors with the GIL
released (ops without a C entry run as Python steps between C segments), and reorders the
output back. Plans are cached by input shape.

Weights: the plan reads the parameters and buffers when it is built. It rebuilds itself when a
Parameter's version changed (an optimizer step, `p.data = ...`); buffers changed in place
(running statistics) and modules added after compile() are not detected: call cnncore.compile
again after such changes.

Threads: one compiled model may be called from several threads at once. Each call takes an arena
of its own from the plan's pool (allocating one only when all are in use); building a plan for a
new shape is serialised by a lock.
"""
import threading

import numpy as np

from ..nn.module import Module
from ..trace import trace
from .from_graph import from_graph
from .fuse import fuse
from .lower import lower
from .runtime import ShapePlan

__all__ = ["compile", "CompiledModule"]


class CompiledModule:
    """The callable cnncore.compile returns (see the module docstring)."""

    def __init__(self, model):
        if not isinstance(model, Module):
            raise TypeError("model: expected a cnncore.nn.Module, got %s" % type(model).__name__)
        self.model = model
        # read on every call (a few microseconds): the modules' modes and the parameters' versions
        self._modules = list(model.named_modules())
        self._params = list(model.parameters())
        self._check_eval()
        self._plans, self._lock = {}, threading.Lock()
        self._versions = self._param_versions()

    def _check_eval(self):
        if not any(m.training for _, m in self._modules):
            return
        training = [name or type(self.model).__name__ for name, m in self._modules if m.training]
        if training:
            raise RuntimeError("compile: the model is in training mode (%s%s); compiled plans are for "
                               "inference: call model.eval() first" % (", ".join(training[:3]),
                                                                       ", ..." if len(training) > 3 else ""))

    def _param_versions(self):
        return [p.version for p in self._params]

    def plan(self, shape):
        """The ShapePlan for an input shape (built and cached on first use)."""
        shape = tuple(int(s) for s in shape)
        plan = self._plans.get(shape)
        if plan is None:
            with self._lock:
                plan = self._plans.get(shape)
                if plan is None:
                    plan = self._plans[shape] = build_plan(self.model, shape)
        return plan

    def __call__(self, x):
        self._check_eval()
        versions = self._param_versions()
        if versions != self._versions:
            with self._lock:
                self._plans, self._versions = {}, versions
        x = _input_array(x)
        return self.plan(x.shape).run(x)


def _input_array(x):
    from ..autograd.tensor import Tensor

    arr = x.numpy() if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise TypeError("input: expected a real numeric array, got dtype %s" % arr.dtype)
    if arr.ndim < 1 or arr.size == 0:
        raise ValueError("input: expected a non-empty array, got shape %s" % (arr.shape,))
    return np.ascontiguousarray(arr, dtype=np.float32)


def build_plan(model, shape):
    """Trace `model` on an input of `shape` and build its ShapePlan."""
    graph = trace(model, np.zeros(shape, np.float32))
    ops, shapes, graph_input, graph_output = from_graph(graph)
    outputs = [graph_output]
    ops = fuse(ops, outputs)
    return ShapePlan(lower(ops, shapes, graph_input, outputs[0]))


def compile(model):
    """A callable running `model` (an nn.Module in eval mode) as compiled inference plans, one per
    input shape. Raises RuntimeError for a model in training mode; the first call raises
    cnncore.trace.TraceError for a forward using an op the tracer cannot express."""
    return CompiledModule(model)
