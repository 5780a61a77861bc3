"""One writer per run folder: ``with RunLock(folder):`` while :func:`tinygen.train.train` writes it.

The lock is the file ``FOLDER/.tinygen.lock``, holding the owner's PID, host and start time. On POSIX it is
held with ``fcntl.flock``, which the kernel drops when the owning process ends in any way (kill -9 included):
a lock file left behind by a killed process is therefore not held, and the next training takes it over. Where
``flock`` is missing or the file system refuses it, the file itself is the lock (created with ``O_EXCL``) and
a lock whose PID is gone from this machine is taken over; where that cannot be known (not POSIX), the error
says which file to delete.

A second process that wants the folder gets a :class:`RunLockedError` (a :class:`tinygen.runs.RunError`) naming
the process that has it.
"""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from .atomic import HOST, pid_alive
from .runs import RunError, now_iso

try:
    import fcntl
except ImportError:                                   # Windows
    fcntl = None

__all__ = ["RunLock", "RunLockedError", "LOCK_FILE"]

LOCK_FILE = ".tinygen.lock"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class RunLockedError(RunError):
    """The run folder is being written by another process."""


class RunLock:
    """``with RunLock(folder, create=True):`` this process alone writes ``folder`` inside the block.

    ``create``: make the folder if it is missing (it is removed again at the end if nothing was written into
    it); otherwise a missing folder is a RunError. ``previous``: the owner recorded in a stale lock file that
    was taken over (a dict), or None."""

    def __init__(self, folder, create=True):
        self.folder, self.create = Path(folder), create
        self.path = self.folder / LOCK_FILE
        self.fd, self.created, self.previous = None, False, None

    def __enter__(self):
        if not self.folder.exists():
            if not self.create:
                raise RunError(f"there is no run folder {str(self.folder)!r}")
            self.folder.mkdir(parents=True)
            self.created = True
        elif not self.folder.is_dir():
            raise RunError(f"the output path {str(self.folder)!r} is a file, not a folder")
        try:
            self.fd, self.previous = _acquire(self.path, self.folder)
        except BaseException:
            self._remove_created_folder()
            raise
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            try:
                os.unlink(self.path)          # while still holding it: no one can take a lock we are dropping
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None
        self._remove_created_folder()
        return False

    def _remove_created_folder(self):
        if self.created:
            try:
                self.folder.rmdir()           # only if empty: nothing was written
            except OSError:
                pass


def _owner():
    return json.dumps({"pid": os.getpid(), "host": HOST, "started": now_iso()}).encode()


def _read_owner(fd):
    try:
        raw = os.pread(fd, 4096, 0) if hasattr(os, "pread") else os.read(fd, 4096)
        owner = json.loads(raw.decode("utf-8"))
        return owner if isinstance(owner, dict) else {}
    except (OSError, ValueError):
        return {}


def _busy(folder, owner, path, hint=""):
    who = f"process {owner.get('pid', '?')}"
    if owner.get("host") not in (None, HOST):
        who += f" on {owner['host']}"
    since = f" since {owner['started']}" if owner.get("started") else ""
    return RunLockedError(f"the run folder {str(folder)!r} is being written by {who}{since}: wait for it to end, "
                          f"or stop it, and try again{hint}")


def _open(path):
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
    except OSError as e:
        what = "it is a symbolic link" if e.errno == errno.ELOOP else e.strerror
        raise RunError(f"cannot lock the run folder: cannot open {path} ({what})") from None


def _acquire(path, folder):
    """(fd, previous owner or None) of the lock file, held; RunLockedError if another process holds it."""
    if fcntl is None:
        return _acquire_by_pid(path, folder)
    for _ in range(10):
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(fd)
            os.close(fd)
            raise _busy(folder, owner, path) from None
        except OSError:                       # a file system without flock
            empty = os.fstat(fd).st_size == 0
            os.close(fd)
            if empty:
                _unlink(path)                 # the file _open just made
            return _acquire_by_pid(path, folder)
        if _same_file(fd, path):              # not unlinked by an owner releasing it just now
            previous = _read_owner(fd) or None
            os.ftruncate(fd, 0)
            os.write(fd, _owner())
            return fd, previous
        os.close(fd)
    raise RunError(f"cannot lock the run folder {str(folder)!r}: its lock file {path} keeps changing")


def _same_file(fd, path):
    try:
        a, b = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _acquire_by_pid(path, folder):
    """The lock file itself is the lock; a stale one (its PID gone from this machine) is taken over."""
    previous = None
    for _ in range(10):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
        except FileExistsError:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
            owner = _read_owner(fd)
            os.close(fd)
            pid = owner.get("pid")
            if owner.get("host") == HOST and isinstance(pid, int) and pid_alive(pid) is False:
                _unlink(path)                 # its writer is gone: a stale lock
                previous = owner
                continue
            raise _busy(folder, owner, path, f" (if no process writes it, delete {path})") from None
        os.write(fd, _owner())
        return fd, previous
    raise RunError(f"cannot lock the run folder {str(folder)!r}: its lock file {path} keeps changing")


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
