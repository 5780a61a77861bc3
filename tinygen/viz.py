"""See the graph: the computation that produced a tensor, as Graphviz DOT text or as a picture.

    import tinygen as tg
    loss = ((w * x).sum() - y) ** 2
    tg.viz.retain_grads(loss)          # optional: keep every intermediate's value and, after backward, its grad
    loss.backward()
    print(tg.viz.to_dot(loss))         # Graphviz DOT source
    tg.viz.draw(loss, "graph.png")     # a picture (.png, .svg, .pdf; .dot writes the source)
    tg.viz.draw(loss)                  # in a notebook: displayed inline

One box per op (its name and output shape) and one per leaf tensor that requires grad (its name: from
``params``, a Module's ``named_parameters()`` or a dict of names, else ``tensor.name``). Arrows run from
inputs to the op that used them, left to right in the op's input order. Each box shows the tensor's value and
gradient when they are known, micrograd style: the numbers for tensors of at most :data:`SMALL` elements, the
norm for larger ones. Leaves always know their value, and their gradient after ``backward()``; an
intermediate's value is known while its Tensor is alive (held by you, or saved by an op for its backward),
and its gradient after :func:`retain_grads`. Inputs that do not require grad (data, noise, constants) are not
part of the graph: an op that used some says so ("+1 const").

``groups`` names parts of the graph: ``{"encoder": [mu, logvar], "KL": kl, "loss": loss}`` puts every op
and leaf that the tensors of a group depend on (and that no earlier group claimed) in that group: one colour
and a legend in the picture, a cluster in the DOT source.

Pictures need no system package: with the Graphviz binary ``dot`` on the PATH, it lays out the DOT source;
otherwise tinygen's own layered layout (:mod:`tinygen._graph_layout`) is drawn with matplotlib.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import weakref
from pathlib import Path

import numpy as np  # host-side: formatting values

from . import backend as _backend
from .tensor import Tensor

__all__ = ["Graph", "graph", "to_dot", "draw", "retain_grads", "SMALL", "GROUP_COLORS"]

SMALL = 4                 # tensors with at most this many elements show their numbers
GROUP_COLORS = ("#cfe2f3", "#fde9c9", "#d9ead3", "#f4cccc", "#e6d9f2", "#fff2b3", "#d0e0e3", "#f9d9e8")
_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
_KEPT = weakref.WeakKeyDictionary()     # root tensor -> {id(node): its output Tensor}, from retain_grads


class _Item:
    """One box of the picture: an op node or a leaf tensor."""

    __slots__ = ("key", "kind", "title", "shape", "tensor", "data", "consts", "group", "root")

    def __init__(self, key, kind, title, shape=None, tensor=None, data=None):
        self.key, self.kind, self.title, self.shape = key, kind, title, shape
        self.tensor, self.data = tensor, data
        self.consts, self.group, self.root = 0, None, None


# ---------------------------------------------------------------------------------------------------------
# Reading the graph
# ---------------------------------------------------------------------------------------------------------
def _roots(t):
    """[(name or None, Tensor)] from a Tensor, a list of Tensors or a dict {name: Tensor}."""
    if isinstance(t, Tensor):
        pairs = [(None, t)]
    elif isinstance(t, dict):
        pairs = list(t.items())
    elif isinstance(t, (list, tuple)):
        pairs = [(None, x) for x in t]
    else:
        raise TypeError(f"viz: expected a Tensor, a list of Tensors or a dict of them, got {type(t).__name__}")
    if not pairs:
        raise ValueError("viz: no tensor given to draw")
    for name, x in pairs:
        if not isinstance(x, Tensor):
            raise TypeError(f"viz: expected Tensors, got a {type(x).__name__}" + (f" for {name!r}" if name else ""))
    return pairs


def _key(p):
    """The item key of a parent entry: an op node, or a leaf Tensor."""
    return ("t" if isinstance(p, Tensor) else "n", id(p))


def _names(params):
    """{id(tensor): name} from a Module (its named_parameters()), a dict {name: Tensor} or None."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = dict(params.named_parameters())
    if not isinstance(params, dict):
        raise TypeError(f"viz: params must be a Module or a dict {{name: Tensor}}, got {type(params).__name__}")
    return {id(v): str(k) for k, v in params.items() if isinstance(v, Tensor)}


def _entry(t):
    """Where the walk starts for output ``t``: its op node, or the tensor itself when it is a leaf."""
    return t._node if t._node is not None else t


