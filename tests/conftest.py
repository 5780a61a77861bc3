"""Shared test setup: hypothesis profiles and the two array backends the op suite runs on."""
import os

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
