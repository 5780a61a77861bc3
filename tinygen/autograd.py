"""Reverse-mode automatic differentiation: the Function base class, i.e. an op and the node that records it.

How it works, in one paragraph. Every primitive op is a :class:`Function` subclass with a ``forward`` on
backend arrays and a ``backward`` on :class:`~tinygen.tensor.Tensor` objects. ``Tanh.apply(x)`` runs the
forward and, when gradients are being recorded, keeps the op object as the output tensor's node: it remembers
its parents (the nodes or leaf tensors that made its inputs) and whatever ``forward`` saved. ``backward``
(:mod:`tinygen.backprop`) walks the nodes from the output in reverse topological order, calls each node's
``backward`` once with the sum of the gradients that reached its output, and hands the results to its
parents. Because ``backward`` is written with tinygen ops, running it with recording switched on
(``create_graph=True``) builds a graph of the gradient itself: that is double backward.

Grad mode (``no_grad``) and anomaly mode (``detect_anomaly``) live in :mod:`tinygen._modes`, below this
module and the walk; their public names, and the walk's ``backward`` and ``grad``, are re-exported here.
"""
from __future__ import annotations

import weakref

from . import _modes
from . import backend as _backend
from ._modes import (AnomalyError, detect_anomaly, enable_grad, is_grad_enabled, no_grad,  # noqa: F401
                     set_grad_enabled)
from .tensor import Tensor, ShapeError

__all__ = [
    "Function", "REGISTRY", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "grad",
    "backward", "detect_anomaly", "AnomalyError",
]

REGISTRY = {}            # op name -> tinygen's own Function subclasses, filled by Function.__init_subclass__


class _Output:
    """Marker in a node's saved list: "the op's own output goes here"."""
    __slots__ = ()


