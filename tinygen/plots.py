"""Pictures of a run: sample grids, reconstructions, interpolations, latent scatters, 2-D toy densities, curves.

Every function takes host arrays (NumPy arrays, nested lists, or anything with a ``.numpy()`` method such as a
tinygen ``Tensor``, on any device), writes ONE PNG to ``path`` (creating the parent folders; written to a
temporary file and renamed, so a viewer never sees half a picture) and returns ``path`` as a ``pathlib.Path``.

Only matplotlib's object API is used (``Figure`` + the Agg canvas): importing this module never touches pyplot,
never changes the interactive backend and never registers a figure with pyplot's global state, so it is safe in
a notebook, in a headless training job and from several threads.

    from tinygen import plots
    plots.save_image_grid(samples, "runs/gan/samples_001000.png", value_range=(-1, 1))
    plots.save_curves("runs/gan/metrics.jsonl", "runs/gan/curves.png", smooth=20)

Bad input (wrong number of dimensions, an empty array, lengths that do not match) raises ``ValueError`` with
one sentence that names the function and the problem.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

__all__ = ["grid_shape", "save_image_grid", "save_reconstructions", "save_interpolations", "save_latent_scatter",
           "save_toy_samples", "save_curves", "save_comparison_grid", "save_toy_grid"]

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
    """Write ``fig`` as PNG to ``path`` atomically (temporary file + rename), free it, return the Path."""
    path = Path(os.fspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format="png", dpi=DPI, facecolor=fig.get_facecolor())
        os.replace(tmp, path)
    finally:
        fig.clear()
        if tmp.exists():
            tmp.unlink()
    return path


# ----------------------------------------------------------------------------------------------------------------
# 1-3: image grids
# ----------------------------------------------------------------------------------------------------------------
def save_image_grid(images, path, nrow=None, value_range=(0, 1), title=None, labels=None):
    """A grid of images (white digits on black, like MNIST), separated by thin slate-blue lines.

    images: (N, 1, H, W), (N, H, W), (N, 3, H, W) or flat (N, H*W) with H = W (784 -> 28 x 28).
    nrow: images per row, as in ``torchvision.utils.make_grid`` (default: a near-square grid; see ``grid_shape``).
    value_range: the (low, high) pixel values shown as black and white, mapped linearly and clipped; (0, 1) for
        sigmoid outputs, (-1, 1) for tanh (GAN) outputs, None for the data's own min..max. NaN/inf pixels are red.
    title: a line above the grid. labels: N short texts (or None entries) drawn in each tile's corner, e.g. the
        class a conditional model was asked for.
    """
    fn = "save_image_grid"
    tiles = _to_tiles(images, fn)
    n = tiles.shape[0]
    vr = _value_range(value_range, fn)
    if labels is not None:
        labels = list(_np(labels).tolist() if hasattr(labels, "numpy") or isinstance(labels, np.ndarray)
                      else labels)
        if len(labels) != n:
            raise ValueError(f"{fn}: got {len(labels)} labels for {n} images")
    try:
        rows, cols = grid_shape(n, nrow)
    except ValueError as e:
        raise ValueError(f"{fn}: {str(e).split(': ', 1)[1]}") from None
    mosaic, corners = _mosaic(_normalize(tiles, vr), rows, cols)
    h = tiles.shape[1]
    scale = _scale_for(mosaic, h)
    fig, ax, _ = _mosaic_figure(mosaic, scale, title=title)
    if labels is not None:
        fontsize = 8 if h * scale >= 48 else 6
        for (y, x), lab in zip(corners, labels):
            if lab is None or lab == "":
                continue
            ax.text(x + 0.5, y + 0.5, str(lab), ha="left", va="top", **_outlined(fontsize))
    return _save(fig, path)


def save_reconstructions(originals, reconstructions, path, n=16, value_range=(0, 1), title=None):
    """Originals and their reconstructions in alternating rows ("original" above "reconstr."), labelled.

    originals, reconstructions: the same number of images, any shape ``save_image_grid`` takes (a VAE's flat
    784-vectors and a conv decoder's (N, 1, 28, 28) may be mixed). The first ``n`` pairs are shown, in rows of
    at most 10 pairs, each pair of rows set apart by a wider line.
    """
    fn = "save_reconstructions"
    a = _to_tiles(originals, fn, "originals")
    b = _to_tiles(reconstructions, fn, "reconstructions")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{fn}: {a.shape[0]} originals but {b.shape[0]} reconstructions")
    if a.shape[1:3] != b.shape[1:3]:
        raise ValueError(f"{fn}: originals are {a.shape[1]}x{a.shape[2]} but reconstructions are "
                         f"{b.shape[1]}x{b.shape[2]}")
    if not _is_count(n):
        raise ValueError(f"{fn}: n must be a positive integer, got {n!r}")
    vr = _value_range(value_range, fn)
    m = min(int(n), a.shape[0])
    blocks = -(-m // 10)
    cols = -(-m // blocks)
    a, b = _normalize(a[:m], vr), _normalize(b[:m], vr)          # both RGB now, even if one was grayscale
    h, w = a.shape[1:3]
    empty = np.empty((1, h, w, 3))
    empty[...] = _SEPARATOR
    tiles = []
    for k in range(blocks):
        for src in (a, b):
            row = list(src[k * cols:(k + 1) * cols])
            row += [empty[0]] * (cols - len(row))
            tiles += row
    tiles = np.stack(tiles)
    mosaic, corners = _mosaic(tiles, 2 * blocks, cols, gaps=set(range(1, 2 * blocks - 1, 2)))
    scale = _scale_for(mosaic, h)
    left_px = 84
    fig, ax, (width, height, x0, iw, ih) = _mosaic_figure(mosaic, scale, title=title, left_px=left_px)
    for r in range(2 * blocks):
        y, _ = corners[r * cols]
        ax.text(-6.0 / scale, y + h / 2, "original" if r % 2 == 0 else "reconstr.", ha="right", va="center",
                fontsize=9, color="black", clip_on=False)
    return _save(fig, path)


def save_interpolations(rows, path, value_range=(0, 1), title=None):
    """Latent interpolations: one strip per row, from the start image (left) to the end image (right).

    rows: (R, S, ...) with S steps per row and each step an image ``save_image_grid`` takes ((H, W), (1, H, W)
    or flat (H*W,)); a list of R arrays (or Tensors) of shape (S, ...) works too.
    """
    fn = "save_interpolations"
    a = _numeric(rows, fn, "rows")
    if a.ndim < 3:
        raise ValueError(f"{fn}: rows must have shape (R, S, H, W), (R, S, 1, H, W) or (R, S, H*W), got {a.shape}")
    r, s = a.shape[:2]
    tiles = _to_tiles(a.reshape((r * s,) + a.shape[2:]), fn, "the images in rows")
    vr = _value_range(value_range, fn)
    mosaic, corners = _mosaic(_normalize(tiles, vr), r, s)
    h = tiles.shape[1]
    scale = _scale_for(mosaic, h)
    fig, ax, (width, height, x0, iw, ih) = _mosaic_figure(mosaic, scale, title=title, top_px=18)
    if s >= 2:                                             # "start ---> end" just above the strips
        y = (ih + 9) / height
        w = tiles.shape[2]
        x_first = (x0 + (corners[0][1] + w / 2) * scale) / width
        x_last = (x0 + (corners[s - 1][1] + w / 2) * scale) / width
        fig.text(x_first, y, "start", ha="center", va="center", fontsize=9)
        fig.text(x_last, y, "end", ha="center", va="center", fontsize=9)
        if s >= 3:
            ax.annotate("", xy=(x_last - 24 / width, y), xytext=(x_first + 24 / width, y),
                        xycoords="figure fraction", textcoords="figure fraction", annotation_clip=False,
                        arrowprops=dict(arrowstyle="->", color="0.35", linewidth=1))
    return _save(fig, path)


# ----------------------------------------------------------------------------------------------------------------
# 4: latent scatter
# ----------------------------------------------------------------------------------------------------------------
def _pca2(z):
    """Project (N, D) onto its first two principal components (SVD of the centred data).

    Returns (N, 2) coordinates and the fraction of variance each of the two components explains.
    """
    zc = z - z.mean(axis=0)
    _, s, vt = np.linalg.svd(zc, full_matrices=False)
    var = s ** 2
    frac = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    proj = zc @ vt[:2].T
    if proj.shape[1] < 2:                                  # N == 1: a single point
        proj = np.pad(proj, ((0, 0), (0, 2 - proj.shape[1])))
        frac = np.pad(frac, (0, 2 - frac.shape[0]))
    return proj, frac


def save_latent_scatter(z, labels, path, title=None):
    """Latent codes as points coloured by their label (the digit 0-9), with a legend.

    z: (N, D) with D >= 2. For D > 2 the codes are projected onto their first two principal components (PCA by
    NumPy SVD) and the title says so, with the share of variance the two components explain.
    labels: N integer classes (a legend, tab10 colours), N real numbers (a colour bar), or None (one colour).
    Points with NaN/inf coordinates are left out and counted in the title.
    """
    fn = "save_latent_scatter"
    z = _numeric(z, fn, "z")
    if z.ndim != 2:
        raise ValueError(f"{fn}: z must have shape (N, D) with D >= 2, got {z.shape}")
    n, d = z.shape
    if d < 2:
        raise ValueError(f"{fn}: z has {d} latent dimension; a scatter needs at least 2")
    lab = None
    if labels is not None:
        lab = _numeric(labels, fn, "labels")
        if lab.ndim != 1 or lab.shape[0] != n:
            raise ValueError(f"{fn}: labels must be one number per code ({n}), got shape {lab.shape}")
    keep = np.isfinite(z).all(axis=1)
    dropped = int(n - keep.sum())
    if dropped == n:
        raise ValueError(f"{fn}: every one of the {n} codes in z contains NaN or inf")
    z = z[keep]
    if lab is not None:
        lab = lab[keep]
    if d > 2:
        xy, frac = _pca2(z)
        axis_names = (f"PC1 ({100 * frac[0]:.0f}% of variance)", f"PC2 ({100 * frac[1]:.0f}%)")
        note = f"PCA of {d}-d z onto 2 components ({100 * frac.sum():.0f}% of variance)"
    else:
        xy, axis_names, note = z, ("$z_1$", "$z_2$"), None
    lines = [str(title)] if title else []
    if note:
        lines.append(note)
    if dropped:
        lines.append(f"{dropped} code{'s' if dropped > 1 else ''} with NaN/inf not shown")

    fig = _new_figure(620, 520, layout="constrained")
    ax = fig.add_subplot()
    order = np.random.default_rng(0).permutation(xy.shape[0])     # no class painted over all the others
    size = float(np.clip(3000.0 / xy.shape[0], 2.0, 30.0))
    discrete = lab is not None and np.all(lab == np.round(lab)) and np.unique(lab).size <= 20
    if lab is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, color=_FAKE_COLOR, alpha=0.6, linewidths=0)
    elif discrete:
        from matplotlib import colormaps
        cmap = colormaps["tab10" if np.unique(lab).size <= 10 else "tab20"]
        classes = np.unique(lab).astype(int)
        index = {c: i for i, c in enumerate(classes)}
        colors = cmap([index[int(v)] % cmap.N for v in lab[order]])
        ax.scatter(xy[order, 0], xy[order, 1], s=size, c=colors, alpha=0.7, linewidths=0)
        handles = [Line2D([], [], marker="o", linestyle="", markersize=7, color=cmap(index[c] % cmap.N),
                          label=str(c)) for c in classes]
        ax.legend(handles=handles, title="label", loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    else:
        sc = ax.scatter(xy[order, 0], xy[order, 1], s=size, c=lab[order], cmap="viridis", alpha=0.7,
                        linewidths=0)
        fig.colorbar(sc, ax=ax, label="label")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, alpha=0.25)
    if lines:
        ax.set_title("\n".join(lines), fontsize=10)
    return _save(fig, path)


# ----------------------------------------------------------------------------------------------------------------
# 5, 8: 2-D toy data
# ----------------------------------------------------------------------------------------------------------------
def _toy_view(real, fakes, modes):
    """A square view box around the real data, the modes and all but the most extreme 0.5% of the samples on
    each side, reaching at most 2x the real data's extent beyond it (so a few diverged samples cannot shrink the
    picture to a dot; they are counted in the panel instead)."""
    ref = real if modes is None else np.concatenate([real, modes])
    lo, hi = ref.min(axis=0), ref.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    cap_lo, cap_hi = lo - 2 * span, hi + 2 * span
    for f in fakes:
        f = f[np.isfinite(f).all(axis=1)]
        if f.shape[0]:
            lo = np.minimum(lo, np.maximum(np.percentile(f, 0.5, axis=0), cap_lo))
            hi = np.maximum(hi, np.minimum(np.percentile(f, 99.5, axis=0), cap_hi))
    center, half = (lo + hi) / 2, float(np.max(hi - lo)) / 2 * 1.1 + 1e-6
    return (center[0] - half, center[0] + half), (center[1] - half, center[1] + half)


def _outside(points, xlim, ylim):
    x, y = points[:, 0], points[:, 1]
    with np.errstate(invalid="ignore"):
        inside = (x >= xlim[0]) & (x <= xlim[1]) & (y >= ylim[0]) & (y <= ylim[1])
    return int((~inside).sum())


def _toy_legend_handles(modes):
    handles = [Line2D([], [], marker="o", linestyle="", markersize=6, color=_REAL_COLOR, label="real"),
               Line2D([], [], marker="o", linestyle="", markersize=6, color=_FAKE_COLOR, label="generated")]
    if modes is not None:
        handles.append(Line2D([], [], marker="x", linestyle="", markersize=7, markeredgewidth=2,
                              color=_MODE_COLOR, label="true modes"))
    return handles


def _toy_panel(ax, real, fake, modes, xlim, ylim):
    size = float(np.clip(2000.0 / max(real.shape[0], fake.shape[0]), 1.5, 12.0))
    ax.scatter(real[:, 0], real[:, 1], s=3 * size, color=_REAL_COLOR, alpha=0.8, linewidths=0)
    ax.scatter(fake[:, 0], fake[:, 1], s=size, color=_FAKE_COLOR, alpha=0.6, linewidths=0)
    if modes is not None:
        ax.scatter(modes[:, 0], modes[:, 1], marker="x", s=45, linewidths=1.8, color=_MODE_COLOR, zorder=3)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.2)
    out = _outside(fake, xlim, ylim)
    if out:
        ax.text(0.02, 0.02, f"{out} of {fake.shape[0]} generated points outside the view",
                transform=ax.transAxes, fontsize=8, color="#a50f15")


def save_toy_samples(real, fake, path, modes=None, title=None, density=True):
    """2-D toy data: real points (light), generated points (dark) and the true mode centres (red x), equal aspect.

    real, fake: (N, 2) and (M, 2) points; modes: (K, 2) centres or None. With ``density`` (the default) a second
    panel shows a 2-D histogram of the generated points over the same square view: "real | generated (density)",
    where mode collapse shows as mass on few of the marked centres. Generated points outside the view (a diverging
    generator) are counted in the corner.
    """
    fn = "save_toy_samples"
    real = _points(real, fn, "real")
    fake = _points(fake, fn, "fake")
    modes = None if modes is None else _points(modes, fn, "modes")
    xlim, ylim = _toy_view(real, [fake], modes)
    fig = _new_figure(1000 if density else 520, 540, layout="constrained")
    axes = fig.subplots(1, 2 if density else 1, squeeze=False)[0]
    _toy_panel(axes[0], real, fake, modes, xlim, ylim)
    axes[0].set_title("real (light) vs generated (dark)", fontsize=10)
    axes[0].legend(handles=_toy_legend_handles(modes), loc="upper center", bbox_to_anchor=(0.5, -0.07),
                   ncol=3, fontsize=9, frameon=False)
    if density:
        ax = axes[1]
        ok = np.isfinite(fake).all(axis=1)
        counts, xe, ye = np.histogram2d(fake[ok, 0], fake[ok, 1], bins=80, range=(xlim, ylim))
        im = ax.imshow(counts.T, origin="lower", extent=(xe[0], xe[-1], ye[0], ye[-1]), cmap="magma",
                       norm=PowerNorm(0.5, vmin=0, vmax=max(1.0, counts.max())), interpolation="nearest",
                       aspect="equal")
        if modes is not None:
            ax.scatter(modes[:, 0], modes[:, 1], marker="x", s=60, linewidths=1.5, color="#4dd8ff", zorder=3)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_title("generated (density, sqrt colour scale)", fontsize=10)
        fig.colorbar(im, ax=ax, shrink=0.8, label="samples per bin")
    if title:
        fig.suptitle(str(title), fontsize=11)
    return _save(fig, path)


def save_toy_grid(named_sets, real, path, modes=None, title=None):
    """Several 2-D sample sets side by side over the same real data and modes: e.g. GAN | WGAN | WGAN-GP.

    named_sets: {name: (M, 2) samples} (ordered as given); real: (N, 2); modes: (K, 2) or None.
    All panels share one square view so that spreads can be compared by eye.
    """
    fn = "save_toy_grid"
    sets = _named(named_sets, fn)
    real = _points(real, fn, "real")
    modes = None if modes is None else _points(modes, fn, "modes")
    pts = {name: _points(v, fn, f"the samples of {name!r}") for name, v in sets}
    xlim, ylim = _toy_view(real, list(pts.values()), modes)
    k = len(pts)
    fig = _new_figure(40 + 340 * k, 440 if title else 410, layout="constrained")
    axes = fig.subplots(1, k, squeeze=False, sharex=True, sharey=True)[0]
    for ax, (name, p) in zip(axes, pts.items()):
        _toy_panel(ax, real, p, modes, xlim, ylim)
        ax.set_title(str(name), fontsize=11)
    fig.legend(handles=_toy_legend_handles(modes), loc="outside lower center", ncol=3, fontsize=9, frameon=False)
    if title:
        fig.suptitle(str(title), fontsize=12)
    return _save(fig, path)


# ----------------------------------------------------------------------------------------------------------------
# 6: training curves
# ----------------------------------------------------------------------------------------------------------------
def _read_jsonl(path, fn):
    path = Path(os.fspath(path))
    if not path.is_file():
        raise ValueError(f"{fn}: no metrics file at {path}")
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if i == last:                                  # a line cut short by a killed process: ignore it
                continue
            raise ValueError(f"{fn}: line {i + 1} of {path} is not valid JSON") from None
        if not isinstance(rec, dict):
            raise ValueError(f"{fn}: line {i + 1} of {path} is not a JSON object")
        records.append(rec)
    return records


def _is_number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _group_name(key):
    for sep in ("/", "_"):
        if sep in key:
            return key.split(sep, 1)[0]
    return key


def _moving_average(y, k):
    """Trailing moving average over ``k`` points (fewer at the start)."""
    c = np.cumsum(np.insert(y, 0, 0.0))
    i = np.arange(1, y.size + 1)
    lo = np.maximum(i - k, 0)
    return (c[i] - c[lo]) / (i - lo)


def save_curves(records, path, keys=None, title=None, smooth=0):
    """Training curves: each numeric metric against the step, one panel per group of related keys.

    records: a list of dicts, one per logged step (e.g. ``{"step": 10, "loss_d": 0.5, "loss_g": 1.2}``), or the
        path of a ``metrics.jsonl`` file with one such object per line (a cut-off last line is ignored).
        The x axis is "step" when present (then "epoch", else the record's index); records are sorted by it,
        and a key missing from some records is drawn where present.
    keys: which metrics; a string is one panel, a list/tuple of strings inside ``keys`` is a panel with several
        lines. Default: every numeric key that changes (a constant learning rate is left out) except the x-like
        ones (step, epoch, time, ...), grouped by the prefix before the first "_" or "/" (so loss_d and loss_g
        share a panel); at most 9 panels.
    smooth: 0 for raw curves, or a window of k > 1 points: a trailing moving average drawn over the raw curve
        (shown faint). Series with fewer than 3k points (evaluation metrics logged now and then) stay raw.
        Each legend entry ends with the last (raw) value; NaN/inf values are counted in the panel.
    """
    fn = "save_curves"
    if isinstance(records, (str, os.PathLike)):
        records = _read_jsonl(records, fn)
    else:
        records = list(records)
    if not records:
        raise ValueError(f"{fn}: no records to plot")
    if not all(isinstance(r, dict) for r in records):
        raise ValueError(f"{fn}: records must be dicts (one per logged step)")
    if isinstance(smooth, bool) or not isinstance(smooth, (int, np.integer)) or smooth < 0:
        raise ValueError(f"{fn}: smooth must be 0 or a window of k >= 1 points, got {smooth!r}")
    xkey = next((k for k in ("step", "epoch") if any(_is_number(r.get(k)) for r in records)), None)
    xs = np.array([float(r[xkey]) if _is_number(r.get(xkey)) else np.nan for r in records]) if xkey \
        else np.arange(len(records), dtype=float)
    order = np.argsort(xs, kind="stable")
    records = [records[i] for i in order]
    xs = xs[order]

    numeric = []
    for r in records:
        for k, v in r.items():
            if _is_number(v) and k not in numeric:
                numeric.append(k)
    if keys is None:
        def varies(k):
            vals = {float(r[k]) for r in records if _is_number(r.get(k))}
            return len(vals) > 1 or len(records) == 1
        candidates = [k for k in numeric if k not in _X_KEYS and varies(k)]   # a constant lr says nothing
        if not candidates:
            raise ValueError(f"{fn}: the records have no numeric metric that changes, besides "
                             f"{xkey or 'the index'} (numeric keys: {', '.join(numeric) or 'none'})")
        groups = {}
        for k in candidates:
            groups.setdefault(_group_name(k), []).append(k)
        panels = list(groups.items())
    else:
        if isinstance(keys, str):
            keys = [keys]
        panels = []
        for item in keys:
            group = [item] if isinstance(item, str) else list(item)
            if not group:
                raise ValueError(f"{fn}: an empty group in keys")
            missing = [k for k in group if k not in numeric]
            if missing:
                raise ValueError(f"{fn}: no numeric values for {', '.join(map(repr, missing))} in the records "
                                 f"(numeric keys: {', '.join(numeric) or 'none'})")
            panels.append((group[0] if len(group) == 1 else _group_name(group[0]), group))
    shown = panels[:9]
    n = len(shown)
    cols = 1 if n == 1 else 2 if n <= 4 else 3
    rows = -(-n // cols)
    fig = _new_figure(40 + 430 * cols, 50 + 290 * rows, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    from matplotlib import colormaps
    palette = colormaps["tab10"]
    for idx, (name, group) in enumerate(shown):
        ax = axes[idx // cols][idx % cols]
        notes = []
        for j, k in enumerate(group):
            present = np.array([_is_number(r.get(k)) for r in records])
            ys = np.array([float(r[k]) if p else np.nan for r, p in zip(records, present)])
            ok = present & ~np.isnan(xs)                   # a logged NaN stays (a gap, and counted below)
            x, y = xs[ok], ys[ok]
            if y.size == 0:
                continue
            color = palette(j % 10)
            label = f"{k}  (last {y[-1]:.4g})"
            finite = np.isfinite(y)
            if smooth > 1 and finite.sum() >= 3 * smooth:          # sparse series (eval metrics) stay raw
                ax.plot(x, y, color=color, alpha=0.25, linewidth=1)
                ax.plot(x[finite], _moving_average(y[finite], int(smooth)), color=color, linewidth=1.8, label=label)
            else:
                ax.plot(x, y, color=color, linewidth=1.4, label=label, marker="o" if y.size <= 30 else None,
                        markersize=3 if y.size > 1 else 5)
            if not finite.all():
                n_bad = int((~finite).sum())
                notes.append(f"{k}: {n_bad} NaN/inf value{'s' if n_bad > 1 else ''} (gaps)")
        if notes:                                          # above the plot, right of the title: never on data
            ax.text(1.0, 1.01, "; ".join(notes), transform=ax.transAxes, fontsize=8, color="#a50f15",
                    ha="right", va="bottom")
        ax.set_title(name, fontsize=10)
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.set_xlabel(xkey or "record")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    for idx in range(n, rows * cols):
        axes[idx // cols][idx % cols].set_visible(False)
    head = [str(title)] if title else []
    if smooth > 1:
        head.append(f"(moving average over {int(smooth)} points; raw values faint)")
    if len(panels) > n:
        head.append(f"(showing {n} of {len(panels)} panels; pass keys= to choose)")
    if head:
        fig.suptitle("\n".join(head), fontsize=11)
    return _save(fig, path)


# ----------------------------------------------------------------------------------------------------------------
# 7: several sample grids side by side
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


def save_comparison_grid(named_image_sets, path, value_range_per_set=None, nrow=None, title=None):
    """Several sample grids side by side, each titled: e.g. ``{"VAE": x, "GAN": y, "WGAN-GP": z}``.

    named_image_sets: {name: images} (ordered as given), each in any shape ``save_image_grid`` takes.
    value_range_per_set: None (every set in (0, 1)), one (low, high) pair for all sets, or {name: (low, high)}
        (sets not named default to (0, 1); None means the set's own min..max); e.g. ``{"GAN": (-1, 1)}`` for
        a tanh generator.
    nrow: images per row in every grid (default near-square).
    """
    fn = "save_comparison_grid"
    sets = _named(named_image_sets, fn)
    names = [str(k) for k, _ in sets]
    if value_range_per_set is None:
        ranges = {k: (0.0, 1.0) for k in names}
    elif hasattr(value_range_per_set, "items"):
        unknown = [str(k) for k in value_range_per_set if str(k) not in names]
        if unknown:
            raise ValueError(f"{fn}: value_range_per_set names {', '.join(unknown)}, which are not among the sets "
                             f"({', '.join(names)})")
        ranges = {k: (0.0, 1.0) for k in names}
        ranges.update({str(k): _value_range(v, fn) for k, v in value_range_per_set.items()})
    else:
        vr = _value_range(value_range_per_set, fn)
        ranges = {k: vr for k in names}
    mosaics = []
    for name, imgs in sets:
        tiles = _to_tiles(imgs, fn, f"the images of {str(name)!r}")
        try:
            rows, cols = grid_shape(tiles.shape[0], nrow)
        except ValueError as e:
            raise ValueError(f"{fn}: {str(e).split(': ', 1)[1]}") from None
        mosaics.append(_mosaic(_normalize(tiles, ranges[str(name)]), rows, cols)[0])
    k = len(mosaics)
    aspect = max(m.shape[0] / m.shape[1] for m in mosaics)
    panel_w = 330
    fig = _new_figure(20 + panel_w * k, int(panel_w * aspect) + (75 if title else 50), layout="constrained",
                      facecolor="white")
    axes = fig.subplots(1, k, squeeze=False)[0]
    for ax, name, m in zip(axes, names, mosaics):
        ax.imshow(m, interpolation="nearest")
        ax.set_title(name, fontsize=12)
        ax.set_axis_off()
    if title:
        fig.suptitle(str(title), fontsize=12)
    return _save(fig, path)
