"""The graph walk: ``backward`` and ``grad``.

From the output, the nodes are visited in reverse topological order (an iterative depth-first search, so a
chain of 100,000 ops is fine). Each node's ``backward`` is called once, with the sum of every gradient that
reached its output; its results are added into its parents' (nodes, or leaf tensors whose ``.grad``
accumulates). Without ``retain_graph`` the nodes free what they saved as they are passed. With
``create_graph`` the walk runs with recording on, so the gradients it returns have a graph of their own
(double backward).

Of a node (a :class:`tinygen.autograd.Function`) the walk reads ``parents``, ``in_shapes``, ``hooks`` and
``retain_ref``, and calls ``backward``, ``free`` and ``check_not_freed``. Grad mode and anomaly mode come
from :mod:`tinygen._modes`.
"""
from __future__ import annotations

import math

from . import _modes
from . import backend as _backend
from .tensor import ShapeError, Tensor

__all__ = ["backward", "grad", "run_backward"]


def run_backward(roots, root_grads, retain_graph, create_graph, inputs=None, allow_unused=False):
    """Differentiate ``roots``, seeded with ``root_grads``: in reverse topological order, call each node's
    backward once and add what it returns into its parents. For :meth:`Tensor.backward` (``inputs`` None:
    every leaf's ``.grad`` accumulates) and :func:`grad` (the gradients of ``inputs`` are returned)."""
    grads = _seed(roots, root_grads)                 # node or leaf Tensor -> the gradient of its output so far
    order = _topological([r._node for r in roots if r._node is not None])     # parents before children
    needed, targets = (None, ()) if inputs is None else _needed(order, inputs)   # grad(): the nodes that matter
    checked = _modes.checked_backward if _modes.anomaly_enabled else None     # detect_anomaly()
    with _modes.set_grad_enabled(create_graph):     # create_graph: the backward's own ops are recorded
        for node in reversed(order):                # children before parents
            if needed is not None and node not in needed:
                continue                            # no input of grad() behind it: not called, not freed
            g = grads.pop(node, None)
            if g is not None:
                if node.hooks or node.retain_ref is not None:
                    g = _at_output(node, g, create_graph)
                if node in targets:
                    grads[node] = g                 # a non-leaf input of grad(): its gradient is returned
                _add_into_parents(node, node.backward(g) if checked is None else checked(node, g), grads)
            if not retain_graph:
                node.free()
        if inputs is not None:
            return _gradients_of(inputs, grads, create_graph, allow_unused)
        _fill_leaf_grads(grads, root_grads, create_graph)
    return None


def _seed(roots, root_grads):
    """The gradients the walk starts from, one per root (a root given twice gets their sum)."""
    grads = {}
    for r, g in zip(roots, root_grads):
        if not r.requires_grad:
            raise RuntimeError("element of outputs does not require grad: nothing to differentiate "
                               "(was it computed under no_grad, or from tensors without requires_grad=True?)")
        key = r._node if r._node is not None else r
        prev = grads.get(key)
        grads[key] = g if prev is None else prev + g
    return grads


def _topological(root_nodes):
    """Nodes reachable from ``root_nodes``, parents before children (iterative DFS post-order)."""
    order, seen = [], set()
    stack = [(n, False) for n in root_nodes]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node not in seen:
            node.check_not_freed()
            seen.add(node)
            stack.append((node, True))
            for p in node.parents:
                if p is not None and p not in seen and not isinstance(p, Tensor):
                    stack.append((p, False))
    return order


def _needed(order, inputs):
    """grad(): the nodes on a path from one of ``inputs`` to the output (``order``: parents first), and the
    nodes of the non-leaf inputs."""
    targets = {t._node for t in inputs if t._node is not None}
    needed = targets | {t for t in inputs if t._node is None}
    for node in order:
        if node not in needed and any(p is not None and p in needed for p in node.parents):
            needed.add(node)
    return needed, targets


