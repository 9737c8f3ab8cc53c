"""The layers whose trace, ONNX export, import and compiled fallback came together (issue 14's
follow-up): name -> (make the layer in eval mode, input shape without the batch, the graph ops
trace gives, the lowest opset ONNX spells it in). Used by test_trace.py and test_onnx_export.py."""
import numpy as np

from cnncore import functional as F
from cnncore import nn

_RNG = np.random.default_rng(14)


def _randomized(m):
    """Affine parameters and running statistics away from their init, so outputs depend on them."""
    for name in ("weight", "bias"):
        p = getattr(m, name, None)
        if p is not None and p.data.ndim <= 3 and name in m._parameters:
            p.data = _RNG.uniform(0.5, 1.5, p.shape).astype(np.float32)
    if getattr(m, "running_mean", None) is not None:
        m.running_mean = _RNG.normal(0, 0.1, m.running_mean.shape).astype(np.float32)
        m.running_var = _RNG.uniform(0.5, 1.5, m.running_var.shape).astype(np.float32)
    return m.eval()


class Fn(nn.Module):
    """A functional op as a module."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _conv_mode(mode):
    return lambda: nn.Sequential(nn.Conv2d(4, 6, 3, padding=(1, 2), padding_mode=mode), nn.ReLU()).eval()


NEW_LAYERS = {
    "group_norm": (lambda: _randomized(nn.GroupNorm(2, 8)), (8, 5, 5), ["GroupNormalization"], 17),
    "group_norm_no_affine": (lambda: nn.GroupNorm(4, 8, affine=False).eval(), (8, 5, 4), ["GroupNormalization"], 17),
    "layer_norm_chw": (lambda: _randomized(nn.LayerNorm((4, 5, 5))), (4, 5, 5), ["LayerNormalization"], 17),
    "layer_norm_last": (lambda: _randomized(nn.LayerNorm(5, bias=False)), (4, 3, 5), ["LayerNormalization"], 17),
    "instance_norm": (lambda: _randomized(nn.InstanceNorm2d(4, affine=True)), (4, 5, 5),
                      ["InstanceNormalization"], 17),
    "instance_norm_plain": (lambda: nn.InstanceNorm2d(4).eval(), (4, 5, 5), ["InstanceNormalization"], 17),
    "instance_norm_running": (lambda: _randomized(nn.InstanceNorm2d(4, track_running_stats=True)), (4, 5, 5),
                              ["BatchNormalization"], 17),
    "batch_norm_1d": (lambda: nn.Sequential(nn.Flatten(), _randomized(nn.BatchNorm1d(36))).eval(), (4, 3, 3),
                      ["Flatten", "BatchNormalization"], 17),
    "batch_norm_1d_3d": (lambda: _randomized(nn.BatchNorm1d(4)), (4, 7), ["BatchNormalization"], 17),
    "elu": (lambda: nn.ELU(0.7).eval(), (4, 3, 3), ["Elu"], 17),
    "mish": (lambda: nn.Mish().eval(), (4, 3, 3), ["Mish"], 17),
    "conv_transpose": (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1).eval(), (4, 5, 4),
                       ["ConvTranspose"], 17),
    "conv_transpose_groups_dilation": (lambda: nn.ConvTranspose2d(4, 6, 3, groups=2, dilation=2, bias=False).eval(),
                                       (4, 4, 4), ["ConvTranspose"], 17),
    "conv_reflect": (_conv_mode("reflect"), (4, 5, 6), ["Pad", "Conv", "Relu"], 17),
    "conv_replicate": (_conv_mode("replicate"), (4, 5, 6), ["Pad", "Conv", "Relu"], 17),
    "conv_circular": (_conv_mode("circular"), (4, 5, 6), ["Pad", "Conv", "Relu"], 19),
    "zero_pad": (lambda: nn.ZeroPad2d((1, 2, 0, 3)).eval(), (4, 3, 3), ["Pad"], 17),
    "constant_pad": (lambda: nn.ConstantPad2d(1, 0.5).eval(), (4, 3, 3), ["Pad"], 17),
    "constant_pad_crop": (lambda: nn.ConstantPad2d((-1, 2, 0, -1), -0.5).eval(), (4, 5, 5), ["Pad"], 17),
    "reflection_pad": (lambda: nn.ReflectionPad2d((2, 1, 0, 2)).eval(), (4, 4, 4), ["Pad"], 17),
    "replication_pad": (lambda: nn.ReplicationPad2d(2).eval(), (4, 3, 3), ["Pad"], 17),
    "circular_pad": (lambda: nn.CircularPad2d((1, 0, 2, 1)).eval(), (4, 3, 3), ["Pad"], 19),
    "f_pad": (lambda: Fn(lambda x: F.relu(F.pad(x, (1, 1, 2, 0), mode="reflect"))).eval(), (4, 4, 4),
              ["Pad", "Relu"], 17),
    "upsample_nearest": (lambda: nn.Upsample(scale_factor=2).eval(), (4, 3, 5), ["Resize"], 17),
    "upsample_nearest_size": (lambda: nn.Upsample(size=(7, 4)).eval(), (4, 3, 5), ["Resize"], 17),
    "upsample_nearest_exact": (lambda: nn.Upsample(scale_factor=1.5, mode="nearest-exact").eval(), (4, 4, 5),
                               ["Resize"], 17),
    "upsample_bilinear": (lambda: nn.Upsample(scale_factor=2, mode="bilinear").eval(), (4, 3, 5), ["Resize"], 17),
    "upsample_bilinear_align": (lambda: nn.UpsamplingBilinear2d(size=(7, 4)).eval(), (4, 3, 5), ["Resize"], 17),
    "f_interpolate": (lambda: Fn(lambda x: F.interpolate(x, scale_factor=(1.5, 0.5), mode="bilinear",
                                                         align_corners=True)).eval(), (4, 4, 6), ["Resize"], 17),
    "pixel_shuffle": (lambda: nn.PixelShuffle(2).eval(), (8, 3, 2), ["DepthToSpace"], 17),
    "pixel_unshuffle": (lambda: nn.PixelUnshuffle(2).eval(), (3, 4, 6), ["Reshape", "Transpose", "Reshape"], 17),
    "dropout2d": (lambda: nn.Sequential(nn.Dropout2d(0.3), nn.ReLU()).eval(), (4, 3, 3), ["Relu"], 17),
}


def example(shape, batch, seed=0):
    return np.random.default_rng(seed).standard_normal((batch,) + tuple(shape)).astype(np.float32)
