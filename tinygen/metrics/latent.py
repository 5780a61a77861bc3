"""How far a VAE's latent distribution is from the prior N(0, I) (host NumPy, float64).

Given the encoder's outputs on a data set, q(z|x_n) = N(mu_n, diag(sigma_n^2)):

* :func:`kl_per_dim`: the average over the data of KL(q(z|x) || N(0, I)), per latent dimension (its sum is the
  ELBO's KL term). Dimensions with ~0 KL carry no information ("collapsed").
* :func:`active_units`: dimensions whose posterior mean varies with x: Cov_x(E_q[z_d]) > 0.01 (Burda et al.).
* :func:`aggregate_kl`: KL(q(z) || N(0, I)) for the *aggregate posterior* q(z) = (1/N) sum_n q(z|x_n), the
  distribution the decoder actually sees at training time; estimated by Monte Carlo:
  E_{z~q}[log q(z) - log p(z)], log q(z) by a log-sum-exp over all N mixture components.
* :func:`aggregate_gaussian_fit`: the aggregate posterior's mean and covariance (law of total covariance:
  Cov(mu) + E[diag sigma^2]), and the closed-form KL and Frechet distance of that Gaussian to N(0, I).
"""
from __future__ import annotations

import math

import numpy as np

from .distances import frechet_distance, gaussian_kl

__all__ = ["kl_per_dim", "active_units", "aggregate_kl", "aggregate_gaussian_fit"]


def _moments(mu, logvar):
    mu = np.asarray(mu.numpy() if hasattr(mu, "numpy") else mu, np.float64)
    logvar = np.asarray(logvar.numpy() if hasattr(logvar, "numpy") else logvar, np.float64)
    if mu.ndim != 2 or mu.shape != logvar.shape:
        raise ValueError(f"latent metrics take mu and logvar of the same shape (N, D), got {mu.shape} and "
                         f"{logvar.shape}")
    return mu, logvar


def kl_per_dim(mu, logvar):
    """Mean over the data of KL(N(mu, sigma^2) || N(0, 1)) per dimension: -1/2 (1 + logvar - mu^2 - e^logvar)."""
    mu, logvar = _moments(mu, logvar)
    return (-0.5 * (1.0 + logvar - mu ** 2 - np.exp(logvar))).mean(0)


def active_units(mu, threshold=0.01):
    """How many dimensions have Var_x(mu_d(x)) > threshold (and which)."""
    mu = np.asarray(mu.numpy() if hasattr(mu, "numpy") else mu, np.float64)
    var = mu.var(0)
    return int((var > threshold).sum()), var


def aggregate_kl(mu, logvar, n_samples=2000, seed=0, chunk=256):
    """Monte Carlo estimate of KL(q(z) || N(0, I)) with q(z) the mixture of the N posteriors.

    z_j is drawn by picking a data point n uniformly and z_j ~ q(z|x_n); then
    log q(z_j) = logsumexp_n log N(z_j; mu_n, sigma_n^2) - log N. Returns (estimate, its standard error)."""
    mu, logvar = _moments(mu, logvar)
    rng = np.random.default_rng(seed)
    n, d = mu.shape
    pick = rng.integers(0, n, n_samples)
    z = mu[pick] + np.exp(0.5 * logvar[pick]) * rng.standard_normal((n_samples, d))
    inv_var = np.exp(-logvar)                                            # (N, D)
    log_norm = -0.5 * (logvar.sum(1) + d * math.log(2 * math.pi))        # (N,)
    vals = []
    for i in range(0, n_samples, chunk):
        zc = z[i:i + chunk]                                              # (M, D)
        # log N(z; mu_n, sigma_n^2) for all pairs, expanded: sum_d (z^2 - 2 z mu + mu^2) / var
        quad = (zc ** 2) @ inv_var.T - 2.0 * zc @ (mu * inv_var).T + (mu ** 2 * inv_var).sum(1)
        logs = log_norm - 0.5 * quad                                     # (M, N)
        m = logs.max(1, keepdims=True)
        log_q = (m[:, 0] + np.log(np.exp(logs - m).sum(1))) - math.log(n)
        log_p = -0.5 * ((zc ** 2).sum(1) + d * math.log(2 * math.pi))
        vals.append(log_q - log_p)
    vals = np.concatenate(vals)
    return float(vals.mean()), float(vals.std(ddof=1) / math.sqrt(len(vals)))


def aggregate_gaussian_fit(mu, logvar):
    """The aggregate posterior's moments and two closed-form distances of N(mean, cov) to N(0, I)."""
    mu, logvar = _moments(mu, logvar)
    mean = mu.mean(0)
    cov = np.atleast_2d(np.cov(mu, rowvar=False, bias=True)) + np.diag(np.exp(logvar).mean(0))
    d = mu.shape[1]
    return {"mean": mean, "cov": cov, "kl": gaussian_kl(mean, cov),
            "frechet": frechet_distance(mean, cov, np.zeros(d), np.eye(d))}
