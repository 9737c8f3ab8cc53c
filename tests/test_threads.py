"""Python threads: the kernels release the GIL; separate models trained in 4 threads at once give
bit-identical results to training them one by one; one model used from two threads at once raises
ConcurrentUseError instead of corrupting its caches, while same-thread nesting keeps working."""
import sys
import threading
import time

import numpy as np
import pytest

import cnncore
from cnncore import _kernels, _random, models, nn, optim
from cnncore import functional as F
from cnncore.functional._layout import to_blocked

from conftest import randn


# ---------------------------------------------------------------------------- GIL release

def _kernel_calls():
    """(name, call) of compiled kernels with their arguments built beforehand, each doing a
    few tens of milliseconds of work."""
    x = randn((4, 32, 48, 48))
    w = randn((32, 32, 3, 3), 1)
    xb = to_blocked(x)
    g = F.conv_geometry(x.shape, w.shape, 1, 1)
    p, lo, cnt, _ = F.PackedConv(w).forward_packing
    pt, lot, cntt, _ = F.PackedConv(w).transposed_packing
    pool_g = F.PoolGeometry(4, 32, 48, 48, 3, 3, 1, 1, 1, 1, 1, 1, 48, 48)
    rm, rv = np.zeros(32, np.float32), np.ones(32, np.float32)
    return [
        ("conv_forward", lambda: _kernels.conv_forward(g, xb.data, p, lo, cnt, None, False)),
        ("conv_backward_data", lambda: _kernels.conv_backward_data(g, xb.data, pt, lot, cntt)),
        ("maxpool_forward", lambda: _kernels.maxpool_forward(pool_g, xb.data)),
        ("batch_norm_forward", lambda: _kernels.batch_norm_forward(
            xb.data, 32, None, False, None, None, True, 0.1, 1e-5, rm, rv)),
        ("relu", lambda: _kernels.relu(xb.data)),
    ]


class _Counter:
    """A thread that counts while it holds the GIL and lets it go after every step (sleep(0)),
    under a switch interval made huge (1000 s): a thread that holds the GIL is then never
    preempted, so the counter advances only while the main thread releases the GIL itself.

    Deterministic: CPython's take_gil reads the switch interval when a thread starts waiting, so a
    counter already waiting when the interval changes could still be handed the GIL once after the
    old 5 ms. `__enter__` therefore waits until the counter has stepped twice under the new
    interval (each step ends in a fresh wait that reads it) before anything is measured."""

    def __enter__(self):
        self.count = 0
        self._stop = False
        self._previous = sys.getswitchinterval()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        sys.setswitchinterval(1000.0)
        start = self.count
        while self.count < start + 2:
            time.sleep(0.001)  # releases the GIL: the counter steps
        return self

    def _run(self):
        while not self._stop:
            self.count += 1
            time.sleep(0)  # lets the GIL go, so the main thread can always take it back

    def __exit__(self, *exc):
        sys.setswitchinterval(self._previous)
        self._stop = True
        self._thread.join()
        return False


@pytest.mark.parametrize("case", range(5), ids=[c[0] for c in _kernel_calls()])
def test_kernels_release_the_gil(case, restore_threads):
    """A counter thread (see _Counter) can advance during a kernel call only if the kernel itself
    lets go of the GIL. Holding it gives exactly zero progress; releasing it, plenty. No timing."""
    cnncore.set_num_threads(1)
    name, call = _kernel_calls()[case]
    call()  # warm-up (thread pool, pages)
    with _Counter() as counter:
        progress = 0
        for _ in range(200):  # a long enough call lets the counter run at least once
            before = counter.count
            call()
            progress += counter.count - before
            if progress > 0:
                break
    assert progress > 0, "%s kept the GIL for its whole run" % name


def test_gil_holding_code_is_detected_by_the_gil_test():
    """The method above does tell: a pure-Python busy loop (holding the GIL) gives no progress."""
    with _Counter() as counter:
        before = counter.count
        s = 0
        for i in range(2_000_000):
            s += i
        progress = counter.count - before
    assert progress == 0


# ------------------------------------------------------------ separate models in 4 threads

def _small_net(seed):
    _random.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(64, 5))


def _job(kind, seed):
    """A model, an optimizer and data, built in the calling thread (construction draws from the
    global generator, so it is done up front, in a fixed order)."""
    if kind == "resnet20":
        _random.manual_seed(seed)
        model = models.resnet20(num_classes=5)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    else:
        model = _small_net(seed)
        opt = optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((4, 3, 8, 8)).astype(np.float32) for _ in range(3)]
    ys = [rng.integers(0, 5, 4) for _ in range(3)]
    return model, opt, xs, ys


