"""Shared helpers of tinygen.plots: input checks, tiling, figures, atomic PNG writes."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..atomic import atomic_write

DPI = 100
_SEPARATOR = (0.33, 0.38, 0.50)        # thin slate-blue lines between tiles: never mistaken for a pixel value
_NONFINITE = (1.0, 0.0, 0.0)           # NaN / inf pixels are painted red, so a diverged model is visible
_REAL_COLOR = "#9ecae1"                # light: the data
_FAKE_COLOR = "#08306b"                # dark: the model's samples
_MODE_COLOR = "#e31a1c"                # the true mode centres
_X_KEYS = ("step", "epoch", "iteration", "iter", "time", "wall_time", "elapsed")


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------
def _np(x):
    """A host NumPy array from a NumPy array, a list, a tinygen Tensor (``.numpy()``) or a CuPy array."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "numpy") and callable(x.numpy):
        if hasattr(x, "detach") and callable(x.detach):
            x = x.detach()
        return np.asarray(x.numpy())
    if type(x).__module__.split(".")[0] == "cupy":
        return np.asarray(x.get())
    if isinstance(x, (list, tuple)) and x and any(hasattr(e, "numpy") or isinstance(e, np.ndarray) for e in x):
        return np.stack([_np(e) for e in x])
    return np.asarray(x)


def _numeric(x, fn, what):
    """``_np(x)`` as float64, refusing non-numeric and empty input."""
    try:
        a = _np(x)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{fn}: {what} is not an array of numbers ({e})") from None
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{fn}: {what} must be numeric, got dtype {a.dtype}")
    if a.size == 0:
        raise ValueError(f"{fn}: {what} is empty (shape {a.shape})")
    return a.astype(np.float64, copy=False)


def _points(x, fn, what):
    """A non-empty (N, 2) float array of 2-D points."""
    a = _numeric(x, fn, what)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"{fn}: {what} must have shape (N, 2), got {a.shape}")
    return a


