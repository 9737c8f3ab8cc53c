"""Float64 reference compositions of cnncore's layers, blocks and models, built only from the
functions of reference.py and written from PyTorch's / torchvision's definitions (not from
cnncore's code): a network's forward and backward, its parameter gradients and its new BatchNorm
running statistics, for a given state_dict.

    ref = build(module, state_dict)        # mirrors module's structure; reads values from state_dict
    y = ref.forward(x)
    dx = ref.backward(dy)
    ref.grads       # {"layer1.0.conv1.weight": ..., ...}
    ref.new_state   # {"bn1.running_mean": ..., "bn1.num_batches_tracked": ..., ...}
"""
import numpy as np

from cnncore import models, nn
import reference as R


class _Ctx:
    def __init__(self, state):
        self.state = state
        self.grads = {}
        self.new_state = {}


class _Node:
    def __init__(self, module, prefix, ctx):
        self.m, self.prefix, self.ctx = module, prefix, ctx

    def p(self, name):
        key = self.prefix + name
        return self.ctx.state[key] if key in self.ctx.state else None

    def add_grad(self, name, g):
        key = self.prefix + name
        self.ctx.grads[key] = self.ctx.grads.get(key, 0) + g


class Conv(_Node):
    def forward(self, x):
        self.x = x
        m = self.m
        return R.conv2d(x, self.p("weight"), self.p("bias"), m.stride, m.padding, m.dilation, m.groups)

    def backward(self, g):
        m = self.m
        gx, gw, gb = R.conv2d_backward(g, self.x, self.p("weight"), m.stride, m.padding, m.dilation,
                                       m.groups)
        self.add_grad("weight", gw)
        if self.p("bias") is not None:
            self.add_grad("bias", gb)
        return gx


class BN(_Node):
    def forward(self, x):
        m = self.m
        rm, rv = self.p("running_mean"), self.p("running_var")
        self.batch = m.training or rm is None
        momentum = m.momentum
        nbt = self.p("num_batches_tracked")
        if m.training and rm is not None:
            nbt = int(nbt) + 1
            self.ctx.new_state[self.prefix + "num_batches_tracked"] = nbt
            if momentum is None:
                momentum = 1.0 / nbt
        y, self.mean, self.invstd, nrm, nrv = R.batch_norm(
            x, rm, rv, self.p("weight"), self.p("bias"), self.batch,
            momentum if momentum is not None else 0.0, m.eps)
        if m.training and rm is not None:
            self.ctx.new_state[self.prefix + "running_mean"] = nrm
            self.ctx.new_state[self.prefix + "running_var"] = nrv
        self.x = x
        return y

    def backward(self, g):
        gx, gw, gb = R.batch_norm_backward(g, self.x, self.p("weight"), self.mean, self.invstd, self.batch)
        if self.p("weight") is not None:
            self.add_grad("weight", gw)
            self.add_grad("bias", gb)
        return gx


class ReLU(_Node):
    def forward(self, x):
        self.y = R.relu(x)
        return self.y

    def backward(self, g):
        return R.relu_backward(g, self.y)


class ReLU6(_Node):
    def forward(self, x):
        self.y = np.clip(x, 0, 6)
        return self.y

    def backward(self, g):
        return np.where((self.y > 0) & (self.y < 6), g, 0.0)


class MaxPool(_Node):
    def forward(self, x):
        m = self.m
        self.shape = x.shape
        y, self.idx = R.max_pool2d(x, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode)
        return y

    def backward(self, g):
        return R.max_pool2d_backward(g, self.idx, self.shape)


class AvgPool(_Node):
    def args(self):
        m = self.m
        return (m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad, m.divisor_override)

    def forward(self, x):
        self.shape = x.shape
        return R.avg_pool2d(x, *self.args())

    def backward(self, g):
        return R.avg_pool2d_backward(g, self.shape, *self.args())


class Adaptive(_Node):
    def forward(self, x):
        self.shape = x.shape
        return R.adaptive_avg_pool2d(x, self.m.output_size)

    def backward(self, g):
        return R.adaptive_avg_pool2d_backward(g, self.shape)


class Flatten(_Node):
    def forward(self, x):
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, g):
        return g.reshape(self.shape)


class Linear(_Node):
    def forward(self, x):
        self.x = x
        return R.linear(x, self.p("weight"), self.p("bias"))

    def backward(self, g):
        gx, gw, gb = R.linear_backward(g, self.x, self.p("weight"))
        self.add_grad("weight", gw)
        if self.p("bias") is not None:
            self.add_grad("bias", gb)
        return gx


class Identity(_Node):
    def forward(self, x):
        return x

    def backward(self, g):
        return g


class Dropout(_Node):
    """Only eval mode (or p == 0) has a reference: the mask is cnncore's own."""

    def forward(self, x):
        assert not self.m.training or self.m.p == 0, "no reference for a training-mode dropout"
        return x

    def backward(self, g):
        return g


