"""The one package that knows NumPy from CuPy (this file: namespaces, devices, dtypes, RNG; windows.py: the
convolution windows, the only array trick the standard lacks that the ops need).

Everything else in tinygen computes through an *array namespace* ``xp`` taken from the data itself
(:func:`namespace`) and uses only functions of the Python array API standard on it. Where the standard has
no function for what we need (a scatter-add, random numbers, moving data between devices, turning an array
into a host NumPy array), this module provides it once per backend.

Backends:

* ``"cpu"``: NumPy (its main namespace is array-API compatible since NumPy 2).
* ``"cuda"`` / ``"cuda:N"``: CuPy, through ``array_api_compat.cupy``; needs ``pip install tinygen[gpu]`` and
  an NVIDIA GPU.
* For testing only, :func:`use_array_api_strict` makes the CPU device compute with ``array_api_strict``, a
  minimal implementation of the standard: an op that calls a NumPy-only function then fails. That is how
  the CuPy code path is checked on machines without a GPU.
"""
from __future__ import annotations

import contextlib
import importlib

import numpy as np


__all__ = [
    "DeviceError", "DType", "namespace", "device_of", "get_backend", "normalize_device", "to_numpy",
    "dtype_of", "manual_seed", "cpu_generator", "cuda_available", "use_array_api_strict",
]

GPU_INSTALL_HINT = "install CuPy with `pip install tinygen[gpu]` on a machine with an NVIDIA GPU and CUDA 12"


class DeviceError(RuntimeError):
    """An operation was given arrays on different devices, or a device that is not available."""


class DType(str):
    """A dtype name (``"float32"``, ``"int64"``, ``"bool"``, ...) that compares equal to the plain string."""

    def __repr__(self):
        return f"tinygen.{str(self)}"

    @property
    def is_floating(self):
        return self.startswith("float")


float32, float64 = DType("float32"), DType("float64")
int32, int64, uint8, bool_ = DType("int32"), DType("int64"), DType("uint8"), DType("bool")
_DTYPES = {d: d for d in (float32, float64, int32, int64, uint8, bool_, DType("int8"), DType("int16"),
                          DType("uint16"), DType("uint32"), DType("uint64"), DType("float16"))}

_NO_SCOPE = contextlib.nullcontext()
_seed = None  # the last manual_seed, applied to every backend created afterwards too


class Backend:
    """One device: its array namespace ``xp``, its random generator and the few helpers the standard lacks."""

    name = "base"
    gpu = False      # True for CuPy: ops must then run inside device_scope()

    def __init__(self, device):
        self.device = device
        self._dtypes = {}
        self.reseed(_seed)

    def device_scope(self):
        """The context in which this device's arrays are made and computed (a GPU's: CuPy's Device)."""
        return _NO_SCOPE

    # --- dtypes -----------------------------------------------------------------------------------------
    def dtype(self, name):
        """The namespace's dtype object for a dtype name (or a namespace dtype, returned as is)."""
        if name is None:
            return None
        if not isinstance(name, str):
            name = dtype_of_obj(name)
        try:
            return self._dtypes[name]
        except KeyError:
            if name not in _DTYPES:
                raise TypeError(f"unknown dtype {name!r}; use one of {sorted(_DTYPES)}") from None
            d = getattr(self.xp, "bool" if name == "bool" else name)
            self._dtypes[name] = d
            return d

    # --- moving data --------------------------------------------------------------------------------------
    def asarray(self, obj, dtype=None):
        """``obj`` (a nested list, a scalar, a NumPy array or an array of any backend) as an array here."""
        raise NotImplementedError

    def to_numpy(self, a):
        raise NotImplementedError

    # --- what the standard lacks ----------------------------------------------------------------------------
    def index_add(self, target, index, values):
        """``target[index[k]] += values[k]`` along axis 0 for every k, repeated indices adding up (in place)."""
        host = self.to_numpy(target).copy()
        np.add.at(host, self.to_numpy(index), self.to_numpy(values))
        return self.asarray(host)

    def clip_(self, a, lo, hi):
        """``a`` clamped to [lo, hi] in place (the standard's ``clip`` has no ``out=``: here a copy back)."""
        a[...] = self.xp.clip(a, lo, hi)

    # --- random numbers -----------------------------------------------------------------------------------
    def reseed(self, seed):
        raise NotImplementedError

    def normal(self, shape, dtype):
        raise NotImplementedError

    def uniform(self, shape, dtype, low=0.0, high=1.0):
        raise NotImplementedError

    def bernoulli(self, shape, p, dtype):
        """0/1 values with P(1) = p, in ``dtype``."""
        xp = self.xp
        u = self.uniform(shape, dtype)
        return xp.astype(u < p, self.dtype(dtype))

    def is_private(self, a):
        """False when ``a`` may be a read-only or broadcast view (then it must be copied before anyone
        writes into it); True when it is safe to hand out as somebody's own array."""
        return False

    def rng_state(self):
        return None

    def set_rng_state(self, state):
        pass

    def __repr__(self):
        return f"<tinygen backend {self.name} on {self.device}>"


