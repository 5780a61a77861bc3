"""tinygen's own drawing of a graph (used by :mod:`tinygen.viz` when Graphviz is not installed).

A layered ("Sugiyama") layout, in four steps, all in typographic points:

1. Layers: a box's layer is the length of the longest path from it to an output (outputs at the bottom,
   layer 0), so every arrow points down and a leaf sits just above the op that uses it first.
2. Arrows that skip layers get an invisible waypoint in every layer they cross.
3. Order within each layer: sweeps up and down that sort each layer by the mean position of its neighbours in
   the layer before (the barycentre heuristic), keeping the order with the fewest crossings.
4. Horizontal positions: sweeps that pull every box towards the mean of its neighbours' positions, then push
   boxes apart (left to right and right to left) until none overlap.

The picture is then drawn with matplotlib's object API (no pyplot): boxes, smooth arrows into one port per
input (input 0 on the left), group colours and a legend.
"""
from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.path import Path as MplPath

__all__ = ["layout", "render_figure"]

FONT_SIZE = 9.0
CHAR_W = 0.62 * FONT_SIZE         # DejaVu Sans Mono: every glyph about 0.6 em wide (bold a little more)
LINE_H = 1.3 * FONT_SIZE
PAD_X, PAD_Y = 8.0, 4.0
NODE_GAP, DUMMY_W, LAYER_GAP = 16.0, 4.0, 30.0
MARGIN, LEGEND_H, TITLE_H = 12.0, 26.0, 24.0
MAX_PIXELS = 12000                # the longer side of a PNG, at most


def box_size(lines):
    """(width, height) in points of a box holding ``lines`` of monospace text."""
    return max(len(s) for s in lines) * CHAR_W + 2 * PAD_X, len(lines) * LINE_H + 2 * PAD_Y


# ---------------------------------------------------------------------------------------------------------
# 1-2: layers and waypoints
# ---------------------------------------------------------------------------------------------------------
def _layers(ids, edges):
    """{id: layer}, longest path to a sink; ``ids`` are in topological order (parents first)."""
    children = {i: [] for i in ids}
    for s, d, _ in edges:
        children[s].append(d)
    layer = {}
    for i in reversed(ids):
        layer[i] = 1 + max((layer[c] for c in children[i]), default=-1)
    return layer


def _chains(edges, layer):
    """Every edge as a chain of points [src, waypoint..., dst]; waypoints are new ids ("w0", ...)."""
    chains, waypoints = [], {}
    for k, (s, d, _) in enumerate(edges):
        chain = [s]
        for lv in range(layer[s] - 1, layer[d], -1):
            w = f"w{len(waypoints)}"
            waypoints[w] = lv
            chain.append(w)
        chains.append(chain + [d])
    return chains, waypoints


# ---------------------------------------------------------------------------------------------------------
# 3: order within layers
# ---------------------------------------------------------------------------------------------------------
def _neighbours(chains, ports):
    """(up, down): {point: [(neighbour, offset)]} for the layer above and the layer below. The offset is
    where the neighbour should sit relative to the point for the arrow to hit its port straight on."""
    up, down = {}, {}
    for chain, port in zip(chains, ports):
        for a, b in zip(chain, chain[1:]):           # a is above b
            off = port if b == chain[-1] else 0.0
            down.setdefault(a, []).append((b, off))
            up.setdefault(b, []).append((a, -off))
    return up, down


def _sort_layer(row, nbrs, pos):
    """``row`` sorted by the mean position of each point's neighbours (points without any keep their place)."""
    def key(item):
        i, v = item
        ns = [(n, off) for n, off in nbrs.get(v, ()) if n in pos]
        if not ns:
            return (i, i)
        return (sum(pos[n] + off for n, off in ns) / len(ns), i)
    return [v for _, v in sorted(enumerate(row), key=key)]


def _crossings(rows, down):
    """How many pairs of arrow segments cross between consecutive rows."""
    total = 0
    for upper, lower in zip(rows, rows[1:]):
        pu = {v: i for i, v in enumerate(upper)}
        pl = {v: i for i, v in enumerate(lower)}
        segs = sorted((pu[a], pl[b] + off) for a in upper for b, off in down.get(a, ()) if b in pl)
        total += sum(1 for i in range(len(segs)) for j in range(i + 1, len(segs))
                     if segs[j][1] < segs[i][1] and segs[j][0] != segs[i][0])
    return total


