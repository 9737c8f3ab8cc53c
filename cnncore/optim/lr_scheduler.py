"""Learning-rate schedulers with torch.optim.lr_scheduler's names, arguments and values.

The convention is torch's: constructing a scheduler stores each group's starting lr as
'initial_lr' and sets epoch 0's lr; each `scheduler.step()`, called after `optimizer.step()`,
advances one epoch (or one batch, for OneCycleLR) and writes the new lr into the optimizer's
param_groups. The values are computed with torch's own recursive formulas (and its closed forms
when an epoch is passed to step()), so they agree with torch's to the last bit or so.
"""
import copy
import math
import numbers
import types
import warnings
from bisect import bisect_right
from collections import Counter

from .optimizer import Optimizer, check_finite, check_real

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR", "LambdaLR",
           "MultiplicativeLR", "ExponentialLR", "LinearLR", "ConstantLR", "SequentialLR",
           "ChainedScheduler", "CyclicLR", "PolynomialLR", "CosineAnnealingWarmRestarts",
           "ReduceLROnPlateau"]

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available.")


def _check_int(name, value, minimum):
    """An integer >= minimum (TypeError for a non-integer, ValueError below the minimum)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError("%s: expected an integer, got %r" % (name, value))
    if value < minimum:
        raise ValueError("%s: expected an integer >= %d, got %d" % (name, minimum, value))
    return int(value)


def _per_group(name, optimizer, value):
    """One value per param group: a list/tuple of that length, or one value for all groups."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError("%s must have the same length as optimizer.param_groups. %s has %d "
                             "values, param_groups has %d."
                             % (name, name, len(value), len(optimizer.param_groups)))
        values = list(value)
    else:
        values = [value] * len(optimizer.param_groups)
    for i, v in enumerate(values):
        check_finite("%s[%d]" % (name, i) if isinstance(value, (list, tuple)) else name, v)
    return values


