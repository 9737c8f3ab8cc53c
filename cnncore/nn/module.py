"""Module: the base of every layer, block and model.

As in PyTorch, child modules, Parameters and buffers assigned as attributes are registered in
order; state_dict keys are dotted paths ("features.0.weight"). A module defines `forward` only:
its ops record themselves in the graph (cnncore.autograd), `loss.backward()` differentiates it
and every Parameter gets its `.grad`. `module.backward(dy)` is backward from the module's last
output with a given gradient, returning the gradient with respect to its input.
"""
import functools
import threading
from collections import OrderedDict, namedtuple

import numpy as np

from ..autograd import engine, tracehook
from ..autograd.engine import ConcurrentUseError, run_backward
from ..autograd.lazy import discard_pending, flush, module_depth, set_module_depth
from ..autograd.tensor import Tensor
from ..autograd.values import as_plain
from ..functional._layout import Blocked
from . import _flow
from .parameter import Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictError(ValueError):
    """load_state_dict found missing, unexpected or mis-shaped entries (listed by name)."""

    def __init__(self, module_name, missing, unexpected, mismatched):
        self.missing_keys, self.unexpected_keys, self.mismatched = missing, unexpected, mismatched
        parts = []
        if missing:
            parts.append("missing keys: " + ", ".join(repr(k) for k in missing))
        if unexpected:
            parts.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        for key, want, got in mismatched:
            parts.append("%r: expected shape %s, got %s" % (key, want, got))
        super().__init__("state_dict for %s: %s" % (module_name, "; ".join(parts)))