_OUTPUT = _Output()
_SCALAR_TYPES = _backend.SCALAR_TYPES
_by_type = _backend._by_type      # array type -> backend: the quickest way from an array to its namespace
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
    backward needs should be computed). Inside ``backward``, ``self.needs_input_grad[i]`` says whether input
    ``i`` wants a gradient, so ``backward`` can skip work, and :attr:`recording_backward` whether the
    backward itself is being recorded (``create_graph=True``).

    ``name`` (default: the class name in lower case) is what error messages and graph pictures call the op.
    ``sample(draw)`` returns (input arrays, callable) for the gradient checks (see
    :func:`tinygen.gradcheck.check_op` and :mod:`tinygen.testing`).

    tinygen's own ops (classes defined in the ``tinygen`` package) register themselves in :data:`REGISTRY`
    under their name, which the test suite and ``tinygen gradcheck`` enumerate; two of them with one name
    is a bug and raises TypeError. Your own ops (defined anywhere else) are never registered: two of them
    may share a name, or share one with a tinygen op, and re-running a notebook cell that defines one just
    defines a new class. ``register = False`` keeps helper base classes of tinygen out of the registry.

    **A node's fields.** :meth:`apply` makes one instance per call. Its forward step sets ``xp`` and
    ``recording`` and clears ``_saved`` and ``cache``, which ``forward`` may fill; when the op is recorded,
    its record step sets all the others and the instance becomes the output's ``grad_fn``:

    ====================  ===================================================================================
    ``xp``                the inputs' array namespace
    ``recording``         whether this op is recorded (an input requires grad, grad mode is on, the op is
                          differentiable)
    ``parents``           per positional input: the node that made it, the leaf Tensor itself, or None (no
                          gradient wanted)
    ``in_shapes``         per input: its shape (the walk checks every gradient against it), or None
    ``needs_input_grad``  per input: True when it wants a gradient
    ``out_ref``           a weak reference to the output Tensor
    ``out_data``          the output array, kept when forward saved the output (see :meth:`output_tensor`)
    ``_saved``            what :meth:`save_for_backward` kept, inputs as their Tensors and the output as a
                          marker; None once freed
    ``cache``             the dict of arrays :meth:`cache_for_backward` kept, or None
    ``hooks``             the functions ``Tensor.register_hook`` put on the output's gradient, or None
    ``retain_ref``        a weak reference to the output after ``retain_grad()``, or None
    ``trace``             under ``detect_anomaly``: where forward was called from; else None
    ====================  ===================================================================================

    The walk (:func:`tinygen.backprop.run_backward`) reads ``parents``, ``in_shapes``, ``hooks`` and
    ``retain_ref`` and calls ``backward``, :meth:`free` and :meth:`check_not_freed`.
    """

    __slots__ = ("xp", "recording", "parents", "in_shapes", "needs_input_grad", "out_ref", "out_data", "_saved",
                 "cache", "hooks", "retain_ref", "trace")
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

    # ----------------------------------------------------------------------------------------------------
    @classmethod
    def apply(cls, *args, **kwargs):
        """Run the op on Tensors (and plain Python numbers) and return the output Tensor: the forward step,
        then, when a gradient is wanted, the record step, which makes this node the output's ``grad_fn``."""
        node = cls.__new__(cls)
        t = Tensor.__new__(Tensor)
        t.data = node._forward_step(args, kwargs)
        t.grad = t.name = t._hooks = None
        if node.recording:
            node._record_step(args, t)
        else:
            t.requires_grad, t._node = False, None
        return t

    def _forward_step(self, args, kwargs):
        """Unwrap the inputs (one device, one array library), set ``xp`` and ``recording``, run ``forward`` on
        the arrays (in the inputs' device scope); return the output array."""
        datas, backend, wants_grad = [], None, False
        for a in args:
            if a.__class__ is Tensor or isinstance(a, Tensor):
                d = a.data
                b = _by_type.get(d.__class__) or _backend.backend_of(d)
                if backend is None:
                    backend = b
                elif b is not backend:
                    _raise_device_error(self, args)
                datas.append(d)
                wants_grad = wants_grad or a.requires_grad
            else:
                datas.append(a)
        self.recording = wants_grad and _modes.grad_enabled and self.differentiable
        self.xp = backend.xp if backend is not None else _backend.namespace(_first_array(datas))
        self._saved = self.cache = None
        try:
            if backend is not None and backend.gpu:          # CuPy: the kernels run on the inputs' GPU
                with backend.device_scope():
                    out = self.forward(*datas, **kwargs)
            else:
                out = self.forward(*datas, **kwargs)
        except ShapeError:
            raise
        except ValueError as e:
            raise ShapeError(self.shape_error(datas, kwargs, e)) from None
        if out.__class__ in _SCALAR_TYPES:    # NumPy gives scalars for some 0-d results: a Tensor holds an array
            out = self._scalar_as_array(out)
        if _modes.anomaly_enabled:
            _modes.check_forward(self.name, datas, out)
        return out

    def _scalar_as_array(self, scalar):
        """A NumPy scalar output as a 0-d array, also where forward saved it."""
        out = _backend.as_array(scalar)
        if self._saved:
            self._saved = tuple(out if x is scalar else x for x in self._saved)
        return out

    def _record_step(self, args, out):
        """Make this node the grad_fn of ``out``: each input's parent, shape and need of a gradient, and what
        forward saved with the input and output arrays swapped for their Tensors (the graph stays intact)."""
        parents, shapes, needs = [], [], []
        for a in args:
            if (a.__class__ is Tensor or isinstance(a, Tensor)) and a.requires_grad:
                parents.append(a._node if a._node is not None else a)
                shapes.append(a.data.shape)
                needs.append(True)
            else:
                parents.append(None)
                shapes.append(None)
                needs.append(False)
        self.parents, self.in_shapes, self.needs_input_grad = parents, shapes, needs
        self.out_ref = weakref.ref(out)
        self.out_data = self.hooks = self.retain_ref = self.trace = None
        if self._saved is None:
            self._saved = ()
        else:       # what forward saved: input arrays as their Tensors, the output as a marker (graph intact)
            saved = []
            for x in self._saved:
                for a in args:
                    if isinstance(a, Tensor) and x is a.data:
                        saved.append(a)
                        break
                else:
                    if x is out.data:
                        saved.append(_OUTPUT)
                        self.out_data = x
                    else:
                        saved.append(x)           # other arrays and numbers: constants
            self._saved = saved
        if _modes.anomaly_enabled:
            self.trace = _modes.user_trace()
        out.requires_grad, out._node = True, self

    def save_for_backward(self, *arrays):
        """Keep what ``backward`` needs: input arrays, the output array, or other arrays and numbers."""
        self._saved = arrays

    def cache_for_backward(self, **arrays):
        """Keep arrays that forward computed anyway and backward can reuse (an im2col matrix, a sigmoid):
        ``self.cache[name]`` in backward. Unlike what :meth:`save_for_backward` keeps, they are plain arrays
        outside the graph, so a backward that is being recorded (:attr:`recording_backward`) may use them only
        where no gradient has to flow through them. Kept only when the op is recorded; :meth:`free` drops them."""
        if self.recording:
            self.cache = arrays

    @property
    def recording_backward(self):
        """True while this node's backward is itself being recorded (``create_graph=True``, or a backward
        called by hand with grad mode on). It must then compute with Tensor ops, so that the gradient has a
        graph of its own (double backward). When False, the usual first-order backward, nothing records it:
        it may compute on arrays and wrap the results, ``Tensor(xp.matmul(...))``, which skips the
        bookkeeping of every op it would otherwise run, and it may use what :meth:`cache_for_backward` kept."""
        return _modes.grad_enabled

    @property
    def saved_tensors(self):
        """What ``forward`` saved, as Tensors: inputs and output with their graph, other arrays as constants."""
        self.check_not_freed()
        out = []
        for s in self._saved:
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
        """Drop what forward kept for backward (the walk calls it after a backward without retain_graph)."""
        self._saved = self.out_data = self.cache = None

    def check_not_freed(self):
        """Raise the RuntimeError of a second backward through this node after a backward freed it."""
        if self._saved is None:
            raise RuntimeError(_FREED_MSG.format(op=self.name))

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


def _raise_device_error(node, args):
    name = node.name or type(node).__name__.lower()
    devs = [a.device for a in args if isinstance(a, Tensor)]
    if len(set(devs)) > 1:
        raise _backend.DeviceError(f"{name}: inputs are on different devices ({', '.join(devs)}); move them "
                                   f"with .to(device) first")
    libraries = sorted({type(a.data).__module__ for a in args if isinstance(a, Tensor)})
    raise _backend.DeviceError(f"{name}: inputs come from different array libraries ({', '.join(libraries)})")


# The graph walk lives in backprop.py; its entry points are part of this module's API.
from .backprop import backward, grad, run_backward  # noqa: E402,F401
