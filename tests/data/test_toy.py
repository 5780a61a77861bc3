"""tinygen/data/toy.py: the ring of 8, the grid of 25 and the swiss roll."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import tinygen as tg
from tinygen.data import (MIXTURES, TOY_DATASETS, DatasetError, grid25, modes, ring8, sample_toy, swissroll,
                          toy_std)

N = 20000


def test_registry():
    assert set(TOY_DATASETS) == {"ring8", "grid25", "swissroll"}
    assert TOY_DATASETS["ring8"] is ring8 and TOY_DATASETS["grid25"] is grid25
    assert TOY_DATASETS["swissroll"] is swissroll
    assert set(MIXTURES) == {"ring8", "grid25"}


def test_ring8_modes_and_std():
    c = modes("ring8")
    assert c.shape == (8, 2) and c.dtype == np.float32
    np.testing.assert_allclose(np.hypot(c[:, 0], c[:, 1]), 1.0, atol=1e-6)
    angles = np.sort(np.mod(np.arctan2(c[:, 1], c[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-6)
    assert toy_std("ring8") == 0.01


def test_grid25_modes_and_std():
    c = modes("grid25")
    assert c.shape == (25, 2)
    expected = {(float(a), float(b)) for a, b in itertools.product([-4, -2, 0, 2, 4], repeat=2)}
    assert {tuple(map(float, p)) for p in c} == expected
    assert toy_std("grid25") == 0.05


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_mixture_statistics(name):
    x, m = sample_toy(name, N, rng=np.random.default_rng(123))
    c, std = modes(name), toy_std(name)
    k = len(c)
    assert x.shape == (N, 2) and x.dtype == np.float32 and m.shape == (N,) and m.dtype == np.int64
    assert m.min() >= 0 and m.max() < k
    # every sample is nearest to its own centre (the modes are many std apart)
    d = ((x[:, None, :] - c[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(d.argmin(1), m)
    # balance: each mode gets N/k samples within 5 binomial standard deviations
    counts = np.bincount(m, minlength=k)
    p = 1 / k
    assert np.all(np.abs(counts - N * p) < 5 * math.sqrt(N * p * (1 - p))), counts
    # per-mode centre and std
    for j in range(k):
        xj = x[m == j].astype(np.float64)
        np.testing.assert_allclose(xj.mean(0), c[j], atol=5 * std / math.sqrt(len(xj)) + 1e-6)
        np.testing.assert_allclose(xj.std(0), std, rtol=0.1)


def test_swissroll():
    x, seg = swissroll(N, rng=np.random.default_rng(5))
    assert x.shape == (N, 2) and x.dtype == np.float32 and seg.dtype == np.int64
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.max() < 1.15 and r.min() > 1 / 3 - 0.15  # roughly unit range: the noise-free roll has r in [1/3, 1]
    assert np.abs(x).max() <= 1.15
    c = modes("swissroll")
    assert c.shape == (10, 2)
    counts = np.bincount(seg, minlength=10)
    assert counts.min() > N / 10 * 0.85 and counts.max() < N / 10 * 1.15
    mean_r = [r[seg == j].mean() for j in range(10)]
    assert all(a < b for a, b in zip(mean_r, mean_r[1:]))  # the roll winds outwards
    assert toy_std("swissroll") == 0.025


def test_rng_default_uses_manual_seed():
    tg.manual_seed(7)
    a, ma = ring8(50)
    tg.manual_seed(7)
    b, mb = ring8(50)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ma, mb)
    c, _ = ring8(50)  # the generator moved on
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", sorted(TOY_DATASETS))
def test_rng_seed_and_generator(name):
    a, _ = sample_toy(name, 30, rng=3)
    b, _ = sample_toy(name, 30, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    x, m = sample_toy(name, 0)
    assert x.shape == (0, 2) and m.shape == (0,)


def test_bad_arguments(one_sentence):
    with pytest.raises(DatasetError) as e:
        sample_toy("ring9", 10)
    one_sentence(str(e.value))
    assert "ring8" in str(e.value) and "grid25" in str(e.value) and "swissroll" in str(e.value)
    with pytest.raises(DatasetError):
        modes("moons")
    with pytest.raises(DatasetError):
        toy_std("moons")
    with pytest.raises(ValueError):
        ring8(-1)
    with pytest.raises(ValueError):
        ring8(2.5)
    with pytest.raises(TypeError):
        ring8(3, rng="seed")
