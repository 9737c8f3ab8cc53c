"""cnncore.distributed under real MPI: small scripts (tests/mpi_scripts/) run by `mpirun -np 2`
and `-np 3` in a subprocess with a timeout. Skipped, saying why, when mpi4py or mpirun is missing
(the `mpi` extra: pip install 'cnncore[mpi]'); CNNCORE_REQUIRE_MPI=1 (make test) makes that a
failure instead. Left out of `make sanitize` (-k "not mpirun", see the Makefile)."""
import importlib.util
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "mpi_scripts")
TIMEOUT = 180  # seconds: generous for a loaded 2-core machine; a hang still ends the test


def _mpirun():
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    return shutil.which("mpirun", path=path)


def _missing():
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed (pip install 'cnncore[mpi]')"
    if _mpirun() is None:
        return "mpirun is not on PATH nor beside %s (pip install 'cnncore[mpi]')" % sys.executable
    return None


@pytest.fixture(scope="module")
def mpirun():
    reason = _missing()
    if reason is not None:
        if os.environ.get("CNNCORE_REQUIRE_MPI") == "1":
            pytest.fail("CNNCORE_REQUIRE_MPI=1 but %s" % reason)
        pytest.skip(reason)
    return _mpirun()


def run(mpirun, nranks, args, threads="1", cwd=None):
    """(exit status, stdout + stderr, seconds) of `mpirun -np nranks python args...`."""
    cmd = [mpirun, "--oversubscribe", "-np", str(nranks)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.insert(1, "--allow-run-as-root")
    env = dict(os.environ)  # the ranks import the cnncore this test session imports
    env.pop("OMP_NUM_THREADS", None)
    if threads is not None:
        env["OMP_NUM_THREADS"] = threads
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd + [sys.executable] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, cwd=cwd, start_new_session=True, text=True)
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail("mpirun -np %d %s did not end within %d s:\n%s" % (nranks, " ".join(args), TIMEOUT, out))
    return proc.returncode, out, time.monotonic() - t0


@pytest.mark.parametrize("nranks", [2, 3])
def test_ranks_match_one_process_over_three_sgd_steps(mpirun, nranks):
    # threads=None: the ranks choose their default (CPUs / ranks per host), which the script checks
    code, out, _ = run(mpirun, nranks, [os.path.join(SCRIPTS, "exactness.py")], threads=None)
    assert code == 0, out
    for r in range(nranks):
        assert "OK rank %d" % r in out, out


@pytest.mark.parametrize("fault,nranks,message", [
    ("raise", 2, "cnncore.distributed: rank 1 of 2 failed: RuntimeError: injected failure at step 2; "
                 "aborting all 2 ranks"),
    ("mismatch", 3, "of 3 failed: ValueError: module: rank 2 has 0.weight of shape (5, 1, 3, 3) where rank 0 "
                    "has 0.weight of shape (4, 1, 3, 3); every rank must wrap the same architecture")])
def test_a_failing_rank_ends_every_rank_with_cnncore_message(mpirun, fault, nranks, message):
    code, out, seconds = run(mpirun, nranks, [os.path.join(SCRIPTS, "fault.py"), fault])
    assert code != 0, out
    assert message in out and "cnncore.distributed: rank" in out, out
    assert "not reached" not in out
    assert seconds < TIMEOUT / 2, "the job took %.0f s to end after a rank failed" % seconds


def test_cli_trains_on_two_ranks_and_resumes_on_three(mpirun, tmp_path):
    ck = str(tmp_path / "run.ckpt")
    common = ["-m", "cnncore", "train", "--model", "seed_cnn", "--dataset", "digits", "--batch-size", "240",
              "--optimizer", "sgd", "--lr", "0.05", "--distributed", "--sync-bn", "--no-progress",
              "--checkpoint", ck]
    code, out, _ = run(mpirun, 2, common + ["--epochs", "1"], cwd=str(tmp_path))
    assert code == 0, out
    assert out.count("epoch 1/1") == 1, out  # rank 0 reports, the other rank is quiet
    assert "per rank, 2 ranks" in out and "all 2 ranks" in out, out
    code, out, _ = run(mpirun, 3, common + ["--epochs", "2", "--resume", ck], cwd=str(tmp_path))
    assert code == 0, out
    assert out.count("epoch 2/2") == 1 and "epoch 1/2" not in out, out
    with open(ck, "rb") as f:
        state = pickle.load(f)
    assert state["epoch"] == 2 and len(state["history"]) == 2
    assert all(k.startswith("module.") for k in state["model"])
