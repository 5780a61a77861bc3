"""Checkpoints: :func:`save` and :func:`load` for Tensors, arrays and nested state (model and optimizer state
dicts, training metadata).

The file is a plain ``.npz`` (a zip of ``.npy`` files; no pickle anywhere, loaded with ``allow_pickle=False``):

* every array or Tensor is stored under a generated key (``a0``, ``a1``, ...), moved to the host first;
* the entry ``__tinygen_header__`` is UTF-8 JSON (as uint8 bytes) that says what the file holds::

      {"format": "tinygen-checkpoint", "version": 1, "tinygen": "0.1.0",
       "root": {"type": "dict", "value": [[{"type": "str", "value": "w"},
                                           {"type": "tensor", "key": "a0", "dtype": "float32",
                                            "shape": [3, 4], "requires_grad": true, "device": "cpu"}]]}}

  Node types: none, bool, int, float (NaN and infinities as the strings "nan", "inf", "-inf"), str, list,
  tuple, dict (a list of [key, value] pairs, so int keys stay ints), array (a backend array), scalar (a NumPy
  scalar) and tensor. ``numpy.load`` and any zip tool can read the arrays without tinygen.

Writing is atomic (:func:`tinygen.atomic.atomic_write`): the file is written to an exclusively created
temporary next to the target (``.NAME.tmp-HOST-PID-TOKEN``), flushed to disk (fsync) and renamed over the target
with ``os.replace``; a crash or kill -9 mid-write leaves the previous checkpoint intact. A failed save removes
its temporary; temporaries left by killed writers on this machine are removed by the next save of the same file.

Loading trusts nothing in the file (see :func:`load`): a forged, truncated or hostile file raises
:class:`CheckpointError` before any large allocation.
"""
from __future__ import annotations

import json
import math
import os
import zipfile
import zlib

import numpy as np  # host side: the .npz format

from . import backend as _backend
from .atomic import atomic_write
from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError", "CheckpointNotFoundError", "FORMAT", "VERSION"]

FORMAT = "tinygen-checkpoint"
VERSION = 1
HEADER_KEY = "__tinygen_header__"
_KINDS = "biuf"  # bool, signed and unsigned ints, floats
_WHAT = "Tensors, backend arrays, NumPy scalars, numbers, strings, None, and dicts/lists/tuples of them"


class CheckpointError(ValueError):
    """A checkpoint cannot be loaded: missing, unreadable, corrupt, not a tinygen checkpoint, or too new."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint file does not exist (also a ``FileNotFoundError``)."""


# ---------------------------------------------------------------------------------------------------------
# save
# ---------------------------------------------------------------------------------------------------------
def _encode(obj, arrays, where, active, key=False):
    """The header node for ``obj``; arrays go into ``arrays`` (host NumPy). ``where`` names obj for errors."""
    if obj is None:
        return {"type": "none"}
    if isinstance(obj, np.generic) and not key:  # before float: numpy.float64 is a float subclass
        host = np.asarray(obj)
        kind_ok = host.dtype.kind in _KINDS
        return _store(host, {"type": "scalar"}, arrays, where) if kind_ok else _bad_dtype(host, where)
    if isinstance(obj, bool):
        return {"type": "bool", "value": obj}
    if isinstance(obj, int):
        return {"type": "int", "value": int(obj)}
    if isinstance(obj, float):
        return {"type": "float", "value": float(obj) if math.isfinite(obj) else repr(float(obj))}
    if isinstance(obj, str):
        return {"type": "str", "value": str(obj)}
    if isinstance(obj, (list, tuple, dict)):
        if key and not isinstance(obj, tuple):
            raise TypeError(f"save: a dict key at {where} is a {type(obj).__name__}; keys must be strings, "
                            f"numbers, None, bools or tuples of them")
        if id(obj) in active:
            raise ValueError(f"save: {where} contains itself (a reference cycle)")
        if len(active) >= MAX_DEPTH:
            raise ValueError(f"save: obj is nested more than {MAX_DEPTH} levels deep (containers inside "
                             f"containers); a checkpoint holds at most {MAX_DEPTH}")
        active.add(id(obj))
        try:
            if isinstance(obj, dict):
                items = [[_encode(k, arrays, f"{where} (a key)", active, key=True),
                          _encode(v, arrays, f"{where}[{k!r}]", active)] for k, v in obj.items()]
                return {"type": "dict", "value": items}
            return {"type": "tuple" if isinstance(obj, tuple) else "list",
                    "value": [_encode(v, arrays, f"{where}[{i}]", active, key) for i, v in enumerate(obj)]}
        finally:
            active.discard(id(obj))
    if key:
        raise TypeError(f"save: a dict key at {where} is a {type(obj).__name__}; keys must be strings, numbers, "
                        f"None, bools or tuples of them")
    if isinstance(obj, Tensor):
        host = _backend.to_numpy(obj.data)
        node = {"type": "tensor", "requires_grad": bool(obj.requires_grad), "device": obj.device}
    else:
        try:
            host = _backend.to_numpy(obj)
        except (TypeError, _backend.DeviceError):
            raise TypeError(f"save: cannot store the {type(obj).__name__} at {where}; a checkpoint holds "
                            f"{_WHAT}") from None
        node = {"type": "array"}
    host = np.asarray(host)
    return _store(host, node, arrays, where) if host.dtype.kind in _KINDS else _bad_dtype(host, where)


