"""Reverse-mode automatic differentiation: the Function base class and the graph walk.

How it works, in one paragraph. Every primitive op is a :class:`Function` subclass with a ``forward`` on
backend arrays and a ``backward`` on :class:`~tinygen.tensor.Tensor` objects. ``Op.apply(*inputs)`` runs the
forward and, when gradients are being recorded, keeps the op object as the output tensor's node: it remembers
its parents (the nodes or leaf tensors that made its inputs) and whatever ``forward`` saved. ``backward``
walks the nodes from the output in reverse topological order, calls each node's ``backward`` once with the
sum of the gradients that reached its output, and hands the results to its parents. Because ``backward``
is written with tinygen ops, running it with recording switched on (``create_graph=True``) builds a graph of
the gradient itself: that is double backward.
"""
from __future__ import annotations

import contextlib
import functools
import math
import traceback
import weakref

from . import backend as _backend
from .tensor import Tensor, ShapeError

__all__ = [
    "Function", "REGISTRY", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "grad",
    "backward", "detect_anomaly", "AnomalyError",
]

REGISTRY = {}            # op name -> Function subclass, filled by Function.__init_subclass__

_grad_enabled = True     # read by Function.apply for every op: a plain module global is the fastest check
_anomaly = False
_backward_of = None      # under detect_anomaly: the node whose backward is running


class AnomalyError(RuntimeError):
    """Raised under :func:`detect_anomaly` when an op's forward or backward produces NaN or infinity."""


class _Output:
    """Marker in a node's saved list: "the op's own output goes here"."""
    __slots__ = ()


_OUTPUT = _Output()
_FREED_MSG = ("Trying to backward through the graph a second time (or to use saved values after a backward "
              "freed them): the graph of {op} was freed by an earlier backward; pass retain_graph=True to "
              "the first backward (or to tinygen.grad) to keep it.")


