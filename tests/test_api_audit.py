"""Generic audits over the whole public API (cnncore.functional, the nn layers, optim, data):

- bad input: a table of wrong calls, each raising ValueError/TypeError whose message names the
  argument (and, where it applies, the expected and received value), and raising it before any
  compiled kernel ran (every cnncore._kernels entry point is wrapped to record calls);
- every public functional name appears in that table (so a new function needs its bad-input rows);
- inputs are never modified, by any function or layer, forward and backward;
- empty batches give empty outputs and gradients (functions, layers, models);
- NaN and Inf propagate as IEEE arithmetic says;
- impossible allocations raise MemoryError and sizes that overflow 64 bits raise ValueError,
  cleanly (no crash, no hang, no huge temporary).
"""
import inspect

import numpy as np
import pytest

import cnncore
from cnncore import _kernels, data, models, nn, optim
from cnncore import functional as F
from cnncore.functional._layout import Blocked, to_blocked


def randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


X = randn((2, 3, 6, 6))
W = randn((4, 3, 3, 3), 1)


def xb():
    return to_blocked(X)


def obj(shape):
    a = np.empty(shape, dtype=object)
    a.fill(1.0)
    return a


def bn_stats(c=3):
    return np.zeros(c, np.float32), np.ones(c, np.float32)


def bn_fwd():
    rm, rv = bn_stats()
    return F.batch_norm(X, rm, rv, training=True, return_stats=True)


# ------------------------------------------------------------------------------ kernel spy

class KernelSpy:
    """Wraps every function of cnncore._kernels to count calls (monkeypatched per test)."""

    def __init__(self, monkeypatch):
        self.calls = []
        for name, fn in vars(_kernels).items():
            if name.startswith("_") or not callable(fn) or inspect.isclass(fn):
                continue
            if name in ("set_fill_outputs_with_nan",):
                continue
            monkeypatch.setattr(_kernels, name, self._wrap(name, fn))

    def _wrap(self, name, fn):
        def wrapper(*args, **kwargs):
            self.calls.append(name)
            return fn(*args, **kwargs)
        return wrapper


# --------------------------------------------------------------------- the bad-input table
# (id, call, exception type(s), substrings that must all appear in the message).
# The call is a lambda so that building the arguments (to_blocked, ...) is not counted.

def A(*args, **kwargs):
    return args, kwargs


