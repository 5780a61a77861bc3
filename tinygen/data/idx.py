"""The IDX file format (MNIST, Fashion-MNIST, ...): reading, checking and writing.

An IDX file is a big-endian header followed by the values, row by row::

    bytes 0-1   zero
    byte  2     the value type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     the number of dimensions, ndim
    then ndim big-endian uint32 sizes, then prod(sizes) values

so the magic number (bytes 0-3 as one big-endian integer) is ``type_code << 8 | ndim``: 2051 (0x00000803) for
MNIST's uint8 images of shape (N, 28, 28) and 2049 (0x00000801) for its uint8 labels of shape (N,). Files are
often gzipped (``*.gz``); :func:`read_idx` recognises gzip by its content, whatever the name.

Every problem with a file raises :class:`DatasetError` with one sentence naming the file and what is wrong:
a wrong magic number, a file shorter (truncated) or longer than its header says, a broken gzip stream or
one that inflates beyond the size its header declares (it is never inflated further), labels and images
that do not pair up, a folder without images, or a folder that lacks the standard file names.
"""
from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np  # host-side data loading

__all__ = ["DatasetError", "IMAGES_MAGIC", "LABELS_MAGIC", "parse_idx", "read_idx", "write_idx",
           "find_idx_files", "load_idx_folder", "idx_file_names"]


class DatasetError(ValueError):
    """A dataset that cannot be found, read, verified or downloaded; the message is one sentence."""


IMAGES_MAGIC = 0x00000803  # 2051: uint8, 3 dimensions (N, rows, cols)
LABELS_MAGIC = 0x00000801  # 2049: uint8, 1 dimension (N,)

# IDX type code -> big-endian NumPy dtype
_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {dt.newbyteorder("=").name if dt.itemsize > 1 else dt.name: code for code, dt in _TYPES.items()}

# what a magic number means, for the messages
_KIND = {IMAGES_MAGIC: "uint8 images", LABELS_MAGIC: "uint8 labels"}


def _describe(magic):
    return f"{magic} (0x{magic:08X})"


