"""OpenMP wait policy of cnncore's kernels, chosen before the OpenMP runtime loads.

GNU libgomp's default lets a thread that waits at a parallel region's barrier spin for a while
(GOMP_SPINCOUNT) before it sleeps. When other processes share the cores, one thread of a region
gets preempted and the other spins at its join on a core the preempting process wanted:
benchmarks/wait_policy.py measured the seed CNN's 2-thread training step at 294 ms (load 3-5 on 2
cores; 881 ms at load 5-7) with the default policy, 112 ms (85 ms) with OMP_WAIT_POLICY=passive,
and a single thread at 82-88 ms. So cnncore loads its OpenMP runtime with the passive policy
unless the user chose one (OMP_WAIT_POLICY or GOMP_SPINCOUNT set, or CNNCORE_OMP_WAIT_POLICY=
default to keep the runtime's own default, or =active/passive). The variable is set only while
the runtime loads (it reads it then), so child processes see the environment the user gave. A
process has one libgomp.so.1: a library that loads it after cnncore (PyTorch's wheel bundles one
under that name) shares cnncore's runtime and so its policy; when another library loaded it
first, cnncore's choice comes too late and cnncore.config() reports the runtime's own.
"""
import contextlib
import os

ENV = "CNNCORE_OMP_WAIT_POLICY"
CHOICES = ("passive", "active", "default")
USER_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def chosen_policy(environ=None):
    """The wait policy cnncore asks for: 'passive' (cnncore's default), 'active', or None (the
    runtime's own, when the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT or asked for 'default')."""
    environ = os.environ if environ is None else environ
    value = environ.get(ENV, "").strip().lower()
    if value and value not in CHOICES:
        raise ValueError("%s: expected one of %s, got %r" % (ENV, ", ".join(CHOICES), environ[ENV]))
    if value == "default" or any(environ.get(v, "").strip() for v in USER_VARIABLES):
        return None
    return value or "passive"


def runtime_already_loaded(maps="/proc/self/maps"):
    """Whether a GNU OpenMP runtime (libgomp.so) is already mapped into this process (another
    library loaded it first: it has read its environment then, and ours comes too late). False
    where /proc/self/maps cannot be read."""
    try:
        with open(maps) as f:
            return any("/libgomp.so" in line for line in f)
    except OSError:
        return False


@contextlib.contextmanager
def runtime_loading():
    """Sets OMP_WAIT_POLICY to chosen_policy() while the block (the import of the kernels, which
    loads the OpenMP runtime) runs, then restores the environment."""
    policy = chosen_policy()
    if policy is None:
        yield
        return
    saved = os.environ.get("OMP_WAIT_POLICY")
    os.environ["OMP_WAIT_POLICY"] = policy
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("OMP_WAIT_POLICY", None)
        else:
            os.environ["OMP_WAIT_POLICY"] = saved