def _walk(roots, names):
    """(items in topological order, parents before children; edges (src key, dst key, input index))."""
    kept = {}
    for _, t in roots:
        kept.update(_KEPT.get(t, {}))
    items, edges, order, done = {}, [], [], set()
    stack = [(_entry(t), False) for _, t in reversed(roots)]
    while stack:
        p, expanded = stack.pop()
        k = _key(p)
        if expanded:
            order.append(k)
            continue
        if k in done:
            continue
        done.add(k)
        item = items.setdefault(k, _item_of(p, kept, names))
        stack.append((p, True))
        if isinstance(p, Tensor):
            continue
        for idx in reversed(range(len(p.parents))):
            parent = p.parents[idx]
            if parent is None:
                item.consts += 1
                continue
            pk = _key(parent)
            edges.append((pk, k, idx))
            pitem = items.setdefault(pk, _item_of(parent, kept, names))
            if pitem.shape is None:
                pitem.shape = tuple(p.in_shapes[idx])     # an op's output shape: what its consumer saw
            stack.append((parent, False))
    for name, t in roots:
        item = items[_key(_entry(t))]
        item.root, item.shape = name or "output", tuple(t.shape)
    position = {k: i for i, k in enumerate(order)}
    edges.sort(key=lambda e: (position[e[1]], e[2]))
    return [items[k] for k in order], edges


def _item_of(p, kept, names):
    if isinstance(p, Tensor):
        title = names.get(id(p)) or p.name or ("parameter" if type(p).__name__ == "Parameter" else "tensor")
        return _Item(_key(p), "leaf", title, tuple(p.shape), p, None)
    t = p.out_ref() if p.out_ref is not None else None
    t = t if t is not None else kept.get(id(p))
    title = p.name if t is None or not t.name else f"{t.name} = {p.name}"
    return _Item(_key(p), "op", title, None, t, getattr(p, "out_data", None))


def _assign_groups(items, edges, groups):
    """Each item goes to the first group whose tensors depend on it."""
    if not groups:
        return []
    parents = {}
    for s, d, _ in edges:
        parents.setdefault(d, []).append(s)
    by_key = {it.key: it for it in items}
    names = []
    for gname, tensors in groups.items():
        tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
        names.append(str(gname))
        stack = [_key(t._node if t._node is not None else t) for t in tensors]
        seen = set()
        while stack:
            k = stack.pop()
            if k in seen or k not in by_key:
                continue
            seen.add(k)
            if by_key[k].group is None:
                by_key[k].group = str(gname)
            stack.extend(parents.get(k, ()))
    used = {it.group for it in items}
    return [n for n in names if n in used]


# ---------------------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------------------
def _host(a):
    return np.asarray(_backend.to_numpy(a), dtype=np.float64)


def _numbers(a):
    """'0.5' or '[0.5, -1.25]' for a small array, '‖·‖ 3.21' for a larger one."""
    a = _host(a)
    if a.size <= SMALL:
        vals = ", ".join(f"{v:.4g}" for v in a.reshape(-1))
        return vals if a.ndim == 0 else f"[{vals}]"
    return f"‖·‖ {float(np.sqrt(np.sum(a * a))):.4g}"


def _lines(item, values):
    """The text of one box: title, shape, then data and grad when known."""
    title = item.title + (f"  (+{item.consts} const)" if item.consts else "")
    lines = [title, "()" if item.shape == () else str(item.shape)]
    if item.root and item.root != "output":
        lines[0] = f"{item.root} = {title}"
    if not values:
        return lines
    t = item.tensor
    data = t.data if t is not None else item.data
    if data is not None and getattr(data, "dtype", None) is not None:
        lines.append(f"data {_numbers(data)}")
    if t is not None and t.grad is not None:
        lines.append(f"grad {_numbers(t.grad.data)}")
    return lines


# ---------------------------------------------------------------------------------------------------------
# The graph object
# ---------------------------------------------------------------------------------------------------------
class Graph:
    """The drawable graph of some tensors: ``source`` (DOT text), ``save(path)``, and inline display in
    notebooks (``_repr_svg_``, ``_repr_png_``). Built by :func:`graph` / :func:`draw`."""

    def __init__(self, items, edges, group_names, values=True, title=None):
        self.title = title
        self.ids = {it.key: f"n{i}" for i, it in enumerate(items)}
        self.nodes = [(self.ids[it.key], it.kind, _lines(it, values), it.group, it.root is not None)
                      for it in items]
        self.edges = [(self.ids[s], self.ids[d], i) for s, d, i in edges]
        self.groups = group_names
        self._cache = {}

    def __len__(self):
        return len(self.nodes)

    def color(self, group):
        if group is None:
            return None
        return GROUP_COLORS[self.groups.index(group) % len(GROUP_COLORS)]

    @property
    def source(self):
        """The graph as Graphviz DOT text."""
        return _dot_source(self)

    def __str__(self):
        return self.source

    def render(self, fmt, engine="auto"):
        """The picture as bytes (``fmt`` "png", "svg" or "pdf"), by ``dot`` or by matplotlib."""
        key = (fmt, engine)
        if key not in self._cache:
            self._cache[key] = _render(self, fmt, engine)
        return self._cache[key]

    def save(self, path, engine="auto"):
        """Write the picture (.png, .svg, .pdf) or the DOT source (.dot, .gv) to ``path``; returns the Path."""
        path = Path(os.fspath(path))
        fmt = _FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise ValueError(f"viz: cannot write {path.name!r}: give a path ending in "
                             f"{', '.join(sorted(_FORMATS))}")
        data = self.source.encode() if fmt == "dot" else self.render(fmt, engine)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return path

    def _repr_svg_(self):
        return self.render("svg").decode()

    def _repr_png_(self):
        return self.render("png")

    def __repr__(self):
        return f"<tinygen.viz.Graph: {len(self.nodes)} boxes, {len(self.edges)} arrows>"


