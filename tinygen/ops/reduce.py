"""Reductions over axes: sum, mean, max, min, var, logsumexp (``axis``: None, an int or a tuple; ``keepdims``).

The backward of a reduction spreads the output gradient back over the reduced axes: it reshapes ``gy`` to
the kept-dims shape and broadcasts it to the input's shape (:func:`_spread`).
"""
from __future__ import annotations

import math

from .. import autograd as _autograd
from ..autograd import Function
from ..tensor import Tensor
from . import shape as _shape
from ._util import keepdims_shape, normalize_axes


def _spread(g, in_shape, axes):
    """``g`` (the gradient of a reduction's output) broadcast back over the reduced ``axes``."""
    kshape = keepdims_shape(in_shape, axes)
    if not _autograd.is_grad_enabled():   # nothing records this backward: the same view, without two ops
        xp = g.xp
        return Tensor(xp.broadcast_to(xp.reshape(g.data, kshape), tuple(in_shape)))
    if g.data.shape != kshape:
        g = _shape.Reshape.apply(g, shape=kshape)
    if kshape != tuple(in_shape):
        g = _shape.BroadcastTo.apply(g, shape=tuple(in_shape))
    return g


def _reduce_sample(draw, fn, kind="real"):
    shp = draw.shape(min_dims=0, max_dims=3)
    axis = None
    if shp and draw.boolean():
        axes = sorted({draw.integer(0, len(shp) - 1) for _ in range(draw.integer(1, len(shp)))})
        axis = axes[0] - len(shp) if len(axes) == 1 and draw.boolean() else tuple(axes)
    keepdims = draw.boolean()
    return [draw.array(shp, kind)], lambda t: fn(t, axis, keepdims)


class Sum(Function):
    """y = sum_i x_i (over the axes)            dy/dx_i = 1"""

    def forward(self, x, *, axis=None, keepdims=False):
        self.axes = normalize_axes(axis, x.ndim, "sum")
        return self.xp.asarray(self.xp.sum(x, axis=self.axes, keepdims=keepdims))

    def backward(self, gy):
        return _spread(gy, self.in_shapes[0], self.axes)

    @staticmethod
    def sample(draw):
        return _reduce_sample(draw, sum)


class Mean(Function):
    """y = (1/n) sum_i x_i                      dy/dx_i = 1/n"""

    def forward(self, x, *, axis=None, keepdims=False):
        self.axes = normalize_axes(axis, x.ndim, "mean")
        self.n = math.prod(x.shape[a] for a in self.axes)
        return self.xp.asarray(self.xp.mean(x, axis=self.axes, keepdims=keepdims))

    def backward(self, gy):
        return _spread(gy * (1.0 / (self.n or 1)), self.in_shapes[0], self.axes)

    @staticmethod
    def sample(draw):
        return _reduce_sample(draw, mean)


class Max(Function):
    """y = max_i x_i        dy/dx_i = [x_i = y] / (number of maxima)   (ties share the gradient)"""

    _reduce = "max"

    def forward(self, x, *, axis=None, keepdims=False):
        xp = self.xp
        self.axes = normalize_axes(axis, x.ndim, self._reduce)
        if 0 in [x.shape[a] for a in self.axes]:
            raise ValueError(f"{self.name} of an empty axis")
        yk = xp.asarray(getattr(xp, self._reduce)(x, axis=self.axes, keepdims=True))
        if self.recording:     # which elements share the gradient: for backward only
            mask = xp.astype(x == yk, x.dtype)
            mask /= xp.sum(mask, axis=self.axes, keepdims=True)
            self.save_for_backward(mask)
        return yk if keepdims else xp.reshape(yk, tuple(s for i, s in enumerate(x.shape) if i not in self.axes))

    def backward(self, gy):
        (w,) = self.saved_tensors
        return _spread(gy, self.in_shapes[0], self.axes) * w

    @staticmethod
    def sample(draw):
        return _reduce_sample(draw, max, "distinct")


class Min(Max):
    """y = min_i x_i        dy/dx_i = [x_i = y] / (number of minima)"""

    _reduce = "min"

    @staticmethod
    def sample(draw):
        return _reduce_sample(draw, min, "distinct")


