"""tinygen/data/datasets.py: load_dataset by name or folder, and the Dataset object."""
from __future__ import annotations

import os

import numpy as np
import pytest

import tinygen as tg
from tinygen.data import DATASET_NAMES, TOY_SEEDS, TOY_SIZES, Dataset, DatasetError, load_dataset, ring8


def test_mnist():
    ds = load_dataset("mnist")
    assert isinstance(ds, Dataset) and ds.kind == "image" and ds.num_classes == 10
    assert len(ds) == 8000 and ds.sample_shape == (1, 28, 28)
    x, y = ds
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert len(load_dataset("MNIST", "test")) == 2000
    assert load_dataset("mnist", "all", flatten=True).sample_shape == (784,)
    assert load_dataset("mnist", "test", range=(-1, 1)).x.min() == -1.0


@pytest.mark.parametrize("name,k", [("ring8", 8), ("grid25", 25), ("swissroll", 10)])
def test_toys_fixed(name, k):
    tr, te, al = (load_dataset(name, s) for s in ("train", "test", "all"))
    assert (len(tr), len(te), len(al)) == (10000, 2500, 12500) == (TOY_SIZES["train"], TOY_SIZES["test"],
                                                                   12500)
    assert tr.kind == "toy" and tr.num_classes == k and tr.sample_shape == (2,)
    assert tr.x.dtype == np.float32 and tr.y.dtype == np.int64
    tg.manual_seed(123)  # the toys' fixed seeds do not depend on the global seed
    again = load_dataset(name, "train")
    np.testing.assert_array_equal(tr.x, again.x)
    np.testing.assert_array_equal(al.x, np.concatenate([tr.x, te.x]))
    assert not np.array_equal(tr.x[:2500], te.x)
    if name == "ring8":  # the documented rule
        np.testing.assert_array_equal(tr.x, ring8(10000, np.random.default_rng(TOY_SEEDS["train"]))[0])
        np.testing.assert_array_equal(te.x, ring8(2500, np.random.default_rng(TOY_SEEDS["test"]))[0])


def test_toy_options():
    a = load_dataset("grid25", n=100, seed=5)
    b = load_dataset("grid25", n=100, seed=5)
    assert len(a) == 100
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, load_dataset("grid25", n=100, seed=6).x)


def test_folder(idx_folder):
    folder, data = idx_folder
    ds = load_dataset(folder, "test")
    assert len(ds) == 4 and ds.kind == "image"
    np.testing.assert_array_equal(ds.y, data["test"][1])
    assert len(load_dataset(str(folder), "all", flatten=True)) == 10


def test_unknown_names(tmp_path, one_sentence):
    with pytest.raises(DatasetError) as e:
        load_dataset("cifar10")
    msg = str(e.value)
    one_sentence(msg)
    for name in DATASET_NAMES:
        assert repr(name) in msg
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(DatasetError) as e:
        load_dataset(f)
    one_sentence(str(e.value))
    with pytest.raises(DatasetError) as e:
        load_dataset(tmp_path, "train")  # a folder without IDX files
    one_sentence(str(e.value))
    with pytest.raises(DatasetError):
        load_dataset(42)
    with pytest.raises(ValueError):
        load_dataset("mnist", "validation")


def test_data_package_imports_no_plotting_or_progress_bars():
    import subprocess
    import sys
    code = ("import sys, tinygen.data; "
            "print(sorted(m for m in ('matplotlib', 'tqdm') if m in sys.modules))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(tg.__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"
