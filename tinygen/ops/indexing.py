"""Indexing: ``x[index]`` (GetItem) and its adjoint, the scatter-add of a gradient into zeros (Scatter).

Indices follow NumPy: ints, slices (any step), None, Ellipsis, integer arrays/lists/Tensors (several of them
broadcast together; with any array present, ints count as arrays too) and boolean masks (turned into integer
arrays). The array API standard allows fewer forms, so an index is taken apart into what it does allow:

1. a *basic* index (slices, None; array positions replaced by ``:``), applied with ``x[basic]``;
2. the integer arrays, applied as ONE ``take`` on the array axes merged into a single axis (the arrays become
   a flat index into the merged axis), the result's axes put where NumPy puts them.

The backward of indexing adds the gradient into a zero array at the same places (Scatter): repeated
integer indices add up (``backend.index_add``, a scatter-add the standard lacks). Scatter's own backward is
indexing again, so second derivatives flow through both.
"""
from __future__ import annotations

import math
import operator

from .. import backend as _backend
from ..autograd import Function
from ..tensor import Tensor


class _Mask:
    """A boolean mask in an index, until the axes it covers are known."""

    def __init__(self, mask):
        self.mask, self.ndim = mask, mask.ndim


def _expand_masks(items, shape, xp):
    """Each mask becomes the integer arrays of its True places, once its shape matches the axes it covers
    (NumPy and PyTorch raise IndexError otherwise; a silent mismatch would select the wrong elements)."""
    out, axis = [], 0
    for e in items:
        if isinstance(e, _Mask):
            covered = tuple(shape[axis:axis + e.ndim])
            if tuple(e.mask.shape) != covered:
                raise IndexError(_mask_mismatch(e.mask.shape, covered, shape))
            out.extend(xp.nonzero(e.mask))
            axis += e.ndim
            continue
        out.append(e)
        if e is not None:
            axis += 1
    return out


def _mask_mismatch(mask_shape, covered, shape):
    return (f"the boolean index has shape {tuple(mask_shape)} but the axes it indexes have shape {covered} "
            f"(a tensor of shape {tuple(shape)})")


