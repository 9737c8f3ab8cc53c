"""Runtime configuration: the ISA level of the kernels and the thread count."""
import numbers
import os
import sys

from ._omp_policy import chosen_policy, runtime_already_loaded, runtime_loading

# what the OpenMP runtime is loaded with (None: its default, or another library loaded it first)
_WAIT_POLICY = None if runtime_already_loaded() else chosen_policy()
with runtime_loading():
    from . import _kernels

ISA_LEVELS = _kernels.ISA_LEVELS  # ("generic", "avx2", "avx512"), lowest first
ISA_ENV = "CNNCORE_ISA"
POOL_ENV = "CNNCORE_POOL_MB"


def _buffer_pool_from_environment():
    """The activation buffer pool's limit from CNNCORE_POOL_MB (MiB of free blocks kept for
    reuse; default 1024, 0 turns the pool off). The pool is cnncore's own: the process's malloc
    settings are left alone."""
    value = os.environ.get(POOL_ENV, "").strip()
    if not value:
        return
    try:
        mb = int(value)
        if mb < 0:
            raise ValueError
    except ValueError:
        raise ValueError("%s: expected a non-negative integer number of MiB (or unset), got %r"
                         % (POOL_ENV, os.environ[POOL_ENV]))
    _kernels.set_pool_limit(mb * 1024 * 1024)


def release_buffers():
    """Free the activation buffers cnncore keeps for reuse (as torch.cuda.empty_cache does for
    its pool); arrays still in use are not affected."""
    _kernels.release_buffers()


def available_isas():
    """ISA levels this CPU can run, lowest first (always includes 'generic')."""
    best = ISA_LEVELS.index(_kernels.isa_detected())
    return list(ISA_LEVELS[: best + 1])


def get_isa():
    """The ISA level whose kernels are in use."""
    return _kernels.isa_current()


def set_isa(level):
    """Use the kernels of `level` ('avx512', 'avx2' or 'generic'), capped at what the CPU supports.

    Returns the level actually chosen. Not thread-safe: call it when no kernel is running.
    """
    if not isinstance(level, str) or level.lower() not in ISA_LEVELS:
        raise ValueError(
            "level: expected one of %s, got %r" % (", ".join(repr(v) for v in ISA_LEVELS), level))
    return _kernels.isa_select(level.lower())


def _isa_from_environment():
    value = os.environ.get(ISA_ENV, "").strip().lower()
    if not value:
        return _kernels.isa_select(_kernels.isa_detected())
    if value not in ISA_LEVELS:
        raise ValueError(
            "%s: expected one of %s (or unset), got %r"
            % (ISA_ENV, ", ".join(ISA_LEVELS), os.environ[ISA_ENV]))
    return _kernels.isa_select(value)


def set_num_threads(n):
    """Run cnncore's kernels on `n` threads (n >= 1). `set_num_threads(None)` returns to the
    default: OMP_NUM_THREADS if set, else the number of CPUs (and threadpoolctl's limit, if any)."""
    if n is None:
        _kernels.set_num_threads(0)
        return
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError("n: expected an int >= 1 or None, got %r" % (n,))
    if not 1 <= n <= 2 ** 31 - 1:  # the C side takes an int
        raise ValueError("n: expected an int in [1, 2**31 - 1] or None, got %d" % n)
    _kernels.set_num_threads(int(n))


def get_num_threads():
    """Number of threads cnncore's kernels use."""
    return _kernels.get_num_threads()


def config():
    """The configuration as a dict: version, ISA levels, threads, OpenMP runtime, kernels."""
    from . import __version__

    return {
        "version": __version__,
        "isa": get_isa(),
        "isa_available": available_isas(),
        "isa_env": os.environ.get(ISA_ENV, ""),
        "num_threads": get_num_threads(),
        "openmp_runtime": _kernels.openmp_runtime(),
        "omp_wait_policy": _WAIT_POLICY or "the runtime's (OMP_WAIT_POLICY=%s, GOMP_SPINCOUNT=%s)"
        % (os.environ.get("OMP_WAIT_POLICY", "unset"), os.environ.get("GOMP_SPINCOUNT", "unset")),
        "buffer_pool": dict(zip(("free_bytes", "limit_bytes", "reused", "allocated"), _kernels.pool_stats())),
        "kernels": _kernels.kernel_names(),
    }


def show_config(file=None):
    """Print version, chosen and available ISA levels, threads, OpenMP runtime and kernels."""
    file = sys.stdout if file is None else file
    c = config()
    lines = [
        "cnncore %s" % c["version"],
        "  isa:            %s (available: %s; %s=%s)"
        % (c["isa"], ", ".join(c["isa_available"]), ISA_ENV, c["isa_env"] or "unset"),
        "  threads:        %d" % c["num_threads"],
        "  openmp runtime: %s" % c["openmp_runtime"],
        "  omp wait:       %s (CNNCORE_OMP_WAIT_POLICY)" % c["omp_wait_policy"],
        "  buffer pool:    keeps up to %d MiB of free activation buffers (%s)"
        % (c["buffer_pool"]["limit_bytes"] >> 20, POOL_ENV),
        "  kernels:",
    ]
    lines += ["    %-36s %s" % (op, name) for op, name in c["kernels"].items()]
    print("\n".join(lines), file=file)
