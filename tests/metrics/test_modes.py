"""VEEGAN's mode coverage on cases with known answers."""
import math

import numpy as np
import pytest

import tinygen as tg
from tinygen.data import modes, toy_std
from tinygen.metrics import mode_coverage

RING = modes("ring8")
GRID = modes("grid25")


def test_samples_exactly_at_every_ring_mode():
    r = mode_coverage(np.repeat(RING, 10, axis=0), RING, toy_std("ring8"))
    assert r == {"modes": 8, "num_modes": 8, "high_quality": 100.0, "kl": 0.0}


def test_all_samples_at_one_mode():
    r = mode_coverage(np.tile(RING[3], (100, 1)), RING, 0.01)
    assert r["modes"] == 1 and r["high_quality"] == 100.0
    assert math.isclose(r["kl"], math.log(8))


def test_far_away_samples_are_not_high_quality():
    r = mode_coverage(np.full((50, 2), 10.0), RING, 0.01)
    assert r["modes"] == 0 and r["high_quality"] == 0.0 and math.isnan(r["kl"])
    # between two modes of the ring: near nothing
    r = mode_coverage(np.zeros((5, 2)), RING, 0.01)
    assert r["high_quality"] == 0.0


def test_threshold_is_three_standard_deviations():
    std = 0.05
    inside = GRID[0] + np.array([2.99 * std, 0.0])
    outside = GRID[0] + np.array([0.0, 3.01 * std])
    r = mode_coverage(np.stack([inside, outside]), GRID, std)
    assert r["modes"] == 1 and r["high_quality"] == 50.0


def test_uneven_spread_kl_and_partial_coverage():
    # 5 of the 25 grid modes, 2:1:1:1:1, plus 6 samples far away
    pts = np.concatenate([np.repeat(GRID[:1], 2, axis=0), GRID[1:5], np.full((6, 2), 100.0)])
    r = mode_coverage(pts, GRID, 0.05)
    p = np.array([2, 1, 1, 1, 1]) / 6
    assert r["modes"] == 5 and r["num_modes"] == 25
    assert math.isclose(r["high_quality"], 50.0)
    assert math.isclose(r["kl"], float(np.sum(p * np.log(p * 25))))


def test_real_data_scores_near_perfect():
    from tinygen.data import sample_toy
    x, _ = sample_toy("ring8", 2500, rng=0)
    r = mode_coverage(x, RING, toy_std("ring8"))
    assert r["modes"] == 8 and r["high_quality"] > 98 and r["kl"] < 0.01


def test_tensors_nonfinite_and_bad_shapes():
    r = mode_coverage(tg.tensor(np.concatenate([RING, [[np.nan, 0.0]]]).astype("float32")), tg.tensor(RING), 0.01)
    assert r["modes"] == 8 and math.isclose(r["high_quality"], 800 / 9)
    with pytest.raises(ValueError, match="coordinates"):
        mode_coverage(np.zeros((3, 3)), RING, 0.01)
    with pytest.raises(ValueError, match="shape"):
        mode_coverage(np.zeros(3), RING, 0.01)
    with pytest.raises(ValueError, match="std"):
        mode_coverage(RING, RING, 0.0)
