"""Point pictures: 2-D latent scatters and 2-D toy data (real vs generated, densities)."""
from __future__ import annotations


import numpy as np
from matplotlib.colors import PowerNorm
from matplotlib.lines import Line2D

from . import _base
from ._base import (_FAKE_COLOR, _MODE_COLOR, _NONFINITE, _REAL_COLOR, _SEPARATOR, _X_KEYS,  # noqa: F401
                    _is_count, _mosaic, _named, _mosaic_figure, _new_figure, _normalize, _np, _numeric, _outlined,
                    _points, _scale_for, _text_width_px, _to_tiles, _value_range)


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


def _finite_codes(z, labels, fn):
    """(the codes without NaN/inf, their labels or None, how many were left out, D), with one sentence for
    codes or labels of the wrong shape."""
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
    return z[keep], None if lab is None else lab[keep], dropped, d


def save_latent_scatter(z, labels, path, title=None):
    """Latent codes as points coloured by their label (the digit 0-9), with a legend.

    z: (N, D) with D >= 2. For D > 2 the codes are projected onto their first two principal components (PCA by
    NumPy SVD) and the title says so, with the share of variance the two components explain.
    labels: N integer classes (a legend, tab10 colours), N real numbers (a colour bar), or None (one colour).
    Points with NaN/inf coordinates are left out and counted in the title.
    """
    z, lab, dropped, d = _finite_codes(z, labels, "save_latent_scatter")
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
    return _base._save(fig, path)


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
    return _base._save(fig, path)


def save_toy_grid(named_sets, real, path, modes=None, title=None, notes=None):
    """Several 2-D sample sets side by side over the same real data and modes: e.g. GAN | WGAN | WGAN-GP.

    named_sets: {name: (M, 2) samples} (ordered as given); real: (N, 2); modes: (K, 2) or None.
    notes: {name: text} written under that panel (wrapped), e.g. why a model falls short.
    All panels share one square view so that spreads can be compared by eye.
    """
    fn = "save_toy_grid"
    sets = _named(named_sets, fn)
    real = _points(real, fn, "real")
    modes = None if modes is None else _points(modes, fn, "modes")
    pts = {name: _points(v, fn, f"the samples of {name!r}") for name, v in sets}
    xlim, ylim = _toy_view(real, list(pts.values()), modes)
    k = len(pts)
    import textwrap
    wrapped = {name: textwrap.fill(str(t), 50) for name, t in (notes or {}).items() if t}
    lines = max((t.count("\n") + 1 for t in wrapped.values()), default=0)
    title_lines = str(title).count("\n") + 1 if title else 0
    note_px = 14 * lines + 8 if lines else 0
    fig = _new_figure(40 + 340 * k, 410 + 18 * (title_lines - 1) + note_px, layout="constrained")
    if lines:                              # a row under the panels for the notes (the layout then makes room)
        grid = fig.subplots(2, k, squeeze=False, height_ratios=[330, note_px])
        axes, note_axes = grid[0], grid[1]
        for ax in note_axes:
            ax.set_axis_off()
        axes[0].sharex(axes[0])
        for ax in axes[1:]:
            ax.sharex(axes[0])
            ax.sharey(axes[0])
    else:
        axes, note_axes = fig.subplots(1, k, squeeze=False, sharex=True, sharey=True)[0], None
    for i, (ax, (name, p)) in enumerate(zip(axes, pts.items())):
        _toy_panel(ax, real, p, modes, xlim, ylim)
        ax.set_title(str(name), fontsize=11)
        if name in wrapped:
            note_axes[i].text(0.0, 0.9, wrapped[name], fontsize=8.5, color="#a50f15", ha="left", va="top",
                              transform=note_axes[i].transAxes)
    fig.legend(handles=_toy_legend_handles(modes), loc="outside lower center", ncol=3, fontsize=9, frameon=False)
    if title:
        fig.suptitle(str(title), fontsize=12)
    return _base._save(fig, path)


# ----------------------------------------------------------------------------------------------------------------
# 6: training curves
# ----------------------------------------------------------------------------------------------------------------
