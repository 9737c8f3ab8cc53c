"""The pieces a lowered plan is made of: values (tensors of the graph, with their storage) and
steps (a C op descriptor, or a Python call for an op without a C executor entry)."""
import numpy as np

from .. import _kernels
from ..autograd import activations as A

# operand places and op kinds, as csrc/include/cnn_plan.h numbers them
ARENA, INPUT, OUTPUT = 0, 1, 2
(TO_BLOCKED, TO_PLAIN, CONV, DWCONV, ADD, ACT, MAXPOOL, AVGPOOL, ADAPTIVE_AVGPOOL, MUL, COPY_BLOCKS,
 BROADCAST) = range(12)
# the planner's activation kinds (ops.py) and their codes: csrc/include/cnn_act.h's kinds (through
# the eager ops' Act constants), the ones the convolution epilogue and the activation kernels run
ACT_NONE = 0
ACTS = {None: ACT_NONE, "relu": A.RELU.kind, "relu6": A.RELU6.kind, "leaky_relu": A.leaky(0.0).kind,
        "sigmoid": A.SIGMOID.kind, "tanh": A.TANH.kind, "silu": A.SILU.kind, "hardswish": A.HARDSWISH.kind,
        "hardsigmoid": A.HARDSIGMOID.kind}


def blocked_dims(shape):
    """(N, C, H, W) of a value stored blocked: 4-d as is, (N, F) as (N, F, 1, 1)."""
    return tuple(shape) if len(shape) == 4 else (shape[0], shape[1], 1, 1)


class Value:
    """A tensor of the plan: its logical (PyTorch) shape and its storage, NCHW16c ("blocked", for
    2-d and 4-d values) or row-major ("plain": the graph's input and output, other ranks)."""

    def __init__(self, shape, blocked):
        self.shape = tuple(int(s) for s in shape)
        self.blocked = bool(blocked)
        if self.blocked:
            n, c, h, w = blocked_dims(self.shape)
            self.size = n * -(-c // 16) * h * w * 16
        else:
            self.size = int(np.prod(self.shape, dtype=np.int64))

    def read(self, flat):
        """The value as a row-major float32 array of its shape, from its storage `flat`."""
        if not self.blocked:
            return flat.reshape(self.shape)
        n, c, h, w = blocked_dims(self.shape)
        return _kernels.blocked_to_nchw(flat.reshape(n, -(-c // 16), h, w, 16), c).reshape(self.shape)

    def write(self, array, flat):
        """Store a row-major array of the value's shape into `flat`."""
        array = np.ascontiguousarray(array, dtype=np.float32).reshape(self.shape)
        if not self.blocked:
            flat[:] = array.reshape(-1)
            return
        flat[:] = _kernels.nchw_to_blocked(array.reshape(blocked_dims(self.shape))).reshape(-1)


class CStep:
    """One descriptor of the C program: kind, activation, the values it reads and writes, the
    floats of scratch it needs in the arena, and the rest of its fields (PlanProgram.add)."""

    def __init__(self, name, kind, inputs, output, act=ACT_NONE, alpha=0.0, scratch=0, **args):
        self.name, self.kind, self.inputs, self.output = name, kind, list(inputs), output
        self.act, self.alpha, self.scratch, self.args = act, alpha, scratch, args


class PythonStep:
    """An op without a C executor entry: fn(*row-major inputs) -> row-major output, run with the
    GIL held between two C segments."""

    def __init__(self, name, fn, inputs, output, values, in_shapes=None):
        self.name, self.fn, self.inputs, self.output = name, fn, list(inputs), output
        self._in = [values[v] for v in inputs]
        self._in_shapes = in_shapes or [value.shape for value in self._in]
        self._out = values[output]

    def run(self, flats, out_flat):
        out = self.fn(*[value.read(flat).reshape(shape)
                        for value, flat, shape in zip(self._in, flats, self._in_shapes)])
        if tuple(np.shape(out)) != self._out.shape:
            raise RuntimeError("compiled plan: %s returned shape %s, traced as %s"
                               % (self.name, tuple(np.shape(out)), self._out.shape))
        self._out.write(out, out_flat)
