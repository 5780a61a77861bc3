"""Shared by the hostile-input tests: a small run folder made by the real command, a way to run commands in a
subprocess under a memory limit (so that a test that fails cannot take the machine down), and the check that
an answer is one sentence with exit code 2."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from tinygen.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MEMORY_LIMIT = 3 * 2 ** 30          # address space of the commands run by `tinygen_batch`


def _limit_memory():
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _python(args, timeout, stdin=None):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONWARNINGS="ignore",
               PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env,
                          input=stdin, preexec_fn=_limit_memory if os.name == "posix" else None)


_BATCH = """
import contextlib, io, json, sys
from tinygen.cli import main
out = []
for argv in json.loads(sys.stdin.read()):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    out.append([code, err.getvalue()])
print(json.dumps(out))
"""


@pytest.fixture(scope="session")
def tinygen_batch():
    """``tinygen_batch([argv, ...])``: ``tinygen.cli.main(argv)`` for each, one after the other in one fresh
    process (this checkout's code, one BLAS thread, at most MEMORY_LIMIT of address space on POSIX), as a user
    would run the commands; returns [(code, stderr), ...]."""
    def run(argvs, timeout=120):
        r = _python(["-c", _BATCH], timeout, json.dumps([[str(a) for a in argv] for argv in argvs]))
        assert r.returncode == 0, r.stderr
        return [tuple(x) for x in json.loads(r.stdout.strip().splitlines()[-1])]
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
