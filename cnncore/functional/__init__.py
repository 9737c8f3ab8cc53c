"""Stateless operators on NumPy arrays, forward and backward.

Public functions take and return NCHW float32 arrays (any real dtype and memory order is accepted
and converted; inputs are never modified) and PyTorch's weight layouts. Each `f` has an
`f_backward` returning the gradients. The `*_blocked` functions are internal entry points on the
blocked NCHW16c layout (class Blocked) used by the layer API.
"""
from ._layout import Blocked, from_blocked, to_blocked
from ._conv import (
    ConvGeometry,
    PackedConv,
    conv2d,
    conv2d_backward,
    conv2d_backward_blocked,
    conv2d_blocked,
    conv2d_relu,
    conv2d_relu_backward,
    conv_geometry,
    relu_mask_blocked,
)
from ._conv_transpose import conv_transpose2d_backward  # noqa: F401
from ._resample import interpolate_backward  # noqa: F401
from ._pad import pad_backward  # noqa: F401
from ._pool import *  # noqa: F401,F403
from ._norm import *  # noqa: F401,F403
from ._activation import *  # noqa: F401,F403
from ._loss import *  # noqa: F401,F403
from ._linear import *  # noqa: F401,F403
from ._tensor_dispatch import *  # noqa: F401,F403,E402
from ._normalization import *  # noqa: F401,F403,E402
