"""RMSprop, Adagrad, Adamax, NAdam and RAdam, with torch.optim's signatures, defaults, formulas
and state names.

Each parameter's update is one fused C loop (cnncore._kernels.rmsprop_update, adagrad_update,
adamax_update, nadam_update, radam_update; csrc/ops/optim_adaptive.c) doing torch's single-tensor
float32 operations in torch's order, so trajectories stay within float32 rounding of torch's.
`foreach` is accepted and ignored.
"""
import numbers

import numpy as np

from .. import _kernels
from .adam import _check_betas
from .optimizer import Optimizer, check_flag, check_nonnegative

__all__ = ["Adagrad", "Adamax", "NAdam", "RAdam", "RMSprop"]

f32 = np.float32


def _check_foreach(value):
    if value is not None:
        check_flag("foreach", value)


class _FusedOptimizer(Optimizer):
    """Shared step loop: for each parameter with a gradient, its float32 values (a writable flat
    view), gradient (negated if maximize; never written) and state are handed to `_update`."""

    def step(self, closure=None):
        """Update every parameter that has a gradient (and requires_grad); return closure()'s loss."""
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            maximize = bool(group.get("maximize", False))
            for p in self._params_to_update(group):
                grad = self._flat_grad(p, maximize)
                state = self.state[p]
                if "step" not in state:
                    self._init_state(state, p, group)
                state["step"] += 1
                self._update(self._flat_param(p), grad, state, group)
        return loss

    def _init_state(self, state, p, group):
        state["step"] = 0
        for name in self._state_buffers:
            if self._needs_buffer(name, group):
                state[name] = self._new_buffer(p)

    def _needs_buffer(self, name, group):
        return True

    @staticmethod
    def _buf(state, name):
        return state[name].reshape(-1)


class RMSprop(_FusedOptimizer):
    """RMSprop, as torch.optim.RMSprop:

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered: m = m + (1 - alpha) * (g - m); avg = sqrt(v - m * m) + eps
        else: avg = sqrt(v) + eps
        if momentum > 0: buf = momentum * buf + g / avg; p = p - lr * buf
        else: p = p - lr * g / avg

    Args: params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
    capturable=False, foreach=None, maximize=False, differentiable=False (capturable and
    differentiable must stay False: there is no graph capture nor differentiable step here).
    State: 'step', 'square_avg', 'momentum_buffer' (momentum > 0), 'grad_avg' (centered).
    """

    _state_buffers = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_foreach(foreach)
        _check_unsupported(capturable=capturable, differentiable=differentiable)
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered, "maximize": maximize,
                    "foreach": foreach, "capturable": False, "differentiable": False}
        self._validate_group(dict(defaults))
        super().__init__(params, defaults)

    def _validate_group(self, group):
        check_nonnegative("lr", group["lr"], "learning rate")
        check_nonnegative("eps", group["eps"], "epsilon value")
        check_nonnegative("momentum", group["momentum"], "momentum value")
        check_nonnegative("weight_decay", group["weight_decay"], "weight_decay value")
        alpha = check_nonnegative("alpha", group["alpha"], "alpha value")
        if alpha > 1:
            raise ValueError("alpha: invalid alpha value %r (must be in [0, 1])" % (group["alpha"],))
        check_flag("centered", group["centered"])
        check_flag("maximize", group.get("maximize", False))

    def _needs_buffer(self, name, group):
        if name == "momentum_buffer":
            return float(group["momentum"]) > 0
        if name == "grad_avg":
            return bool(group["centered"])
        return True

    def _update(self, param, grad, state, group):
        momentum = float(group["momentum"])
        shape = state["square_avg"].shape
        if group["centered"] and state.get("grad_avg") is None:
            state["grad_avg"] = np.zeros(shape, np.float32)  # centered switched on later
        if momentum > 0 and state.get("momentum_buffer") is None:
            state["momentum_buffer"] = np.zeros(shape, np.float32)
        _kernels.rmsprop_update(
            param, grad, self._buf(state, "square_avg"),
            self._buf(state, "grad_avg") if group["centered"] else None,
            self._buf(state, "momentum_buffer") if momentum > 0 else None,
            float(group["lr"]), float(group["alpha"]), float(group["eps"]),
            float(group["weight_decay"]), momentum)


class Adagrad(_FusedOptimizer):
    """Adagrad, as torch.optim.Adagrad:

        g = g + weight_decay * p
        clr = lr / (1 + (step - 1) * lr_decay)
        sum = sum + g * g
        p = p - clr * g / (sqrt(sum) + eps)

    Args: params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
    foreach=None, *, maximize=False, differentiable=False, fused=None. State ('step', 'sum') is
    created for every parameter at construction, as torch does.
    """

    _state_buffers = ("sum",)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_foreach(foreach)
        _check_unsupported(differentiable=differentiable, fused=bool(fused))
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": False, "fused": fused}
        self._validate_group(dict(defaults))
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(self.state[p], p, group)

    def _validate_group(self, group):
        check_nonnegative("lr", group["lr"], "learning rate")
        check_nonnegative("lr_decay", group["lr_decay"], "lr_decay value")
        check_nonnegative("weight_decay", group["weight_decay"], "weight_decay value")
        check_nonnegative("initial_accumulator_value", group["initial_accumulator_value"],
                          "initial_accumulator_value")
        check_nonnegative("eps", group["eps"], "epsilon value")
        check_flag("maximize", group.get("maximize", False))

    def _init_state(self, state, p, group):
        state["step"] = 0
        state["sum"] = np.full(p.data.shape, f32(group["initial_accumulator_value"]), np.float32)

    def _update(self, param, grad, state, group):
        clr = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        _kernels.adagrad_update(param, grad, self._buf(state, "sum"), clr, float(group["eps"]),
                                float(group["weight_decay"]))


