"""Custom differentiable ops, as torch.autograd.Function: subclass, write `forward(ctx, *args)`
and `backward(ctx, grad_output)` as static methods on NumPy arrays, call `MyOp.apply(*args)`."""
import numpy as np

from .engine import no_grad
from .ops import output
from .tensor import Tensor
from .values import as_blocked, as_plain


class FunctionCtx:
    """What forward leaves for backward: `save_for_backward(*arrays)` / `saved_tensors`, any
    attribute, and `needs_input_grad` (one bool per forward argument)."""

    def save_for_backward(self, *arrays):
        self.saved_tensors = tuple(arrays)


class Function:
    """Base of custom ops. forward(ctx, *args) gets Tensor arguments as NumPy arrays (NCHW) and
    returns a NumPy array; backward(ctx, grad_output) gets the output's gradient as a NumPy array
    and returns one gradient (or None) per forward argument."""

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("Function subclasses define forward(ctx, *args)")

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError("Function subclasses define backward(ctx, grad_output)")

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and (a.requires_grad or a._rec) for a in args)
        arrays = [a.numpy() if isinstance(a, Tensor) else a for a in args]
        with no_grad():
            result = cls.forward(ctx, *arrays)
        value = np.ascontiguousarray(np.asarray(result, dtype=np.float32))
        positions = [k for k, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[k] for k in positions]
        specs = [(t.shape, len(t.shape) == 4 and not isinstance(t.value, np.ndarray)) for t in tensors]

        def backward(grad, needs):
            grads = cls.backward(ctx, as_plain(grad))
            if not isinstance(grads, tuple):
                grads = (grads,)
            if len(grads) != len(args):
                raise RuntimeError("%s.backward returned %d gradients, expected %d (one per forward "
                                   "argument)" % (cls.__name__, len(grads), len(args)))
            out = []
            for k, (shape, blocked) in zip(positions, specs):
                g = grads[k]
                if g is None:
                    out.append(None)
                    continue
                g = np.ascontiguousarray(np.asarray(g, dtype=np.float32))
                if g.shape != shape:
                    raise RuntimeError("%s.backward: gradient %d has shape %s, expected %s"
                                       % (cls.__name__, k, g.shape, shape))
                out.append(as_blocked(g) if blocked else g)
            return out

        return output(value, value.shape, tensors, cls.__name__, backward)
