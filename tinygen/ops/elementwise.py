"""Elementwise ops: arithmetic, exp/log/sqrt/abs, clip, maximum/minimum, where, dtype casts and copies.

Binary ops broadcast like NumPy; their backward sums each gradient back to its input's shape
(:func:`~tinygen.ops.shape.unbroadcast`). Inputs may be Tensors or plain Python numbers (which get no
gradient). Every backward is written with tinygen ops, so it can itself be differentiated.
"""
from __future__ import annotations

import operator as _operator

from .. import backend as _backend
from ..autograd import Function
from ..tensor import Tensor
from .shape import unbroadcast


# ---------------------------------------------------------------------------------------------------------
class Add(Function):
    """y = a + b            dy/da = 1, dy/db = 1"""

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        na, nb = self.needs_input_grad
        return (unbroadcast(gy, self.in_shapes[0]) if na else None,
                unbroadcast(gy, self.in_shapes[1]) if nb else None)

    @staticmethod
    def sample(draw):
        sa, sb = draw.broadcast_pair()
        return [draw.array(sa), draw.array(sb)], add


class Sub(Function):
    """y = a - b            dy/da = 1, dy/db = -1"""

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        na, nb = self.needs_input_grad
        return (unbroadcast(gy, self.in_shapes[0]) if na else None,
                unbroadcast(neg(gy), self.in_shapes[1]) if nb else None)

    @staticmethod
    def sample(draw):
        sa, sb = draw.broadcast_pair()
        return [draw.array(sa), draw.array(sb)], sub


class Mul(Function):
    """y = a * b            dy/da = b, dy/db = a"""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        return (unbroadcast(gy * b, self.in_shapes[0]) if na else None,
                unbroadcast(gy * a, self.in_shapes[1]) if nb else None)

    @staticmethod
    def sample(draw):
        sa, sb = draw.broadcast_pair()
        return [draw.array(sa), draw.array(sb)], mul


class Div(Function):
    """y = a / b            dy/da = 1/b, dy/db = -a/b^2 = -y/b"""

    def forward(self, a, b):
        y = a / b
        self.save_for_backward(b, y)
        return y

    def backward(self, gy):
        b, y = self.saved_tensors
        na, nb = self.needs_input_grad
        ga = gy / b
        return (unbroadcast(ga, self.in_shapes[0]) if na else None,
                unbroadcast(neg(ga * y), self.in_shapes[1]) if nb else None)

    @staticmethod
    def sample(draw):
        sa, sb = draw.broadcast_pair()
        return [draw.array(sa), draw.array(sb, "nonzero")], div


class Neg(Function):
    """y = -x               dy/dx = -1"""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return neg(gy)

    @staticmethod
    def sample(draw):
        return [draw.array(draw.shape())], neg


class Pow(Function):
    """y = a ** b           dy/da = b a^(b-1),  dy/db = a^b log(a) (needs a > 0)

    ``b`` may be a Python number (then only a gets a gradient and a may be negative for integer b)."""

    def forward(self, a, b):
        y = a ** b
        self.save_for_backward(a, b, y)
        return y

    def backward(self, gy):
        a, b, y = self.saved_tensors
        na, nb = self.needs_input_grad
        ga = gb = None
        if na:
            if isinstance(b, (int, float)):
                ga = gy * a * 2.0 if b == 2 else gy * b * pow(a, b - 1)
            else:
                ga = unbroadcast(gy * b * pow(a, b - 1.0), self.in_shapes[0])
        if nb:
            gb = unbroadcast(gy * y * log(a), self.in_shapes[1])
        return ga, gb

    @staticmethod
    def sample(draw):
        if draw.boolean():
            p = draw.choice([2, 3, -1, 0.5, 1.5])
            kind = "positive" if p in (0.5, 1.5, -1) else "real"
            return [draw.array(draw.shape(), kind)], lambda a: pow(a, p)
        sa, sb = draw.broadcast_pair()
        return [draw.array(sa, "positive"), draw.array(sb)], pow


class Exp(Function):
    """y = exp(x)           dy/dx = exp(x) = y"""

    def forward(self, x):
        y = self.xp.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * y

    @staticmethod
    def sample(draw):
        return [draw.array(draw.shape())], exp


