"""Residual blocks with torchvision's child names, so state_dicts move between the two:
BasicBlock and Bottleneck (ResNet), InvertedResidual (MobileNetV2). Inside a block activations
stay blocked and BN+ReLU, BN+add+ReLU run fused."""
from ..functional._activation import add_blocked
from . import _flow
from .activation import ReLU, ReLU6
from .conv import Conv2d
from .container import Sequential
from .module import Module
from .norm import BatchNorm2d


def _downsample(inplanes, outplanes, stride):
    if stride != 1 or inplanes != outplanes:
        return Sequential(Conv2d(inplanes, outplanes, 1, stride=stride, bias=False), BatchNorm2d(outplanes))
    return None


class _Residual(Module):
    """Shared forward/backward plumbing: `_body` / `_body_backward` are the block's own."""

    def forward(self, x):
        xb, was_array = _flow.enter(x, self)
        yb = self._body(xb)
        self._cache = (was_array, yb.shape)
        return _flow.leave(yb, was_array)

    def backward(self, grad_output, input_grad=True):
        if getattr(self, "_cache", None) is None:
            raise _flow.no_cache_error(self)
        was_array, out_shape = self._cache
        self._cache = None
        dyb = _flow.grad_enter(grad_output, out_shape, self)
        return _flow.leave(self._body_backward(dyb), was_array)

    def _identity(self, xb):
        return xb if self.downsample is None else self.downsample(xb)

    def _identity_backward(self, d_identity):
        return d_identity if self.downsample is None else self.downsample.backward(d_identity)


class BasicBlock(_Residual):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x)): two 3x3 convolutions, as
    torchvision's BasicBlock(inplanes, planes, stride=1, downsample=None). The downsample
    (1x1 conv + BN) is made when stride != 1 or inplanes != planes."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNorm2d(planes)
        self.relu = ReLU(inplace=True)
        self.conv2 = Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = BatchNorm2d(planes)
        self.downsample = downsample if downsample is not None else _downsample(inplanes, planes, stride)
        self.stride = stride

    def _body(self, xb):
        out = self.bn1.forward(self.conv1(xb), relu=True)
        _flow.record(self.relu, out.shape, out.shape)
        out = self.bn2.forward(self.conv2(out), residual=self._identity(xb))
        _flow.record(self.relu, out.shape, out.shape)
        return out

    def _body_backward(self, dyb):
        d, d_identity = self.bn2.backward(dyb)
        d = self.bn1.backward(self.conv2.backward(d))
        return add_blocked(self.conv1.backward(d), self._identity_backward(d_identity))


class Bottleneck(_Residual):
    """1x1 reduce, 3x3 (carrying the stride), 1x1 expand (x4), plus the shortcut, as torchvision's
    Bottleneck(inplanes, planes, stride=1, downsample=None)."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = BatchNorm2d(planes)
        self.conv2 = Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = BatchNorm2d(planes)
        self.conv3 = Conv2d(planes, out, 1, bias=False)
        self.bn3 = BatchNorm2d(out)
        self.relu = ReLU(inplace=True)
        self.downsample = downsample if downsample is not None else _downsample(inplanes, out, stride)
        self.stride = stride

    def _body(self, xb):
        out = self.bn1.forward(self.conv1(xb), relu=True)
        _flow.record(self.relu, out.shape, out.shape)
        out = self.bn2.forward(self.conv2(out), relu=True)
        _flow.record(self.relu, out.shape, out.shape)
        out = self.bn3.forward(self.conv3(out), residual=self._identity(xb))
        _flow.record(self.relu, out.shape, out.shape)
        return out

    def _body_backward(self, dyb):
        d, d_identity = self.bn3.backward(dyb)
        d = self.bn2.backward(self.conv3.backward(d))
        d = self.bn1.backward(self.conv2.backward(d))
        return add_blocked(self.conv1.backward(d), self._identity_backward(d_identity))


def conv_bn_act(inp, oup, kernel_size=3, stride=1, groups=1, activation=ReLU6):
    """Sequential(Conv2d (no bias), BatchNorm2d, activation): torchvision's Conv2dNormActivation."""
    return Sequential(Conv2d(inp, oup, kernel_size, stride, (kernel_size - 1) // 2, groups=groups, bias=False),
                      BatchNorm2d(oup), activation(inplace=True))


class InvertedResidual(_Residual):
    """MobileNetV2's block: 1x1 expand (+BN+ReLU6, skipped when expand_ratio == 1), 3x3 depthwise
    (+BN+ReLU6), 1x1 linear projection (+BN), and the identity shortcut when stride == 1 and
    inp == oup. Child names as torchvision's (conv.0.0.weight, ...)."""

    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError("stride: expected 1 or 2, got %r" % (stride,))
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(conv_bn_act(inp, hidden, kernel_size=1))
        layers += [conv_bn_act(hidden, hidden, stride=stride, groups=hidden),
                   Conv2d(hidden, oup, 1, bias=False), BatchNorm2d(oup)]
        self.conv = Sequential(*layers)
        self.downsample = None

    def _body(self, xb):
        out = self.conv(xb)
        return add_blocked(out, xb) if self.use_res_connect else out

    def _body_backward(self, dyb):
        d = self.conv.backward(dyb)
        return add_blocked(d, dyb) if self.use_res_connect else d
