"""The bench's compiled-inference cases (group "compiled"): one model and batch, three rows:
eager cnncore ("eager"), cnncore.compile ("compiled"), both beside PyTorch eager (inference
mode) when PyTorch is installed, and ONNX Runtime ("ort") when onnxruntime is installed: the
model exported from its PyTorch twin with torch.onnx (opset 17), run by an InferenceSession with
as many intra-op threads as cnncore uses, timed in a row of its own (never interleaved)."""
import io
import warnings

import numpy as np

from .. import compile as compile_model
from .. import models
from .._config import get_num_threads
from ..autograd import no_grad
from .suite import Row, Spec, _randn, model_flops

OPSET = 17


def onnxruntime_session(torch, tm, x):
    """An ONNX Runtime session running torch model `tm` exported for input x's shape, or None
    when onnxruntime (or the onnx package torch's exporter needs) is not installed."""
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
        import onnxruntime as ort
    except ImportError:
        return None
    buf = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated; it needs no onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(tm, (torch.from_numpy(x),), buf, opset_version=OPSET, dynamo=False,
                          input_names=["input"], output_names=["output"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = get_num_threads()
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(buf.getvalue(), options, providers=["CPUExecutionProvider"])
    return lambda: session.run(None, {"input": x})


class CompiledSpec(Spec):
    """A model in eval mode on random images of shape `image`: eager, compiled and ONNX Runtime."""

    group = "compiled"

    def __init__(self, name, model, batch, image=(3, 32, 32), num_classes=10):
        super().__init__(name, batch)
        self.model, self.image, self.num_classes = model, image, num_classes
        self.passes = ("eager", "compiled", "ort")

    def build(self, batch, with_numpy=True, torch=None):
        from .. import _random

        _random.manual_seed(0)
        model = models.get_model(self.model, num_classes=self.num_classes, in_channels=self.image[0]).eval()
        x = _randn(np.random.default_rng(0), (batch,) + tuple(self.image))
        flops = model_flops(model, x.shape, False)
        fast = compile_model(model)
        fast(x)  # the plan for this shape is built here, not in the timed calls
        tf = ort = None
        if torch is not None:
            from . import torch_twins

            tm = torch_twins.from_cnncore(self.model, model).eval()
            xt = torch.from_numpy(x)

            def tf():
                with torch.inference_mode():
                    return tm(xt)

            ort = onnxruntime_session(torch, tm, x)
        def eager():  # inference without recording a graph, as PyTorch's side
            with no_grad():
                return model(x)

        rows = [Row(self.group, self.name, "eager", batch, flops, None, eager, None, tf),
                Row(self.group, self.name, "compiled", batch, flops, None, lambda: fast(x), None, tf)]
        if ort is not None:
            rows.append(Row(self.group, self.name, "ort", batch, flops, None, ort, None, None,
                            note="ONNX Runtime (in the cnncore columns)"))
        return rows


CASES = [
    CompiledSpec("seed_cnn 3x32x32", "seed_cnn", 1),
    CompiledSpec("seed_cnn 3x32x32", "seed_cnn", 64),
    CompiledSpec("resnet18 3x224x224", "resnet18", 1, (3, 224, 224), 1000),
    CompiledSpec("mobilenet_v2 3x224x224", "mobilenet_v2", 1, (3, 224, 224), 1000),
    # batch 64 at 224x224 takes seconds per call: the batch-64 rows use 64x64 images
    CompiledSpec("resnet18 3x64x64", "resnet18", 64, (3, 64, 64), 1000),
    CompiledSpec("mobilenet_v2 3x64x64", "mobilenet_v2", 64, (3, 64, 64), 1000),
]