def _value_range(value_range, fn):
    if value_range is None:
        return None
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: value_range must be a pair (low, high) or None, got {value_range!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise ValueError(f"{fn}: value_range must be two finite numbers with low < high, got {value_range!r}")
    return lo, hi


def _to_tiles(images, fn, what="images"):
    """(N, H, W, C) float64 tiles, C in {1, 3}, from (N, D=s*s), (N, H, W), (N, C, H, W) or (N, H, W, C)."""
    a = _numeric(images, fn, what)
    if a.ndim == 2:
        n, d = a.shape
        s = math.isqrt(d)
        if s * s != d:
            raise ValueError(f"{fn}: {what} of shape {a.shape} are flat but {d} is not a square number of pixels "
                             f"(784 = 28 x 28 is); pass them as (N, H, W) instead")
        return a.reshape(n, s, s, 1)
    if a.ndim == 3:
        return a[..., None]
    if a.ndim == 4:
        if a.shape[1] in (1, 3):
            return a.transpose(0, 2, 3, 1)
        if a.shape[3] in (1, 3):
            return a
        raise ValueError(f"{fn}: {what} of shape {a.shape} have neither 1 nor 3 channels "
                         f"(expected (N, 1, H, W) or (N, 3, H, W))")
    raise ValueError(f"{fn}: {what} must have shape (N, H, W), (N, 1, H, W) or (N, H*W), got {a.shape}")


def _normalize(tiles, value_range):
    """Map ``value_range`` linearly onto [0, 1], clip, and return RGB tiles (N, H, W, 3) with NaN/inf in red."""
    finite = np.isfinite(tiles)
    if value_range is None:                               # auto: the data's own range
        vals = tiles[finite]
        lo, hi = (float(vals.min()), float(vals.max())) if vals.size else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1.0
    else:
        lo, hi = value_range
    with np.errstate(invalid="ignore", over="ignore"):
        t = np.clip((tiles - lo) / (hi - lo), 0.0, 1.0)
    if t.shape[-1] == 1:
        t = np.repeat(t, 3, axis=-1)
    bad = ~finite.all(axis=-1)
    if bad.any():
        t[bad] = _NONFINITE
    return t


def _is_count(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= 1


def grid_shape(n, nrow=None):
    """``(rows, cols)`` of the grid for ``n`` images.

    ``nrow`` follows ``torchvision.utils.make_grid``: it is the number of images in each ROW (so the number of
    columns), capped at ``n``. By default the grid is as square as possible: ``cols = ceil(sqrt(n))``.
    """
    if not _is_count(n):
        raise ValueError(f"grid_shape: n (the number of images) must be a positive integer, got {n!r}")
    n = int(n)
    if nrow is None:
        cols = math.isqrt(n - 1) + 1                       # ceil(sqrt(n)) in exact integer arithmetic
    else:
        if not _is_count(nrow):
            raise ValueError(f"grid_shape: nrow (images per row) must be a positive integer, got {nrow!r}")
        cols = min(int(nrow), n)
    return -(-n // cols), cols


def _mosaic(tiles, rows, cols, pad=1, gaps=()):
    """Lay RGB tiles (N, H, W, 3) row-major on a (rows x cols) grid with ``pad``-pixel separators.

    ``gaps``: row indices after which a wider (3 * pad) separator goes (used to group reconstruction pairs).
    Returns the mosaic (Hm, Wm, 3) and the top-left pixel (y, x) of every tile.
    """
    n, h, w, _ = tiles.shape
    row_y, y = [], pad
    for r in range(rows):
        row_y.append(y)
        y += h + (3 * pad if r in gaps else pad)
    col_x = [pad + c * (w + pad) for c in range(cols)]
    mosaic = np.empty((y, cols * (w + pad) + pad, 3))
    mosaic[...] = _SEPARATOR
    corners = []
    for i in range(n):
        r, c = divmod(i, cols)
        mosaic[row_y[r]:row_y[r] + h, col_x[c]:col_x[c] + w] = tiles[i]
        corners.append((row_y[r], col_x[c]))
    return mosaic, corners


def _scale_for(mosaic, tile_h):
    """An integer upscaling: tiles of about 84 px (3x MNIST), the whole picture at most about 1000 px."""
    mh, mw = mosaic.shape[:2]
    want = max(2, -(-84 // tile_h))
    return max(1, min(want, 1000 // mw, 1000 // mh))


def _new_figure(width_px, height_px, **kw):
    fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, **kw)
    FigureCanvasAgg(fig)
    return fig


def _text_width_px(text, fontsize):
    return int(len(str(text)) * fontsize * 0.62 * DPI / 72) + 16


def _mosaic_figure(mosaic, scale, *, title=None, left_px=0, top_px=0):
    """A figure whose axes shows ``mosaic`` pixel-exactly (each mosaic pixel = scale x scale screen pixels).

    Returns (fig, ax, geometry) where geometry = (W, H, x0, iw, ih) in screen pixels.
    """
    mh, mw = mosaic.shape[:2]
    iw, ih = mw * scale, mh * scale
    title_px = 30 if title else 0
    top = top_px + title_px
    width = max(left_px + iw, _text_width_px(title, 11) if title else 0, 64)
    height = top + ih
    fig = _new_figure(width, height, facecolor="white")
    x0 = left_px + (width - left_px - iw) // 2
    ax = fig.add_axes((x0 / width, 0.0, iw / width, ih / height))
    ax.imshow(mosaic, interpolation="nearest", aspect="auto")
    ax.set_axis_off()
    if title:
        fig.text(0.5, 1.0 - (title_px / 2) / height, str(title), ha="center", va="center", fontsize=11)
    return fig, ax, (width, height, x0, iw, ih)


def _outlined(fontsize):
    return dict(fontsize=fontsize, color="#ffd84d", fontweight="bold",
                path_effects=[patheffects.withStroke(linewidth=2, foreground="black")])


def _save(fig, path):
    """Write ``fig`` as PNG to ``path`` atomically (:func:`tinygen.atomic.atomic_write`), free it, return the
    Path."""
    path = Path(os.fspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=DPI, facecolor=fig.get_facecolor()))
    finally:
        fig.clear()
    return path


# ----------------------------------------------------------------------------------------------------------------
# 1-3: image grids
# ----------------------------------------------------------------------------------------------------------------

def _named(named, fn):
    try:
        items = list(named.items()) if hasattr(named, "items") else [tuple(p) for p in named]
    except TypeError:
        raise ValueError(f"{fn}: expected a dict {{name: samples}}, got {type(named).__name__}") from None
    if not items:
        raise ValueError(f"{fn}: no sets given (an empty dict)")
    if any(len(p) != 2 for p in items):
        raise ValueError(f"{fn}: expected a dict {{name: samples}} or a list of (name, samples) pairs")
    return items
