"""OpenMP wait policy of cnncore's kernels, chosen before the OpenMP runtime loads.

GNU libgomp's default lets a thread that waits at a parallel region's barrier spin for a while
(GOMP_SPINCOUNT) before it sleeps. On cores of its own that is the fastest choice: on a quiet
2-core AVX-512 machine (load ~1) benchmarks/wait_policy.py measured the seed CNN's 2-thread training
step at 26.1 ms with the default, 27.4 ms with GOMP_SPINCOUNT=10000 and 33.2 ms with
OMP_WAIT_POLICY=passive (a sleeping thread takes ~9 us to wake at each of the step's ~46 parallel
regions). When other processes share the cores, one thread of a region gets preempted and its
partner spins at the join on a core the preempting process wanted: at load 3-7 on 2 cores the
same step took 294-881 ms with the default and 85-112 ms passive (1 thread: 82-88 ms). So cnncore
keeps the runtime's own default and lets a user on shared cores choose: CNNCORE_OMP_WAIT_POLICY=
passive|active (set only while the runtime loads, which reads it then, so child processes see the
environment the user gave); OMP_WAIT_POLICY or GOMP_SPINCOUNT set by the user win. A process has
one libgomp.so.1: a library that loads it after cnncore (PyTorch's wheel bundles one under that
name) shares cnncore's runtime and so its policy; when another library loaded it first, cnncore's
choice comes too late and cnncore.config() reports the runtime's own.
"""
import contextlib
import os

ENV = "CNNCORE_OMP_WAIT_POLICY"
CHOICES = ("passive", "active", "default")
USER_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def chosen_policy(environ=None):
    """The wait policy cnncore asks for: 'passive' or 'active' as CNNCORE_OMP_WAIT_POLICY says, or
    None (the runtime's own: unset, 'default', or the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT)."""
    environ = os.environ if environ is None else environ
    value = environ.get(ENV, "").strip().lower()
    if value and value not in CHOICES:
        raise ValueError("%s: expected one of %s, got %r" % (ENV, ", ".join(CHOICES), environ[ENV]))
    if value == "default" or any(environ.get(v, "").strip() for v in USER_VARIABLES):
        return None
    return value or None


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