class _Index:
    """An index, normalised for one input shape (see the module docstring)."""

    def __init__(self, index, shape, be):
        if not isinstance(index, tuple):
            index = (index,)
        xp = be.xp
        items = []
        for e in index:
            if isinstance(e, Tensor):
                e = e.data
            if isinstance(e, (list,)) or (hasattr(e, "shape") and not isinstance(e, (int, slice))):
                e = be.asarray(e) if isinstance(e, list) else e
                dt = _backend.dtype_of(e)
                if dt == "bool":
                    if e.ndim == 0:
                        raise IndexError("a 0-d boolean index is not supported; use a mask with the shape of "
                                         "the axes it selects")
                    items.append(_Mask(e))
                    continue
                if dt.is_floating:
                    raise IndexError("index arrays must hold integers, not floats")
                if e.ndim == 0:
                    e = int(e)
            elif isinstance(e, bool):
                raise IndexError("a bare True/False is not a valid index")
            elif not (e is None or e is Ellipsis or isinstance(e, (int, slice))):
                try:
                    e = operator.index(e)  # NumPy integers; a float such as 1.9 is refused, not truncated
                except TypeError:
                    raise IndexError(f"only integers, slices, None, '...' and integer or boolean arrays are "
                                     f"valid indices, not {type(e).__name__} ({e!r})") from None
            items.append(e)
        n_ell = sum(e is Ellipsis for e in items)
        if n_ell > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        consumed = sum(e.ndim if isinstance(e, _Mask) else 1 for e in items if e is not None and e is not Ellipsis)
        if consumed > len(shape):
            raise IndexError(f"too many indices for a tensor of shape {tuple(shape)}: {consumed} given")
        fill = (slice(None),) * (len(shape) - consumed)
        if n_ell:
            k = next(i for i, e in enumerate(items) if e is Ellipsis)  # not .index(): arrays' == is elementwise
            items = items[:k] + list(fill) + items[k + 1:]
        else:
            items = items + list(fill)
        items = _expand_masks(items, shape, xp)
        has_arrays = any(hasattr(e, "shape") for e in items)
        self.items = items
        self.in_shape = tuple(shape)
        # which input axis each index item refers to (None items refer to none)
        axis, axes = 0, []
        for e in items:
            axes.append(None if e is None else axis)
            if e is not None:
                axis += 1
        if not has_arrays:
            self.basic = tuple(items)
            self.adv = None
            for e, a in zip(items, axes):
                if isinstance(e, int) and not -shape[a] <= e < shape[a]:
                    raise IndexError(f"index {e} is out of bounds for axis {a} with size {shape[a]}")
            return
        # advanced: ints and arrays are the advanced items
        self.adv_pos = [i for i, e in enumerate(items) if hasattr(e, "shape") or isinstance(e, int)]
        self.basic = tuple(slice(None) if i in self.adv_pos else e for i, e in enumerate(items))
        sizes = [shape[axes[i]] for i in self.adv_pos]
        arrs = [xp.asarray(items[i]) if hasattr(items[i], "shape") else xp.asarray(items[i], dtype=xp.int64)
                for i in self.adv_pos]
        try:
            arrs = xp.broadcast_arrays(*arrs)
        except ValueError:
            raise IndexError(f"the index arrays have shapes {[tuple(a.shape) for a in arrs]}, which do not "
                             f"broadcast together") from None
        flat = None
        stride = 1
        for arr, size in reversed(list(zip(arrs, sizes))):
            arr = xp.astype(arr, xp.int64)
            if arr.ndim and (bool(xp.any(arr >= size)) or bool(xp.any(arr < -size))):
                raise IndexError(f"an index array has entries out of bounds for an axis of size {size}")
            if not arr.ndim and not -size <= int(arr) < size:
                raise IndexError(f"index {int(arr)} is out of bounds for an axis of size {size}")
            arr = xp.where(arr < 0, arr + size, arr)
            flat = arr * stride if flat is None else flat + arr * stride
            stride *= size
        self.adv_shape = tuple(arrs[0].shape)
        self.flat = xp.reshape(flat, (-1,))
        self.adv_sizes = sizes
        self.adv = True
        self.consecutive = self.adv_pos == list(range(self.adv_pos[0], self.adv_pos[-1] + 1))

    # -- forward: x[index] ---------------------------------------------------------------------------------
    def take(self, xp, x):
        y = x[self.basic]
        if self.adv is None:
            return y
        nd = y.ndim
        others = [i for i in range(nd) if i not in self.adv_pos]
        y = xp.permute_dims(y, tuple(self.adv_pos) + tuple(others))
        rest = tuple(y.shape[len(self.adv_pos):])
        y = xp.reshape(y, (math.prod(self.adv_sizes),) + rest)
        y = xp.take(y, self.flat, axis=0)
        y = xp.reshape(y, self.adv_shape + rest)
        if self.consecutive and self.adv_pos[0] > 0:
            k, p = len(self.adv_shape), self.adv_pos[0]
            order = tuple(range(k, k + p)) + tuple(range(k)) + tuple(range(k + p, y.ndim))
            y = xp.permute_dims(y, order)
        return y

    # -- backward: zeros(in_shape) with g added at index ----------------------------------------------------
    def put(self, be, g):
        xp = be.xp
        z = xp.zeros(self.in_shape, dtype=g.dtype)
        basic = self.basic
        if self.adv is not None:
            k, p = len(self.adv_shape), self.adv_pos[0]
            if self.consecutive and p > 0:
                order = tuple(range(p, p + k)) + tuple(range(p)) + tuple(range(p + k, g.ndim))
                g = xp.permute_dims(g, order)
            rest = tuple(g.shape[k:])
            g = xp.reshape(g, (math.prod(self.adv_shape),) + rest)
            acc = xp.zeros((math.prod(self.adv_sizes),) + rest, dtype=g.dtype)
            acc = be.index_add(acc, self.flat, g)
            acc = xp.reshape(acc, tuple(self.adv_sizes) + rest)
            nd = len(self.basic)
            others = [i for i in range(nd) if i not in self.adv_pos]
            perm = list(self.adv_pos) + others
            inv = [0] * nd
            for i, a in enumerate(perm):
                inv[a] = i
            g = xp.permute_dims(acc, tuple(inv))
        # drop the size-1 axes that None items added, then write through the basic index (an int item has
        # no axis in g: only slices and None do)
        if any(e is None for e in basic):
            with_axes = [e for e in basic if not isinstance(e, int)]
            g = xp.reshape(g, tuple(s for e, s in zip(with_axes, g.shape) if e is not None))
            basic = tuple(e for e in basic if e is not None)
        z[basic] = g
        return z


