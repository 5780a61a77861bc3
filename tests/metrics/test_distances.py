"""Distances between distributions, on cases whose answer is known in closed form."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinygen.metrics.distances import frechet_distance, gaussian_fit, gaussian_kl, sliced_wasserstein


@given(st.integers(1, 6), st.integers(0, 1000))
def test_frechet_distance_of_diagonal_gaussians(d, seed):
    rng = np.random.default_rng(seed)
    m1, m2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    # diagonal covariances: ||m1 - m2||^2 + sum (sigma1 - sigma2)^2
    expected = ((m1 - m2) ** 2).sum() + ((s1 - s2) ** 2).sum()
    assert frechet_distance(m1, np.diag(s1 ** 2), m2, np.diag(s2 ** 2)) == pytest.approx(expected, rel=1e-9,
                                                                                        abs=1e-9)


def test_frechet_distance_is_zero_for_identical_and_symmetric():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 5))
    s = a @ a.T
    m = rng.standard_normal(5)
    assert abs(frechet_distance(m, s, m, s)) < 1e-8
    b = rng.standard_normal((5, 5))
    s2 = b @ b.T
    assert frechet_distance(m, s, 0 * m, s2) == pytest.approx(frechet_distance(0 * m, s2, m, s), rel=1e-9)
    with pytest.raises(ValueError, match="shapes"):
        frechet_distance(m, s, m[:2], s[:2, :2])


def test_gaussian_kl_closed_forms():
    assert gaussian_kl([1.0, 2.0], np.eye(2)) == pytest.approx(2.5)            # ||m||^2 / 2
    sigma, m = 2.0, 0.5
    expected = math.log(1 / sigma) + (sigma ** 2 + m ** 2) / 2 - 0.5
    assert gaussian_kl([m], [[sigma ** 2]]) == pytest.approx(expected)
    assert gaussian_kl([0.3], [[1.5]], [0.3], [[1.5]]) == pytest.approx(0.0, abs=1e-12)


def test_gaussian_fit():
    x = np.random.default_rng(0).multivariate_normal([1, -2], [[2, 0.5], [0.5, 1]], size=200000)
    m, s = gaussian_fit(x)
    np.testing.assert_allclose(m, [1, -2], atol=0.02)
    np.testing.assert_allclose(s, [[2, 0.5], [0.5, 1]], atol=0.03)


def test_sliced_wasserstein_known_answers():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3000, 2))
    assert sliced_wasserstein(a, a) == 0.0
    t = np.array([3.0, 4.0])
    # a translation by t moves every projection by <t, u>: SW^2 = E_u <t, u>^2 = |t|^2 / D for uniform u
    sw = sliced_wasserstein(a, a + t, n_projections=4000)
    assert sw == pytest.approx(np.linalg.norm(t) / math.sqrt(2), rel=0.03)
    # different sizes work (quantile interpolation) and land near the same-size answer
    assert sliced_wasserstein(a, a[:1000] + t, n_projections=500) == pytest.approx(sw, rel=0.05)
    with pytest.raises(ValueError, match="dimension"):
        sliced_wasserstein(a, rng.standard_normal((10, 3)))
