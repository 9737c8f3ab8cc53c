"""Rewrites of the op list before lowering, each a small pass: identities dropped, eval batch
norm folded into the convolution before it, activations fused into their producer."""
import numpy as np

from .ops import ACTIVATIONS, Op, consumers

ACT_PRODUCERS = ("conv2d", "linear", "add", "mul", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d")


def _then(first, second):
    """The Python fallback of a fused op: first's, then second's (None if either has none)."""
    f, g = first.attrs.get("fn"), second.attrs.get("fn")
    return None if f is None or g is None else (lambda *xs: g(f(*xs)))


def _rename(ops, old, new, outputs):
    """Every read of value `old` reads `new` instead (also in the graph's outputs list)."""
    outputs[:] = [new if v == old else v for v in outputs]
    return [op._replace(inputs=[new if v == old else v for v in op.inputs]) for op in ops]


def drop_identities(ops, outputs):
    for op in [op for op in ops if op.kind == "identity"]:
        ops = _rename([o for o in ops if o is not op], op.output, op.inputs[0], outputs)
    return ops


def _sole_producer(ops, op, kinds, outputs):
    """The op that made op's first input, if it is of one of `kinds`, op is its only reader and its
    value is not a graph output; else None."""
    v = op.inputs[0]
    if v in outputs or len(consumers(ops, v)) != 1:
        return None
    producer = next((p for p in ops if p.output == v), None)
    return producer if producer is not None and producer.kind in kinds else None


def fold_batch_norm(ops, outputs):
    """conv -> batch_norm (eval) becomes one conv with w * gamma / sqrt(var + eps) and
    (b - mean) * gamma / sqrt(var + eps) + beta (in float64, rounded once)."""
    for bn in [op for op in ops if op.kind == "batch_norm"]:
        conv = _sole_producer(ops, bn, ("conv2d",), outputs)
        if conv is None or conv.attrs.get("act"):
            continue
        p, q = bn.params, conv.params
        c = q["weight"].shape[0]
        gamma = np.ones(c) if p.get("weight") is None else p["weight"].astype(np.float64)
        beta = np.zeros(c) if p.get("bias") is None else p["bias"].astype(np.float64)
        scale = gamma / np.sqrt(p["running_var"].astype(np.float64) + bn.attrs["eps"])
        bias = np.zeros(c) if q.get("bias") is None else q["bias"].astype(np.float64)
        folded = conv._replace(name=conv.name + "+" + bn.name, output=bn.output,
                               attrs=dict(conv.attrs, fn=_then(conv, bn)), params={
            "weight": (q["weight"] * scale.reshape(-1, 1, 1, 1)).astype(np.float32),
            "bias": ((bias - p["running_mean"]) * scale + beta).astype(np.float32)})
        ops = [folded if op is conv else op for op in ops if op is not bn]
    return ops


def fuse_activations(ops, outputs):
    """An activation whose input is the sole output of a conv, linear, add, mul or pooling runs as
    that op's epilogue."""
    for act in [op for op in ops if op.kind in ACTIVATIONS]:
        producer = _sole_producer(ops, act, ACT_PRODUCERS, outputs)
        if producer is None or producer.attrs.get("act"):
            continue
        fused = producer._replace(name=producer.name + "+" + act.name, output=act.output,
                                  attrs=dict(producer.attrs, act=act.kind, act_alpha=act.attrs.get("alpha", 0.0),
                                             fn=_then(producer, act)))
        ops = [fused if op is producer else op for op in ops if op is not act]
    return ops


def fuse(ops, outputs):
    """All passes, in order. outputs (a list) is updated where a graph output is renamed."""
    for rewrite in (drop_identities, fold_batch_norm, fuse_activations):
        ops = rewrite(ops, outputs)
    return ops
