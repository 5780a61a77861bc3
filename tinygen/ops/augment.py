"""Differentiable augmentation (DiffAugment, Zhao et al. 2020): random translation and cutout of images, as ops
whose gradient flows back to the images, so that a generator is trained through the augmentation.

A discriminator trained on few images learns them by heart (its output on the training images drifts away
from its output on held-out ones) and then tells the generator nothing useful. DiffAugment shows the
discriminator only randomly augmented images, real and generated alike (the same random policy, drawn anew
for every image), and differentiates the generator's loss through the augmentation. Both transforms here are
linear in the image for fixed random parameters, so each op's backward is its adjoint, the same kind of op:

* :class:`Translate`: every image (N, C, H, W) shifted by its own whole-pixel offset (dy_n, dx_n), zeros
  moved in from the border. The adjoint of a shift with zero fill is the shift back with zero fill.
* :class:`Cutout`: every image multiplied by its own 0/1 mask, zero on a square of side ``size`` (clipped at
  the border). Multiplying by a fixed mask is its own adjoint.

:func:`diff_augment` draws the parameters (from the global generator of the images' device) and applies the
policy: translation by up to 1/8 of the side in each direction, then a cutout square of half the side whose
centre is anywhere in the image: the paper's "translation,cutout". Zero is mid-grey for images in [-1, 1].
The arithmetic uses only the array API standard (``take``, ``where``, ``arange``), so it runs on CuPy too.
"""
from __future__ import annotations

from .. import backend as _backend
from ..autograd import Function
from ..tensor import ShapeError, Tensor

__all__ = ["translate", "cutout", "diff_augment", "POLICIES"]

POLICIES = ("translation", "cutout")


def _check_images(x, op):
    if x.ndim != 4:
        raise ShapeError(f"{op}: takes images (N, C, H, W), got shape {tuple(x.shape)}")


def _per_image(x, op, **given):
    """The images' checks, then each given sequence (or array) of one int per image as an int64 array."""
    _check_images(x, op)
    be = _backend.backend_of(x)
    n, out = x.shape[0], []
    for what, a in given.items():
        arr = a if hasattr(a, "shape") and not isinstance(a, (list, tuple)) else be.asarray(list(a), dtype="int64")
        if tuple(arr.shape) != (n,):
            raise ShapeError(f"{op}: {what} must hold one integer per image ({n}), got shape {tuple(arr.shape)}")
        out.append(be.xp.astype(arr, be.xp.int64))
    return out


def _offsets(xp, shape, rows, cols):
    """(i - rows[n], j - cols[n]) for every pixel (i, j) of every image n: int arrays (N, H, 1) and (N, 1, W)."""
    n, _, h, w = shape
    i = xp.reshape(xp.arange(h, dtype=xp.int64), (1, h, 1)) - xp.reshape(rows, (n, 1, 1))
    j = xp.reshape(xp.arange(w, dtype=xp.int64), (1, 1, w)) - xp.reshape(cols, (n, 1, 1))
    return i, j


class Translate(Function):
    """y[n, c, i, j] = x[n, c, i - dy_n, j - dx_n], and 0 where (i - dy_n, j - dx_n) falls outside the image.

    For fixed shifts y = T x is linear with T a 0/1 matrix; dL/dx = T^T dL/dy, and T^T is the shift by
    (-dy_n, -dx_n) with zero fill: dL/dx[n, c, k, l] = dL/dy[n, c, k + dy_n, l + dx_n] (0 outside).
    ``dy``, ``dx``: one integer per image (arrays or sequences)."""

    def forward(self, x, *, dy, dx):
        xp = self.xp
        self.dy, self.dx = _per_image(x, "translate", dy=dy, dx=dx)
        n, c, h, w = x.shape
        si, sj = _offsets(xp, x.shape, self.dy, self.dx)                   # the source row and column
        inside = (si >= 0) & (si < h) & (sj >= 0) & (sj < w)                                   # (N, H, W)
        base = xp.reshape(xp.arange(n, dtype=xp.int64) * (h * w), (n, 1, 1))
        src = xp.where(inside, base + xp.clip(si, 0, h - 1) * w + xp.clip(sj, 0, w - 1), 0)
        flat = xp.reshape(xp.permute_dims(x, (1, 0, 2, 3)), (c, n * h * w))                  # (C, N H W)
        y = xp.take(flat, xp.reshape(src, (n * h * w,)), axis=1)
        y = xp.permute_dims(xp.reshape(y, (c, n, h, w)), (1, 0, 2, 3))
        return xp.where(xp.reshape(inside, (n, 1, h, w)), y, xp.zeros((), dtype=x.dtype))

    def backward(self, gy):
        return Translate.apply(gy, dy=-self.dy, dx=-self.dx)

    @staticmethod
    def sample(draw):
        n, h, w = draw.integer(1, 3), draw.integer(1, 5), draw.integer(1, 5)
        shp = (n, draw.integer(1, 2), h, w)
        dy = [draw.integer(-h, h) for _ in range(n)]           # including shifts that empty an image
        dx = [draw.integer(-w, w) for _ in range(n)]
        return [draw.array(shp)], lambda t: translate(t, dy, dx)