def _train(job, out):
    model, opt, xs, ys = job
    crit = nn.CrossEntropyLoss()
    losses = []
    for x, y in zip(xs, ys):
        opt.zero_grad()
        losses.append(crit(model(x), y))
        model.backward(crit.backward())
        opt.step()
    out.append((losses, {k: v.copy() for k, v in model.state_dict().items()}))


def test_four_threads_training_separate_models_match_one_by_one(restore_threads):
    cnncore.set_num_threads(2)
    kinds = [("small", 1), ("resnet20", 2), ("small", 3), ("resnet20", 4)]
    sequential = []
    for kind, seed in kinds:
        out = []
        _train(_job(kind, seed), out)
        sequential.append(out[0])
    jobs = [_job(kind, seed) for kind, seed in kinds]
    outs = [[] for _ in jobs]
    barrier = threading.Barrier(len(jobs))

    def run(i):
        barrier.wait()
        _train(jobs[i], outs[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (kind, seed), (losses, state), out in zip(kinds, sequential, outs):
        assert out, "thread for %s/%d failed" % (kind, seed)
        assert out[0][0] == losses, (kind, seed)
        for k, v in state.items():
            assert np.array_equal(out[0][1][k], v), "%s/%d: %s differs" % (kind, seed, k)


# --------------------------------------------------------------- one model, two threads

class _Gate(nn.Module):
    """Identity that, when `hold` names its method, waits there until released."""

    def __init__(self, hold):
        super().__init__()
        self.hold = hold
        self.entered = threading.Event()
        self.release = threading.Event()

    def _wait(self, where):
        if self.hold == where:
            self.entered.set()
            assert self.release.wait(30)

    def forward(self, x):
        self._wait("forward")
        return _Held.apply(x, self)



class _Held(cnncore.autograd.Function):
    """Identity whose backward waits at the gate."""

    @staticmethod
    def forward(ctx, x, gate):
        ctx.gate = gate
        return x

    @staticmethod
    def backward(ctx, g):
        ctx.gate._wait("backward")
        return g, None


def _gated_net(hold):
    _random.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), _Gate(hold), nn.Conv2d(4, 2, 1))


@pytest.mark.parametrize("phase", ["forward", "backward"])
def test_model_used_from_two_threads_raises_instead_of_corrupting(phase):
    model = _gated_net(phase)
    reference = _gated_net(None)
    gate = model[2]
    x = randn((2, 3, 6, 6))
    x2 = randn((2, 3, 6, 6), 9)
    dy = randn((2, 2, 6, 6), 10)
    results, errors = [], []

    def first():
        try:
            y = model(x)
            results.append((y, model.backward(dy)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=first)
    t.start()
    assert gate.entered.wait(30)  # the first thread is now inside forward (or backward)
    try:
        with pytest.raises(nn.ConcurrentUseError, match="in use by another thread"):
            model(x2)
        with pytest.raises(nn.ConcurrentUseError):
            model.backward(dy)
        if phase == "forward":
            with pytest.raises(nn.ConcurrentUseError):  # children are guarded on their own too
                gate(x2)
    finally:
        gate.release.set()
        t.join(30)
    assert not errors, errors
    # the first thread's results were not disturbed by the rejected calls
    y_ref = reference(x)
    dx_ref = reference.backward(dy)
    np.testing.assert_array_equal(results[0][0], y_ref)
    np.testing.assert_array_equal(results[0][1], dx_ref)
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)
    # and the model is free again for any thread
    gate.hold = None
    out = []
    t = threading.Thread(target=lambda: out.append(model(x)))
    t.start()
    t.join(30)
    np.testing.assert_array_equal(out[0], y_ref)


def test_guard_allows_same_thread_nesting_and_sequential_handoff():
    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Conv2d(3, 3, 1)

        def forward(self, x):
            return self.inner(self.inner(x))  # the same child twice, nested in the parent

    class Sub(nn.Conv2d):
        def forward(self, x):
            return super().forward(x)  # re-enters the guarded parent method

    m = Outer()
    x = randn((1, 3, 4, 4))
    m(x)
    s = Sub(3, 3, 1)
    s(x)
    s.backward(np.ones((1, 3, 4, 4), np.float32))
    # another thread may use the module once the first is done
    out = []
    t = threading.Thread(target=lambda: out.append(m(x)))
    t.start()
    t.join()
    assert out and "_busy_thread" not in m.__dict__ and "_busy_thread" not in m.inner.__dict__


def test_guard_released_after_an_exception():
    m = nn.Conv2d(3, 3, 1)
    with pytest.raises(ValueError):
        m(randn((1, 4, 4, 4)))
    assert "_busy_thread" not in m.__dict__
    out = []
    t = threading.Thread(target=lambda: out.append(m(randn((1, 3, 4, 4)))))
    t.start()
    t.join()
    assert out
