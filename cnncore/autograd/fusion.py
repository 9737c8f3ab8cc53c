"""Fusion as rewrites of pending graph nodes, wherever the pattern occurs (Sequential, blocks,
custom forwards alike):

- act(conv(x))                   -> conv with the activation in its epilogue, for every kind the
                                    C kernels have (ReLU, ReLU6, LeakyReLU, Sigmoid, Tanh, SiLU,
                                    Hardswish, Hardsigmoid); when the graph records, only those
                                    whose gradient follows from the output (the fused node keeps
                                    no pre-activation values)
- batch_norm_eval(conv(x))       -> conv with the BatchNorm folded into its weights and bias
- relu(batch_norm(x))            -> one BN+ReLU pass
- relu(batch_norm(x) + r)        -> one BN+add+ReLU pass (an eval-mode BN folded into a conv is
                                    unfolded again for this: conv, then BN+add+ReLU)

Each rule looks only at the pending producer of its input (cnncore.autograd.lazy) and returns
the fused Tensor, or None when the pattern is not there. The rewritten producer is *absorbed*:
should its own output be used after all, it is computed then, without side effects.
"""
from .lazy import AddNode, BatchNormNode, ConvNode, module_depth, unpend
from .tensor import Tensor


def _pending(t, kind):
    """t's producer if it is a pending, not yet absorbed node of `kind`."""
    node = t._node
    if t._value is None and type(node) is kind and not node.absorbed and not node.done:
        return node
    return None


def _absorb(node):
    node.absorbed = True
    unpend(node)


def activation(x, act):
    """The fused form of act(x) (an activations.Act), or None."""
    node = _pending(x, ConvNode)
    if node is not None and node.act is None and (not node.rec or act.grad_from_output):
        _absorb(node)
        return node.variant(act=act)[1]
    if act.name == "ReLU":
        return _relu_into_batch_norm(x)
    return None


def _relu_into_batch_norm(x):
    node = _pending(x, BatchNormNode)
    if node is not None and not node.relu and not node.residual:
        _absorb(node)
        return node.variant(relu=True)[1]
    node = _pending(x, AddNode)
    if node is not None:
        a, b = node.inputs
        for main, other in ((a, b), (b, a)):
            bn = _pending(main, BatchNormNode)
            if bn is not None and not bn.relu and not bn.residual:
                _absorb(node)
                _absorb(bn)
                return bn.variant(relu=True, residual=other)[1]
        for main, other in ((a, b), (b, a)):
            conv = _pending(main, ConvNode)
            if conv is not None and conv.fold is not None and conv.act is None:
                # conv, then the eval-mode BN with the add and ReLU fused, instead of the fold
                _absorb(node)
                _absorb(conv)
                plain = conv.plain
                conv_out = plain.variant()[1]
                _absorb(plain)
                bn_node, bn_out = BatchNormNode.make(conv.fold, conv_out, False, 0.0, True, other)
                return bn_out
    return None


def batch_norm_eval(bn, x):
    """The fold of an eval-mode BatchNorm into a pending convolution producing x, or None."""
    node = _pending(x, ConvNode)
    if node is None or node.act is not None or node.fold is not None or bn.running_mean is None:
        return None
    if node.conv.out_channels != bn.num_features:
        return None
    _absorb(node)
    fused, out = ConvNode.make(node.conv, node.inputs[0], node.geom, None, bn, node)
    return out


def try_lazy_add(a, b):
    """a + b left pending when one side is a pending batch norm (or a folded one) that a
    following ReLU may join, else None."""
    if module_depth() == 0 or not isinstance(a, Tensor) or not isinstance(b, Tensor):
        return None
    if a.shape != b.shape or len(a.shape) != 4:
        return None
    joinable = False
    for t in (a, b):
        bn = _pending(t, BatchNormNode)
        conv = _pending(t, ConvNode)
        if (bn is not None and not bn.relu and not bn.residual) or (
                conv is not None and conv.fold is not None and conv.act is None):
            joinable = True
    if not joinable:
        return None
    return AddNode.make(a, b)[1]