def _order(rows, up, down, sweeps=8):
    """Barycentre sweeps over ``rows`` (top row first); the order with the fewest crossings."""
    best, best_n = [list(r) for r in rows], _crossings(rows, down)
    for sweep in range(sweeps):
        going_down = sweep % 2 == 0
        for r in (range(1, len(rows)) if going_down else range(len(rows) - 2, -1, -1)):
            ref = rows[r - 1] if going_down else rows[r + 1]
            rows[r] = _sort_layer(rows[r], up if going_down else down, {v: i for i, v in enumerate(ref)})
        n = _crossings(rows, down)
        if n < best_n:
            best, best_n = [list(r) for r in rows], n
    return best


# ---------------------------------------------------------------------------------------------------------
# 4: coordinates
# ---------------------------------------------------------------------------------------------------------
def _separate(row, want, width):
    """Positions for ``row`` (left to right) as close to ``want`` as the box widths allow."""
    gap = [(width[a] + width[b]) / 2 + (NODE_GAP if min(width[a], width[b]) > DUMMY_W else NODE_GAP / 3)
           for a, b in zip(row, row[1:])]
    left = [want[row[0]]]
    for k, v in enumerate(row[1:]):
        left.append(max(want[v], left[-1] + gap[k]))
    right = [want[row[-1]]]
    for k in range(len(row) - 2, -1, -1):
        right.insert(0, min(want[row[k]], right[0] - gap[k]))
    xs = [(a + b) / 2 for a, b in zip(left, right)]
    for k in range(1, len(xs)):
        xs[k] = max(xs[k], xs[k - 1] + gap[k - 1])
    return dict(zip(row, xs))


def _coordinates(rows, up, down, width, sweeps=12):
    x = {}
    for row in rows:
        cursor = 0.0
        for v in row:
            x[v] = cursor + width[v] / 2
            cursor += width[v] + NODE_GAP
    for sweep in range(sweeps):
        nbrs = (up, down) if sweep == sweeps - 1 else ((up,) if sweep % 2 == 0 else (down,))
        for row in (rows if sweep % 2 == 0 else rows[::-1]):
            want = {}
            for v in row:
                ns = [n for m in nbrs for n, _ in m.get(v, ())]
                want[v] = sum(x[n] for n in ns) / len(ns) if ns else x[v]
            x.update(_separate(row, want, width))
    lo = min(x[v] - width[v] / 2 for v in x)
    return {v: xv - lo for v, xv in x.items()}


def layout(nodes, edges):
    """Positions of a graph's boxes and arrows, in points (y grows downwards).

    ``nodes``: [(id, (width, height))] in topological order (parents first); ``edges``: [(src, dst,
    input index)]. Returns (centres {id: (x, y)}, routes [[(x, y), ...] per edge, from src's bottom edge to
    its port on dst's top edge], (total width, total height))."""
    ids = [i for i, _ in nodes]
    size = dict(nodes)
    layer = _layers(ids, edges)
    chains, waypoints = _chains(edges, layer)
    layer.update(waypoints)
    ports = _ports(edges, size)
    up, down = _neighbours(chains, [p / 100.0 for p in ports])
    n_layers = max(layer.values(), default=0) + 1
    rows = [[] for _ in range(n_layers)]
    for v in ids + list(waypoints):
        rows[n_layers - 1 - layer[v]].append(v)
    rows = _order(rows, up, down)
    width = {v: size[v][0] if v in size else DUMMY_W for v in layer}
    x = _coordinates(rows, up, down, width)
    y, band, cursor = {}, {}, 0.0
    for row in rows:
        h = max((size[v][1] for v in row if v in size), default=0.0)
        for v in row:
            y[v], band[v] = cursor + h / 2, (cursor, cursor + h)
        cursor += h + LAYER_GAP
    routes = []
    for chain, port, (s, d, _) in zip(chains, ports, edges):
        # straight down through every row the arrow crosses; curves only in the gaps between rows
        pts = [(x[s], y[s] + size[s][1] / 2), (x[s], band[s][1])]
        for w in chain[1:-1]:
            pts += [(x[w], band[w][0]), (x[w], band[w][1])]
        routes.append(pts + [(x[d] + port, band[d][0]), (x[d] + port, y[d] - size[d][1] / 2)])
    total_w = max((x[v] + width[v] / 2 for v in x), default=0.0)
    return {v: (x[v], y[v]) for v in ids}, routes, (total_w, max(cursor - LAYER_GAP, 0.0))


