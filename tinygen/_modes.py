"""The two switches below the op record and the graph walk: grad mode and anomaly mode.

* **Grad mode** (:data:`grad_enabled`): when off (``no_grad()``), ops record nothing. The walk switches it to
  ``create_graph`` while it runs, so that a backward made of Tensor ops is recorded exactly when a graph of
  the gradient was asked for (double backward).
* **Anomaly mode** (:data:`anomaly_enabled`, ``detect_anomaly()``): every op's output and every node's
  gradients are checked for NaN/inf, and the error names the op and the line of user code that ran it.

:mod:`tinygen.autograd` (``Function.apply``) and :mod:`tinygen.backprop` (the walk) both read these two module
attributes; the public names (``no_grad``, ``detect_anomaly``, ...) are re-exported by ``tinygen.autograd``.
"""
from __future__ import annotations

import contextlib
import functools
import os
import sys
import traceback

from . import backend as _backend

__all__ = ["grad_enabled", "anomaly_enabled", "is_grad_enabled", "set_grad_enabled", "no_grad", "enable_grad",
           "detect_anomaly", "AnomalyError", "check_forward", "checked_backward", "user_trace"]

grad_enabled = True      # read by Function.apply for every op: a module attribute is the cheapest check
anomaly_enabled = False
_backward_of = None      # under detect_anomaly: the node whose backward is running


# ---------------------------------------------------------------------------------------------------------
# Grad mode
# ---------------------------------------------------------------------------------------------------------
def is_grad_enabled():
    """True when ops record themselves (the default); False inside ``no_grad()``."""
    return grad_enabled


class set_grad_enabled:
    """Context manager (and decorator) that switches recording on or off, restoring it afterwards."""

    def __init__(self, mode):
        self.mode = bool(mode)

    def __enter__(self):
        global grad_enabled
        self.prev = grad_enabled
        grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        global grad_enabled
        grad_enabled = self.prev
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
# Anomaly mode
# ---------------------------------------------------------------------------------------------------------
class AnomalyError(RuntimeError):
    """Raised under :func:`detect_anomaly` when an op's forward or backward produces NaN or infinity."""


@contextlib.contextmanager
def detect_anomaly():
    """Within this block, an op whose forward or backward produces NaN/inf raises :class:`AnomalyError`
    naming the op (and, for backward, the line of user code that ran its forward). Slow: for debugging."""
    global anomaly_enabled
    prev = anomaly_enabled
    anomaly_enabled = True
    try:
        yield
    finally:
        anomaly_enabled = prev


def _all_finite(a):
    xp = _backend.namespace(a)
    if not _backend.dtype_of(a).is_floating:
        return True
    return bool(xp.all(xp.isfinite(a)))


# Where an op was called from, for the messages: tinygen's own frames are recognised by the package's real
# location (a clone of the repository in a folder named "tinygen" holds user code too). The engine's frames
# are skipped; the first frame outside the package is the user's line. When a tinygen driver (the training
# loop, the CLI, the metrics) ran the op, frames further out only launched it (bin/tinygen, runpy, pytest):
# then the line that matters is the innermost one in tinygen/models/, e.g. models/vae.py in reparameterize.
_PKG = os.path.dirname(os.path.realpath(__file__))
_ENGINE = frozenset(("backend", "tensor.py", "_modes.py", "autograd.py", "backprop.py", "ops", "functional.py",
                     "nn", "optim.py", "creation.py", "gradcheck.py", "_malloc.py", "serialization.py", "testing",
                     "__init__.py"))
_kinds = {}   # code filename -> "user", "engine", "model" or "driver"


def _frame_kind(filename):
    kind = _kinds.get(filename)
    if kind is None:
        path = os.path.realpath(filename) if not filename.startswith("<") else filename
        if not path.startswith(_PKG + os.sep):
            kind = "user"
        else:
            top = os.path.relpath(path, _PKG).split(os.sep)[0]
            kind = "engine" if top in _ENGINE else "model" if top == "models" else "driver"
        _kinds[filename] = kind
    return kind


def user_trace():
    """The frame that called the op: the user's line, else (under a tinygen driver) the model's line."""
    frame, model = sys._getframe(1), None
    while frame is not None:
        kind = _frame_kind(frame.f_code.co_filename)
        if kind == "user":
            break
        if kind == "driver":
            frame = model or frame
            break
        if kind == "model" and model is None:
            model = frame
        frame = frame.f_back
    frame = frame or model
    if frame is None:
        return None
    return traceback.FrameSummary(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name,
                                  lookup_line=False)


def _at(where):
    """``file:line in function`` of a frame summary (module-level code: ``file:line``)."""
    name = "" if where.name.startswith("<") else f" in {where.name}"
    return f"{where.filename}:{where.lineno}{name}"


def _forward_ran_at(node):
    where = node.trace
    return f"; its forward ran at {_at(where)}" if where else ""


def check_forward(name, datas, out):
    """Raise :class:`AnomalyError` if the output ``out`` of op ``name`` (inputs ``datas``) has NaN/inf."""
    if _all_finite(out):
        return
    bad_in = [i for i, d in enumerate(datas) if hasattr(d, "dtype") and not _all_finite(d)]
    node = _backward_of
    if node is not None and not bad_in:  # an op inside some node's backward: blame that node's backward
        raise AnomalyError(f"{node.name}: backward produced NaN/inf (in its {name}){_forward_ran_at(node)}")
    where = user_trace()
    loc = f" (called at {_at(where)})" if where else ""
    if bad_in:
        raise AnomalyError(f"{name}: forward output contains NaN/inf; its input(s) {bad_in} already did{loc}")
    raise AnomalyError(f"{name}: forward produced NaN/inf from finite inputs{loc}")


def checked_backward(node, g):
    """``node.backward(g)``, with its own ops' outputs and its gradients checked for NaN/inf."""
    global _backward_of
    prev, _backward_of = _backward_of, node
    try:
        out = node.backward(g)
    finally:
        _backward_of = prev
    for i, gi in enumerate(out if isinstance(out, (tuple, list)) else (out,)):
        if gi is not None and not _all_finite(gi.data):
            raise AnomalyError(f"{node.name}: backward produced NaN/inf in the gradient of input {i}"
                               f"{_forward_ran_at(node)}")
    return out
