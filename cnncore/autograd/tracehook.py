"""The hook through which cnncore.trace sees a forward: while a trace runs (on its own thread),
module calls and the public ops decorated with `traced` report to it; otherwise the cost is one
global read per call. Nothing here knows the graph format (cnncore/trace.py does)."""
import functools
import threading

_tracer = None  # the active cnncore.trace.Tracer, or None


def active():
    """The tracer recording this thread's calls, or None."""
    t = _tracer
    if t is not None and t.thread == threading.get_ident():
        return t
    return None


def install(tracer):
    """Make `tracer` the active one (one trace at a time in the process); None removes it."""
    global _tracer
    if tracer is not None and _tracer is not None:
        raise RuntimeError("trace: another trace is running (one at a time)")
    _tracer = tracer


def traced(kind):
    """Decorate a public op so that an active trace records it as `kind` (cnncore.trace's table
    of op converters); the op runs unchanged."""
    def decorate(fn):
        @functools.wraps(fn)
        def op(*args, **kwargs):
            t = _tracer
            if t is None or t.thread != threading.get_ident():
                return fn(*args, **kwargs)
            return t.op(kind, fn, args, kwargs)
        return op
    return decorate
