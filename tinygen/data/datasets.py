"""``load_dataset``: one name (or folder) to data, as used by the CLI's ``--data``.

Names (case-insensitive):

* ``"mnist"``: the embedded 10,000 MNIST test images, split 8,000 train / 2,000 held-out (see ``mnist.py``).
* ``"ring8"``, ``"grid25"``, ``"swissroll"``: the 2-D toys (see ``toy.py``), 10,000 train samples drawn with
  ``numpy.random.default_rng(0)`` and 2,500 held-out samples drawn with ``numpy.random.default_rng(1)``: fixed,
  the same on every call and independent of ``tinygen.manual_seed``.
* ``"mnist-full"``, ``"fashion-mnist"``: full MNIST / Fashion-MNIST (60,000 + 10,000), downloaded once into the
  cache (see ``download.py``).
* a folder path: an MNIST-style IDX folder (``train-images-idx3-ubyte[.gz]`` and friends). A name wins over
  a folder of the same name: write ``./mnist`` for a folder called mnist.

``split`` is "train", "test" (the held-out part; "heldout" is a synonym) or "all" (train then held-out).
"""
from __future__ import annotations

import os

import numpy as np  # host-side data

from .download import download
from .idx import DatasetError
from .mnist import _split_name, load_mnist
from .toy import TOY_DATASETS, modes

__all__ = ["Dataset", "load_dataset", "DATASET_NAMES", "TOY_SIZES", "TOY_SEEDS"]

TOY_SIZES = {"train": 10000, "test": 2500}  # samples per split of the generated toys
TOY_SEEDS = {"train": 0, "test": 1}         # numpy.random.default_rng(seed) per split (independent of manual_seed)
_DOWNLOADED = {"mnist-full": "mnist", "fashion-mnist": "fashion-mnist"}
DATASET_NAMES = ("mnist",) + tuple(TOY_DATASETS) + tuple(_DOWNLOADED)


class Dataset:
    """A loaded dataset: host arrays ``x`` (samples) and ``y`` (labels, or the toys' mode indices).

    ``x, y = dataset`` unpacks it; ``DataLoader(dataset, batch_size=...)`` or ``dataset.loader(...)`` batches
    it. ``kind`` is "image" (x of shape (N, 1, H, W) or (N, H*W)) or "toy" (x of shape (N, 2));
    ``num_classes`` is the number of labels (10) or of toy modes.
    """

    def __init__(self, x, y, name, split, kind, num_classes):
        self.x, self.y = x, y
        self.name, self.split, self.kind, self.num_classes = name, split, kind, num_classes

    @property
    def arrays(self):
        return (self.x, self.y)

    @property
    def sample_shape(self):
        return tuple(self.x.shape[1:])

    def __len__(self):
        return len(self.x)

    def __iter__(self):
        return iter((self.x, self.y))

    def loader(self, **kwargs):
        """A :class:`~tinygen.data.DataLoader` over ``(x, y)``; keyword arguments go to it."""
        from .loader import DataLoader
        return DataLoader(self.x, self.y, **kwargs)

    def __repr__(self):
        return (f"Dataset({self.name!r}, split={self.split!r}, {len(self)} samples of shape {self.sample_shape}, "
                f"kind={self.kind!r})")


def _toy(name, split, n, seed):
    parts = ("train", "test") if split == "all" else (split,)
    xs, ys = [], []
    for p in parts:
        count = TOY_SIZES[p] if n is None else n
        rng = np.random.default_rng(TOY_SEEDS[p] if seed is None else (seed, ("train", "test").index(p)))
        x, y = TOY_DATASETS[name](count, rng)
        xs.append(x)
        ys.append(y)
    return Dataset(np.concatenate(xs), np.concatenate(ys), name, split, "toy", len(modes(name)))


def load_dataset(name_or_path, split="train", *, flatten=False, range=(0, 1), dtype="float32", n=None, seed=None,
                 root=None, base_url=None):
    """The dataset ``name_or_path`` (see the table above) as a :class:`Dataset` of host NumPy arrays.

    Image datasets: ``flatten``, ``range`` ((0, 1) or (-1, 1)) and ``dtype`` as in :func:`load_mnist`.
    Toys: ``n`` samples per split instead of 10,000 / 2,500, ``seed`` instead of the fixed seeds 0 / 1.
    Downloaded datasets: ``root`` (cache folder) and ``base_url`` as in :func:`download`.
    """
    split = _split_name(split)
    name = os.fspath(name_or_path) if isinstance(name_or_path, (str, os.PathLike)) else None
    if name is None:
        raise DatasetError(f"a dataset is named by a string or a folder path, got {type(name_or_path).__name__}.")
    key = name.strip().lower()
    if key == "mnist":
        x, y = load_mnist(split, flatten=flatten, range=range, dtype=dtype)
        return Dataset(x, y, "mnist", split, "image", 10)
    if key in TOY_DATASETS:
        return _toy(key, split, n, seed)
    if key in _DOWNLOADED:
        folder = download(root, _DOWNLOADED[key], base_url=base_url)
        x, y = load_mnist(split, path=folder, flatten=flatten, range=range, dtype=dtype)
        return Dataset(x, y, key, split, "image", 10)
    if os.path.isdir(name):
        x, y = load_mnist(split, path=name, flatten=flatten, range=range, dtype=dtype)
        return Dataset(x, y, name, split, "image", int(y.max()) + 1 if len(y) else 0)
    if os.path.exists(name):
        raise DatasetError(f"'{name}' is a file, not a dataset folder: give the folder that holds the IDX files.")
    valid = ", ".join(repr(d) for d in DATASET_NAMES)
    raise DatasetError(f"unknown dataset {name!r}: use one of {valid}, or the path of a folder holding "
                       f"MNIST-style IDX files.")
