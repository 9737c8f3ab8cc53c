"""Optimizer: the base class of cnncore's optimizers, shaped like torch.optim.Optimizer.

Parameters are grouped in `param_groups` (dicts holding 'params' and every option), per-parameter
state lives in `state` (a dict keyed by the Parameter), and `state_dict()` / `load_state_dict()`
use torch's format with NumPy arrays in place of tensors.
"""
import copy
import functools
import math
import numbers
from collections import defaultdict

import numpy as np

from ..nn.parameter import Parameter

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks an option that every parameter group must give (no default)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _mark_step_called(step):
    """Wrap an optimizer's step() so that a learning-rate scheduler can tell it was called."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        self._opt_called = True
        return step(self, *args, **kwargs)

    wrapper._marks_step_called = True
    return wrapper


# ---------------------------------------------------------------------------------------------
# Hyper-parameter checks shared by the optimizers: TypeError for a value of the wrong kind,
# ValueError for one out of range, each naming the argument.


def check_real(name, value):
    """Return `value` as a float if it is a real number (not a bool), else raise TypeError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError("%s: expected a real number, got %s" % (name, type(value).__name__))
    value = float(value)
    if math.isnan(value):
        raise ValueError("%s: expected a number, got nan" % name)
    return value


def check_nonnegative(name, value, what):
    """A finite real number >= 0 (lr, momentum, weight_decay, eps)."""
    v = check_real(name, value)
    if not (0.0 <= v < math.inf):
        raise ValueError("%s: invalid %s %r (must be a finite number >= 0)" % (name, what, value))
    return v


def check_finite(name, value):
    """Any finite real number."""
    v = check_real(name, value)
    if math.isinf(v):
        raise ValueError("%s: expected a finite number, got %r" % (name, value))
    return v


