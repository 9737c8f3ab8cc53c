"""The optional onnx dependency, imported where it is needed."""


def require_onnx():
    """The onnx package, or ImportError saying how to install it."""
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("cnncore.onnx needs the onnx package: pip install 'cnncore[onnx]' (%s)" % exc) from None
    return onnx
