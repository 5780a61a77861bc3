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
import os
import sys
import traceback
import weakref

from . import backend as _backend
from .tensor import Tensor, ShapeError

__all__ = [
    "Function", "REGISTRY", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "grad",
    "backward", "detect_anomaly", "AnomalyError",
]

REGISTRY = {}            # op name -> tinygen's own Function subclasses, filled by Function.__init_subclass__

_grad_enabled = True     # read by Function.apply for every op: a plain module global is the fastest check
_anomaly = False
_backward_of = None      # under detect_anomaly: the node whose backward is running


class AnomalyError(RuntimeError):
    """Raised under :func:`detect_anomaly` when an op's forward or backward produces NaN or infinity."""


class _Output:
    """Marker in a node's saved list: "the op's own output goes here"."""
    __slots__ = ()


_OUTPUT = _Output()
_SCALAR_TYPES = _backend.SCALAR_TYPES
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

    Inside ``forward``, ``self.xp`` is the array namespace of the inputs and ``self.recording`` says whether
    the op is being recorded (False under no_grad or when no input requires grad: then nothing that only
    backward needs should be computed). ``self.needs_input_grad[i]`` says whether input ``i`` wants a
    gradient, so ``backward`` can skip work.

    ``name`` (default: the class name in lower case) is what error messages and graph pictures call the op.
    ``sample(draw)`` returns (input arrays, callable) for the gradient checks (see
    :func:`tinygen.gradcheck.check_op` and :mod:`tinygen.testing`).

    tinygen's own ops (classes defined in the ``tinygen`` package) register themselves in :data:`REGISTRY`
    under their name, which the test suite and ``tinygen gradcheck`` enumerate; two of them with one name
    is a bug and raises TypeError. Your own ops (defined anywhere else) are never registered: two of them
    may share a name, or share one with a tinygen op, and re-running a notebook cell that defines one just
    defines a new class. ``register = False`` keeps helper base classes of tinygen out of the registry.
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
        if not _is_builtin(cls):
            return
        if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
            raise TypeError(f"two ops are named {cls.name!r}: {REGISTRY[cls.name]} and {cls}")
        REGISTRY[cls.name] = cls

    # Per-node fields, as class-level defaults: apply() writes only what differs (it runs for every op, so
    # every attribute write saved counts), and an op that is not recorded gets none of them.
    recording = False     # True inside forward when the op is being recorded: backward-only work can be skipped
    _to_save = None
    _saved = ()
    hooks = None
    retain_ref = None
    out_data = None

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
            if a.__class__ is Tensor or isinstance(a, Tensor):
                d = a.data
                b = by_type.get(d.__class__) or _backend.backend_of(d)
                if b0 is None:
                    b0 = b
                elif b is not b0:
                    _raise_device_error(cls, args)
                datas.append(d)
                if a.requires_grad:
                    record = True
            else:
                datas.append(a)
        record = record and _grad_enabled and cls.differentiable
        if record:
            fn.recording = True
        fn.xp = b0.xp if b0 is not None else _backend.namespace(_first_array(datas))
        try:
            if b0 is not None and b0.gpu:          # CuPy: the kernels run on the inputs' GPU
                with b0.device_scope():
                    out = fn.forward(*datas, **kwargs)
            else:
                out = fn.forward(*datas, **kwargs)
        except ShapeError:
            raise
        except ValueError as e:
            raise ShapeError(fn.shape_error(datas, kwargs, e)) from None
        raw_out = out
        if out.__class__ in _SCALAR_TYPES:
            out = _backend.as_array(out)
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
        needs = []
        for a in args:
            if (a.__class__ is Tensor or isinstance(a, Tensor)) and a.requires_grad:
                parents.append(a._node if a._node is not None else a)
                shapes.append(a.data.shape)
                needs.append(True)
            else:
                parents.append(None)
                shapes.append(None)
                needs.append(False)
        fn.parents = parents
        fn.in_shapes = shapes
        fn.needs_input_grad = needs
        fn.out_ref = weakref.ref(t)
        to_save = fn._to_save
        if to_save is not None:
            saved = []
            for x in to_save:
                for a, d in zip(args, datas):
                    if x is d and isinstance(a, Tensor):
                        saved.append(a)
                        break
                else:
                    if x is out or x is raw_out:
                        saved.append(_OUTPUT)
                        fn.out_data = out
                    else:
                        saved.append(x)
            fn._saved = saved
            fn._to_save = None
        if _anomaly:
            fn.trace = _user_trace()
        return t

    def save_for_backward(self, *arrays):
        """Keep what ``backward`` needs: input arrays, the output array, or other arrays and numbers."""
        if self.recording:
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


def _is_builtin(cls):
    """True for the ops of the tinygen package itself (the registry's), False for a user's."""
    module = cls.__module__ or ""
    return module == "tinygen" or module.startswith("tinygen.")


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


# Where an op was called from, for the messages: tinygen's own frames are recognised by the package's real
# location (a clone of the repository in a folder named "tinygen" holds user code too). The engine's frames
# are skipped; the first frame outside the package is the user's line. When a tinygen driver (the training
# loop, the CLI, the metrics) ran the op, frames further out only launched it (bin/tinygen, runpy, pytest):
# then the line that matters is the innermost one in tinygen/models/, e.g. models/vae.py in reparameterize.
_PKG = os.path.dirname(os.path.realpath(__file__))
_ENGINE = frozenset(("backend", "tensor.py", "autograd.py", "backprop.py", "ops", "functional.py", "nn",
                     "optim.py", "creation.py", "gradcheck.py", "_blockwise.py", "_malloc.py", "serialization.py",
                     "testing", "__init__.py"))
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


def _user_trace():
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


def _check_forward(cls, datas, out):
    if _all_finite(out):
        return
    bad_in = [i for i, d in enumerate(datas) if hasattr(d, "dtype") and not _all_finite(d)]
    node = _backward_of
    if node is not None and not bad_in:  # an op inside some node's backward: blame that node's backward
        where = getattr(node, "trace", None)
        loc = f"; its forward ran at {_at(where)}" if where else ""
        raise AnomalyError(f"{node.name}: backward produced NaN/inf (in its {cls.name}){loc}")
    where = _user_trace()
    loc = f" (called at {_at(where)})" if where else ""
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
            loc = f"; its forward ran at {_at(where)}" if where else ""
            raise AnomalyError(f"{node.name}: backward produced NaN/inf in the gradient of input {i}{loc}")


# The graph walk lives in backprop.py; its entry points are part of this module's API.
from .backprop import backward, grad, run_backward  # noqa: E402,F401
