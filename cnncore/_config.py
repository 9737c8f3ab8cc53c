"""Runtime configuration: the ISA level of the kernels and the thread count."""
import numbers
import os
import sys

from . import _kernels

ISA_LEVELS = _kernels.ISA_LEVELS  # ("generic", "avx2", "avx512"), lowest first
ISA_ENV = "CNNCORE_ISA"
MALLOC_ENV = "CNNCORE_MALLOC_TUNING"
_malloc_tuned = False


def _tune_malloc_from_environment():
    """Unless CNNCORE_MALLOC_TUNING=0: make glibc keep freed blocks up to 32 MiB in the heap and
    trim only past 512 MiB free, so a training step does not page-fault its activations in anew
    each time (the kernel zeroes every fresh page). The process then holds on to memory it freed,
    as framework allocators do."""
    global _malloc_tuned
    value = os.environ.get(MALLOC_ENV, "1").strip()
    if value not in ("0", "1", ""):
        raise ValueError("%s: expected 0 or 1 (or unset), got %r" % (MALLOC_ENV, os.environ[MALLOC_ENV]))
    if value != "0":
        _malloc_tuned = _kernels.tune_malloc()


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
        "malloc_tuned": _malloc_tuned,
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
        "  malloc tuning:  %s (%s)" % ("on" if c["malloc_tuned"] else "off", MALLOC_ENV),
        "  kernels:",
    ]
    lines += ["    %-36s %s" % (op, name) for op, name in c["kernels"].items()]
    print("\n".join(lines), file=file)
