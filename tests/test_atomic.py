"""tinygen.atomic: whole files or none, exclusive temporaries that a planted link cannot redirect, failures
that name the file and leave nothing behind, logs that refuse a link. (tg.save's use of it, including writers
killed with SIGKILL, is tested in test_serialization.py.)"""
import errno
import os

import pytest

from tinygen import atomic
from tinygen.atomic import atomic_write, open_append, pid_alive

posix_only = pytest.mark.skipif(os.name != "posix", reason="symbolic links and PIDs as POSIX has them")


def _names(folder):
    return sorted(os.listdir(folder))


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "f.json"
    path.write_text("old")
    assert atomic_write(path, lambda f: f.write("new ☃"), binary=False) == str(path)
    assert path.read_text(encoding="utf-8") == "new ☃" and _names(tmp_path) == ["f.json"]
    atomic_write(path, lambda f: f.write(b"\x00\x01"))
    assert path.read_bytes() == b"\x00\x01"


@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path, exc):
    path = tmp_path / "f.txt"
    path.write_text("old")

    def half_then_fail(f):
        f.write("half")
        raise exc

    with pytest.raises(type(exc)) as e:
        atomic_write(path, half_then_fail, binary=False)
    assert path.read_text() == "old" and _names(tmp_path) == ["f.txt"]
    if isinstance(exc, OSError):
        assert str(e.value.strerror) == f"cannot write {path}: No space left on device"
        assert e.value.errno == errno.ENOSPC


@posix_only
def test_a_link_at_the_target_is_replaced_never_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "run").mkdir()
    link = tmp_path / "run" / "config.json"
    link.symlink_to(victim)
    atomic_write(link, lambda f: f.write("config"), binary=False)
    assert victim.read_text() == "precious" and not link.is_symlink() and link.read_text() == "config"


@posix_only
def test_temporaries_are_created_exclusively_under_unguessable_names(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    made = []
    real_open = os.open

    def spy(path, flags, *a):
        made.append((os.path.basename(path), flags))
        return real_open(path, flags, *a)

    monkeypatch.setattr(atomic.os, "open", spy)
    atomic_write(tmp_path / "a.png", lambda f: f.write(b"png"))
    atomic_write(tmp_path / "a.png", lambda f: f.write(b"png"))
    temps = [(n, fl) for n, fl in made if ".tmp-" in n]
    assert len(temps) == 2 and temps[0][0] != temps[1][0]                      # a new random name each time
    assert all(fl & os.O_CREAT and fl & os.O_EXCL for _, fl in temps)          # never opens an existing name


@posix_only
def test_a_temporary_name_already_taken_is_never_written_through(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    tokens = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: next(tokens))
    taken = tmp_path / f".f.txt.tmp-{atomic.HOST}-{os.getpid()}-aaaa"
    taken.symlink_to(victim)                                                  # planted at the first name drawn
    atomic_write(tmp_path / "f.txt", lambda f: f.write("data"), binary=False)
    assert victim.read_text() == "precious" and (tmp_path / "f.txt").read_text() == "data"


@posix_only
def test_open_append_refuses_a_link_and_appends_to_a_file(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / "metrics.jsonl").symlink_to(victim)
    with pytest.raises(OSError, match="metrics.jsonl: it is a symbolic link"):
        open_append(tmp_path / "metrics.jsonl")
    assert victim.read_text() == "precious\n"
    with open_append(tmp_path / "log") as f:
        f.write("a\n")
    with open_append(tmp_path / "log") as f:
        f.write("b\n")
    assert (tmp_path / "log").read_text() == "a\nb\n"


@posix_only
def test_pid_alive():
    import subprocess
    import sys
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert pid_alive(os.getpid()) is True and pid_alive(dead.pid) is False
