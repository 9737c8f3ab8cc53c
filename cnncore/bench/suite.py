"""The cases of `python -m cnncore bench` and of benchmarks/: for each layer or model, for each pass
it measures (forward, backward-data, backward-weights, training step, inference), the cnncore
callable, the same work in NumPy and in PyTorch, and its flop and byte counts.

A Spec describes a case; Spec.build(batch, ...) allocates its data and returns one Row per pass.
Nothing is allocated before build, so a run holds the data of one case at a time.

Counting conventions:
  flops   a multiply-add is two flops (convolution: 2 N C_out OH OW C_in/groups KH KW per pass;
          linear: 2 N in out per pass); pooling one per window tap (max) or input element
          (average); BatchNorm+ReLU a nominal 3 per element forward and 6 backward (as
          Module.summary counts them). A training step counts forward + backward-weights +
          backward-data of every convolution and linear layer, except the first layer's
          backward-data (nobody needs the images' gradient); other layers add nothing.
  bytes   float32 inputs + weights + outputs of the pass (max pooling: its int32 argmax too):
          the compulsory memory traffic, for the roofline's arithmetic intensity.
"""
import math

import numpy as np

from .. import _kernels, models, optim
from ..functional import PackedConv, conv2d_blocked, to_blocked
from ..functional import _linear as _L
from ..functional import _norm as _N
from ..functional import _pool as _P
from ..nn.loss import CrossEntropyLoss
from .baselines import (numpy_bn_relu, numpy_bn_relu_backward, numpy_conv2d, numpy_conv2d_backward_data,
                        numpy_conv2d_backward_weights, numpy_dwconv2d, numpy_dwconv2d_backward_data,
                        numpy_dwconv2d_backward_weights, numpy_max_pool2d, numpy_max_pool2d_argmax,
                        numpy_max_pool2d_backward)

F32 = 4
PASSES = ("fwd", "bwd_data", "bwd_weights", "bwd", "train", "infer", "eager", "compiled", "ort")
OPS = ("conv", "depthwise", "pool", "bn_relu", "linear", "models", "compiled")
TABLE_MODELS = ("alexnet", "vgg16", "googlenet", "efficientnet_b0")


class Row:
    """One measurement: a pass of a case, its callables and counts. times_* are filled by the
    runner (lists of seconds)."""

    def __init__(self, group, case, pass_, batch, flops, nbytes, cnncore, numpy=None, torch=None, note=""):
        self.group, self.case, self.pass_, self.batch = group, case, pass_, batch
        self.flops, self.nbytes = float(flops), (None if nbytes is None else float(nbytes))
        self.cnncore, self.numpy, self.torch = cnncore, numpy, torch
        self.note = note

    @property
    def intensity(self):
        return None if not self.nbytes else self.flops / self.nbytes


class Spec:
    group = None
    passes = ()

    def __init__(self, name, batch):
        self.name, self.batch = name, batch

    def build(self, batch, with_numpy=True, torch=None):
        raise NotImplementedError


# ------------------------------------------------------------ cnncore's backward passes ---
# conv2d_backward_blocked computes backward-data and backward-weights in one call; to time them
# apart these call the kernels it calls (cnncore/functional/_conv.py and _linear.py), for the
# common path (no NaN fallback). tests/test_bench.py checks they agree with the combined call.

def conv_backward_data_blocked(dyb, packed, g):
    """Input gradient (blocked array) of a convolution, as conv2d_backward_blocked computes it."""
    if packed.depthwise:
        return _kernels.dwconv_backward_data(g, dyb.data, packed.transposed_packing)
    pt, lot, cntt, _ = packed.transposed_packing
    return _kernels.conv_backward_data(g, dyb.data, pt, lot, cntt)


def conv_backward_weights_blocked(xb, dyb, packed, g):
    """Weight gradient (OIHW) of a convolution, as conv2d_backward_blocked computes it."""
    if packed.depthwise:
        return _kernels.dwconv_unpack(g, _kernels.dwconv_backward_weights(g, xb.data, dyb.data))
    _, lo, cnt, nicb_max = packed.forward_packing
    return _kernels.conv_unpack(g, _kernels.conv_backward_weights(g, xb.data, dyb.data, lo, cnt, nicb_max), lo)


def linear_backward_data(dy, packed):
    """Input gradient of a linear layer, as linear_backward_packed computes it."""
    return _L.grad_input(dy, packed)