class GetItem(Function):
    """y = x[index]         dL/dx = zeros like x, with dL/dy added at the indexed places (repeats add up)"""

    def forward(self, x, *, index):
        self.spec = spec = index if isinstance(index, _Index) else _Index(index, x.shape, _backend.backend_of(x))
        return spec.take(self.xp, x)

    def backward(self, gy):
        return Scatter.apply(gy, spec=self.spec)

    @staticmethod
    def sample(draw):
        shp, index = _sample_index(draw)
        return [draw.array(shp)], lambda t: getitem(t, index)


class Scatter(Function):
    """y = zeros(shape) with x added at ``index`` (repeated indices add up): the adjoint of indexing
    dL/dx = dL/dy[index]"""

    def forward(self, g, *, spec):
        self.spec = spec
        return spec.put(_backend.backend_of(g), g)

    def backward(self, gy):
        return GetItem.apply(gy, index=self.spec)

    @staticmethod
    def sample(draw):
        shp, index = _sample_index(draw)

        def fn(g):
            spec = _Index(index, shp, _backend.backend_of(g.data))
            return Scatter.apply(g, spec=spec)

        # the gradient's shape is the shape of x[index]: index a zero array of shape shp to find it
        def out_shape():
            be = _backend.NUMPY
            return _Index(index, shp, be).take(be.xp, be.xp.zeros(shp)).shape
        return [draw.array(out_shape())], fn


def _sample_index(draw):
    shp = draw.shape(min_dims=1, max_dims=3, min_side=1, max_side=4)
    kind = draw.choice(["int", "slice", "none-ellipsis", "array", "arrays", "mixed"])
    nd = len(shp)
    if kind == "int":
        index = tuple(draw.integer(-s, s - 1) for s in shp[:draw.integer(1, nd)])
    elif kind == "slice":
        index = tuple(slice(draw.choice([None, 0, 1]), draw.choice([None, -1, s]), draw.choice([None, 1, 2, -1]))
                      for s in shp)
    elif kind == "none-ellipsis":
        index = (None, Ellipsis, draw.integer(0, shp[-1] - 1))
    elif kind == "array":  # repeated entries: their gradients must add up
        index = ([draw.integer(-shp[0], shp[0] - 1) for _ in range(draw.integer(1, 5))],)
    elif kind == "arrays":
        n = draw.integer(1, 4)
        index = tuple([draw.integer(0, s - 1) for _ in range(n)] for s in shp[:2])
    else:  # an array, a slice and an int: NumPy's rules for where the array's axes go
        index = (slice(None), [draw.integer(0, shp[1 % nd] - 1) for _ in range(2)]) if nd >= 2 else (
            [0, 0],)
        if nd == 3:
            index = index + (draw.integer(0, shp[2] - 1),)
    return shp, index


def getitem(x, index):
    return GetItem.apply(x, index=index)


def setitem_(x, index, value):
    """``x[index] = value`` in place, recording nothing (basic indices and boolean masks)."""
    be = _backend.backend_of(x.data)
    xp = be.xp
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(index, Tensor) and index.dtype == "bool":
        mask = index.data
        if tuple(mask.shape) != x.shape[:mask.ndim]:
            raise IndexError(_mask_mismatch(mask.shape, x.shape[:mask.ndim], x.shape))
        mask = xp.reshape(mask, tuple(mask.shape) + (1,) * (x.ndim - mask.ndim))
        x.data = xp.where(mask, xp.asarray(value, dtype=x.data.dtype) if not hasattr(value, "shape")
                          else value, x.data)
        return
    spec = _Index(index, x.shape, be)
    if spec.adv is not None:
        raise IndexError("assignment through integer-array indices is not supported; build the tensor with "
                         "tinygen.where or concat instead")
    basic = tuple(e for e in spec.basic if e is not None)
    x.data[basic] = value
