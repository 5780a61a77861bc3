"""MNIST: the 10,000 embedded test images (no download), or any MNIST-style IDX folder.

The package ships the original MNIST test-set files, byte for byte, as package data (``tinygen/data/mnist/``:
``t10k-images-idx3-ubyte.gz``, MD5 9fb629c4189551a2d022fa330f9573f3, and ``t10k-labels-idx1-ubyte.gz``, MD5
ec29112dd5afa0611ce80d1b7f02629c). MNIST is by Yann LeCun and Corinna Cortes, a derivative work of the NIST
databases, under the Creative Commons Attribution-Share Alike 3.0 licence (see the NOTICE file).

The fixed, documented split of those 10,000 images::

    perm = numpy.random.default_rng(0).permutation(10000)
    train    = perm[:8000]      # load_mnist("train"): images[perm[:8000]], in that order
    held-out = perm[8000:]      # load_mnist("test"):  images[perm[8000:]], in that order
    all      = file order       # load_mnist("all")

With ``path=FOLDER`` the same function reads a full MNIST / Fashion-MNIST folder (``train-images-idx3-ubyte``
and friends, gzipped or not): "train" is the official training set, "test" the official test set, "all" both.

Pixels are float32 in [0, 1] (``range=(0, 1)``, pixel / 255) or in [-1, 1] (``range=(-1, 1)``, for GANs with
a tanh output), of shape (N, 1, 28, 28), or (N, 784) with ``flatten=True``; labels are int64 of shape (N,).
Decoded files are cached in memory, so repeated calls cost only the conversion to float.
"""
from __future__ import annotations

import importlib.resources
import os

import numpy as np  # host-side data loading

from .idx import IMAGES_MAGIC, LABELS_MAGIC, DatasetError, find_idx_files, load_idx_folder, parse_idx, _gunzip

__all__ = ["load_mnist", "embedded_mnist", "mnist_split_indices", "EMBEDDED_FILES", "EMBEDDED_MD5",
           "MNIST_SPLIT_SEED", "MNIST_NUM_TRAIN", "SPLITS"]

EMBEDDED_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
EMBEDDED_MD5 = {"t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
MNIST_SPLIT_SEED = 0     # perm = numpy.random.default_rng(MNIST_SPLIT_SEED).permutation(10000)
MNIST_NUM_TRAIN = 8000   # train = perm[:8000], held-out = perm[8000:]
SPLITS = ("train", "test", "all")
_SPLIT_ALIASES = {"train": "train", "test": "test", "heldout": "test", "held-out": "test", "all": "all"}

_cache = {}  # key -> (uint8 images (N, H, W), int64 labels (N,)), both read-only


def _split_name(split):
    s = _SPLIT_ALIASES.get(str(split).lower()) if isinstance(split, str) else None
    if s is None:
        raise ValueError(f"split must be 'train', 'test' (held-out) or 'all', got {split!r}.")
    return s


def _freeze(images, labels):
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def embedded_mnist():
    """The embedded 10,000 images and labels in file order: uint8 (10000, 28, 28), int64 (10000,), read-only."""
    key = "embedded"
    if key not in _cache:
        root = importlib.resources.files(__package__).joinpath("mnist")
        arrays = []
        for name, magic in zip(EMBEDDED_FILES, (IMAGES_MAGIC, LABELS_MAGIC)):
            res = root.joinpath(name)
            try:
                raw = res.read_bytes()
            except OSError:
                raise DatasetError(f"the embedded MNIST file tinygen/data/mnist/{name} is missing from this "
                                   f"installation; reinstall tinygen (its package data was not installed).") from None
            arrays.append(parse_idx(_gunzip(raw, f"tinygen/data/mnist/{name}"), f"tinygen/data/mnist/{name}",
                                    magic))
        images, labels = arrays[0], arrays[1].astype(np.int64)
        if len(images) != len(labels):
            raise DatasetError(f"the embedded MNIST files disagree: {len(images)} images but {len(labels)} labels.")
        _cache[key] = _freeze(images, labels)
    return _cache[key]


def mnist_split_indices(n=10000, num_train=MNIST_NUM_TRAIN, seed=MNIST_SPLIT_SEED):
    """The fixed split of the embedded data: ``(train_idx, heldout_idx)`` = ``perm[:8000], perm[8000:]``."""
    perm = np.random.default_rng(seed).permutation(n)
    return perm[:num_train], perm[num_train:]


def _folder_split(folder, kind):
    img_path, lab_path = find_idx_files(folder, kind)
    stamp = tuple((os.path.realpath(p), os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in (img_path, lab_path))
    if stamp not in _cache:
        _cache[stamp] = _freeze(*load_idx_folder(folder, kind))
    return _cache[stamp]


def _raw(split, path):
    if path is None:
        images, labels = embedded_mnist()
        if split == "all":
            return images, labels
        train_idx, test_idx = mnist_split_indices(len(images))
        idx = train_idx if split == "train" else test_idx
        return images[idx], labels[idx]
    if split == "all":
        parts = [_folder_split(path, k) for k in ("train", "test")]
        if parts[0][0].shape[1:] != parts[1][0].shape[1:]:
            raise DatasetError(f"the train and test images in '{os.fspath(path)}' have different shapes "
                               f"{parts[0][0].shape[1:]} and {parts[1][0].shape[1:]}.")
        return np.concatenate([parts[0][0], parts[1][0]]), np.concatenate([parts[0][1], parts[1][1]])
    return _folder_split(path, split)


def pixel_range(range):
    """``(low, high)`` of a ``range`` argument: (0, 1), (-1, 1), "zero_one" or "minus_one_one"."""
    names = {"zero_one": (0, 1), "0,1": (0, 1), "minus_one_one": (-1, 1), "-1,1": (-1, 1)}
    if isinstance(range, str):
        r = names.get(range.replace(" ", "").lower())
    else:
        try:
            r = tuple(float(v) for v in range)
        except (TypeError, ValueError):
            r = None
    if r is None or tuple(r) not in ((0, 1), (-1, 1)):
        raise ValueError(f"range must be (0, 1) or (-1, 1) (or 'zero_one' / 'minus_one_one'), got {range!r}.")
    return int(r[0]), int(r[1])


def to_float_images(images, flatten=False, range=(0, 1), dtype="float32"):
    """uint8 images (N, H, W) as floats (N, 1, H, W) (or (N, H*W) with ``flatten``) in ``range``."""
    low, _ = pixel_range(range)
    dtype = np.dtype(str(dtype))
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating-point dtype, got {dtype.name!r}.")
    lut = np.arange(256, dtype=np.float64) / 255.0
    if low == -1:
        lut = lut * 2.0 - 1.0
    out = lut.astype(dtype)[images]  # exact endpoints: 0 -> low, 255 -> 1
    n = len(images)
    return out.reshape(n, -1) if flatten else out.reshape((n, 1) + images.shape[1:])


def load_mnist(split="train", path=None, flatten=False, range=(0, 1), dtype="float32"):
    """MNIST as host NumPy arrays ``(images, labels)``.

    ``split``: "train" (8,000 embedded images), "test" (the 2,000 held-out ones; "heldout" is a synonym) or
    "all" (the 10,000 in file order); with ``path`` a folder of IDX files, the official train / test files.
    ``flatten``: (N, 784) instead of (N, 1, 28, 28). ``range``: (0, 1) or (-1, 1). ``dtype``: float32 or
    float64. The returned arrays are new (changing them does not change the cache).
    """
    split = _split_name(split)
    images, labels = _raw(split, path)
    return to_float_images(images, flatten, range, dtype), np.array(labels, dtype=np.int64)
