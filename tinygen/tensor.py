"""The Tensor: an array (``data``), its gradient (``grad``) and the node of the graph that made it.

Arithmetic on Tensors calls the primitive ops in :mod:`tinygen.ops`; each op records itself as the output's
node when gradients are wanted. ``backward()`` then walks those nodes (see :mod:`tinygen.autograd`).
"""
from __future__ import annotations

import math

import numpy as np  # host-side only: printing (repr) and numpy()

from . import backend as _backend

__all__ = ["Tensor", "ShapeError"]


class ShapeError(ValueError):
    """An op got shapes it cannot take. The message names the op and the shapes."""


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Attributes: ``data`` (the backend array), ``grad`` (a Tensor or None), ``requires_grad``, ``shape``,
    ``ndim``, ``dtype``, ``device``, ``T``; ``grad_fn`` is the node that made it (None for leaves).
    Create tensors with :func:`tinygen.tensor`, :func:`tinygen.zeros`, :func:`tinygen.randn`, ...
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "_hooks", "name", "__weakref__")
    __array_ufunc__ = None     # numpy_array * tensor -> Tensor.__rmul__, not an object array
    __hash__ = object.__hash__  # == is elementwise, hashing stays by identity

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        elif type(data) not in _backend._by_type and not hasattr(data, "__array_namespace__"):
            from .creation import tensor
            data = tensor(data).data
        self.data = data
        self.grad = None
        self._node = None
        self._hooks = None
        self.name = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # --- attributes -----------------------------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return _backend.dtype_of(self.data)

    @property
    def device(self):
        return _backend.device_of(self.data)

    @property
    def xp(self):
        """The array namespace of ``data`` (NumPy, CuPy's array-API namespace, ...)."""
        return _backend.namespace(self.data)

    @property
    def grad_fn(self):
        return self._node

    @property
    def is_leaf(self):
        return self._node is None

    def numel(self):
        return math.prod(self.data.shape)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def requires_grad_(self, flag=True):
        if flag and not self.dtype.is_floating:
            raise TypeError(f"only floating-point tensors can require gradients; this one is {self.dtype} "
                            f"(create it with dtype='float32')")
        if not flag and self._node is not None:
            raise RuntimeError("requires_grad can only be switched off on leaf tensors; use .detach()")
        self.requires_grad = bool(flag)
        return self

    # --- conversions ----------------------------------------------------------------------------------------
    def numpy(self):
        """The data as a host NumPy array (a copy for GPU tensors; shares memory on the CPU)."""
        return _backend.to_numpy(self.data)

    def tolist(self):
        return self.numpy().tolist()

    def item(self):
        if self.numel() != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.numpy().reshape(()).item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __format__(self, spec):
        """A one-element tensor formats as its number (``f"{loss:.4f}"``, as in PyTorch); others as str()."""
        if spec and self.numel() == 1:
            return format(self.item(), spec)
        return format(str(self), spec)

    def __bool__(self):
        if self.numel() != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() "
                             f"or .all()")
        return bool(self.item())

    def __array__(self, dtype=None, copy=None):
        if self.device != "cpu":
            raise TypeError(f"a tensor on {self.device} cannot be turned into a NumPy array implicitly; "
                            f"call .numpy() (copies to the host)")
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def detach(self):
        """The same data, cut from the graph (no gradient flows through it)."""
        t = Tensor.__new__(Tensor)
        t.data, t.grad, t.requires_grad, t._node, t._hooks, t.name = self.data, None, False, None, None, None
        return t

    def detach_(self):
        self._node = None
        self.requires_grad = False
        return self

    def clone(self):
        return _ops.copy(self)

    def to(self, device=None, dtype=None):
        """This tensor on ``device`` and/or as ``dtype``. Differentiable; returns self when nothing changes."""
        t = self
        if dtype is not None and _backend.DType(dtype) != self.dtype:
            t = _ops.cast(t, dtype)
        if device is not None and _backend.normalize_device(device) != t.device:
            t = _ops.to_device(t, device)
        return t

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index=0):
        return self.to(f"cuda:{index}")

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    def astype(self, dtype):
        return self.to(dtype=dtype)

    # --- autograd -------------------------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is needed when self is not a single number: the gradient of the final loss w.r.t. self.
        The graph's saved arrays are freed afterwards unless ``retain_graph=True``.
        """
        _autograd.backward(self, None if grad is None else [grad], retain_graph=retain_graph,
                           create_graph=create_graph)

    def register_hook(self, fn):
        """Call ``fn(grad)`` when this tensor's gradient is computed; a non-None return replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self._node is None:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(fn)
            hooks = self._hooks
        else:
            if self._node.hooks is None:
                self._node.hooks = []
            self._node.hooks.append(fn)
            hooks = self._node.hooks
        return _HookHandle(hooks, fn)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep theirs)."""
        if self._node is not None:
            import weakref
            self._node.retain_ref = weakref.ref(self)
        elif not self.requires_grad:
            raise RuntimeError("cannot retain_grad on a tensor that does not require grad")

    def zero_grad_(self):
        self.grad = None

    # --- printing -------------------------------------------------------------------------------------------
    def __repr__(self):
        a = self.numpy()
        body = np.array2string(a, precision=4, separator=", ", prefix="tensor(", threshold=200, edgeitems=3)
        extra = []
        if self.dtype != "float32" and not (self.dtype == "int64" and a.size):
            extra.append(f"dtype={self.dtype}")
        elif self.dtype != "float32" and self.dtype != "int64":
            extra.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extra.append(f"device='{self.device}'")
        if self._node is not None:
            extra.append(f"grad_fn=<{self._node.name}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extra)})"

    # --- operators ------------------------------------------------------------------------------------------
    def __add__(self, o): return _ops.add(self, o)
    def __radd__(self, o): return _ops.add(o, self)
    def __sub__(self, o): return _ops.sub(self, o)
    def __rsub__(self, o): return _ops.sub(o, self)
    def __mul__(self, o): return _ops.mul(self, o)
    def __rmul__(self, o): return _ops.mul(o, self)
    def __truediv__(self, o): return _ops.div(self, o)
    def __rtruediv__(self, o): return _ops.div(o, self)
    def __pow__(self, o): return _ops.pow(self, o)
    def __rpow__(self, o): return _ops.pow(o, self)
    def __matmul__(self, o): return _ops.matmul(self, o)
    def __rmatmul__(self, o): return _ops.matmul(o, self)
    def __neg__(self): return _ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ops.abs(self)
    def __getitem__(self, index): return _ops.getitem(self, index)

    def __setitem__(self, index, value):
        if self.requires_grad and _autograd.is_grad_enabled():
            raise RuntimeError("in-place assignment into a tensor that requires grad would corrupt its "
                               "gradient; do it under tinygen.no_grad() or build a new tensor")
        _ops.setitem_(self, index, value)

    # comparisons: no gradient, boolean tensors
    def __lt__(self, o): return _ops.compare(self, o, "less")
    def __le__(self, o): return _ops.compare(self, o, "less_equal")
    def __gt__(self, o): return _ops.compare(self, o, "greater")
    def __ge__(self, o): return _ops.compare(self, o, "greater_equal")
    def __eq__(self, o): return _ops.compare(self, o, "equal")
    def __ne__(self, o): return _ops.compare(self, o, "not_equal")

    # --- methods (thin wrappers over tinygen.ops) -------------------------------------------------------------
    def exp(self): return _ops.exp(self)
    def log(self): return _ops.log(self)
    def sqrt(self): return _ops.sqrt(self)
    def abs(self): return _ops.abs(self)
    def pow(self, p): return _ops.pow(self, p)
    def clip(self, min=None, max=None): return _ops.clip(self, min, max)
    clamp = clip
    def maximum(self, o): return _ops.maximum(self, o)
    def minimum(self, o): return _ops.minimum(self, o)
    def relu(self): return _ops.relu(self)
    def leaky_relu(self, negative_slope=0.01): return _ops.leaky_relu(self, negative_slope)
    def sigmoid(self): return _ops.sigmoid(self)
    def tanh(self): return _ops.tanh(self)
    def softplus(self): return _ops.softplus(self)
    def sum(self, axis=None, keepdims=False): return _ops.sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _ops.mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return _ops.max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _ops.min(self, axis, keepdims)
    def var(self, axis=None, keepdims=False, correction=1): return _ops.var(self, axis, keepdims, correction)
    def std(self, axis=None, keepdims=False, correction=1): return _ops.std(self, axis, keepdims, correction)
    def logsumexp(self, axis=None, keepdims=False): return _ops.logsumexp(self, axis, keepdims)
    def argmax(self, axis=None, keepdims=False): return _ops.argmax(self, axis, keepdims)
    def argmin(self, axis=None, keepdims=False): return _ops.argmin(self, axis, keepdims)
    def all(self, axis=None, keepdims=False): return _ops.all(self, axis, keepdims)
    def any(self, axis=None, keepdims=False): return _ops.any(self, axis, keepdims)
    def isfinite(self): return _ops.isfinite(self)

    def reshape(self, *shape): return _ops.reshape(self, _shape_arg(shape))
    view = reshape
    def flatten(self, start_dim=0, end_dim=-1): return _ops.flatten(self, start_dim, end_dim)
    def unflatten(self, dim, sizes): return _ops.unflatten(self, dim, sizes)
    def squeeze(self, axis=None): return _ops.squeeze(self, axis)
    def unsqueeze(self, axis): return _ops.unsqueeze(self, axis)
    def permute(self, *axes): return _ops.permute(self, _shape_arg(axes))
    def transpose(self, dim0=-2, dim1=-1): return _ops.transpose(self, dim0, dim1)
    def broadcast_to(self, *shape): return _ops.broadcast_to(self, _shape_arg(shape))
    expand = broadcast_to
    def pad(self, pad_width): return _ops.pad(self, pad_width)

    @property
    def T(self):
        """All axes reversed (for a matrix: the transpose)."""
        return _ops.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self):
        """The last two axes swapped (a batch of matrices, each transposed)."""
        return _ops.transpose(self, -2, -1)


def _shape_arg(shape):
    """Accept both ``x.reshape(2, 3)`` and ``x.reshape((2, 3))``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


class _HookHandle:
    def __init__(self, hooks, fn):
        self.hooks, self.fn = hooks, fn

    def remove(self):
        if self.fn in self.hooks:
            self.hooks.remove(self.fn)


# The ops and the graph walk import Tensor; they are bound here, after the class exists.
from . import autograd as _autograd  # noqa: E402
from . import ops as _ops  # noqa: E402