def _esc(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _dot_source(g):
    out = ["digraph tinygen {",
           '  graph [rankdir=TB, nodesep=0.2, ranksep=0.3, fontname="DejaVu Sans Mono"];',
           '  node [shape=box, fontname="DejaVu Sans Mono", fontsize=10, style="filled", fillcolor="white"];',
           "  edge [arrowsize=0.7];"]
    if g.title:
        out.insert(2, f'  label="{_esc(g.title)}"; labelloc=t; fontsize=12;')
    for i, name in enumerate(g.groups):
        members = " ".join(nid for nid, _, _, grp, _ in g.nodes if grp == name)
        out.append(f'  subgraph cluster_{i} {{ label="{_esc(name)}"; style="rounded,filled"; '
                   f'fillcolor="{g.color(name)}40"; color="{g.color(name)}"; {members} }}')
    for nid, kind, lines, grp, root in g.nodes:
        style = "filled" if kind == "leaf" else "rounded,filled"
        fill = g.color(grp) or ("#eeeeee" if kind == "leaf" else "white")
        extra = ", penwidth=2.5" if root else ""
        out.append(f'  {nid} [label="{_esc(chr(10).join(lines))}", style="{style}", fillcolor="{fill}"{extra}];'
                   .replace("\n", "\\n"))
    inputs = {}
    for _, d, _ in g.edges:
        inputs[d] = inputs.get(d, 0) + 1
    for s, d, i in g.edges:
        label = f' [headlabel="{i}", labelfontsize=8]' if inputs[d] > 1 else ""
        out.append(f"  {s} -> {d}{label};")
    out.append("}")
    return "\n".join(out) + "\n"


def _render(g, fmt, engine):
    if engine not in ("auto", "dot", "matplotlib"):
        raise ValueError(f"viz: engine must be 'auto', 'dot' or 'matplotlib', got {engine!r}")
    dot = shutil.which("dot") if engine != "matplotlib" else None
    if engine == "dot" and dot is None:
        raise RuntimeError("viz: the Graphviz program 'dot' is not on the PATH; use engine='matplotlib' (or "
                           "'auto'), or install Graphviz")
    if dot is not None:
        r = subprocess.run([dot, f"-T{fmt}"], input=g.source.encode(), capture_output=True, timeout=120)
        if r.returncode == 0 and r.stdout:
            return r.stdout
        if engine == "dot":
            raise RuntimeError(f"viz: dot failed: {r.stderr.decode(errors='replace').strip()[:200]}")
    from ._graph_layout import render_figure
    return render_figure(g, fmt)


# ---------------------------------------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------------------------------------
def graph(t, params=None, groups=None, values=True, title=None):
    """The :class:`Graph` of the computation that produced ``t`` (a Tensor, a list, or a dict {name: Tensor}
    of outputs drawn together). ``params``: a Module or {name: Tensor} naming the leaves; ``groups``: see the
    module docstring; ``values``: show the values and gradients that are known; ``title``: a line on top."""
    items, edges = _walk(_roots(t), _names(params))
    names = _assign_groups(items, edges, groups)
    return Graph(items, edges, names, values, title)


def to_dot(t, params=None, groups=None, values=True, title=None):
    """Graphviz DOT source of the graph that produced ``t`` (see :func:`graph` for the arguments)."""
    return graph(t, params, groups, values, title).source


def draw(t, path=None, params=None, groups=None, values=True, title=None, engine="auto"):
    """The picture of the graph that produced ``t``: written to ``path`` (.png, .svg, .pdf, or .dot for the
    source) when given; the returned :class:`Graph` displays inline in a notebook. ``engine``: "auto" (the
    Graphviz binary when installed, else matplotlib), "dot" or "matplotlib"."""
    g = graph(t, params, groups, values, title)
    if path is not None:
        g.save(path, engine)
    elif engine != "auto":
        g.render("svg", engine)
    return g


def retain_grads(t):
    """Keep every intermediate of ``t``'s graph whose value is still known (its Tensor alive, or saved by an
    op) and have ``backward`` store its gradient, so that the picture shows both. Call it before
    ``backward()``; returns ``t``."""
    kept = {}
    for name, root in _roots(t):
        stack, seen = [root._node] if root._node is not None else [], set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            out = node.out_ref()
            if out is None and getattr(node, "out_data", None) is not None:
                out = node.output_tensor()
            if out is not None:
                out.retain_grad()
                kept[id(node)] = out
            stack.extend(p for p in node.parents if p is not None and not isinstance(p, Tensor))
        _KEPT[root] = kept
    return t

