"""The recorded graph: nodes, grad mode and the reverse pass.

Every differentiable op creates a Node: its input Tensors, the Parameters it reads, and what its
backward needs. `backward()` orders the nodes reachable from the roots once (depth-first, post
order) and runs their `backward` in reverse, adding gradients where a value fans out. A node frees
what it saved as the reverse pass leaves it (unless retain_graph=True), so a second backward
through it is an error, not silent garbage.

Some nodes are lazy (convolution, batch norm, and an add that may join them): their output is
computed when first needed. That window is what lets fusion be a decision on the graph
(cnncore.autograd.fusion): a ReLU applied to a convolution's pending output becomes one
convolution with a ReLU epilogue, wherever the pattern occurs.
"""
import threading

_local = threading.local()

# A profiler (cnncore's bench --profile) when one is active: it learns of every node created
# (`created(node)`) and is told the time of every lazy computation and backward (`spent`).
profiler = None


class ConcurrentUseError(RuntimeError):
    """A module or a graph was used from a second thread while another thread was using it."""


def is_grad_enabled():
    """Whether ops record themselves for backward (True unless inside `no_grad`)."""
    return getattr(_local, "grad_enabled", True)


def set_grad_enabled(mode):
    _local.grad_enabled = bool(mode)


class _GradMode:
    _mode = True

    def __enter__(self):
        self._previous = is_grad_enabled()
        set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        set_grad_enabled(self._previous)
        return False

    def __call__(self, fn):
        import functools

        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            previous = is_grad_enabled()
            set_grad_enabled(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                set_grad_enabled(previous)

        return wrapper


class no_grad(_GradMode):
    """Context manager and decorator: ops inside record nothing and keep nothing for backward,
    as torch.no_grad."""
    _mode = False


class enable_grad(_GradMode):
    """Context manager and decorator: recording on again (inside a no_grad block)."""
    _mode = True


def taking_part(inputs, params=()):
    """(whether a gradient flows through an op with these inputs and Parameters, whether it
    records): it requires grad if an input or Parameter does; it records (when grad mode is on)
    if it requires grad or an input is itself recorded."""
    rg = rec_in = False
    for t in inputs:
        rg = rg or t.requires_grad
        rec_in = rec_in or t._rec
    if not rg:
        for p in params:
            if p.requires_grad:
                rg = True
                break
    return rg, (rg or rec_in) and is_grad_enabled()


class Node:
    """One recorded op. Subclasses set `inputs` (Tensors), `params` (Parameters whose gradients
    they accumulate) and implement `backward(grad, needs)` -> one gradient (or None) per input;
    `needs[i]` says whether input i's gradient is wanted. Lazy nodes also implement `compute()`.

    Gradients travel in the representation of the value they belong to: a Blocked for a blocked
    activation, a float32 ndarray otherwise."""

    __slots__ = ("inputs", "params", "versions", "freed", "owner")
    name = "op"
    lazy = False

    def __init__(self, inputs, params=()):
        self.inputs = inputs
        self.params = params
        self.versions = [p._version for p in params] if params else None
        self.freed = False
        self.owner = None
        if profiler is not None and not self.lazy:  # lazy nodes report when complete (emit)
            profiler.created(self)

    def backward(self, grad, needs):
        raise NotImplementedError

    def link(self):
        """Hold the inputs as edges (their nodes, or leaf tensors) from now on: called once the
        node's value is computed, so intermediate values live only as long as something saved
        them or the user holds them."""
        self.inputs = [edge(t) for t in self.inputs]

    def release(self):
        """Drop what was saved for backward (subclasses with saved values override)."""

    def wants_param_grads(self):
        for p in self.params:
            if p.requires_grad:
                return True
        return False

    def check_versions(self):
        if self.versions is None:
            return
        for p, v in zip(self.params, self.versions):
            if p._version != v:
                raise RuntimeError(
                    "backward through %s: a Parameter of shape %s it used was changed in place "
                    "(an optimizer step or `p.data = ...`) after the forward that recorded it; "
                    "call backward() before changing parameters, then run the forward again"
                    % (self.name, p.shape))


def edge(t):
    """Where a gradient for tensor t goes: the node that computed it (recorded tensors), or the
    tensor itself (leaves). Nodes hold their inputs as edges once computed, so the graph keeps
    only what backward saved alive, not every intermediate value."""
    node = t._node
    return node if (node is not None and t._rec) else t


def _order(roots, stop):
    """Nodes reachable from the root edges (not descending past `stop`), in post order, and
    the ids of the edges whose gradient is needed (on a path to a leaf that requires grad, to a
    Parameter that does, or to an edge in `stop`)."""
    order, need, visited = [], set(), set()
    stack = [(root, False) for root in roots]
    while stack:
        e, expanded = stack.pop()
        if expanded:
            if e.freed or e.wants_param_grads() or any(id(i) in need for i in e.inputs):
                need.add(id(e))
            order.append(e)
            continue
        if id(e) in visited:
            continue
        visited.add(id(e))
        if id(e) in stop:
            need.add(id(e))
        elif not isinstance(e, Node):
            if e.requires_grad:
                need.add(id(e))
        else:
            stack.append((e, True))
            for i in e.inputs:
                if id(i) not in visited:
                    stack.append((i, False))
    return order, need


def queue_callback(fn):
    """Call `fn()` once the reverse pass running on this thread has finished (every gradient
    accumulated), as PyTorch's `Variable._execution_engine.queue_callback`: what distributed
    training uses to wait for the gradient reductions it started during backward."""
    queue = getattr(_local, "callbacks", None)
    if queue is None:
        raise RuntimeError("queue_callback: no backward pass is running on this thread")
    queue.append(fn)


def _hooked_params(order):
    """{id(p): [p, number of nodes in `order` using p]} for the Parameters with grad-ready
    hooks: a gradient is final when the last node using its Parameter has been passed."""
    uses = {}
    for node in order:
        for p in node.params:
            if p._grad_ready_hooks:
                entry = uses.get(id(p))
                if entry is None:
                    uses[id(p)] = [p, 1]
                else:
                    entry[1] += 1
    return uses


def _passed(params, uses):
    """The reverse pass has left a node using `params`: call the hooks of those now final."""
    for p in params:
        entry = uses.get(id(p))
        if entry is not None:
            entry[1] -= 1
            if entry[1] == 0:
                for hook in list(p._grad_ready_hooks.values()):
                    hook(p)


def run_backward(roots, grads, retain_graph=False, stop=()):
    """The reverse pass from `roots` (Tensors) seeded with `grads` (raw gradients of their
    values). Leaves that require grad get `.grad`; Parameters get theirs through the nodes, and
    a Parameter's grad-ready hooks run as soon as the last node using it has been passed.
    Tensors in `stop` are treated as leaves: their gradients are returned in a dict keyed by
    the tensor's id, and nothing below them runs. Callbacks queued (queue_callback) during the
    pass run at its end."""
    stop_edges = {id(edge(t)): t for t in stop}
    root_edges = [edge(r) for r in roots]
    order, need = _order(root_edges, stop_edges)
    uses = _hooked_params(order)
    me = threading.get_ident()
    claimed = []
    outer_callbacks = getattr(_local, "callbacks", None)
    _local.callbacks = callbacks = []
    try:
        for node in order:
            if node.owner is not None and node.owner != me:
                raise ConcurrentUseError(
                    "backward: this graph is being differentiated by another thread (thread %d); "
                    "a graph belongs to the thread that runs its backward" % node.owner)
            node.owner = me
            claimed.append(node)
        acc = {}
        out = {}
        leaves = []
        for e, g in zip(root_edges, grads):
            if id(e) in stop_edges:
                _accumulate(out, id(stop_edges[id(e)]), g)
            elif isinstance(e, Node):
                _accumulate(acc, id(e), g)
            elif e.requires_grad:
                leaves.append((e, g))
        for k in range(len(order) - 1, -1, -1):
            node = order[k]
            order[k] = None
            g = acc.pop(id(node), None)
            if g is None or id(node) not in need:
                if uses:
                    _passed(node.params, uses)
                continue
            if node.freed:
                raise RuntimeError(
                    "backward through %s a second time: its saved values were freed by the first "
                    "backward; pass retain_graph=True to the first backward() to go through the "
                    "graph again" % node.name)
            node.check_versions()
            inputs = node.inputs
            needs = [id(i) in need for i in inputs]
            if profiler is None:
                grads_in = node.backward(g, needs)
            else:
                grads_in = profiler.timed_backward(node, g, needs)
            if not retain_graph:  # free what it saved and its hold on its inputs
                node.release()
                node.freed = True
                node.inputs = ()
            for i, gi, wanted in zip(inputs, grads_in, needs):
                if gi is None or not wanted:
                    continue
                if id(i) in stop_edges:
                    _accumulate(out, id(stop_edges[id(i)]), gi)
                elif isinstance(i, Node):
                    _accumulate(acc, id(i), gi)
                else:
                    leaves.append((i, gi))
            if uses:
                _passed(node.params, uses)
        for leaf, g in leaves:
            leaf._accumulate_grad(g)
        for fn in callbacks:
            fn()
        return out
    finally:
        _local.callbacks = outer_callbacks
        for node in claimed:
            node.owner = None


def graph_ops(*tensors):
    """The names of the recorded ops that computed `tensors`, inputs first (what ran, with
    fused ops named by their parts, e.g. 'Conv2d+ReLU', 'BatchNorm2d+Add+ReLU')."""
    order, _ = _order([edge(t) for t in tensors], set())
    return [node.name for node in order]


def _accumulate(acc, key, g):
    from .values import add_values

    prev = acc.get(key)
    acc[key] = g if prev is None else add_values(prev, g)