def _cases():
    rm, rv = bn_stats()
    dy_conv = randn((2, 4, 4, 4), 2)
    y_bn, sm, si = bn_fwd()
    c = []
    add = c.append
    # ---- convolution
    add(("conv2d-ndim", F.conv2d, lambda: A(X[0], W), ValueError, ["input", "4-d", "(3, 6, 6)"]))
    add(("conv2d-weight-ndim", F.conv2d, lambda: A(X, W[0]), ValueError, ["weight", "4-d"]))
    add(("conv2d-channels", F.conv2d, lambda: A(X, randn((4, 2, 3, 3))), ValueError,
         ["weight", "(C_out, 3, KH, KW)", "(4, 2, 3, 3)"]))
    add(("conv2d-kernel-too-big", F.conv2d, lambda: A(X, randn((4, 3, 9, 9))), ValueError,
         ["weight", "larger than the padded input", "(9, 9)", "(6, 6)"]))
    add(("conv2d-stride0", F.conv2d, lambda: A(X, W, stride=0), ValueError, ["stride", ">= 1", "0"]))
    add(("conv2d-stride-neg", F.conv2d, lambda: A(X, W, stride=(1, -2)), ValueError, ["stride", "-2"]))
    add(("conv2d-stride-float", F.conv2d, lambda: A(X, W, stride=1.5), TypeError, ["stride", "1.5"]))
    add(("conv2d-padding-neg", F.conv2d, lambda: A(X, W, padding=-1), ValueError, ["padding", "-1"]))
    add(("conv2d-dilation0", F.conv2d, lambda: A(X, W, dilation=0), ValueError, ["dilation", "0"]))
    add(("conv2d-groups", F.conv2d, lambda: A(X, W, groups=2), ValueError, ["groups", "3", "2"]))
    add(("conv2d-groups0", F.conv2d, lambda: A(X, W, groups=0), ValueError, ["groups", "0"]))
    add(("conv2d-object", F.conv2d, lambda: A(obj(X.shape), W), TypeError, ["input", "object"]))
    add(("conv2d-str", F.conv2d, lambda: A("abc", W), TypeError, ["input"]))
    add(("conv2d-complex", F.conv2d, lambda: A(X.astype(np.complex64), W), TypeError,
         ["input", "complex"]))
    add(("conv2d-bias", F.conv2d, lambda: A(X, W, bias=np.zeros(5)), ValueError, ["bias", "(4,)", "(5,)"]))
    add(("conv2d-relu-stride0", F.conv2d_relu, lambda: A(X, W, stride=0), ValueError, ["stride"]))
    add(("conv2d-backward-dy", F.conv2d_backward, lambda: A(randn((2, 4, 3, 4)), X, W), ValueError,
         ["grad_output", "(2, 4, 4, 4)", "(2, 4, 3, 4)"]))
    add(("conv2d-backward-object", F.conv2d_backward, lambda: A(obj((2, 4, 4, 4)), X, W), TypeError,
         ["grad_output", "object"]))
    add(("conv2d-relu-backward-output", F.conv2d_relu_backward, lambda: A(
        dy_conv, randn((2, 4, 4, 3)), X, W), ValueError, ["output", "(2, 4, 4, 4)"]))
    add(("conv_geometry-stride", F.conv_geometry, lambda: A(X.shape, W.shape, stride=0), ValueError,
         ["stride"]))
    add(("conv2d_blocked-packed", F.conv2d_blocked, lambda: A(xb(), W), TypeError, ["packed"]))
    add(("conv2d_blocked-input", F.conv2d_blocked, lambda: A(X, F.PackedConv(W)), TypeError, ["input"]))
    add(("conv2d_blocked-channels", F.conv2d_blocked, lambda: A(xb(), F.PackedConv(randn((4, 5, 3, 3)))),
         ValueError, ["weight", "5"]))
    add(("conv2d_backward_blocked-grad", F.conv2d_backward_blocked, lambda: A(
        to_blocked(randn((2, 4, 3, 3))), xb(), F.PackedConv(W), F.conv_geometry(X.shape, W.shape)),
        ValueError, ["grad_output", "(2, 4, 4, 4)", "(2, 4, 3, 3)"]))
    add(("relu_mask_blocked-shape", F.relu_mask_blocked, lambda: A(xb(), to_blocked(randn((2, 3, 5, 6)))),
         ValueError, ["output"]))
    # ---- pooling
    add(("max_pool2d-ndim", F.max_pool2d, lambda: A(X[0], 2), ValueError, ["input", "4-d"]))
    add(("max_pool2d-k0", F.max_pool2d, lambda: A(X, 0), ValueError, ["kernel_size", "0"]))
    add(("max_pool2d-stride0", F.max_pool2d, lambda: A(X, 2, stride=0), ValueError, ["stride"]))
    add(("max_pool2d-pad-half", F.max_pool2d, lambda: A(X, 2, padding=2), ValueError,
         ["padding", "half", "(2, 2)"]))
    add(("max_pool2d-pad-neg", F.max_pool2d, lambda: A(X, 2, padding=-1), ValueError, ["padding"]))
    add(("max_pool2d-too-big", F.max_pool2d, lambda: A(X, 7), ValueError, ["input", "(6, 6)", "(7, 7)"]))
    add(("max_pool2d-object", F.max_pool2d, lambda: A(obj(X.shape), 2), TypeError, ["input", "object"]))
    add(("max_pool2d-ceil", F.max_pool2d, lambda: A(X, 2, ceil_mode="yes"), TypeError, ["ceil_mode"]))
    add(("max_pool2d_backward-idx", F.max_pool2d_backward, lambda: A(
        randn((2, 3, 3, 3)), np.full((2, 3, 3, 3), 36), (2, 3, 6, 6)), ValueError, ["indices", "36"]))
    add(("max_pool2d_backward-shape", F.max_pool2d_backward, lambda: A(
        randn((2, 3, 3, 3)), np.zeros((2, 3, 3, 3), int), (2, 4, 6, 6)), ValueError, ["grad_output"]))
    add(("max_pool2d_backward-idx-float", F.max_pool2d_backward, lambda: A(
        randn((2, 3, 3, 3)), np.zeros((2, 3, 3, 3)), (2, 3, 6, 6)), TypeError, ["indices", "float"]))
    add(("max_pool2d_blocked-input", F.max_pool2d_blocked, lambda: A(X, 2), TypeError, ["input", "Blocked"]))
    add(("max_pool2d_backward_blocked-argmax", F.max_pool2d_backward_blocked, lambda: A(
        to_blocked(randn((2, 3, 3, 3))), np.zeros((2, 1, 3, 3, 16)), (6, 6)), ValueError, ["argmax"]))
    add(("avg_pool2d-pad-half", F.avg_pool2d, lambda: A(X, 3, padding=2), ValueError, ["padding", "half"]))
    add(("avg_pool2d-div0", F.avg_pool2d, lambda: A(X, 2, divisor_override=0), ValueError,
         ["divisor_override", "0"]))
    add(("avg_pool2d-cip", F.avg_pool2d, lambda: A(X, 2, count_include_pad=None), TypeError,
         ["count_include_pad"]))
    add(("avg_pool2d_backward-dy", F.avg_pool2d_backward, lambda: A(randn((2, 3, 2, 3)), (2, 3, 6, 6), 2),
         ValueError, ["grad_output", "(2, 3, 3, 3)", "(2, 3, 2, 3)"]))
    add(("avg_pool2d_backward-shape", F.avg_pool2d_backward, lambda: A(randn((2, 3, 3, 3)), (2, 3, 6), 2),
         ValueError, ["input_shape"]))
    add(("avg_pool2d_blocked-input", F.avg_pool2d_blocked, lambda: A(X, 2), TypeError, ["input"]))
    add(("avg_pool2d_backward_blocked-hw", F.avg_pool2d_backward_blocked, lambda: A(
        to_blocked(randn((2, 3, 3, 3))), (0, 6), 2), ValueError, ["input_hw"]))
    add(("adaptive_avg_pool2d-size0", F.adaptive_avg_pool2d, lambda: A(X, 0), ValueError, ["output_size", "0"]))
    add(("adaptive_avg_pool2d-size-str", F.adaptive_avg_pool2d, lambda: A(X, "4"), TypeError, ["output_size"]))
    add(("adaptive_avg_pool2d_backward-dy", F.adaptive_avg_pool2d_backward, lambda: A(
        randn((2, 4, 2, 2)), (2, 3, 6, 6)), ValueError, ["grad_output", "(2, 4, 2, 2)"]))
    add(("adaptive_max_pool2d-size0", F.adaptive_max_pool2d, lambda: A(X, 0), ValueError, ["output_size", "0"]))
    add(("adaptive_max_pool2d-size-str", F.adaptive_max_pool2d, lambda: A(X, "4"), TypeError, ["output_size"]))
    add(("adaptive_max_pool2d-indices", F.adaptive_max_pool2d, lambda: A(X, 2, return_indices=1), TypeError,
         ["return_indices"]))
    add(("adaptive_max_pool2d-ndim", F.adaptive_max_pool2d, lambda: A(X[0], 2), ValueError, ["input", "4"]))
    add(("adaptive_max_pool2d_backward-idx", F.adaptive_max_pool2d_backward, lambda: A(
        randn((2, 3, 2, 2)), np.full((2, 3, 2, 2), 99), X.shape), ValueError, ["indices", "99"]))
    add(("adaptive_max_pool2d_blocked-input", F.adaptive_max_pool2d_blocked, lambda: A(X, 2), TypeError,
         ["input", "Blocked"]))
    add(("adaptive_max_pool2d_backward_blocked-argmax", F.adaptive_max_pool2d_backward_blocked, lambda: A(
        to_blocked(randn((2, 3, 2, 2))), np.zeros(3, np.int32), (6, 6)), ValueError, ["argmax"]))
    add(("adaptive_avg_pool2d_blocked-input", F.adaptive_avg_pool2d_blocked, lambda: A(X, 2), TypeError,
         ["input"]))
    add(("adaptive_avg_pool2d_backward_blocked-hw", F.adaptive_avg_pool2d_backward_blocked, lambda: A(
        to_blocked(randn((2, 3, 2, 2))), (6,)), TypeError, ["input_hw"]))
    add(("global_avg_pool2d-ndim", F.global_avg_pool2d, lambda: A(randn((2, 3))), ValueError, ["input", "4-d"]))
    add(("global_avg_pool2d-c0", F.global_avg_pool2d, lambda: A(np.zeros((2, 0, 3, 3))), ValueError,
         ["input", "(2, 0, 3, 3)"]))
    add(("global_avg_pool2d_backward-dy", F.global_avg_pool2d_backward, lambda: A(randn((2, 4)), (2, 3, 6, 6)),
         ValueError, ["grad_output", "(2, 3)", "(2, 4)"]))
    add(("global_avg_pool2d_blocked-input", F.global_avg_pool2d_blocked, lambda: A(X), TypeError, ["input"]))
    add(("global_avg_pool2d_backward_blocked-shape", F.global_avg_pool2d_backward_blocked, lambda: A(
        randn((2, 3)), (2, 3, 0, 6)), ValueError, ["input_shape"]))
    add(("pool_output_size-type", F.pool_output_size, lambda: A("6", 2, 2, 0), TypeError, ["size"]))
    # ---- batch norm
    add(("batch_norm-ndim", F.batch_norm, lambda: A(X[0, 0, 0], rm, rv), ValueError, ["input", "(6,)"]))
    add(("batch_norm-stats", F.batch_norm, lambda: A(X, np.zeros(4), rv), ValueError,
         ["running_mean", "(3,)", "(4,)"]))
    add(("batch_norm-weight", F.batch_norm, lambda: A(X, rm, rv, weight=np.ones(2)), ValueError,
         ["weight", "(3,)", "(2,)"]))
    add(("batch_norm-momentum", F.batch_norm, lambda: A(X, rm, rv, momentum=2.0), ValueError, ["momentum", "2.0"]))
    add(("batch_norm-eps", F.batch_norm, lambda: A(X, rm, rv, eps=-1), ValueError, ["eps", "-1"]))
    add(("batch_norm-eps-str", F.batch_norm, lambda: A(X, rm, rv, eps="a"), TypeError, ["eps"]))
    add(("batch_norm-training", F.batch_norm, lambda: A(X, rm, rv, training=1), TypeError, ["training"]))
    add(("batch_norm-one-value", F.batch_norm, lambda: A(X[:1, :, :1, :1], rm, rv, training=True),
         ValueError, ["input", "more than 1 value"]))
    add(("batch_norm-train-stat-dtype", F.batch_norm, lambda: A(X, np.zeros(3), rv.copy(), training=True),
         TypeError, ["running_mean", "float32"]))
    add(("batch_norm-object", F.batch_norm, lambda: A(obj(X.shape), rm, rv), TypeError, ["input", "object"]))
    add(("batch_norm_relu-stats", F.batch_norm_relu, lambda: A(X, None, rv), ValueError, ["running_mean"]))
    add(("batch_norm_add_relu-residual", F.batch_norm_add_relu, lambda: A(X, X[:1], rm, rv), ValueError,
         ["residual", "(1, 3, 6, 6)"]))
    add(("batch_norm_backward-dy", F.batch_norm_backward, lambda: A(X[:1], X, None, sm, si), ValueError,
         ["grad_output", "(2, 3, 6, 6)", "(1, 3, 6, 6)"]))
    add(("batch_norm_backward-stats", F.batch_norm_backward, lambda: A(X, X, None, sm[:2], si), ValueError,
         ["save_mean", "(3,)", "(2,)"]))
    add(("batch_norm_relu_backward-none", F.batch_norm_relu_backward, lambda: A(X, None, X, None, sm, si),
         TypeError, ["output"]))
    add(("batch_norm_add_relu_backward-output", F.batch_norm_add_relu_backward, lambda: A(
        X, X[:, :2], X, None, sm, si), ValueError, ["output"]))
    add(("batch_norm_blocked-input", F.batch_norm_blocked, lambda: A(X, rm, rv), TypeError, ["input", "Blocked"]))
    add(("batch_norm_relu_blocked-momentum", F.batch_norm_relu_blocked, lambda: A(xb(), rm, rv, momentum=-1),
         ValueError, ["momentum"]))
    add(("batch_norm_add_relu_blocked-residual", F.batch_norm_add_relu_blocked, lambda: A(
        xb(), to_blocked(X[:1]), rm, rv), ValueError, ["residual"]))
    add(("batch_norm_backward_blocked-dy", F.batch_norm_backward_blocked, lambda: A(
        to_blocked(X[:1]), xb(), None, sm, si), ValueError, ["grad_output"]))
    add(("batch_norm_relu_backward_blocked-output", F.batch_norm_relu_backward_blocked, lambda: A(
        xb(), X, xb(), None, sm, si), TypeError, ["output"]))
    add(("batch_norm_add_relu_backward_blocked-save", F.batch_norm_add_relu_backward_blocked, lambda: A(
        xb(), xb(), xb(), None, sm, si[:1]), ValueError, ["save_invstd"]))
    # ---- elementwise, dropout
    add(("relu-object", F.relu, lambda: A(obj((2, 2))), TypeError, ["input", "object"]))
    add(("relu-str", F.relu, lambda: A(["a", "b"]), TypeError, ["input"]))
    add(("relu_backward-shape", F.relu_backward, lambda: A(X, X[:1]), ValueError, ["output", "(1, 3, 6, 6)"]))
    add(("relu6-object", F.relu6, lambda: A(obj((2,))), TypeError, ["input"]))
    add(("relu6_backward-shape", F.relu6_backward, lambda: A(X, X[0]), ValueError, ["output"]))
    for fn in (F.sigmoid, F.tanh, F.silu, F.hardswish, F.hardsigmoid, F.leaky_relu, F.gelu, F.elu, F.mish):
        add(("%s-object" % fn.__name__, fn, lambda: A(obj((2, 2))), TypeError, ["input", "object"]))
    add(("leaky_relu-slope", F.leaky_relu, lambda: A(X, "a"), TypeError, ["negative_slope"]))
    add(("elu-alpha", F.elu, lambda: A(X, "a"), TypeError, ["alpha"]))
    # ---- group / layer / instance norm
    add(("group_norm-groups", F.group_norm, lambda: A(X, 2), ValueError, ["num_groups", "3", "2"]))
    add(("group_norm-weight", F.group_norm, lambda: A(X, 3, np.ones(4)), ValueError, ["weight", "(3,)", "(4,)"]))
    add(("group_norm-object", F.group_norm, lambda: A(obj(X.shape), 3), TypeError, ["input", "object"]))
    add(("layer_norm-shape", F.layer_norm, lambda: A(X, (5, 6)), ValueError, ["normalized_shape", "(5, 6)"]))
    add(("layer_norm-bias", F.layer_norm, lambda: A(X, (6,), None, np.ones(5)), ValueError, ["bias", "(6,)"]))
    add(("instance_norm-ndim", F.instance_norm, lambda: A(X[0, 0, 0]), ValueError, ["input", "(6,)"]))
    add(("instance_norm-running", F.instance_norm, lambda: A(X, np.zeros(3)), TypeError, ["running_mean", "float32"]))
    add(("gelu-approximate", F.gelu, lambda: A(X, "erf"), ValueError, ["approximate", "'erf'"]))
    add(("softmax-dim", F.softmax, lambda: A(X, 4), ValueError, ["dim", "4"]))
    add(("log_softmax-dim", F.log_softmax, lambda: A(X, -5), ValueError, ["dim"]))
    add(("flatten-start_dim", F.flatten, lambda: A(X, 7), ValueError, ["start_dim", "7"]))
    add(("add-shape", F.add, lambda: A(X, X[0]), ValueError, ["b", "(2, 3, 6, 6)", "(3, 6, 6)"]))
    add(("add-object", F.add, lambda: A(obj((2,)), obj((2,))), TypeError, ["a", "object"]))
    add(("add_backward-object", F.add_backward, lambda: A(obj((2,))), TypeError, ["grad_output"]))
    add(("relu_blocked-input", F.relu_blocked, lambda: A(X), TypeError, ["input", "Blocked"]))
    add(("relu_backward_blocked-shape", F.relu_backward_blocked, lambda: A(xb(), to_blocked(X[:1])),
         ValueError, ["output"]))
    add(("relu6_blocked-input", F.relu6_blocked, lambda: A(X), TypeError, ["input"]))
    add(("relu6_backward_blocked-type", F.relu6_backward_blocked, lambda: A(X, xb()), TypeError, ["grad_output"]))
    add(("add_blocked-shape", F.add_blocked, lambda: A(xb(), to_blocked(X[:1])), ValueError, ["b"]))
    add(("add_backward_blocked-type", F.add_backward_blocked, lambda: A(X), TypeError, ["grad_output"]))
    add(("dropout-p", F.dropout, lambda: A(X, 1.5), ValueError, ["p", "1.5"]))
    add(("dropout-p-nan", F.dropout, lambda: A(X, float("nan")), ValueError, ["p", "nan"]))
    add(("dropout-seed", F.dropout, lambda: A(X, 0.5, seed=-1), ValueError, ["seed", "-1"]))
    add(("dropout-seed-float", F.dropout, lambda: A(X, 0.5, seed=1.0), TypeError, ["seed"]))
    add(("dropout-object", F.dropout, lambda: A(obj((3,)), 0.5), TypeError, ["input"]))
    add(("dropout_backward-p", F.dropout_backward, lambda: A(X, -0.1), ValueError, ["p"]))
    add(("dropout_blocked-input", F.dropout_blocked, lambda: A(X, 0.5), TypeError, ["input"]))
    add(("dropout_backward_blocked-seed", F.dropout_backward_blocked, lambda: A(xb(), 0.5, seed="1"),
         TypeError, ["seed"]))
    # ---- linear, loss, layout
    add(("linear-features", F.linear, lambda: A(randn((2, 5)), randn((3, 4))), ValueError,
         ["input", "4", "(2, 5)"]))
    add(("linear-ndim", F.linear, lambda: A(randn((5,)), randn((3, 5))), ValueError, ["input", "2-d"]))
    add(("linear-object", F.linear, lambda: A(obj((2, 5)), randn((3, 5))), TypeError, ["input", "object"]))
    add(("linear-bias", F.linear, lambda: A(randn((2, 5)), randn((3, 5)), np.zeros(2)), ValueError, ["bias"]))
    add(("linear_backward-dy", F.linear_backward, lambda: A(randn((2, 4)), randn((2, 5)), randn((3, 5))),
         ValueError, ["grad_output", "(2, 3)", "(2, 4)"]))
    add(("linear_packed-input", F.linear_packed, lambda: A(randn((2, 4)), F.PackedLinear(randn((3, 5)))),
         ValueError, ["input", "5", "(2, 4)"]))
    add(("linear_packed-packed", F.linear_packed, lambda: A(randn((2, 5)), randn((3, 5))), TypeError, ["packed"]))
    add(("linear_backward_packed-dy", F.linear_backward_packed, lambda: A(
        randn((2, 4)), randn((2, 5)), F.PackedLinear(randn((3, 5)))), ValueError, ["grad_output", "(2, 3)"]))
    add(("cross_entropy-labels-range", F.cross_entropy, lambda: A(randn((2, 3)), [0, 3]), ValueError,
         ["target", "[0, 3)", "3"]))
    add(("cross_entropy-labels-neg", F.cross_entropy, lambda: A(randn((2, 3)), [0, -1]), ValueError,
         ["target", "-1"]))
    add(("cross_entropy-labels-len", F.cross_entropy, lambda: A(randn((2, 3)), [0, 1, 2]), ValueError,
         ["target", "(2,)", "(3,)"]))
    add(("cross_entropy-labels-float", F.cross_entropy, lambda: A(randn((2, 3)), [0.5, 1]), TypeError,
         ["target", "float"]))
    add(("cross_entropy-labels-object", F.cross_entropy, lambda: A(randn((2, 3)), obj((2,))), TypeError,
         ["target", "object"]))
    add(("cross_entropy-spatial-target", F.cross_entropy, lambda: A(randn((2, 3, 1)), [0, 1]), ValueError,
         ["target", "(2, 1)", "(2,)"]))
    add(("cross_entropy-0d", F.cross_entropy, lambda: A(np.float32(1.0), [0]), ValueError, ["input", "0-d"]))
    add(("cross_entropy-weight", F.cross_entropy, lambda: A(randn((2, 3)), [0, 1], weight=np.ones(4)), ValueError,
         ["weight", "(3,)", "(4,)"]))
    add(("cross_entropy-reduction", F.cross_entropy, lambda: A(randn((2, 3)), [0, 1], reduction="avg"), ValueError,
         ["reduction", "'avg'"]))
    add(("cross_entropy-smoothing", F.cross_entropy, lambda: A(randn((2, 3)), [0, 1], label_smoothing=1.5),
         ValueError, ["label_smoothing", "1.5"]))
    add(("cross_entropy-ignore", F.cross_entropy, lambda: A(randn((2, 3)), [0, 1], ignore_index=0.5),
         TypeError, ["ignore_index", "0.5"]))
    add(("cross_entropy-probs-shape", F.cross_entropy, lambda: A(randn((2, 3)), randn((2, 4))), TypeError,
         ["target", "(2,)", "(2, 3)", "(2, 4)"]))
    add(("nll_loss-range", F.nll_loss, lambda: A(randn((2, 3)), [0, 7]), ValueError, ["target", "[0, 3)", "7"]))
    add(("nll_loss-reduction", F.nll_loss, lambda: A(randn((2, 3)), [0, 1], reduction=None), ValueError,
         ["reduction", "None"]))
    add(("nll_loss-weight", F.nll_loss, lambda: A(randn((2, 3)), [0, 1], weight=obj((3,))), TypeError,
         ["weight", "object"]))
    for fname in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                  "binary_cross_entropy_with_logits", "kl_div"):
        add(("%s-shape" % fname, getattr(F, fname), lambda: A(randn((2, 3)) * 0.1 + 0.5, randn((3, 2))), ValueError,
             ["target", "(2, 3)", "(3, 2)"]))
        add(("%s-object" % fname, getattr(F, fname), lambda: A(obj((2, 3)), randn((2, 3))), TypeError,
             ["object"]))
        add(("%s-reduction" % fname, getattr(F, fname), lambda: A(randn((2, 3)), randn((2, 3)), reduction="max"),
             ValueError, ["reduction", "'max'"]))
    add(("mse_loss-legacy", F.mse_loss, lambda: A(randn((2, 3)), randn((2, 3)), size_average="yes"), TypeError,
         ["size_average", "'yes'"]))
    add(("smooth_l1_loss-beta", F.smooth_l1_loss, lambda: A(randn((2, 3)), randn((2, 3)), beta=-1.0), ValueError,
         ["beta", "-1.0"]))
    add(("huber_loss-delta", F.huber_loss, lambda: A(randn((2, 3)), randn((2, 3)), delta=0.0), ValueError,
         ["delta", "> 0"]))
    add(("binary_cross_entropy-range", F.binary_cross_entropy, lambda: A(np.array([0.5, 1.5]), np.ones(2)),
         ValueError, ["input", "[0, 1]", "1.5"]))
    add(("binary_cross_entropy_with_logits-pos_weight", F.binary_cross_entropy_with_logits,
         lambda: A(randn((2, 3)), randn((2, 3)), pos_weight=np.ones(4)), ValueError, ["pos_weight", "(4,)", "(2, 3)"]))
    add(("kl_div-batchmean", F.kl_div, lambda: A(randn((2, 3)), randn((2, 3)), log_target=1), TypeError,
         ["log_target", "1"]))
    add(("cross_entropy_backward-range", F.cross_entropy_backward, lambda: A(randn((2, 3)), [5, 1]),
         ValueError, ["target"]))
    add(("softmax_cross_entropy-k0", F.softmax_cross_entropy, lambda: A(np.zeros((2, 0)), [0, 0]),
         ValueError, ["input", "K >= 1"]))
    add(("to_blocked-ndim", F.to_blocked, lambda: A(X[0]), ValueError, ["input", "4-d"]))
    add(("to_blocked-object", F.to_blocked, lambda: A(obj(X.shape)), TypeError, ["input", "object"]))
    add(("from_blocked-type", F.from_blocked, lambda: A(X), TypeError, ["Blocked"]))
    add(("from_blocked-data", F.from_blocked, lambda: A(Blocked(X, 3)), ValueError, ["Blocked"]))
    # ---- resampling and padding
    WT = randn((3, 2, 3, 3), 3)
    add(("conv_transpose2d-output_padding", F.conv_transpose2d, lambda: A(X, WT, stride=2, output_padding=2),
         ValueError, ["output_padding", "stride", "dilation"]))
    add(("conv_transpose2d-weight", F.conv_transpose2d, lambda: A(X, randn((4, 2, 3, 3))), ValueError,
         ["weight", "(3, C_out/groups, KH, KW)", "(4, 2, 3, 3)"]))
    add(("conv_transpose2d-object", F.conv_transpose2d, lambda: A(obj(X.shape), WT), TypeError, ["input", "object"]))
    add(("conv_transpose2d-bias", F.conv_transpose2d, lambda: A(X, WT, np.zeros(3)), ValueError,
         ["bias", "(2,)", "(3,)"]))
    add(("conv_transpose2d_backward-dy", F.conv_transpose2d_backward, lambda: A(randn((2, 2, 7, 8)), X, WT),
         ValueError, ["grad_output", "(2, 2, 8, 8)", "(2, 2, 7, 8)"]))
    add(("interpolate-both", F.interpolate, lambda: A(X, 4, 2), ValueError, ["size", "scale_factor"]))
    add(("interpolate-mode", F.interpolate, lambda: A(X, 4, mode="area"), ValueError, ["mode", "'area'"]))
    add(("interpolate-object", F.interpolate, lambda: A(obj(X.shape), 4), TypeError, ["input", "object"]))
    add(("interpolate_backward-shape", F.interpolate_backward, lambda: A(randn((2, 3, 5, 5)), (2, 3, 6, 6), 2),
         ValueError, ["grad_output", "(2, 3, 12, 12)", "(2, 3, 5, 5)"]))
    add(("pixel_shuffle-channels", F.pixel_shuffle, lambda: A(X, 2), ValueError, ["upscale_factor**2", "(2, 3, 6, 6)"]))
    add(("pixel_unshuffle-size", F.pixel_unshuffle, lambda: A(X, 4), ValueError, ["downscale_factor", "(2, 3, 6, 6)"]))
    add(("pad-length", F.pad, lambda: A(X, (1, 2, 3)), ValueError, ["pad", "(1, 2, 3)"]))
    add(("pad-reflect-size", F.pad, lambda: A(X, (6, 0, 0, 0), "reflect"), ValueError, ["reflect", "(6, 6)"]))
    add(("pad_backward-shape", F.pad_backward, lambda: A(randn((2, 3, 6, 6)), X.shape, (1, 1, 1, 1)), ValueError,
         ["grad_output", "(2, 3, 8, 8)", "(2, 3, 6, 6)"]))
    return c