class Function:
    """A primitive op: ``forward`` on arrays, ``backward`` on Tensors.

    Subclasses write::

        def forward(self, x, *, some_option=...):   # arrays in, one array out
            self.save_for_backward(x)                   # arrays (inputs or the output) backward needs
            return result
        def backward(self, gy):                         # gy: Tensor, dLoss/dOutput
            (x,) = self.saved_tensors                   # the input/output *Tensors*, graph intact
            return gx                                   # one gradient per positional input (None allowed)

    Inside ``forward``, ``self.xp`` is the array namespace of the inputs. ``self.needs_input_grad[i]`` says
    whether input ``i`` wants a gradient, so ``backward`` can skip work.

    Subclasses register themselves in :data:`REGISTRY` under ``name`` (default: the class name in lower
    case). ``sample(draw)`` returns (input arrays, callable) for the gradient checks; an op without it fails
    the test suite. ``register = False`` keeps helper base classes out of the registry.
    """

    name = None
    register = True
    differentiable = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("register", True) is False:
            return
        if cls.__dict__.get("name") is None:
            cls.name = cls.__name__.lower()
        if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
            raise TypeError(f"two ops are named {cls.name!r}: {REGISTRY[cls.name]} and {cls}")
        REGISTRY[cls.name] = cls

    # ----------------------------------------------------------------------------------------------------
    @classmethod
    def apply(cls, *args, **kwargs):
        """Run the op on Tensors (and plain Python numbers); return the output Tensor."""
        fn = cls.__new__(cls)
        datas = []
        record = False
        b0 = None
        by_type = _backend._by_type
        for a in args:
            if isinstance(a, Tensor):
                d = a.data
                b = by_type.get(type(d)) or _backend.backend_of(d)
                if b0 is None:
                    b0 = b
                elif b is not b0:
                    _raise_device_error(cls, args)
                datas.append(d)
                if a.requires_grad:
                    record = True
            else:
                datas.append(a)
        fn._to_save = None
        fn.xp = b0.xp if b0 is not None else _backend.namespace(_first_array(datas))
        try:
            out = fn.forward(*datas, **kwargs)
        except ShapeError:
            raise
        except ValueError as e:
            raise ShapeError(fn.shape_error(datas, kwargs, e)) from None
        record = record and _grad_enabled and cls.differentiable
        t = Tensor.__new__(Tensor)
        t.data = out
        t.grad = None
        t.name = None
        t._hooks = None
        if _anomaly:
            _check_forward(cls, datas, out)
        if not record:
            t.requires_grad = False
            t._node = None
            return t
        t.requires_grad = True
        t._node = fn
        parents = []
        shapes = []
        for a in args:
            if isinstance(a, Tensor) and a.requires_grad:
                parents.append(a._node if a._node is not None else a)
                shapes.append(a.data.shape)
            else:
                parents.append(None)
                shapes.append(None)
        fn.parents = parents
        fn.in_shapes = shapes
        fn.needs_input_grad = [p is not None for p in parents]
        fn.hooks = None
        fn.retain_ref = None
        fn.out_ref = weakref.ref(t)
        fn.out_data = None
        to_save = fn._to_save
        if to_save is not None:
            saved = []
            for x in to_save:
                for a, d in zip(args, datas):
                    if x is d and isinstance(a, Tensor):
                        saved.append(a)
                        break
                else:
                    if x is out:
                        saved.append(_OUTPUT)
                        fn.out_data = out
                    else:
                        saved.append(x)
            fn._saved = saved
        else:
            fn._saved = ()
        fn._to_save = None
        if _anomaly:
            fn.trace = _user_trace()
        return t

    def save_for_backward(self, *arrays):
        """Keep what ``backward`` needs: input arrays, the output array, or other arrays and numbers."""
        self._to_save = arrays

    @property
    def saved_tensors(self):
        """What ``forward`` saved, as Tensors: inputs and output with their graph, other arrays as constants."""
        saved = self._saved
        if saved is None:
            raise RuntimeError(_FREED_MSG.format(op=self.name))
        out = []
        for s in saved:
            if s is _OUTPUT:
                out.append(self.output_tensor())
            elif isinstance(s, Tensor) or s is None or isinstance(s, (int, float, bool)):
                out.append(s)
            else:
                out.append(Tensor(s))
        return tuple(out)

    def output_tensor(self):
        """The Tensor this node produced (rebuilt from the saved array if the user dropped it)."""
        t = self.out_ref()
        if t is None:
            t = Tensor.__new__(Tensor)
            t.data, t.grad, t.name, t._hooks = self.out_data, None, None, None
            t.requires_grad, t._node = True, self
            self.out_ref = weakref.ref(t)
        return t

    def forward(self, *arrays, **kwargs):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError(f"{self.name} has no backward")

    @staticmethod
    def sample(draw):
        """Inputs for the gradient checks: return (list of float64 host arrays, fn(*Tensors) -> Tensor)."""
        raise NotImplementedError

    def shape_error(self, datas, kwargs, err):
        shapes = " and ".join(str(tuple(d.shape)) for d in datas if hasattr(d, "shape"))
        opts = "".join(f", {k}={v!r}" for k, v in kwargs.items())
        return f"{self.name}: cannot apply to shape{'s' if ' and ' in shapes else ''} {shapes}{opts} ({err})"

    def free(self):
        self._saved = None
        self.out_data = None

    def __repr__(self):
        return f"<{self.name} node>"


def _first_array(datas):
    for d in datas:
        if hasattr(d, "shape"):
            return d
    raise TypeError("an op needs at least one array input")


def _raise_device_error(cls, args):
    devs = [a.device for a in args if isinstance(a, Tensor)]
    if len(set(devs)) > 1:
        raise _backend.DeviceError(f"{cls.name or cls.__name__.lower()}: inputs are on different devices "
                                   f"({', '.join(devs)}); move them with .to(device) first")
    raise _backend.DeviceError(f"{cls.name}: inputs come from different array libraries "
                               f"({', '.join(sorted({type(a.data).__module__ for a in args if isinstance(a, Tensor)}))})")


# ---------------------------------------------------------------------------------------------------------
# Grad mode
# ---------------------------------------------------------------------------------------------------------
def is_grad_enabled():
    return _grad_enabled


class set_grad_enabled:
    """Context manager (and decorator) that switches recording on or off, restoring it afterwards."""

    def __init__(self, mode):
        self.mode = bool(mode)

    def __enter__(self):
        global _grad_enabled
        self.prev = _grad_enabled
        _grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.prev
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*a, **kw):
            with type(self)(self.mode) if type(self) is set_grad_enabled else type(self)():
                return func(*a, **kw)
        return wrapper


