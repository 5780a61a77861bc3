"""Training curves from metrics records or a metrics.jsonl file."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from . import _base
from ._base import (_FAKE_COLOR, _MODE_COLOR, _NONFINITE, _REAL_COLOR, _SEPARATOR, _X_KEYS,  # noqa: F401
                    _is_count, _mosaic, _named, _mosaic_figure, _new_figure, _normalize, _np, _numeric, _outlined,
                    _points, _scale_for, _text_width_px, _to_tiles, _value_range)


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


def save_curves(records, path, keys=None, title=None, smooth=0, titles=None, names=None):
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
    titles: the panels' titles, one per entry of ``keys`` (default: the group names); names: a dict giving
        keys a readable legend label (default: the key).
    """
    fn = "save_curves"
    records, xs, xkey = _sorted_records(records, smooth, fn)
    numeric = []
    for r in records:
        for k, v in r.items():
            if _is_number(v) and k not in numeric:
                numeric.append(k)
    panels = _panels(records, numeric, keys, xkey, fn)
    if titles is not None:
        titles = list(titles)
        if keys is None or len(titles) != len(panels):
            raise ValueError(f"{fn}: titles needs keys, one title per panel ({len(panels)} panels, "
                             f"{len(titles)} titles)")
        import textwrap
        width = 62 if len(panels) > 1 else 110             # a panel is about 430 px wide
        panels = [("\n".join(textwrap.fill(line, width) for line in str(t).split("\n")), group)
                  for t, (_, group) in zip(titles, panels)]
    names = dict(names or {})
    shown = panels[:9]
    n = len(shown)
    cols = 1 if n == 1 else 2 if n <= 4 else 3
    rows = -(-n // cols)
    fig = _new_figure(40 + 430 * cols, 50 + 290 * rows, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for idx, (name, group) in enumerate(shown):
        ax = axes[idx // cols][idx % cols]
        _draw_panel(ax, records, xs, group, names, smooth)
        ax.set_title(name, fontsize=10 if titles is None else 9)
        ax.set_xlabel(xkey or "record")
    for idx in range(n, rows * cols):
        axes[idx // cols][idx % cols].set_visible(False)
    head = [str(title)] if title else []
    if smooth > 1:
        head.append(f"(moving average over {int(smooth)} points; raw values faint)")
    if len(panels) > n:
        head.append(f"(showing {n} of {len(panels)} panels; pass keys= to choose)")
    if head:
        fig.suptitle("\n".join(head), fontsize=11)
    return _base._save(fig, path)


def _sorted_records(records, smooth, fn):
    """The records (a list, or read from a metrics.jsonl path) checked and sorted by their x value; returns
    (records, their x values, the x key: "step", "epoch" or None for the index)."""
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
    return [records[i] for i in order], xs[order], xkey


def _panels(records, numeric, keys, xkey, fn):
    """[(panel name, [key, ...]), ...]: the given ``keys`` (checked), or every numeric key that changes,
    grouped by prefix."""
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
        return list(groups.items())
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
    return panels


def _draw_panel(ax, records, xs, group, names, smooth):
    """One panel: a line per key of ``group`` (smoothed over the raw curve when asked), its legend with the
    last values, and a note counting NaN/inf values."""
    from matplotlib import colormaps
    palette = colormaps["tab10"]
    notes = []
    for j, k in enumerate(group):
        present = np.array([_is_number(r.get(k)) for r in records])
        ys = np.array([float(r[k]) if p else np.nan for r, p in zip(records, present)])
        ok = present & ~np.isnan(xs)                   # a logged NaN stays (a gap, and counted below)
        x, y = xs[ok], ys[ok]
        if y.size == 0:
            continue
        color = palette(j % 10)
        label = f"{names.get(k, k)}  (last {y[-1]:.4g})"
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
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")


# ----------------------------------------------------------------------------------------------------------------
# 7: several sample grids side by side
# ----------------------------------------------------------------------------------------------------------------
