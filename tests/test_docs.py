"""docs/gradients.md lists every registered op with its derivative, as the docstrings say it."""
import importlib.util
import pathlib

import pytest

from tinygen.autograd import REGISTRY

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "gradients.md"


def _generator():
    spec = importlib.util.spec_from_file_location("make_gradients", ROOT / "docs" / "make_gradients.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_op_is_in_gradients_md(name):
    text = PAGE.read_text()
    assert f"### {name}\n" in text, f"{name} is missing from docs/gradients.md: run python docs/make_gradients.py"
    assert _generator().op_doc(REGISTRY[name]) in text, f"docs/gradients.md is out of date for {name}"
