"""Recorded resampling ops on Tensors: transposed convolution, interpolation, pixel shuffle and
padding. Each computes its value at once and records a node whose backward is one kernel call
(the transposed convolution's are the convolution kernels, see functional._conv_transpose)."""
from .. import _kernels
from ..functional import _conv_transpose as CT
from ..functional import _pad as P
from ..functional import _resample as R
from ..functional._conv import PackedConv
from ..functional._layout import Blocked
from .lazy import blocked_input
from .ops import as_tensor, output, recording
from .tracehook import traced
from .values import as_blocked, as_plain


# ----------------------------------------------------------------- transposed convolution ---

def conv_transpose2d_module(x, packed, g, weight, bias):
    """The ConvTranspose2d layer: x a Tensor, weight and bias the module's Parameters."""
    xb = blocked_input(x)
    params = (weight,) if bias is None else (weight, bias)
    y = CT.conv_transpose2d_blocked(xb, packed, g, None if bias is None else bias.data)
    keep = recording([x], params) and weight.requires_grad
    saved = xb if keep else None

    def backward(grad, needs):
        dyb = as_blocked(grad)
        if saved is not None:
            weight.accumulate_grad(CT.conv_transpose2d_weight_grad_blocked(dyb, saved, packed, g))
        if bias is not None and bias.requires_grad:
            bias.accumulate_grad(_kernels.bias_grad(dyb.data, g.c_in))
        return [CT.conv_transpose2d_input_grad_blocked(dyb, packed, g) if needs[0] else None]

    return output(y, (g.n, g.c_in, g.h, g.w), [x], "ConvTranspose2d", backward, params)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed convolution with Tensor (or array) input, weight and bias: each gets its
    gradient when it requires one."""
    x, w = as_tensor(input, "input"), as_tensor(weight, "weight")
    b = None if bias is None else as_tensor(bias, "bias")
    if x.ndim != 4:
        raise ValueError("input: expected a 4-d tensor (N, C_in, H, W), got shape %s" % (x.shape,))
    if w.ndim != 4:
        raise ValueError("weight: expected a 4-d tensor (C_in, C_out/groups, KH, KW), got shape %s"
                         % (w.shape,))
    g = CT.conv_transpose_geometry(x.shape, w.shape, stride, padding, output_padding, groups, dilation)
    if b is not None and b.shape != (g.c_in,):
        raise ValueError("bias: expected shape (%d,), got %s" % (g.c_in, b.shape))
    packed = PackedConv(as_plain(w.value), groups)
    xb = blocked_input(x)
    y = CT.conv_transpose2d_blocked(xb, packed, g, None if b is None else as_plain(b.value))
    inputs = [x, w] if b is None else [x, w, b]

    def backward(grad, needs):
        dyb = as_blocked(grad)
        out = [CT.conv_transpose2d_input_grad_blocked(dyb, packed, g) if needs[0] else None,
               CT.conv_transpose2d_weight_grad_blocked(dyb, xb, packed, g) if needs[1] else None]
        if b is not None:
            out.append(_kernels.bias_grad(dyb.data, g.c_in) if needs[2] else None)
        return out

    return output(y, (g.n, g.c_in, g.h, g.w), inputs, "ConvTranspose2d", backward)


# ------------------------------------------------------------------------- interpolation ---

@traced("interpolate")
def interpolate(x, g):
    """Interpolation of a 4-d Tensor with an InterpGeometry g."""
    y = R.interpolate_blocked(blocked_input(x), g)

    def backward(grad, needs):
        return [R.interpolate_backward_blocked(as_blocked(grad), g)]

    return output(y, (g.n, g.c, g.oh, g.ow), [x], "Upsample", backward)


@traced("pixel_shuffle")
def pixel_shuffle(x, r, up):
    """pixel_shuffle (up) or pixel_unshuffle of a 4-d Tensor by factor r (shape checked)."""
    v = x.value
    y = R.shuffle_plain(as_plain(v), r, up)
    blk = isinstance(v, Blocked)

    def backward(grad, needs):
        d = R.shuffle_plain(as_plain(grad), r, not up)
        return [as_blocked(d) if blk else d]

    return output(as_blocked(y) if blk else y, y.shape, [x], "PixelShuffle" if up else "PixelUnshuffle",
                  backward)


# ------------------------------------------------------------------------------- padding ---

@traced("pad")
def pad(x, g):
    """Padding of a 4-d Tensor with a PadGeometry g."""
    y = P.pad_blocked(blocked_input(x), g)

    def backward(grad, needs):
        return [P.pad_backward_blocked(as_blocked(grad), g)]

    return output(y, g.out_shape, [x], "Pad", backward)
