"""Activations: values against NumPy, stability at extreme inputs, gradient conventions."""
import warnings

import numpy as np
import pytest
from hypothesis import given

import tinygen as tg
from tinygen.testing import arrays, shapes

REF = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "softplus": lambda x: np.log1p(np.exp(x)),
}


@pytest.mark.parametrize("name", sorted(REF))
@given(a=arrays(shapes(), "float64", -30, 30, extremes=True))
def test_values_match_numpy(name, a, backend):
    np.testing.assert_allclose(getattr(tg.tensor(a), name)().numpy(), REF[name](a), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "relu", "leaky_relu"])
def test_extreme_inputs_stay_finite_without_warnings(name, backend):
    x = tg.tensor([-1e4, -1000.0, -50.0, 0.0, 50.0, 1000.0, 1e4], dtype="float32", requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = getattr(x, name)()
        y.sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


def test_sigmoid_tails_keep_relative_precision():
    x = tg.tensor([-700.0, -40.0, 40.0], dtype="float64")
    s = x.sigmoid().numpy()
    np.testing.assert_allclose(s[:2], np.exp([-700.0, -40.0]) / (1 + np.exp([-700.0, -40.0])), rtol=1e-12)
    assert s[2] == 1.0


def test_softplus_is_exact_for_large_inputs():
    x = tg.tensor([1000.0, -1000.0], dtype="float64")
    np.testing.assert_allclose(x.softplus().numpy(), [1000.0, 0.0])


def test_leaky_relu_slope_and_relu_gradient_at_zero():
    x = tg.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    x.leaky_relu(0.2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.2, 0.2, 1.0])
    np.testing.assert_allclose(x.detach().leaky_relu(0.2).numpy(), [-0.4, 0.0, 3.0])
    y = tg.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    y.relu().sum().backward()
    assert y.grad.numpy().tolist() == [0.0, 0.0, 1.0]  # like PyTorch: 0 at the kink
