"""Helpers for the model tests: evaluate a model's loss as a function of its parameters (for gradcheck)."""
import pytest

from tinygen.gradcheck import as_function_of_params


@pytest.fixture
def params_fn():
    return as_function_of_params


def float64(model):
    """The model in float64 (gradchecks need it), in place."""
    return model.to("float64")


@pytest.fixture
def f64():
    return float64


def jitter_(*modules, scale=0.5, seed=0):
    """Every parameter redrawn from U(-scale, scale) (in place): a generic point for a gradient check. DCGAN's
    zero biases can put a ReLU / LeakyReLU input exactly at its kink (e.g. a conv over an all-zero patch),
    where finite differences average the two slopes."""
    import numpy as np
    rng = np.random.default_rng(seed)
    for module in modules:
        for p in module.parameters():
            p.data[...] = p.xp.asarray(rng.uniform(-scale, scale, p.shape), dtype=p.data.dtype)
    return modules[0] if len(modules) == 1 else modules


@pytest.fixture
def jitter():
    return jitter_


@pytest.fixture
def check_one_sentence():
    def check(excinfo):
        msg = str(excinfo.value)
        assert "\n" not in msg and msg.strip() and len(msg) < 300, msg
    return check
