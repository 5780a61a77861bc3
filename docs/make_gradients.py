"""Write docs/gradients.md from the ops' docstrings: every primitive op's derivative, in one page.

    python docs/make_gradients.py

tests/test_docs.py fails when a registered op is missing from the page or its text is out of date.
"""
from __future__ import annotations

import inspect
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

INTRO = """# Every primitive op and its derivative

Generated from the docstrings in `tinygen/ops/` by `python docs/make_gradients.py`; do not edit by hand.

Conventions. `L` is the final (scalar) loss; `gy = dL/dy` is what reaches an op's output during backward, and
each op returns `dL/dx = gy * dy/dx` (elementwise ops) or the matching vector-Jacobian product. Binary ops
broadcast like NumPy; their backward then sums each gradient over the axes that were broadcast, back to the
input's shape (`unbroadcast` in `tinygen/ops/shape.py`). Reductions spread `gy` back over the reduced axes.
Every backward is written with tinygen ops itself, so `create_graph=True` differentiates it again (second
derivatives: `gradgradcheck`, WGAN-GP). `tinygen gradcheck` checks every op below against finite differences.
"""


def op_doc(cls):
    return inspect.cleandoc(cls.__doc__ or "")


def render():
    import tinygen  # noqa: F401  (imports every op module, filling the registry)
    from tinygen.autograd import REGISTRY
    by_module = {}
    for name, cls in sorted(REGISTRY.items()):
        by_module.setdefault(cls.__module__, []).append((name, cls))
    out = [INTRO]
    for module in sorted(by_module):
        out.append(f"\n## `{module}`\n")
        for name, cls in by_module[module]:
            out.append(f"### {name}\n\n```\n{op_doc(cls)}\n```\n")
    return "\n".join(out)


if __name__ == "__main__":
    path = os.path.join(os.path.dirname(__file__), "gradients.md")
    with open(path, "w") as f:
        f.write(render())
    print(f"wrote {path}")
