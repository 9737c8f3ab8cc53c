"""The ONNX backend node tests (built by the onnx package) for the operators cnncore.onnx.load
runs: each float32 case either matches the expected output within the case's tolerance or, for the
variants listed in UNSUPPORTED, raises UnsupportedOperatorError at load time (never a wrong answer).

cnncore's layers need constant weights, so each case's inputs after the first become initializers.
"""
import fnmatch
import importlib

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import numpy_helper  # noqa: E402

from cnncore.onnx import UnsupportedOperatorError, load  # noqa: E402

# the onnx.backend.test.case.node modules of the supported operators (importing one builds its cases)
OP_MODULES = ["abs", "add", "averagepool", "batch_normalization", "clip", "concat", "constant", "conv",
              "convtranspose", "div",
              "dropout", "flatten", "gelu", "gemm", "globalaveragepool", "globalmaxpool", "hardsigmoid",
              "hardswish", "identity", "leakyrelu", "logsoftmax", "matmul", "maxpool", "mul", "pad", "pow",
              "reducemean", "reducesum", "relu", "reshape", "sigmoid", "softmax", "squeeze", "sub", "tanh",
              "unsqueeze"]

# the variants cnncore does not run (name patterns), and why
UNSUPPORTED = {
    "test_maxpool_[13]d_*": "1-d and 3-d pooling (2-d NCHW only)", "test_averagepool_[13]d_*": "",
    "test_maxpool_with_argmax_*": "second outputs (indices, batch statistics, mask)",
    "test_batchnorm_*_training_mode": "", "test_dropout_default_mask*": "",
    "test_averagepool_2d_same_*": "asymmetric padding left out of the average (count_include_pad=0)",
    "test_averagepool_2d_pads": "", "test_averagepool_2d_dilations": "dilated average pooling",
    "test_reshape_allowzero_*": "allowzero=1",
    "test_gemm_default_matrix_bias": "Gemm with a matrix C", "test_gemm_transposeA": "Gemm with transA",
    "test_gemm_all_attributes": "",
    "test_matmul_[134]d*": "MatMul beyond 2-d", "test_matmul_bcast": "",
    "test_pow": "a tensor or integer exponent", "test_pow_example": "", "test_pow_bcast_array": "",
    "test_pow_types_*": "", "test_constant_pad_*axes": "Pad's axes input",
    "test_training_dropout": "random dropout at inference", "test_training_dropout_default": "",
    "test_training_dropout_*mask": "",
    "test_convtranspose_[13]d": "1-d and 3-d transposed convolution",
    "test_convtranspose_output_shape": "output_shape / auto_pad SAME (give pads and output_padding)",
    "test_convtranspose_kernel_shape": "", "test_convtranspose_autopad_same": "",
}


def _cases():
    from onnx.backend.test.case import node as N

    for name in OP_MODULES:
        importlib.import_module("onnx.backend.test.case.node." + name)
    for case in N._NodeTestCases:
        ins, outs = case.data_sets[0]
        arrays = list(ins) + list(outs)
        if "_expanded" in case.name or not len(ins) or not all(isinstance(a, (np.ndarray, np.generic)) for a in arrays):
            continue
        if ins[0].dtype != np.float32:  # cnncore computes in float32 only
            continue
        yield case


CASES = list(_cases()) if onnx is not None else []


def _frozen(case):
    """The case's model with every input but the first turned into an initializer."""
    ins, _ = case.data_sets[0]
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    g = model.graph
    for vi, v in list(zip(g.input, ins))[1:]:
        g.initializer.append(numpy_helper.from_array(np.asarray(v), vi.name))
    while len(g.input) > 1:
        g.input.pop()
    return model


def test_the_selection_covers_the_operators():
    ops = {n.op_type for c in CASES for n in c.model.graph.node}
    assert not {"Conv", "ConvTranspose", "BatchNormalization", "Relu", "Clip", "MaxPool", "AveragePool", "Gemm", "Concat",
            "Softmax", "Reshape", "Pad", "GlobalAveragePool", "HardSwish", "ReduceMean"} - ops
    assert len(CASES) > 150


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_backend_node_case(case):
    ins, outs = case.data_sets[0]
    model = _frozen(case)
    if any(fnmatch.fnmatchcase(case.name, p) for p in UNSUPPORTED):
        with pytest.raises(UnsupportedOperatorError, match="node '"):
            load(model)(ins[0])
        return
    y = load(model)(ins[0])
    y = y.numpy() if hasattr(y, "numpy") else np.asarray(y)
    assert y.shape == outs[0].shape
    np.testing.assert_allclose(y, outs[0], rtol=case.rtol, atol=case.atol)
