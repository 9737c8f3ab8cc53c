"""cnncore's recorded graph: Tensor, the ops that record themselves, and the reverse pass.

The graph is the one intermediate representation of a forward: backward is derived from it,
fusion is a rewrite of it (fusion.py), and later compiled plans, ONNX export and distributed
gradient hooks read it.
"""
from .engine import (ConcurrentUseError, enable_grad, graph_ops, is_grad_enabled, no_grad,
                     set_grad_enabled)
from .tensor import Tensor
from .function import Function, FunctionCtx
from .ops import cat, stack

__all__ = ["ConcurrentUseError", "Function", "FunctionCtx", "Tensor", "cat", "enable_grad", "graph_ops", "is_grad_enabled", "no_grad",
           "set_grad_enabled", "stack"]