def _ports(edges, size):
    """The horizontal offset of each arrow's head on its target box: inputs spread left to right by index."""
    by_dst = {}
    for k, (_, d, i) in enumerate(edges):
        by_dst.setdefault(d, []).append((i, k))
    ports = [0.0] * len(edges)
    for d, ins in by_dst.items():
        ins.sort()
        n = len(ins)
        span = min(size[d][0] * 0.6, 40.0 * (n - 1))
        for j, (_, k) in enumerate(ins):
            ports[k] = 0.0 if n == 1 else -span / 2 + span * j / (n - 1)
    return ports


# ---------------------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------------------
def _curve(points):
    """A smooth path through ``points`` (vertical tangents at each point: straight where x does not change)."""
    points = [p for k, p in enumerate(points) if k == 0 or p != points[k - 1]]
    verts, codes = [points[0]], [MplPath.MOVETO]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        dy = (y1 - y0) / 2
        verts += [(x0, y0 + dy), (x1, y1 - dy), (x1, y1)]
        codes += [MplPath.CURVE4] * 3
    return MplPath(verts, codes)


def _draw_box(ax, x, y, lines, kind, fill, root):
    w, h = box_size(lines)
    style = "round,pad=0,rounding_size=6" if kind == "op" else "square,pad=0"
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle=style, facecolor=fill,
                                edgecolor="#222222", linewidth=2.2 if root else 0.8, zorder=2))
    for k, text in enumerate(lines):
        ax.text(x, y - h / 2 + PAD_Y + (k + 0.5) * LINE_H, text, ha="center", va="center", zorder=3,
                fontsize=FONT_SIZE, family="DejaVu Sans Mono", fontweight="bold" if k == 0 else "normal",
                color="#000000" if k < 2 else "#333333")


def _legend_item_width(name):
    return 17 + (len(name) + 3) * (FONT_SIZE + 1) * 0.55


def _legend_rows(names, width):
    """The group names in rows that fit ``width`` points."""
    rows, x = [[]], 0.0
    for name in names:
        w = _legend_item_width(name)
        if rows[-1] and x + w > width:
            rows.append([])
            x = 0.0
        rows[-1].append(name)
        x += w
    return rows if names else []


def _legend(ax, g, rows, top):
    """Colour swatches with the group names, ``rows`` of them from ``top`` down."""
    for r, row in enumerate(rows):
        x, y = 0.0, top + r * LEGEND_H
        for name in row:
            ax.add_patch(Rectangle((x, y + 7), 12, 12, facecolor=g.color(name), edgecolor="#222222", lw=0.6))
            ax.text(x + 17, y + 13, name, va="center", ha="left", fontsize=FONT_SIZE + 1, family="DejaVu Sans")
            x += _legend_item_width(name)


def render_figure(g, fmt):
    """The picture of :class:`tinygen.viz.Graph` ``g`` as bytes in ``fmt`` ("png", "svg", "pdf")."""
    nodes = [(nid, box_size(lines)) for nid, _, lines, _, _ in g.nodes]
    pos, routes, (w, h) = layout(nodes, g.edges)
    w = max([w, len(g.title or "") * (FONT_SIZE + 2) * 0.55] + [_legend_item_width(n) for n in g.groups])
    rows = _legend_rows(g.groups, w)
    top = len(rows) * LEGEND_H + (TITLE_H if g.title else 0.0)
    width, height = w + 2 * MARGIN, h + 2 * MARGIN + top
    fig = Figure(figsize=(width / 72, height / 72), facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-MARGIN, width - MARGIN)
    ax.set_ylim(height - MARGIN - top, -MARGIN - top)
    ax.set_axis_off()
    if g.title:
        ax.text(0.0, -MARGIN - top + TITLE_H / 2, g.title, va="center", ha="left",
                fontsize=FONT_SIZE + 2, family="DejaVu Sans", fontweight="bold")
    _legend(ax, g, rows, -MARGIN - top + (TITLE_H if g.title else 0.0))
    for pts in routes:
        ax.add_patch(FancyArrowPatch(path=_curve(pts), arrowstyle="-|>", mutation_scale=9, color="#555555",
                                     linewidth=0.9, shrinkA=0, shrinkB=0, zorder=1))
    for nid, kind, lines, group, root in g.nodes:
        fill = g.color(group) or ("#eeeeee" if kind == "leaf" else "white")
        _draw_box(ax, *pos[nid], lines, kind, fill, root)
    dpi = min(100.0, MAX_PIXELS / (max(width, height) / 72))
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, facecolor="white")
    fig.clear()
    return buf.getvalue()