def parse_idx(data, name="<bytes>", expect_magic=None):
    """The array held in the (uncompressed) IDX bytes ``data``; ``name`` is used in error messages.

    ``expect_magic`` (e.g. :data:`IMAGES_MAGIC`) requires that exact magic number. The result is a new,
    writable array in native byte order with the header's shape.
    """
    data = memoryview(data).cast("B")
    size = len(data)
    if size < 4:
        raise DatasetError(f"'{name}' is truncated: it has {size} bytes, fewer than the 4-byte IDX magic number.")
    magic = int.from_bytes(data[:4], "big")
    code, ndim = data[2], data[3]
    if expect_magic is not None and magic != expect_magic:
        raise DatasetError(f"'{name}' has the wrong magic number {_describe(magic)}: expected "
                           f"{_describe(expect_magic)} for an IDX file of {_KIND.get(expect_magic, 'values')}.")
    if data[0] != 0 or data[1] != 0 or code not in _TYPES or ndim == 0:
        raise DatasetError(f"'{name}' is not an IDX file: its magic number {_describe(magic)} is not of the form "
                           f"0x0000TTNN with a type code TT in 08, 09, 0B, 0C, 0D, 0E and NN >= 1 dimensions.")
    header = 4 + 4 * ndim
    if size < header:
        raise DatasetError(f"'{name}' is truncated: expected a {header}-byte header for {ndim} dimensions, "
                           f"got {size} bytes.")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = _TYPES[code]
    expected = header + math.prod(shape) * dtype.itemsize     # Python ints: no overflow, however large
    if size < expected:
        raise DatasetError(f"'{name}' is truncated: expected {expected} bytes for shape {shape} of "
                           f"{dtype.name}, got {size}.")
    if size > expected:
        raise DatasetError(f"'{name}' is longer than its header says: expected {expected} bytes for shape "
                           f"{shape} of {dtype.name}, got {size}.")
    flat = np.frombuffer(data, dtype=dtype, offset=header)
    return flat.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def _read_bytes(path):
    """The (gunzipped) bytes of the file at ``path``, with a :class:`DatasetError` for every failure."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DatasetError(f"the IDX file '{name}' does not exist.") from None
    except IsADirectoryError:
        raise DatasetError(f"'{name}' is a folder, not an IDX file.") from None
    except OSError as e:
        raise DatasetError(f"cannot read '{name}': {e.strerror or e}.") from None
    return _gunzip(raw, name)


_MAX_RATIO = 1032     # deflate cannot compress better than about 1032:1 (zlib's technical details)


class _GzipReader:
    """Reads a gzip stream (one member or several, back to back) a bounded number of bytes at a time."""

    def __init__(self, raw):
        self.d, self.data = zlib.decompressobj(wbits=31), raw

    def read(self, n):
        """The next ``n`` inflated bytes (fewer only where the stream ends); EOFError if it stops early."""
        parts, got = [], 0
        while got < n:
            chunk = self.d.decompress(self.data, min(n - got, 1 << 26))
            self.data = self.d.unconsumed_tail
            parts.append(chunk)
            got += len(chunk)
            if self.d.eof:
                rest = self.d.unused_data.lstrip(b"\0")        # zeros may pad the last member
                if not rest:
                    break
                self.d, self.data = zlib.decompressobj(wbits=31), rest
            elif not chunk and not self.data:
                raise EOFError
        return b"".join(parts)


def _inflate(raw, name):
    """Gunzip the IDX file ``raw`` up to the size its header declares, and not one byte further: a small
    file that would inflate to gigabytes is refused, not inflated."""
    r = _GzipReader(raw)
    head = r.read(4)
    if len(head) < 4 or head[0] or head[1] or head[2] not in _TYPES or head[3] == 0:
        return head                                  # not an IDX header: parse_idx says what is wrong
    head += r.read(4 * head[3])
    if len(head) < 4 + 4 * head[3]:
        return head                                  # a truncated header: parse_idx says so
    shape = tuple(int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(head[3]))
    declared = len(head) + math.prod(shape) * _TYPES[head[2]].itemsize
    if declared > _MAX_RATIO * len(raw) + 1024:
        raise DatasetError(f"'{name}' is truncated: its IDX header declares shape {shape} ({declared} bytes), "
                           f"more than a gzip file of {len(raw)} bytes can hold.")
    body = r.read(declared - len(head) + 1)
    if len(head) + len(body) > declared:
        raise DatasetError(f"'{name}' inflates to more than the {declared} bytes its IDX header declares "
                           f"(shape {shape}): it is corrupt or not a dataset file, and was not inflated further.")
    return head + body


def _gunzip(raw, name):
    if raw[:2] != b"\x1f\x8b":  # not gzip: plain IDX bytes
        return raw
    try:
        return _inflate(raw, name)
    except EOFError:
        raise DatasetError(f"'{name}' is a truncated gzip file: the compressed stream ends early.") from None
    except zlib.error as e:
        raise DatasetError(f"'{name}' is not a valid gzip file ({e}).") from None


def read_idx(path, expect_magic=None):
    """The array in the IDX file ``path`` (gzipped or not); see :func:`parse_idx`."""
    return parse_idx(_read_bytes(path), os.fspath(path), expect_magic)


def write_idx(path, array):
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in ``.gz``); the inverse of :func:`read_idx`."""
    a = np.asarray(array)
    key = a.dtype.newbyteorder("=").name if a.dtype.itemsize > 1 else a.dtype.name
    if key not in _CODES or a.ndim == 0 or a.ndim > 255:
        raise ValueError(f"IDX files hold 1- to 255-dimensional arrays of {sorted(_CODES)}, "
                         f"got a {a.ndim}-d array of {a.dtype}.")
    code = _CODES[key]
    header = bytes([0, 0, code, a.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in a.shape)
    payload = header + np.ascontiguousarray(a, dtype=_TYPES[code]).tobytes()
    path = os.fspath(path)
    if path.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    with open(path, "wb") as f:
        f.write(payload)
    return path


def idx_file_names(kind):
    """The standard (images, labels) base names of a split: ``train-...`` or ``t10k-...`` (no ``.gz``)."""
    prefixes = {"train": "train", "test": "t10k", "t10k": "t10k"}
    if kind not in prefixes:
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}.")
    p = prefixes[kind]
    return f"{p}-images-idx3-ubyte", f"{p}-labels-idx1-ubyte"


def _find(folder, base):
    # the standard name, gzipped or not, and the '.idx3-ubyte' spelling some mirrors use
    dotted = base.replace("-idx", ".idx")
    for cand in (base, base + ".gz", dotted, dotted + ".gz"):
        p = os.path.join(folder, cand)
        if os.path.isfile(p):
            return p
    return None


def find_idx_files(folder, kind="train"):
    """The paths of the images and labels files of split ``kind`` in ``folder`` (``.gz`` or not)."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise DatasetError(f"the IDX data folder '{folder}' does not exist or is not a folder.")
    names = idx_file_names(kind)
    found = [_find(folder, b) for b in names]
    missing = [b + "[.gz]" for b, p in zip(names, found) if p is None]
    if missing:
        raise DatasetError(f"the folder '{folder}' has no {' and no '.join(missing)} (the standard MNIST / "
                           f"Fashion-MNIST file names for the {kind} split).")
    return found[0], found[1]


def load_idx_folder(folder, kind="train"):
    """The split ``kind`` ("train" or "test") of an MNIST-style IDX folder: ``(images, labels)``.

    ``images`` is uint8 of shape (N, rows, cols) as stored; ``labels`` is int64 of shape (N,).
    """
    img_path, lab_path = find_idx_files(folder, kind)
    images = read_idx(img_path, IMAGES_MAGIC)
    if images.size == 0:
        raise DatasetError(f"'{img_path}' holds no images: its header declares shape {images.shape}, and a "
                           f"dataset needs at least one image of at least one pixel.")
    labels = read_idx(lab_path, LABELS_MAGIC).astype(np.int64)
    if len(labels) != len(images):
        raise DatasetError(f"'{lab_path}' has {len(labels)} labels but '{img_path}' has {len(images)} images; "
                           f"the two files must come from the same split.")
    return images, labels
