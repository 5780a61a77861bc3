"""``python -m tinygen`` (tinygen/__main__.py) runs the ``tinygen`` command."""
from __future__ import annotations

import os
import subprocess
import sys

import tinygen

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args):
    env = dict(os.environ, PYTHONPATH=ROOT, OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "tinygen", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_python_m_tinygen_runs_the_command():
    p = _run("info")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"tinygen {tinygen.__version__}")


def test_python_m_tinygen_reports_a_usage_mistake_like_the_command():
    p = _run("train", "no-such-model")
    assert p.returncode == 2
    assert p.stderr.startswith("tinygen") and len(p.stderr.strip().splitlines()) == 1, p.stderr
