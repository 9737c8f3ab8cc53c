"""Runtime configuration: ISA dispatch (set_isa, CNNCORE_ISA, kernel names), show_config and
`python -m cnncore info`, and threads (set_num_threads, OMP_NUM_THREADS, threadpoolctl).

Environment variables are read at import (CNNCORE_ISA) or when the OpenMP runtime starts
(OMP_NUM_THREADS), so those tests run a fresh interpreter. That batch 1 uses every core is not
checked: it is not observable without timing.
"""
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import cnncore
from cnncore import _kernels

LEVELS = ("generic", "avx2", "avx512")  # lowest first
BEST = _kernels.isa_detected()
OPS = ("conv2d", "conv2d_backward_weights", "conv2d_backward_weights_few_inputs",
       "depthwise_conv2d", "depthwise_conv2d_backward_weights", "activation",
       "activation_backward", "batch_norm", "max_pool2d", "linear")


def _expected_level(requested):
    """What a cap of `requested` gives on this CPU: min(requested, best)."""
    return LEVELS[min(LEVELS.index(requested), LEVELS.index(BEST))]


def run_python(code, **env_changes):
    """Run `code` in a fresh interpreter importing this same cnncore; returns CompletedProcess."""
    return run_interpreter(["-c", code], **env_changes)


def run_interpreter(args, **env_changes):
    """sys.executable with `args`, cnncore's parent directory first on PYTHONPATH. CNNCORE_ISA and
    OMP_NUM_THREADS are removed from the environment unless given (None also removes one)."""
    env = dict(os.environ)
    env.pop("CNNCORE_ISA", None)
    env.pop("OMP_NUM_THREADS", None)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(cnncore.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable] + list(args), env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def restore_config():
    """Put the ISA level and the thread setting back after a test that changes them."""
    previous = cnncore.get_isa()
    yield
    cnncore.set_isa(previous)
    cnncore.set_num_threads(None)


# ------------------------------------------------------------------------------- ISA ---

def test_available_isas_lowest_first():
    available = cnncore.available_isas()
    assert available[0] == "generic"
    assert tuple(available) == LEVELS[:len(available)]  # in order, no gaps
    assert available[-1] == BEST
    assert cnncore.config()["isa_available"] == available


def test_set_isa_honours_the_cap_and_clamps(restore_config):
    for level in LEVELS + ("avx512", "generic", "avx2"):
        chosen = cnncore.set_isa(level)
        assert chosen == _expected_level(level), level
        assert cnncore.get_isa() == chosen
        assert chosen in cnncore.available_isas()
    # case-insensitive
    assert cnncore.set_isa("AVX2") == _expected_level("avx2")


@pytest.mark.parametrize("bad", ["sse4", "avx", "avx-512", "", "native", None, 2, b"avx2"])
def test_set_isa_rejects_unknown_levels(bad, restore_config):
    before = cnncore.get_isa()
    with pytest.raises(ValueError) as info:
        cnncore.set_isa(bad)
    message = str(info.value)
    assert message.startswith("level:")
    for level in LEVELS:
        assert level in message
    assert cnncore.get_isa() == before


def test_kernel_names_follow_the_level(restore_config):
    seen = {}
    for level in cnncore.available_isas():
        cnncore.set_isa(level)
        names = _kernels.kernel_names()
        assert cnncore.config()["kernels"] == names
        assert sorted(names) == sorted(OPS)
        for op, name in names.items():
            stem, sep, suffix = name.rpartition("__")
            assert sep and suffix == level, name
            assert stem.startswith("cnn_f32_") and "ukernel" in stem, name
        seen[level] = names
    # each level has its own kernels
    for a in seen:
        for b in seen:
            if a != b:
                assert all(seen[a][op] != seen[b][op] for op in OPS)


