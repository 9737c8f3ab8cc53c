"""The benchmark CLI (`python -m cnncore bench`) and its building blocks: it runs on tiny cases,
writes the JSON and plots it promises, profiles a model, rejects bad options clearly, and its
baselines and separately timed backward passes compute what cnncore computes. Speed is never
asserted here (the machine is shared)."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import cnncore
from cnncore import bench, models
from cnncore.bench import baselines, suite as _bench_suite
from cnncore.bench import profile as _bench_profile
from cnncore import functional as F
from cnncore.functional import PackedConv, conv2d_backward_blocked, conv2d_blocked, to_blocked
from cnncore.functional import _linear as L

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ["--quick", "--repeats", "1", "--no-torch", "--no-progress"]


def run(args):
    out = io.StringIO()
    assert bench.main(args, out=out) == 0
    return out.getvalue()


def test_cli_tiny_run_writes_json(tmp_path):
    path = tmp_path / "bench.json"
    text = run(FAST + ["--ops", "conv,linear,pool", "--case", "seed conv2", "--case", "linear 512",
                       "--case", "global avgpool", "--json", str(path)])
    assert "GFLOP/s" in text and "seed conv2" in text and "FMA peak" in text
    report = json.loads(path.read_text())
    for key in ("date", "command", "machine", "isa", "threads", "peak_gflops", "bandwidth_gbs",
                "bandwidth_method", "versions", "results", "repeats", "retries", "disturbed_rows"):
        assert key in report, key
    assert report["isa"] == cnncore.get_isa()
    assert report["threads"] == cnncore.get_num_threads()
    assert "1" in report["peak_gflops"] and str(report["threads"]) in report["peak_gflops"]
    assert report["machine"]["cpu"] and report["versions"]["numpy"] == np.__version__
    rows = {(r["case"], r["pass"]) for r in report["results"]}
    assert rows == {("seed conv2 32->64 @16x16", "fwd"), ("seed conv2 32->64 @16x16", "bwd_data"),
                    ("seed conv2 32->64 @16x16", "bwd_weights"), ("linear 512->1000", "fwd"),
                    ("linear 512->1000", "bwd_data"), ("linear 512->1000", "bwd_weights"),
                    ("r18 global avgpool 512 @7", "fwd"), ("r18 global avgpool 512 @7", "bwd_data")}
    for r in report["results"]:
        assert r["batch"] == 1 and r["ms"] > 0 and r["gflops"] > 0 and r["pct_peak"] > 0
        assert r["numpy_ms"] > 0 and r["torch_ms"] is None and r["intensity"] > 0
        assert len(r["ms_all"]) == 1
        assert isinstance(r["disturbed"], bool) and set(r["others_cores"]) == {"cnncore", "numpy"}


def test_cli_models_and_list():
    text = run(FAST + ["--ops", "models", "--case", "seed_cnn", "--no-numpy"])
    assert "train" in text and "infer" in text
    listed = run(["--list"])
    assert all(s.name in listed for s in _bench_suite.SUITE)


def test_cli_as_a_process_and_console_script(tmp_path):
    tomllib = pytest.importorskip("tomllib")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    assert project["scripts"]["cnncore-bench"] == "cnncore.bench:main"
    assert "torch" not in " ".join(project["dependencies"])  # optional, never a dependency
    assert any(d.startswith("torch==") for d in project["optional-dependencies"]["bench"])
    # the cnncore this interpreter imports (the installed one, not necessarily the source tree's)
    p = subprocess.run([sys.executable, "-m", "cnncore", "bench"] + FAST + ["--case", "global avgpool"],
                       capture_output=True, text=True, cwd=str(tmp_path), timeout=120)
    assert p.returncode == 0, p.stderr
    assert "r18 global avgpool 512 @7" in p.stdout


def test_profile_tiny_model(tmp_path):
    path = tmp_path / "profile.json"
    text = run(FAST + ["--profile", "lenet5", "--repeats", "2", "--json", str(path)])
    assert "outside layers" in text
    (p,) = json.loads(path.read_text())["profiles"]
    assert p["model"] == "lenet5" and p["batch"] == 2 and p["steps"] == 2
    names = [r["name"] for r in p["layers"]]
    # Conv2d+ReLU pairs run fused: the ReLU modules features.1 and .4 own no op
    assert names[:3] == ["features.0", "features.2", "features.3"] and names[-1] == "classifier.5"
    assert p["layers"][0]["type"] == "Conv2d+ReLU"
    total = sum(r["share"] for r in p["layers"]) + p["loss_share"] + p["optimizer_share"] + p["outside_share"]
    assert 0 < total <= 1 + 1e-9
    assert abs(sum(t["share"] for t in p["by_type"].values()) - sum(r["share"] for r in p["layers"])) < 1e-9
    assert "by type:" in text
    assert all(r["fwd_ms"] >= 0 and r["bwd_ms"] >= 0 for r in p["layers"])
    convs = [r for r in p["layers"] if r["type"].startswith("Conv2d")]
    assert len(convs) == 2 and all(r["fwd_gflops"] > 0 and r["fwd_pct_peak"] > 0 for r in convs)
    # the first convolution skips its input gradient: backward is weights only
    assert convs[0]["bwd_flops"] == convs[0]["fwd_flops"] and convs[1]["bwd_flops"] == 2 * convs[1]["fwd_flops"]


def test_profile_sees_fused_layers_and_restores_methods():
    model = models.seed_cnn()
    p = _bench_profile.profile("seed_cnn", batch=2, steps=1, warmup=0, model=model, image=(3, 16, 16))
    kinds = {r["name"]: r["type"] for r in p["layers"]}
    assert kinds["features.1"] == "BatchNorm2d+ReLU" and "features.2" not in kinds  # ReLU fused
    assert cnncore.autograd.engine.profiler is None  # the graph's hook is removed afterwards
    res = models.resnet20()
    p = _bench_profile.profile("resnet20", batch=2, steps=1, warmup=0, model=res, image=(3, 8, 8))
    kinds = {r["name"]: r["type"] for r in p["layers"]}
    assert kinds["layer1.0.bn2"] == "BatchNorm2d+Add+ReLU" and kinds["bn1"] == "BatchNorm2d+ReLU"
    assert cnncore.autograd.engine.profiler is None


def test_plot_writes_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    prefix = str(tmp_path / "b")
    text = run(FAST + ["--case", "linear 512", "--plot", prefix])
    for suffix in ("_roofline.png", "_vs_numpy.png"):  # no torch results: the chart against NumPy
        with open(prefix + suffix, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in text


def test_plot_without_matplotlib_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(SystemExit) as exc:
        bench.main(FAST + ["--plot", "x"])
    assert exc.value.code == 2
    assert "matplotlib" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--ops", "conv,nope"], "unknown op group 'nope'"),
    (["--ops", ","], "unknown op group"),
    (["--case", "no such case"], "no case matches"),
    (["--ops", "pool", "--case", "conv3x3"], "no case matches"),
    (["--repeats", "0"], "expected an integer >= 1"),
    (["--threads", "-1"], "expected an integer >= 1"),
    (["--batch", "x"], "expected an integer >= 1"),
    (["--warmup", "-1"], "expected an integer >= 0"),
    (["--retries", "x"], "expected an integer >= 0"),
    (["--isa", "sse2"], "invalid choice"),
    (["--profile", "vgg19"], "unknown model 'vgg19'"),
    (["--json", "/nonexistent-dir/b.json"], "does not exist"),
    (["--frobnicate"], "unrecognized arguments"),
])
def test_bad_options(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_options_through_the_cnncore_command(capsys):
    from cnncore.__main__ import main

    with pytest.raises(SystemExit):
        main(["bench", "--ops", "nope"])
    assert "unknown op group" in capsys.readouterr().err


def test_other_load_monitor():
    with bench.OtherLoad() as load:
        sum(range(100000))
    assert load.seconds > 0
    assert load.cores is None or load.cores >= 0  # None where there is no /proc/stat


# ------------------------------------------------- what the suite times is the right work ---

@pytest.mark.parametrize("c_in, c_out, k, s, p, groups", [
    (5, 20, 3, 1, 1, 1), (16, 8, 3, 2, 1, 1), (24, 24, 3, 2, 1, 24), (17, 33, 1, 1, 0, 1)])
def test_separate_backward_passes_match_the_combined_call(c_in, c_out, k, s, p, groups):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, c_in, 9, 9)).astype(np.float32)
    w = rng.standard_normal((c_out, c_in // groups, k, k)).astype(np.float32)
    xb, packed = to_blocked(x), PackedConv(w, groups)
    yb, g = conv2d_blocked(xb, packed, None, s, p)
    dyb = to_blocked(rng.standard_normal(yb.shape).astype(np.float32))
    dx, dw, _ = conv2d_backward_blocked(dyb, xb, packed, g)
    np.testing.assert_array_equal(_bench_suite.conv_backward_data_blocked(dyb, packed, g), dx.data)
    np.testing.assert_array_equal(_bench_suite.conv_backward_weights_blocked(xb, dyb, packed, g), dw)


def test_separate_linear_backward_passes_match_the_combined_call():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 40)).astype(np.float32)
    w = rng.standard_normal((19, 40)).astype(np.float32)
    dy = rng.standard_normal((5, 19)).astype(np.float32)
    packed = L.PackedLinear(w)
    dx, dw, _ = L.linear_backward_packed(dy, x, packed)
    np.testing.assert_array_equal(_bench_suite.linear_backward_data(dy, packed), dx)
    np.testing.assert_array_equal(_bench_suite.linear_backward_weights(dy, x, packed), dw)


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3 * max(1.0, float(np.abs(b).max())))


@pytest.mark.parametrize("k, s, p, groups", [(3, 1, 1, 1), (3, 2, 1, 1), (7, 2, 3, 1), (1, 1, 0, 1),
                                             (3, 1, 1, 8), (3, 2, 1, 8)])
def test_numpy_baselines_compute_the_convolution(k, s, p, groups):
    rng = np.random.default_rng(1)
    c_out = 8 if groups > 1 else 6
    x = rng.standard_normal((2, 8, 11, 11)).astype(np.float32)
    w = rng.standard_normal((c_out, 8 // groups, k, k)).astype(np.float32)
    y = F.conv2d(x, w, None, s, p, groups=groups)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dw, _ = F.conv2d_backward(dy, x, w, s, p, groups=groups)
    S = baselines
    if groups == 1:
        close(S.numpy_conv2d(x, w, s, p), y)
        close(S.numpy_conv2d_backward_data(dy, w, x.shape, s, p), dx)
        close(S.numpy_conv2d_backward_weights(x, dy, k, s, p), dw)
    else:
        close(S.numpy_dwconv2d(x, w, s, p), y)
        close(S.numpy_dwconv2d_backward_data(dy, w, x.shape, s, p), dx)
        close(S.numpy_dwconv2d_backward_weights(x, dy, k, s, p), dw)


def test_numpy_baselines_compute_pooling_and_batch_norm():
    rng = np.random.default_rng(2)
    S = baselines
    x = rng.standard_normal((2, 5, 12, 12)).astype(np.float32)
    y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    close(S.numpy_max_pool2d(x, 3, 2, 1), y)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    tap = S.numpy_max_pool2d_argmax(x, 3, 2, 1)
    close(S.numpy_max_pool2d_backward(dy, tap, x.shape, 3, 2, 1), F.max_pool2d_backward(dy, idx, x.shape))
    g, b = rng.uniform(0.5, 1.5, 5).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    y, mean, invstd = F.batch_norm_relu(x, None, None, g, b, training=True, return_stats=True)
    yn, mn, isn = S.numpy_bn_relu(x, g, b)
    close(yn, y)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    for a, e in zip(S.numpy_bn_relu_backward(dy, yn, x, g, mn, isn),
                    F.batch_norm_relu_backward(dy, y, x, g, mean, invstd, training=True)):
        close(a, e)


def test_every_case_builds_and_runs_at_batch_one():
    for spec in _bench_suite.SUITE:
        if spec.group in ("models", "compiled"):  # whole models (compiled: tests/test_compile.py)
            continue
        rows = spec.build(1, with_numpy=False)
        assert [r.pass_ for r in rows] == list(spec.passes)
        for r in rows:
            assert r.flops > 0 and r.nbytes > 0 and r.numpy is None and r.torch is None
            r.cnncore()


def test_torch_twins_match_cnncore_models():
    torch = pytest.importorskip("torch")
    from cnncore.bench import torch_twins as _bench_torch

    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    for name in ("seed_cnn", "resnet20", "mobilenet_v2"):  # the bench's training-step rows
        cnncore.manual_seed(0)
        m = models.get_model(name).eval()
        tm = _bench_torch.from_cnncore(name, m).eval()
        with torch.no_grad():
            expected = tm(torch.from_numpy(x)).numpy()
        close(m(x), expected)


def test_torch_callables_run():
    torch = pytest.importorskip("torch")
    for spec in _bench_suite.select(cases=["seed conv2", "dw3x3 384", "maxpool", "global", "bn+relu",
                                           "linear 512", "seed_cnn", "mobilenet_v2"]):
        for r in spec.build(2, with_numpy=False, torch=torch):
            if r.pass_ == "ort":  # ONNX Runtime's row: no PyTorch column
                continue
            assert r.torch is not None, (spec.name, r.pass_)
            r.torch()


# ------------------------------------------------------------------ the peak it divides by ---

def test_peak_is_the_measured_probe_when_undisturbed():
    assert bench.machine_peak({1: (50.0, False), 4: (190.0, False)}, 4) == (190.0, "measured")
    assert bench.machine_peak({1: (50.0, False)}, 1) == (50.0, "measured")
    # SMT: two hardware threads of one core need not double the peak; undisturbed, it stands
    assert bench.machine_peak({1: (50.0, False), 2: (52.0, False)}, 2)[0] == 52.0


def test_disturbed_multi_thread_probe_falls_back_to_threads_times_one_thread_peak():
    # as seen: a probe disturbed by other processes gave a tiny peak and "% of peak" of 3292%
    peak, how = bench.machine_peak({1: (50.0, False), 2: (3.0, True)}, 2)
    assert peak == 100.0 and "disturbed" in how
    peak, how = bench.machine_peak({1: (50.0, False), 4: (40.0, False)}, 4)  # below 1 thread's
    assert peak == 200.0 and how != "measured"


def test_percent_of_peak_never_above_100():
    assert bench.percent_of_peak(50.0, 100.0) == 50.0
    assert bench.percent_of_peak(3292.0, 100.0) == 100.0
    assert bench.percent_of_peak(None, 100.0) is None and bench.percent_of_peak(1.0, None) is None


def test_bench_modules_import_without_a_cycle():
    """Each module of cnncore.bench imports first in a fresh interpreter (with a cycle, one of them
    would find its partner half-initialized)."""
    code = "import importlib, sys; importlib.import_module('cnncore.bench.' + sys.argv[1])"
    for name in ("timing", "probes", "baselines", "suite", "compiled", "runner", "profile", "plots", "torch_twins", "cli"):
        p = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(cnncore.__file__))))
        assert p.returncode == 0, (name, p.stderr)
