"""docs/gradients.md lists every registered op with its derivative, as the docstrings say it; the files
docs/architecture.md names exist."""
import importlib.util
import pathlib
import re

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


def test_every_file_architecture_md_names_exists():
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`([\w/]+(?:\.py|/))`", text))
    assert {"backprop.py", "ops/shape.py", "models/base.py"} <= named     # the pattern finds them
    missing = [n for n in sorted(named)
               if not any((base / n).exists() for base in (ROOT / "tinygen", ROOT))]
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"
