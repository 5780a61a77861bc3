"""Writing files that are never half-written, never redirected, and never left behind as temporaries.

Every file tinygen writes into a run folder (checkpoints, config.json, metrics.jsonl, eval.json, the PNGs) goes
through :func:`atomic_write`: the content is written to a temporary file in the same folder, created
exclusively (``O_CREAT | O_EXCL``: a file or a symbolic link already at that name makes the creation fail, so a
link planted there can never redirect the write) under an unguessable name (``.NAME.tmp-HOST-PID-TOKEN``),
flushed to disk and renamed over the target with ``os.replace`` (which replaces a link at the target, never
the file it points to). A crash or a kill -9 mid-write leaves the previous file intact; a failed write removes
its temporary and raises an ``OSError`` whose message names the file. Temporaries left by writers that were
killed on this machine are removed by the next write of the same file.

:func:`open_append` opens a log for appending and refuses a symbolic link in its place.
"""
from __future__ import annotations

import errno
import os
import secrets
import socket

__all__ = ["atomic_write", "open_append", "write_error", "pid_alive", "HOST"]

HOST = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:32] or "host"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def pid_alive(pid):
    """True if process ``pid`` exists on this machine; None where that cannot be asked safely (not POSIX:
    Windows' ``os.kill`` would terminate the process)."""
    if os.name != "posix":
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:            # EPERM: alive, owned by someone else
        return True
    return True


def write_error(path, e):
    """``e`` as an OSError whose message names ``path`` (a write() error has no file name of its own)."""
    reason = e.strerror or str(e) or type(e).__name__
    return OSError(e.errno, f"cannot write {path}: {reason}")


def _create_temporary(folder, name, mode):
    for _ in range(8):     # a name taken by chance (or by someone who guessed it): draw another
        tmp = os.path.join(folder, f".{name}.tmp-{HOST}-{os.getpid()}-{secrets.token_hex(8)}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o666)
        except FileExistsError:
            continue
        return tmp, os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": "\n"}))
    raise FileExistsError(errno.EEXIST, f"cannot create a temporary file for {name} in {folder}")


def atomic_write(path, write, binary=True):
    """Call ``write(f)`` on a new temporary file next to ``path`` (bytes, or UTF-8 text when ``binary`` is
    False) and, once it is complete and on disk, rename it over ``path``. Returns ``path``."""
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    remove_stale_temporaries(folder, name)
    tmp = None
    try:
        tmp, f = _create_temporary(folder, name, "wb" if binary else "w")
        with f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:  # including KeyboardInterrupt: never leave a temporary behind
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(e, OSError) and str(path) not in str(e):
            raise write_error(path, e) from e
        raise
    _fsync_folder(folder)
    return path


def open_append(path):
    """``path`` opened for appending UTF-8 text (created if missing); an ``OSError`` naming it if it is a
    symbolic link (a link planted there must not redirect the log into another file)."""
    path = os.fspath(path)
    if not _NOFOLLOW and os.path.islink(path):
        raise OSError(errno.ELOOP, f"cannot write {path}: it is a symbolic link")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _BINARY, 0o666)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise OSError(e.errno, f"cannot write {path}: it is a symbolic link") from None
        raise write_error(path, e) from None
    return os.fdopen(fd, "a", encoding="utf-8", newline="\n")


def remove_stale_temporaries(folder, name):
    """Remove ``.NAME.tmp-HOST-PID-*`` files of this host whose writer process is gone (killed mid-write)."""
    prefix = f".{name}.tmp-{HOST}-"
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for e in entries:
        if not e.startswith(prefix):
            continue
        pid = e[len(prefix):].split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and pid_alive(int(pid)) is False:
            try:
                os.unlink(os.path.join(folder, e))
            except OSError:
                pass


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