def linear_backward_weights(dy, x, packed):
    """Weight gradient of a linear layer, as linear_backward_packed computes it."""
    return _L.grad_weight(dy, x)


# ----------------------------------------------------------------------------------- specs ---

def _randn(rng, shape, scale=1.0):
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))


def conv_flops(n, c_in, c_out, oh, ow, kh, kw, groups=1):
    """Multiply-adds counted as two flops."""
    return 2.0 * n * c_out * oh * ow * (c_in // groups) * kh * kw


class ConvSpec(Spec):
    """A convolution (groups == C_in == C_out: depthwise). first=True: a net's first layer, whose
    input gradient nobody needs (no backward-data row)."""

    def __init__(self, name, c_in, c_out, hw, k, stride=1, padding=0, groups=1, batch=32, first=False):
        super().__init__(name, batch)
        self.c_in, self.c_out, self.hw, self.k = c_in, c_out, hw, k
        self.stride, self.padding, self.groups, self.first = stride, padding, groups, first
        self.group = "depthwise" if groups > 1 and groups == c_in == c_out else "conv"
        self.passes = ("fwd", "bwd_weights") if first else ("fwd", "bwd_data", "bwd_weights")

    def build(self, batch, with_numpy=True, torch=None):
        ci, co, hw, k, s, p, grp = self.c_in, self.c_out, self.hw, self.k, self.stride, self.padding, self.groups
        rng = np.random.default_rng(0)
        x = _randn(rng, (batch, ci, hw, hw))
        w = _randn(rng, (co, ci // grp, k, k), 1.0 / math.sqrt(ci // grp * k * k))
        xb, packed = to_blocked(x), PackedConv(w, grp)
        yb, g = conv2d_blocked(xb, packed, None, s, p)
        dy = _randn(rng, (batch, co, g.oh, g.ow))
        dyb = to_blocked(dy)
        packed.transposed_packing  # built once here, as a layer keeps it between steps
        flops = conv_flops(batch, ci, co, g.oh, g.ow, k, k, grp)
        nx, nw, ny = x.size * F32, w.size * F32, dy.size * F32
        depthwise = self.group == "depthwise"
        cc = {
            "fwd": lambda: conv2d_blocked(xb, packed, None, s, p),
            "bwd_data": lambda: conv_backward_data_blocked(dyb, packed, g),
            "bwd_weights": lambda: conv_backward_weights_blocked(xb, dyb, packed, g),
        }
        npf = {}
        if with_numpy and depthwise:
            npf = {"fwd": lambda: numpy_dwconv2d(x, w, s, p),
                   "bwd_data": lambda: numpy_dwconv2d_backward_data(dy, w, x.shape, s, p),
                   "bwd_weights": lambda: numpy_dwconv2d_backward_weights(x, dy, k, s, p)}
        elif with_numpy:
            npf = {"fwd": lambda: numpy_conv2d(x, w, s, p),
                   "bwd_data": lambda: numpy_conv2d_backward_data(dy, w, x.shape, s, p),
                   "bwd_weights": lambda: numpy_conv2d_backward_weights(x, dy, k, s, p)}
        tf = {}
        if torch is not None:
            F = torch.nn.functional
            conv_bwd = torch.ops.aten.convolution_backward
            xt, wt, dyt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(dy)

            def t_fwd():
                with torch.no_grad():
                    return F.conv2d(xt, wt, None, s, p, 1, grp)

            def t_bwd(mask):
                return lambda: conv_bwd(dyt, xt, wt, None, [s, s], [p, p], [1, 1], False, [0, 0], grp, mask)

            tf = {"fwd": t_fwd, "bwd_data": t_bwd([True, False, False]), "bwd_weights": t_bwd([False, True, False])}
        nbytes = {"fwd": nx + nw + ny, "bwd_data": ny + nw + nx, "bwd_weights": nx + ny + nw}
        return [Row(self.group, self.name, ps, batch, flops, nbytes[ps], cc[ps], npf.get(ps), tf.get(ps))
                for ps in self.passes]


class PoolSpec(Spec):
    """Max pooling (kind 'max', kernel k, stride s, padding p) or global average pooling ('gavg')."""

    group = "pool"
    passes = ("fwd", "bwd_data")

    def __init__(self, name, kind, c, hw, k=1, stride=1, padding=0, batch=8):
        super().__init__(name, batch)
        self.kind, self.c, self.hw, self.k, self.stride, self.padding = kind, c, hw, k, stride, padding

    def build(self, batch, with_numpy=True, torch=None):
        c, hw, k, s, p = self.c, self.hw, self.k, self.stride, self.padding
        rng = np.random.default_rng(0)
        x = _randn(rng, (batch, c, hw, hw))
        xb = to_blocked(x)
        if self.kind == "max":
            yb, argmax = _P.max_pool2d_blocked(xb, k, s, p)
            oh = yb.shape[2]
            dy = _randn(rng, (batch, c, oh, oh))
            dyb = to_blocked(dy)
            cc = {"fwd": lambda: _P.max_pool2d_blocked(xb, k, s, p),
                  "bwd_data": lambda: _P.max_pool2d_backward_blocked(dyb, argmax, (hw, hw))}
            flops = {"fwd": float(dy.size) * k * k, "bwd_data": float(dy.size)}
            nbytes = {"fwd": x.size * F32 + 2 * dy.size * F32, "bwd_data": 2 * dy.size * F32 + x.size * F32}
            npf = {}
            if with_numpy:
                tap = numpy_max_pool2d_argmax(x, k, s, p)
                npf = {"fwd": lambda: numpy_max_pool2d(x, k, s, p),
                       "bwd_data": lambda: numpy_max_pool2d_backward(dy, tap, x.shape, k, s, p)}
            tf = {}
            if torch is not None:
                aten = torch.ops.aten
                xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)
                _, it = aten.max_pool2d_with_indices(xt, [k, k], [s, s], [p, p])
                # with indices, as a training forward computes them (cnncore always keeps the argmax)
                tf = {"fwd": lambda: aten.max_pool2d_with_indices(xt, [k, k], [s, s], [p, p]),
                      "bwd_data": lambda: aten.max_pool2d_with_indices_backward(
                          dyt, xt, [k, k], [s, s], [p, p], [1, 1], False, it)}
        else:
            dy = _randn(rng, (batch, c))
            cc = {"fwd": lambda: _P.global_avg_pool2d_blocked(xb),
                  "bwd_data": lambda: _P.global_avg_pool2d_backward_blocked(dy, x.shape)}
            flops = {"fwd": float(x.size), "bwd_data": float(x.size)}
            nbytes = {"fwd": (x.size + dy.size) * F32, "bwd_data": (x.size + dy.size) * F32}
            npf = {}
            if with_numpy:
                npf = {"fwd": lambda: x.mean((2, 3)),
                       "bwd_data": lambda: np.repeat(dy / np.float32(hw * hw), hw * hw, axis=1).reshape(x.shape)}
            tf = {}
            if torch is not None:
                aten = torch.ops.aten
                xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)
                dy4 = dyt.reshape(batch, c, 1, 1)
                tf = {"fwd": lambda: aten._adaptive_avg_pool2d(xt, [1, 1]),
                      "bwd_data": lambda: aten._adaptive_avg_pool2d_backward(dy4, xt)}
        return [Row(self.group, self.name, ps, batch, flops[ps], nbytes[ps], cc[ps], npf.get(ps), tf.get(ps))
                for ps in self.passes]


class BNReLUSpec(Spec):
    """relu(batch_norm(x)) in training mode (batch statistics, running-stat update); the backward
    computes the input, weight and bias gradients together (one row, 'bwd')."""

    group = "bn_relu"
    passes = ("fwd", "bwd")

    def __init__(self, name, c, hw, batch=8):
        super().__init__(name, batch)
        self.c, self.hw = c, hw

    def build(self, batch, with_numpy=True, torch=None):
        c, hw = self.c, self.hw
        rng = np.random.default_rng(0)
        x = _randn(rng, (batch, c, hw, hw))
        gamma = (1 + 0.1 * rng.standard_normal(c)).astype(np.float32)
        beta = (0.1 * rng.standard_normal(c)).astype(np.float32)
        rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
        xb = to_blocked(x)
        yb, mean, invstd = _N.batch_norm_relu_blocked(xb, rm, rv, gamma, beta, True)
        dy = _randn(rng, x.shape)
        dyb = to_blocked(dy)
        cc = {"fwd": lambda: _N.batch_norm_relu_blocked(xb, rm, rv, gamma, beta, True),
              "bwd": lambda: _N.batch_norm_relu_backward_blocked(dyb, yb, xb, gamma, mean, invstd, True)}
        npf = {}
        if with_numpy:
            y_np, m_np, is_np = numpy_bn_relu(x, gamma, beta)
            npf = {"fwd": lambda: numpy_bn_relu(x, gamma, beta),
                   "bwd": lambda: numpy_bn_relu_backward(dy, y_np, x, gamma, m_np, is_np)}
        tf = {}
        if torch is not None:
            F = torch.nn.functional
            xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)
            gt, bt = torch.from_numpy(gamma), torch.from_numpy(beta)
            rmt, rvt = torch.zeros(c), torch.ones(c)

            def t_fwd():
                with torch.no_grad():
                    return F.relu(F.batch_norm(xt, rmt, rvt, gt, bt, True))

            xg, gg, bg = xt.clone().requires_grad_(), gt.clone().requires_grad_(), bt.clone().requires_grad_()
            yg = F.relu(F.batch_norm(xg, rmt.clone(), rvt.clone(), gg, bg, True))
            tf = {"fwd": t_fwd,
                  "bwd": lambda: torch.autograd.grad(yg, (xg, gg, bg), dyt, retain_graph=True)}
        n = float(x.size)
        flops = {"fwd": 3 * n, "bwd": 6 * n}
        nbytes = {"fwd": 2 * n * F32 + 4 * c * F32, "bwd": 4 * n * F32 + 4 * c * F32}
        return [Row(self.group, self.name, ps, batch, flops[ps], nbytes[ps], cc[ps], npf.get(ps), tf.get(ps))
                for ps in self.passes]