def _one_thread_at_a_time(method):
    """Wrap a module's forward/backward so that only one thread at a time is inside this
    module's forward or backward; the same thread may re-enter (a block calling its children, a
    subclass calling super().forward). Another thread gets ConcurrentUseError at once instead of
    silently interleaving the module's caches. Cost: a few dict operations per call."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        d = self.__dict__
        me = threading.get_ident()
        owner = d.setdefault("_busy_thread", me)  # atomic under the GIL: one thread wins
        if owner != me:
            raise ConcurrentUseError(
                "%s.%s: this module is in use by another thread (thread %d is inside its forward or "
                "backward); a module keeps the forward's activations for its backward, so use one "
                "model per thread (copy.deepcopy(model)) or serialize the calls with a lock"
                % (type(self).__name__, method.__name__, owner))
        depth = d.get("_busy_depth", 0)
        d["_busy_depth"] = depth + 1
        try:
            return method(self, *args, **kwargs)
        finally:
            if depth:
                d["_busy_depth"] = depth
            else:
                del d["_busy_depth"]
                del d["_busy_thread"]

    guarded._one_thread_at_a_time = True
    return guarded


class Module:
    """Base class of layers and models: subclasses define forward().

    A module may be used from any thread, but from one thread at a time: forward and backward of
    every subclass are guarded (see _one_thread_at_a_time) and a concurrent call from another
    thread raises ConcurrentUseError."""

    # Channel behaviour, for checking an input before any kernel runs: a layer that needs a
    # given number of input channels overrides _input_channels(); a layer whose output has its
    # input's channels sets _keeps_channels, so that a container looks past it.
    _keeps_channels = False

    def _input_channels(self):
        """The input channels this module needs (None: any, or cannot tell): its first child's,
        looking past children that keep the channel count."""
        for child in self.children():
            c = child._input_channels()
            if c is not None:
                return c
            if not child._keeps_channels:
                return None
        return None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("forward", "backward"):
            fn = cls.__dict__.get(name)
            if callable(fn) and not getattr(fn, "_one_thread_at_a_time", False):
                setattr(cls, name, _one_thread_at_a_time(fn))

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign %r before Module.__init__() was called" % name)
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, (Parameter, Module)):
            for d in (params, buffers, modules):
                d.pop(name, None)
            (params if isinstance(value, Parameter) else modules)[name] = value
            self.__dict__.pop(name, None)
        elif name in params or name in modules:
            # as torch: a registered parameter (module) slot takes a Parameter (Module) or None;
            # anything else would silently unregister it
            if value is not None:
                kind = "parameter" if name in params else "child module"
                raise TypeError("cannot assign %s as %s %r (%s or None expected)"
                                % (type(value).__name__, kind, name,
                                   "Parameter" if name in params else "Module"))
            (params if name in params else modules)[name] = None
        elif name in buffers:
            buffers[name] = value if value is None else np.asarray(value)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, array):
        """A non-trainable array saved in the state_dict (e.g. BatchNorm's running_mean)."""
        self.__dict__.pop(name, None)
        self._buffers[name] = None if array is None else np.asarray(array)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError("param: expected a Parameter or None, got %s" % type(param).__name__)
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError("module: expected a Module or None, got %s" % type(module).__name__)
        self.__dict__.pop(name, None)
        self._modules[name] = module

    # ------------------------------------------------------------------ running
    def forward(self, *args):
        raise NotImplementedError("%s does not define forward()" % type(self).__name__)

    def __call__(self, *args, **kwargs):
        depth = module_depth()
        if depth == 0:  # arrays from the user: Tensors the explicit backward can answer for
            original = args
            args = tuple(_flow.edge(a, self if k == 0 else None) for k, a in enumerate(args[:self._tensor_args])) \
                + args[self._tensor_args:]
        set_module_depth(depth + 1)
        prof = engine.profiler
        tracer = tracehook._tracer and tracehook.active()  # one global read when no trace runs
        try:
            if tracer is not None:  # cnncore.trace: records this call (a layer) or looks inside it
                out = tracer.module(self, args, kwargs)
            else:
                out = self.forward(*args, **kwargs) if prof is None else prof.timed_call(self, args, kwargs)
        except BaseException:
            if depth == 0:
                discard_pending()
            raise
        finally:
            set_module_depth(depth)
        if depth == 0:
            flush()
        if _flow._trace is not None and not self._modules and isinstance(out, Tensor):
            first = args[0] if args else None
            _flow.record(self, getattr(first, "shape", ()), out.shape)
        if depth == 0:
            self.__dict__["_last_call"] = (original, args, out)
        return out

    # How many leading positional arguments are activations (wrapped as Tensors at the edge);
    # a loss sets 1 so that its targets stay integers.
    _tensor_args = 8

    def backward(self, grad_output, input_grad=True):
        """Backward from this module's last output (of its last outermost call) with the
        gradient `grad_output`: parameter gradients accumulate into `Parameter.grad`, and the
        gradient with respect to the (first) input is returned (None with input_grad=False), as
        a NumPy array if the input was one. `loss.backward()` is the usual way; this one serves
        code that computes the output gradient itself (layer-wise training, custom losses)."""
        call = self.__dict__.get("_last_call")
        if call is None:
            raise _flow.no_cache_error(self)
        original, args, out = call
        if not isinstance(out, Tensor):
            raise TypeError("%s.backward: the forward returned %s, not a Tensor"
                            % (type(self).__name__, type(out).__name__))
        g = out._seed(grad_output, "%s.backward: grad_output" % type(self).__name__)
        x = args[0] if args and isinstance(args[0], Tensor) else None
        if not out._rec and not (x is not None and out is x):
            raise RuntimeError("%s.backward: the forward recorded nothing to differentiate (it ran "
                               "under no_grad, or nothing in it requires grad)" % type(self).__name__)
        self.__dict__["_last_call"] = None
        stop = [x] if (input_grad and x is not None) else []
        grads = run_backward([out], [g], stop=stop)
        if not input_grad or x is None:
            return None
        gx = grads.get(id(x))  # keyed by the stop tensor
        if gx is None:
            gx = np.zeros(x.shape, np.float32)
        first = original[0]
        if isinstance(first, Blocked):
            from ..autograd.values import as_blocked

            return as_blocked(gx)
        if isinstance(first, Tensor):
            return Tensor._make(gx, x.shape, None, False, False)
        return as_plain(gx)

    def train(self, mode=True):
        """Training mode (batch statistics, dropout on) or not; recursive; returns self."""
        object.__setattr__(self, "training", bool(mode))
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's gradient (to None, or to zeros with set_to_none=False)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.fill(0)

    def apply(self, fn):
        """Call fn on every submodule (children first, recursively) and then on self, as
        torch's Module.apply (e.g. to initialize weights); returns self."""
        if not callable(fn):
            raise TypeError("fn: expected a callable, got %s" % type(fn).__name__)
        for m in self._modules.values():
            if m is not None:
                m.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad on every parameter (False freezes the module); returns self."""
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError("requires_grad: expected a bool, got %r" % (requires_grad,))
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    def __getstate__(self):
        """For copy.deepcopy and pickle: the last call's graph and the thread guard stay behind."""
        state = dict(self.__dict__)
        for key in ("_last_call", "_busy_thread", "_busy_depth"):
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for self and every descendant; a module reached by several
        paths is listed once unless remove_duplicate=False (as torch)."""
        if remove_duplicate:
            if memo is None:
                memo = set()
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name,
                                           remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield mod_prefix + ("." if mod_prefix else "") + name, p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, b in m._buffers.items():
                if b is not None:
                    yield mod_prefix + ("." if mod_prefix else "") + name, b

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------ state
    def _state_entries(self):
        """(key, owner module, attribute name, kind) for every parameter and buffer, in order."""
        for mod_prefix, m in self.named_modules(remove_duplicate=False):  # every path, as torch
            pre = mod_prefix + ("." if mod_prefix else "")
            for name, p in m._parameters.items():
                if p is not None:
                    yield pre + name, m, name, "param"
            for name, b in m._buffers.items():
                if b is not None:
                    yield pre + name, m, name, "buffer"

    def state_dict(self):
        """An OrderedDict of copies of every parameter and buffer, with PyTorch's keys and layouts."""
        out = OrderedDict()
        for key, m, name, kind in self._state_entries():
            value = m._parameters[name].data if kind == "param" else m._buffers[name]
            out[key] = np.array(value, copy=True)
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from `state_dict` (NumPy arrays, or anything np.asarray takes, e.g. CPU
        torch tensors) into the parameters and buffers.

        strict=True raises StateDictError (a ValueError) naming every missing, unexpected and
        mis-shaped key, before anything is changed; strict=False loads what matches and returns
        (missing_keys, unexpected_keys). Mis-shaped entries raise in both modes.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError("state_dict: expected a mapping of names to arrays, got %s"
                            % type(state_dict).__name__)
        entries = list(self._state_entries())
        own = {key for key, _, _, _ in entries}
        missing = [key for key, _, _, _ in entries if key not in state_dict]
        unexpected = [key for key in state_dict.keys() if key not in own]
        mismatched, staged = [], []
        for key, m, name, kind in entries:
            if key not in state_dict:
                continue
            value = np.asarray(state_dict[key])
            current = m._parameters[name].data if kind == "param" else m._buffers[name]
            if value.shape != current.shape:
                mismatched.append((key, current.shape, value.shape))
                continue
            if value.dtype.kind not in "fiub":
                raise TypeError("state_dict[%r]: expected a numeric array, got dtype %s" % (key, value.dtype))
            staged.append((m, name, kind, value, current.dtype))
        if mismatched or (strict and (missing or unexpected)):
            raise StateDictError(type(self).__name__, missing if strict else [],
                                 unexpected if strict else [], mismatched)
        for m, name, kind, value, dtype in staged:
            if kind == "param":
                m._parameters[name].data = value
            else:
                m._buffers[name] = np.array(value, dtype=dtype, copy=True)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ display
    def summary(self, input_shape, file=None):
        """Print each layer's output shape, parameter count and forward FLOPs for an input of
        `input_shape` ((N, C, H, W), or (C, H, W) for batch 1), then the totals; returns them as a
        dict (rows, total_params, trainable_params, flops). Runs one eval-mode forward on zeros."""
        from .summary import print_summary

        return print_summary(self, input_shape, file)

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append("(%s): %s" % (name, child))
        head = type(self).__name__ + "(" + self.extra_repr()
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


Module.backward = _one_thread_at_a_time(Module.backward)
