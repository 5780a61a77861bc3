"""Hostile run folders: what ``tinygen train`` (``--resume``, ``--overwrite``), ``sample`` and ``eval`` do when
the folder is damaged, shared, booby-trapped or not a tinygen run at all.

* a config.json that lacks what a resume needs (one sentence, never a KeyError);
* two trainings of one folder at once (the second is refused while the first runs; a lock left by a process
  killed with SIGKILL is taken over);
* symbolic links planted where tinygen writes (at the temporary names older versions used, and at the final
  names): the file they point to is never written;
* a write that fails (a full disk): the temporary is removed and the sentence names the file and the
  checkpoint that is kept;
* ``--overwrite`` on a folder that is not a tinygen run, or a run with the user's own files beside it.
"""
import errno
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygen as tg
from tinygen import serialization
from tinygen.runlock import LOCK_FILE

posix_only = pytest.mark.skipif(os.name != "posix", reason="symbolic links, SIGKILL and flock are POSIX")


def _resume(gan_run, steps=4, *extra):
    return ("train", "gan", "--out", gan_run, "--resume", "--steps", steps, *extra)


def _temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


# --- item 6: config.json without what a resume needs ------------------------------------------------------------
@pytest.mark.parametrize("entry", ["model.config", "model.kind", "data", "data.name", "training", "model"])
def test_a_config_without_an_entry_is_one_sentence(gan_run, run_main, one_sentence, entry):
    path = gan_run / "config.json"
    cfg = json.loads(path.read_text())
    *parents, last = entry.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    del node[last]
    path.write_text(json.dumps(cfg))
    for argv in (_resume(gan_run), ("sample", gan_run)):
        one_sentence(*run_main(*argv)[::2], path, f"is missing {entry!r}")