class Adamax(_FusedOptimizer):
    """Adamax (Adam with the infinity norm), as torch.optim.Adamax:

        g = g + weight_decay * p
        m = m + (1 - beta1) * (g - m)
        u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1**step) * m / u

    Args: params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
    maximize=False, differentiable=False, capturable=False. State: 'step', 'exp_avg', 'exp_inf'.
    """

    _state_buffers = ("exp_avg", "exp_inf")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_foreach(foreach)
        _check_unsupported(capturable=capturable, differentiable=differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": False,
                    "capturable": False}
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        check_nonnegative("lr", group["lr"], "learning rate")
        group["betas"] = _check_betas(group["betas"])
        check_nonnegative("eps", group["eps"], "epsilon value")
        check_nonnegative("weight_decay", group["weight_decay"], "weight_decay value")
        check_flag("maximize", group.get("maximize", False))

    def _update(self, param, grad, state, group):
        beta1, beta2 = (float(b) for b in group["betas"])
        _kernels.adamax_update(param, grad, self._buf(state, "exp_avg"), self._buf(state, "exp_inf"),
                               float(group["lr"]), beta1, beta2, float(group["eps"]),
                               float(group["weight_decay"]), state["step"])


class NAdam(_FusedOptimizer):
    """NAdam (Adam with Nesterov momentum), as torch.optim.NAdam:

        p = p * (1 - lr * weight_decay) if decoupled_weight_decay, else g = g + weight_decay * p
        mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay)); mu_product *= mu_t
        m = m + (1 - beta1) * (g - m);  v = beta2 * v + (1 - beta2) * g * g
        d = sqrt(v / (1 - beta2**t)) + eps
        p = p - lr (1 - mu_t) / (1 - mu_product) * g / d
              - lr mu_{t+1} / (1 - mu_product mu_{t+1}) * m / d

    Args: params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
    decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
    differentiable=False. State: 'step', 'mu_product' (a float32 number), 'exp_avg', 'exp_avg_sq'.
    """

    _state_buffers = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_foreach(foreach)
        _check_unsupported(capturable=capturable, differentiable=differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                    "foreach": foreach, "maximize": maximize, "capturable": False,
                    "differentiable": False}
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        """lr, eps, weight_decay (and momentum_decay, when the group has it) >= 0; betas in [0, 1)."""
        Adamax._validate_group(self, group)
        if "momentum_decay" in group:
            check_nonnegative("momentum_decay", group["momentum_decay"], "momentum_decay value")
        check_flag("decoupled_weight_decay", group.get("decoupled_weight_decay", False))

    def _init_state(self, state, p, group):
        super()._init_state(state, p, group)
        state["mu_product"] = f32(1.0)

    def _load_state_value(self, where, key, value, p):
        if key == "mu_product":
            v = np.asarray(value)
            if v.size != 1 or v.dtype.kind not in "fiu":
                raise ValueError("%s['mu_product']: expected a number, got %r" % (where, value))
            return f32(v.reshape(()))
        return super()._load_state_value(where, key, value, p)

    def _update(self, param, grad, state, group):
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        decay = float(group["momentum_decay"])
        step = state["step"]
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * decay)))
        state["mu_product"] = f32(state["mu_product"] * f32(mu))  # a float32 tensor in torch
        mu_product = float(state["mu_product"])
        _kernels.nadam_update(param, grad, self._buf(state, "exp_avg"), self._buf(state, "exp_avg_sq"),
                              lr, beta1, beta2, float(group["eps"]), float(group["weight_decay"]),
                              bool(group.get("decoupled_weight_decay", False)), 1 - beta2 ** step,
                              -lr * (1.0 - mu) / (1.0 - mu_product),
                              (-lr * mu_next) / (1.0 - mu_product * mu_next))


class RAdam(_FusedOptimizer):
    """RAdam (rectified Adam), as torch.optim.RAdam:

        p = p * (1 - lr * weight_decay) if decoupled_weight_decay, else g = g + weight_decay * p
        m = m + (1 - beta1) * (g - m);  v = beta2 * v + (1 - beta2) * g * g
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        if rho_t > 5: p = p - m / (1 - beta1**t) * lr * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r_t
                      with r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        else:         p = p - m / (1 - beta1**t) * lr

    Args: params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
    differentiable=False. State: 'step', 'exp_avg', 'exp_avg_sq'.
    """

    _state_buffers = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_foreach(foreach)
        _check_unsupported(capturable=capturable, differentiable=differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "foreach": foreach,
                    "maximize": maximize, "capturable": False, "differentiable": False}
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        NAdam._validate_group(self, group)

    def _update(self, param, grad, state, group):
        beta1, beta2 = (float(b) for b in group["betas"])
        _kernels.radam_update(param, grad, self._buf(state, "exp_avg"), self._buf(state, "exp_avg_sq"),
                              float(group["lr"]), beta1, beta2, float(group["eps"]),
                              float(group["weight_decay"]),
                              bool(group.get("decoupled_weight_decay", False)), state["step"])


def _check_unsupported(**flags):
    """capturable / differentiable / fused: accepted as False only (no CUDA graphs, no
    differentiable optimizer steps, no fused GPU kernels here)."""
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_, numbers.Integral)) or value not in (0, 1):
            raise TypeError("%s: expected a bool, got %r" % (name, value))
        if value:
            raise ValueError("%s: only False is supported by cnncore (got True)" % name)

