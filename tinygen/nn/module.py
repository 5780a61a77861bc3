"""Modules: ``Parameter``, ``Module`` (the base of every layer and model), ``Sequential``, ``ModuleList``.

A Module owns Parameters (leaf tensors that require grad), buffers (tensors that are state but not learned,
e.g. BatchNorm's running averages) and sub-modules, registered simply by assigning them as attributes::

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 400)     # a sub-module: its parameters become fc1.weight, fc1.bias
            self.fc2 = nn.Linear(400, 10)
        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

Names, orders and ``state_dict`` keys follow PyTorch ("0.weight", "encoder.fc1.bias", "bn.running_mean"), so
that weights can be copied across and checked number for number.
"""
from __future__ import annotations

import warnings
from collections import OrderedDict, namedtuple

from .. import backend as _backend
from ..autograd import no_grad
from ..tensor import Tensor, ToShorthands

_NDARRAY = _backend.NUMPY.xp.ndarray

__all__ = ["Parameter", "Module", "Sequential", "ModuleList", "StateDictError", "IncompatibleKeys"]


class StateDictError(ValueError):
    """A state dict does not fit a module. The message lists every missing, unexpected and wrongly shaped
    key at once; the lists are also in ``missing_keys``, ``unexpected_keys`` and ``mismatched_keys``
    (name, shape in the state dict, shape in the module)."""

    def __init__(self, message, missing_keys=(), unexpected_keys=(), mismatched_keys=()):
        super().__init__(message)
        self.missing_keys = list(missing_keys)
        self.unexpected_keys = list(unexpected_keys)
        self.mismatched_keys = list(mismatched_keys)


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A leaf Tensor that a Module registers as learnable (``requires_grad=True`` by default).

    ``Parameter(t)`` shares ``t``'s array. Operations on a Parameter give plain Tensors."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = _backend.get_backend(None).xp.zeros((0,), dtype=_backend.get_backend(None).dtype("float32"))
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def _converted(own, state_dict):
    """``({key: new array}, [problems])``: every value of ``state_dict`` converted to its tensor's dtype and
    device (a copy: never aliasing the source), or a sentence for each one that cannot be."""
    new, bad = {}, []
    with no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("error", message="Casting complex values")   # would drop the imaginary part
        for k, t in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            v = v.data if isinstance(v, Tensor) else v
            be = _backend.backend_of(t.data)
            try:
                with be.device_scope():          # a GPU's copy lands on the tensor's GPU, not the current one
                    new[k] = be.xp.asarray(be.asarray(v, t.dtype), copy=True)
            except (ValueError, TypeError, OverflowError, Warning) as e:
                bad.append(f"{k!r} ({type(v).__name__} of dtype {getattr(v, 'dtype', '?')}) to {t.dtype}: "
                           f"{str(e).splitlines()[0] if str(e) else type(e).__name__}")
    return new, bad


def _shape_of(v):
    if hasattr(v, "shape"):
        return tuple(int(s) for s in v.shape)
    return tuple(_backend.NUMPY.asarray(v).shape)  # nested lists or numbers: read on the host


def _fmt_count(n):
    return f"{n:,} param{'s' if n != 1 else ''}"


