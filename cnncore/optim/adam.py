"""Adam and AdamW (with the AMSGrad variant), with torch.optim's formulas."""
from .. import _kernels
from .optimizer import Optimizer, check_flag, check_nonnegative, check_real

__all__ = ["Adam", "AdamW"]


def _check_betas(betas):
    """betas: a pair of real numbers in [0, 1); returned as a tuple."""
    try:
        pair = tuple(betas)
    except TypeError:
        raise TypeError("betas: expected a pair of numbers, got %s"
                        % type(betas).__name__) from None
    if len(pair) != 2:
        raise ValueError("betas: expected a pair of numbers, got %d values" % len(pair))
    for i, b in enumerate(pair):
        v = check_real("betas[%d]" % i, b)
        if not 0.0 <= v < 1.0:
            raise ValueError("betas[%d]: invalid beta parameter %r (must be in [0, 1))" % (i, b))
    return pair


class Adam(Optimizer):
    """Adam, with torch.optim.Adam's signature, defaults and update (AMSGrad optional).

    For each parameter p with gradient g (negated if maximize), at step t (from 1):

        p = p * (1 - lr * weight_decay)             if decoupled_weight_decay (AdamW)
        g = g + weight_decay * p                    otherwise, if weight_decay != 0
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v); use v_max for v      (if amsgrad)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    The update runs in one fused C loop per parameter.

    Args:
        params: Parameters, (name, Parameter) pairs, or parameter-group dicts.
        lr: learning rate (default 1e-3), >= 0.
        betas: (beta1, beta2), the running averages' coefficients (default (0.9, 0.999)), each
            in [0, 1).
        eps: added to the denominator (default 1e-8), >= 0.
        weight_decay: L2 penalty (default 0), >= 0.
        amsgrad: use the AMSGrad variant (default False).
        maximize: maximize the objective (keyword-only, default False).
        decoupled_weight_decay: decay the weights directly, as AdamW (keyword-only, default False).

    State per parameter: 'step' (an int), 'exp_avg', 'exp_avg_sq' and, with amsgrad,
    'max_exp_avg_sq' (float32 arrays). torch keeps 'step' as a float tensor; load_state_dict
    accepts either.
    """

    _state_buffers = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        """Check a group's options: lr, eps, weight_decay >= 0, betas in [0, 1), the flags."""
        check_nonnegative("lr", group["lr"], "learning rate")
        group["betas"] = _check_betas(group["betas"])
        check_nonnegative("eps", group["eps"], "epsilon value")
        check_nonnegative("weight_decay", group["weight_decay"], "weight_decay value")
        check_flag("amsgrad", group["amsgrad"])
        check_flag("maximize", group.get("maximize", False))
        check_flag("decoupled_weight_decay", group.get("decoupled_weight_decay", False))

    def step(self, closure=None):
        """Update every parameter that has a gradient (and requires_grad); return closure()'s loss.

        Parameters whose .grad is None, or whose requires_grad is False, are left alone (their
        step count does not advance).
        """
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps = float(group["eps"])
            weight_decay = float(group["weight_decay"])
            amsgrad = bool(group["amsgrad"])
            maximize = bool(group.get("maximize", False))
            decoupled = bool(group.get("decoupled_weight_decay", False))
            for p in self._params_to_update(group):
                grad = self._flat_grad(p, maximize)
                flat = self._flat_param(p)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = self._new_buffer(p)
                    state["exp_avg_sq"] = self._new_buffer(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = self._new_buffer(p)
                vmax = None
                if amsgrad:
                    if state.get("max_exp_avg_sq") is None:  # amsgrad switched on later
                        state["max_exp_avg_sq"] = self._new_buffer(p)
                    vmax = state["max_exp_avg_sq"].reshape(-1)
                state["step"] += 1
                _kernels.adam_update(flat, grad, state["exp_avg"].reshape(-1),
                                     state["exp_avg_sq"].reshape(-1), vmax, lr, beta1, beta2, eps,
                                     weight_decay, decoupled, state["step"])
        return loss


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay (torch.optim.AdamW's signature and defaults).

    Each step first shrinks the weights, p = p * (1 - lr * weight_decay), then applies Adam's
    update with the undecayed gradient. Same arguments as Adam except that weight_decay
    defaults to 1e-2 (and decoupled_weight_decay is always True).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        """As Optimizer.load_state_dict; the groups stay decoupled (AdamW) whatever was saved."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
