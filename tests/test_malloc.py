"""tinygen._malloc: glibc's malloc keeps freed array memory (no page faults every step), unless told not to."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
glibc = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")


def _applied(code, **env):
    """Run ``code`` in a fresh interpreter, then say whether the malloc settings are in force."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "TINYGEN_MALLOC", "GLIBC_TUNABLES"))}
    e.update(env, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport tinygen._malloc as m; print(m.applied)"], env=e,
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.strip().splitlines()[-1] == "True"


TRAIN = ("import numpy as np, tempfile, tinygen as tg\n"
         "from tinygen.models import build_model\n"
         "from tinygen.train import train\n"
         "x = np.random.default_rng(0).standard_normal((64, 2)).astype('float32')\n"
         "train(build_model('ae', data_shape=(2,)), x, steps=1, batch_size=32, out_dir=tempfile.mkdtemp(),\n"
         "      pictures=False, progress=False)")
CLI = "from tinygen.cli import main; main(['info'])"


@glibc
def test_importing_tinygen_leaves_malloc_alone():
    # a process-wide setting is not made behind the back of a program that only imports the library
    assert not _applied("import tinygen, tinygen.models, tinygen.train, tinygen.cli")


@glibc
@pytest.mark.parametrize("code", [CLI, TRAIN], ids=["cli", "train"])
def test_applied_where_tinygen_owns_the_process(code):
    assert _applied(code)


@glibc
@pytest.mark.parametrize("env", [{"TINYGEN_MALLOC": "default"}, {"MALLOC_TRIM_THRESHOLD_": "1000000"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1000000"}])
@pytest.mark.parametrize("code", [CLI, TRAIN], ids=["cli", "train"])
def test_left_alone_when_the_user_says_so_or_configured_malloc(env, code):
    assert not _applied(code, **env)


@glibc
def test_applied_once():
    # the second call finds the settings in force and does not look for mallopt again
    assert _applied("import ctypes, tinygen._malloc as m\nassert m.tune()\nctypes.CDLL = None\nassert m.tune()")


@glibc
def test_a_step_that_frees_and_reallocates_big_arrays_does_not_page_fault():
    code = ("import resource, numpy as np, tinygen as tg, tinygen._malloc\n"
            "tinygen._malloc.tune()\n"
            "x = tg.randn(64, 64, 14, 14, requires_grad=True)\n"
            "def step():\n"
            "    x.grad = None\n"
            "    (tg.functional.leaky_relu(x * 2.0, 0.2).exp() * 0.5).sum().backward()\n"
            "for _ in range(3): step()\n"
            "r = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
            "for _ in range(5): step()\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r)\n")
    e = dict(os.environ, PYTHONPATH=ROOT, OPENBLAS_NUM_THREADS="1")
    faults = int(subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True,
                                check=True).stdout)
    assert faults < 200      # 3.2 MB arrays: without the settings each step faults in thousands of pages
