"""Weights in and out without PyTorch: `save(state_dict, path)` and `load(path)`.

Formats by file extension: `.npz` (NumPy, always available), `.safetensors` (needs the
`safetensors` package: the optional extra `cnncore[safetensors]`), and anything else read as a
PyTorch `torch.save(model.state_dict(), path)` file when torch is installed (loaded with
`weights_only=True`, so no code in the file runs). Keys and array layouts are PyTorch's, so a
checkpoint of a torchvision model loads into the cnncore model of the same name.
"""
import json
import os

import numpy as np

__all__ = ["save", "load"]

_FORMATS = (".npz", ".safetensors")
_ORDER_KEY = "cnncore.key_order"


def _path_arg(path):
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError("path: expected a str or os.PathLike, got %s" % type(path).__name__)
    return os.fspath(path) if not isinstance(path, bytes) else os.fsdecode(path)


def _ext(path):
    return os.path.splitext(path)[1].lower()


def _safetensors_numpy():
    try:
        import safetensors.numpy as st
    except ImportError:
        raise ImportError("path: .safetensors files need the `safetensors` package "
                          "(pip install 'cnncore[safetensors]')") from None
    return st


def _arrays(state_dict):
    if not isinstance(state_dict, dict):
        raise TypeError("state_dict: expected a dict of arrays (model.state_dict()), got %s"
                        % type(state_dict).__name__)
    out = {}
    for k, v in state_dict.items():
        if not isinstance(k, str) or not k:
            raise TypeError("state_dict: expected non-empty str keys, got %r" % (k,))
        arr = np.asarray(v)
        if arr.dtype.kind not in "biuf":
            raise TypeError("state_dict[%r]: expected a numeric array, got dtype %s" % (k, arr.dtype))
        out[k] = np.array(arr, order="C", copy=None)  # (ascontiguousarray makes 0-d arrays 1-d)
    return out


def save(state_dict, path):
    """Write a state_dict (str keys -> numeric arrays, e.g. `model.state_dict()`) to `path`:
    `.npz` or `.safetensors`, by its extension. Dtypes are kept (int64 `num_batches_tracked`)."""
    path = _path_arg(path)
    ext = _ext(path)
    if ext not in _FORMATS:
        raise ValueError("path: expected a .npz or .safetensors file name, got %r" % (path,))
    arrays = _arrays(state_dict)
    if ext == ".npz":
        with open(path, "wb") as f:  # a file object: np.savez would append .npz to other names
            np.savez(f, **arrays)
    else:  # safetensors sorts its tensors: the key order goes into the metadata
        _safetensors_numpy().save_file(arrays, path, metadata={_ORDER_KEY: json.dumps(list(arrays))})


def _load_torch(path):
    try:
        import torch
    except ImportError:
        raise ImportError("path: %r is neither .npz nor .safetensors; reading it as a PyTorch file "
                          "needs torch installed" % (path,)) from None
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(obj, dict):
        raise ValueError("path: %r holds a %s, not a state_dict (save model.state_dict())"
                         % (path, type(obj).__name__))
    out = {}
    for k, v in obj.items():
        if not isinstance(v, torch.Tensor):
            raise ValueError("path: %r is not a state_dict: key %r holds a %s" % (path, k, type(v).__name__))
        out[k] = v.detach().cpu().numpy().copy()
    return out


def load(path):
    """Read a state_dict from `path` (.npz, .safetensors, or a torch.save'd state_dict when torch
    is installed) as a dict of NumPy arrays, in the file's key order; pass it to
    `model.load_state_dict`."""
    path = _path_arg(path)
    if not os.path.isfile(path):
        raise FileNotFoundError("path: no such file %r" % (path,))
    ext = _ext(path)
    if ext == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    if ext == ".safetensors":
        arrays = _safetensors_numpy().load_file(path)
        from safetensors import safe_open

        with safe_open(path, framework="np") as f:
            order = json.loads((f.metadata() or {}).get(_ORDER_KEY, "[]"))
        if sorted(order) != sorted(arrays):
            order = list(arrays)
        return {k: arrays[k] for k in order}
    return _load_torch(path)