class Cutout(Function):
    """y = x * m with m[n, c, i, j] = 0 for top_n <= i < top_n + size and left_n <= j < left_n + size, else 1
    (the square clipped at the border; ``top``/``left`` may be negative).   dL/dx = dL/dy * m

    The mask is fixed (drawn, not learned), so the op is linear and its own adjoint."""

    def forward(self, x, *, top, left, size):
        xp = self.xp
        self.top, self.left = _per_image(x, "cutout", top=top, left=left)
        n, c, h, w = x.shape
        self.size = size = int(size)
        if size < 0:
            raise ShapeError(f"cutout: size must be >= 0, got {size}")
        i, j = _offsets(xp, x.shape, self.top, self.left)
        hole = (i >= 0) & (i < size) & (j >= 0) & (j < size)                                  # (N, H, W)
        return xp.where(xp.reshape(hole, (n, 1, h, w)), xp.zeros((), dtype=x.dtype), x)

    def backward(self, gy):
        return Cutout.apply(gy, top=self.top, left=self.left, size=self.size)

    @staticmethod
    def sample(draw):
        n, h, w = draw.integer(1, 3), draw.integer(1, 5), draw.integer(1, 5)
        shp = (n, draw.integer(1, 2), h, w)
        size = draw.integer(0, max(h, w))
        top = [draw.integer(-size, h) for _ in range(n)]
        left = [draw.integer(-size, w) for _ in range(n)]
        return [draw.array(shp)], lambda t: cutout(t, top, left, size)


def translate(x, dy, dx):
    """Each image x[n] shifted down by dy[n] and right by dx[n] pixels, zeros moved in (see :class:`Translate`)."""
    return Translate.apply(x, dy=dy, dx=dx)


def cutout(x, top, left, size):
    """Each image x[n] with the size x size square at (top[n], left[n]) set to 0 (see :class:`Cutout`)."""
    return Cutout.apply(x, top=top, left=left, size=size)


def _randint(be, n, lo, hi):
    """n integers uniform on lo..hi (inclusive), from the device's global generator, as an int64 array."""
    xp = be.xp
    u = be.uniform((n,), "float32")
    k = xp.astype(xp.floor(u * (hi - lo + 1)), xp.int64)
    return xp.clip(k, 0, hi - lo) + lo                     # float32 rounding could give hi - lo + 1


def diff_augment(x, policy=POLICIES, translation=0.125, cutout_ratio=0.5):
    """DiffAugment's "translation,cutout" on a batch of images x (N, C, H, W), differentiable in x.

    translation: every image shifted by its own (dy, dx), each uniform on -s..s with s = round(ratio * side)
    (3.5 -> 4 for MNIST's 28 pixels at 1/8); cutout: a square of side round(ratio * side) (14 for MNIST)
    zeroed, its centre uniform over the image (so it may hang over the border). Fresh parameters every call:
    real and generated batches get the same policy with independent draws. ``policy=()`` returns x."""
    if not policy:
        return x
    unknown = [p for p in policy if p not in POLICIES]
    if unknown:
        raise ValueError(f"diff_augment: unknown policy {unknown[0]!r}; use a subset of {', '.join(POLICIES)}")
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ShapeError(f"diff_augment: takes images (N, C, H, W), got shape {tuple(x.shape)}")
    be = _backend.backend_of(x.data)
    with _backend.device_scope(x.data):            # the random draws on the images' device
        n, _, h, w = x.shape
        if "translation" in policy:
            sy, sx = int(h * translation + 0.5), int(w * translation + 0.5)
            x = translate(x, _randint(be, n, -sy, sy), _randint(be, n, -sx, sx))
        if "cutout" in policy:
            size = int(min(h, w) * cutout_ratio + 0.5)
            half = size // 2
            x = cutout(x, _randint(be, n, 0, h - 1) - half, _randint(be, n, 0, w - 1) - half, size)
    return x

