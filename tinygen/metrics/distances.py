"""Distances between distributions, from samples or from Gaussian fits (host NumPy, float64).

* :func:`frechet_distance` between two Gaussians: ||m1 - m2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)); with the
  MNIST classifier's features it is "FD-MNIST" (the FID idea with a classifier trained here).
* :func:`gaussian_kl` KL(N(m1, S1) || N(m2, S2)) in closed form.
* :func:`sliced_wasserstein`: the average over random directions of the 1-D Wasserstein-2 distance between
  the projected sample sets (works for 2-D points and images alike; needs no classifier).
"""
from __future__ import annotations

import numpy as np

__all__ = ["gaussian_fit", "frechet_distance", "gaussian_kl", "sliced_wasserstein"]


def _as2d(a, what):
    a = np.asarray(a.numpy() if hasattr(a, "numpy") else a, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim > 2:
        a = a.reshape(len(a), -1)
    if len(a) < 2:
        raise ValueError(f"{what}: needs at least 2 samples, got {len(a)}")
    return a


def gaussian_fit(x):
    """Mean and covariance (unbiased) of samples ``x`` (N, D)."""
    x = _as2d(x, "gaussian_fit")
    return x.mean(0), np.atleast_2d(np.cov(x, rowvar=False))


def _sqrtm_psd(s):
    """The symmetric square root of a symmetric positive semi-definite matrix (negative rounding clipped)."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(m1, s1, m2, s2):
    """||m1 - m2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).

    tr((S1 S2)^(1/2)) is computed as tr((A S2 A)^(1/2)) with A = S1^(1/2): the same eigenvalues (A S2 A is
    similar to S1 S2), but a symmetric matrix, so ``eigh`` and no complex round-off."""
    m1, m2 = np.atleast_1d(np.asarray(m1, np.float64)), np.atleast_1d(np.asarray(m2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(s1, np.float64)), np.atleast_2d(np.asarray(s2, np.float64))
    if m1.shape != m2.shape or s1.shape != s2.shape or s1.shape != (m1.size, m1.size):
        raise ValueError(f"frechet_distance: shapes do not match: means {m1.shape} {m2.shape}, covariances "
                         f"{s1.shape} {s2.shape}")
    a = _sqrtm_psd(s1)
    w = np.linalg.eigvalsh(a @ s2 @ a)
    tr_sqrt = np.sqrt(np.clip(w, 0.0, None)).sum()
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)


def gaussian_kl(m1, s1, m2=None, s2=None):
    """KL(N(m1, S1) || N(m2, S2)) = 1/2 [tr(S2^-1 S1) + (m2-m1)^T S2^-1 (m2-m1) - D + log det S2 - log det S1];
    N(0, I) when m2, S2 are omitted."""
    m1 = np.atleast_1d(np.asarray(m1, np.float64))
    s1 = np.atleast_2d(np.asarray(s1, np.float64))
    d = m1.size
    m2 = np.zeros(d) if m2 is None else np.atleast_1d(np.asarray(m2, np.float64))
    s2 = np.eye(d) if s2 is None else np.atleast_2d(np.asarray(s2, np.float64))
    s2inv = np.linalg.inv(s2)
    diff = m2 - m1
    _, ld1 = np.linalg.slogdet(s1)
    _, ld2 = np.linalg.slogdet(s2)
    return float(0.5 * (np.trace(s2inv @ s1) + diff @ s2inv @ diff - d + ld2 - ld1))


def sliced_wasserstein(a, b, n_projections=256, seed=0):
    """sqrt(mean over random unit directions u of W2^2(<a, u>, <b, u>)): the sliced Wasserstein-2 distance.

    The 1-D W2 between two empirical distributions compares their sorted values (quantiles); sets of
    different sizes are compared at common quantile levels by linear interpolation."""
    a, b = _as2d(a, "sliced_wasserstein"), _as2d(b, "sliced_wasserstein")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"sliced_wasserstein: samples of dimension {a.shape[1]} and {b.shape[1]}")
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((a.shape[1], n_projections))
    u /= np.linalg.norm(u, axis=0, keepdims=True)
    pa, pb = np.sort(a @ u, axis=0), np.sort(b @ u, axis=0)
    if len(pa) != len(pb):
        q = (np.arange(max(len(pa), len(pb))) + 0.5) / max(len(pa), len(pb))
        pa = np.stack([np.interp(q, (np.arange(len(pa)) + 0.5) / len(pa), pa[:, j]) for j in range(n_projections)], 1)
        pb = np.stack([np.interp(q, (np.arange(len(pb)) + 0.5) / len(pb), pb[:, j]) for j in range(n_projections)], 1)
    return float(np.sqrt(((pa - pb) ** 2).mean()))
