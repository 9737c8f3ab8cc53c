"""cnncore.compile: per-shape compiled inference plans (cnncore/plan/, csrc/ops/plan.c)."""
import os
import threading

import numpy as np
import pytest

import cnncore
from cnncore import functional as F
from cnncore import nn
from cnncore.plan import memory, steps
from cnncore.trace import TraceError

from conftest import assert_close, randn

# as tests/test_trace.py: the 60-140M-parameter models run with CNNCORE_TEST_BIG=1
BIG = {"alexnet", "vgg16", "vgg16_bn", "resnet50"}
MODELS = sorted(set(cnncore.models.MODELS) - (set() if os.environ.get("CNNCORE_TEST_BIG") else BIG))
SIZE = {"lenet5": 28, "alexnet": 63, "googlenet": 32, "efficientnet_b0": 32, "vgg16": 32, "vgg16_bn": 32}


def _randomize_batch_norms(model, image=None, seed=1):
    """Random affine parameters and non-trivial eval statistics, so that folding them is tested.
    With `image`, the statistics are those of a training forward on random images of that shape
    (momentum 1), so activations keep their scale through deep models and the output depends on
    the input: a mistake anywhere then shows in it."""
    rng = np.random.default_rng(seed)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms:
        c = m.num_features
        m.running_mean[...] = rng.standard_normal(c).astype(np.float32) * 0.2
        m.running_var[...] = rng.uniform(0.5, 2.0, c).astype(np.float32)
        m.weight.data = rng.uniform(0.5, 1.5, c).astype(np.float32)
        m.bias.data = rng.standard_normal(c).astype(np.float32) * 0.2
    if image is not None and norms:
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.momentum = 1.0
        model.train()
        model(randn((4,) + image, seed=seed))
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
    return model.eval()


def _eager(model, x):
    y = model(x)
    return y.numpy() if isinstance(y, cnncore.Tensor) else np.asarray(y)


def _model(name):
    in_channels = 1 if name == "lenet5" else 3
    model = cnncore.models.get_model(name, num_classes=10, in_channels=in_channels)
    image = (in_channels, SIZE.get(name, 16), SIZE.get(name, 16))
    return _randomize_batch_norms(model, image), image


@pytest.mark.parametrize("name", MODELS)
def test_every_model_matches_eager_at_batch_1_and_2(name):
    model, image = _model(name)
    fast = cnncore.compile(model)
    for batch in (1, 2):
        x = randn((batch,) + image, seed=batch)
        x_before = x.copy()
        y, expected = fast(x), _eager(model, x)
        assert isinstance(y, np.ndarray) and y.dtype == np.float32
        assert_close(y, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max(), name="%s batch %d" % (name, batch))
        np.testing.assert_array_equal(x, x_before)  # the input is never modified
        # the output depends on the input (else the comparison above would prove little); VGG-16
        # without BN loses the input's signal at its default initialization
        if name != "vgg16" and batch == 1:
            assert np.abs(expected - _eager(model, randn(x.shape, seed=7))).max() > 1e-2 * np.abs(expected).max()
        plan = fast.plan(x.shape)
        # every model of cnncore.models runs as one C call: no Python step
        assert plan.c_calls == 1 and plan.python_steps == [], (name, plan.python_steps)


def test_seed_cnn_plan_fuses_batch_norm_and_relu_and_reorders_only_at_the_edges():
    model, image = _model("seed_cnn")
    plan = cnncore.compile(model).plan((2,) + image)
    kinds = [s.kind for s in plan.steps]
    assert kinds[0] == steps.TO_BLOCKED and kinds[-1] == steps.TO_PLAIN
    assert steps.TO_BLOCKED not in kinds[1:] and steps.TO_PLAIN not in kinds[:-1]
    convs = [s for s in plan.steps if s.kind == steps.CONV]
    # three convolutions (BN folded, ReLU in the epilogue) and two linear layers (the first reads
    # the 4x4 feature map directly: flatten costs nothing)
    assert len(convs) == 5
    assert [s.act for s in convs] == [steps.ACTS["relu"]] * 4 + [steps.ACT_NONE]
    assert "features.0+features.1+features.2" == convs[0].name
    assert kinds.count(steps.ACT) == 0 and len(plan.steps) == 2 + 5 + 2 + 1  # + 2 max pools + avg pool


def test_arena_is_reused_by_liveness():
    model, image = _model("resnet20")
    plan = cnncore.compile(model).plan((2,) + image)
    values = sum(v.size for v in plan._values) - plan._values[plan._input].size - plan._values[plan._output].size
    assert plan.arena_size < values / 4


