"""cnncore: a CPU engine for convolutional neural networks.

C and Cython kernels, parallel with OpenMP, on a blocked channel layout (NCHW16c), compiled once per
ISA level (AVX-512, AVX2, portable C) and chosen at import from what the CPU supports; set
CNNCORE_ISA=avx512|avx2|generic to cap the level. The public API takes and returns NCHW float32
NumPy arrays and PyTorch's weight layouts.
"""
__version__ = "0.1.0"

from ._config import (  # noqa: E402
    available_isas,
    config,
    get_isa,
    get_num_threads,
    set_isa,
    set_num_threads,
    show_config,
    _buffer_pool_from_environment,
    _isa_from_environment,
    release_buffers,
)
from ._random import manual_seed  # noqa: E402

_isa_from_environment()
_buffer_pool_from_environment()

from .autograd import Tensor, cat, enable_grad, is_grad_enabled, no_grad, set_grad_enabled, stack  # noqa: E402
from . import functional  # noqa: E402
from . import nn  # noqa: E402
from . import optim  # noqa: E402
from . import data, models, train  # noqa: E402
from .serialization import load, save  # noqa: E402
from .plan import compile  # noqa: E402,A001

__all__ = [
    "Tensor", "available_isas", "cat", "compile", "config", "data", "enable_grad", "functional", "get_isa",
    "get_num_threads", "is_grad_enabled", "manual_seed", "models", "nn", "no_grad", "optim",
    "release_buffers", "set_grad_enabled", "set_isa", "set_num_threads", "show_config", "stack", "train", "__version__",
    "save", "load",
]
