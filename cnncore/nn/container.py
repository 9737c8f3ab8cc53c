"""Sequential: runs its children in order. Activations stay blocked (NCHW16c) between them and
fused patterns (conv+ReLU, BN+ReLU, the eval-mode BN fold) come from the graph, as in any forward."""
from collections import OrderedDict

import numpy as np

from .module import Module


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

    def __setitem__(self, idx, module):
        """Replace the module at an int index (e.g. a classifier head), as torch.nn.Sequential."""
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)):
            raise TypeError("index: expected an int, got %s" % type(idx).__name__)
        names = list(self._modules)
        if not -len(names) <= idx < len(names):
            raise IndexError("index %d is out of range for a Sequential of %d modules" % (idx, len(names)))
        if not isinstance(module, Module):
            raise TypeError("module: expected a Module, got %s" % type(module).__name__)
        self.add_module(names[idx], module)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x