def check_flag(name, value):
    """A bool (or a NumPy bool, or the integers 0 and 1)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    raise TypeError("%s: expected a bool, got %r" % (name, value))


class Optimizer:
    """Base class of all optimizers (torch.optim.Optimizer's interface).

    Args:
        params: an iterable of Parameters, of (name, Parameter) pairs, or of dicts, each a
            parameter group: {'params': [...], option: value, ...}; options a group leaves out
            take the optimizer's defaults.
        defaults: the default value of every option (a dict).

    Attributes:
        defaults: the options' defaults.
        param_groups: list of dicts, each with 'params' (a list of Parameters) and every option.
        state: per-Parameter dict of the optimizer's buffers (created on the first step).

    Subclasses implement `step()` (reading each group's options at every call, so a scheduler
    or the user may change them between steps) and `_validate_group(group)`.
    """

    #: keys of per-parameter state holding arrays the shape of the parameter
    _state_buffers = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_marks_step_called", False):
            cls.step = _mark_step_called(step)

    def __init__(self, params, defaults):
        if not isinstance(defaults, dict):
            raise TypeError("defaults: expected a dict, got %s" % type(defaults).__name__)
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, (Parameter, np.ndarray)) or isinstance(params, (str, bytes)):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Parameters or "
                "dicts, but got %s" % type(params).__name__)
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of parameters in sets will change between runs. Please use a list "
                "instead.")
        try:
            param_groups = list(params)
        except TypeError:
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Parameters or "
                "dicts, but got %s" % type(params).__name__) from None
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # -- groups ---------------------------------------------------------------------------------

    def _validate_group(self, group):
        """Check a complete group's options (raise TypeError / ValueError naming the option)."""

    def add_param_group(self, param_group):
        """Add a parameter group (a dict with 'params' and any options) to `param_groups`.

        Options it leaves out take the defaults. Useful to start training layers that were
        frozen. Raises ValueError if a parameter is already optimized (in this or another group).
        """
        if not isinstance(param_group, dict):
            raise TypeError("param_group must be a dict, but got %s" % type(param_group).__name__)
        if "params" not in param_group:
            raise ValueError("param_group: missing the 'params' key")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Parameter):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of parameters in sets will change between runs. Please use a list "
                "instead.")
        else:
            params = list(params)

        tensors, names = [], []
        for item in params:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Parameter):
                names.append(item[0])
                tensors.append(item[1])
            else:
                tensors.append(item)
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Parameter):
                raise TypeError("optimizer can only optimize Parameters, but one of the params "
                                "is %s" % type(p).__name__)
        group["params"] = tensors
        if len(tensors) == 0:
            raise ValueError("optimizer got an empty parameter list")

        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 "optimization parameter " + name)
            group.setdefault(name, default)

        if len({id(p) for p in tensors}) != len(tensors):
            raise ValueError("a parameter appears more than once in a parameter group")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        for g in self.param_groups:
            if ("param_names" in g) != ("param_names" in group):
                raise ValueError("all optimizer param groups should be with/without names. "
                                 "cannot add param group %s names to the optimizer"
                                 % ("with" if "param_names" in group else "without"))
        self._validate_group(group)
        self.param_groups.append(group)

    # -- gradients --------------------------------------------------------------------------------

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all optimized parameters.

        set_to_none=True (the default) sets `.grad` to None, so the next step skips a parameter
        that no backward pass reached; False fills the existing gradients with zeros.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif isinstance(p.grad, np.ndarray) and p.grad.flags.writeable:
                    p.grad.fill(0)
                else:
                    p.grad = np.zeros(p.data.shape, dtype=np.float32)

    def step(self, closure=None):
        """Perform one optimization step (implemented by subclasses).

        closure: an optional callable that re-evaluates the model and returns the loss, which
        step() then returns.
        """
        raise NotImplementedError

    @staticmethod
    def _params_to_update(group):
        """The group's parameters that step() updates: a gradient, and requires_grad set."""
        return [p for p in group["params"] if p.grad is not None and p.requires_grad]

    @staticmethod
    def _flat_param(p):
        """A writable 1-D float32 view of the parameter's values (marks them changed)."""
        return p._mutable_flat()

    @staticmethod
    def _flat_grad(p, maximize=False):
        """p.grad as one C-contiguous float32 1-D array (converted once), negated if maximize."""
        g = p.grad
        if not isinstance(g, np.ndarray):
            g = np.asarray(g)
        if g.dtype.kind not in "fiu":
            raise TypeError("grad: expected a real array, got dtype %s" % g.dtype)
        if g.shape != p.data.shape:
            raise ValueError("grad: shape %s does not match the parameter's %s"
                             % (g.shape, p.data.shape))
        g = np.ascontiguousarray(g, dtype=np.float32)
        if maximize:
            g = np.negative(g)
        return g.reshape(-1)

    @staticmethod
    def _new_buffer(p):
        """A zero-filled float32 C-contiguous array the shape of p."""
        return np.zeros(p.data.shape, dtype=np.float32)

    # -- state dict -----------------------------------------------------------------------------

    def state_dict(self):
        """Return the optimizer's state as a dict, in torch's format, with arrays copied.

        {'state': {index: {buffer name: array, ...}}, 'param_groups': [{option: value, ...,
        'params': [index, ...]}]}: parameters are numbered in the order of the groups, and the
        state holds only the parameters that have some (e.g. after their first step).
        """
        mapping = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {}
        for p, entry in self.state.items():
            key = mapping[id(p)] if isinstance(p, Parameter) else p
            state[key] = {k: (np.array(v, copy=True) if isinstance(v, np.ndarray)
                              else copy.deepcopy(v)) for k, v in entry.items()}
        return {"state": state, "param_groups": groups}

    def _load_state_value(self, where, key, value, p):
        """Convert one loaded state entry for parameter p (arrays are copied, shapes checked)."""
        if key == "step":
            step = np.asarray(value)
            if step.shape != () or step.dtype.kind not in "fiu" or float(step) != int(step) \
                    or int(step) < 0:
                raise ValueError("%s['step']: expected a non-negative integer, got %r"
                                 % (where, value))
            return int(step)
        if value is None:
            return None
        if isinstance(value, np.ndarray) or key in self._state_buffers:
            arr = np.asarray(value)
            if arr.dtype.kind not in "fiu":
                raise TypeError("%s[%r]: expected a real array, got dtype %s"
                                % (where, key, arr.dtype))
            if arr.shape != p.data.shape:
                raise ValueError("%s[%r]: shape %s does not match the parameter's %s"
                                 % (where, key, arr.shape, p.data.shape))
            return np.array(arr, dtype=np.float32, order="C", copy=True)
        return copy.deepcopy(value)

    def load_state_dict(self, state_dict):
        """Load a state produced by `state_dict()` (of an optimizer over parameters shaped alike).

        The groups' options are replaced by the saved ones and the saved buffers are copied in.
        Raises ValueError naming what does not match: the number of groups, the number of
        parameters in a group, a state index that names no parameter, or a buffer's shape.
        Nothing changes unless the whole state loads.
        """
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict \
                or "state" not in state_dict:
            raise ValueError("state_dict: expected a dict with 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        saved_state = state_dict["state"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             "(%d, the optimizer has %d)"
                             % (len(saved_groups), len(self.param_groups)))
        id_map = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if not isinstance(saved, dict) or "params" not in saved:
                raise ValueError("param_groups[%d]: expected a dict with 'params'" % i)
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    "of optimizer's group: param_groups[%d] has %d parameters, the optimizer's "
                    "group has %d" % (i, len(saved["params"]), len(group["params"])))
            for index, p in zip(saved["params"], group["params"]):
                id_map[index] = p

        state = defaultdict(dict)
        for index, entry in saved_state.items():
            if index not in id_map:
                raise ValueError("state[%r]: no parameter has this index in param_groups"
                                 % (index,))
            p = id_map[index]
            if not isinstance(entry, dict):
                raise ValueError("state[%r]: expected a dict" % (index,))
            where = "state[%r]" % (index,)
            state[p] = {k: self._load_state_value(where, k, v, p) for k, v in entry.items()}

        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            new["params"] = group["params"]
            if "param_names" in group and "param_names" not in new:
                new["param_names"] = group["param_names"]
            for name, default in self.defaults.items():
                if default is not required:
                    new.setdefault(name, default)
            self._validate_group(new)
            new_groups.append(new)

        self.state = state
        self.param_groups = new_groups

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append("Parameter Group %d" % i)
            for key in sorted(group.keys()):
                if key != "params":
                    lines.append("    %s: %s" % (key, group[key]))
        lines.append(")")
        return "\n".join(lines)
