"""A NumPy-backed test double for the part of CuPy that tinygen calls, so that the CuPy branches run in CI.

What tinygen uses of CuPy (backend.CupyBackend, backend/windows.py, plots, the CLI's info), and what this
module gives for it, computing with NumPy on the host:

* ``cupy.ndarray``: an ``np.ndarray`` subclass whose ``__module__`` is "cupy" (backend.backend_of tells
  backends apart by it), with ``.device`` (a ``cupy.cuda.Device``), ``.get()`` (a host copy) and
  ``__cuda_array_interface__``. Like CuPy, reductions and scalar indexing give 0-d arrays, not NumPy scalars.
* Devices: ``cupy.cuda.Device(N)`` as a context manager (and ``.use()``), ``cupy.cuda.runtime.getDeviceCount()``
  (two fake GPUs). New arrays land on the CURRENT device, and, as on CuPy, an elementwise kernel, matmul,
  reduction or scatter on an array of another device raises ValueError: so a test on "cuda:1" fails wherever
  tinygen forgets to enter its arrays' device.
* ``cupy.asarray``, ``cupy.asnumpy``, ``cupy.clip(out=)``, ``cupy.lib.stride_tricks.as_strided``,
  ``cupyx.scatter_add``, and the array-API namespace ``array_api_compat.cupy`` (NumPy 2's namespace, whose
  creation functions take ``device=`` and make fake CuPy arrays).

:func:`installed` puts these modules in ``sys.modules`` (and takes them out again). What the double cannot
catch: NumPy converts any ndarray subclass silently, so an ``np.asarray(cupy_array)`` that real CuPy refuses
passes here; and nothing here is asynchronous.
"""
from __future__ import annotations

import contextlib
import sys
import threading
import types

import numpy as np

N_DEVICES = 2
host_reads = 0          # copies to the host so far (.get(), asnumpy): a test can count the syncs of a step
_state = threading.local()


def current():
    """The current device's id (0 unless a Device context or use() said otherwise; per thread, like CUDA)."""
    return getattr(_state, "device", 0)


class Device:
    def __init__(self, device=None):
        self.id = current() if device is None else int(device)
        if not 0 <= self.id < N_DEVICES:
            raise ValueError(f"invalid device ordinal {self.id}")
        self._prev = []

    def __enter__(self):
        self._prev.append(current())
        _state.device = self.id
        return self

    def __exit__(self, *exc):
        _state.device = self._prev.pop()
        return False

    def use(self):
        _state.device = self.id

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


def _check(values):
    """CuPy's rule: a kernel runs on the current device, on arrays of that device only."""
    dev = None
    for v in values:
        if isinstance(v, ndarray):
            if v._device_id != current():
                raise ValueError(f"Array device must be same as the current device: array device = "
                                 f"{v._device_id} while current = {current()}")
            dev = v._device_id
    return current() if dev is None else dev


def _leaves(obj):
    if isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _leaves(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _leaves(o)
    else:
        yield obj


def _unwrap(obj):
    if isinstance(obj, ndarray):
        return obj.view(np.ndarray)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v) for k, v in obj.items()}
    return obj


def _wrap(obj, dev):
    if isinstance(obj, ndarray):
        return obj
    if isinstance(obj, np.ndarray):
        out = obj.view(ndarray)
        out._device_id = dev
        return out
    if isinstance(obj, np.generic):
        return _wrap(np.asarray(obj), dev)
    if isinstance(obj, (list, tuple)) and any(isinstance(o, (np.ndarray, np.generic)) for o in obj):
        return type(obj)(_wrap(o, dev) for o in obj)
    return obj


class ndarray(np.ndarray):
    """A fake CuPy array: NumPy memory with a device id."""

    _device_id = 0

    def __array_finalize__(self, obj):
        self._device_id = getattr(obj, "_device_id", current())

    @property
    def device(self):
        return Device(self._device_id)

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (self.ctypes.data, False), "version": 3,
                "strides": self.strides}

    def get(self):
        global host_reads
        host_reads += 1
        return np.array(self.view(np.ndarray), copy=True)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        dev = _check(inputs + (out or ()))
        if out is not None:
            kwargs["out"] = _unwrap(out)
        res = getattr(ufunc, method)(*_unwrap(inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return None if res is None else _wrap(res, dev)

    def __array_function__(self, func, types, args, kwargs):
        dev = _check(list(_leaves(args)) + list(_leaves(kwargs)))
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)), dev)

    def __getitem__(self, key):
        if any(isinstance(k, ndarray) for k in _leaves(key)):
            _check([self, *_leaves(key)])
        res = super().__getitem__(_unwrap(key))
        return _wrap(res, self._device_id)

    def __setitem__(self, key, value):
        _check([self, value, *_leaves(key)])
        super().__setitem__(_unwrap(key), _unwrap(value))

    def __repr__(self):
        return f"fake_cupy.array({np.asarray(self.view(np.ndarray))!r}, device={self._device_id})"


