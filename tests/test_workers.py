"""tinygen.workers: a stop reaches every worker, whatever each is doing, and every worker reports back."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

JOBS = '''
import os, time
from pathlib import Path


def job(spec, out):
    if spec["name"] == "train":                      # a training: stops after its step, with a checkpoint
        from tinygen.models import build_model
        from tinygen.train import train
        model = build_model("gan", data_shape=(2,), arch="mlp")
        train(model, "ring8", out_dir=Path(out) / "run", steps=10**6, progress=False, pictures=False)
    else:                                    # not training (setting up, evaluating, drawing)
        Path(out, "busy").write_text(str(os.getpid()))
        while True:
            sum(range(10**5))
    return spec["name"]
'''

DRIVER = '''
import sys
from jobs import job
from tinygen.workers import run_jobs

if __name__ == "__main__":
    try:
        run_jobs([{"name": "train"}, {"name": "busy"}], job, 2, lambda j, r: print("finished", j), args=(sys.argv[1],))
    except KeyboardInterrupt as e:
        print("STOPPED:", e, flush=True)
'''


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_sigterm_stops_a_training_worker_and_a_busy_one_and_both_report(tmp_path):
    (tmp_path / "jobs.py").write_text(textwrap.dedent(JOBS))
    (tmp_path / "driver.py").write_text(textwrap.dedent(DRIVER))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    p = subprocess.Popen([sys.executable, str(tmp_path / "driver.py"), str(tmp_path)], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.time() + 120
        while not ((tmp_path / "run" / "checkpoint.npz").exists() and (tmp_path / "busy").exists()):
            assert time.time() < deadline and p.poll() is None, "the jobs never got going"
            time.sleep(0.1)
        p.send_signal(signal.SIGTERM)                      # the parent alone; it forwards the stop
        stdout, stderr = p.communicate(timeout=90)
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    # before: the busy worker died of the signal, the pool broke, and the training's report was lost
    assert "Traceback" not in stderr, stderr
    line = [s for s in stdout.splitlines() if s.startswith("STOPPED:")]
    assert line, (stdout, stderr)
    assert "train (interrupted at step" in line[0] and "checkpoint saved in" in line[0], line
    assert "busy (stopped outside its training" in line[0], line
