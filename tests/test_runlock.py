"""tinygen.runlock: one writer per run folder, held by flock (dropped by the kernel when the owner dies) or, where
flock is missing, by the lock file and its owner's PID. (Two real trainings of one folder: see
tests/hostile/test_run_folders.py.)"""
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tinygen import runlock
from tinygen.atomic import HOST
from tinygen.runlock import LOCK_FILE, RunLock, RunLockedError
from tinygen.runs import RunError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
posix_only = pytest.mark.skipif(os.name != "posix", reason="flock and PIDs as POSIX has them")

HOLDER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from tinygen.runlock import RunLock
    with RunLock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(60)
""")


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of tmp_path/run."""
    folder = tmp_path / "run"
    folder.mkdir()
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), REPO], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    yield folder, p
    if p.poll() is None:
        p.kill()
    p.wait()
    p.stdout.close()


def test_the_lock_file_exists_only_while_held_and_names_its_owner(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    with RunLock(folder) as lock:
        owner = json.loads((folder / LOCK_FILE).read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == HOST and lock.previous is None
    assert os.listdir(folder) == []


def test_a_folder_the_lock_made_is_removed_if_nothing_was_written(tmp_path):
    with RunLock(tmp_path / "a" / "b"):
        assert (tmp_path / "a" / "b").is_dir()
    assert not (tmp_path / "a" / "b").exists()
    with RunLock(tmp_path / "c"):
        (tmp_path / "c" / "config.json").write_text("{}")
    assert (tmp_path / "c" / "config.json").exists()


def test_a_missing_folder_or_a_file(tmp_path):
    with pytest.raises(RunError, match="there is no run folder"):
        with RunLock(tmp_path / "none", create=False):
            pass
    (tmp_path / "f").write_text("x")
    with pytest.raises(RunError, match="is a file, not a folder"):
        with RunLock(tmp_path / "f"):
            pass


@posix_only
def test_a_second_holder_is_refused_in_the_same_process(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(RunLockedError, match=f"being written by process {os.getpid()}"):
            with RunLock(tmp_path):
                pass
        assert (tmp_path / LOCK_FILE).exists()              # the refused one did not remove the holder's file


@posix_only
def test_another_process_holds_it_until_it_is_killed_then_it_is_taken_over(holder):
    folder, p = holder
    with pytest.raises(RunLockedError, match=f"being written by process {p.pid} since ") as e:
        with RunLock(folder):
            pass
    assert isinstance(e.value, RunError) and "\n" not in str(e.value)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert json.loads((folder / LOCK_FILE).read_text())["pid"] == p.pid      # left behind
    with RunLock(folder) as lock:
        assert lock.previous["pid"] == p.pid
        assert json.loads((folder / LOCK_FILE).read_text())["pid"] == os.getpid()


@posix_only
def test_without_flock_the_pid_decides(tmp_path, monkeypatch, holder):
    monkeypatch.setattr(runlock, "fcntl", None)                   # as on Windows
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "host": HOST}))
    with RunLock(tmp_path) as lock:                               # stale: its process is gone
        assert lock.previous["pid"] == dead.pid
    assert not (tmp_path / LOCK_FILE).exists()
    folder, p = holder                                            # alive: refused, saying what to delete
    (folder / LOCK_FILE).write_text(json.dumps({"pid": p.pid, "host": HOST}))
    with pytest.raises(RunLockedError, match=f"process {p.pid}.*delete {folder / LOCK_FILE}"):
        with RunLock(folder):
            pass
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "host": "elsewhere"}))
    with pytest.raises(RunLockedError, match="on elsewhere"):    # another machine's: cannot be checked
        with RunLock(tmp_path):
            pass