class LinearSpec(Spec):
    group = "linear"
    passes = ("fwd", "bwd_data", "bwd_weights")

    def __init__(self, name, in_f, out_f, batch=64):
        super().__init__(name, batch)
        self.in_f, self.out_f = in_f, out_f

    def build(self, batch, with_numpy=True, torch=None):
        fi, fo = self.in_f, self.out_f
        rng = np.random.default_rng(0)
        x = _randn(rng, (batch, fi))
        w = _randn(rng, (fo, fi), 1.0 / math.sqrt(fi))
        b = _randn(rng, (fo,), 0.1)
        dy = _randn(rng, (batch, fo))
        packed = _L.PackedLinear(w)
        packed.transposed_packing
        cc = {"fwd": lambda: _L.linear_packed(x, packed, b),
              "bwd_data": lambda: linear_backward_data(dy, packed),
              "bwd_weights": lambda: linear_backward_weights(dy, x, packed)}
        npf = {}
        if with_numpy:
            npf = {"fwd": lambda: x @ w.T + b, "bwd_data": lambda: dy @ w, "bwd_weights": lambda: dy.T @ x}
        tf = {}
        if torch is not None:
            F = torch.nn.functional
            xt, wt, bt, dyt = (torch.from_numpy(a) for a in (x, w, b, dy))

            def t_fwd():
                with torch.no_grad():
                    return F.linear(xt, wt, bt)

            # what autograd's linear backward runs: two matrix products
            tf = {"fwd": t_fwd, "bwd_data": lambda: torch.mm(dyt, wt), "bwd_weights": lambda: torch.mm(dyt.t(), xt)}
        flops = 2.0 * batch * fi * fo
        nbytes = {"fwd": (x.size + w.size + dy.size) * F32, "bwd_data": (dy.size + w.size + x.size) * F32,
                  "bwd_weights": (x.size + dy.size + w.size) * F32}
        return [Row(self.group, self.name, ps, batch, flops, nbytes[ps], cc[ps], npf.get(ps), tf.get(ps))
                for ps in self.passes]