class NumpyBackend(Backend):
    """The CPU: NumPy arrays, one ``numpy.random.Generator`` (PCG64)."""

    name = "numpy"
    xp = np

    def reseed(self, seed):
        self.rng = np.random.default_rng(seed)

    def asarray(self, obj, dtype=None):
        if hasattr(obj, "__cuda_array_interface__"):
            obj = obj.get()
        elif not isinstance(obj, (np.ndarray, np.generic, list, tuple, int, float, bool)) and hasattr(
                obj, "__dlpack__"):
            obj = np.from_dlpack(obj)
        return np.asarray(obj, dtype=self.dtype(dtype))

    def to_numpy(self, a):
        return np.asarray(a)

    def index_add(self, target, index, values):
        np.add.at(target, index, values)
        return target

    def clip_(self, a, lo, hi):
        np.clip(a, lo, hi, out=a)          # one pass, no temporary

    def is_private(self, a):
        return isinstance(a, np.ndarray) and a.flags.writeable and (a.size <= 1 or 0 not in a.strides)

    def normal(self, shape, dtype):
        return _host_normal(self.rng, shape, self.dtype(dtype))

    def uniform(self, shape, dtype, low=0.0, high=1.0):
        u = _host_uniform(self.rng, shape, self.dtype(dtype))
        if low != 0.0 or high != 1.0:
            u *= high - low
            u += low
        return u

    def rng_state(self):
        return self.rng.bit_generator.state

    def set_rng_state(self, state):
        self.rng.bit_generator.state = state


class StrictBackend(Backend):
    """Testing only: the CPU computing with ``array_api_strict``.

    Random numbers come from the NumPy backend's generator (so a seed gives the same numbers on both);
    the arrays are then handed to ``array_api_strict``. Host copies go through DLPack.
    """

    name = "array_api_strict"

    def __init__(self, device):
        self.xp = importlib.import_module("array_api_strict")
        self.array_type = self.xp._array_object.Array
        super().__init__(device)

    @property
    def rng(self):
        return NUMPY.rng

    def reseed(self, seed):
        pass  # shares the NumPy backend's generator

    def asarray(self, obj, dtype=None):
        if isinstance(obj, self.array_type):
            return obj if dtype is None else self.xp.astype(obj, self.dtype(dtype))
        host = NUMPY.asarray(obj, None if dtype is None else str(dtype_of_obj(dtype)) if not isinstance(
            dtype, str) else dtype)
        return self.xp.asarray(host)

    def to_numpy(self, a):
        return np.from_dlpack(a) if hasattr(a, "__dlpack__") else np.asarray(a)

    def normal(self, shape, dtype):
        return self.asarray(NUMPY.normal(shape, dtype))

    def uniform(self, shape, dtype, low=0.0, high=1.0):
        return self.asarray(NUMPY.uniform(shape, dtype, low, high))

    def rng_state(self):
        return NUMPY.rng_state()

    def set_rng_state(self, state):
        NUMPY.set_rng_state(state)


