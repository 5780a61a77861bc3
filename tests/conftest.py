"""Shared test setup: hypothesis profiles, the two array backends the op suite runs on, and long-running
`tinygen` processes for the tests that send them signals."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, settings

import tinygen as tg
from tinygen.backend import use_array_api_strict

import fake_cupy  # noqa: E402  (tests/ is on sys.path: rootdir conftest)

# "ci": fixed, derandomized examples (the README's test command and .ci/run use it); "dev": more, random.
settings.register_profile("ci", derandomize=True, database=None, max_examples=12, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])
settings.register_profile("dev", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=["numpy", "array_api_strict", "fake_cupy"])
def backend(request):
    """Run a test on NumPy arrays, on array_api_strict arrays (the standard's functions only: what CuPy shares
    with NumPy) and on the CuPy test double (tests/fake_cupy.py: the CuPy-only branches), on "cuda:1", the
    default device meanwhile, so that a missing device scope fails."""
    if request.param == "numpy":
        yield tg.backend.get_backend("cpu")
    elif request.param == "array_api_strict":
        with use_array_api_strict() as strict:
            yield strict
    else:
        with fake_cupy.installed():
            tg.set_default_device("cuda:1")
            try:
                yield tg.backend.get_backend("cuda:1")
            finally:
                tg.set_default_device("cpu")


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(0)
    yield


class _Processes:
    """What the signal tests need: a `tinygen` process to signal, the PID in a run folder's lock file, and
    whether a process is gone."""

    @staticmethod
    @contextlib.contextmanager
    def started(argv, ready, timeout=90):
        """A `tinygen` process in a session of its own, once ``ready()`` holds; at the end, whatever is left
        of its process group is killed (so that a failing test leaves no training behind)."""
        p = subprocess.Popen([sys.executable, "-m", "tinygen.cli", *map(str, argv)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),
                             start_new_session=True)
        try:
            deadline = time.time() + timeout
            while not ready():
                assert time.time() < deadline and p.poll() is None, "the command never got going"
                time.sleep(0.1)
            yield p
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.communicate()

    @staticmethod
    def lock_pid(folder):
        """The PID in a run folder's lock file, or None."""
        try:
            return json.loads((folder / ".tinygen.lock").read_text())["pid"]
        except (OSError, ValueError, KeyError):
            return None

    @staticmethod
    def gone(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


@pytest.fixture
def tinygen_process():
    return _Processes