def model_flops(model, input_shape, train):
    """Flops of one forward (train=False) or training step (train=True) of the convolution and
    linear layers (see the module docstring)."""
    from ..nn.summary import summarize

    rows = [r for r in summarize(model, input_shape) if r[1] in ("Conv2d", "Linear")]
    fwd = float(sum(r[4] for r in rows))
    if not train:
        return fwd
    return 3 * fwd - (rows[0][4] if rows else 0)


def calibrate_batch_norm(model, x):
    """Set every BatchNorm's running statistics to those of one training-mode forward of `x`
    (as a trained model's match its data). A fresh model's running statistics (mean 0, variance
    1) make eval-mode activations shrink layer by layer into subnormal numbers in deep networks
    (EfficientNet-B0), where any library's inference measures microcode assists, not its kernels."""
    from ..autograd import no_grad
    from ..nn.norm import BatchNorm2d

    bns = [m for m in model.modules() if isinstance(m, BatchNorm2d)]
    saved = [m.momentum for m in bns]
    was_training = model.training
    try:
        for m in bns:
            m.momentum = 1.0
        model.train()
        with no_grad():
            model(x)
    finally:
        for m, mom in zip(bns, saved):
            m.momentum = mom
        model.train(was_training)


def torch_training_loss(torch, outputs, labels, aux_weight=0.3):
    """PyTorch's side of cnncore.train.training_loss: cross-entropy of the logits plus aux_weight
    times that of the auxiliary outputs (torchvision's GoogLeNet recipe)."""
    ce = torch.nn.functional.cross_entropy
    if not isinstance(outputs, (tuple, list)):
        return ce(outputs, labels)
    return ce(outputs[0], labels) + aux_weight * sum(ce(a, labels) for a in outputs[1:] if a is not None)