class CupyBackend(Backend):
    """An NVIDIA GPU through CuPy (``device="cuda:N"``). Written against CuPy 13; not runnable without a GPU.

    Random numbers: each CUDA device has its own NumPy ``Generator`` (PCG64) on the host; draws are made there
    and copied to the GPU. That costs a transfer, but the noise tensors of these models are small (latent
    codes, interpolation weights, dropout masks), and it buys two things CuPy's cuRAND generators do not give:
    a state that a checkpoint can save and restore (bit-exact resume on the GPU), and the same numbers as the
    CPU for the same seed. Arrays are created inside ``cupy.cuda.Device(N)`` so that they land on its GPU.
    """

    name = "cupy"
    gpu = True

    def __init__(self, device):
        self.cupy = importlib.import_module("cupy")
        self.cupyx = importlib.import_module("cupyx")
        self.xp = importlib.import_module("array_api_compat.cupy")
        self.index = int(device.split(":")[1])
        super().__init__(device)

    def device_scope(self):
        """``with backend.device_scope():`` makes this GPU CuPy's current device: kernels run there and new
        arrays land there (CuPy refuses to run a kernel on arrays of another device)."""
        return self.cupy.cuda.Device(self.index)

    def reseed(self, seed):
        self.rng = np.random.default_rng(seed)

    def asarray(self, obj, dtype=None):
        with self.device_scope():
            if isinstance(obj, self.cupy.ndarray):
                if obj.device.id == self.index:
                    return obj if dtype is None else self.xp.astype(obj, self.dtype(dtype))
                return self.cupy.asarray(obj, dtype=self.dtype(dtype))  # device-to-device copy
            if not isinstance(obj, np.ndarray):
                obj = NUMPY.asarray(obj)
            return self.cupy.asarray(obj, dtype=self.dtype(dtype))

    def to_numpy(self, a):
        return self.cupy.asnumpy(a)

    def index_add(self, target, index, values):
        with self.device_scope():
            self.cupyx.scatter_add(target, index, values)
        return target

    def clip_(self, a, lo, hi):
        with self.device_scope():
            self.cupy.clip(a, lo, hi, out=a)

    def is_private(self, a):
        return 0 not in a.strides or a.size <= 1  # CuPy has no read-only flag: broadcast views have 0 strides

    def normal(self, shape, dtype):
        return self.asarray(_host_normal(self.rng, shape, np.dtype(str(dtype))))

    def uniform(self, shape, dtype, low=0.0, high=1.0):
        u = _host_uniform(self.rng, shape, np.dtype(str(dtype)))
        if low != 0.0 or high != 1.0:
            u = u * (high - low) + low
        return self.asarray(u)

    def rng_state(self):
        return self.rng.bit_generator.state

    def set_rng_state(self, state):
        self.rng.bit_generator.state = state


def _host_normal(rng, shape, dtype):
    """Standard normal draws from a NumPy generator; float16, which it cannot draw, is drawn in float32."""
    if dtype == np.float16:
        return rng.standard_normal(shape, dtype=np.float32).astype(np.float16)
    return rng.standard_normal(shape, dtype=dtype)


def _host_uniform(rng, shape, dtype):
    """Uniform draws in [0, 1) from a NumPy generator; float16 as k / 2048 for a random 11-bit k (exact in
    float16, so rounding can never give 1.0)."""
    if dtype == np.float16:
        return rng.integers(0, 2048, shape).astype(np.float16) * np.float16(1.0 / 2048)
    return rng.random(shape, dtype=dtype)


NUMPY = NumpyBackend("cpu")
_backends = {"cpu": NUMPY}
_cpu_backend = NUMPY          # what "cpu" computes with (NUMPY, or the strict backend while testing)
_by_type = {np.ndarray: NUMPY}  # array type -> backend; filled lazily
# NumPy returns scalars, not 0-d arrays, from some operations on 0-d arrays. Every Tensor's data is an array:
# Function.apply (an op's output) and Tensor() (data given as a NumPy scalar) turn these types into writable
# 0-d arrays with as_array. backend_of() still knows them (host-side code passes them around).
SCALAR_TYPES = frozenset((np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8,
                          np.uint16, np.uint32, np.uint64, np.bool_))
for _t in SCALAR_TYPES:
    _by_type[_t] = NUMPY
as_array = np.asarray


def cuda_available():
    """True when CuPy imports and sees at least one GPU."""
    try:
        cupy = importlib.import_module("cupy")
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, or CUDA runtime errors when there is no driver
        return False


def normalize_device(device):
    """``None`` -> the default device; ``"cuda"`` -> ``"cuda:0"``; anything unknown -> ValueError."""
    if device is None:
        return _default_device
    if isinstance(device, Backend):
        return device.device
    device = str(device).strip().lower()
    if device == "cpu":
        return "cpu"
    if device == "cuda":
        return "cuda:0"
    if device.startswith("cuda:") and device[5:].isdigit():
        return device
    raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'")


