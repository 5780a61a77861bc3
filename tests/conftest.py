"""Shared test setup: hypothesis profiles and the two array backends the op suite runs on."""
import os

import pytest
from hypothesis import HealthCheck, settings

import tinygen as tg
from tinygen.backend import use_array_api_strict

# "ci": fixed, derandomized examples (the README's test command and .ci/run use it); "dev": more, random.
settings.register_profile("ci", derandomize=True, database=None, max_examples=12, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])
settings.register_profile("dev", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=["numpy", "array_api_strict"])
def backend(request):
    """Run a test on NumPy arrays and again on array_api_strict arrays (the stand-in for CuPy)."""
    if request.param == "numpy":
        yield tg.backend.get_backend("cpu")
    else:
        with use_array_api_strict() as strict:
            yield strict


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(0)
    yield
