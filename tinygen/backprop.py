"""The graph walk: ``backward`` and ``grad``.

From the output, the nodes are visited in reverse topological order (an iterative depth-first search, so a
chain of 100,000 ops is fine). Each node's ``backward`` is called once, with the sum of every gradient that
reached its output; its results go to its parents (nodes, or leaf tensors whose ``.grad`` accumulates).
Without ``retain_graph`` the nodes free what they saved as they are passed. With ``create_graph`` the walk
runs with recording on, so the gradients it returns have a graph of their own (double backward).
"""
from __future__ import annotations

import math

from . import autograd as _ag
from . import backend as _backend
from .tensor import ShapeError, Tensor


def _cast(g, dtype):
    from .ops.elementwise import cast
    return cast(g, dtype)

__all__ = ["backward", "grad", "run_backward"]


def _topological(root_nodes):
    """Nodes reachable from ``root_nodes``, parents before children (iterative DFS post-order)."""
    order, seen = [], set()
    stack = [(n, False) for n in root_nodes]
    pop, push, visit = stack.pop, stack.append, seen.add    # bound methods: this loop runs for every node
    while stack:
        node, done = pop()
        if done:
            order.append(node)
            continue
        nid = id(node)
        if nid in seen:
            continue
        if node._saved is None:
            raise RuntimeError(_ag._FREED_MSG.format(op=node.name))
        visit(nid)
        push((node, True))
        for p in node.parents:
            if p is not None and id(p) not in seen and not isinstance(p, Tensor):
                push((p, False))
    return order


def _accumulate(store, key, g):
    prev = store.get(key)
    store[key] = g if prev is None else prev + g


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

    anomaly = _ag._anomaly
    with _ag.set_grad_enabled(create_graph):
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
                g = _run_hooks(node.hooks, g)
            if node.retain_ref is not None:
                t = node.retain_ref()
                if t is not None:
                    t.grad = g if create_graph else g.detach()
            if nid in target_nodes:
                results[nid] = g
            out = _ag._anomalous_backward(node, g) if anomaly else node.backward(g)
            if out.__class__ is not tuple and not isinstance(out, (tuple, list)):
                out = (out,)
            for p, gi, shape in zip(node.parents, out, node.in_shapes):
                if p is None or gi is None:
                    continue
                if gi.data.shape != shape:
                    raise RuntimeError(f"{node.name}.backward returned a gradient of shape {tuple(gi.shape)} "
                                       f"for an input of shape {tuple(shape)} (a bug in the op)")
                if isinstance(p, Tensor):
                    if gi.data.dtype != p.data.dtype:  # a float32 leaf used with float64 data: float32 grad
                        gi = _cast(gi, p.dtype)
                    key, store = id(p), leaf_grads
                    leaves[key] = p
                else:
                    key, store = id(p), grads
                prev = store.get(key)
                store[key] = gi if prev is None else prev + gi     # a tensor used twice: gradients add
            if not retain_graph:
                node.free()

        if inputs is not None:
            out = []
            for t in inputs:
                g = results.get(id(t._node)) if t._node is not None else leaf_grads.get(id(t))
                if g is not None and t._node is None and t._hooks:
                    g = _run_hooks(t._hooks, g)
                if g is None and not allow_unused:
                    raise RuntimeError("one of the inputs was not used to compute the outputs (or does not "
                                       "require grad); pass allow_unused=True to get None for it")
                if g is not None and not create_graph:
                    g = g.detach()
                out.append(g)
            return out

        given = {id(g.data) for g in root_grads}
        finals = [(leaves[lid], _run_hooks(leaves[lid]._hooks, g) if leaves[lid]._hooks else g)
                  for lid, g in leaf_grads.items()]     # every hook first: a failing one changes no .grad
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
