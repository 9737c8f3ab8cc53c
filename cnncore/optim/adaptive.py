"""RMSprop, Adagrad, Adamax, NAdam and RAdam, with torch.optim's signatures, defaults, formulas
and state names.

These updates run as NumPy float32 operations in place on each parameter (in torch's order of
operations, so trajectories stay within float32 rounding of torch's), not as fused C kernels as
SGD and Adam do: they are memory-bound vector updates a few passes long, and `foreach` (accepted
and ignored, as in the issue) would not change that.
"""
import numbers

import numpy as np

from .adam import _check_betas
from .optimizer import Optimizer, check_flag, check_nonnegative

__all__ = ["Adagrad", "Adamax", "NAdam", "RAdam", "RMSprop"]

f32 = np.float32


def _check_foreach(value):
    if value is not None:
        check_flag("foreach", value)


class _NumpyOptimizer(Optimizer):
    """Shared step loop: for each parameter with a gradient, its float32 values (a writable flat
    view), gradient (negated if maximize) and state are handed to `_update`."""

    def step(self, closure=None):
        """Update every parameter that has a gradient (and requires_grad); return closure()'s loss."""
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            maximize = bool(group.get("maximize", False))
            for p in self._params_to_update(group):
                grad = self._flat_grad(p, maximize)
                if not maximize:
                    grad = grad.copy()  # never write into p.grad
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


def _weight_decay(param, grad, group):
    """grad + weight_decay * param (a new array when weight_decay != 0)."""
    wd = float(group["weight_decay"])
    if wd != 0:
        return grad + f32(wd) * param
    return grad


class RMSprop(_NumpyOptimizer):
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
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        momentum = float(group["momentum"])
        grad = _weight_decay(param, grad, group)
        sq = self._buf(state, "square_avg")
        sq *= f32(alpha)
        sq += f32(1 - alpha) * grad * grad
        if group["centered"]:
            if state.get("grad_avg") is None:
                state["grad_avg"] = np.zeros(state["square_avg"].shape, np.float32)
            ga = self._buf(state, "grad_avg")
            ga += f32(1 - alpha) * (grad - ga)
            avg = np.sqrt(sq - ga * ga)
        else:
            avg = np.sqrt(sq)
        avg += f32(eps)
        if momentum > 0:
            if state.get("momentum_buffer") is None:
                state["momentum_buffer"] = np.zeros(state["square_avg"].shape, np.float32)
            buf = self._buf(state, "momentum_buffer")
            buf *= f32(momentum)
            buf += grad / avg
            param -= f32(lr) * buf
        else:
            param -= f32(lr) * (grad / avg)


class Adagrad(_NumpyOptimizer):
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
        grad = _weight_decay(param, grad, group)
        clr = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        s = self._buf(state, "sum")
        s += grad * grad
        std = np.sqrt(s)
        std += f32(group["eps"])
        param -= f32(clr) * (grad / std)


class Adamax(_NumpyOptimizer):
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
        grad = _weight_decay(param, grad, group)
        m, u = self._buf(state, "exp_avg"), self._buf(state, "exp_inf")
        m += f32(1 - beta1) * (grad - m)
        u *= f32(beta2)
        np.maximum(u, np.abs(grad) + f32(group["eps"]), out=u)
        clr = float(group["lr"]) / (1 - beta1 ** state["step"])
        param -= f32(clr) * (m / u)


class NAdam(_NumpyOptimizer):
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
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        decay = float(group["momentum_decay"])
        step = state["step"]
        bias_correction2 = 1 - beta2 ** step
        if wd != 0:
            if group.get("decoupled_weight_decay", False):
                param *= f32(1 - lr * wd)
            else:
                grad = grad + f32(wd) * param
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * decay)))
        state["mu_product"] = f32(state["mu_product"] * f32(mu))
        mu_product = float(state["mu_product"])
        m, v = self._buf(state, "exp_avg"), self._buf(state, "exp_avg_sq")
        m += f32(1 - beta1) * (grad - m)
        v *= f32(beta2)
        v += f32(1 - beta2) * grad * grad
        denom = np.sqrt(v / f32(bias_correction2))
        denom += f32(eps)
        mu_product_next = mu_product * mu_next
        param += f32(-lr * (1.0 - mu) / (1.0 - mu_product)) * (grad / denom)
        param += f32((-lr * mu_next) / (1.0 - mu_product_next)) * (m / denom)


class RAdam(_NumpyOptimizer):
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
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        step = state["step"]
        if wd != 0:
            if group.get("decoupled_weight_decay", False):
                param *= f32(1 - lr * wd)
            else:
                grad = grad + f32(wd) * param
        m, v = self._buf(state, "exp_avg"), self._buf(state, "exp_avg_sq")
        m += f32(1 - beta1) * (grad - m)
        v *= f32(beta2)
        v += f32(1 - beta2) * grad * grad
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        corrected = m / f32(bias_correction1)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            sq = np.sqrt(v)
            sq += f32(eps)
            adaptive = f32(bias_correction2 ** 0.5) / sq
            param -= corrected * f32(lr) * adaptive * f32(rect)
        else:
            param -= corrected * f32(lr)


def _check_unsupported(**flags):
    """capturable / differentiable / fused: accepted as False only (no CUDA graphs, no
    differentiable optimizer steps, no fused GPU kernels here)."""
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_, numbers.Integral)) or value not in (0, 1):
            raise TypeError("%s: expected a bool, got %r" % (name, value))
        if value:
            raise ValueError("%s: only False is supported by cnncore (got True)" % name)

