"""Image pictures: sample grids, reconstructions, interpolation strips, side-by-side comparisons."""
from __future__ import annotations


import numpy as np

from . import _base
from ._base import grid_shape  # noqa: E402
from ._base import (_FAKE_COLOR, _MODE_COLOR, _NONFINITE, _REAL_COLOR, _SEPARATOR, _X_KEYS,  # noqa: F401
                    _is_count, _mosaic, _named, _mosaic_figure, _new_figure, _normalize, _np, _numeric, _outlined,
                    _points, _scale_for, _text_width_px, _to_tiles, _value_range)


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
    return _base._save(fig, path)


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
    return _base._save(fig, path)


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
    return _base._save(fig, path)


# ----------------------------------------------------------------------------------------------------------------
# 4: latent scatter
# ----------------------------------------------------------------------------------------------------------------



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
    return _base._save(fig, path)
