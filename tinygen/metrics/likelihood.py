"""Bounds on a VAE's log-likelihood log p(x): the ELBO and the importance-weighted bound (IWAE).

With k samples z_i ~ q(z|x) and weights w_i = p(x|z_i) p(z_i) / q(z_i|x):

    log p(x) >= IWAE_k = E[ log (1/k) sum_i w_i ]        (Burda et al. 2016)

IWAE_1 is the ELBO; the bound tightens as k grows and reaches log p(x) as k -> infinity. Computed in
float64 on the host from the model's log-weights, batched over samples and over z so that memory stays
bounded for k up to several thousand. Results are reported as *negative* bounds in nats per sample (lower is
better), like the training loss.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import no_grad
from ..creation import randn

__all__ = ["iwae_from_log_weights", "log_weights", "iwae", "gaussian_log_density"]

LOG_2PI = math.log(2 * math.pi)


def iwae_from_log_weights(log_w):
    """log (1/k) sum_i exp(log_w[..., i]) along the last axis, computed stably (log-sum-exp)."""
    log_w = np.asarray(log_w, np.float64)
    m = log_w.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return (m[..., 0] + np.log(np.exp(log_w - m).sum(-1))) - math.log(log_w.shape[-1])


def gaussian_log_density(z, mu, logvar):
    """log N(z; mu, diag(exp(logvar))) summed over the last axis (host arrays)."""
    return -0.5 * (((z - mu) ** 2) * np.exp(-logvar) + logvar + LOG_2PI).sum(-1)


def log_weights(model, x, y=None, k=1, z_chunk=256):
    """log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x) for k draws per sample: a host array (N, k).

    ``model`` is a VAE: ``encode(x, y) -> (mu, logvar)``, ``decoder_output(z, y)`` and
    ``reconstruction_nll(x, out) -> -log p(x|z)`` per sample."""
    with no_grad(), model.evaluating():
        mu, logvar = model.encode(x, y)
        mu_h, lv_h = mu.numpy().astype(np.float64), logvar.numpy().astype(np.float64)
        n, d = mu_h.shape
        out = np.empty((n, k))
        for start in range(0, k, z_chunk):
            kc = min(z_chunk, k - start)
            # kc draws for every sample, as one batch of n * kc rows (sample-major)
            eps = randn(n, kc, d, dtype=mu.dtype, device=mu.device)
            z = mu.unsqueeze(1) + (logvar * 0.5).exp().unsqueeze(1) * eps
            zf = z.reshape(n * kc, d)
            xr = x.unsqueeze(1).broadcast_to((n, kc) + tuple(x.shape[1:])).reshape((n * kc,) + tuple(x.shape[1:]))
            yr = None if y is None else y.unsqueeze(1).broadcast_to((n, kc)).reshape(n * kc)
            nll = model.reconstruction_nll(xr, model.decoder_output(zf, yr)).numpy().astype(np.float64)
            zh = z.numpy().astype(np.float64)
            log_pz = -0.5 * (zh ** 2 + LOG_2PI).sum(-1)
            log_q = gaussian_log_density(zh, mu_h[:, None, :], lv_h[:, None, :])
            out[:, start:start + kc] = -nll.reshape(n, kc) + log_pz - log_q
    return out


def iwae(model, x, y=None, k=100, batch_size=None, z_chunk=256):
    """Negative IWAE_k bound, in nats per sample, averaged over ``x`` (k = 1: the negative ELBO).

    Returns (mean, standard error over the samples). ``batch_size`` samples at a time (default: keeps
    batch_size * min(k, z_chunk) rows per decoder pass near 20,000)."""
    if k < 1:
        raise ValueError(f"iwae: k must be >= 1, got {k}")
    n = x.shape[0]
    if batch_size is None:
        batch_size = max(1, 20000 // min(k, z_chunk))
    vals = []
    for s in range(0, n, batch_size):
        yb = None if y is None else y[s:s + batch_size]
        vals.append(-iwae_from_log_weights(log_weights(model, x[s:s + batch_size], yb, k, z_chunk)))
    v = np.concatenate(vals)
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else 0.0)