def _store(host, node, arrays, where):
    name = f"a{len(arrays)}"
    arrays[name] = host
    node.update(key=name, dtype=host.dtype.name, shape=list(host.shape))
    return node


def _bad_dtype(host, where):
    raise TypeError(f"save: the value at {where} has dtype {host.dtype}; a checkpoint holds bool, int, uint and "
                    f"float arrays")


def save(obj, path):
    """Write ``obj`` (a Tensor, an array, or nested dicts/lists/tuples of Tensors, arrays, numbers, strings,
    None and bools) to ``path`` as a tinygen checkpoint, atomically: the previous file at ``path`` is replaced
    only once the new one is completely on disk."""
    import tinygen
    path = os.fspath(path)
    arrays = {}
    root = _encode(obj, arrays, "obj", set())
    header = {"format": FORMAT, "version": VERSION, "tinygen": getattr(tinygen, "__version__", None),
              "root": root}
    arrays[HEADER_KEY] = np.frombuffer(json.dumps(header, allow_nan=False).encode("utf-8"), dtype=np.uint8)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(2, f"cannot save to {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(21, f"cannot save to {path}: it is a folder")
    atomic_write(path, lambda f: np.savez(f, allow_pickle=False, **arrays))


# ---------------------------------------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------------------------------------
def load(path, device=None):
    """Read a checkpoint written by :func:`save`. Tensors and arrays are put on ``device`` (default "cpu");
    Tensors keep ``requires_grad``. A missing, corrupt, foreign or hostile file raises :class:`CheckpointError`
    (a ``ValueError``; :class:`CheckpointNotFoundError` for a missing file) naming the path and the problem.

    Nothing in the file is trusted: each member's size is checked against the shape and dtype its .npy header
    declares before a byte of it is read, compressed members that would inflate implausibly (a zip bomb) are
    refused, the header's nesting is bounded, and only the dtypes :func:`save` writes are accepted."""
    path = os.fspath(path)
    be = _backend.get_backend("cpu" if device is None else device)
    if not os.path.exists(path):
        raise CheckpointNotFoundError(f"cannot load checkpoint {path}: no such file")
    if os.path.isdir(path):
        raise CheckpointError(f"cannot load checkpoint {path}: it is a folder, not a file")
    zf = _open_zip(path)
    with zf:
        reader = _Reader(zf, path, be)
        header = reader.header()
        return reader.decode(header["root"])


def _open_zip(path):
    def fail(why, e=None):
        raise CheckpointError(f"cannot load checkpoint {path}: not a tinygen checkpoint ({why})") from e
    try:
        with open(path, "rb") as f:
            if f.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
                fail("it holds a single NumPy array, a .npy file")
        return zipfile.ZipFile(path)
    except CheckpointError:
        raise
    except (OSError, ValueError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile) as e:
        fail(f"the file is not a readable .npz archive: {_short(e)}", e)


def _short(e):
    msg = str(e).strip() or type(e).__name__
    return msg if len(msg) < 120 else msg[:117] + "..."


_NPY_MAGIC = b"\x93NUMPY"
MAX_DEPTH = 100              # containers inside containers: far more than any state dict needs
MAX_RATIO = 100              # a compressed member may inflate this much (tinygen itself never compresses) ...
_SMALL = 16 * 2 ** 20        # ... unless it stays below 16 MiB anyway
_MEMBER_ERRORS = (OSError, ValueError, EOFError, KeyError, RuntimeError, NotImplementedError, zipfile.BadZipFile,
                  zlib.error)


class _Reader:
    """Reads the members of an open checkpoint archive, refusing anything :func:`save` would not write."""

    def __init__(self, zf, path, be):
        self.zf, self.path, self.be = zf, path, be
        self.members = {}
        for info in zf.infolist():
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            self.members[key] = info

    def fail(self, what, cause=None):
        raise CheckpointError(f"cannot load checkpoint {self.path}: {what}") from cause

    def array(self, key):
        info = self.members.get(key)
        if info is None:
            self.fail(f"the header refers to an array {key!r} that the file does not contain (corrupt file)")
        self._check_inflation(key, info)
        try:
            with self.zf.open(info) as f:
                shape, order, dtype = self._npy_header(key, f)
                self._check_size(key, info, f.tell(), shape, dtype)
                out = np.empty(shape, dtype=dtype, order=order)
                _read_into(f, out)
                f.read(1)                      # at the end: makes zipfile check the member's CRC
        except CheckpointError:
            raise
        except _MEMBER_ERRORS as e:            # CRC, truncation, a broken zip structure
            self.fail(f"the array {key!r} is corrupt ({_short(e)})", e)
        return out

    def _check_inflation(self, key, info):
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                self.fail(f"the array {key!r} is stored as {info.compress_size} bytes but declares "
                          f"{info.file_size} (corrupt file)")
            return
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > MAX_RATIO and info.file_size > _SMALL:
            self.fail(f"the member {key!r} would inflate {ratio:,.0f}-fold, from {info.compress_size:,} to "
                      f"{info.file_size:,} bytes; refusing an implausible compression ratio (a zip bomb?)")

    def _npy_header(self, key, f):
        try:
            version = np.lib.format.read_magic(f)
        except ValueError:
            self.fail(f"the member {key!r} is not .npy data (a tinygen checkpoint holds only .npy arrays)")
        if version not in ((1, 0), (2, 0)):
            self.fail(f"the array {key!r} is in .npy format version {version}, which tinygen does not write")
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        try:
            shape, fortran, dtype = read(f)
        except (ValueError, TypeError, SyntaxError) as e:
            self.fail(f"the array {key!r} has a malformed .npy header ({_short(e)})", e)
        if dtype.kind not in _KINDS or dtype.fields is not None or dtype.subdtype is not None:
            self.fail(f"the array {key!r} has dtype {dtype}, which save never writes (a checkpoint holds bool, "
                      f"int, uint and float arrays)")
        return shape, "F" if fortran else "C", dtype

    def _check_size(self, key, info, header_bytes, shape, dtype):
        """Before reading: the member must hold exactly the bytes its shape and dtype declare."""
        nbytes = math.prod(shape) * dtype.itemsize
        if info.file_size - header_bytes != nbytes:
            self.fail(f"the array {key!r} declares shape {tuple(shape)} of {dtype} ({nbytes:,} bytes) but the "
                      f"file holds {max(0, info.file_size - header_bytes):,} bytes for it (corrupt or forged "
                      f"file)")

    def header(self):
        if HEADER_KEY not in self.members:
            self.fail("not a tinygen checkpoint (a .npz archive without a tinygen header: was it written with "
                      "numpy.savez?)")
        raw = self.array(HEADER_KEY)
        try:
            header = json.loads(raw.tobytes().decode("utf-8"))
        except RecursionError:
            self.fail(f"its header is nested too deeply (a checkpoint nests at most {MAX_DEPTH} levels)")
        except (UnicodeDecodeError, ValueError) as e:
            self.fail("its header is not valid JSON (corrupt file)", e)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            self.fail(f"not a tinygen checkpoint (its header names the format "
                      f"{header.get('format') if isinstance(header, dict) else None!r})")
        version = header.get("version")
        if not isinstance(version, int) or version < 1:
            self.fail(f"its header has an invalid format version {version!r}")
        if version > VERSION:
            self.fail(f"it was written by a newer tinygen ({header.get('tinygen')}) in checkpoint format version "
                      f"{version}, and this tinygen reads versions up to {VERSION}; upgrade tinygen")
        if "root" not in header:
            self.fail("its header has no 'root' entry (corrupt file)")
        return header

    def decode(self, node, depth=0):
        if depth > MAX_DEPTH:
            self.fail(f"its header is nested more than {MAX_DEPTH} levels deep (corrupt or forged file)")
        try:
            t = node["type"]
            if t == "none":
                return None
            if t in ("bool", "int", "str"):
                v = node["value"]
                if type(v) is not {"bool": bool, "int": int, "str": str}[t]:
                    raise TypeError(t)
                return v
            if t == "float":
                return float(node["value"])
            if t in ("list", "tuple"):
                items = [self.decode(v, depth + 1) for v in node["value"]]
                return items if t == "list" else tuple(items)
            if t == "dict":
                return {self.decode(k, depth + 1): self.decode(v, depth + 1) for k, v in node["value"]}
            if t in ("array", "scalar", "tensor"):
                return self.leaf(node)
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError) as e:
            self.fail(f"its header has a malformed entry ({_short(e)!s})", e)
        self.fail(f"its header has an entry of unknown type {t!r}")

    def leaf(self, node):
        key = node["key"]
        if not isinstance(key, str) or key == HEADER_KEY:
            raise TypeError(f"array key {key!r}")
        host = self.array(key)
        if host.dtype.name != node["dtype"] or list(host.shape) != list(node["shape"]):
            self.fail(f"the array {key!r} is {host.dtype.name} {tuple(host.shape)} but the header says "
                      f"{node['dtype']} {tuple(node['shape'])} (corrupt file)")
        if node["type"] == "scalar":
            if host.shape != ():
                raise ValueError(f"the scalar {key!r} has shape {host.shape}")
            return host[()]
        data = self.be.asarray(host)
        if node["type"] == "array":
            return data
        t = Tensor(data)
        if node.get("requires_grad"):
            t.requires_grad_(True)
        return t


def _read_into(f, out):
    """Fill ``out``'s memory from the file object ``f`` (no second copy of the data)."""
    view = memoryview(out.reshape(-1, order="A").view(np.uint8)) if out.size else memoryview(b"")
    done = 0
    while done < len(view):
        n = f.readinto(view[done:])
        if not n:
            raise EOFError(f"{len(view) - done} bytes missing")
        done += n
