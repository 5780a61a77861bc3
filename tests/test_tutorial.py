"""docs/tutorial.ipynb, the notebook students open, runs top to bottom.

Its code cells are plain Python, so they are run here the way a kernel runs them (in order, in one namespace)
with the standard library (json + exec) instead of a Jupyter kernel; a cell that ends with an expression is
displayed the way a notebook displays it (the object's ``_repr_svg_``)."""
import ast
import json
import re
from pathlib import Path

import pytest

from tinygen import viz

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


def notebook():
    return json.loads(NOTEBOOK.read_text())


def test_it_is_a_clean_nbformat_4_notebook():
    nb = notebook()
    assert nb["nbformat"] == 4 and nb["metadata"]["kernelspec"]["language"] == "python"
    kinds = [c["cell_type"] for c in nb["cells"]]
    assert set(kinds) == {"markdown", "code"} and kinds[0] == "markdown"
    for cell in nb["cells"]:
        assert isinstance(cell["source"], list) and cell["metadata"] == {} and cell["id"]
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None   # stored without stale outputs
    text = "".join("".join(c["source"]) for c in nb["cells"])
    for stop in ("## 1. A scalar expression", "## 2. The VAE's ELBO", "## 3. The WGAN-GP critic"):
        assert stop in text


def run_cells(cells):
    """Run code cells in order in one namespace; return what the notebook would display."""
    ns, shown = {"__name__": "__main__"}, []
    for i, cell in enumerate(cells):
        tree = ast.parse("".join(cell["source"]))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, f"<tutorial cell {i}>", "exec"), ns)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), f"<tutorial cell {i}>", "eval"), ns)
            if hasattr(value, "_repr_svg_"):
                shown.append(value._repr_svg_())
    return ns, shown


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    import os
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("tutorial"))
    real_which = viz.shutil.which
    viz.shutil.which = lambda name: None          # as on a machine without Graphviz: tinygen's own drawing
    try:
        import contextlib
        import io
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            ns, shown = run_cells([c for c in notebook()["cells"] if c["cell_type"] == "code"])
        return ns, shown, buf.getvalue()
    finally:
        viz.shutil.which = real_which
        os.chdir(cwd)


def test_it_runs_top_to_bottom_and_shows_three_graphs(executed):
    ns, shown, out = executed
    assert len(shown) == 3 and all("<svg" in s for s in shown)
    assert "dL/da: by hand 3.264241   engine 3.264241" in out
    assert "dL/db: by hand -7.729329   engine -7.729329" in out
    assert "-ELBO = rec + KL = 0.907679 + 0.443147 = 1.350826" in out
    assert "P = 1.422876" in out
    assert "critic loss + penalty: every critic parameter agrees with finite differences" in out


def test_the_numbers_in_its_text_are_the_ones_it_computes(executed):
    _, _, out = executed
    text = "".join("".join(c["source"]) for c in notebook()["cells"] if c["cell_type"] == "markdown")
    assert "c = -2.000000, e^b = 0.367879, d = -1.632121" in out
    for value in ("0.367879", "-1.632121", "3.264241", "-7.729329"):   # derived by hand in the text
        assert value in text and value in out
