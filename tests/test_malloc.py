"""tinygen._malloc: glibc's malloc keeps freed array memory (no page faults every step), unless told not to."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
glibc = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")


def _applied(**env):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "TINYGEN_MALLOC", "GLIBC_TUNABLES"))}
    e.update(env, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", "import tinygen, tinygen._malloc as m; print(m.applied)"], env=e,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


@glibc
def test_applied_on_import():
    assert _applied()


@glibc
@pytest.mark.parametrize("env", [{"TINYGEN_MALLOC": "default"}, {"MALLOC_TRIM_THRESHOLD_": "1000000"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1000000"}])
def test_left_alone_when_the_user_says_so_or_configured_malloc(env):
    assert not _applied(**env)


@glibc
def test_a_step_that_frees_and_reallocates_big_arrays_does_not_page_fault():
    code = ("import resource, numpy as np, tinygen as tg\n"
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
