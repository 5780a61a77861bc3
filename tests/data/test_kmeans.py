import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinygen.data.kmeans import kmeans, normal_cuts


def blobs(k=4, per=50, d=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 20, (k, d))
    x = np.concatenate([c + rng.normal(0, 0.5, (per, d)) for c in centres])
    return x, np.repeat(np.arange(k), per), centres


def test_well_separated_blobs_are_found_exactly():
    x, truth, centres = blobs()
    found, labels = kmeans(x, 4)
    # the same partition, up to the clusters' order
    pairs = {(int(a), int(b)) for a, b in zip(truth, labels)}
    assert len(pairs) == 4
    for t, j in pairs:
        assert np.allclose(found[j], x[truth == t].mean(0))


def test_a_fixed_seed_gives_the_same_clusters_and_images_of_any_shape_are_flattened():
    x, _, _ = blobs(d=12)
    a = kmeans(x, 5)
    b = kmeans(x.reshape(len(x), 1, 3, 4), 5)
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0])


@given(st.integers(1, 30), st.integers(1, 12), st.integers(0, 3))
def test_every_cluster_keeps_a_member_and_every_point_sits_with_its_nearest_centre(n, k, seed):
    k = min(k, n)
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 2))
    centres, labels = kmeans(x, k)
    assert centres.shape == (k, 2) and labels.shape == (n,)
    assert (np.bincount(labels, minlength=k) > 0).all()
    d = ((x[:, None] - centres[None]) ** 2).sum(-1)
    assert np.allclose(d[np.arange(n), labels], d.min(1))
    dup = rng.integers(0, 2, (n, 2)).astype(float)                  # at most 4 distinct points
    assert (np.bincount(kmeans(dup, k)[1], minlength=k) > 0).all()


def test_bad_cluster_counts_are_refused():
    with pytest.raises(ValueError, match="cannot make 5 clusters of 4 samples"):
        kmeans(np.zeros((4, 2)), 5)
    with pytest.raises(ValueError, match="cannot make 0 clusters"):
        kmeans(np.zeros((4, 2)), 0)


def test_the_normal_cuts_give_each_cluster_its_share():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    sizes, cuts = normal_cuts(labels, 3)
    assert sizes.tolist() == [50, 30, 20] and np.all(np.diff(cuts) > 0)
    z = np.random.default_rng(0).standard_normal(200_000)
    share = np.bincount(np.searchsorted(cuts, z, side="right"), minlength=3) / len(z)
    assert np.allclose(share, [0.5, 0.3, 0.2], atol=0.005)
    assert cuts[0] == pytest.approx(0.0, abs=1e-12)               # the median of N(0, 1)
    with pytest.raises(ValueError, match="needs a member"):
        normal_cuts(np.array([0, 0, 2]), 3)
