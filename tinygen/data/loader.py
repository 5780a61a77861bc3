"""DataLoader: mini-batches of host arrays as tinygen Tensors.

    images, labels = tinygen.data.load_mnist("train")
    for x, y in DataLoader(images, labels, batch_size=64, device="cuda"):
        ...                              # x: float32 Tensor (64, 1, 28, 28), y: int64 Tensor (64,)

Shuffling uses the global seed: at the start of each epoch the loader draws a permutation from
``tinygen.backend.cpu_generator()``, so ``tinygen.manual_seed(n)`` makes the order of every epoch repeatable
(and the draw advances that generator, as any other random op does).

Batches: ``len(loader)`` of them per epoch, all of ``batch_size`` samples except possibly the last, which
``drop_last=True`` leaves out. Floating-point arrays become Tensors of their own dtype (or of ``dtype``);
integer arrays (labels) become int64; booleans stay bool.

Resuming mid-epoch: :meth:`DataLoader.state_dict` records the epoch count, the epoch's permutation and how
many batches were already handed out; :meth:`DataLoader.load_state_dict` makes the next iteration continue
from there with the same order.
"""
from __future__ import annotations

import numpy as np  # host-side batching

from .. import backend as _backend
from ..creation import tensor as _tensor
from ..tensor import Tensor

__all__ = ["DataLoader"]


def _host(a, i):
    if isinstance(a, Tensor):
        a = _backend.to_numpy(a.data)
    a = np.asarray(a)
    if a.ndim == 0:
        raise ValueError(f"DataLoader array {i} is a scalar; each array needs a first (sample) axis.")
    if a.dtype == object or a.dtype.kind not in "fiub":
        raise ValueError(f"DataLoader array {i} has dtype {a.dtype}; use floating-point, integer or bool arrays.")
    return a


class DataLoader:
    """Iterate over ``arrays`` (same length along axis 0) in mini-batches of tinygen Tensors.

    ``DataLoader(*arrays, batch_size=64, shuffle=True, drop_last=False, device=None, dtype=None)``; a single
    object with an ``arrays`` attribute (such as the :class:`~tinygen.data.Dataset` of ``load_dataset``) may be
    passed instead of the arrays. Each iteration is one epoch and yields tuples of Tensors, one per array.
    """

    def __init__(self, *arrays, batch_size=64, shuffle=True, drop_last=False, device=None, dtype=None):
        if len(arrays) == 1 and hasattr(arrays[0], "arrays"):
            arrays = tuple(arrays[0].arrays)
        if not arrays:
            raise ValueError("DataLoader needs at least one array.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}.")
        hosts = [_host(a, i) for i, a in enumerate(arrays)]
        lengths = [len(a) for a in hosts]
        if len(set(lengths)) > 1:
            raise ValueError(f"DataLoader arrays must have the same length along axis 0, got lengths "
                             f"{', '.join(map(str, lengths))}.")
        if dtype is not None:
            dtype = _backend.DType(str(np.dtype(str(dtype)).name))
            if not dtype.is_floating:
                raise ValueError(f"dtype must be a floating-point dtype (it applies to float arrays), got {dtype!r}.")
        if device is not None:
            device = _backend.normalize_device(device)
            _backend.get_backend(device)  # fails now, with one sentence, when the device is not there
        self.arrays = tuple(self._prepare(a, dtype) for a in hosts)
        self.num_samples = lengths[0]
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.device = device
        self.dtype = dtype
        self.epoch = 0           # epochs started so far
        self._perm = None        # the current epoch's order (None: in order)
        self._batch = 0          # batches of the current epoch already handed out
        self._resume = False     # next __iter__ continues the current epoch

    @staticmethod
    def _prepare(a, dtype):
        kind = a.dtype.kind
        if kind == "f":
            target = a.dtype if dtype is None else np.dtype(str(dtype))
        elif kind in "iu":
            target = np.dtype(np.int64)
        else:
            target = a.dtype
        return np.ascontiguousarray(a, dtype=target)

    def __len__(self):
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self):
        if not self._resume:
            self.epoch += 1
            self._batch = 0
            self._perm = _backend.cpu_generator().permutation(self.num_samples) if self.shuffle else None
        self._resume = False
        return self._batches(self._perm, self._batch)

    def _batches(self, perm, start):
        b = self.batch_size
        for k in range(start, len(self)):
            sl = slice(k * b, min((k + 1) * b, self.num_samples))
            idx = sl if perm is None else perm[sl]
            self._batch = k + 1
            yield tuple(_tensor(a[idx], device=self.device) for a in self.arrays)

    # --- resuming -------------------------------------------------------------------------------------------
    def state_dict(self):
        """Where the loader is: ``{"epoch", "batch", "perm"}`` (``perm`` is None when not shuffling)."""
        perm = None if self._perm is None else self._perm.copy()
        return {"epoch": self.epoch, "batch": self._batch, "perm": perm}

    def load_state_dict(self, state):
        """Continue from ``state``: the next iteration hands out the rest of that epoch, in the same order."""
        perm = state.get("perm")
        batch = int(state.get("batch", 0))
        if perm is not None:
            perm = np.asarray(perm, dtype=np.int64)
            if perm.shape != (self.num_samples,) or not np.array_equal(np.sort(perm), np.arange(self.num_samples)):
                raise ValueError(f"the saved permutation is not a permutation of this loader's "
                                 f"{self.num_samples} samples.")
        if not 0 <= batch <= len(self):
            raise ValueError(f"the saved batch position {batch} is outside 0..{len(self)}.")
        self.epoch = int(state.get("epoch", 0))
        self._perm, self._batch = perm, batch
        # mid-epoch: finish it; at an epoch boundary: the next iteration starts a new epoch as usual
        self._resume = 0 < batch < len(self)

    def __repr__(self):
        shapes = ", ".join(f"{tuple(a.shape[1:])} {a.dtype}" for a in self.arrays)
        return (f"DataLoader({self.num_samples} samples of [{shapes}], batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, device={self.device!r})")
