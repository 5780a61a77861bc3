"""Reductions: values against NumPy for every axis form, keepdims, tie handling, stability."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygen as tg
from tinygen.testing import arrays, shapes


@st.composite
def array_and_axis(draw):
    shp = draw(shapes(min_dims=1, max_dims=4, min_side=2))
    a = draw(arrays(shp, "float64", -5, 5))
    form = draw(st.sampled_from(["none", "int", "neg", "tuple"]))
    if form == "none":
        axis = None
    elif form == "int":
        axis = draw(st.integers(0, len(shp) - 1))
    elif form == "neg":
        axis = draw(st.integers(-len(shp), -1))
    else:
        axis = tuple(sorted(draw(st.sets(st.integers(0, len(shp) - 1), min_size=1))))
    return a, axis, draw(st.booleans())


NP = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min,
      "var": lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=1),
      "logsumexp": lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))}


@pytest.mark.parametrize("name", sorted(NP))
@given(case=array_and_axis())
def test_values_and_gradient_shapes_match_numpy(name, case, backend):
    a, axis, keepdims = case
    x = tg.tensor(a, requires_grad=True)
    y = getattr(x, name)(axis=axis, keepdims=keepdims)
    ref = NP[name](a, axis=axis, keepdims=keepdims)
    assert y.shape == np.shape(ref)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-10, atol=1e-12)
    y.sum().backward()
    assert x.grad.shape == a.shape


def test_max_ties_share_the_gradient():
    x = tg.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1, 0, 0]])


def test_logsumexp_is_stable_for_huge_and_minus_infinite_inputs():
    x = tg.tensor([1000.0, 1000.0], dtype="float64")
    np.testing.assert_allclose(x.logsumexp().item(), 1000.0 + np.log(2.0))
    y = tg.tensor([-np.inf, -np.inf])
    with np.errstate(divide="ignore"):
        assert y.logsumexp().item() == -np.inf


def test_var_correction_and_std():
    a = np.array([1.0, 2.0, 4.0, 8.0])
    x = tg.tensor(a)
    np.testing.assert_allclose(x.var().item(), np.var(a, ddof=1))
    np.testing.assert_allclose(x.var(correction=0).item(), np.var(a))
    np.testing.assert_allclose(x.std().item(), np.std(a, ddof=1), rtol=1e-6)


@pytest.mark.parametrize("shape, axis, correction", [((1,), None, 1), ((1, 3), 0, 1), ((2,), None, 2)])
def test_var_without_degrees_of_freedom_has_a_nan_gradient_like_pytorch(backend, shape, axis, correction):
    # torch.tensor([3.], requires_grad=True).var().backward() gives grad [nan] (and a warning), no exception
    x = tg.tensor(np.arange(1.0, 1.0 + math.prod(shape)).reshape(shape), dtype="float64", requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)       # NumPy: "Degrees of freedom <= 0"
        x.var(axis=axis, correction=correction).sum().backward()
    assert x.grad.shape == shape and np.isnan(x.grad.numpy()).all()


def test_argmax_argmin_all_any():
    x = tg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    assert x.argmax().item() == 3 and x.argmax(axis=1).numpy().tolist() == [1, 0]
    assert x.argmin(axis=0).numpy().tolist() == [0, 1, 0]
    assert bool((x >= 0).all()) and not bool((x > 6).all()) and bool((x > 6).any())


def test_mean_of_float32_stays_float32():
    x = tg.rand(100, 10, requires_grad=True)
    y = x.mean()
    assert y.dtype == "float32"
    y.backward()
    assert x.grad.dtype == "float32"