class no_grad(set_grad_enabled):
    """``with tinygen.no_grad(): ...`` records nothing (evaluation, optimizer updates). Also a decorator."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Switches recording back on inside a ``no_grad`` block. Also a decorator."""

    def __init__(self):
        super().__init__(True)


# ---------------------------------------------------------------------------------------------------------
# Anomaly detection
# ---------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def detect_anomaly():
    """Within this block, an op whose forward or backward produces NaN/inf raises :class:`AnomalyError`
    naming the op (and, for backward, the line of user code that ran its forward). Slow: for debugging."""
    global _anomaly
    prev = _anomaly
    _anomaly = True
    try:
        yield
    finally:
        _anomaly = prev


def _all_finite(a):
    xp = _backend.namespace(a)
    if not _backend.dtype_of(a).is_floating:
        return True
    return bool(xp.all(xp.isfinite(a)))


def _user_trace():
    frames = [f for f in traceback.extract_stack()[:-2] if "/tinygen/" not in f.filename.replace("\\", "/")]
    return frames[-1] if frames else None


def _check_forward(cls, datas, out):
    if _all_finite(out):
        return
    bad_in = [i for i, d in enumerate(datas) if hasattr(d, "dtype") and not _all_finite(d)]
    node = _backward_of
    if node is not None and not bad_in:  # an op inside some node's backward: blame that node's backward
        where = getattr(node, "trace", None)
        loc = f"; its forward ran at {where.filename}:{where.lineno}" if where else ""
        raise AnomalyError(f"{node.name}: backward produced NaN/inf (in its {cls.name}){loc}")
    where = _user_trace()
    loc = f" (called at {where.filename}:{where.lineno})" if where else ""
    if bad_in:
        raise AnomalyError(f"{cls.name}: forward output contains NaN/inf; its input(s) {bad_in} already did{loc}")
    raise AnomalyError(f"{cls.name}: forward produced NaN/inf from finite inputs{loc}")


def _anomalous_backward(node, g):
    global _backward_of
    prev, _backward_of = _backward_of, node
    try:
        out = node.backward(g)
    finally:
        _backward_of = prev
    _check_backward(node, out if isinstance(out, (tuple, list)) else (out,))
    return out


def _check_backward(node, grads):
    for i, g in enumerate(grads):
        if g is not None and not _all_finite(g.data):
            where = getattr(node, "trace", None)
            loc = f"; its forward ran at {where.filename}:{where.lineno}" if where else ""
            raise AnomalyError(f"{node.name}: backward produced NaN/inf in the gradient of input {i}{loc}")


# ---------------------------------------------------------------------------------------------------------
# The graph walk
# ---------------------------------------------------------------------------------------------------------
def _topological(root_nodes):
    """Nodes reachable from ``root_nodes``, parents before children (iterative DFS post-order)."""
    order, seen = [], set()
    stack = [(n, False) for n in root_nodes]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        if node._saved is None:
            raise RuntimeError(_FREED_MSG.format(op=node.name))
        seen.add(id(node))
        stack.append((node, True))
        for p in node.parents:
            if p is not None and not isinstance(p, Tensor) and id(p) not in seen:
                stack.append((p, False))
    return order


def _accumulate(store, key, g):
    prev = store.get(key)
    store[key] = g if prev is None else prev + g