class Log(Function):
    """y = log(x)           dy/dx = 1/x"""

    def forward(self, x):
        self.save_for_backward(x)
        return self.xp.log(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy / x

    @staticmethod
    def sample(draw):
        return [draw.array(draw.shape(), "positive")], log


class Sqrt(Function):
    """y = sqrt(x)          dy/dx = 1 / (2 sqrt(x)) = 0.5 / y"""

    def forward(self, x):
        y = self.xp.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * 0.5 / y

    @staticmethod
    def sample(draw):
        return [draw.array(draw.shape(), "positive")], sqrt


class Abs(Function):
    """y = |x|              dy/dx = sign(x)   (0 at x = 0, like PyTorch)"""

    def forward(self, x):
        if self.recording:     # the sign is for backward only
            self.save_for_backward(self.xp.sign(x))
        return self.xp.abs(x)

    def backward(self, gy):
        (s,) = self.saved_tensors
        return gy * s

    @staticmethod
    def sample(draw):
        return [draw.array(draw.shape(), "nonzero")], abs


class Clip(Function):
    """y = min(max(x, lo), hi)     dy/dx = 1 where lo <= x <= hi, else 0"""

    def forward(self, x, *, lo=None, hi=None):
        xp = self.xp
        if self.recording:     # the mask is for backward only
            mask = None
            if lo is not None:
                mask = x >= lo
            if hi is not None:
                mask = (x <= hi) if mask is None else xp.logical_and(mask, x <= hi)
            self.save_for_backward(None if mask is None else xp.astype(mask, x.dtype))
        return xp.clip(x, lo, hi)

    def backward(self, gy):
        (mask,) = self.saved_tensors
        return gy if mask is None else gy * mask

    @staticmethod
    def sample(draw):
        # values near the bounds are moved away from them so the derivative is well defined
        x = draw.array(draw.shape())
        x[(x - 0.5) ** 2 < 0.05 ** 2] += 0.1
        x[(x + 0.7) ** 2 < 0.05 ** 2] += 0.1
        return [x], lambda t: clip(t, -0.7, 0.5)


class _Extremum(Function):
    """Shared by Maximum and Minimum: the winner of each pair gets the gradient, ties split it in half."""

    register = False
    _wins = None     # a > b for maximum, a < b for minimum
    _pick = None     # the namespace function's name

    def forward(self, a, b):
        xp = self.xp
        if self.recording:     # the weights are for backward only
            dt = a.dtype if hasattr(a, "dtype") else b.dtype
            wa = xp.astype(type(self)._wins(a, b), dt) + 0.5 * xp.astype(a == b, dt)
            self.save_for_backward(wa)
        return getattr(xp, self._pick)(a, b)

    def backward(self, gy):
        (wa,) = self.saved_tensors
        na, nb = self.needs_input_grad
        return (unbroadcast(gy * wa, self.in_shapes[0]) if na else None,
                unbroadcast(gy * (1.0 - wa), self.in_shapes[1]) if nb else None)


class Maximum(_Extremum):
    """y = max(a, b)        dy/da = [a > b] (+1/2 at ties), dy/db = [b > a] (+1/2 at ties)"""

    _wins, _pick = _operator.gt, "maximum"

    @staticmethod
    def sample(draw):
        sa, sb = draw.broadcast_pair()
        return [draw.array(sa, "even"), draw.array(sb, "odd")], maximum


class Minimum(_Extremum):
    """y = min(a, b)        dy/da = [a < b] (+1/2 at ties), dy/db = [b < a] (+1/2 at ties)"""

    _wins, _pick = _operator.lt, "minimum"

    @staticmethod
    def sample(draw):
        sa, sb = draw.broadcast_pair()
        return [draw.array(sa, "even"), draw.array(sb, "odd")], minimum


class Where(Function):
    """y = cond ? a : b     dy/da = [cond], dy/db = [not cond]   (cond: booleans, no gradient)"""

    def forward(self, cond, a, b):
        xp = self.xp
        if self.recording:     # the mask is for backward only
            self.save_for_backward(xp.astype(cond, a.dtype if hasattr(a, "dtype") else b.dtype))
        return xp.where(cond, a, b)

    def backward(self, gy):
        (m,) = self.saved_tensors
        _, na, nb = self.needs_input_grad
        return (None, unbroadcast(gy * m, self.in_shapes[1]) if na else None,
                unbroadcast(gy * (1.0 - m), self.in_shapes[2]) if nb else None)

    @staticmethod
    def sample(draw):
        sa, sb = draw.broadcast_pair()
        c = draw.array(draw.choice([sa, sb])) > 0
        return [draw.array(sa), draw.array(sb)], lambda a, b: where(_bool_like(a, c), a, b)


def _bool_like(t, host_bool):
    return Tensor(_backend.backend_of(t.data).asarray(host_bool))


class Cast(Function):
    """y = x as another dtype       dy/dx = 1 (the gradient is cast back to x's dtype)"""

    def forward(self, x, *, dtype):
        self.src = _backend.dtype_of(x)
        return self.xp.astype(x, _backend.backend_of(x).dtype(dtype))

    def backward(self, gy):
        return cast(gy, self.src)

    @staticmethod
    def sample(draw):
        # a float32 round trip would drown finite differences in rounding: the checks cast to float64;
        # tests/ops/test_elementwise.py checks float32 <-> float64 gradients' dtypes
        return [draw.array(draw.shape())], lambda t: cast(t, "float64")


class Copy(Function):
    """y = x (a new array)  dy/dx = 1"""

    def forward(self, x):
        return self.xp.asarray(x, copy=True)

    def backward(self, gy):
        return gy

    @staticmethod
    def sample(draw):
        return [draw.array(draw.shape())], copy


class ToDevice(Function):
    """y = x moved to another device     dy/dx = 1 (the gradient moves back)"""

    def forward(self, x, *, device):
        self.src = _backend.device_of(x)
        return _backend.get_backend(device).asarray(x)

    def backward(self, gy):
        return to_device(gy, self.src)

    @staticmethod
    def sample(draw):
        return [draw.array(draw.shape())], lambda t: to_device(t, "cpu")


# ---------------------------------------------------------------------------------------------------------
# The functions users call (also what Tensor's operators call)
# ---------------------------------------------------------------------------------------------------------
def _t(x, like):
    """Non-Tensor array-likes (lists, NumPy arrays) become constant Tensors on ``like``'s device."""
    if isinstance(x, Tensor) or isinstance(x, (int, float, bool)):
        return x
    if isinstance(like, Tensor):
        return Tensor(_backend.backend_of(like.data).asarray(x))
    from ..creation import tensor
    return tensor(x)


def add(a, b): return Add.apply(_t(a, b), _t(b, a))
def sub(a, b): return Sub.apply(_t(a, b), _t(b, a))
def mul(a, b): return Mul.apply(_t(a, b), _t(b, a))
def div(a, b): return Div.apply(_t(a, b), _t(b, a))
def neg(x): return Neg.apply(x)


def pow(a, b):
    if not isinstance(a, Tensor):
        a = _t(a, b)
        if not isinstance(a, Tensor):  # number ** Tensor
            a = Tensor(b.xp.asarray(a, dtype=b.data.dtype))
    return Pow.apply(a, _t(b, a))


def exp(x): return Exp.apply(x)
def log(x): return Log.apply(x)
def sqrt(x): return Sqrt.apply(x)
def abs(x): return Abs.apply(x)


def clip(x, min=None, max=None):
    """Clamp ``x`` to [min, max] (either bound may be None)."""
    return Clip.apply(x, lo=min, hi=max)


def maximum(a, b): return Maximum.apply(_t(a, b), _t(b, a))
def minimum(a, b): return Minimum.apply(_t(a, b), _t(b, a))


def where(cond, a, b):
    """Elementwise ``a`` where ``cond`` is true, else ``b`` (cond gets no gradient)."""
    like = a if isinstance(a, Tensor) else b
    if isinstance(cond, Tensor):
        cond = cond.data
    elif not hasattr(cond, "__array_namespace__") and type(cond) not in _backend._by_type:
        cond = _backend.backend_of(like.data).asarray(cond)
    return Where.apply(cond, _t(a, like), _t(b, like))


def cast(x, dtype): return Cast.apply(x, dtype=_backend.DType(dtype))
def copy(x): return Copy.apply(x)


def to_device(x, device):
    return ToDevice.apply(x, device=_backend.normalize_device(device))


_COMPARE = {"less": _operator.lt, "less_equal": _operator.le, "greater": _operator.gt,
            "greater_equal": _operator.ge, "equal": _operator.eq, "not_equal": _operator.ne}


def compare(a, b, op):
    """``a <op> b`` elementwise (op: less, less_equal, greater, greater_equal, equal, not_equal): a boolean
    Tensor, no gradient."""
    like = a if isinstance(a, Tensor) else b
    a, b = _t(a, like), _t(b, like)
    ad = a.data if isinstance(a, Tensor) else a
    bd = b.data if isinstance(b, Tensor) else b
    if isinstance(a, Tensor) and isinstance(b, Tensor) and type(ad) is not type(bd):
        raise _backend.DeviceError(f"{op}: inputs are on different devices ({a.device}, {b.device})")
    return Tensor(_COMPARE[op](ad, bd))


def isfinite(x):
    return Tensor(x.xp.isfinite(x.data))
