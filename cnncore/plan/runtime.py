"""A plan for one input shape: its C program, its Python steps, its memory plan and a pool of
arenas. Built from the lowered steps (lower.py); run() executes it.

Segments: consecutive C steps form one segment run by one C call (PlanProgram.run, GIL released);
each Python step (an op without a C executor entry) is a segment of its own. A model whose every
op has a C entry therefore runs as exactly one C call per forward.

Threads: run() takes an arena from the plan's free list (or allocates one when every arena is in
use) and gives it back afterwards, so concurrent calls never share activation memory and a plan
called from one thread at a time allocates nothing after its first call but its output array."""
import threading

import numpy as np

from .. import _kernels
from .memory import plan_memory
from .steps import ARENA, INPUT, OUTPUT, CStep


class ShapePlan:
    """The compiled plan of a model for one input shape."""

    def __init__(self, lowered):
        self.input_shape = lowered.values[lowered.input].shape
        self.output_shape = lowered.values[lowered.output].shape
        self.steps = lowered.steps
        self._layout(lowered)
        self._program = _kernels.PlanProgram()
        self.segments = []
        for i, step in enumerate(self.steps):
            if isinstance(step, CStep):
                index = self._program.add(step.kind, act=step.act, alpha=step.alpha, **self._refs(step, i), **step.args)
                if self.segments and self.segments[-1][0] == "c":
                    self.segments[-1] = ("c", self.segments[-1][1], index + 1)
                else:
                    self.segments.append(("c", index, index + 1))
            else:
                self.segments.append(("python", step))
        self._free, self._lock = [], threading.Lock()

    @property
    def c_calls(self):
        """C calls per forward (1 when every op has a C entry)."""
        return sum(1 for s in self.segments if s[0] == "c")

    @property
    def python_steps(self):
        return [s[1].name for s in self.segments if s[0] == "python"]

    def _layout(self, lowered):
        """Offsets of every arena buffer: values (but the graph's input and output, which are the
        caller's arrays) and the scratch of C steps, by liveness over the step order."""
        first, last = {}, {}
        for i, step in enumerate(self.steps):
            for v in step.inputs:
                last[v] = i
            first.setdefault(step.output, i)
            last.setdefault(step.output, i)
        buffers, owners = [], []
        for v, value in enumerate(lowered.values):
            if v in first and v not in (lowered.input, lowered.output):
                buffers.append((value.size, first[v], last[v]))
                owners.append(("value", v))
        for i, step in enumerate(self.steps):
            if isinstance(step, CStep) and step.scratch:
                buffers.append((step.scratch, i, i))
                owners.append(("scratch", i))
        offsets, self.arena_size = plan_memory(buffers)
        self.where = {owner: off for owner, off in zip(owners, offsets)}
        self.where[("value", lowered.input)] = None
        self.where[("value", lowered.output)] = None
        self._input, self._output, self._values = lowered.input, lowered.output, lowered.values

    def _ref(self, v):
        if v == self._input:
            return (INPUT, 0)
        if v == self._output:
            return (OUTPUT, 0)
        return (ARENA, self.where[("value", v)])

    def _refs(self, step, i):
        refs = {"y": self._ref(step.output)}
        for name, v in zip(("x", "x2"), step.inputs):
            refs[name] = self._ref(v)
        refs["scratch"] = (ARENA, self.where.get(("scratch", i), 0))
        return refs

    def _view(self, v, arena, x, out):
        """The storage of value v: the caller's array, or its span of the arena."""
        if v == self._input:
            return x
        if v == self._output:
            return out
        off = self.where[("value", v)]
        return arena[off:off + self._values[v].size]

    def run(self, x):
        """y = the model's output for x (a C-contiguous float32 array of the plan's input shape)."""
        with self._lock:
            arena = self._free.pop() if self._free else np.empty(max(self.arena_size, 1), np.float32)
        try:
            out = np.empty(self.output_shape, np.float32)
            flat_x, flat_out = x.reshape(-1), out.reshape(-1)
            for seg in self.segments:
                if seg[0] == "c":
                    self._program.run(seg[1], seg[2], arena, flat_x, flat_out)
                else:
                    step = seg[1]
                    step.run([self._view(v, arena, flat_x, flat_out) for v in step.inputs],
                             self._view(step.output, arena, flat_x, flat_out))
            return out
        finally:
            with self._lock:
                self._free.append(arena)
