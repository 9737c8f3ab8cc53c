"""ONNX export and import. `export(model, example_input, path)` writes a cnncore model as an ONNX
file (traced by cnncore.trace); `load(path)` returns an nn.Module that runs (and trains) an ONNX
graph with cnncore's ops. Needs the optional onnx package (pip install 'cnncore[onnx]')."""
from ._export import export, to_onnx
from ._import import load, to_graph
from ._module import GraphModule, UnsupportedOperatorError

__all__ = ["GraphModule", "UnsupportedOperatorError", "export", "load", "to_graph", "to_onnx"]
