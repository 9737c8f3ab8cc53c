"""Module.summary: each layer's output shape, parameter count and forward FLOPs, and totals.

FLOPs count a multiply-add as two (convolution: 2 * N * C_out * OH * OW * C_in/groups * KH * KW;
linear: 2 * N * in * out); BatchNorm 2 and ReLU 1 per output element, pooling one per window tap.
"""
import sys

import numpy as np

from . import _flow


def summarize(model, input_shape):
    """Rows (name, type, output shape, parameters, flops) from one eval-mode forward on zeros."""
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 3:
        shape = (1,) + shape
    names = {}
    for name, m in model.named_modules():
        names.setdefault(id(m), name or type(m).__name__)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    trace = []
    _flow._trace = trace
    try:
        model(np.zeros(shape, np.float32))
    finally:
        _flow._trace = None
        for m, mode in modes:  # each module's own mode (a frozen BatchNorm stays in eval)
            object.__setattr__(m, "training", mode)
    rows, counted = [], set()
    for m, in_shape, out_shape in trace:
        params = 0
        if id(m) not in counted:
            counted.add(id(m))
            params = sum(p.numel() for p in m._parameters.values() if p is not None)
        flops = m.flops(in_shape, out_shape) if hasattr(m, "flops") else 0
        rows.append((names.get(id(m), type(m).__name__), type(m).__name__, out_shape, params, flops))
    return rows


def print_summary(model, input_shape, file=None):
    file = sys.stdout if file is None else file
    rows = summarize(model, input_shape)
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    flops = sum(r[4] for r in rows)
    width = max([len(r[0]) + len(r[1]) + 3 for r in rows] + [20])
    line = "-" * (width + 48)
    out = [line, "%-*s %22s %12s %12s" % (width, "Layer (type)", "Output shape", "Param #", "FLOPs"), line]
    for name, kind, shape, params, f in rows:
        out.append("%-*s %22s %12s %12s" % (width, "%s (%s)" % (name, kind), list(shape),
                                              "{:,}".format(params), "{:,}".format(f)))
    out += [line, "Total params: {:,}".format(total), "Trainable params: {:,}".format(trainable),
            "Non-trainable params: {:,}".format(total - trainable),
            "Forward FLOPs (input %s): {:,}".format(flops) % (tuple(input_shape),), line]
    print("\n".join(out), file=file)
    return {"rows": rows, "total_params": total, "trainable_params": trainable, "flops": flops}
