"""SGD: stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""
from .. import _kernels
from .optimizer import Optimizer, check_finite, check_flag, check_nonnegative

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, with torch.optim.SGD's signature, defaults and update.

    For each parameter p with gradient g (negated if maximize):

        g = g + weight_decay * p                                  (if weight_decay != 0)
        buf = g on the first step, else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf               (if momentum != 0)
        p = p - lr * g

    The momentum buffer starts as the first step's gradient (dampening applies from the second
    step on), as in torch. The update runs in one fused C loop per parameter.

    Args:
        params: Parameters, (name, Parameter) pairs, or parameter-group dicts.
        lr: learning rate (default 1e-3), >= 0.
        momentum: momentum factor (default 0), >= 0.
        dampening: dampening for momentum (default 0).
        weight_decay: L2 penalty (default 0), >= 0.
        nesterov: use Nesterov momentum (default False); needs momentum > 0 and dampening 0.
        maximize: maximize the objective instead of minimizing it (keyword-only, default False).

    State per parameter (when momentum != 0): 'momentum_buffer', a float32 array.
    """

    _state_buffers = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        self._validate_group(dict(defaults))
        super().__init__(params, defaults)

    def _validate_group(self, group):
        """Check a group's options: lr, momentum, weight_decay >= 0; nesterov's requirements."""
        check_nonnegative("lr", group["lr"], "learning rate")
        momentum = check_nonnegative("momentum", group["momentum"], "momentum value")
        dampening = check_finite("dampening", group["dampening"])
        check_nonnegative("weight_decay", group["weight_decay"], "weight_decay value")
        nesterov = check_flag("nesterov", group["nesterov"])
        check_flag("maximize", group.get("maximize", False))
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov: Nesterov momentum requires a momentum > 0 and zero "
                             "dampening (got momentum=%r, dampening=%r)"
                             % (group["momentum"], group["dampening"]))

    def step(self, closure=None):
        """Update every parameter that has a gradient (and requires_grad); return closure()'s loss.

        Parameters whose .grad is None, or whose requires_grad is False, are left alone.
        """
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            lr = float(group["lr"])
            momentum = float(group["momentum"])
            dampening = float(group["dampening"])
            weight_decay = float(group["weight_decay"])
            nesterov = bool(group["nesterov"])
            maximize = bool(group.get("maximize", False))
            for p in self._params_to_update(group):
                grad = self._flat_grad(p, maximize)
                flat = self._flat_param(p)
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    first = buf is None
                    if first:
                        buf = self._new_buffer(p)  # written in full by the first step
                        state["momentum_buffer"] = buf
                    _kernels.sgd_update(flat, grad, buf.reshape(-1), lr, momentum, dampening,
                                        weight_decay, nesterov, first)
                else:
                    _kernels.sgd_update(flat, grad, None, lr, 0.0, dampening, weight_decay,
                                        nesterov, True)
        return loss
