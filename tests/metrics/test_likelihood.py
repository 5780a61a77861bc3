"""ELBO / IWAE bounds: on a linear-Gaussian model whose log p(x) is known exactly, IWAE_k climbs to it."""
import contextlib
import math

import numpy as np
import pytest

import tinygen as tg
from tinygen.metrics.likelihood import iwae, iwae_from_log_weights


class LinearGaussian:
    """p(z) = N(0, 1), p(x|z) = N(a z + b, s^2): so p(x) = N(b, a^2 + s^2) exactly. The encoder
    q(z|x) = N(c x, v) is deliberately not the true posterior, so the ELBO is loose."""

    a, b, s, c, v = 1.5, 0.3, 0.5, 0.2, 0.8

    def evaluating(self):
        return contextlib.nullcontext()

    def encode(self, x, y=None):
        return x * self.c, tg.full(x.shape, math.log(self.v), dtype=x.dtype)

    def decoder_output(self, z, y=None):
        return z * self.a + self.b

    def reconstruction_nll(self, x, out):
        return (0.5 * ((x - out) ** 2 / self.s ** 2 + math.log(self.s ** 2) + math.log(2 * math.pi))).sum(1)

    def exact_nll(self, x):
        var = self.a ** 2 + self.s ** 2
        return float(np.mean(0.5 * ((x - self.b) ** 2 / var + math.log(var) + math.log(2 * math.pi))))


def test_iwae_tightens_towards_the_exact_log_likelihood():
    tg.manual_seed(0)
    m = LinearGaussian()
    # the data must not reuse the seed of the noise (manual_seed(0) draws the same normals as default_rng(0))
    xh = np.random.default_rng(123).normal(m.b, math.sqrt(m.a ** 2 + m.s ** 2), size=(200, 1))
    x = tg.tensor(xh, dtype="float64")
    exact = m.exact_nll(xh)
    elbo, _ = iwae(m, x, k=1)
    b10, _ = iwae(m, x, k=10)
    b1000, se = iwae(m, x, k=1000)
    assert elbo > b10 > b1000 >= exact - 4 * se - 1e-3     # negative bounds: above -log p(x), decreasing in k
    assert b1000 - exact < 0.01                              # k = 1000 is within 0.01 nats here
    assert elbo - exact > 0.1                                # while the ELBO is clearly loose


def test_iwae_from_log_weights_is_a_stable_log_mean_exp():
    lw = np.array([[1000.0, 1000.0], [-1000.0, -1000.0 + math.log(3)]])
    np.testing.assert_allclose(iwae_from_log_weights(lw), [1000.0, -1000.0 + math.log(2)])
    with pytest.raises(ValueError, match="k must be"):
        iwae(LinearGaussian(), tg.zeros(2, 1), k=0)
