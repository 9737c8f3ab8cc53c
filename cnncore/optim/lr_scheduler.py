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
import warnings
from bisect import bisect_right
from collections import Counter

from .optimizer import Optimizer, check_finite, check_real

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR"]

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
