"""Numbers that say how good a generative model is.

For now: the mode-coverage metric of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018) for the 2-D
Gaussian mixtures (``ring8``, ``grid25``):

    mode_coverage(model.sample(2500), tinygen.data.modes("ring8"), tinygen.data.toy_std("ring8"))
    -> {"modes": 8, "num_modes": 8, "high_quality": 96.3, "kl": 0.004}

Metrics are host-side measurements: they take samples as Tensors (any device) or NumPy arrays, and compute with
NumPy on the host.
"""
from __future__ import annotations

import math

import numpy as np  # host-side evaluation

from .. import backend as _backend

__all__ = ["mode_coverage"]


def _host(a, what):
    if hasattr(a, "data") and hasattr(a, "requires_grad"):      # a tinygen Tensor
        a = _backend.to_numpy(a.data)
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] < 1:
        raise ValueError(f"mode_coverage: {what} must have shape (N, D), got {a.shape}")
    return a


def mode_coverage(samples, modes, std, threshold=3.0):
    """VEEGAN's mode coverage of samples from a mixture of equal Gaussians with centres ``modes`` (K, D) and
    per-coordinate standard deviation ``std``.

    A sample is *high quality* when its Euclidean distance to the nearest mode is at most ``threshold`` x std
    (3 standard deviations). A mode is *covered* when it is the nearest mode of at least one high-quality
    sample. Returns a dict of floats/ints:

    * ``"modes"``: the number of modes covered, out of ``"num_modes"`` (K);
    * ``"high_quality"``: the percentage (0-100) of the samples that are high quality;
    * ``"kl"``: KL(p || uniform) = sum_k p_k log(K p_k) (nats), where p_k is the share of the high-quality
      samples whose nearest mode is k: 0 when they spread evenly over all K modes, log K when they all sit at
      one mode; NaN when there is no high-quality sample at all.

    Samples with NaN or inf coordinates count as not high quality.
    """
    x = _host(samples, "samples")
    m = _host(modes, "modes")
    if x.shape[1] != m.shape[1]:
        raise ValueError(f"mode_coverage: samples have {x.shape[1]} coordinates but modes have {m.shape[1]}")
    if len(m) == 0:
        raise ValueError("mode_coverage: no modes given")
    std = float(std)
    if not std > 0:
        raise ValueError(f"mode_coverage: std must be > 0, got {std}")
    k = len(m)
    n = len(x)
    if n == 0:
        return {"modes": 0, "num_modes": k, "high_quality": 0.0, "kl": float("nan")}
    finite = np.isfinite(x).all(axis=1)
    d2 = ((np.where(finite[:, None], x, 0.0)[:, None, :] - m[None, :, :]) ** 2).sum(axis=2)   # (N, K)
    nearest = d2.argmin(axis=1)
    dist = np.sqrt(d2[np.arange(n), nearest])
    good = finite & (dist <= threshold * std)
    counts = np.bincount(nearest[good], minlength=k)
    hq = int(good.sum())
    if hq:
        p = counts[counts > 0] / hq
        kl = float(np.sum(p * np.log(p * k)))
    else:
        kl = float("nan")
    return {"modes": int((counts > 0).sum()), "num_modes": k, "high_quality": 100.0 * hq / n,
            "kl": max(kl, 0.0) if not math.isnan(kl) else kl}
