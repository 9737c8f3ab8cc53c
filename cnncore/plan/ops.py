"""The planner's view of a traced graph: a list of Op in execution order over numbered values.

kind is one of the ops with a C executor entry (KINDS) or "python" (any other op: attrs["fn"] is
a callable on row-major arrays). Values are ints; shapes[v] is the logical shape of value v."""
from typing import Any, Dict, List, NamedTuple

ACTIVATIONS = ("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid")
KINDS = ("conv2d", "batch_norm", "add", "mul", "concat", "expand", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
         "flatten", "linear", "identity", "python") + ACTIVATIONS


class Op(NamedTuple):
    kind: str
    name: str                 # for messages and the bench: the module path or the op
    inputs: List[int]
    output: int
    attrs: Dict[str, Any]     # the op's arguments (stride, padding, eps, fn, ...)
    params: Dict[str, Any]    # float32 arrays (weight, bias, running_mean, running_var)


def consumers(ops, value):
    return [op for op in ops if value in op.inputs]