def run_backward(roots, root_grads, retain_graph, create_graph, inputs=None, allow_unused=False):
    """The walk shared by :meth:`Tensor.backward` (``inputs=None``: fill leaves' ``.grad``) and :func:`grad`
    (return the gradients of ``inputs`` instead)."""
    grads = {}       # id(node) -> gradient Tensor of the node's output
    leaf_grads = {}  # id(leaf) -> gradient Tensor
    leaves = {}      # id(leaf) -> leaf
    root_nodes = []
    for r, g in zip(roots, root_grads):
        if not r.requires_grad:
            raise RuntimeError("element of outputs does not require grad: nothing to differentiate "
                               "(was it computed under no_grad, or from tensors without requires_grad=True?)")
        if r._node is None:
            _accumulate(leaf_grads, id(r), g)
            leaves[id(r)] = r
        else:
            _accumulate(grads, id(r._node), g)
            root_nodes.append(r._node)
    order = _topological(root_nodes)

    useful = None
    target_nodes = {}
    if inputs is not None:
        target_leaves = {id(t) for t in inputs if t._node is None}
        target_nodes = {id(t._node): t for t in inputs if t._node is not None}
        useful = set()
        for node in order:  # parents come first
            if id(node) in target_nodes or any(
                    p is not None and (id(p) in useful if not isinstance(p, Tensor) else id(p) in target_leaves)
                    for p in node.parents):
                useful.add(id(node))
    results = {}

    with set_grad_enabled(create_graph):
        for node in reversed(order):
            nid = id(node)
            if useful is not None and nid not in useful:
                continue
            g = grads.pop(nid, None)
            if g is None:
                if not retain_graph:
                    node.free()
                continue
            if node.hooks:
                for h in node.hooks:
                    r = h(g)
                    if r is not None:
                        g = r
            if node.retain_ref is not None:
                t = node.retain_ref()
                if t is not None:
                    t.grad = g if create_graph else g.detach()
            if nid in target_nodes:
                results[nid] = g
            if _anomaly:
                out = _anomalous_backward(node, g)
            else:
                out = node.backward(g)
            if not isinstance(out, (tuple, list)):
                out = (out,)
            parents = node.parents
            for p, gi, shape in zip(parents, out, node.in_shapes):
                if p is None or gi is None:
                    continue
                if gi.data.shape != shape:
                    raise RuntimeError(f"{node.name}.backward returned a gradient of shape {tuple(gi.shape)} "
                                       f"for an input of shape {tuple(shape)} (a bug in the op)")
                if isinstance(p, Tensor):
                    _accumulate(leaf_grads, id(p), gi)
                    leaves[id(p)] = p
                else:
                    _accumulate(grads, id(p), gi)
            if not retain_graph:
                node.free()

        if inputs is not None:
            out = []
            for t in inputs:
                g = results.get(id(t._node)) if t._node is not None else leaf_grads.get(id(t))
                if g is not None and t._node is None and t._hooks:
                    for h in t._hooks:
                        r = h(g)
                        if r is not None:
                            g = r
                if g is None and not allow_unused:
                    raise RuntimeError("one of the inputs was not used to compute the outputs (or does not "
                                       "require grad); pass allow_unused=True to get None for it")
                if g is not None and not create_graph:
                    g = g.detach()
                out.append(g)
            return out

        for lid, g in leaf_grads.items():
            leaf = leaves[lid]
            if leaf._hooks:
                for h in leaf._hooks:
                    r = h(g)
                    if r is not None:
                        g = r
            if not create_graph:
                g = g.detach()
            leaf.grad = g if leaf.grad is None else leaf.grad + g
    return None


def _as_tuple(x):
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _default_grads(outputs, grad_outputs, what):
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = list(_as_tuple(grad_outputs)) if not isinstance(grad_outputs, (list, tuple)) else list(
            grad_outputs)
        if len(grad_outputs) != len(outputs):
            raise ValueError(f"{what}: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    gs = []
    for o, g in zip(outputs, grad_outputs):
        if g is None:
            if math.prod(o.shape) != 1:
                raise RuntimeError(f"{what}: the output has shape {tuple(o.shape)}, not a single number; pass "
                                   f"the gradient of the loss w.r.t. it (grad=...), e.g. tinygen.ones_like(out)")
            xp = _backend.namespace(o.data)
            g = Tensor(xp.ones_like(o.data))
        elif not isinstance(g, Tensor):
            g = Tensor(_backend.backend_of(o.data).asarray(g, _backend.dtype_of(o.data)))
        if tuple(g.shape) != tuple(o.shape):
            raise ShapeError(f"{what}: the gradient has shape {tuple(g.shape)} but the output has shape "
                             f"{tuple(o.shape)}")
        gs.append(g)
    return gs


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of every leaf they depend on."""
    tensors = _as_tuple(tensors)
    gs = _default_grads(tensors, grad_tensors, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(tensors, gs, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None, allow_unused=False):
    """The gradients of ``outputs`` w.r.t. ``inputs``, returned (``.grad`` fields are left alone).

    ``create_graph=True`` records the gradient computation so that the result can be differentiated again
    (WGAN-GP's gradient penalty, gradgradcheck). ``retain_graph`` defaults to ``create_graph``.
    """
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs must be Tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError("grad: one of the inputs does not require grad (create it with requires_grad=True)")
    gs = _default_grads(outputs, grad_outputs, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    return tuple(run_backward(outputs, gs, retain_graph, create_graph, inputs=inputs, allow_unused=allow_unused))
