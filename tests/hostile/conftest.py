"""Shared by the hostile-input tests: a small run folder made by the real command, a way to run the command as
a user does (in a subprocess, under a memory limit, so a test that fails cannot take the machine down), and
the check that an answer is one sentence with exit code 2."""
import os
import shutil
import subprocess
import sys

import pytest

from tinygen.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MEMORY_LIMIT = 3 * 2 ** 30          # address space of a command run by `tinygen_cmd`


def _limit_memory():
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.fixture(scope="session")
def tinygen_cmd():
    """``tinygen_cmd(*args)``: the command in a fresh process (this checkout's code, one BLAS thread, at most
    MEMORY_LIMIT of address space on POSIX); returns the CompletedProcess."""
    def run(*args, timeout=120):
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONWARNINGS="ignore",
                   PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
        return subprocess.run([sys.executable, "-m", "tinygen.cli", *map(str, args)], capture_output=True,
                              text=True, timeout=timeout, env=env,
                              preexec_fn=_limit_memory if os.name == "posix" else None)
    return run


@pytest.fixture
def one_sentence():
    """``one_sentence(code, stderr, *texts)``: exit code 2 and a single line of stderr, no traceback, holding
    every one of ``texts``."""
    def check(code, err, *texts):
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
        assert lines[0].startswith("tinygen") and "error" in lines[0], err
        for t in texts:
            assert str(t) in lines[0], err
        return lines[0]
    return check


@pytest.fixture
def run_main(capsys):
    """``run_main(*argv)``: ``tinygen.cli.main`` in this process; returns (code, stdout, stderr)."""
    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return run


@pytest.fixture(scope="session")
def gan_run_template(tmp_path_factory):
    """A GAN trained for 2 steps on ring8 by the real command (never modified: tests copy it)."""
    out = tmp_path_factory.mktemp("template") / "gan-ring8"
    assert main(["train", "gan", "--data", "ring8", "--steps", "2", "--batch-size", "64", "--out", str(out)]) == 0
    return out


@pytest.fixture
def gan_run(gan_run_template, tmp_path):
    """A copy of the template run, this test's to damage."""
    dst = tmp_path / "gan-ring8"
    shutil.copytree(gan_run_template, dst)
    return dst