class Module(ToShorthands):
    """Base class of layers and models: subclass it, assign parameters/modules in ``__init__`` (after
    ``super().__init__()``), and write ``forward``. Calling the module calls ``forward``."""

    training: bool

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        x = args[0] if args else None
        if x.__class__ is Tensor and x.data.__class__ is not _NDARRAY:   # a GPU input: its device is current
            with _backend.device_scope(x.data):                           # for the layer's own array work
                return self.forward(*args, **kwargs)
        return self.forward(*args, **kwargs)

    # --- registration -------------------------------------------------------------------------------------
    def _check_init(self, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() was called: call "
                                 f"super().__init__() first in {type(self).__name__}.__init__")

    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            self._check_init(name)
            self._remove(name)
            params[name] = value
        elif isinstance(value, Module):
            self._check_init(name)
            self._remove(name)
            self._modules[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} as parameter {name!r} (a "
                                f"tinygen.nn.Parameter or None is expected)")
            params[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} as buffer {name!r} (a Tensor or None "
                                f"is expected)")
            self._buffers[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} as child module {name!r} (a Module "
                                f"or None is expected)")
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):  # only called when normal lookup fails
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            s = d.get(store)
            if s is not None and name in s:
                return s[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def _remove(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        self._non_persistent.discard(name)
        self.__dict__.pop(name, None)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent one such as a bias=False layer's bias)."""
        self._register("register_parameter", self._parameters, name, param, Parameter)

    def register_buffer(self, name, tensor, persistent=True):
        """Register a Tensor that is state but not a parameter (saved in state_dict unless not ``persistent``,
        moved by ``to``, never given to an optimizer)."""
        self._register("register_buffer", self._buffers, name, tensor, Tensor)
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        self._register("add_module", self._modules, name, module, Module)

    def _register(self, what, table, name, value, kind):
        """What register_parameter, register_buffer and add_module share: the name's checks, the value's type
        (``kind`` or None), then ``table[name] = value`` in place of anything else of that name."""
        self._check_init(name)
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"{what}: {name!r} must be a {kind.__name__} or None, got {type(value).__name__}")
        self._remove(name)
        table[name] = value

    # --- traversal ------------------------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix=""):
        """(name, module) for this module and every descendant, depth first, each module once."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for name, t in getattr(m, store).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{mname}.{name}" if mname else name), t

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, Parameter) pairs in registration order (a parameter shared by two modules once)."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        """The parameters of named_parameters(), in the same order (without building their names: training
        loops ask for them every step, e.g. for the WGAN clip)."""
        seen, stack = set(), [self]
        while stack:                           # depth first, children in registration order, each module once
            m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            for p in m._parameters.values():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield p
            if recurse:
                stack.extend(c for c in reversed(m._modules.values()) if c is not None)

    def named_buffers(self, prefix="", recurse=True):
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only=False):
        """The number of parameter elements (each shared parameter counted once)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant, then on this module (e.g. a custom initialisation)."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- modes, devices, gradients --------------------------------------------------------------------------
    def train(self, mode=True):
        """Training mode (dropout drops, batch norm uses batch statistics) for this module and all below it."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of every parameter (``grad = None``; ``set_to_none=False`` zeroes them)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                with _backend.device_scope(p.grad.data):
                    p.grad = Tensor(p.grad.xp.zeros_like(p.grad.data))

    def to(self, device=None, dtype=None):
        """Move every parameter and buffer to ``device`` and/or cast the floating ones to ``dtype``, IN PLACE:
        the Parameter objects stay the same (an optimizer built before keeps working); only their ``data``
        (and ``grad``) change. ``module.to("float64")`` is read as a dtype. Returns the module."""
        if isinstance(device, str) and device in _backend._DTYPES:
            device, dtype = None, device
        be = _backend.get_backend(device) if device is not None else None
        if dtype is not None:
            dtype = _backend.DType(str(dtype))
            if not dtype.is_floating:
                raise TypeError(f"Module.to: only floating-point dtypes can be set, got {dtype}")

        def move(a):
            b = be or _backend.backend_of(a)
            if b is not _backend.backend_of(a):
                a = b.asarray(a)
            if dtype is not None and _backend.dtype_of(a).is_floating and _backend.dtype_of(a) != dtype:
                with _backend.device_scope(a):          # a GPU array is cast on its own device
                    a = b.xp.astype(a, b.dtype(dtype))
            return a

        with no_grad():
            for m in self.modules():
                for t in list(m._parameters.values()) + list(m._buffers.values()):
                    if t is None:
                        continue
                    t.data = move(t.data)
                    if t.grad is not None:
                        t.grad = Tensor(move(t.grad.data))
        return self

    # --- state ------------------------------------------------------------------------------------------------
    def state_dict(self, prefix="", keep_vars=False):
        """An OrderedDict name -> Tensor of every parameter and persistent buffer, keys as in PyTorch (each
        module's parameters, then its buffers, then its children's, depth first). The tensors are detached
        and share their arrays with the module (``keep_vars=True``: the Parameters themselves)."""
        out = OrderedDict()
        self._save_to(out, prefix, keep_vars)
        return out

    def _save_to(self, out, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m._save_to(out, f"{prefix}{name}.", keep_vars)

    def load_state_dict(self, state_dict, strict=True):
        """Copy ``state_dict``'s values into this module's parameters and buffers (same Tensor objects; values
        cast to each tensor's dtype and moved to its device).

        Nothing is changed unless everything fits: a :class:`StateDictError` lists at once every missing key,
        every unexpected key (both only when ``strict``), every key whose shape differs and every value that
        cannot be converted to its tensor's dtype. Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = [(k, _shape_of(state_dict[k]), tuple(own[k].shape)) for k in own
                      if k in state_dict and _shape_of(state_dict[k]) != tuple(own[k].shape)]
        parts = []
        if strict and missing:
            parts.append(f"{len(missing)} missing key{'s' if len(missing) > 1 else ''}: "
                         + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            parts.append(f"{len(unexpected)} unexpected key{'s' if len(unexpected) > 1 else ''}: "
                         + ", ".join(repr(k) for k in unexpected))
        if mismatched:
            parts.append(f"{len(mismatched)} key{'s' if len(mismatched) > 1 else ''} with the wrong shape: "
                         + ", ".join(f"{k!r} is {s} in the state dict but {t} in the module"
                                     for k, s, t in mismatched))
        new, bad = _converted(own, state_dict)
        if bad:
            parts.append(f"{len(bad)} value{'s' if len(bad) > 1 else ''} that cannot be converted: " + ", ".join(bad))
        if parts:
            raise StateDictError(f"error loading the state dict into {type(self).__name__}: " + "; ".join(parts),
                                 missing if strict else (), unexpected if strict else (), mismatched)
        for k, data in new.items():       # everything fits: only now is anything changed
            own[k].data = data
        return IncompatibleKeys(missing, unexpected)

    # --- printing ------------------------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside this module's parentheses (layers override it: ``in_features=4, ...``)."""
        return ""

    def __repr__(self):
        return "\n".join(self._repr_lines())

    def _repr_lines(self):
        n = self.num_parameters()
        count = f"  # {_fmt_count(n)}" if n else ""
        children = [(name, m) for name, m in self._modules.items() if m is not None]
        extra = self.extra_repr()
        if not children:
            return [f"{type(self).__name__}({extra}){count}"]
        lines = [f"{type(self).__name__}("]
        if extra:
            lines.append(f"  {extra}")
        for name, m in children:
            sub = m._repr_lines()
            lines.append(f"  ({name}): {sub[0]}")
            lines.extend("  " + s for s in sub[1:])
        lines.append(f"){count}")
        return lines


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: modules registered in order under "0", "1", ..., their count,
    iteration, indexing (a slice gives the same kind of container) and append."""

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self._of_items(list(self._modules.items())[idx])
        return list(self._modules.values())[idx]

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self


class Sequential(_ModuleSequence):
    """Modules applied one after the other: ``Sequential(nn.Linear(784, 400), nn.ReLU(), ...)`` (named "0",
    "1", ...) or ``Sequential(OrderedDict(fc=..., act=...))``."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    @staticmethod
    def _of_items(items):
        return Sequential(OrderedDict(items))                # a slice keeps the names

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x


class ModuleList(_ModuleSequence):
    """A list of modules, each registered (named "0", "1", ...): index it, iterate it; it has no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @staticmethod
    def _of_items(items):
        return ModuleList([m for _, m in items])

    def __setitem__(self, idx, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList items must be Modules, got {type(module).__name__}")
        self._modules[list(self._modules)[idx]] = module   # same key, same place

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self