CASES = _cases()


@pytest.mark.parametrize("case_id,fn,make_args,exc,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_naming_argument_before_any_kernel(case_id, fn, make_args, exc, words,
                                                            monkeypatch):
    args, kwargs = make_args()  # built before the spy: to_blocked of a test input is not counted
    spy = KernelSpy(monkeypatch)
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    for w in words:
        assert w in msg, "%s: %r does not mention %r" % (case_id, msg, w)
    assert spy.calls == [], "%s: kernels ran before the argument was rejected: %s" % (case_id, spy.calls)


def test_every_public_function_has_bad_input_rows():
    public = {n for n in dir(F) if not n.startswith("_") and callable(getattr(F, n))
              and not inspect.isclass(getattr(F, n))}
    covered = {c[1].__name__ for c in CASES}
    assert public - covered == set(), "functions without bad-input rows: %s" % sorted(public - covered)


# ------------------------------------------------------- layers, optim, data, config: table
# (id, callable taking nothing, exception type(s), substrings). Objects the call needs are built
# in a setup callable so the kernel spy sees only the call under test.

def _ran(layer, x):
    layer(x)
    return layer


def _ran_loss():
    crit = nn.CrossEntropyLoss()
    crit(randn((2, 3)), [0, 1])
    return crit


def _opt_with_grad(grad):
    lin = nn.Linear(3, 2)
    opt = optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    lin.weight.grad = grad
    return opt


