"""tinygen/data/mnist.py: the embedded MNIST-10k, its fixed split, and IDX folders through load_mnist."""
from __future__ import annotations

import hashlib
import importlib.resources

import numpy as np
import pytest

from tinygen.data import (EMBEDDED_FILES, EMBEDDED_MD5, MNIST_NUM_TRAIN, MNIST_SPLIT_SEED, DatasetError,
                          embedded_mnist, load_mnist, mnist_split_indices)

README_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
PUBLISHED_MD5 = {"t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                 "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}


def test_embedded_files_are_the_published_ones():
    root = importlib.resources.files("tinygen.data").joinpath("mnist")
    assert EMBEDDED_MD5 == PUBLISHED_MD5
    for name in EMBEDDED_FILES:
        data = root.joinpath(name).read_bytes()
        assert hashlib.md5(data).hexdigest() == PUBLISHED_MD5[name]
    assert len(root.joinpath("t10k-images-idx3-ubyte.gz").read_bytes()) == 1648877
    assert len(root.joinpath("t10k-labels-idx1-ubyte.gz").read_bytes()) == 4542


def test_embedded_raw_arrays():
    images, labels = embedded_mnist()
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    assert np.bincount(labels, minlength=10).tolist() == README_COUNTS
    assert images.max() == 255 and images.min() == 0
    assert not images.flags.writeable and not labels.flags.writeable  # the cache cannot be corrupted
    assert embedded_mnist()[0] is images  # decoded once


@pytest.mark.parametrize("split,n", [("train", 8000), ("test", 2000), ("all", 10000)])
def test_shapes_dtypes_ranges(split, n):
    x, y = load_mnist(split)
    assert x.shape == (n, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(y).tolist()) == set(range(10))
    xf, yf = load_mnist(split, flatten=True)
    assert xf.shape == (n, 784)
    np.testing.assert_array_equal(xf, x.reshape(n, 784))
    np.testing.assert_array_equal(yf, y)


def test_all_counts_match_readme():
    _, y = load_mnist("all")
    assert np.bincount(y, minlength=10).tolist() == README_COUNTS
    _, ytr = load_mnist("train")
    _, yte = load_mnist("test")
    assert (np.bincount(ytr, minlength=10) + np.bincount(yte, minlength=10)).tolist() == README_COUNTS


def test_exact_split_rule():
    perm = np.random.default_rng(0).permutation(10000)
    assert MNIST_SPLIT_SEED == 0 and MNIST_NUM_TRAIN == 8000
    tr, te = mnist_split_indices()
    np.testing.assert_array_equal(tr, perm[:8000])
    np.testing.assert_array_equal(te, perm[8000:])
    raw_x, raw_y = embedded_mnist()
    x, y = load_mnist("train")
    np.testing.assert_array_equal(x[:, 0], raw_x[perm[:8000]] / np.float32(255))
    np.testing.assert_array_equal(y, raw_y[perm[:8000]])
    x, y = load_mnist("test")
    np.testing.assert_array_equal(y, raw_y[perm[8000:]])
    np.testing.assert_array_equal((x[:, 0] * 255).round().astype(np.uint8), raw_x[perm[8000:]])
    xa, ya = load_mnist("all")
    np.testing.assert_array_equal(ya, raw_y)


def test_split_sizes_disjoint_and_cover():
    tr, te = mnist_split_indices()
    assert len(tr) == 8000 and len(te) == 2000
    assert len(np.intersect1d(tr, te)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, te])), np.arange(10000))
    x_te, _ = load_mnist("heldout", flatten=True)  # a synonym of "test"
    np.testing.assert_array_equal(x_te, load_mnist("test", flatten=True)[0])


def test_minus_one_one_range():
    x01, _ = load_mnist("test")
    for rng in ((-1, 1), "minus_one_one", [-1.0, 1.0]):
        x, _ = load_mnist("test", range=rng)
        assert x.dtype == np.float32 and x.min() == -1.0 and x.max() == 1.0
        np.testing.assert_allclose(x, 2 * x01 - 1, atol=1e-6)
    x, _ = load_mnist("test", range="zero_one")
    np.testing.assert_array_equal(x, x01)


def test_float64_and_bad_arguments():
    x, _ = load_mnist("test", dtype="float64")
    assert x.dtype == np.float64
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation")
    with pytest.raises(ValueError, match="range"):
        load_mnist("test", range=(0, 255))
    with pytest.raises(ValueError, match="dtype"):
        load_mnist("test", dtype="int32")


def test_results_are_fresh_copies():
    x, y = load_mnist("test")
    x[:] = 7
    y[:] = -1
    x2, y2 = load_mnist("test")
    assert x2.max() == 1.0 and y2.min() == 0


def test_repeated_calls_are_fast():
    import time
    load_mnist("train")
    t = time.perf_counter()
    for _ in range(3):
        load_mnist("train")
    assert (time.perf_counter() - t) / 3 < 0.5


def test_path_loads_idx_folder(idx_folder):
    folder, data = idx_folder
    x, y = load_mnist("train", path=folder)
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x[:, 0], data["train"][0] / np.float32(255))
    np.testing.assert_array_equal(y, data["train"][1])
    x, y = load_mnist("test", path=str(folder), flatten=True, range=(-1, 1))
    assert x.shape == (4, 784) and x.min() >= -1 and x.max() <= 1
    x, y = load_mnist("all", path=folder)
    assert len(x) == 10
    np.testing.assert_array_equal(y, np.concatenate([data["train"][1], data["test"][1]]))


def test_path_cache_sees_changed_files(tmp_path, make_idx_folder):
    make_idx_folder(tmp_path, n_train=3, seed=1)
    assert len(load_mnist("train", path=tmp_path)[0]) == 3
    make_idx_folder(tmp_path, n_train=5, seed=2)
    assert len(load_mnist("train", path=tmp_path)[0]) == 5


def test_path_errors(tmp_path, one_sentence):
    with pytest.raises(DatasetError) as e:
        load_mnist("train", path=tmp_path)
    one_sentence(str(e.value))
    assert "train-images-idx3-ubyte[.gz]" in str(e.value)