# --- item 8: one writer per run folder ------------------------------------------------------------------------
@posix_only
def test_a_second_training_of_a_busy_folder_is_refused_and_a_killed_ones_lock_taken_over(
        gan_run, run_main, one_sentence):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    first = subprocess.Popen([sys.executable, "-m", "tinygen.cli", *map(str, _resume(gan_run, 10 ** 6))],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    lock = gan_run / LOCK_FILE
    try:
        deadline = time.time() + 60
        while not (lock.exists() and f'"pid": {first.pid}' in lock.read_text()
                   and '"steps": 1000000' in (gan_run / "config.json").read_text()):
            assert time.time() < deadline and first.poll() is None, "the first training never started"
            time.sleep(0.05)
        before = (gan_run / "config.json").read_text()
        for argv in (["train", "gan", "--data", "ring8", "--steps", "3", "--out", gan_run, "--overwrite"],
                     _resume(gan_run, 5)):
            one_sentence(*run_main(*argv)[::2], f"is being written by process {first.pid}")
        assert (gan_run / "config.json").read_text() == before          # nothing of the first run was touched
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert f'"pid": {first.pid}' in lock.read_text()                     # left behind by the killed process
    step = tg.load(gan_run / "checkpoint.npz")["step"]
    code, out, err = run_main(*_resume(gan_run, step + 2))
    assert code == 0, err
    assert f"done: step {step + 2}" in out and not lock.exists()          # taken over, then released


# --- item 9: planted links never redirect a write; a failed write names the file and the checkpoint kept ------------
@posix_only
def test_planted_symlinks_never_redirect_a_write(gan_run, run_main, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    pid = os.getpid()                            # the commands below run in this process: their PID is known
    planted = [f".config.json.tmp-{pid}", f".metrics.jsonl.tmp-{pid}", ".eval.json.tmp", f".curves.png.{pid}.tmp",
               f".samples_000004.png.{pid}.tmp", f".sample.png.{pid}.tmp", "curves.png", "sample.png"]
    for name in planted:
        (gan_run / name).unlink(missing_ok=True)
        (gan_run / name).symlink_to(victim)
    code, _, err = run_main(*_resume(gan_run))
    assert code == 0, err
    code, _, err = run_main("sample", gan_run)
    assert code == 0, err
    code, _, err = run_main("eval", gan_run)
    assert code == 0, err
    assert victim.read_text() == "precious\n"
    assert not (gan_run / "curves.png").is_symlink() and not (gan_run / "sample.png").is_symlink()
    assert json.loads((gan_run / "eval.json").read_text())["step"] == 4


def _disk_full(*a, **kw):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_failed_write_on_resume_names_the_file_and_the_checkpoint_kept(gan_run, run_main, one_sentence,
                                                                         monkeypatch):
    before = {f: (gan_run / f).read_bytes() for f in ("config.json", "metrics.jsonl", "checkpoint.npz")}
    monkeypatch.setattr(os, "fsync", _disk_full)
    code, _, err = run_main(*_resume(gan_run))
    monkeypatch.undo()
    line = one_sentence(code, err, "cannot write", "No space left on device",
                        f"the checkpoint of step 2 in {gan_run / 'checkpoint.npz'} is kept")
    assert "[Errno" not in line
    assert _temporaries(gan_run) == []
    assert {f: (gan_run / f).read_bytes() for f in before} == before


def test_a_failed_checkpoint_write_names_it_and_keeps_the_previous_one(tmp_path, run_main, one_sentence,
                                                                       monkeypatch):
    real, calls = serialization.np.savez, []

    def savez_then_disk_full(f, *a, **kw):
        calls.append(1)
        if len(calls) == 1:
            return real(f, *a, **kw)                 # the checkpoint of step 0
        f.write(b"half a checkpoint")
        _disk_full()

    monkeypatch.setattr(serialization.np, "savez", savez_then_disk_full)
    out = tmp_path / "run"
    code, _, err = run_main("train", "gan", "--data", "ring8", "--steps", "6", "--batch-size", "64", "--out", out)
    monkeypatch.undo()
    one_sentence(code, err, f"cannot write {out / 'checkpoint.npz'}: No space left on device",
                 f"the checkpoint of step 0 in {out / 'checkpoint.npz'} is kept")
    assert _temporaries(out) == [] and tg.load(out / "checkpoint.npz")["step"] == 0


# --- item 10: --overwrite deletes only a tinygen run's own files --------------------------------------------
def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("config", [{"name": "my project", "lr": 3}, "not json {", None])
def test_overwrite_never_touches_a_folder_that_is_not_a_tinygen_run(tmp_path, run_main, one_sentence, config):
    folder = tmp_path / "mine"
    folder.mkdir()
    if config is not None:
        (folder / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    else:
        tg.save({"mine": np.arange(3)}, folder / "checkpoint.npz")
    for name in ("curves.png", "samples_000001.png", "latent.png", "notes.txt"):
        (folder / name).write_bytes(b"the user's own " + name.encode())
    before = _snapshot(folder)
    for extra in (["--overwrite"], []):
        one_sentence(*run_main("train", "gan", "--data", "ring8", "--steps", "2", "--out", folder, *extra)[::2],
                     repr(str(folder)), "tinygen will neither delete nor write over")
    assert _snapshot(folder) == before


def test_overwrite_deletes_the_runs_own_files_and_nothing_else(gan_run, run_main):
    assert run_main("eval", gan_run)[0] == 0
    (gan_run / "sub").mkdir()
    mine = {"notes.txt": b"notes", "my_plot.png": b"png", "samples_final.png": b"x", "config.json.bak": b"{}",
            "sub/curves.png": b"y"}
    for name, data in mine.items():
        (gan_run / name).write_bytes(data)
    code, _, err = run_main("train", "gan", "--data", "ring8", "--steps", "3", "--batch-size", "64", "--out", gan_run,
                            "--overwrite")
    assert code == 0, err
    assert all((gan_run / name).read_bytes() == data for name, data in mine.items())
    names = {p.name for p in gan_run.iterdir()}
    assert "eval.json" not in names and "samples_000002.png" not in names       # the old run's
    assert {"config.json", "checkpoint.npz", "samples_000003.png"} <= names
    assert tg.load(gan_run / "checkpoint.npz")["step"] == 3