def get_backend(device=None):
    """The backend of a device name; ``"cuda"`` without CuPy or a GPU raises one clear :class:`DeviceError`."""
    device = normalize_device(device)
    if device == "cpu":
        return _cpu_backend
    b = _backends.get(device)
    if b is None:
        try:
            importlib.import_module("cupy")
        except ImportError:
            raise DeviceError(f"device {device!r} needs CuPy, which is not installed: {GPU_INSTALL_HINT}.") from None
        if not cuda_available():
            raise DeviceError(f"device {device!r} is not available: CuPy is installed but sees no GPU "
                              f"(check the NVIDIA driver with `nvidia-smi`).")
        cupy = importlib.import_module("cupy")
        n = cupy.cuda.runtime.getDeviceCount()
        if int(device.split(":")[1]) >= n:
            raise DeviceError(f"device {device!r} is not available: this machine has {n} GPU(s).")
        b = _backends[device] = CupyBackend(device)
    return b


def backend_of(a):
    """The backend that owns array ``a``."""
    b = _by_type.get(type(a))
    if b is not None:
        return b
    mod = type(a).__module__
    if mod.startswith("array_api_strict"):
        if _cpu_backend.name != "array_api_strict":
            raise DeviceError("an array_api_strict array was given outside use_array_api_strict()")
        return _cpu_backend
    if mod.startswith("cupy"):
        return get_backend(f"cuda:{a.device.id}")
    if isinstance(a, np.generic):
        return NUMPY
    raise TypeError(f"tinygen cannot compute with arrays of type {type(a).__name__}")


def device_scope(a):
    """A context in which array ``a``'s device is current: CuPy's ``Device(N)`` for a GPU array, nothing on the
    CPU. Every op (Function.apply), the backward walk and the optimizers' updates run inside it."""
    b = _by_type.get(type(a)) or backend_of(a)
    return b.device_scope()


def namespace(a):
    """The array namespace ``xp`` of array ``a``: what every op computes with."""
    b = _by_type.get(type(a))
    return (b if b is not None else backend_of(a)).xp


def device_of(a):
    """The device name (``"cpu"``, ``"cuda:0"``) of array ``a``."""
    b = _by_type.get(type(a))
    return (b if b is not None else backend_of(a)).device


def to_numpy(a):
    """Array ``a`` of any backend as a host NumPy array (a copy for GPU arrays)."""
    b = _by_type.get(type(a))
    return (b if b is not None else backend_of(a)).to_numpy(a)


def dtype_of_obj(dt):
    """The dtype name of a namespace dtype object (NumPy, CuPy or array_api_strict)."""
    s = str(dt)
    if s.startswith("array_api_strict."):
        s = s[len("array_api_strict."):]
    try:
        return _DTYPES[s]
    except KeyError:
        return DType(np.dtype(dt).name)


_dtype_names = {}


def dtype_of(a):
    """The :class:`DType` of array ``a``."""
    dt = a.dtype
    key = (type(dt), dt)  # the type first: NumPy and array_api_strict dtypes must never be compared
    try:
        return _dtype_names[key]
    except KeyError:
        name = _dtype_names[key] = dtype_of_obj(dt)
        return name


def cpu_generator():
    """The CPU's ``numpy.random.Generator``: data shuffling and other host-side randomness draw from it."""
    return NUMPY.rng


def manual_seed(seed):
    """Seed the random generator of every device (present and future) with ``seed``."""
    global _seed
    _seed = int(seed)
    for b in list(_backends.values()) + ([_cpu_backend] if _cpu_backend is not NUMPY else []):
        b.reseed(_seed)


_default_device = "cpu"


def set_default_device(device):
    """Make ``device`` the default for newly created tensors and modules (checks that it is usable)."""
    global _default_device
    device = normalize_device(device)
    get_backend(device)
    _default_device = device


def get_default_device():
    return _default_device


@contextlib.contextmanager
def use_array_api_strict():
    """Testing only: within this block the CPU computes with ``array_api_strict`` arrays.

    Tensors made inside hold ``array_api_strict`` arrays, and every op runs on them through the standard's
    functions only. This is the stand-in for CuPy on machines without a GPU.
    """
    global _cpu_backend
    strict = StrictBackend("cpu")
    strict_type = strict.array_type
    old = _cpu_backend
    _cpu_backend = strict
    _by_type[strict_type] = strict
    try:
        yield strict
    finally:
        _cpu_backend = old
        _by_type.pop(strict_type, None)


from .windows import fold_by_slices, fold_windows, sliding_windows  # noqa: E402, F401  (uses the above)