class ModelSpec(Spec):
    """A whole model on random images: a training step (zero_grad, forward, cross-entropy (plus
    0.3 x the auxiliary heads' for GoogLeNet, cnncore.train.training_loss), backward, SGD with
    momentum) or an inference forward in eval mode (batch norm calibrated on the images first,
    calibrate_batch_norm)."""

    group = "models"

    def __init__(self, name, model, mode, batch, image=(3, 32, 32), num_classes=10):
        super().__init__(name, batch)
        self.model, self.mode, self.image, self.num_classes = model, mode, image, num_classes
        self.passes = ("train",) if mode == "train" else ("infer",)

    def build(self, batch, with_numpy=True, torch=None):
        from .. import _random
        from ..autograd import no_grad
        from ..train import training_loss

        _random.manual_seed(0)
        rng = np.random.default_rng(0)
        model = models.get_model(self.model, num_classes=self.num_classes, in_channels=self.image[0])
        x = _randn(rng, (batch,) + tuple(self.image))
        labels = rng.integers(0, self.num_classes, batch)
        train = self.mode == "train"
        flops = model_flops(model, (batch,) + tuple(self.image), train)
        if not train:
            calibrate_batch_norm(model, x)
        tf = None
        if torch is not None:
            from . import torch_twins

            tm = torch_twins.from_cnncore(self.model, model)
            xt, lt = torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))
        if train:
            model.train()
            opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            crit = CrossEntropyLoss()

            def cc():
                opt.zero_grad()
                loss = training_loss(model(x), labels, crit)[0]
                loss.backward()
                opt.step()
                return loss

            if torch is not None:
                tm.train()
                topt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)

                def tf():
                    topt.zero_grad(set_to_none=True)
                    loss = torch_training_loss(torch, tm(xt), lt)
                    loss.backward()
                    topt.step()
                    return loss
        else:
            model.eval()

            def cc():  # as PyTorch's side: inference without recording a graph
                with no_grad():
                    return model(x)

            if torch is not None:
                tm.eval()

                def tf():
                    with torch.inference_mode():
                        return tm(xt)
        return [Row(self.group, self.name, self.passes[0], batch, flops, None, cc, None, tf)]


