"""Import-time rewrites of multi-node ONNX patterns into the one Graph op (and cnncore layer) they
spell: GroupNorm as PyTorch's exporter (and cnncore's, before opset 21) writes it."""
import numpy as np

from ..trace import Node


def _is_filled(params, name, value, size):
    a = params.get(name)
    return a is not None and a.size == size and bool(np.all(a == value))


def _per_channel(params, origin, node, c):
    """(name, (C,) array) of the node's (C, 1, ...) constant operand, named after the initializer
    it was unsqueezed from (else a new name: the operand may have other users), or (None, None)."""
    name = next((i for i in node.inputs if i in params), None) if node is not None else None
    a = params.get(name)
    if a is None or a.size != c or a.ndim < 1 or a.shape[0] != c:
        return None, None
    return origin.get(name, name + "/per_channel"), np.ascontiguousarray(a.reshape(c), np.float32)


def fuse_group_norm(nodes, params, origin):
    """Reshape(x, [0, G, -1]) -> InstanceNormalization(ones(G), zeros(G)) -> Reshape(back)
    [-> Mul(weight (C, 1, ...)) -> Add(bias (C, 1, ...))] becomes GroupNormalization(x, weight,
    bias) (ones and zeros without the Mul and Add); the weight and bias keep the names of the
    initializers they were unsqueezed from. Returns the new node list (params updated in place)."""
    users = {}
    for n in nodes:
        for i in n.inputs:
            users.setdefault(i, []).append(n)
    producer = {o: n for n in nodes for o in n.outputs}

    def only_user(value, op):
        us = users.get(value, [])
        return us[0] if len(us) == 1 and us[0].op == op else None

    drop, replace = set(), {}
    for norm in nodes:
        if norm.op != "InstanceNormalization" or len(norm.inputs) != 3:
            continue
        group = producer.get(norm.inputs[0])
        shape = group.attrs.get("shape", []) if group is not None and group.op == "Reshape" else []
        if len(shape) != 3 or shape[2] != -1 or only_user(group.outputs[0], "InstanceNormalization") is not norm:
            continue
        g = int(shape[1])
        if not (_is_filled(params, norm.inputs[1], 1, g) and _is_filled(params, norm.inputs[2], 0, g)):
            continue
        back = only_user(norm.outputs[0], "Reshape")
        c = back.attrs["shape"][1] if back is not None and len(back.attrs["shape"]) > 1 else 0
        if back is None or c <= 0 or c % g:
            continue
        chain = [group, norm, back]
        mul = only_user(back.outputs[0], "Mul")
        add = only_user(mul.outputs[0], "Add") if mul is not None else None
        (wkey, w), (bkey, b) = _per_channel(params, origin, mul, c), _per_channel(params, origin, add, c)
        if w is not None and b is not None:
            chain += [mul, add]
        else:  # no affine (or not one this pattern knows): the Mul and Add, if any, stay
            (wkey, w), (bkey, b) = (norm.name + ".weight", np.ones(c, np.float32)), \
                (norm.name + ".bias", np.zeros(c, np.float32))
        params[wkey], params[bkey] = w, b
        last = chain[-1]
        eps = float(norm.attrs.get("epsilon", 1e-5))
        drop.update(id(n) for n in chain)
        replace[id(last)] = Node("GroupNormalization", last.name, [group.inputs[0], wkey, bkey], list(last.outputs),
                                 {"num_groups": g, "epsilon": eps}, list(last.output_shapes), last.module)
    return [replace.get(id(n), n) for n in nodes if id(n) not in drop or id(n) in replace]
