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

Writing is atomic: the file is written to a temporary next to the target (``.NAME.tmp-HOST-PID-TOKEN``),
flushed to disk (fsync) and renamed over the target with ``os.replace``; a crash or kill -9 mid-write leaves the
previous checkpoint intact. A failed save removes its temporary; temporaries left by killed writers on this
machine are removed by the next save of the same file.
"""
from __future__ import annotations

import json
import math
import os
import secrets
import socket
import zipfile
import zlib

import numpy as np  # host side: the .npz format

from . import backend as _backend
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
    folder, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(2, f"cannot save to {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(21, f"cannot save to {path}: it is a folder")
    _remove_stale_temporaries(folder, name)
    tmp = os.path.join(folder, f".{name}.tmp-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, allow_pickle=False, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # including KeyboardInterrupt: never leave a temporary behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


_HOST = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:32] or "host"


def _remove_stale_temporaries(folder, name):
    """Remove ``.NAME.tmp-HOST-PID-*`` files of this host whose writer process is gone (killed mid-save)."""
    if os.name != "posix":  # os.kill(pid, 0) is a liveness test only on POSIX
        return
    prefix = f".{name}.tmp-{_HOST}-"
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for e in entries:
        if not e.startswith(prefix):
            continue
        pid = e[len(prefix):].split("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(folder, e))
            except OSError:
                pass
        except OSError:
            pass  # alive, owned by someone else


def _fsync_folder(folder):
    """Make the rename itself durable (POSIX); harmless where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------------------------------------
def load(path, device=None):
    """Read a checkpoint written by :func:`save`. Tensors and arrays are put on ``device`` (default "cpu");
    Tensors keep ``requires_grad``. A missing, corrupt or foreign file raises :class:`CheckpointError` (a
    ``ValueError``; :class:`CheckpointNotFoundError` for a missing file) naming the path and the problem."""
    path = os.fspath(path)
    be = _backend.get_backend("cpu" if device is None else device)
    if not os.path.exists(path):
        raise CheckpointNotFoundError(f"cannot load checkpoint {path}: no such file")
    if os.path.isdir(path):
        raise CheckpointError(f"cannot load checkpoint {path}: it is a folder, not a file")
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"cannot load checkpoint {path}: not a tinygen checkpoint (the file is not a "
                              f"readable .npz archive: {_short(e)})") from e
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise CheckpointError(f"cannot load checkpoint {path}: not a tinygen checkpoint (it holds a single "
                              f"NumPy array, a .npy file)")
    with npz:
        reader = _Reader(npz, path, be)
        header = reader.header()
        return reader.decode(header["root"])


def _short(e):
    msg = str(e).strip() or type(e).__name__
    return msg if len(msg) < 120 else msg[:117] + "..."


class _Reader:
    def __init__(self, npz, path, be):
        self.npz, self.path, self.be = npz, path, be
        self.files = set(npz.files)

    def fail(self, what, cause=None):
        raise CheckpointError(f"cannot load checkpoint {self.path}: {what}") from cause

    def array(self, key):
        if key not in self.files:
            self.fail(f"the header refers to an array {key!r} that the file does not contain (corrupt file)")
        try:
            return self.npz[key]
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:  # CRC, truncation
            self.fail(f"the array {key!r} is corrupt ({_short(e)})", e)

    def header(self):
        if HEADER_KEY not in self.files:
            self.fail("not a tinygen checkpoint (a .npz archive without a tinygen header: was it written with "
                      "numpy.savez?)")
        raw = self.array(HEADER_KEY)
        try:
            header = json.loads(raw.tobytes().decode("utf-8"))
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

    def decode(self, node):
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
                items = [self.decode(v) for v in node["value"]]
                return items if t == "list" else tuple(items)
            if t == "dict":
                return {self.decode(k): self.decode(v) for k, v in node["value"]}
            if t in ("array", "scalar", "tensor"):
                return self.leaf(node)
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError) as e:
            self.fail(f"its header has a malformed entry ({_short(e)!s})", e)
        self.fail(f"its header has an entry of unknown type {t!r}")

    def leaf(self, node):
        host = self.array(node["key"])
        if host.dtype.name != node["dtype"] or list(host.shape) != list(node["shape"]):
            self.fail(f"the array {node['key']!r} is {host.dtype.name} {tuple(host.shape)} but the header says "
                      f"{node['dtype']} {tuple(node['shape'])} (corrupt file)")
        if node["type"] == "scalar":
            return host[()]
        data = self.be.asarray(host)
        if node["type"] == "array":
            return data
        t = Tensor(data)
        if node.get("requires_grad"):
            t.requires_grad_(True)
        return t
