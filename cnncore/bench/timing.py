"""How the bench times things on a shared machine: wait for the process's own idle threads to go
quiet (settle), time each callable in a block of its own (time_blocks), watch how much CPU other
processes took meanwhile (OtherLoad), and measure a row again when they disturbed it (measure)."""
import contextlib
import os
import time

def settle(max_wait=2.0, window=0.02):
    """Wait until this process's idle threads stop spinning: until it uses under 10% of a CPU
    over a `window` (at most `max_wait` seconds). Returns the seconds waited.

    After a call, OpenMP's and the BLAS's worker threads keep spinning for a while (OpenBLAS's
    for about 0.15 s here), and whatever runs next on the same cores shares them: measured here,
    cnncore's 0.7 ms linear forward took 8 ms right after NumPy's matmul, 0.7 ms after this wait."""
    try:
        import resource
    except ImportError:
        return 0.0

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_wait:
        c0 = cpu()
        time.sleep(window)
        if cpu() - c0 < 0.1 * window:
            break
    return time.perf_counter() - t0


def time_blocks(fns, repeats, warmup=2):
    """Time each callable in a block of its own (settle, warm-up, then `repeats` runs); returns
    each one's list of times in seconds.

    Not interleaved A B A B: the thread pools of OpenMP and of NumPy's BLAS spin for a while after
    each call, and alternating them makes each one's idle spinners steal the cores from the other
    (measured here: cnncore 2.5x slower when interleaved with NumPy's matmul). For the same
    reason each block starts once the previous one's threads have gone quiet (settle).
    """
    times = []
    for f in fns:
        settle()
        for _ in range(warmup):
            f()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        times.append(ts)
    return times


class OtherLoad:
    """How much CPU other processes took while a block ran: `with OtherLoad() as load: ...`, then
    load.cores is their average number of busy cores over the block's wall time (None where
    /proc/stat is missing, i.e. not Linux).

    The machine's busy time (/proc/stat, all CPUs) minus this process's own CPU time (getrusage:
    all its threads, OpenMP's and BLAS's included). On a shared machine a kernel split over all
    cores waits at every barrier for the thread the scheduler took away, often a whole time slice
    (4 ms): a block during which others were busy is not a measurement of cnncore."""

    def __enter__(self):
        self._t0, self._s0, self._w0 = _machine_busy(), _self_cpu(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        t1, s1 = _machine_busy(), _self_cpu()
        self.seconds = time.perf_counter() - self._w0
        self.cores = None
        if t1 is not None and self._t0 is not None and self.seconds > 0:
            others = (t1 - self._t0) - (s1 - self._s0)
            # /proc/stat counts in ticks of 1/CLK_TCK s per CPU: below a few ticks is rounding
            self.cores = max(0.0, others - 2.0 / _CLK_TCK) / self.seconds
        return False


try:
    _CLK_TCK = os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):
    _CLK_TCK = 100


def _machine_busy():
    """Busy CPU seconds of the whole machine since boot (None without /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (sum(v) - v[3] - v[4]) / _CLK_TCK  # all but idle and iowait


def _self_cpu():
    try:
        import resource
    except ImportError:
        return 0.0
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def wait_quiet(limit, threshold, window=0.5):
    """Wait (up to `limit` seconds) until others keep fewer than `threshold` cores busy over a
    `window`."""
    end = time.perf_counter() + limit
    while time.perf_counter() < end:
        with OtherLoad() as load:
            time.sleep(window)
        if load.cores is None or load.cores < threshold:
            return True
    return False


NOISY_CORES = 0.1  # others' average busy cores above which a block is measured again


def blas_limit(threads):
    """A context limiting NumPy's BLAS to `threads` (threadpoolctl, when installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


class WaitBudget:
    """Seconds left to wait for quiet over a whole run: on a machine that stays busy, retries
    stop once it is spent instead of making the run last hours."""

    def __init__(self, seconds):
        self.left = seconds

    def wait(self, limit):
        t0 = time.perf_counter()
        wait_quiet(min(limit, self.left), NOISY_CORES)
        self.left = max(0.0, self.left - (time.perf_counter() - t0))


def measure(row, repeats, warmup, threads, retries=2, budget=None, wait=10.0):
    """{impl: (times in seconds, others' busy cores during them)} for cnncore, numpy, torch. A
    block during which other processes kept more than NOISY_CORES busy is measured again (after
    waiting up to `wait` s, within `budget`, for them to calm down), up to `retries` times; the
    least disturbed block is kept."""
    budget = WaitBudget(wait * retries) if budget is None else budget
    impls = [("cnncore", row.cnncore), ("numpy", row.numpy), ("torch", row.torch)]
    out = {}
    for name, f in impls:
        if f is None:
            continue
        best = None
        for attempt in range(retries + 1):
            if attempt:
                if budget.left <= 0:
                    break
                budget.wait(wait)
            with OtherLoad() as load:
                if name == "numpy":
                    with blas_limit(threads):
                        ts = time_blocks([f], repeats, warmup)[0]
                else:
                    ts = time_blocks([f], repeats, warmup)[0]
            cores = load.cores
            if best is None or (cores is not None and cores < best[1]):
                best = (ts, cores)
            if cores is None or cores <= NOISY_CORES:
                break
        out[name] = best
    return out