class LRScheduler:
    """Base class of the learning-rate schedulers (torch.optim.lr_scheduler.LRScheduler).

    Args:
        optimizer: the Optimizer whose param_groups' 'lr' this scheduler sets.
        last_epoch: index of the last epoch seen; -1 (the default) starts a new schedule. A
            value >= 0 resumes one and needs 'initial_lr' in every param group (as saved in the
            optimizer's state_dict).

    Subclasses implement `get_lr()` (the next lrs from the current ones, called by step()) and
    may implement `_get_closed_form_lr()` (the lrs at `last_epoch` from the base lrs).
    """

    _get_lr_called_within_step = False
    _is_initial = False

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError("%s is not an Optimizer" % type(optimizer).__name__)
        last_epoch = _check_int("last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError("param 'initial_lr' is not specified in param_groups[%d] when "
                                   "resuming scheduler with last_epoch >= 0" % i)
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """Set the step count and take the step that sets epoch 0's (or last_epoch + 1's) lr."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def state_dict(self):
        """The scheduler's state: every attribute except the optimizer (copied)."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                if key != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore a state from `state_dict()` (load the optimizer's own state separately).

        Raises ValueError if it is not a scheduler state or was saved with a different number
        of param groups.
        """
        if not isinstance(state_dict, dict) or "last_epoch" not in state_dict \
                or "base_lrs" not in state_dict:
            raise ValueError("state_dict: expected a dict from a scheduler's state_dict(), with "
                             "'last_epoch' and 'base_lrs'")
        if len(state_dict["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError("state_dict: saved for %d param groups, the optimizer has %d"
                             % (len(state_dict["base_lrs"]), len(self.optimizer.param_groups)))
        self.__dict__.update(copy.deepcopy(state_dict))

    def get_last_lr(self):
        """The learning rates (one per param group) that the last step() set."""
        return list(self._last_lr)

    def get_lr(self):
        """Compute the next learning rates (one per param group); called by step()."""
        raise NotImplementedError

    def _warn_if_outside_step(self):
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use "
                          "`get_last_lr()`.", UserWarning, stacklevel=3)

    def step(self, epoch=None):
        """Advance one epoch and write the new learning rates into the optimizer's groups.

        Call it after `optimizer.step()`. `epoch` (deprecated, as in torch) jumps to that epoch
        and uses the closed form where the scheduler has one.
        """
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(
                "Detected call of `lr_scheduler.step()` before `optimizer.step()`. You should "
                "call them in this order: `optimizer.step()` before `lr_scheduler.step()`. "
                "Failure to do this will result in skipping the first value of the learning rate "
                "schedule.", UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = _check_int("epoch", epoch, 0)
                if hasattr(self, "_get_closed_form_lr"):
                    values = self._get_closed_form_lr()
                else:
                    values = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def __repr__(self):
        return "%s(last_epoch=%d, last_lr=%s)" % (type(self).__name__, self.last_epoch,
                                                 getattr(self, "_last_lr", None))


class StepLR(LRScheduler):
    """Multiply each group's lr by gamma every step_size epochs (torch's StepLR).

    lr(epoch) = initial_lr * gamma ** (epoch // step_size), computed recursively as torch does
    (so it composes with lr changes made from outside).

    Args:
        optimizer: the wrapped Optimizer.
        step_size: period of the decay, in epochs (a positive integer).
        gamma: multiplicative factor of the decay (default 0.1).
        last_epoch: index of the last epoch (default -1: start).
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = _check_int("step_size", step_size, 1)
        self.gamma = check_finite("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        """The current lrs, times gamma at a non-zero multiple of step_size."""
        self._warn_if_outside_step()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply each group's lr by gamma at each milestone epoch (torch's MultiStepLR).

    lr(epoch) = initial_lr * gamma ** (number of milestones <= epoch); a milestone given twice
    counts twice.

    Args:
        optimizer: the wrapped Optimizer.
        milestones: epoch indices (integers), in increasing order.
        gamma: multiplicative factor of the decay (default 0.1).
        last_epoch: index of the last epoch (default -1: start).
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        try:
            milestones = list(milestones)
        except TypeError:
            raise TypeError("milestones: expected a list of integers, got %s"
                            % type(milestones).__name__) from None
        for i, m in enumerate(milestones):
            _check_int("milestones[%d]" % i, m, 0)
        self.milestones = Counter(int(m) for m in milestones)
        self.gamma = check_finite("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        """The current lrs, times gamma ** (times the current epoch is a milestone)."""
        self._warn_if_outside_step()
        if self.last_epoch not in self.milestones:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from each group's initial lr down to eta_min over T_max epochs.

    The closed form is lr(t) = eta_min + (initial_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2;
    like torch, step() applies it recursively,

        lr(t) = eta_min + (lr(t-1) - eta_min) * (1 + cos(pi t / T_max)) / (1 + cos(pi (t-1) / T_max))

    (which follows outside changes to the lr), and past T_max the cosine continues, rising
    again (no restarts). Values equal torch's.

    Args:
        optimizer: the wrapped Optimizer.
        T_max: number of epochs of a half period (> 0).
        eta_min: the minimum learning rate (default 0).
        last_epoch: index of the last epoch (default -1: start).
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        t_max = check_finite("T_max", T_max)
        if t_max <= 0:
            raise ValueError("T_max: expected a number > 0, got %r" % (T_max,))
        self.T_max = T_max
        self.eta_min = check_finite("eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        """The next lrs by torch's recursive formula (closed form when resuming)."""
        self._warn_if_outside_step()
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and self.last_epoch > 0:
            return [self.eta_min + (base_lr - self.eta_min)
                    * (1 + math.cos(self.last_epoch * math.pi / self.T_max)) / 2
                    for base_lr in self.base_lrs]
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return [group["lr"] + (base_lr - self.eta_min)
                    * (1 - math.cos(math.pi / self.T_max)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * self.last_epoch / self.T_max))
                / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
                * (group["lr"] - self.eta_min) + self.eta_min
                for group in groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (torch's OneCycleLR), stepped once per batch.

    The lr rises from initial_lr = max_lr / div_factor to max_lr over the first pct_start of
    total_steps, then falls to min_lr = initial_lr / final_div_factor (three_phase: back to
    initial_lr over a second equal phase, then down to min_lr). With cycle_momentum, the
    optimizer's momentum (SGD) or beta1 (Adam/AdamW) moves inversely between max_momentum and
    base_momentum. step() may be called total_steps times after construction; one more raises
    ValueError, as in torch.

    Args:
        optimizer: the wrapped Optimizer.
        max_lr: the peak learning rate, one for all groups or a list with one per group.
        total_steps: the number of steps in the cycle; or give epochs and steps_per_epoch.
        epochs, steps_per_epoch: total_steps = epochs * steps_per_epoch (when total_steps is
            None).
        pct_start: fraction of the cycle spent increasing the lr (default 0.3).
        anneal_strategy: 'cos' (default) or 'linear'.
        cycle_momentum: cycle momentum / beta1 inversely to the lr (default True).
        base_momentum, max_momentum: the momentum's bounds (defaults 0.85, 0.95), one value or
            one per group.
        div_factor: initial_lr = max_lr / div_factor (default 25).
        final_div_factor: min_lr = initial_lr / final_div_factor (default 1e4).
        three_phase: use the three-phase schedule (default False).
        last_epoch: index of the last batch (default -1: start).

    A phase of zero length (pct_start * total_steps == 1, or pct_start == 1), where torch would
    divide by zero, ends at once: its end value is used.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError("%s is not an Optimizer" % type(optimizer).__name__)
        self.optimizer = optimizer

        if total_steps is not None:
            self.total_steps = _check_int("total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            epochs = _check_int("epochs", epochs, 1)
            steps_per_epoch = _check_int("steps_per_epoch", steps_per_epoch, 1)
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")

        pct = check_real("pct_start", pct_start)
        if not 0.0 <= pct <= 1.0:
            raise ValueError("pct_start: expected a number between 0 and 1, got %r"
                             % (pct_start,))
        pct_start = pct
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got %r"
                             % (anneal_strategy,))
        self._anneal_func_type = anneal_strategy
        div_factor = check_finite("div_factor", div_factor)
        final_div_factor = check_finite("final_div_factor", final_div_factor)
        if div_factor == 0:
            raise ValueError("div_factor: must not be 0")
        if final_div_factor == 0:
            raise ValueError("final_div_factor: must not be 0")

        if three_phase:
            self._schedule_phases = [
                {"end_step": float(pct_start * self.total_steps) - 1,
                 "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": float(2 * pct_start * self.total_steps) - 2,
                 "start_lr": "max_lr", "end_lr": "initial_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
                {"end_step": self.total_steps - 1,
                 "start_lr": "initial_lr", "end_lr": "min_lr",
                 "start_momentum": "max_momentum", "end_momentum": "max_momentum"},
            ]
        else:
            self._schedule_phases = [
                {"end_step": float(pct_start * self.total_steps) - 1,
                 "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": self.total_steps - 1,
                 "start_lr": "max_lr", "end_lr": "min_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
            ]

        max_lrs = _per_group("max_lr", optimizer, max_lr)
        last_epoch = _check_int("last_epoch", last_epoch, -1)
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with "
                                 "`cycle_momentum` option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for m, b, group in zip(max_momentums, base_momentums, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (m,) + tuple(group["betas"][1:])
                    else:
                        group["momentum"] = m
                    group["max_momentum"] = m
                    group["base_momentum"] = b

        super().__init__(optimizer, last_epoch)

    def _anneal_func(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return self._annealing_cos(start, end, pct)
        return self._annealing_linear(start, end, pct)

    @staticmethod
    def _annealing_cos(start, end, pct):
        """Cosine anneal from `start` to `end` as pct goes from 0.0 to 1.0."""
        cos_out = math.cos(math.pi * pct) + 1
        return end + (start - end) / 2.0 * cos_out

    @staticmethod
    def _annealing_linear(start, end, pct):
        """Linearly anneal from `start` to `end` as pct goes from 0.0 to 1.0."""
        return (end - start) * pct + start

    def get_lr(self):
        """The lrs of the current step (and, with cycle_momentum, set the momentum / beta1)."""
        self._warn_if_outside_step()
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError("Tried to step %d times. The specified number of total steps is %d"
                             % (step_num, self.total_steps))
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step_num <= end_step or i == last:
                    span = end_step - start_step
                    pct = (step_num - start_step) / span if span != 0 else 1.0
                    computed_lr = self._anneal_func(group[phase["start_lr"]],
                                                    group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        computed_momentum = self._anneal_func(
                            group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                    break
                start_step = phase["end_step"]
            lrs.append(computed_lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (computed_momentum,) + tuple(group["betas"][1:])
                else:
                    group["momentum"] = computed_momentum
        return lrs


# ---------------------------------------------------------------------------------------------
# More schedulers, each with torch's recursive get_lr (and closed form where torch has one).

def _lambdas(optimizer, lr_lambda):
    """One callable per param group (a list of that length, or one callable for all)."""
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != len(optimizer.param_groups):
            raise ValueError("lr_lambda: expected %d functions (one per param group), got %d"
                             % (len(optimizer.param_groups), len(lr_lambda)))
        fns = list(lr_lambda)
    else:
        fns = [lr_lambda] * len(optimizer.param_groups)
    for f in fns:
        if not callable(f):
            raise TypeError("lr_lambda: expected a callable, got %s" % type(f).__name__)
    return fns


class _LambdaState:
    """state_dict without the lambdas themselves: callable objects' attributes are saved,
    plain functions are not (as torch)."""

    def state_dict(self):
        state = {k: copy.deepcopy(v) for k, v in self.__dict__.items()
                 if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(f, types.FunctionType) else copy.deepcopy(f.__dict__)
                               for f in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        saved = state_dict.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        LRScheduler.load_state_dict(self, state_dict)
        for f, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                f.__dict__.update(attrs)


class LambdaLR(_LambdaState, LRScheduler):
    """lr = initial_lr * lr_lambda(epoch), one function per group or one for all (torch's
    LambdaLR)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_if_outside_step()
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaState, LRScheduler):
    """lr = lr * lr_lambda(epoch) at every step after the first (torch's MultiplicativeLR)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_if_outside_step()
        if self.last_epoch > 0:
            return [g["lr"] * f(self.last_epoch) for f, g in zip(self.lr_lambdas, self.optimizer.param_groups)]
        return [g["lr"] for g in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    """lr = initial_lr * gamma ** epoch (torch's ExponentialLR)."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = check_finite("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_if_outside_step()
        if self.last_epoch == 0:
            return [g["lr"] for g in self.optimizer.param_groups]
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class LinearLR(LRScheduler):
    """The lr factor goes linearly from start_factor to end_factor over total_iters epochs, then
    stays (torch's LinearLR; start_factor in (0, 1], end_factor in [0, 1])."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        start = check_real("start_factor", start_factor)
        end = check_real("end_factor", end_factor)
        if not 0 < start <= 1:
            raise ValueError("start_factor: expected a number in (0, 1], got %r" % (start_factor,))
        if not 0 <= end <= 1:
            raise ValueError("end_factor: expected a number in [0, 1], got %r" % (end_factor,))
        self.start_factor, self.end_factor = start, end
        self.total_iters = _check_int("total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_if_outside_step()
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [g["lr"] * self.start_factor for g in groups]
        if self.last_epoch > self.total_iters:
            return [g["lr"] for g in groups]
        d = self.end_factor - self.start_factor
        return [g["lr"] * (1.0 + d / (self.total_iters * self.start_factor + (self.last_epoch - 1) * d))
                for g in groups]

    def _get_closed_form_lr(self):
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (self.start_factor + (self.end_factor - self.start_factor) * frac)
                for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """lr = initial_lr * factor until total_iters, then initial_lr (torch's ConstantLR;
    factor in [0, 1])."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        f = check_real("factor", factor)
        if not 0 <= f <= 1:
            raise ValueError("factor: expected a number in [0, 1], got %r" % (factor,))
        self.factor = f
        self.total_iters = _check_int("total_iters", total_iters, 0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_if_outside_step()
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [g["lr"] * self.factor for g in groups]
        if self.last_epoch != self.total_iters:
            return [g["lr"] for g in groups]
        return [g["lr"] * (1.0 / self.factor) for g in groups]

    def _get_closed_form_lr(self):
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """lr = initial_lr * (1 - min(epoch, total_iters) / total_iters) ** power (torch's
    PolynomialLR)."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = _check_int("total_iters", total_iters, 1)
        self.power = check_finite("power", power)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_if_outside_step()
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch > self.total_iters:
            return [g["lr"] for g in groups]
        factor = ((1.0 - self.last_epoch / self.total_iters)
                  / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [g["lr"] * factor for g in groups]

    def _get_closed_form_lr(self):
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing from initial_lr to eta_min over T_i epochs, restarting with
    T_i = T_i * T_mult (SGDR; torch's CosineAnnealingWarmRestarts). step(epoch) accepts
    fractional epochs (e.g. epoch + batch / batches)."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        self.T_0 = _check_int("T_0", T_0, 1)
        self.T_i = self.T_0
        self.T_mult = _check_int("T_mult", T_mult, 1)
        self.eta_min = check_finite("eta_min", eta_min)
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_if_outside_step()
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self.base_lrs]

    def step(self, epoch=None):
        """Advance one epoch, or go to `epoch` (a number >= 0, fractions allowed)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur - self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            epoch = check_finite("epoch", epoch)
            if epoch < 0:
                raise ValueError("epoch: expected a number >= 0, got %r" % (epoch,))
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._step_count += 1
        self._get_lr_called_within_step = True
        try:
            values = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]


class CyclicLR(LRScheduler):
    """Cyclical learning rate between base_lr and max_lr (torch's CyclicLR), stepped per batch.

    Args: optimizer, base_lr, max_lr (a number or one per group), step_size_up=2000,
    step_size_down=None (= step_size_up), mode 'triangular' | 'triangular2' | 'exp_range',
    gamma=1.0 (exp_range), scale_fn=None (a custom amplitude function of the cycle or
    iteration), scale_mode 'cycle' | 'iterations', cycle_momentum=True (momentum or Adam's beta1
    cycled inversely between base_momentum=0.8 and max_momentum=0.9), last_epoch=-1.
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError("%s is not an Optimizer" % type(optimizer).__name__)
        last_epoch = _check_int("last_epoch", last_epoch, -1)
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        up = check_real("step_size_up", step_size_up)
        down = up if step_size_down is None else check_real("step_size_down", step_size_down)
        if up <= 0 or down < 0:
            raise ValueError("step_size_up / step_size_down: expected sizes > 0 and >= 0, got %r, %r"
                             % (step_size_up, step_size_down))
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode: expected 'triangular', 'triangular2' or 'exp_range' (or a "
                             "scale_fn), got %r" % (mode,))
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError("scale_fn: expected a callable or None, got %s" % type(scale_fn).__name__)
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError("scale_mode: expected 'cycle' or 'iterations', got %r" % (scale_mode,))
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode = mode
        self.gamma = check_finite("gamma", gamma)
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("cycle_momentum: the optimizer has neither 'momentum' nor 'betas' "
                                 "(pass cycle_momentum=False)")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for m_max, m_base, group in zip(self.max_momentums, self.base_momentums,
                                                optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (m_max, *group["betas"][1:])
                    else:
                        group["momentum"] = m_max
                    group["max_momentum"] = m_max
                    group["base_momentum"] = m_base
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self):
        if self._scale_fn_custom is not None:
            return
        if self.mode == "triangular":
            self.scale_mode = "cycle"
        elif self.mode == "triangular2":
            self.scale_mode = "cycle"
        elif self.mode == "exp_range":
            self.scale_mode = "iterations"

    def scale_fn(self, x):
        """The amplitude's scale at cycle (or iteration) x."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        if self.mode == "exp_range":
            return self.gamma ** x
        return 1.0

    def get_lr(self):
        self._warn_if_outside_step()
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * scale_factor * scale for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, m_base, m_max in zip(self.optimizer.param_groups, self.base_momentums,
                                            self.max_momentums):
                m = m_max - (m_max - m_base) * scale_factor * scale
                if self.use_beta1:
                    group["betas"] = (m, *group["betas"][1:])
                else:
                    group["momentum"] = m
        return lrs

    def state_dict(self):
        state = super().state_dict()
        fn = state.pop("_scale_fn_custom")
        state["_scale_fn_custom"] = None if fn is None or isinstance(fn, types.FunctionType) \
            else copy.deepcopy(fn.__dict__)
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        fn = state_dict.pop("_scale_fn_custom", None)
        custom = self._scale_fn_custom
        super().load_state_dict(state_dict)
        self._scale_fn_custom = custom
        if fn is not None and custom is not None:
            custom.__dict__.update(fn)
        self._init_scale_fn()


def _check_schedulers(schedulers, optimizer, who):
    if not isinstance(schedulers, (list, tuple)) or len(schedulers) < 1:
        raise ValueError("schedulers: %s expects at least one scheduler, got %r" % (who, schedulers))
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError("schedulers[%d]: expected a scheduler, got %s" % (i, type(s).__name__))
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError("schedulers[%d]: %s does not take ReduceLROnPlateau (it steps on a "
                             "metric)" % (i, who))
        if s.optimizer is not optimizer:
            raise ValueError("schedulers[%d]: %s expects all schedulers to belong to the same "
                             "optimizer" % (i, who))


class SequentialLR(LRScheduler):
    """Runs schedulers one after another, switching at the milestone epochs (torch's
    SequentialLR): len(milestones) == len(schedulers) - 1; at a milestone the next scheduler
    starts from its epoch 0."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError("%s is not an Optimizer" % type(optimizer).__name__)
        _check_schedulers(schedulers, optimizer, "SequentialLR")
        milestones = [_check_int("milestones[%d]" % i, m, 0) for i, m in enumerate(milestones)]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("milestones: expected %d values (one fewer than the schedulers), got %d"
                             % (len(schedulers) - 1, len(milestones)))
        self._schedulers = list(schedulers)
        self._milestones = milestones
        self.last_epoch = _check_int("last_epoch", last_epoch, -1) + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        self._schedulers[0]._initial_step()
        self._last_lr = self._schedulers[0].get_last_lr()

    def recursive_undo(self, sched=None):
        """Undo the initial step of the schedulers (and of nested SequentialLRs)."""
        for s in (self._schedulers if sched is None else sched._schedulers):
            if isinstance(s, SequentialLR):
                self.recursive_undo(s)
            elif hasattr(s, "last_epoch"):
                s.last_epoch -= 1

    def step(self):
        """Advance one epoch: step the scheduler whose range holds it."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # step(0): the closed form of its first epoch
                scheduler.step(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {k: copy.deepcopy(v) for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        saved = state_dict.pop("_schedulers", None)
        if saved is None or len(saved) != len(self._schedulers):
            raise ValueError("state_dict: expected the state of %d schedulers" % len(self._schedulers))
        self.__dict__.update(copy.deepcopy(state_dict))
        for s, st in zip(self._schedulers, saved):
            s.load_state_dict(st)


class ChainedScheduler(LRScheduler):
    """Steps every scheduler in the list at each step(), so their factors compose (torch's
    ChainedScheduler)."""

    def __init__(self, schedulers, optimizer=None):
        if not isinstance(schedulers, (list, tuple)) or len(schedulers) < 1:
            raise ValueError("schedulers: ChainedScheduler expects at least one scheduler, got %r"
                             % (schedulers,))
        optimizer = optimizer if optimizer is not None else getattr(schedulers[0], "optimizer", None)
        _check_schedulers(schedulers, optimizer, "ChainedScheduler")
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = [g["lr"] for g in self._schedulers[-1].optimizer.param_groups]

    def step(self):
        """Step each scheduler once, in order."""
        for s in self._schedulers:
            s.step()
        self._last_lr = [g["lr"] for g in self._schedulers[-1].optimizer.param_groups]

    state_dict = SequentialLR.state_dict
    load_state_dict = SequentialLR.load_state_dict


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by factor when a metric stopped improving for patience epochs (torch's
    ReduceLROnPlateau): step(metric) after each validation.

    Args: optimizer, mode 'min' | 'max', factor=0.1 (< 1), patience=10, threshold=1e-4,
    threshold_mode 'rel' | 'abs', cooldown=0, min_lr=0 (a number or one per group), eps=1e-8
    (smaller lr changes are skipped).
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError("%s is not an Optimizer" % type(optimizer).__name__)
        factor = check_real("factor", factor)
        if factor >= 1.0 or factor < 0:
            raise ValueError("factor: expected a number in [0, 1), got %r" % (factor,))
        self.factor = factor
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            self.default_min_lr = None
        else:
            self.default_min_lr = min_lr
        self.min_lrs = _per_group("min_lr", optimizer, min_lr)
        self.patience = _check_int("patience", patience, 0)
        self.cooldown = _check_int("cooldown", cooldown, 0)
        self.cooldown_counter = 0
        self.eps = check_finite("eps", eps)
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]
        self._init_is_better(mode, check_finite("threshold", threshold), threshold_mode)
        self._reset()

    def _init_is_better(self, mode, threshold, threshold_mode):
        if mode not in ("min", "max"):
            raise ValueError("mode: expected 'min' or 'max', got %r" % (mode,))
        if threshold_mode not in ("rel", "abs"):
            raise ValueError("threshold_mode: expected 'rel' or 'abs', got %r" % (threshold_mode,))
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def is_better(self, a, best):
        """Whether metric a improves on best by more than the threshold."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def step(self, metrics, epoch=None):
        """Record the epoch's metric (a number); reduce the lrs after patience bad epochs."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError("metrics: expected a number, got %r" % (metrics,)) from None
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for i, group in enumerate(self.optimizer.param_groups):
                old = float(group["lr"])
                new = max(old * self.factor, self.min_lrs[i])
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def load_state_dict(self, state_dict):
        """Restore a state from `state_dict()`."""
        if not isinstance(state_dict, dict) or "best" not in state_dict:
            raise ValueError("state_dict: expected a dict from ReduceLROnPlateau.state_dict()")
        self.__dict__.update(copy.deepcopy(state_dict))
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)