SUITE = [
    # conv3x3 at CIFAR sizes, batch 32
    ConvSpec("conv3x3 64->64 @32x32", 64, 64, 32, 3, 1, 1),
    ConvSpec("conv3x3 128->128 @16x16", 128, 128, 16, 3, 1, 1),
    ConvSpec("conv3x3 256->256 @8x8", 256, 256, 8, 3, 1, 1),
    # the seed CNN's convolutions on 3x32x32 images
    ConvSpec("seed conv1 3->32 @32x32", 3, 32, 32, 3, 1, 1, first=True),
    ConvSpec("seed conv2 32->64 @16x16", 32, 64, 16, 3, 1, 1),
    ConvSpec("seed conv3 64->128 @8x8", 64, 128, 8, 3, 1, 1),
    # ResNet-20's first stage: one 16-channel output block, the one-block "row" tile (every other
    # conv row runs the several-blocks tile on AVX-512 and AVX2; csrc/isa/conv_fwd_candidates.c)
    ConvSpec("r20 conv3x3 16->16 @32x32", 16, 16, 32, 3, 1, 1),
    # ResNet-18 (and ResNet-50's 1x1 reduce) at ImageNet sizes, batch 8
    ConvSpec("r18 stem 7x7/2 3->64 @224", 3, 64, 224, 7, 2, 3, batch=8, first=True),
    ConvSpec("r18 conv3x3 64->64 @56", 64, 64, 56, 3, 1, 1, batch=8),
    ConvSpec("r18 conv3x3 128->128 @28", 128, 128, 28, 3, 1, 1, batch=8),
    ConvSpec("r18 conv3x3/2 64->128 @56", 64, 128, 56, 3, 2, 1, batch=8),
    ConvSpec("r18 downsample 1x1/2 64->128 @56", 64, 128, 56, 1, 2, 0, batch=8),
    ConvSpec("r50 conv1x1 256->64 @56", 256, 64, 56, 1, 1, 0, batch=8),
    # MobileNetV2's depthwise 3x3 layers
    ConvSpec("mbv2 dw3x3 144 @56", 144, 144, 56, 3, 1, 1, groups=144, batch=8),
    ConvSpec("mbv2 dw3x3/2 144 @56", 144, 144, 56, 3, 2, 1, groups=144, batch=8),
    ConvSpec("mbv2 dw3x3 384 @14", 384, 384, 14, 3, 1, 1, groups=384, batch=8),
    # EfficientNet-B0's depthwise 5x5 layers (stages 3, 5 and 6)
    ConvSpec("effnet dw5x5/2 144 @56", 144, 144, 56, 5, 2, 2, groups=144, batch=8),
    ConvSpec("effnet dw5x5 240 @28", 240, 240, 28, 5, 1, 2, groups=240, batch=8),
    ConvSpec("effnet dw5x5 672 @14", 672, 672, 14, 5, 1, 2, groups=672, batch=8),
    ConvSpec("effnet dw5x5 1152 @7", 1152, 1152, 7, 5, 1, 2, groups=1152, batch=8),
    # pooling, BN+ReLU, linear
    PoolSpec("r18 maxpool 3x3/2 64 @112", "max", 64, 112, 3, 2, 1, batch=8),
    PoolSpec("r18 global avgpool 512 @7", "gavg", 512, 7, batch=32),
    BNReLUSpec("bn+relu 64 @56", 64, 56, batch=8),
    LinearSpec("linear 2048->256", 2048, 256, batch=64),
    LinearSpec("linear 512->1000", 512, 1000, batch=64),
    # whole models on 3x32x32 images
    ModelSpec("seed_cnn", "seed_cnn", "train", 64),
    ModelSpec("seed_cnn", "seed_cnn", "infer", 1),
    ModelSpec("seed_cnn", "seed_cnn", "infer", 64),
    ModelSpec("resnet20", "resnet20", "train", 64),
    ModelSpec("resnet20", "resnet20", "infer", 64),
    # MobileNetV2 (torchvision's layout: depthwise + 1x1 convolutions, BN + ReLU6, residual adds)
    # training at batch 32 on 64x64 images: its memory-bound ops weigh as at 224, in a quick step
    ModelSpec("mobilenet_v2 @64", "mobilenet_v2", "train", 32, image=(3, 64, 64)),
    # the tutorial's table (torchvision's definitions): a training step at batch 16 on 64x64
    # images (the smallest size all their poolings allow, and a step that fits a quick run),
    # inference at batch 1 on 224x224 ImageNet images
    *[ModelSpec(m, m, "train", 16, image=(3, 64, 64)) for m in TABLE_MODELS],
    *[ModelSpec(m + " @224", m, "infer", 1, image=(3, 224, 224)) for m in TABLE_MODELS],
]


from .compiled import CASES as _COMPILED  # noqa: E402  (it builds on this module's Spec and Row)

SUITE += _COMPILED


def select(ops=None, cases=None, suite=None):
    """The specs of the suite in the op groups `ops` whose names contain one of `cases`
    (case-insensitive substrings); None selects all."""
    out = []
    for spec in SUITE if suite is None else suite:
        if ops is not None and spec.group not in ops:
            continue
        if cases and not any(c.lower() in spec.name.lower() for c in cases):
            continue
        out.append(spec)
    return out
