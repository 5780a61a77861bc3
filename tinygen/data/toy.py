"""2-D toy distributions for watching mode collapse: the settings of the PacGAN / VEEGAN experiments.

* ``ring8``: a mixture of 8 Gaussians with equal weights, centres evenly spaced on the circle of radius 1
  (centre k at angle 2*pi*k/8), each with standard deviation 0.01 in both coordinates.
* ``grid25``: a mixture of 25 Gaussians with equal weights, centres at {-4, -2, 0, 2, 4}^2 (centre k =
  (x[k // 5], x[k % 5])), each with standard deviation 0.05.
* ``swissroll``: the 2-D swiss roll, t = 1.5*pi*(1 + 2u) with u ~ U(0, 1), point (t cos t, t sin t), scaled by
  1 / (4.5*pi) so that the noise-free roll lies inside the unit disc (radius from 1/3 to 1, arms 0.44 apart),
  plus Gaussian noise of standard deviation 0.025. Its "mode index" is the segment of the roll: u cut into
  10 equal bins (so the segments are equally likely), and :func:`modes` gives the noise-free point at the
  middle of each segment. The swiss roll is one continuous curve, not a mixture: mode-coverage metrics that
  count samples within a few ``toy_std`` of a centre are meaningful for ``ring8`` and ``grid25`` only.

Each sampler returns ``(samples, mode)``: float32 of shape (n, 2) and int64 of shape (n,) (which Gaussian, or
segment, each sample came from). Mixture components are drawn independently and uniformly. ``rng`` is a
``numpy.random.Generator``, an int seed, or ``None`` for tinygen's CPU generator (so ``tinygen.manual_seed(n)``
makes the draw repeatable).
"""
from __future__ import annotations

import math

import numpy as np  # host-side data generation

from .. import backend as _backend
from .idx import DatasetError

__all__ = ["ring8", "grid25", "swissroll", "sample_toy", "modes", "toy_std", "TOY_DATASETS", "MIXTURES"]

RING8_RADIUS, RING8_STD = 1.0, 0.01
GRID25_VALUES, GRID25_STD = (-4.0, -2.0, 0.0, 2.0, 4.0), 0.05
SWISSROLL_SCALE, SWISSROLL_NOISE, SWISSROLL_SEGMENTS = 1.0 / (4.5 * math.pi), 0.025, 10


def _rng(rng):
    if rng is None:
        return _backend.cpu_generator()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}.")


def _count(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"the number of samples must be an int >= 0, got {n!r}.")
    return int(n)


def _ring8_modes():
    angles = 2.0 * np.pi * np.arange(8) / 8
    return RING8_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _grid25_modes():
    v = np.asarray(GRID25_VALUES)
    return np.stack([np.repeat(v, 5), np.tile(v, 5)], axis=1)


def _roll(t):
    return SWISSROLL_SCALE * np.stack([t * np.cos(t), t * np.sin(t)], axis=1)


def _u_to_t(u):
    return 1.5 * np.pi * (1.0 + 2.0 * u)


def _swissroll_modes():
    u = (np.arange(SWISSROLL_SEGMENTS) + 0.5) / SWISSROLL_SEGMENTS
    return _roll(_u_to_t(u))


def _mixture(centres, std, n, rng):
    rng = _rng(rng)
    n = _count(n)
    idx = rng.integers(0, len(centres), size=n, dtype=np.int64)
    x = centres[idx] + std * rng.standard_normal((n, 2))
    return x.astype(np.float32), idx


def ring8(n, rng=None):
    """``n`` samples of the ring of 8 Gaussians (radius 1, std 0.01): ``(samples (n, 2) float32, mode int64)``."""
    return _mixture(_ring8_modes(), RING8_STD, n, rng)


def grid25(n, rng=None):
    """``n`` samples of the 5x5 grid of Gaussians at {-4,-2,0,2,4}^2 (std 0.05): ``(samples, mode)``."""
    return _mixture(_grid25_modes(), GRID25_STD, n, rng)


def swissroll(n, rng=None):
    """``n`` samples of the 2-D swiss roll scaled into the unit disc (noise std 0.025): ``(samples, segment)``."""
    rng = _rng(rng)
    n = _count(n)
    u = rng.random(n)
    x = _roll(_u_to_t(u)) + SWISSROLL_NOISE * rng.standard_normal((n, 2))
    seg = np.minimum((u * SWISSROLL_SEGMENTS).astype(np.int64), SWISSROLL_SEGMENTS - 1)
    return x.astype(np.float32), seg


TOY_DATASETS = {"ring8": ring8, "grid25": grid25, "swissroll": swissroll}
MIXTURES = ("ring8", "grid25")  # the toys that are true Gaussian mixtures (mode coverage applies)
_MODES = {"ring8": _ring8_modes, "grid25": _grid25_modes, "swissroll": _swissroll_modes}
_STD = {"ring8": RING8_STD, "grid25": GRID25_STD, "swissroll": SWISSROLL_NOISE}


def _check(name):
    if name not in TOY_DATASETS:
        raise DatasetError(f"unknown toy dataset {name!r}: use one of {', '.join(TOY_DATASETS)}.")
    return name


def sample_toy(name, n, rng=None):
    """``n`` samples of the toy ``name`` ("ring8", "grid25" or "swissroll"): ``(samples, mode)``."""
    return TOY_DATASETS[_check(name)](n, rng)


def modes(name):
    """The (k, 2) float32 array of the toy's mode centres (for swissroll: its segments' mid-points)."""
    return _MODES[_check(name)]().astype(np.float32)


def toy_std(name):
    """The standard deviation of each mode of the toy ``name`` (for swissroll: of its noise)."""
    return _STD[_check(name)]
