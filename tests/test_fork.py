"""Fork safety: a process that ran cnncore's OpenMP kernels and then forks (multiprocessing's
'fork' start method, as DataLoader-style worker pools do) can use cnncore in the child. GNU
libgomp's thread pool does not survive fork, so a child runs kernels on one thread until it sets
a thread count itself (csrc/ops/threads.c). Each scenario runs in its own interpreter with a
timeout, so a hang fails the test instead of wedging the suite."""
import os
import subprocess
import sys
import textwrap

import pytest

import cnncore


PRELUDE = textwrap.dedent("""
    import multiprocessing as mp
    import numpy as np
    import cnncore
    from cnncore import functional as F, models, nn, optim, _random

    cnncore.set_num_threads(2)
    x = np.random.default_rng(0).standard_normal((4, 16, 32, 32)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((32, 16, 3, 3)).astype(np.float32)
    y = F.conv2d(x, w, padding=1)  # the parent's OpenMP pool now exists

    def step():
        _random.manual_seed(0)
        m = models.seed_cnn()
        opt = optim.SGD(m.parameters(), lr=0.1)
        crit = nn.CrossEntropyLoss()
        loss = crit(m(x[:, :3, :16, :16]), np.array([0, 1, 2, 3]))
        m.backward(crit.backward())
        opt.step()
        return loss, m.state_dict()

    parent_step = step()
""")


def _run(body, timeout=120):
    script = PRELUDE + textwrap.dedent(body)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(cnncore.__file__)))
    try:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd="/")
    except subprocess.TimeoutExpired:
        pytest.fail("the forked child hung (no result within %d s)" % timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_forked_child_runs_kernels_and_a_training_step():
    out = _run("""
        def child(q):
            loss, state = step()
            same = loss == parent_step[0] and all(
                np.array_equal(v, parent_step[1][k]) for k, v in state.items())
            q.put((np.array_equal(F.conv2d(x, w, padding=1), y), same, cnncore.get_num_threads()))

        ctx = mp.get_context("fork")
        q = ctx.Queue()
        p = ctx.Process(target=child, args=(q,))
        p.start()
        conv_ok, step_ok, threads = q.get(timeout=60)
        p.join(60)
        print(conv_ok, step_ok, threads, p.exitcode)
        # the parent keeps its threads and keeps working
        assert cnncore.get_num_threads() == 2
        assert np.array_equal(F.conv2d(x, w, padding=1), y)
    """)
    assert out.split() == ["True", "True", "1", "0"], out


def test_fork_pool_of_workers():
    out = _run("""
        def work(seed):
            xs = np.random.default_rng(seed).standard_normal((2, 16, 16, 16)).astype(np.float32)
            return float(F.conv2d(xs, w, padding=1).sum())

        with mp.get_context("fork").Pool(3) as pool:
            got = pool.map(work, range(6))
        print(got == [work(s) for s in range(6)])
    """)
    assert out.split() == ["True"], out


def test_forked_child_returns_to_default_stays_single_threaded():
    out = _run("""
        def child(q):
            cnncore.set_num_threads(None)  # the default would need the lost pool: stays 1
            q.put((cnncore.get_num_threads(), np.array_equal(F.conv2d(x, w, padding=1), y)))

        ctx = mp.get_context("fork")
        q = ctx.Queue()
        p = ctx.Process(target=child, args=(q,))
        p.start()
        print(*q.get(timeout=60))
        p.join(60)
    """)
    assert out.split() == ["1", "True"], out
