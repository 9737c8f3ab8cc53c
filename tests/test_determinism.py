"""Determinism: the same inputs and seed give bit-identical outputs and gradients run after run
and for any thread count (1, 2, 3): every reduction is split in a fixed order that does not depend
on the number of threads. Covers the functional ops, layers and blocks, and a whole training step
(forward, loss, backward, optimizer) of seed_cnn and resnet20 on a small input."""
import numpy as np
import pytest

import cnncore
from cnncore import _random, models, nn, optim
from cnncore import functional as F

from conftest import randn

THREADS = (1, 2, 3)


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flatten(o)]
    if isinstance(out, dict):
        return [a for k in sorted(out) for a in _flatten(out[k])]
    if isinstance(out, float):
        return [np.array(out)]
    return [np.asarray(out)]


def _same_for_all_thread_counts(run, what):
    results = {}
    for t in THREADS + (THREADS[-1],):  # the last one twice: run to run as well
        cnncore.set_num_threads(t)
        results.setdefault(t, []).append(_flatten(run()))
    base = results[1][0]
    for t, runs in results.items():
        for r in runs:
            assert len(r) == len(base)
            for i, (a, b) in enumerate(zip(r, base)):
                assert a.tobytes() == b.tobytes(), "%s: output %d differs with %d threads" % (what, i, t)


# Shapes big enough that every operator splits its work (and its reductions) over threads.
X = randn((6, 20, 23, 21))
W = randn((36, 20, 3, 3), 1)
WG = randn((36, 5, 3, 3), 2)   # groups=4, not block-aligned
WD = randn((20, 1, 5, 5), 3)   # depthwise
DY = randn((6, 36, 12, 11), 4)  # stride 2, padding 1
DYD = randn((6, 20, 23, 21), 5)

FUNCTIONAL = [
    ("conv2d", lambda: F.conv2d(X, W, randn(36, 6), stride=2, padding=1)),
    ("conv2d_backward", lambda: F.conv2d_backward(DY, X, W, stride=2, padding=1)),
    ("conv2d_grouped", lambda: F.conv2d_backward(DY, X, WG, stride=2, padding=1, groups=4)),
    ("conv2d_depthwise", lambda: (F.conv2d(X, WD, padding=2, groups=20),
                                  F.conv2d_backward(DYD, X, WD, padding=2, groups=20))),
    ("conv2d_dilated", lambda: F.conv2d_backward(randn((6, 36, 19, 15), 7), X, W, dilation=(2, 3))),
    ("batch_norm", lambda: _bn(False)),
    ("batch_norm_add_relu", lambda: _bn(True)),
    ("pools", lambda: (F.max_pool2d(X, 3, 2, 1, return_indices=True), F.avg_pool2d(X, 3, 2, 1),
                       F.adaptive_avg_pool2d(X, (5, 4)), F.global_avg_pool2d(X),
                       F.avg_pool2d_backward(randn((6, 20, 12, 11)), X.shape, 3, 2, 1),
                       F.adaptive_avg_pool2d_backward(randn((6, 20, 5, 4)), X.shape))),
    ("linear", lambda: F.linear_backward(randn((300, 70)), randn((300, 130)), randn((70, 130)))),
    ("cross_entropy", lambda: F.softmax_cross_entropy(randn((3000, 37)), np.arange(3000) % 37)),
    ("eltwise", lambda: (F.relu(X), F.dropout(X, 0.3, True, 5), F.add(X, X))),
]


def _bn(residual):
    rm, rv = np.zeros(20, np.float32), np.ones(20, np.float32)
    if residual:
        y, sm, si = F.batch_norm_add_relu(X, randn(X.shape, 8), rm, rv, randn(20, 9), randn(20, 10),
                                          training=True, return_stats=True)
        grads = F.batch_norm_add_relu_backward(randn(X.shape, 11), y, X, randn(20, 9), sm, si)
    else:
        y, sm, si = F.batch_norm(X, rm, rv, randn(20, 9), randn(20, 10), training=True, return_stats=True)
        grads = F.batch_norm_backward(randn(X.shape, 11), X, randn(20, 9), sm, si)
    return y, sm, si, rm, rv, grads


@pytest.mark.parametrize("name,run", FUNCTIONAL, ids=[f[0] for f in FUNCTIONAL])
def test_functional_bit_identical_for_any_thread_count(name, run, isa, restore_threads):
    _same_for_all_thread_counts(run, name)


def _layer_step(make, shape):
    def run():
        _random.manual_seed(0)
        m = make()
        x = randn(shape, 12)
        y = m(x)
        dx = m.backward(randn(y.shape, 13))
        return [y, dx] + [p.grad for p in m.parameters()] + list(m.buffers())
    return run


LAYERS = [
    ("Conv2d", lambda: nn.Conv2d(20, 24, 3, stride=2, padding=1), (4, 20, 15, 13)),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(20), (4, 20, 15, 13)),
    ("Linear", lambda: nn.Linear(130, 70), (200, 130)),
    ("BasicBlock", lambda: nn.BasicBlock(16, 32, stride=2), (4, 16, 16, 16)),
    ("Bottleneck", lambda: nn.Bottleneck(16, 8), (4, 16, 12, 12)),
    ("InvertedResidual", lambda: nn.InvertedResidual(16, 16, 1, 6), (4, 16, 12, 12)),
]


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_layers_and_blocks_bit_identical_for_any_thread_count(name, make, shape, restore_threads):
    _same_for_all_thread_counts(_layer_step(make, shape), name)


def _training_steps(kind):
    def run():
        _random.manual_seed(3)
        if kind == "seed_cnn":
            model = models.seed_cnn(num_classes=10)
            opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        else:
            model = models.resnet20(num_classes=10)
            opt = optim.AdamW(model.parameters(), lr=1e-3)
        crit = nn.CrossEntropyLoss()
        rng = np.random.default_rng(0)
        losses = []
        for _ in range(2):
            x = rng.standard_normal((8, 3, 16, 16)).astype(np.float32)
            y = rng.integers(0, 10, 8)
            opt.zero_grad()
            losses.append(crit(model(x), y))
            model.backward(crit.backward())
            opt.step()
        return [np.array(losses)] + [p.grad for p in model.parameters()] + [model.state_dict()]
    return run


@pytest.mark.parametrize("kind", ["seed_cnn", "resnet20"])
def test_training_step_bit_identical_for_any_thread_count(kind, restore_threads):
    _same_for_all_thread_counts(_training_steps(kind), kind)
