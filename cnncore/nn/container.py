"""Sequential: runs its children in order, keeping activations blocked (NCHW16c) between them and
fusing Conv2d+ReLU and BatchNorm2d+ReLU pairs into single kernel passes."""
from collections import OrderedDict

import numpy as np

from ..functional._layout import Blocked, from_blocked
from . import _flow
from .activation import ReLU
from .conv import Conv2d
from .linear import Linear
from .module import Module
from .norm import BatchNorm2d


class Sequential(Module):
    """Sequential(*modules) or Sequential(OrderedDict(name=module, ...)), as torch.nn.Sequential."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                if not isinstance(m, Module):
                    raise TypeError("Sequential: argument %d: expected a Module, got %s" % (i, type(m).__name__))
                self.add_module(str(i), m)
        self._cache = None

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        mods = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(mods[idx]))
        if not isinstance(idx, (int, np.integer)):
            raise TypeError("index: expected an int or a slice, got %s" % type(idx).__name__)
        if not -len(mods) <= idx < len(mods):
            raise IndexError("index %d is out of range for a Sequential of %d modules" % (idx, len(mods)))
        return mods[idx][1]

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def _steps(self):
        """Execution plan: ("conv_relu", conv, relu), ("bn_relu", bn, relu), in eval mode
        ("conv_bn", conv, bn) and ("conv_bn_relu", conv, bn, relu) with the BatchNorm folded
        into the convolution, or ("single", m)."""
        mods = list(self._modules.values())
        steps, i = [], 0
        while i < len(mods):
            m = mods[i]
            nxt = mods[i + 1] if i + 1 < len(mods) else None
            nxt2 = mods[i + 2] if i + 2 < len(mods) else None
            if (isinstance(m, Conv2d) and isinstance(nxt, BatchNorm2d) and not nxt.training
                    and nxt.running_mean is not None and nxt.num_features == m.out_channels):
                if isinstance(nxt2, ReLU):
                    steps.append(("conv_bn_relu", m, nxt, nxt2))
                    i += 3
                else:
                    steps.append(("conv_bn", m, nxt))
                    i += 2
            elif isinstance(nxt, ReLU) and isinstance(m, (Conv2d, BatchNorm2d)):
                steps.append(("conv_relu" if isinstance(m, Conv2d) else "bn_relu", m, nxt))
                i += 2
            else:
                steps.append(("single", m))
                i += 1
        return steps

    def forward(self, x):
        converted = False
        first = next(iter(self._modules.values()), None)
        if isinstance(x, np.ndarray) and x.ndim == 4 and first is not None and not isinstance(first, Linear):
            x, _ = _flow.enter(x, self)
            converted = True
        steps = self._steps()
        for step in steps:
            kind = step[0]
            if kind == "single":
                x = step[1](x)
            elif kind in ("conv_bn", "conv_bn_relu"):
                x = step[1].forward(x, relu=kind == "conv_bn_relu", bn=step[2])
                if kind == "conv_bn_relu":
                    _flow.record(step[3], x.shape, x.shape)
            else:
                shape_in = x.shape
                x = step[1].forward(x, relu=True)
                _flow.record(step[2], shape_in, x.shape)
        out_blocked = isinstance(x, Blocked)
        self._cache = (steps, converted, out_blocked, x.shape)
        if converted and out_blocked:
            x = from_blocked(x)
        return x

    def backward(self, grad_output, input_grad=True):
        """Backward through the children in reverse; input_grad=False lets the first layer skip
        its input gradient (returns None then)."""
        if self._cache is None:
            raise _flow.no_cache_error(self)
        steps, converted, out_blocked, out_shape = self._cache
        self._cache = None
        g = grad_output
        if converted and out_blocked:
            g = _flow.grad_enter(g, out_shape, self)
        for k in range(len(steps) - 1, -1, -1):
            m = steps[k][1]
            # input_grad is passed only when it is False, so that a user's Module whose backward
            # takes just the gradient (as Module.backward declares) works inside a Sequential
            g = m.backward(g) if (input_grad or k > 0) else m.backward(g, input_grad=False)
        if converted and isinstance(g, Blocked):
            g = from_blocked(g)
        return g