def test_memory_plan_never_overlaps_buffers_alive_together():
    rng = np.random.default_rng(0)
    buffers = []
    for _ in range(60):
        first = int(rng.integers(0, 40))
        buffers.append((int(rng.integers(1, 5000)), first, first + int(rng.integers(0, 6))))
    offsets, size = memory.plan_memory(buffers)
    for i, (si, fi, li) in enumerate(buffers):
        assert offsets[i] % memory.ALIGN == 0 and offsets[i] + si <= size
        for j, (sj, fj, lj) in enumerate(buffers[:i]):
            if fi <= lj and fj <= li:  # alive at the same step
                assert offsets[i] + si <= offsets[j] or offsets[j] + sj <= offsets[i], (i, j)
    assert size < sum(-(-s // memory.ALIGN) * memory.ALIGN for s, _, _ in buffers)
    assert memory.plan_memory([]) == ([], 0)


class Custom(nn.Module):
    """A custom forward: residual add + ReLU6, a functional conv, sigmoid gating, tanh (no C entry:
    a Python step), a flatten and two linear layers."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(5, 20, 3, padding=1)
        self.bn = nn.BatchNorm2d(20)
        self.dw = nn.Conv2d(20, 20, 3, stride=2, padding=1, groups=20, bias=False)
        self.register_buffer("w", randn((20, 20, 1, 1), seed=3) * 0.2)
        self.fc1 = nn.Linear(20 * 4 * 4, 33)
        self.fc2 = nn.Linear(33, 6)

    def forward(self, x):
        h = F.relu(self.bn(self.conv(x)))
        h = F.relu6(h + F.conv2d(h, self.w))
        h = self.dw(h) * F.sigmoid(F.avg_pool2d(h, 2, ceil_mode=True))
        h = F.gelu(F.max_pool2d(h, 2, 2, ceil_mode=True))
        return self.fc2(F.relu(self.fc1(h.flatten(1))))


def test_custom_module_with_a_python_step():
    model = _randomize_batch_norms(Custom()).eval()
    fast = cnncore.compile(model)
    for shape in ((1, 5, 16, 16), (3, 5, 15, 15)):
        x = randn(shape, seed=4)
        assert_close(fast(x), _eager(model, x), rtol=1e-4, atol=1e-5, name=str(shape))
    plan = fast.plan((1, 5, 16, 16))
    assert plan.c_calls == 2 and plan.python_steps == ["gelu"]


def test_plans_are_cached_per_shape():
    model, image = _model("resnet20")
    fast = cnncore.compile(model)
    p1 = fast.plan((1,) + image)
    fast(randn((1,) + image))
    assert fast.plan((1,) + image) is p1
    x2 = randn((2, 3, 12, 12))
    assert_close(fast(x2), _eager(model, x2), rtol=1e-4, atol=1e-5)
    assert fast.plan((2, 3, 12, 12)) is not p1


def test_a_changed_parameter_rebuilds_the_plan():
    model, image = _model("seed_cnn")
    fast = cnncore.compile(model)
    x = randn((1,) + image)
    before = fast(x)
    model.features[0].weight.data = model.features[0].weight.data * 2
    after = fast(x)
    assert not np.allclose(before, after)
    assert_close(after, _eager(model, x), rtol=1e-4, atol=1e-5)


def test_training_mode_is_rejected():
    model = cnncore.models.seed_cnn()
    with pytest.raises(RuntimeError, match="training mode.*model.eval"):
        cnncore.compile(model)
    fast = cnncore.compile(model.eval())
    model.classifier.train()
    with pytest.raises(RuntimeError, match="training mode.*classifier"):
        fast(randn((1, 3, 16, 16)))


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="model: expected a cnncore.nn.Module"):
        cnncore.compile(lambda x: x)
    fast = cnncore.compile(cnncore.models.seed_cnn().eval())
    with pytest.raises(TypeError, match="input: expected a real numeric array"):
        fast(np.array([["a"]]))
    with pytest.raises(ValueError, match="input: expected a non-empty array"):
        fast(np.zeros((0, 3, 16, 16), np.float32))
    with pytest.raises(ValueError, match="channels"):
        fast(randn((1, 4, 16, 16)))


class Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x)[:, :2]


def test_an_untraceable_op_raises_trace_error():
    fast = cnncore.compile(Untraceable().eval())
    with pytest.raises(TraceError, match="getitem"):
        fast(randn((1, 3, 8, 8)))


def test_two_threads_share_one_compiled_model():
    model, image = _model("resnet20")
    fast = cnncore.compile(model)
    xs = [randn((2,) + image, seed=s) for s in range(4)]
    expected = [fast(x) for x in xs]
    results, errors = {}, []

    def work(k):
        try:
            for _ in range(2):
                for i in range(k, len(xs), 2):
                    results[i] = fast(xs[i])
                    np.testing.assert_array_equal(results[i], expected[i])
        except Exception as e:  # reported below, with the thread's own message
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(results) == list(range(len(xs)))


def test_every_isa_level(isa):
    model, image = _model("mobilenet_v2")  # conv, depthwise and linear kernels
    x = randn((1,) + image)
    assert_close(cnncore.compile(model)(x), _eager(model, x), rtol=1e-4, atol=1e-5, name=isa)


def test_plan_program_rejects_a_bad_range():
    model, image = _model("seed_cnn")
    plan = cnncore.compile(model).plan((1,) + image)
    arena = np.empty(max(plan.arena_size, 1), np.float32)
    with pytest.raises(ValueError, match="first, last"):
        plan._program.run(0, len(plan.steps) + 5, arena, np.zeros(3 * 16 * 16, np.float32), np.zeros(10, np.float32))


def test_bench_rows_run():
    from cnncore.bench import compiled as bench_compiled
    from cnncore.bench.suite import select

    assert {s.model for s in select(ops=["compiled"])} == {"seed_cnn", "resnet18", "mobilenet_v2"}
    spec = bench_compiled.CompiledSpec("seed_cnn 3x16x16", "seed_cnn", 1, (3, 16, 16))
    rows = spec.build(1, with_numpy=False)
    assert [r.pass_ for r in rows] == ["eager", "compiled"] and all(r.torch is None for r in rows)
    assert_close(rows[1].cnncore(), rows[0].cnncore(), rtol=1e-4, atol=1e-5)


def test_bench_rows_with_torch_and_onnxruntime():
    torch = pytest.importorskip("torch")
    from cnncore.bench import compiled as bench_compiled

    spec = bench_compiled.CompiledSpec("resnet20 3x16x16", "resnet20", 1, (3, 16, 16))
    rows = spec.build(1, with_numpy=False, torch=torch)
    y = rows[1].cnncore()
    assert_close(rows[1].torch().numpy(), y, rtol=1e-4, atol=1e-5)
    if len(rows) == 3:  # onnxruntime and onnx installed
        assert rows[2].pass_ == "ort" and rows[2].torch is None
        assert_close(rows[2].cnncore()[0], y, rtol=1e-4, atol=1e-5)


def test_a_two_dimensional_input_runs_in_c():
    model = nn.Sequential(nn.Linear(37, 50), nn.ReLU(), nn.Dropout(0.3), nn.Linear(50, 3)).eval()
    fast = cnncore.compile(model)
    x = randn((5, 37))
    assert_close(fast(x), _eager(model, x), rtol=1e-4, atol=1e-5)
    plan = fast.plan(x.shape)
    assert plan.c_calls == 1 and plan.python_steps == []


def test_fused_ops_without_a_c_entry_fall_back_to_python_with_their_fusions():
    # a grouped convolution whose groups share 16-channel blocks has no C entry in plans: its
    # Python step must still apply the batch norm folded into it and the ReLU fused after it
    model = _randomize_batch_norms(nn.Sequential(
        nn.Conv2d(6, 20, 3, padding=1, groups=2), nn.BatchNorm2d(20), nn.ReLU(), nn.Conv2d(20, 4, 1)), (6, 9, 9))
    fast = cnncore.compile(model)
    x = randn((2, 6, 9, 9))
    assert_close(fast(x), _eager(model, x), rtol=1e-4, atol=1e-5)
    assert fast.plan(x.shape).python_steps == ["0+1+2"]


@pytest.mark.parametrize("act, kind", [(nn.LeakyReLU(0.2), "leaky_relu"), (nn.Tanh(), "tanh"),
                                       (nn.Hardsigmoid(), "hardsigmoid"), (nn.Sigmoid(), "sigmoid"),
                                       (nn.SiLU(), "silu"), (nn.ReLU6(), "relu6")])
def test_every_conv_epilogue_activation_fuses_into_the_convolution(act, kind):
    """Each activation the convolution epilogue runs (cnn_act.h) fuses into the conv before it, the
    depthwise one included, with its parameter (LeakyReLU's slope); 20 channels leave padded lanes
    that an activation with f(0) != 0 (sigmoid, hardsigmoid) must not fill."""
    model = _randomize_batch_norms(nn.Sequential(
        nn.Conv2d(3, 20, 3, padding=1), nn.BatchNorm2d(20), act,
        nn.Conv2d(20, 20, 3, padding=1, groups=20), act, nn.Conv2d(20, 5, 1))).eval()
    fast = cnncore.compile(model)
    x = randn((2, 3, 9, 9), seed=7)
    assert_close(fast(x), _eager(model, x), rtol=1e-4, atol=1e-5)
    plan = fast.plan((2, 3, 9, 9))
    convs = [s for s in plan.steps if s.kind in (steps.CONV, steps.DWCONV)]
    assert [s.act for s in convs] == [steps.ACTS[kind]] * 2 + [steps.ACT_NONE]
    assert [s.alpha for s in convs] == ([0.2] * 2 if kind == "leaky_relu" else [0.0] * 2) + [0.0]
    assert not any(s.kind == steps.ACT for s in plan.steps) and plan.c_calls == 1
