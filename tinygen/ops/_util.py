"""Helpers shared by the ops: axis normalisation, and the protocol of the gradient checks' input drawer.

The ``sample(draw)`` protocol of every op (what the gradient checks call) uses a *drawer* with these
methods; :mod:`tinygen.gradcheck` implements it with a NumPy generator, :mod:`tinygen.testing` with
hypothesis:

* ``draw.shape(min_dims=0, max_dims=3, min_side=1, max_side=4)`` -> a shape tuple
* ``draw.broadcast_pair(min_dims=0, max_dims=3, max_side=4)`` -> two shapes that broadcast together
* ``draw.integer(lo, hi)`` (inclusive), ``draw.boolean()``, ``draw.choice(seq)``
* ``draw.array(shape, kind="real")`` -> a float64 NumPy array. Kinds: ``real`` in [-2, 2]; ``positive`` in
  [0.5, 2]; ``nonzero`` with |x| in [0.3, 2]; ``unit`` in [0.05, 0.95]; ``distinct``: all values at least
  0.1 apart (no ties for max/min); ``even`` / ``odd``: near even / odd multiples of 0.5, so an ``even``
  and an ``odd`` array are never closer than 0.3 (no ties for maximum/minimum).
"""
from __future__ import annotations

from ..tensor import ShapeError


def normalize_axes(axis, ndim, op):
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes; bad axes raise ShapeError."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if ndim == 0:
            if a not in (0, -1):
                raise ShapeError(f"{op}: axis {a} is out of range for a 0-d tensor")
            continue
        if not -ndim <= a < ndim:
            raise ShapeError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimension(s)")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: repeated axis in {tuple(axis)}")
    return tuple(sorted(out))


def keepdims_shape(shape, axes):
    """``shape`` with the reduced ``axes`` kept as size 1."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))