ndarray.__module__ = "cupy"


def _target(device):
    if device is None:
        return current()
    if isinstance(device, Device):
        return device.id
    raise ValueError(f"a CuPy array cannot be made on device {device!r}")


def asarray(obj, dtype=None, device=None, copy=None):
    dev = _target(device)
    if isinstance(obj, ndarray) and obj._device_id == dev and copy is not True:
        return obj if dtype is None or obj.dtype == np.dtype(dtype) else _wrap(obj.view(np.ndarray).astype(dtype), dev)
    if isinstance(obj, ndarray):      # another device (or a copy asked for): a copy, never shared memory
        return _wrap(np.array(obj.view(np.ndarray), dtype=dtype, copy=True), dev)
    return _wrap(np.array(obj, dtype=dtype, copy=True), dev)


def _creator(fn):
    def make(*args, device=None, **kwargs):
        dev = _target(device)
        return _wrap(fn(*_unwrap(args), **_unwrap(kwargs)), dev)
    make.__name__ = fn.__name__
    return make


def asnumpy(a):
    return a.get() if isinstance(a, ndarray) else np.asarray(a)


def clip(a, lo, hi, out=None):
    _check([a, out])
    res = np.clip(_unwrap(a), lo, hi, out=_unwrap(out))
    return out if out is not None else _wrap(res, a._device_id)


def as_strided(x, shape=None, strides=None):
    return np.lib.stride_tricks.as_strided(x, shape, strides, subok=True)


def scatter_add(a, slices, value):
    _check([a, value, *_leaves(slices)])
    np.add.at(_unwrap(a), _unwrap(slices), _unwrap(value))


def _namespace():
    """``array_api_compat.cupy``: NumPy 2's array-API namespace, its creation functions making fake arrays."""
    xp = types.ModuleType("array_api_compat.cupy")
    for name in dir(np):
        if not name.startswith("__"):
            setattr(xp, name, getattr(np, name))
    for name in ("zeros", "ones", "empty", "full", "arange", "eye", "linspace", "zeros_like", "ones_like",
                 "empty_like", "full_like", "tril", "triu", "meshgrid", "from_dlpack"):
        setattr(xp, name, _creator(getattr(np, name)))
    xp.asarray = asarray
    return xp


def _modules():
    cupy = types.ModuleType("cupy")
    cupy.__version__ = "13.0.0+fake"
    cupy.ndarray, cupy.asarray, cupy.asnumpy, cupy.clip = ndarray, asarray, asnumpy, clip
    cupy.float32, cupy.float64 = np.float32, np.float64
    cupy.cuda = types.SimpleNamespace(Device=Device,
                                      runtime=types.SimpleNamespace(getDeviceCount=lambda: N_DEVICES))
    cupy.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=as_strided))
    cupyx = types.ModuleType("cupyx")
    cupyx.scatter_add = scatter_add
    return {"cupy": cupy, "cupyx": cupyx, "array_api_compat.cupy": _namespace()}


@contextlib.contextmanager
def installed():
    """Within the block, ``import cupy`` (and cupyx, array_api_compat.cupy) gives the double; tinygen's CUDA
    backends made inside are dropped at the end."""
    from tinygen import backend
    saved = {k: sys.modules.get(k) for k in ("cupy", "cupyx", "array_api_compat.cupy")}
    sys.modules.update(_modules())
    try:
        yield sys.modules["cupy"]
    finally:
        for k in saved:
            del sys.modules[k]
        sys.modules.update({k: v for k, v in saved.items() if v is not None})
        for name in [d for d in backend._backends if d.startswith("cuda")]:
            del backend._backends[name]
        _state.device = 0
