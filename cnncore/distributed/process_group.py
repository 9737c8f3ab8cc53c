"""The process group: MPI's world communicator (mpi4py over Open MPI, the `mpi` extra), the rank
and world size mpirun gave this process, the default thread count per rank, and the fault
handler that ends every rank when one fails.

mpi4py is imported only by init_process_group, so `import cnncore.distributed` works (and
DistributedSampler with explicit num_replicas / rank works) without MPI installed."""
import os
import sys
import traceback

_state = {"comm": None, "hook": None, "previous_hook": None}


def is_available():
    """Whether the MPI backend can be used (mpi4py importable), as torch.distributed.is_available."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_initialized():
    """Whether init_process_group has run (and destroy_process_group has not)."""
    return _state["comm"] is not None


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError("cnncore.distributed needs mpi4py and an MPI runtime: pip install "
                          "'cnncore[mpi]' (Open MPI and mpi4py), then start the ranks with mpirun") from exc
    return MPI


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the MPI job this process was started in (mpirun gives the rank and the world size),
    as torch.distributed.init_process_group(backend='mpi').

    backend: None or 'mpi' (the only one). world_size / rank: -1 (take MPI's) or the values
    MPI gives, checked. init_method, store, group_name, pg_options, device_id: PyTorch's
    rendezvous and device arguments, which MPI does not need: None / '' only. timeout is
    accepted and unused (a failed rank aborts the job instead, see below).

    Afterwards:
    - threads: unless OMP_NUM_THREADS is set, cnncore runs each rank on (CPUs of the host /
      ranks on the host) threads, at most the CPUs this process may use (call
      cnncore.set_num_threads afterwards to choose otherwise);
    - faults: an exception that ends a rank (uncaught) prints its traceback and
      "cnncore.distributed: rank R of N failed: <exception>; aborting all N ranks", then aborts the
      communicator, so every rank exits (non-zero) within seconds instead of waiting forever
      in a collective.
    """
    if backend not in (None, "mpi"):
        raise ValueError("backend: expected 'mpi' (or None), got %r" % (backend,))
    for name, value, default in (("init_method", init_method, None), ("store", store, None),
                                 ("group_name", group_name, ""), ("pg_options", pg_options, None),
                                 ("device_id", device_id, None)):
        if value != default:
            raise ValueError("%s: expected %r (MPI needs no rendezvous or device), got %r"
                             % (name, default, value))
    if is_initialized():
        raise RuntimeError("init_process_group: the process group is already initialized "
                           "(call destroy_process_group first)")
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    for name, value, actual in (("world_size", world_size, comm.Get_size()), ("rank", rank, comm.Get_rank())):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("%s: expected an int, got %r" % (name, value))
        if value != -1 and value != actual:
            raise ValueError("%s: expected -1 or %d (what mpirun started), got %d" % (name, actual, value))
    _state["comm"] = comm
    _install_fault_handler(comm)
    _default_threads(comm)


def _default_threads(comm):
    if os.environ.get("OMP_NUM_THREADS"):
        return
    import cnncore

    local = comm.Split_type(_mpi().COMM_TYPE_SHARED)
    per_host = local.Get_size()
    local.Free()
    share = max(1, (os.cpu_count() or 1) // per_host)
    cnncore.set_num_threads(max(1, min(share, cnncore.get_num_threads())))


def _install_fault_handler(comm):
    previous = sys.excepthook

    def abort_all(exc_type, exc, tb):
        rank, size = comm.Get_rank(), comm.Get_size()
        try:
            traceback.print_exception(exc_type, exc, tb)
            sys.stderr.write("cnncore.distributed: rank %d of %d failed: %s: %s; aborting all %d ranks\n"
                             % (rank, size, exc_type.__name__, exc, size))
            sys.stderr.flush()
        finally:
            comm.Abort(1)

    _state["previous_hook"] = previous
    _state["hook"] = abort_all
    sys.excepthook = abort_all


def _group():
    comm = _state["comm"]
    if comm is None:
        raise RuntimeError("Default process group has not been initialized, please make sure to "
                           "call cnncore.distributed.init_process_group()")
    return comm


def get_rank(group=None):
    """This process's rank (0 .. world size - 1)."""
    _check_group(group)
    return _group().Get_rank()


def get_world_size(group=None):
    """The number of ranks."""
    _check_group(group)
    return _group().Get_size()


def barrier(group=None):
    """Wait until every rank has reached this call."""
    _check_group(group)
    _group().Barrier()


def destroy_process_group(group=None):
    """Leave the process group: the fault handler is removed; MPI itself is finalized when the
    process exits (mpi4py), so init_process_group may be called again."""
    _check_group(group)
    _group()
    if sys.excepthook is _state["hook"]:
        sys.excepthook = _state["previous_hook"]
    _state.update(comm=None, hook=None, previous_hook=None)


def _check_group(group):
    if group is not None:
        raise ValueError("group: only the default group (None) exists, got %r" % (group,))


def communicator():
    """The mpi4py communicator of the process group (for SyncBatchNorm and the DDP reducer)."""
    return _group()


def sum_over_ranks(values):
    """The element-wise sum over all ranks of a float64 vector (a blocking allreduce)."""
    import numpy as np

    MPI = _mpi()
    values = np.array(values, dtype=np.float64, order="C", copy=True)
    _group().Allreduce(MPI.IN_PLACE, [values, MPI.DOUBLE], op=MPI.SUM)
    return values
