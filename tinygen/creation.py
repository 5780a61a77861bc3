"""Making tensors: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``rand``, ``randn`` and the ``*_like``s.

Every function takes ``dtype`` (default: :func:`get_default_dtype`, float32, for floating-point data),
``device`` (default: :func:`tinygen.backend.get_default_device`, "cpu") and ``requires_grad``.
Random tensors draw from the device's generator, seeded by :func:`tinygen.manual_seed`.
"""
from __future__ import annotations

import operator

import numpy as np  # host-side: turning Python lists and scalars into arrays before they go to a device

from . import backend as _backend
from .tensor import Tensor

__all__ = ["tensor", "as_tensor", "zeros", "ones", "full", "arange", "linspace", "eye", "rand", "randn",
           "zeros_like", "ones_like", "full_like", "rand_like", "randn_like", "get_default_dtype",
           "set_default_dtype"]

_default_dtype = _backend.float32


def get_default_dtype():
    return _default_dtype


def set_default_dtype(dtype):
    """The dtype of floating-point tensors made from Python numbers, and of zeros/ones/randn (float32)."""
    global _default_dtype
    d = _backend.DType(str(dtype))
    if not d.is_floating:
        raise TypeError(f"the default dtype must be floating-point, got {dtype!r}")
    _default_dtype = d


def _leaf(data, requires_grad):
    t = Tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _shape(shape, what):
    """A shape from ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])``: ints (NumPy ints too), never truncated floats."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        shape = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{what}: a shape is a sequence of ints, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{what}: a shape cannot have negative sizes, got {shape}")
    return shape


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new leaf tensor holding ``data`` (nested lists, numbers, NumPy/CuPy arrays or a Tensor, copied).

    Python floats become the default dtype (float32); arrays keep their dtype unless ``dtype`` is given;
    ``device`` defaults to the array's own device (for NumPy arrays and lists: the default device).
    """
    if isinstance(data, Tensor):
        if device is None:
            device = data.device
        data = data.data
    src = None
    try:
        src = _backend.backend_of(data)
    except (TypeError, _backend.DeviceError):
        pass
    if src is not None and src is not _backend.NUMPY:
        be = _backend.get_backend(device if device is not None else src.device)
        arr = be.asarray(data, dtype)
        if arr is data:
            with be.device_scope():
                arr = be.xp.asarray(arr, copy=True)
        return _leaf(arr, requires_grad)
    host = np.array(data, copy=True)
    if host.dtype == object:
        raise TypeError(f"cannot make a tensor from {type(data).__name__} data of mixed or ragged shape")
    if dtype is None:
        if host.dtype.kind == "f" and not isinstance(data, np.ndarray) and not isinstance(data, np.generic):
            dtype = _default_dtype
        elif host.dtype.kind in "iu" and not isinstance(data, (np.ndarray, np.generic)):
            dtype = _backend.int64
        elif host.dtype.kind == "c":
            raise TypeError("complex tensors are not supported")
    be = _backend.get_backend(device)
    return _leaf(be.asarray(host, dtype), requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a Tensor without copying when it already is one (or a suitable array)."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype) and (
            device is None or data.device == _backend.normalize_device(device)):
        return data
    return tensor(data, dtype=dtype, device=device)


def _float_dtype(dtype):
    return _default_dtype if dtype is None else _backend.DType(str(dtype))


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    be = _backend.get_backend(device)
    with be.device_scope():
        return _leaf(be.xp.zeros(_shape(shape, "zeros"), dtype=be.dtype(_float_dtype(dtype))), requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    be = _backend.get_backend(device)
    with be.device_scope():
        return _leaf(be.xp.ones(_shape(shape, "ones"), dtype=be.dtype(_float_dtype(dtype))), requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    be = _backend.get_backend(device)
    if dtype is None:
        dtype = _backend.bool_ if isinstance(fill_value, bool) else (
            _backend.int64 if isinstance(fill_value, int) else _default_dtype)
    shape = _shape(shape if isinstance(shape, (tuple, list)) else (shape,), "full")
    with be.device_scope():
        return _leaf(be.xp.full(shape, fill_value, dtype=be.dtype(dtype)), requires_grad)


def arange(start, stop=None, step=1, dtype=None, device=None, requires_grad=False):
    """Evenly spaced values in [start, stop) (int64 for int arguments, else the default dtype)."""
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        dtype = _backend.int64 if all(isinstance(v, int) for v in (start, stop, step)) else _default_dtype
    be = _backend.get_backend(device)
    with be.device_scope():
        return _leaf(be.xp.arange(start, stop, step, dtype=be.dtype(dtype)), requires_grad)


def linspace(start, stop, num, dtype=None, device=None, requires_grad=False):
    be = _backend.get_backend(device)
    with be.device_scope():
        return _leaf(be.xp.linspace(start, stop, num, dtype=be.dtype(_float_dtype(dtype))), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    be = _backend.get_backend(device)
    with be.device_scope():
        return _leaf(be.xp.eye(n, m, dtype=be.dtype(_float_dtype(dtype))), requires_grad)


def _random_dtype(dtype, what):
    d = _float_dtype(dtype)
    if not d.is_floating:
        raise TypeError(f"{what}: random numbers are drawn in a floating-point dtype (float16, float32, "
                        f"float64), not {d}")
    return d


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Uniform random numbers in [0, 1)."""
    be = _backend.get_backend(device)
    return _leaf(be.uniform(_shape(shape, "rand"), _random_dtype(dtype, "rand")), requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal random numbers."""
    be = _backend.get_backend(device)
    return _leaf(be.normal(_shape(shape, "randn"), _random_dtype(dtype, "randn")), requires_grad)


def _like(t, dtype, device):
    return (t.dtype if dtype is None else dtype), (t.device if device is None else device)


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    d, dev = _like(t, dtype, device)
    return full(t.shape, 0, dtype=d, device=dev, requires_grad=requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    d, dev = _like(t, dtype, device)
    return full(t.shape, 1, dtype=d, device=dev, requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    d, dev = _like(t, dtype, device)
    return full(t.shape, fill_value, dtype=d, device=dev, requires_grad=requires_grad)


def rand_like(t, dtype=None, device=None, requires_grad=False):
    d, dev = _like(t, dtype, device)
    return rand(*t.shape, dtype=d, device=dev, requires_grad=requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False):
    d, dev = _like(t, dtype, device)
    return randn(*t.shape, dtype=d, device=dev, requires_grad=requires_grad)