class Chain(_Node):
    """Children (name, node) run in order."""

    def __init__(self, module, prefix, ctx, names):
        super().__init__(module, prefix, ctx)
        self.nodes = [_build(getattr(module, n), prefix + n + ".", ctx) for n in names]

    def forward(self, x):
        for n in self.nodes:
            x = n.forward(x)
        return x

    def backward(self, g):
        for n in reversed(self.nodes):
            g = n.backward(g)
        return g


def _sequential(module, prefix, ctx):
    return Chain(module, prefix, ctx, list(module._modules))


class Residual(_Node):
    """relu(body(x) + shortcut(x)) for BasicBlock / Bottleneck (torchvision's forward)."""

    def __init__(self, module, prefix, ctx, body):
        super().__init__(module, prefix, ctx)
        self.body = Chain(module, prefix, ctx, body)
        self.short = (None if module.downsample is None
                      else _build(module.downsample, prefix + "downsample.", ctx))

    def forward(self, x):
        out = self.body.forward(x)
        identity = x if self.short is None else self.short.forward(x)
        self.y = R.relu(out + identity)
        return self.y

    def backward(self, g):
        g = R.relu_backward(g, self.y)
        gx = self.body.backward(g)
        return gx + (g if self.short is None else self.short.backward(g))


def _basic(module, prefix, ctx):
    r = Residual(module, prefix, ctx, ["conv1", "bn1", "conv2", "bn2"])
    r.body.nodes.insert(2, ReLU(None, prefix, ctx))
    return r


def _bottleneck(module, prefix, ctx):
    r = Residual(module, prefix, ctx, ["conv1", "bn1", "conv2", "bn2", "conv3", "bn3"])
    r.body.nodes.insert(4, ReLU(None, prefix, ctx))
    r.body.nodes.insert(2, ReLU(None, prefix, ctx))
    return r


class Inverted(_Node):
    """x + conv(x) when stride 1 and inp == oup, else conv(x) (torchvision's InvertedResidual)."""

    def __init__(self, module, prefix, ctx):
        super().__init__(module, prefix, ctx)
        self.conv = _build(module.conv, prefix + "conv.", ctx)

    def forward(self, x):
        out = self.conv.forward(x)
        return x + out if self.m.use_res_connect else out

    def backward(self, g):
        gx = self.conv.backward(g)
        return gx + g if self.m.use_res_connect else gx


class ResNetRef(_Node):
    """torchvision's ResNet.forward: conv1 bn1 relu maxpool layer1..N avgpool flatten fc."""

    def __init__(self, module, prefix, ctx):
        super().__init__(module, prefix, ctx)
        names = ["conv1", "bn1", "relu", "maxpool"] + list(module._stages) + ["avgpool", "flatten", "fc"]
        self.chain = Chain(module, prefix, ctx, names)

    def forward(self, x):
        return self.chain.forward(x)

    def backward(self, g):
        return self.chain.backward(g)


def _features_classifier(module, prefix, ctx):
    """features, [flatten (MobileNetV2, as torchvision's forward)], classifier."""
    names = ["features"] + (["flatten"] if isinstance(module, models.MobileNetV2) else []) + ["classifier"]
    return Chain(module, prefix, ctx, names)


_TABLE = [
    (nn.Conv2d, Conv), (nn.BatchNorm2d, BN), (nn.ReLU6, ReLU6), (nn.ReLU, ReLU),
    (nn.MaxPool2d, MaxPool), (nn.AvgPool2d, AvgPool), (nn.AdaptiveAvgPool2d, Adaptive),
    (nn.Flatten, Flatten), (nn.Linear, Linear), (nn.Identity, Identity), (nn.Dropout, Dropout),
    (nn.Sequential, _sequential), (nn.BasicBlock, _basic), (nn.Bottleneck, _bottleneck),
    (nn.InvertedResidual, Inverted), (models.ResNet, ResNetRef),
    (models.SeedCNN, _features_classifier), (models.LeNet5, _features_classifier),
    (models.MobileNetV2, _features_classifier),
]


def _build(module, prefix, ctx):
    for cls, make in _TABLE:
        if type(module) is cls:
            return make(module, prefix, ctx)
    raise TypeError("no reference for %s" % type(module).__name__)


class RefNet:
    def __init__(self, module, state):
        self.ctx = _Ctx({k: np.asarray(v, dtype=np.float64) if np.asarray(v).dtype.kind == "f" else v
                         for k, v in state.items()})
        self.root = _build(module, "", self.ctx)

    @property
    def grads(self):
        return self.ctx.grads

    @property
    def new_state(self):
        return self.ctx.new_state

    def forward(self, x):
        return self.root.forward(np.asarray(x, dtype=np.float64))

    def backward(self, g):
        return self.root.backward(np.asarray(g, dtype=np.float64))


def build(module, state=None):
    return RefNet(module, module.state_dict() if state is None else state)