def _layer_cases():
    L = []
    add = L.append
    x4 = randn((2, 3, 6, 6))
    x8 = randn((2, 3, 8, 8))
    # constructors: every hyper-parameter
    add(("Conv2d-in0", lambda: (nn.Conv2d, (0, 4, 3), {}), ValueError, ["in_channels", "0"]))
    add(("Conv2d-k0", lambda: (nn.Conv2d, (3, 4, 0), {}), ValueError, ["kernel_size", "0"]))
    add(("Conv2d-stride0", lambda: (nn.Conv2d, (3, 4, 3), {"stride": 0}), ValueError, ["stride"]))
    add(("Conv2d-pad-neg", lambda: (nn.Conv2d, (3, 4, 3), {"padding": -1}), ValueError, ["padding"]))
    add(("Conv2d-groups", lambda: (nn.Conv2d, (3, 4, 3), {"groups": 2}), ValueError, ["groups", "2"]))
    add(("Conv2d-mode", lambda: (nn.Conv2d, (3, 4, 3), {"padding_mode": "mirror"}), ValueError,
         ["padding_mode", "mirror"]))
    add(("ConvTranspose2d-output_padding", lambda: (nn.ConvTranspose2d, (3, 4, 3), {"stride": 2, "output_padding": 2}),
         ValueError, ["output_padding", "(2, 2)"]))
    add(("ConvTranspose2d-mode", lambda: (nn.ConvTranspose2d, (3, 4, 3), {"padding_mode": "reflect"}), ValueError,
         ["padding_mode", "'zeros'"]))
    add(("ConvTranspose2d.forward-channels", lambda: (nn.ConvTranspose2d(4, 4, 3), (x4,), {}), ValueError,
         ["ConvTranspose2d input", "4 channels"]))
    add(("ConvTranspose2d.forward-output_size", lambda: (nn.ConvTranspose2d(3, 4, 3, stride=2), (x4,),
                                                         {"output_size": (20, 20)}), ValueError, ["output_size", "(20, 20)"]))
    add(("Upsample-both", lambda: (nn.Upsample, (4, 2), {}), ValueError, ["size", "scale_factor"]))
    add(("Upsample.forward-ndim", lambda: (nn.Upsample(scale_factor=2), (x4[0],), {}), ValueError, ["4-d"]))
    add(("UpsamplingNearest2d-scale", lambda: (nn.UpsamplingNearest2d, (), {"scale_factor": 0}), ValueError,
         ["scale_factor"]))
    add(("UpsamplingBilinear2d-size", lambda: (nn.UpsamplingBilinear2d, ((0, 2),), {}), ValueError, ["size"]))
    add(("PixelShuffle.forward-channels", lambda: (nn.PixelShuffle(2), (x4,), {}), ValueError,
         ["upscale_factor**2", "(2, 3, 6, 6)"]))
    add(("PixelUnshuffle-0", lambda: (nn.PixelUnshuffle, (0,), {}), ValueError, ["downscale_factor", "0"]))
    add(("ZeroPad2d-type", lambda: (nn.ZeroPad2d, ("1",), {}), TypeError, ["padding", "'1'"]))
    add(("ConstantPad2d-value", lambda: (nn.ConstantPad2d, (1, "a"), {}), TypeError, ["value", "'a'"]))
    add(("ReflectionPad2d.forward-size", lambda: (nn.ReflectionPad2d(6), (x4,), {}), ValueError, ["reflect", "(6, 6)"]))
    add(("ReplicationPad2d-neg", lambda: (nn.ReplicationPad2d, (-1,), {}), ValueError, ["pad", ">= 0"]))
    add(("CircularPad2d.forward-size", lambda: (nn.CircularPad2d(7), (x4,), {}), ValueError, ["circular", "(6, 6)"]))
    add(("Conv2d-float", lambda: (nn.Conv2d, (3.0, 4, 3), {}), TypeError, ["in_channels"]))
    add(("Linear-0", lambda: (nn.Linear, (0, 3), {}), ValueError, ["in_features", "0"]))
    add(("Linear-str", lambda: (nn.Linear, (3, "4"), {}), TypeError, ["out_features"]))
    add(("BatchNorm2d-0", lambda: (nn.BatchNorm2d, (0,), {}), ValueError, ["num_features"]))
    add(("BatchNorm2d-eps", lambda: (nn.BatchNorm2d, (3,), {"eps": 0.0}), ValueError, ["eps"]))
    add(("BatchNorm2d-momentum", lambda: (nn.BatchNorm2d, (3,), {"momentum": 1.5}), ValueError, ["momentum"]))
    add(("MaxPool2d-k0", lambda: (nn.MaxPool2d, (0,), {}), ValueError, ["kernel_size", "0"]))
    add(("MaxPool2d-pad", lambda: (nn.MaxPool2d, (2,), {"padding": 2}), ValueError, ["padding", "half"]))
    add(("MaxPool2d-stride", lambda: (nn.MaxPool2d, (2,), {"stride": -1}), ValueError, ["stride"]))
    add(("AvgPool2d-pad", lambda: (nn.AvgPool2d, (3,), {"padding": 2}), ValueError, ["padding"]))
    add(("AvgPool2d-div", lambda: (nn.AvgPool2d, (3,), {"divisor_override": 0}), ValueError,
         ["divisor_override"]))
    add(("AdaptiveAvgPool2d-0", lambda: (nn.AdaptiveAvgPool2d, (0,), {}), ValueError, ["output_size"]))
    add(("AdaptiveMaxPool2d-0", lambda: (nn.AdaptiveMaxPool2d, (0,), {}), ValueError, ["output_size"]))
    add(("AdaptiveMaxPool2d-indices", lambda: (nn.AdaptiveMaxPool2d, (2,), {"return_indices": True}), ValueError,
         ["return_indices"]))
    add(("AdaptiveMaxPool2d.forward-ndim", lambda: (nn.AdaptiveMaxPool2d(2), (x4[0],), {}), ValueError, ["4-d"]))
    add(("Dropout-p", lambda: (nn.Dropout, (1.5,), {}), ValueError, ["p", "1.5"]))
    add(("Flatten-dim", lambda: (nn.Flatten, ("a",), {}), TypeError, ["start_dim"]))
    add(("Sequential-item", lambda: (nn.Sequential, (nn.ReLU(), 3), {}), TypeError, ["argument 1", "int"]))
    add(("Parameter-object", lambda: (nn.Parameter, (obj((2,)),), {}), TypeError, ["data", "object"]))
    add(("InvertedResidual-stride", lambda: (nn.InvertedResidual, (4, 4, 3, 1), {}), ValueError, ["stride", "3"]))
    # forward: wrong ndim, channels, features, dtype
    add(("Conv2d.forward-ndim", lambda: (nn.Conv2d(3, 4, 3), (x4[0],), {}), ValueError,
         ["Conv2d input", "4-d", "(3, 6, 6)"]))
    add(("Conv2d.forward-channels", lambda: (nn.Conv2d(4, 4, 3), (x4,), {}), ValueError,
         ["Conv2d input", "4 channels", "(2, 3, 6, 6)"]))
    add(("Conv2d.forward-object", lambda: (nn.Conv2d(3, 4, 3), (obj(x4.shape),), {}), TypeError,
         ["Conv2d input", "object"]))
    add(("Conv2d.forward-kernel", lambda: (nn.Conv2d(3, 4, 7), (x4,), {}), ValueError,
         ["larger than the padded input"]))
    add(("BatchNorm2d.forward-channels", lambda: (nn.BatchNorm2d(4), (x4,), {}), ValueError,
         ["BatchNorm2d input", "4 channels"]))
    add(("BatchNorm2d.forward-one", lambda: (nn.BatchNorm2d(3), (x4[:1, :, :1, :1],), {}), ValueError,
         ["more than 1 value"]))
    add(("SyncBatchNorm-0", lambda: (nn.SyncBatchNorm, (0,), {}), ValueError, ["num_features"]))
    add(("SyncBatchNorm-group", lambda: (nn.SyncBatchNorm, (3,), {"process_group": "world"}), ValueError,
         ["process_group", "None"]))
    add(("SyncBatchNorm.forward-channels", lambda: (nn.SyncBatchNorm(4), (x4,), {}), ValueError,
         ["SyncBatchNorm input", "4 channels"]))
    add(("MaxPool2d.forward-small", lambda: (nn.MaxPool2d(7), (x4,), {}), ValueError, ["input", "(6, 6)"]))
    add(("AvgPool2d.forward-ndim", lambda: (nn.AvgPool2d(2), (x4[0],), {}), ValueError, ["4-d"]))
    add(("Linear.forward-features", lambda: (nn.Linear(5, 2), (randn((2, 4)),), {}), ValueError,
         ["Linear input", "5 features", "(2, 4)"]))
    add(("Linear.forward-object", lambda: (nn.Linear(2, 2), (obj((2, 2)),), {}), TypeError, ["Linear input"]))
    add(("ReLU.forward-object", lambda: (nn.ReLU(), (obj((2, 2)),), {}), TypeError, ["input", "object"]))
    add(("ReLU.forward-list", lambda: (nn.ReLU(), (["a"],), {}), TypeError, ["input"]))
    for name in ("Sigmoid", "Tanh", "SiLU", "Hardswish", "Hardsigmoid"):
        add(("%s.forward-object" % name, lambda name=name: (getattr(nn, name)(), (obj((2, 2)),), {}),
             TypeError, ["input", "object"]))
    for name in ("GELU", "LeakyReLU", "ELU", "Mish", "Softmax", "LogSoftmax"):
        add(("%s.forward-object" % name, lambda name=name: (getattr(nn, name)(), (obj((2, 2)),), {}),
             TypeError, ["input", "object"]))
    add(("GELU-approximate", lambda: (nn.GELU, ("erf",), {}), ValueError, ["approximate", "'erf'"]))
    add(("LeakyReLU-slope", lambda: (nn.LeakyReLU, ("a",), {}), TypeError, ["negative_slope"]))
    add(("ELU-alpha", lambda: (nn.ELU, (None,), {}), TypeError, ["alpha"]))
    add(("Softmax-dim", lambda: (nn.Softmax, (1.5,), {}), TypeError, ["dim", "1.5"]))
    add(("GroupNorm-groups", lambda: (nn.GroupNorm, (4, 6), {}), ValueError, ["num_channels", "4", "6"]))
    add(("GroupNorm-eps", lambda: (nn.GroupNorm, (2, 6), {"eps": -1.0}), ValueError, ["eps"]))
    add(("GroupNorm.forward-channels", lambda: (nn.GroupNorm(2, 4), (x4,), {}), ValueError,
         ["GroupNorm input", "4 channels", "(2, 3, 6, 6)"]))
    add(("LayerNorm-shape", lambda: (nn.LayerNorm, ((3, 0),), {}), ValueError, ["normalized_shape", "0"]))
    add(("LayerNorm.forward-shape", lambda: (nn.LayerNorm(5), (x4,), {}), ValueError,
         ["LayerNorm input", "(5,)", "(2, 3, 6, 6)"]))
    add(("InstanceNorm2d-0", lambda: (nn.InstanceNorm2d, (0,), {}), ValueError, ["num_features"]))
    add(("InstanceNorm2d.forward-channels", lambda: (nn.InstanceNorm2d(4), (x4,), {}), ValueError,
         ["InstanceNorm2d input", "4 channels"]))
    add(("BatchNorm1d-momentum", lambda: (nn.BatchNorm1d, (3,), {"momentum": -1}), ValueError, ["momentum"]))
    add(("BatchNorm1d.forward-ndim", lambda: (nn.BatchNorm1d(3), (x4,), {}), ValueError,
         ["BatchNorm1d input", "(N, 3)", "(2, 3, 6, 6)"]))
    add(("BatchNorm1d.forward-one", lambda: (nn.BatchNorm1d(3), (randn((1, 3)),), {}), ValueError,
         ["more than 1 value"]))
    add(("StochasticDepth-p", lambda: (nn.StochasticDepth, (1.5, "row"), {}), ValueError, ["p", "1.5"]))
    add(("StochasticDepth-mode", lambda: (nn.StochasticDepth, (0.2, "col"), {}), ValueError, ["mode", "'col'"]))
    add(("StochasticDepth.forward-object", lambda: (nn.StochasticDepth(0.2, "row"), (obj((2, 2)),), {}),
         TypeError, ["input", "object"]))
    add(("stochastic_depth-training", lambda: (nn.stochastic_depth, (x4, 0.2, "row", "yes"), {}), TypeError,
         ["training", "'yes'"]))
    add(("efficientnet_b0.forward-channels", lambda: (models.efficientnet_b0(in_channels=1), (x4,), {}),
         ValueError, ["EfficientNet input", "1 channels"]))
    add(("googlenet.forward-channels", lambda: (models.googlenet(in_channels=1, aux_logits=False), (x4,), {}),
         ValueError, ["GoogLeNet input", "1 channels"]))
    add(("googlenet-transform_input", lambda: (models.googlenet, (), {"transform_input": True, "in_channels": 1}),
         ValueError, ["transform_input"]))
    add(("MBConv-stride", lambda: (models.MBConv, (6, 3, 3, 16, 24), {}), ValueError, ["stride", "3"]))
    add(("Dropout.forward-object", lambda: (nn.Dropout(), (obj((2, 2)),), {}), TypeError, ["input"]))
    add(("Flatten.forward-object", lambda: (nn.Flatten(), (obj((2, 2)),), {}), TypeError, ["Flatten input"]))
    add(("Flatten.forward-dim", lambda: (nn.Flatten(5), (x4,), {}), ValueError, ["start_dim", "5"]))
    add(("BasicBlock.forward-channels", lambda: (nn.BasicBlock(4, 4), (x4,), {}), ValueError,
         ["BasicBlock input", "4 channels"]))
    add(("Sequential.forward-channels", lambda: (nn.Sequential(nn.Conv2d(4, 4, 1)), (x4,), {}), ValueError,
         ["4 channels"]))
    add(("seed_cnn.forward-channels", lambda: (models.seed_cnn(in_channels=1), (x4,), {}), ValueError,
         ["SeedCNN input", "1 channels"]))
    add(("resnet20.forward-ndim", lambda: (models.resnet20(), (x4[0],), {}), ValueError, ["ResNet input", "4-d"]))
    add(("CrossEntropyLoss-range", lambda: (nn.CrossEntropyLoss(), (randn((2, 3)), [0, 3]), {}), ValueError,
         ["target", "3"]))
    add(("CrossEntropyLoss-len", lambda: (nn.CrossEntropyLoss(), (randn((2, 3)), [0]), {}), ValueError,
         ["target", "(2,)"]))
    add(("CrossEntropyLoss-smoothing", lambda: (nn.CrossEntropyLoss, (), {"label_smoothing": -0.1}), ValueError,
         ["label_smoothing", "-0.1"]))
    add(("CrossEntropyLoss-weight", lambda: (nn.CrossEntropyLoss(weight=np.ones(4)), (randn((2, 3)), [0, 1]), {}),
         ValueError, ["weight", "(3,)", "(4,)"]))
    add(("NLLLoss-reduction", lambda: (nn.NLLLoss, (), {"reduction": "avg"}), ValueError, ["reduction", "'avg'"]))
    add(("NLLLoss-ignore", lambda: (nn.NLLLoss, (), {"ignore_index": "x"}), TypeError, ["ignore_index", "'x'"]))
    for name in ("MSELoss", "L1Loss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "HuberLoss"):
        add(("%s-reduction" % name, lambda name=name: (getattr(nn, name), (), {"reduction": "all"}), ValueError,
             ["reduction", "'all'"]))
        add(("%s.forward-shape" % name, lambda name=name: (getattr(nn, name)(), (randn((2, 3)) * 0.1 + 0.5,
                                                                                randn((2, 2))), {}),
             ValueError, ["target", "(2, 3)", "(2, 2)"]))
    add(("SmoothL1Loss-beta", lambda: (nn.SmoothL1Loss, (), {"beta": "1"}), TypeError, ["beta", "'1'"]))
    add(("HuberLoss-delta", lambda: (nn.HuberLoss, (), {"delta": -1}), ValueError, ["delta", "-1"]))
    add(("BCEWithLogitsLoss-pos_weight", lambda: (nn.BCEWithLogitsLoss, (), {"pos_weight": obj((2,))}), TypeError,
         ["pos_weight", "object"]))
    add(("KLDivLoss-log_target", lambda: (nn.KLDivLoss, (), {"log_target": "no"}), TypeError, ["log_target"]))
    add(("MSELoss.backward-before", lambda: (nn.MSELoss().backward, (), {}), RuntimeError, ["before"]))
    add(("Dropout2d-p", lambda: (nn.Dropout2d, (1.5,), {}), ValueError, ["p", "1.5"]))
    add(("Dropout2d.forward-ndim", lambda: (nn.Dropout2d(), (randn((2, 3)),), {}), ValueError,
         ["Dropout2d input", "4-d", "(2, 3)"]))
    add(("ModuleList-item", lambda: (nn.ModuleList, ([nn.ReLU(), 3],), {}), TypeError, ["modules[1]", "int"]))
    add(("ModuleList-index", lambda: (nn.ModuleList([nn.ReLU()]).__getitem__, (3,), {}), IndexError, ["3", "1"]))
    add(("ModuleList-append", lambda: (nn.ModuleList().append, ("relu",), {}), TypeError, ["module", "str"]))
    add(("ModuleDict-key", lambda: (nn.ModuleDict().__setitem__, (1, nn.ReLU()), {}), TypeError, ["key", "int"]))
    add(("ModuleDict-pair", lambda: (nn.ModuleDict, ([("a", nn.ReLU(), 1)],), {}), ValueError, ["modules[0]", "pair"]))
    add(("ModuleDict-module", lambda: (nn.ModuleDict, ({"a": 1.0},), {}), TypeError, ["module", "float"]))
    add(("Module.apply-fn", lambda: (nn.ReLU().apply, (3,), {}), TypeError, ["fn", "callable"]))
    add(("Module.requires_grad_-flag", lambda: (nn.Linear(2, 2).requires_grad_, ("no",), {}), TypeError,
         ["requires_grad", "'no'"]))
    add(("Parameter.size-dim", lambda: (nn.Parameter(np.zeros((2, 3))).size, (2,), {}), IndexError, ["dim", "2"]))
    add(("init.kaiming_normal_-1d", lambda: (nn.init.kaiming_normal_, (nn.Parameter(np.zeros(3)),), {}), ValueError,
         ["tensor", "2 dimensions", "(3,)"]))
    add(("init.kaiming_uniform_-mode", lambda: (nn.init.kaiming_uniform_, (nn.Parameter(np.zeros((2, 3))),),
                                                {"mode": "fan"}), ValueError, ["mode", "'fan'"]))
    add(("init.xavier_uniform_-type", lambda: (nn.init.xavier_uniform_, ([[1.0, 2.0]],), {}), TypeError,
         ["tensor", "list"]))
    add(("init.xavier_normal_-readonly", lambda: (nn.init.xavier_normal_, (nn.Parameter(np.zeros((2, 3))).data,), {}),
         ValueError, ["tensor", "read-only"]))
    add(("init.normal_-std", lambda: (nn.init.normal_, (nn.Parameter(np.zeros(3)),), {"std": -1}), ValueError,
         ["std", "-1"]))
    add(("init.uniform_-bounds", lambda: (nn.init.uniform_, (nn.Parameter(np.zeros(3)), 1, 0), {}), ValueError,
         ["b", "a=1"]))
    add(("init.trunc_normal_-bounds", lambda: (nn.init.trunc_normal_, (nn.Parameter(np.zeros(3)),), {"a": 2, "b": 1}),
         ValueError, ["b", "a=2"]))
    add(("init.constant_-val", lambda: (nn.init.constant_, (nn.Parameter(np.zeros(3)), "1"), {}), TypeError, ["val"]))
    add(("init.ones_-int", lambda: (nn.init.ones_, (np.zeros(3, int),), {}), TypeError, ["tensor", "int"]))
    add(("init.zeros_-type", lambda: (nn.init.zeros_, (None,), {}), TypeError, ["tensor", "NoneType"]))
    add(("init.calculate_gain-name", lambda: (nn.init.calculate_gain, ("softplus",), {}), ValueError,
         ["nonlinearity", "'softplus'"]))
    add(("utils.clip_grad_norm_-type", lambda: (nn.utils.clip_grad_norm_, ([np.zeros(3)], 1.0), {}), TypeError,
         ["parameters[0]", "ndarray"]))
    add(("utils.clip_grad_norm_-norm", lambda: (nn.utils.clip_grad_norm_, ([nn.Parameter(np.zeros(3))], 1.0, 0), {}),
         ValueError, ["norm_type", "0"]))
    add(("utils.clip_grad_value_-value", lambda: (nn.utils.clip_grad_value_, ([nn.Parameter(np.zeros(3))], "1"), {}),
         TypeError, ["clip_value", "'1'"]))
    add(("utils.parameters_to_vector-type", lambda: (nn.utils.parameters_to_vector, (5,), {}), TypeError,
         ["parameters", "int"]))
    add(("utils.vector_to_parameters-len", lambda: (nn.utils.vector_to_parameters, (np.zeros(5), [nn.Parameter(np.zeros(3))]),
                                                    {}), ValueError, ["vec", "3", "5"]))
    # backward before forward, with a wrong-shaped or wrong-typed gradient
    for name, make in (("Conv2d", lambda: nn.Conv2d(3, 4, 3)), ("BatchNorm2d", lambda: nn.BatchNorm2d(3)),
                       ("MaxPool2d", lambda: nn.MaxPool2d(2)), ("AvgPool2d", lambda: nn.AvgPool2d(2)),
                       ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d(2)), ("ReLU", lambda: nn.ReLU()),
                       ("ReLU6", lambda: nn.ReLU6()), ("Dropout", lambda: nn.Dropout()),
                       ("Identity", lambda: nn.Identity()), ("Flatten", lambda: nn.Flatten()),
                       ("BasicBlock", lambda: nn.BasicBlock(3, 3)),
                       ("Sequential", lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())),
                       ("Bottleneck", lambda: nn.Bottleneck(3, 2)),
                       ("seed_cnn", lambda: models.seed_cnn()), ("resnet20", lambda: models.resnet20())):
        add(("%s.backward-before-forward" % name, lambda make=make: (make().backward, (x4,), {}),
             RuntimeError, ["backward() called before forward()"]))
        add(("%s.backward-shape" % name, lambda make=make: (_ran(make(), x8).backward, (randn((2, 1, 1, 1)),), {}),
             ValueError, ["grad_output", "(2, 1, 1, 1)"]))
        add(("%s.backward-object" % name, lambda make=make: (_ran(make(), x8).backward, ("abc",), {}),
             (ValueError, TypeError), ["grad_output"]))
    add(("Linear.backward-before-forward", lambda: (nn.Linear(3, 2).backward, (randn((2, 2)),), {}),
         RuntimeError, ["before forward"]))
    add(("Linear.backward-shape", lambda: (_ran(nn.Linear(3, 2), randn((4, 3))).backward, (randn((4, 3)),), {}),
         ValueError, ["grad_output", "(4, 2)", "(4, 3)"]))
    add(("CrossEntropyLoss.backward-before", lambda: (nn.CrossEntropyLoss().backward, (), {}),
         RuntimeError, ["before"]))
    # state_dict: missing, unexpected, mis-shaped, non-numeric
    def sd(change):
        m = nn.Conv2d(3, 4, 3)
        s = m.state_dict()
        change(s)
        return m.load_state_dict, (s,), {}
    add(("load_state_dict-missing", lambda: sd(lambda s: s.pop("bias")), ValueError, ["missing", "'bias'"]))
    add(("load_state_dict-unexpected", lambda: sd(lambda s: s.update(extra=np.zeros(1))), ValueError,
         ["unexpected", "'extra'"]))
    add(("load_state_dict-shape", lambda: sd(lambda s: s.update(weight=np.zeros((4, 3, 2, 3)))), ValueError,
         ["'weight'", "(4, 3, 3, 3)", "(4, 3, 2, 3)"]))
    add(("load_state_dict-object", lambda: sd(lambda s: s.update(bias=obj((4,)))), TypeError, ["bias", "object"]))
    add(("load_state_dict-type", lambda: (nn.Conv2d(3, 4, 3).load_state_dict, ([1, 2],), {}), TypeError,
         ["state_dict"]))
    # optimizers and schedulers
    params = lambda: list(nn.Linear(2, 2).parameters())  # noqa: E731
    add(("SGD-lr", lambda: (optim.SGD, (params(),), {"lr": -0.1}), ValueError, ["lr", "-0.1"]))
    add(("SGD-momentum", lambda: (optim.SGD, (params(),), {"lr": 0.1, "momentum": -1}), ValueError, ["momentum"]))
    add(("SGD-nesterov", lambda: (optim.SGD, (params(),), {"lr": 0.1, "nesterov": True}), ValueError, ["nesterov"]))
    add(("SGD-lr-str", lambda: (optim.SGD, (params(),), {"lr": "0.1"}), TypeError, ["lr"]))
    add(("SGD-empty", lambda: (optim.SGD, ([],), {"lr": 0.1}), ValueError, ["empty parameter list"]))
    add(("SGD-array", lambda: (optim.SGD, ([np.zeros(3)],), {"lr": 0.1}), TypeError, ["Parameters", "ndarray"]))
    add(("Adam-betas", lambda: (optim.Adam, (params(),), {"betas": (1.0, 0.9)}), ValueError, ["betas[0]"]))
    add(("Adam-eps", lambda: (optim.Adam, (params(),), {"eps": -1e-8}), ValueError, ["eps"]))
    add(("AdamW-wd", lambda: (optim.AdamW, (params(),), {"weight_decay": float("nan")}), ValueError,
         ["weight_decay"]))
    add(("RMSprop-alpha", lambda: (optim.RMSprop, (params(),), {"alpha": 1.5}), ValueError, ["alpha", "1.5"]))
    add(("RMSprop-centered", lambda: (optim.RMSprop, (params(),), {"centered": "yes"}), TypeError, ["centered"]))
    add(("RMSprop-capturable", lambda: (optim.RMSprop, (params(),), {"capturable": True}), ValueError,
         ["capturable", "False"]))
    add(("Adagrad-lr_decay", lambda: (optim.Adagrad, (params(),), {"lr_decay": -1}), ValueError, ["lr_decay", "-1"]))
    add(("Adagrad-init", lambda: (optim.Adagrad, (params(),), {"initial_accumulator_value": "0"}), TypeError,
         ["initial_accumulator_value"]))
    add(("Adamax-betas", lambda: (optim.Adamax, (params(),), {"betas": (0.9, 1.0)}), ValueError, ["betas[1]"]))
    add(("NAdam-momentum_decay", lambda: (optim.NAdam, (params(),), {"momentum_decay": -0.1}), ValueError,
         ["momentum_decay", "-0.1"]))
    add(("NAdam-foreach", lambda: (optim.NAdam, (params(),), {"foreach": "x"}), TypeError, ["foreach", "'x'"]))
    add(("RAdam-eps", lambda: (optim.RAdam, (params(),), {"eps": -1.0}), ValueError, ["eps", "-1.0"]))
    add(("RAdam-decoupled", lambda: (optim.RAdam, (params(),), {"decoupled_weight_decay": 2}), TypeError,
         ["decoupled_weight_decay", "2"]))
    add(("StepLR-step", lambda: (optim.lr_scheduler.StepLR, (optim.SGD(params(), lr=0.1), 0), {}), ValueError,
         ["step_size"]))
    add(("CosineAnnealingLR-Tmax", lambda: (optim.lr_scheduler.CosineAnnealingLR,
                                            (optim.SGD(params(), lr=0.1), float("inf")), {}),
         ValueError, ["T_max"]))
    add(("OneCycleLR-total", lambda: (optim.lr_scheduler.OneCycleLR, (optim.SGD(params(), lr=0.1), 1.0),
                                      {"total_steps": 0}), ValueError, ["total_steps"]))
    sgd = lambda: optim.SGD(params(), lr=0.1, momentum=0.9)  # noqa: E731
    S = optim.lr_scheduler
    add(("LambdaLR-fn", lambda: (S.LambdaLR, (sgd(), 0.5), {}), TypeError, ["lr_lambda", "float"]))
    add(("LambdaLR-len", lambda: (S.LambdaLR, (sgd(), [abs, abs]), {}), ValueError, ["lr_lambda", "1", "2"]))
    add(("MultiplicativeLR-fn", lambda: (S.MultiplicativeLR, (sgd(), None), {}), TypeError, ["lr_lambda"]))
    add(("ExponentialLR-gamma", lambda: (S.ExponentialLR, (sgd(), "0.9"), {}), TypeError, ["gamma"]))
    add(("LinearLR-start", lambda: (S.LinearLR, (sgd(),), {"start_factor": 0}), ValueError, ["start_factor", "(0, 1]"]))
    add(("LinearLR-iters", lambda: (S.LinearLR, (sgd(),), {"total_iters": 0}), ValueError, ["total_iters", "0"]))
    add(("ConstantLR-factor", lambda: (S.ConstantLR, (sgd(),), {"factor": 1.5}), ValueError, ["factor", "1.5"]))
    add(("PolynomialLR-iters", lambda: (S.PolynomialLR, (sgd(),), {"total_iters": 2.5}), TypeError, ["total_iters"]))
    add(("CosineAnnealingWarmRestarts-T_0", lambda: (S.CosineAnnealingWarmRestarts, (sgd(), 0), {}), ValueError,
         ["T_0", "0"]))
    add(("CosineAnnealingWarmRestarts-epoch", lambda: (S.CosineAnnealingWarmRestarts(sgd(), 3).step, (-1,), {}),
         ValueError, ["epoch", "-1"]))
    add(("CyclicLR-mode", lambda: (S.CyclicLR, (sgd(), 0.01, 0.1), {"mode": "sine"}), ValueError, ["mode", "'sine'"]))
    add(("CyclicLR-momentum", lambda: (S.CyclicLR, (optim.Adagrad(params()), 0.01, 0.1), {}), ValueError,
         ["cycle_momentum"]))
    add(("SequentialLR-milestones", lambda: (S.SequentialLR, (sgd(), [], []), {}), ValueError, ["schedulers"]))
    add(("SequentialLR-count", lambda: (lambda o: (S.SequentialLR, (o, [S.ExponentialLR(o, 0.9)], [3]), {}))(sgd()),
         ValueError, ["milestones", "0", "1"]))
    add(("ChainedScheduler-optimizer", lambda: (S.ChainedScheduler, ([S.ExponentialLR(sgd(), 0.9),
                                                                      S.ExponentialLR(sgd(), 0.9)],), {}),
         ValueError, ["schedulers[1]", "same optimizer"]))
    add(("ReduceLROnPlateau-factor", lambda: (S.ReduceLROnPlateau, (sgd(),), {"factor": 1.0}), ValueError,
         ["factor", "1.0"]))
    add(("ReduceLROnPlateau-mode", lambda: (S.ReduceLROnPlateau, (sgd(),), {"mode": "up"}), ValueError, ["mode", "'up'"]))
    add(("ReduceLROnPlateau-metric", lambda: (S.ReduceLROnPlateau(sgd()).step, ("bad",), {}), TypeError,
         ["metrics", "'bad'"]))
    # data
    imgs, labs = randn((10, 1, 4, 4)), np.arange(10) % 3
    add(("DataLoader-len", lambda: (data.DataLoader, (imgs, labs[:9]), {}), ValueError, ["labels", "10", "9"]))
    add(("DataLoader-labels", lambda: (data.DataLoader, (imgs, np.array(["a"] * 10)), {}), TypeError,
         ["labels", "integer"]))
    add(("DataLoader-shuffle", lambda: (data.DataLoader, (imgs, labs), {"shuffle": "no"}), TypeError,
         ["shuffle", "'no'"]))
    tds = lambda: data.TensorDataset(imgs, labs)  # noqa: E731
    add(("DataLoader-dataset", lambda: (data.DataLoader, (5,), {}), TypeError, ["dataset", "map-style", "int"]))
    add(("DataLoader-sampler-shuffle", lambda: (data.DataLoader, (tds(),), {"sampler": [0, 1], "shuffle": True}),
         ValueError, ["sampler", "shuffle"]))
    add(("DataLoader-batch_sampler", lambda: (data.DataLoader, (tds(),), {"batch_sampler": [[0]], "batch_size": 4}),
         ValueError, ["batch_sampler", "batch_size"]))
    add(("DataLoader-workers", lambda: (data.DataLoader, (tds(),), {"num_workers": -1}), ValueError,
         ["num_workers", "-1"]))
    add(("DataLoader-collate", lambda: (data.DataLoader, (tds(),), {"collate_fn": 3}), TypeError, ["collate_fn", "3"]))
    add(("DataLoader-prefetch", lambda: (data.DataLoader, (tds(),), {"prefetch_factor": 2}), ValueError,
         ["prefetch_factor", "num_workers"]))
    add(("DataLoader-batch-none-drop", lambda: (data.DataLoader, (tds(),), {"batch_size": None, "drop_last": True}),
         ValueError, ["batch_size", "drop_last"]))
    add(("TensorDataset-len", lambda: (data.TensorDataset, (imgs, labs[:3]), {}), ValueError,
         ["tensors[1]", "10", "3"]))
    add(("TensorDataset-empty", lambda: (data.TensorDataset, (), {}), ValueError, ["tensors"]))
    add(("random_split-sum", lambda: (data.random_split, (tds(), [3, 3]), {}), ValueError, ["lengths", "10"]))
    add(("random_split-neg", lambda: (data.random_split, (tds(), [11, -1]), {}), ValueError, ["lengths[1]", "-1"]))
    add(("random_split-generator", lambda: (data.random_split, (tds(), [5, 5]), {"generator": 1}), TypeError,
         ["generator", "int"]))
    add(("RandomSampler-num", lambda: (data.RandomSampler, (tds(),), {"num_samples": 0}), ValueError, ["num_samples"]))
    add(("BatchSampler-size", lambda: (data.BatchSampler, ([0, 1], 0, False), {}), ValueError, ["batch_size", "0"]))
    add(("default_collate-type", lambda: (data.default_collate, ([object(), object()],), {}), TypeError,
         ["default_collate", "object"]))
    add(("default_collate-empty", lambda: (data.default_collate, ([],), {}), ValueError, ["batch"]))
    add(("ToTensor-ndim", lambda: (data.ToTensor(), (np.zeros(3, np.uint8),), {}), ValueError, ["ToTensor input", "(3,)"]))
    add(("RandomResizedCrop-scale", lambda: (data.RandomResizedCrop, (4,), {"scale": (1.0, 0.5)}), ValueError,
         ["scale", "(1.0, 0.5)"]))
    add(("RandomResizedCrop-size", lambda: (data.RandomResizedCrop, (0,), {}), ValueError, ["size", "0"]))
    add(("RandomResizedCrop-input", lambda: (data.RandomResizedCrop(4), (np.zeros((4, 4)),), {}), ValueError,
         ["RandomResizedCrop input", "(4, 4)"]))
    add(("ColorJitter-brightness", lambda: (data.ColorJitter, (-0.5,), {}), ValueError, ["brightness", "-0.5"]))
    add(("ColorJitter-hue", lambda: (data.ColorJitter, (), {"hue": 0.1}), ValueError, ["hue", "0.1"]))
    add(("RandomRotation-degrees", lambda: (data.RandomRotation, ((10, 80),), {}), ValueError, ["degrees", "90"]))
    add(("RandomRotation-rng", lambda: (data.RandomRotation(90), (np.zeros((1, 2, 2)), 5), {}), TypeError, ["rng", "int"]))
    add(("Compose-item", lambda: (data.Compose, ([data.ToTensor(), 3],), {}), TypeError, ["transforms[1]", "int"]))
    add(("CrossEntropyLoss.backward-grad", lambda: (_ran_loss().backward, ("x",), {}), TypeError,
         ["grad_output", "'x'"]))
    add(("SGD.step-grad-shape", lambda: (_opt_with_grad(np.zeros((3, 3), np.float32)).step, (), {}),
         ValueError, ["grad", "(3, 3)", "(2, 3)"]))
    add(("SGD.step-grad-object", lambda: (_opt_with_grad(obj((2, 3))).step, (), {}), TypeError,
         ["grad", "object"]))
    add(("DataLoader-batch", lambda: (data.DataLoader, (imgs, labs), {"batch_size": 0}), ValueError,
         ["batch_size", "0"]))
    add(("train_test_split-frac", lambda: (data.train_test_split, (imgs, labs), {"test_fraction": 1.5}),
         ValueError, ["test_fraction", "1.5"]))
    add(("train_test_split-len", lambda: (data.train_test_split, (imgs, labs[:3]), {}), ValueError, ["labels"]))
    add(("RandomCrop-size", lambda: (data.RandomCrop(8, 1), (imgs, np.random.default_rng(0)), {}), ValueError,
         ["size", "(6, 6)"]))
    add(("RandomCrop-padding", lambda: (data.RandomCrop, (4, -1), {}), ValueError, ["padding", "-1"]))
    add(("RandomHorizontalFlip-p", lambda: (data.RandomHorizontalFlip, (2.0,), {}), ValueError, ["p", "2.0"]))
    add(("Normalize-std", lambda: (data.Normalize, ((0.5,), (0.0,)), {}), ValueError, ["std"]))
    add(("Normalize-channels", lambda: (data.Normalize((0.5, 0.5), (1, 1)), (randn((2, 3, 2, 2)),), {}),
         ValueError, ["2 channels", "(2, 3, 2, 2)"]))
    add(("load_dataset-name", lambda: (data.load_dataset, ("imagenet",), {}), ValueError, ["dataset", "imagenet"]))
    add(("load_mnist-path", lambda: (data.load_mnist, ("/nonexistent/path",), {}), FileNotFoundError,
         ["path", "/nonexistent/path"]))
    add(("get_model-name", lambda: (models.get_model, ("vgg",), {}), ValueError, ["model", "vgg"]))
    # configuration
    for bad, exc in ((0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError)):
        add(("set_num_threads-%r" % (bad,), lambda bad=bad: (cnncore.set_num_threads, (bad,), {}), exc, ["n:"]))
    add(("set_isa-bad", lambda: (cnncore.set_isa, ("sse9",), {}), ValueError, ["level", "sse9"]))
    # serialization
    add(("save-ext", lambda: (cnncore.save, ({"w": np.zeros(2)}, "/tmp/cnncore-audit.bin"), {}), ValueError,
         ["path", ".npz"]))
    add(("save-state_dict", lambda: (cnncore.save, ([1], "/tmp/cnncore-audit.npz"), {}), TypeError, ["state_dict"]))
    add(("save-object", lambda: (cnncore.save, ({"w": obj((2,))}, "/tmp/cnncore-audit.npz"), {}), TypeError,
         ["state_dict['w']", "object"]))
    add(("load-missing", lambda: (cnncore.load, ("/nonexistent/w.npz",), {}), FileNotFoundError,
         ["path", "/nonexistent/w.npz"]))
    add(("load-path-type", lambda: (cnncore.load, (3,), {}), TypeError, ["path"]))
    add(("Sequential.setitem-module", lambda: (nn.Sequential(nn.ReLU()).__setitem__, (0, 3), {}), TypeError,
         ["module", "int"]))
    add(("Sequential.setitem-index", lambda: (nn.Sequential(nn.ReLU()).__setitem__, (1, nn.ReLU()), {}),
         IndexError, ["index 1"]))
    add(("manual_seed-neg", lambda: (cnncore.manual_seed, (-1,), {}), ValueError, ["seed", "-1"]))
    return L


LAYER_CASES = _layer_cases()


@pytest.mark.parametrize("case_id,make,exc,words", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_bad_layer_optim_data_input_raises_naming_argument(case_id, make, exc, words, monkeypatch):
    fn, args, kwargs = make()
    spy = KernelSpy(monkeypatch)
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    for w in words:
        assert w in msg, "%s: %r does not mention %r" % (case_id, msg, w)
    assert spy.calls == [], "%s: kernels ran before the argument was rejected: %s" % (case_id, spy.calls)


def test_every_layer_has_bad_input_rows():
    layers = {n for n in nn.__all__ if inspect.isclass(getattr(nn, n)) and issubclass(getattr(nn, n), nn.Module)
              and n != "Module"}
    covered = {c[0].split("-")[0].split(".")[0] for c in LAYER_CASES}
    assert layers - covered == set(), "layers without bad-input rows: %s" % sorted(layers - covered)
