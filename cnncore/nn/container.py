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


def _check_module(module, what):
    if not isinstance(module, Module):
        raise TypeError("%s: expected a Module, got %s" % (what, type(module).__name__))
    return module


class ModuleList(Module):
    """A list of modules registered as children "0", "1", ... (torch.nn.ModuleList): indexing,
    slicing (a new ModuleList), append, extend, insert, del, len, iteration, +. It has no
    forward of its own: a parent's forward decides how to call its entries."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _index(self, idx):
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)):
            raise TypeError("index: expected an int or a slice, got %s" % type(idx).__name__)
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError("index %d is out of range for a ModuleList of %d modules" % (idx, n))
        return str(idx % n)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[self._index(idx)]

    def __setitem__(self, idx, module):
        self.add_module(self._index(idx), _check_module(module, "module"))

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[int(self._index(idx))]
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        if not isinstance(other, ModuleList):
            raise TypeError("other: expected a ModuleList, got %s" % type(other).__name__)
        return ModuleList(list(self) + list(other))

    def append(self, module):
        """Add a module at the end; returns self."""
        self.add_module(str(len(self)), _check_module(module, "module"))
        return self

    def extend(self, modules):
        """Append every module of an iterable; returns self."""
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError("modules: expected an iterable of Modules, got %s" % type(modules).__name__)
        try:
            items = list(modules)
        except TypeError:
            raise TypeError("modules: expected an iterable of Modules, got %s"
                            % type(modules).__name__) from None
        for i, m in enumerate(items):
            _check_module(m, "modules[%d]" % i)
        for m in items:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert a module before position index."""
        mods = list(self._modules.values())
        mods.insert(index, _check_module(module, "module"))
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)


class ModuleDict(Module):
    """An ordered dict of modules registered as children under their keys (torch.nn.ModuleDict):
    [key], in, len, iteration over keys, keys/values/items, update, pop, clear."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    @staticmethod
    def _key(key):
        if not isinstance(key, str):
            raise TypeError("key: expected a str, got %s" % type(key).__name__)
        if "." in key or key == "":
            raise KeyError("key: module names can't contain '.' or be empty, got %r" % (key,))
        return key

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(self._key(key), _check_module(module, "module"))

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key):
        """Remove and return the module under key."""
        m = self._modules[key]
        del self._modules[key]
        return m

    def clear(self):
        self._modules.clear()

    def update(self, modules):
        """Add (key, module) pairs from a mapping, a ModuleDict or an iterable of pairs."""
        if isinstance(modules, (dict, ModuleDict)):
            pairs = list(modules.items())
        else:
            try:
                pairs = [tuple(p) for p in modules]
            except TypeError:
                raise TypeError("modules: expected a mapping or an iterable of (key, module) pairs, "
                                "got %s" % type(modules).__name__) from None
            for i, p in enumerate(pairs):
                if len(p) != 2:
                    raise ValueError("modules[%d]: expected a (key, module) pair, got %d values"
                                     % (i, len(p)))
        for k, m in pairs:
            self[k] = m