def test_each_level_runs_its_kernels(restore_config):
    """A convolution after set_isa gives the same result at every level (the tables are refilled
    consistently: a stale entry would mix tile sizes and fail or crash)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 17, 5, 15)).astype(np.float32)
    w = rng.standard_normal((17, 17, 3, 3)).astype(np.float32)
    outs = []
    for level in cnncore.available_isas() + ["generic"]:
        cnncore.set_isa(level)
        outs.append(cnncore.functional.conv2d(x, w, padding=1))
    for y in outs[1:]:
        np.testing.assert_allclose(y, outs[0], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("value", list(LEVELS) + [" AVX2 "])
def test_cnncore_isa_environment_variable(value):
    result = run_python("import cnncore; print(cnncore.get_isa()); print(cnncore.config()['isa_env'])",
                        CNNCORE_ISA=value)
    assert result.returncode == 0, result.stderr
    level, env = result.stdout.split("\n")[:2]
    assert level == _expected_level(value.strip().lower())  # never above the CPU's level
    assert env == value


def test_cnncore_isa_unset_or_empty_uses_the_best_level():
    for value in (None, ""):
        result = run_python("import cnncore; print(cnncore.get_isa())", CNNCORE_ISA=value)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == BEST


def test_cnncore_isa_unknown_value_fails_the_import():
    code = ("try:\n"
            "    import cnncore\n"
            "except ValueError as e:\n"
            "    print('ValueError:', e)\n"
            "else:\n"
            "    print('imported', cnncore.get_isa())\n")
    result = run_python(code, CNNCORE_ISA="sse9")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("ValueError:"), out
    for word in ("CNNCORE_ISA", "avx512", "avx2", "generic", "sse9"):
        assert word in out, (word, out)


# ----------------------------------------------------------------------- show_config ---

def _show_config_text():
    buf = io.StringIO()
    assert cnncore.show_config(file=buf) is None
    return buf.getvalue()


def test_show_config_contents(restore_config):
    text = _show_config_text()
    assert cnncore.__version__ in text
    assert "cnncore %s" % cnncore.__version__ in text
    isa_line = next(line for line in text.splitlines() if "isa:" in line)
    assert cnncore.get_isa() in isa_line
    assert ", ".join(cnncore.available_isas()) in isa_line
    assert "threads:" in text and str(cnncore.get_num_threads()) in text
    runtime = _kernels.openmp_runtime()
    assert runtime and runtime not in ("none", "unknown") and runtime in text
    for op, name in _kernels.kernel_names().items():
        assert any(op in line and name in line for line in text.splitlines()), (op, name)

    # it reports the current state, not the state at import
    cnncore.set_isa("generic")
    cnncore.set_num_threads(3)
    text = _show_config_text()
    assert "isa:            generic" in text
    assert "threads:        3" in text
    for name in _kernels.kernel_names().values():
        assert name.endswith("__generic") and name in text
    assert cnncore.config()["num_threads"] == 3


def test_python_m_cnncore_info_prints_show_config(monkeypatch, restore_config):
    result = run_interpreter(["-m", "cnncore", "info"], OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS"))
    assert result.returncode == 0, result.stderr
    # the same text as show_config() here, in the same (default) state
    monkeypatch.delenv("CNNCORE_ISA", raising=False)
    cnncore.set_isa(BEST)
    cnncore.set_num_threads(None)
    assert result.stdout == _show_config_text()


def test_python_m_cnncore_without_command_fails():
    result = run_interpreter(["-m", "cnncore"])
    assert result.returncode != 0
    assert "info" in result.stderr


# --------------------------------------------------------------------------- threads ---

def test_set_num_threads(restore_config):
    cnncore.set_num_threads(None)
    default = cnncore.get_num_threads()
    assert default >= 1
    for n in (1, 2, 3, 1):
        assert cnncore.set_num_threads(n) is None
        assert cnncore.get_num_threads() == n
        assert cnncore.config()["num_threads"] == n
    cnncore.set_num_threads(None)
    assert cnncore.get_num_threads() == default
    # NumPy integers are ints, as everywhere else in the API (groups=np.int64(2) works)
    for n in (np.int64(2), np.int32(1), np.uint8(3)):
        cnncore.set_num_threads(n)
        assert cnncore.get_num_threads() == int(n)
    cnncore.set_num_threads(None)
    assert cnncore.get_num_threads() == default


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-1, ValueError), (-(2 ** 40), ValueError),
                                      (2 ** 31, ValueError), (2 ** 64, ValueError),
                                      (np.int64(0), ValueError), (np.float64(2), TypeError),
                                      (1.5, TypeError), (2.0, TypeError), (True, TypeError),
                                      (False, TypeError), ("2", TypeError), ([2], TypeError)])
def test_set_num_threads_rejects_bad_values(bad, exc, restore_config):
    cnncore.set_num_threads(2)
    with pytest.raises(exc) as info:
        cnncore.set_num_threads(bad)
    assert str(info.value).startswith("n:"), str(info.value)
    assert cnncore.get_num_threads() == 2  # unchanged


def test_default_threads_and_omp_num_threads():
    code = ("import cnncore\n"
            "print(cnncore.get_num_threads())\n"
            "cnncore.set_num_threads(2); print(cnncore.get_num_threads())\n"
            "cnncore.set_num_threads(None); print(cnncore.get_num_threads())\n")
    result = run_python(code)  # OMP_NUM_THREADS unset: the CPUs this process may run on
    assert result.returncode == 0, result.stderr
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert result.stdout.split() == [str(cpus), "2", str(cpus)]
    for value in ("1", "3"):
        result = run_python(code, OMP_NUM_THREADS=value)
        assert result.returncode == 0, result.stderr
        # OMP_NUM_THREADS is the default; set_num_threads overrides it, None returns to it
        assert result.stdout.split() == [value, "2", value]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs os.sched_setaffinity (Linux)")
def test_default_threads_follow_the_affinity_mask():
    """As under `taskset -c 0`: a process allowed one CPU starts one thread, unless
    OMP_NUM_THREADS or set_num_threads says otherwise."""
    cpu = min(os.sched_getaffinity(0))
    code = ("import os\n"
            "os.sched_setaffinity(0, {%d})\n"
            "import cnncore\n"
            "from cnncore import _kernels\n"
            "print(_kernels.cpu_limit(), cnncore.get_num_threads())\n"
            "cnncore.set_num_threads(3); print(cnncore.get_num_threads())\n" % cpu)
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "1", "3"]
    result = run_python(code, OMP_NUM_THREADS="2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "2", "3"]


@pytest.mark.parametrize("files, cpus", [
    ({"cpu.max": "200000 100000\n"}, 2),                       # cgroup v2, 2 CPUs
    ({"cpu.max": "150000 100000\n"}, 2),                       # 1.5 CPUs: rounded up
    ({"cpu.max": "50000 100000\n"}, 1),
    ({"cpu.max": "max 100000\n"}, 0),                          # no quota
    ({"cpu/cpu.cfs_quota_us": "400000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 4),  # v1
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0),
    ({"cpu.max": "garbage"}, 0),
    ({}, 0),                                                   # no cgroup files at all
])
def test_cgroup_cpu_quota(tmp_path, files, cpus):
    """A container limited to 2 CPUs on a 64-core host must not start 64 threads: the default
    thread count is capped by the quota read here (at /sys/fs/cgroup in the real process)."""
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert _kernels.cgroup_cpu_limit(str(tmp_path)) == cpus


def test_threadpoolctl_sees_and_limits_cnncore():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    cnncore.set_num_threads(None)
    runtime = _kernels.openmp_runtime()
    openmp = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "openmp"]
    # openmp_runtime() is the name the library was loaded under (e.g. libgomp.so.1), the
    # filepath threadpoolctl reports may be the file it resolves to (libgomp.so.1.0.0)
    assert any(os.path.basename(i["filepath"]).startswith(runtime) for i in openmp), (runtime, openmp)
    before = cnncore.get_num_threads()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 17, 9, 15)).astype(np.float32)
    w = rng.standard_normal((33, 17, 3, 3)).astype(np.float32)
    y_default = cnncore.functional.conv2d(x, w, padding=1)
    with threadpoolctl.threadpool_limits(limits=1):
        assert cnncore.get_num_threads() == 1
        assert cnncore.config()["num_threads"] == 1
        np.testing.assert_array_equal(cnncore.functional.conv2d(x, w, padding=1), y_default)
    assert cnncore.get_num_threads() == before
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert cnncore.get_num_threads() == 1
        # an explicit set_num_threads wins over the runtime's limit, and None returns to it
        try:
            cnncore.set_num_threads(2)
            assert cnncore.get_num_threads() == 2
        finally:
            cnncore.set_num_threads(None)
        assert cnncore.get_num_threads() == 1
    assert cnncore.get_num_threads() == before


def test_test_summary_names_the_isa_levels_and_a_missing_avx512():
    """The line conftest adds to the test summary: on a CPU without AVX-512 the run says so."""
    from conftest import isa_summary

    lines = isa_summary({"generic": 3, "avx2": 3}, ["generic", "avx2"])
    assert lines[0] == "cnncore ISA levels exercised: generic (3 tests), avx2 (3 tests)"
    assert lines[1].startswith("cnncore ISA level avx512 NOT exercised: this CPU lacks it (best: avx2)")
    assert isa_summary({"generic": 2, "avx2": 2, "avx512": 2}, ["generic", "avx2", "avx512"]) == [
        "cnncore ISA levels exercised: generic (2 tests), avx2 (2 tests), avx512 (2 tests)"]