def _at_output(node, g, create_graph):
    """The gradient of a node's output after its hooks; kept as the output's ``.grad`` after retain_grad()."""
    if node.hooks:
        g = _run_hooks(node.hooks, g)
    if node.retain_ref is not None:
        t = node.retain_ref()
        if t is not None:
            t.grad = g if create_graph else g.detach()
    return g


def _add_into_parents(node, input_grads, grads):
    """Add the gradient ``backward`` returned for each input into what that input's parent (a node or a leaf
    Tensor) has received so far: a tensor used twice gets the sum."""
    if input_grads.__class__ is not tuple and not isinstance(input_grads, (tuple, list)):
        input_grads = (input_grads,)
    for p, gi, shape in zip(node.parents, input_grads, node.in_shapes):
        if p is None or gi is None:
            continue
        if gi.data.shape != shape:
            raise RuntimeError(f"{node.name}.backward returned a gradient of shape {tuple(gi.shape)} "
                               f"for an input of shape {tuple(shape)} (a bug in the op)")
        if isinstance(p, Tensor) and gi.data.dtype != p.data.dtype:
            gi = gi.to(dtype=p.dtype)           # a float32 leaf used with float64 data: a float32 gradient
        prev = grads.get(p)
        grads[p] = gi if prev is None else prev + gi


def _run_hooks(hooks, g):
    """Pass the gradient ``g`` through the hooks in order; a hook may return a replacement of the same shape
    and dtype (as in PyTorch), or None to keep it."""
    for h in hooks:
        r = h(g)
        if r is None:
            continue
        name = getattr(h, "__qualname__", None) or repr(h)
        if not isinstance(r, Tensor):
            raise TypeError(f"the hook {name!r} returned a value of type {type(r).__name__}; a hook must "
                            f"return None or a Tensor of the gradient's shape {tuple(g.shape)}")
        if r.shape != g.shape or r.dtype != g.dtype:
            raise RuntimeError(f"the hook {name!r} changed the gradient from shape {tuple(g.shape)} ({g.dtype}) "
                               f"to shape {tuple(r.shape)} ({r.dtype}); a hook must keep its shape and dtype")
        g = r
    return g


def _gradients_of(inputs, grads, create_graph, allow_unused):
    """grad(): the gradient of each input (a leaf's through its hooks), detached unless create_graph."""
    out = []
    for t in inputs:
        g = grads.get(t if t._node is None else t._node)
        if g is not None and t._node is None and t._hooks:
            g = _run_hooks(t._hooks, g)
        if g is None and not allow_unused:
            raise RuntimeError("one of the inputs was not used to compute the outputs (or does not "
                               "require grad); pass allow_unused=True to get None for it")
        if g is not None and not create_graph:
            g = g.detach()
        out.append(g)
    return out


def _fill_leaf_grads(grads, root_grads, create_graph):
    """backward(): add each leaf's gradient, through the leaf's hooks, into its ``.grad``. Every hook runs
    first, so that a failing one changes no ``.grad``. (After the walk only leaves are left in ``grads``.)"""
    finals = [(leaf, _run_hooks(leaf._hooks, g) if leaf._hooks else g) for leaf, g in grads.items()]
    given = {id(g.data) for g in root_grads}
    for leaf, g in finals:
        if not create_graph:
            g = g.detach()
        if leaf.grad is None:
            # every leaf gets its own writable array: Add hands the same gy to both inputs, and
            # broadcasts are read-only views; optimizers and users may write into .grad in place
            d = g.data
            if id(d) in given or not _backend.backend_of(d).is_private(d):
                g = Tensor(_backend.backend_of(d).xp.asarray(d, copy=True))
            given.add(id(g.data))
            leaf.grad = g
        else:
            leaf.grad = leaf.grad + g


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
    with _backend.device_scope(tensors[0].data):          # on a GPU, the walk's own array work runs there
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
    if retain_graph is None:
        retain_graph = create_graph
    with _backend.device_scope(outputs[0].data):
        gs = _default_grads(outputs, grad_outputs, "grad")
        return tuple(run_backward(outputs, gs, retain_graph, create_graph, inputs=inputs,
                                  allow_unused=allow_unused))
