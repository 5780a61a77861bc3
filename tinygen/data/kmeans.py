"""k-means on the host, for the self-conditioned GAN's clusters (tinygen/models/clusters.py).

    centres, labels = kmeans(images.reshape(len(images), -1), 50)
    sizes, cuts = normal_cuts(labels, 50)

k-means++ seeding (Arthur and Vassilvitskii 2007: each next centre drawn with probability proportional to the
squared distance to the nearest centre so far), then Lloyd's iterations (assign every point to its nearest
centre, move every centre to the mean of its points) until no assignment changes. Runs once before training,
on host NumPy arrays, with its own seeded generator: it never draws from the training's random numbers.
"""
from __future__ import annotations

from statistics import NormalDist

import numpy as np

__all__ = ["kmeans", "normal_cuts", "KMEANS_SEED", "KMEANS_ITERATIONS"]

KMEANS_SEED = 0
KMEANS_ITERATIONS = 50


def kmeans(x, k, seed=KMEANS_SEED, iterations=KMEANS_ITERATIONS):
    """k-means of the rows of ``x`` (N, ...) (flattened per row): (centres (k, D) float64, labels (N,) int64).

    At most ``iterations`` of Lloyd's iterations. A cluster left empty takes the point farthest from its centre
    among the clusters with more than one member, so every cluster keeps at least one point (also when fewer
    than k points are distinct). ValueError unless 1 <= k <= N."""
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(len(x), -1)
    n = len(x)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"k-means: cannot make {k!r} clusters of {n} samples; give between 1 and {n}")
    rng = np.random.default_rng(seed)
    sq = (x * x).sum(1)
    centres = np.empty((k, x.shape[1]))
    centres[0] = x[rng.integers(n)]
    nearest = sq - 2 * x @ centres[0] + centres[0] @ centres[0]
    for j in range(1, k):
        w = np.maximum(nearest, 0.0)
        centres[j] = x[rng.choice(n, p=w / w.sum()) if w.sum() > 0 else rng.integers(n)]
        nearest = np.minimum(nearest, sq - 2 * x @ centres[j] + centres[j] @ centres[j])
    labels = None
    for _ in range(iterations):
        d = sq[:, None] - 2 * x @ centres.T + (centres * centres).sum(1)[None, :]
        new = d.argmin(1)
        counts = np.bincount(new, minlength=k)
        for j in np.flatnonzero(counts == 0):       # an empty cluster takes the worst-placed point of a cluster
            err = d[np.arange(n), new]              # with others to spare (k <= N: there always is one)
            err[counts[new] <= 1] = -np.inf
            far = err.argmax()
            counts[new[far]] -= 1
            new[far], counts[j] = j, 1
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            centres[j] = x[labels == j].mean(0)
    return centres, labels.astype(np.int64)


def normal_cuts(labels, k):
    """(sizes (k,) int64, cuts (k - 1,) float64): the clusters' sizes and the points that cut the standard
    normal's line into k intervals of probability size / N, in cluster order: z ~ N(0, 1) falls into interval j
    (cuts[j - 1] <= z < cuts[j]) with probability sizes[j] / N. Every cluster must be non-empty."""
    sizes = np.bincount(np.asarray(labels), minlength=k)
    if len(sizes) != k or (sizes == 0).any():
        raise ValueError(f"normal_cuts: every one of the {k} clusters needs a member")
    shares = np.cumsum(sizes)[:-1] / sizes.sum()
    return sizes, np.array([NormalDist().inv_cdf(float(s)) for s in shares])
