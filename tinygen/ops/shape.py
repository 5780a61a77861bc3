"""Ops that move numbers around without changing them: reshape, permute, broadcast_to, concat, stack, pad.

Their backward moves the gradient back: the inverse reshape or permutation, a sum over the broadcast axes,
slices of the gradient for concat/stack/pad.
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..tensor import ShapeError
from . import indexing as _indexing
from . import reduce as _reduce      # (reduce imports this module too: Sum and BroadcastTo are adjoints)


class Reshape(Function):
    """y = x with a new shape (same elements, row-major order)       dL/dx = reshape(dL/dy, x.shape)"""

    def forward(self, x, *, shape):
        return self.xp.reshape(x, shape)

    def shape_error(self, datas, kwargs, err):
        return f"reshape: cannot reshape {tuple(datas[0].shape)} ({math.prod(datas[0].shape)} elements) " \
               f"into {tuple(kwargs['shape'])}"

    def backward(self, gy):
        return Reshape.apply(gy, shape=self.in_shapes[0])

    @staticmethod
    def sample(draw):
        shp = draw.shape(max_dims=3)
        n = math.prod(shp)
        target = (n,) if draw.boolean() else (1, n, 1)
        if n % 2 == 0 and n > 0 and draw.boolean():
            target = (2, -1)
        return [draw.array(shp)], lambda t: reshape(t, target)


class Permute(Function):
    """y = x with its axes reordered: y.shape[i] = x.shape[axes[i]]     dL/dx = permute(dL/dy, inverse(axes))"""

    def forward(self, x, *, axes):
        nd = x.ndim
        norm = tuple(a % nd for a in axes) if nd else tuple(axes)
        if sorted(norm) != list(range(nd)):
            raise ValueError(f"axes {tuple(axes)} are not a permutation of {nd} axes")
        self.axes = norm
        return self.xp.permute_dims(x, self.axes)

    def backward(self, gy):
        inv = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inv[a] = i
        return Permute.apply(gy, axes=tuple(inv))

    @staticmethod
    def sample(draw):
        shp = draw.shape(min_dims=1, max_dims=4)
        axes = list(range(len(shp)))
        for i in range(len(axes) - 1, 0, -1):  # a drawn Fisher-Yates shuffle
            j = draw.integer(0, i)
            axes[i], axes[j] = axes[j], axes[i]
        return [draw.array(shp)], lambda t: permute(t, tuple(axes))


def unbroadcast(g, shape):
    """Sum gradient ``g`` down to ``shape``: the adjoint of broadcasting ``shape`` to ``g.shape``.

    Broadcasting copies an input along new leading axes and along its size-1 axes; each copy contributed to
    the loss, so the input's gradient is the sum of the copies' gradients. (Every binary op's backward
    reduces its input gradients with it.)
    """
    gshape = g.data.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
    if axes:
        g = _reduce.Sum.apply(g, axis=axes, keepdims=True)
    if g.data.shape != shape:
        g = Reshape.apply(g, shape=tuple(shape))
    return g


class BroadcastTo(Function):
    """y = x broadcast to a larger shape (copies along new/size-1 axes)    dL/dx = sum of dL/dy over the copies"""

    name = "broadcast_to"

    def forward(self, x, *, shape):
        return self.xp.broadcast_to(x, shape)

    def backward(self, gy):
        return unbroadcast(gy, self.in_shapes[0])

    @staticmethod
    def sample(draw):
        small, big = draw.broadcast_pair()
        target = tuple(max(a, b) for a, b in zip((1,) * (max(len(small), len(big)) - len(small)) + small,
                                                 (1,) * (max(len(small), len(big)) - len(big)) + big))
        return [draw.array(small)], lambda t: broadcast_to(t, target)


class Concat(Function):
    """y = [x_1, x_2, ...] joined along ``axis``       dL/dx_k = the slice of dL/dy where x_k went"""

    def forward(self, *xs, axis=0):
        self.axis = axis % xs[0].ndim if xs[0].ndim else 0
        self.sizes = [x.shape[self.axis] for x in xs]
        return self.xp.concat(xs, axis=axis)

    def backward(self, gy):
        grads, start = [], 0
        nd = gy.ndim
        for size, need in zip(self.sizes, self.needs_input_grad):
            if need:
                idx = (slice(None),) * self.axis + (slice(start, start + size),) + (slice(None),) * (
                    nd - self.axis - 1)
                grads.append(_indexing.getitem(gy, idx))
            else:
                grads.append(None)
            start += size
        return tuple(grads)

    @staticmethod
    def sample(draw):
        shp = list(draw.shape(min_dims=1, max_dims=3))
        axis = draw.integer(-len(shp), len(shp) - 1)
        shapes = []
        for _ in range(draw.integer(1, 3)):
            s = list(shp)
            s[axis] = draw.integer(1, 3)
            shapes.append(tuple(s))
        return [draw.array(s) for s in shapes], lambda *ts: concat(ts, axis)


class Stack(Function):
    """y = the x_k stacked along a new ``axis``        dL/dx_k = dL/dy[..., k, ...]"""

    def forward(self, *xs, axis=0):
        self.axis = axis % (xs[0].ndim + 1)
        return self.xp.stack(xs, axis=axis)

    def backward(self, gy):
        nd = gy.ndim
        return tuple(_indexing.getitem(gy, (slice(None),) * self.axis + (k,) + (slice(None),) * (nd - self.axis - 1))
                     if need else None for k, need in enumerate(self.needs_input_grad))

    @staticmethod
    def sample(draw):
        shp = draw.shape(max_dims=3)
        axis = draw.integer(-len(shp) - 1, len(shp))
        return [draw.array(shp) for _ in range(draw.integer(1, 3))], lambda *ts: stack(ts, axis)


class Pad(Function):
    """y = x surrounded by ``value`` (``pad_width``: one (before, after) pair per axis)
    dL/dx = the slice of dL/dy where x sits"""

    def forward(self, x, *, pad_width, value=0.0):
        xp = self.xp
        if len(pad_width) != x.ndim or any(b < 0 or a < 0 for b, a in pad_width):
            raise ValueError(f"pad_width needs one non-negative (before, after) pair per axis, got {pad_width}")
        shape = tuple(s + b + a for s, (b, a) in zip(x.shape, pad_width))
        y = xp.full(shape, value, dtype=x.dtype) if value else xp.zeros(shape, dtype=x.dtype)
        self.where = tuple(slice(b, b + s) for s, (b, _) in zip(x.shape, pad_width))
        y[self.where] = x
        return y

    def backward(self, gy):
        return _indexing.getitem(gy, self.where)

    @staticmethod
    def sample(draw):
        shp = draw.shape(max_dims=3, max_side=3)
        pw = tuple((draw.integer(0, 2), draw.integer(0, 2)) for _ in shp)
        return [draw.array(shp)], lambda t: pad(t, pw)


# ---------------------------------------------------------------------------------------------------------
def reshape(x, shape):
    shape = tuple(int(s) for s in shape)
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape=shape)


def permute(x, axes):
    axes = tuple(int(a) for a in axes)
    if len(axes) != x.ndim:
        raise ShapeError(f"permute: {len(axes)} axes given for a tensor with {x.ndim} dimensions")
    return Permute.apply(x, axes=axes)


def transpose(x, dim0=-2, dim1=-1):
    """Swap two axes (PyTorch's ``transpose``)."""
    axes = list(range(x.ndim))
    try:
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    except IndexError:
        raise ShapeError(f"transpose: axes ({dim0}, {dim1}) out of range for shape {x.shape}") from None
    return Permute.apply(x, axes=tuple(axes))


def broadcast_to(x, shape):
    shape = tuple(int(s) for s in shape)
    if shape == x.shape:
        return x
    return BroadcastTo.apply(x, shape=shape)


def concat(tensors, axis=0):
    """Join tensors along an existing axis."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concat needs at least one tensor")
    return Concat.apply(*tensors, axis=axis)


cat = concat


def stack(tensors, axis=0):
    """Join tensors of the same shape along a new axis."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    return Stack.apply(*tensors, axis=axis)


def pad(x, pad_width, value=0.0):
    """Pad with a constant. ``pad_width``: an int (all sides), or (before, after) pairs for the *last* axes
    (NumPy order: the first pair is the first of those axes); missing leading axes get no padding."""
    if isinstance(pad_width, int):
        pad_width = [(pad_width, pad_width)] * x.ndim
    pad_width = [tuple(int(v) for v in p) for p in pad_width]
    pad_width = [(0, 0)] * (x.ndim - len(pad_width)) + pad_width
    return Pad.apply(x, pad_width=tuple(pad_width), value=value)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge axes start_dim..end_dim into one (PyTorch's ``flatten``)."""
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = start_dim % x.ndim, end_dim % x.ndim
    shape = x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:]
    return reshape(x, shape)


def unflatten(x, dim, sizes):
    """Split axis ``dim`` into ``sizes`` (the inverse of flatten)."""
    d = dim % x.ndim
    return reshape(x, x.shape[:d] + tuple(sizes) + x.shape[d + 1:])


def squeeze(x, axis=None):
    """Remove size-1 axes (all of them, or the given ones)."""
    if axis is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    axes = {a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)}
    for a in axes:
        if x.shape[a] != 1:
            raise ShapeError(f"squeeze: axis {a} has size {x.shape[a]}, not 1")
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if i not in axes))


def unsqueeze(x, axis):
    """Insert a size-1 axis at ``axis``."""
    a = axis % (x.ndim + 1)
    return reshape(x, x.shape[:a] + (1,) + x.shape[a:])
