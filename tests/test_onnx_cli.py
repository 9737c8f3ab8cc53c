"""python -m cnncore run MODEL.onnx and python -m cnncore bench --onnx MODEL.onnx."""
import io

import numpy as np
import pytest

import cnncore

pytest.importorskip("onnx")
from cnncore.__main__ import main  # noqa: E402
from cnncore.bench.cli import main as bench_main  # noqa: E402
from cnncore.onnx import export  # noqa: E402


@pytest.fixture(scope="module")
def seed_onnx(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx")
    model = cnncore.models.seed_cnn(num_classes=4).eval()
    path = str(d / "seed.onnx")
    export(model, np.zeros((1, 3, 16, 16), np.float32), path)
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)
    np.save(str(d / "x.npy"), x)
    return path, str(d / "x.npy"), model(x).numpy()


def test_run_prints_shapes_and_top_classes(seed_onnx, capsys):
    path, xpath, want = seed_onnx
    assert main(["run", path, "--input", xpath, "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "output: shape (2, 4)" in out
    for n, row in enumerate(want):
        best = np.argsort(-row, kind="stable")[:2]
        assert "sample %d: %d (" % (n, best[0]) in out and "), %d (" % best[1] in out


def test_run_without_input_uses_a_random_batch(seed_onnx, capsys):
    assert main(["run", seed_onnx[0]]) == 0
    out = capsys.readouterr().out
    assert "(1, 3, 16, 16)" in out and "output: shape (1, 4)" in out


@pytest.mark.parametrize("args, message", [
    (["run", "missing.onnx"], "MODEL: no such file"),
    (["run", "{model}", "--input", "missing.npy"], "--input: no such file"),
    (["run", "{model}", "--input", "{model}"], "--input: cannot read"),
    (["run", "{model}", "--input", "{bad}"], "--input: expected shape (N, 3, 16, 16)"),
])
def test_run_bad_arguments(seed_onnx, tmp_path, capsys, args, message):
    bad = str(tmp_path / "bad.npy")
    np.save(bad, np.zeros((1, 2, 16, 16), np.float32))
    args = [a.format(model=seed_onnx[0], bad=bad) for a in args]
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_bench_onnx_times_cnncore_and_onnx_runtime(seed_onnx):
    pytest.importorskip("onnxruntime")
    out = io.StringIO()
    assert bench_main(["--onnx", seed_onnx[0], "--repeats", "2", "--warmup", "1", "--batch", "2"], out=out) == 0
    text = out.getvalue()
    assert "cnncore " in text and "onnxruntime" in text and "its time / cnncore's" in text
    err = float(text.split("max |cnncore - onnxruntime| / max |onnxruntime|: ")[1].split()[0])
    assert err < 1e-4