class Var(Function):
    """y = sum_i (x_i - m)^2 / (n - c),  m the mean       dy/dx_i = 2 (x_i - m) / (n - c)

    ``c`` is ``correction``: 1 (the default, as in PyTorch) gives the unbiased estimate, 0 the biased one.
    With n <= c (one value and c = 1) there are no degrees of freedom: the variance is NaN or inf and its
    gradient NaN, as in PyTorch."""

    def forward(self, x, *, axis=None, keepdims=False, correction=1):
        self.axes = normalize_axes(axis, x.ndim, "var")
        self.n = math.prod(x.shape[a] for a in self.axes)
        self.correction = correction
        self.save_for_backward(x)
        return self.xp.asarray(self.xp.var(x, axis=self.axes, keepdims=keepdims, correction=correction))

    def backward(self, gy):
        (x,) = self.saved_tensors
        d = x - Mean.apply(x, axis=self.axes, keepdims=True)
        dof = self.n - self.correction     # no degrees of freedom (one value, correction 1): NaN, like PyTorch
        return _spread(gy, self.in_shapes[0], self.axes) * d * (2.0 / dof if dof > 0 else math.nan)

    @staticmethod
    def sample(draw):
        shp = draw.shape(min_dims=1, max_dims=3, min_side=2)
        axis = draw.choice([None, 0, -1, tuple(range(len(shp)))])
        keepdims, c = draw.boolean(), draw.choice([0, 1])
        return [draw.array(shp)], lambda t: var(t, axis, keepdims, c)


class LogSumExp(Function):
    """y = log sum_i exp(x_i)   (computed as m + log sum exp(x_i - m), m = max x)    dy/dx_i = exp(x_i - y)"""

    name = "logsumexp"

    def forward(self, x, *, axis=None, keepdims=False):
        xp = self.xp
        self.axes = normalize_axes(axis, x.ndim, "logsumexp")
        m = xp.max(x, axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
        y = xp.log(xp.sum(xp.exp(x - m), axis=self.axes, keepdims=True)) + m
        if not keepdims:
            y = xp.reshape(y, tuple(s for i, s in enumerate(x.shape) if i not in self.axes))
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved_tensors
        shape = self.in_shapes[0]
        yk = _spread(y, shape, self.axes)
        return _spread(gy, shape, self.axes) * (x - yk).exp()

    @staticmethod
    def sample(draw):
        return _reduce_sample(draw, logsumexp)


# ---------------------------------------------------------------------------------------------------------
def sum(x, axis=None, keepdims=False): return Sum.apply(x, axis=axis, keepdims=keepdims)
def mean(x, axis=None, keepdims=False): return Mean.apply(x, axis=axis, keepdims=keepdims)
def max(x, axis=None, keepdims=False): return Max.apply(x, axis=axis, keepdims=keepdims)
def min(x, axis=None, keepdims=False): return Min.apply(x, axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False, correction=1):
    return Var.apply(x, axis=axis, keepdims=keepdims, correction=correction)


def std(x, axis=None, keepdims=False, correction=1):
    """sqrt(var): a composite of the two primitives."""
    return var(x, axis, keepdims, correction).sqrt()


def logsumexp(x, axis=None, keepdims=False): return LogSumExp.apply(x, axis=axis, keepdims=keepdims)


def _index_reduce(x, axis, keepdims, fname):
    xp = x.xp
    if axis is None:
        r = getattr(xp, fname)(xp.reshape(x.data, (-1,)))
        return Tensor(xp.reshape(xp.asarray(r), (1,) * x.ndim) if keepdims else xp.asarray(r))
    return Tensor(xp.asarray(getattr(xp, fname)(x.data, axis=axis, keepdims=keepdims)))


def argmax(x, axis=None, keepdims=False):
    """Index of the largest element (of the flattened tensor when axis is None). No gradient."""
    return _index_reduce(x, axis, keepdims, "argmax")


def argmin(x, axis=None, keepdims=False):
    return _index_reduce(x, axis, keepdims, "argmin")


def all(x, axis=None, keepdims=False):
    return Tensor(x.xp.asarray(x.xp.all(x.data, axis=axis, keepdims=keepdims)))


def any(x, axis=None, keepdims=False):
    return Tensor(x.xp.asarray(x.xp.any(x.data, axis=axis, keepdims=keepdims)))
