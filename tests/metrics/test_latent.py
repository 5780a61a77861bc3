"""Latent-space metrics against closed forms."""
import math

import numpy as np
import pytest

from tinygen.metrics.latent import active_units, aggregate_gaussian_fit, aggregate_kl, kl_per_dim


def test_kl_per_dim_matches_the_closed_form():
    mu = np.array([[1.0, 0.0], [-1.0, 0.0]])
    logvar = np.array([[0.0, math.log(4.0)], [0.0, math.log(4.0)]])
    np.testing.assert_allclose(kl_per_dim(mu, logvar), [0.5, 0.5 * (4 - 1 - math.log(4))])


def test_active_units():
    rng = np.random.default_rng(0)
    mu = np.stack([rng.standard_normal(500), 0.001 * rng.standard_normal(500), rng.standard_normal(500)], 1)
    n, var = active_units(mu)
    assert n == 2 and var.shape == (3,)


def test_aggregate_kl_is_zero_when_every_posterior_is_the_prior():
    mu, logvar = np.zeros((300, 3)), np.zeros((300, 3))
    kl, se = aggregate_kl(mu, logvar, n_samples=500)
    assert abs(kl) < 1e-9


def test_aggregate_kl_of_a_shifted_prior():
    m = np.array([1.0, -2.0])
    mu, logvar = np.tile(m, (200, 1)), np.zeros((200, 2))
    kl, se = aggregate_kl(mu, logvar, n_samples=4000)
    assert abs(kl - (m ** 2).sum() / 2) < 4 * se + 1e-9


def test_aggregate_kl_of_a_mixture_that_matches_the_prior():
    # mu_n ~ N(0, 1 - s^2), sigma = s: the aggregate posterior is N(0, 1) again
    rng = np.random.default_rng(1)
    s = 0.6
    mu = rng.standard_normal((3000, 1)) * math.sqrt(1 - s * s)
    logvar = np.full((3000, 1), math.log(s * s))
    kl, se = aggregate_kl(mu, logvar, n_samples=3000)
    assert kl < 0.02 + 4 * se


def test_aggregate_gaussian_fit():
    m = np.array([0.5, 0.0, -1.0])
    r = aggregate_gaussian_fit(np.tile(m, (50, 1)), np.zeros((50, 3)))
    np.testing.assert_allclose(r["cov"], np.eye(3), atol=1e-12)
    assert r["kl"] == pytest.approx((m ** 2).sum() / 2)
    assert r["frechet"] == pytest.approx((m ** 2).sum())


def test_bad_shapes():
    with pytest.raises(ValueError, match="same shape"):
        kl_per_dim(np.zeros((3, 2)), np.zeros((3, 3)))
