"""`python -m cnncore run MODEL.onnx` and `python -m cnncore bench --onnx MODEL.onnx`."""
import os

import numpy as np


class CliError(Exception):
    """A bad argument: (flag, message)."""

    def __init__(self, flag, message):
        super().__init__("%s: %s" % (flag, message))


def load_model(path, flag):
    if not os.path.isfile(path):
        raise CliError(flag, "no such file: %s" % path)
    from . import load

    try:
        return load(path)
    except ImportError as exc:
        raise CliError(flag, str(exc))
    except ValueError as exc:  # UnsupportedOperatorError among them
        raise CliError(flag, "%s: %s" % (path, exc))


def example_input(model, path, flag, batch=1, seed=0):
    """The array at `path` (.npy), or standard normal values of the model's input shape."""
    want = tuple(model.graph.inputs[0].shape)
    if path is None:
        shape = (batch,) + tuple(1 if d is None else d for d in want[1:])
        return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    if not os.path.isfile(path):
        raise CliError(flag, "no such file: %s" % path)
    try:
        x = np.load(path, allow_pickle=False)
    except Exception as exc:  # not a .npy file
        raise CliError(flag, "cannot read %s as a .npy array (%s)" % (path, exc))
    if x.dtype.kind not in "fiu":
        raise CliError(flag, "expected a real numeric array, got dtype %s" % x.dtype)
    if x.ndim == len(want) - 1:
        x = x[None]
    if x.ndim != len(want) or any(d is not None and d != s for d, s in zip(want[1:], x.shape[1:])):
        raise CliError(flag, "expected shape (N, %s), got %s" % (", ".join(str(d) for d in want[1:]), x.shape))
    return np.ascontiguousarray(x, dtype=np.float32)


def run(model_path, input_path=None, top=5, out=None):
    """Run the ONNX model once and print each output's shape and, for (N, classes) outputs, the
    top classes of each sample with their scores."""
    import sys

    out = out or sys.stdout
    model = load_model(model_path, "MODEL")
    x = example_input(model, input_path, "--input")
    if input_path is None:
        print("no --input: a standard normal batch of shape %s" % (x.shape,), file=out)
    y = model(x)
    outs = y if isinstance(y, tuple) else (y,)
    for v, t in zip(model.graph.outputs, outs):
        arr = t.numpy()
        print("%s: shape %s" % (v.name, arr.shape), file=out)
        if arr.ndim == 2:
            k = min(top, arr.shape[1])
            for n, row in enumerate(arr):
                best = np.argsort(-row, kind="stable")[:k]
                print("  sample %d: %s" % (n, ", ".join("%d (%.4g)" % (c, row[c]) for c in best)), file=out)
    return 0


def bench(model_path, batch, repeats, warmup, threads, input_path=None, out=None):
    """Median time of cnncore's forward of the ONNX model and of ONNX Runtime's on the same file
    and input, each in a block of its own; returns the report dict."""
    import sys

    from ..bench.timing import time_blocks

    out = out or sys.stdout
    model = load_model(model_path, "--onnx")
    x = example_input(model, input_path, "--input", batch)
    fns, names = [lambda: model(x)], ["cnncore"]
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
        print("onnxruntime is not installed: cnncore only (pip install onnxruntime)", file=out)
    if ort is not None:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        sess = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
        feed = {sess.get_inputs()[0].name: x}
        fns.append(lambda: sess.run(None, feed))
        names.append("onnxruntime %s" % ort.__version__)
        got, want = model(x).numpy(), sess.run(None, feed)[0]
        err = float(np.abs(got - want).max() / max(1e-12, float(np.abs(want).max())))
        print("max |cnncore - onnxruntime| / max |onnxruntime|: %.2e" % err, file=out)
    times = time_blocks(fns, repeats, warmup)
    report = {"model": model_path, "input_shape": list(x.shape), "threads": threads, "repeats": repeats}
    base = float(np.median(times[0]))
    for name, ts in zip(names, times):
        med = float(np.median(ts))
        report[name.split()[0] + "_ms"] = med * 1e3
        print("%-24s median %9.3f ms  (min %.3f, %d runs)%s" % (
            name, med * 1e3, min(ts) * 1e3, len(ts),
            "" if name == "cnncore" else "  its time / cnncore's: %.2fx (> 1: cnncore faster)" % (med / base)),
            file=out)
    return report
