"""Datasets for tinygen: embedded MNIST-10k, the IDX loader and downloader, 2-D toy mixtures, and DataLoader.

    from tinygen.data import DataLoader, load_dataset, load_mnist
    images, labels = load_mnist("train")                     # 8,000 embedded images, float32 (N, 1, 28, 28)
    x, y = load_dataset("ring8")                             # 10,000 samples of the ring of 8 Gaussians
    for xb, yb in DataLoader(images, labels, batch_size=64): # Tensors; shuffled with tinygen.manual_seed
        ...

Everything here returns host NumPy arrays except :class:`DataLoader`, which hands out Tensors on a device.
Errors about data (missing, truncated or corrupt files, failed downloads, unknown names) raise
:class:`DatasetError`, a ``ValueError``, with one sentence. The embedded MNIST files are by Yann LeCun and
Corinna Cortes (a derivative of NIST), under CC BY-SA 3.0: see the NOTICE file.
"""
from .idx import (DatasetError, IMAGES_MAGIC, LABELS_MAGIC, find_idx_files, load_idx_folder, parse_idx, read_idx,
                  write_idx)
from .download import CACHE_ENV, DOWNLOADS, URL_ENV, cache_dir, download, verify_md5
from .mnist import (EMBEDDED_FILES, EMBEDDED_MD5, MNIST_NUM_TRAIN, MNIST_SPLIT_SEED, embedded_mnist, load_mnist,
                    mnist_split_indices)
from .toy import MIXTURES, TOY_DATASETS, grid25, modes, ring8, sample_toy, swissroll, toy_std
from .loader import DataLoader
from .datasets import DATASET_NAMES, TOY_SEEDS, TOY_SIZES, Dataset, load_dataset

__all__ = [
    "DatasetError", "IMAGES_MAGIC", "LABELS_MAGIC", "find_idx_files", "load_idx_folder", "parse_idx", "read_idx",
    "write_idx", "CACHE_ENV", "DOWNLOADS", "URL_ENV", "cache_dir", "download", "verify_md5", "EMBEDDED_FILES",
    "EMBEDDED_MD5", "MNIST_NUM_TRAIN", "MNIST_SPLIT_SEED", "embedded_mnist", "load_mnist", "mnist_split_indices",
    "MIXTURES", "TOY_DATASETS", "grid25", "modes", "ring8", "sample_toy", "swissroll", "toy_std", "DataLoader",
    "DATASET_NAMES", "TOY_SEEDS", "TOY_SIZES", "Dataset", "load_dataset",
]
