"""Autograd by hand: a tiny VAE's gradients derived on paper and written in NumPy, next to the engine's.

    python examples/autograd_by_hand.py [--batch 8] [--dim 6] [--hidden 5] [--latent 2] [--seed 0]

The model (one hidden layer each way, Bernoulli likelihood):
    h      = tanh(x W1^T + b1)                  encoder
    mu     = h Wm^T + bm,  logvar = h Wv^T + bv
    z      = mu + exp(logvar / 2) * eps          reparameterisation, eps ~ N(0, I) held fixed
    logits = z Wd^T + bd                         decoder
    loss   = sum BCE(logits, x) + sum KL(N(mu, sigma^2) || N(0, I))
           = sum [softplus(logits) - x logits] - 1/2 sum [1 + logvar - mu^2 - exp(logvar)]

Backward by the chain rule, one line per step (g_a means dloss/da):
    g_logits = sigmoid(logits) - x
    g_Wd = g_logits^T z,      g_bd = sum_rows g_logits,      g_z = g_logits Wd
    g_mu     = g_z + mu                                      (reparameterisation + KL)
    g_logvar = g_z * eps * exp(logvar/2) / 2 + (exp(logvar) - 1) / 2
    g_Wm = g_mu^T h,  g_bm = sum g_mu,  g_Wv = g_logvar^T h,  g_bv = sum g_logvar
    g_h  = g_mu Wm + g_logvar Wv
    g_a  = g_h * (1 - h^2)   (a = x W1^T + b1, the tanh input)
    g_W1 = g_a^T x,  g_b1 = sum g_a
The script computes both and prints them side by side; they agree to float64 rounding.
"""
import argparse

import numpy as np

import tinygen as tg


def manual(x, eps, p):
    """Forward and backward in plain NumPy, exactly the equations of the module docstring."""
    W1, b1, Wm, bm, Wv, bv, Wd, bd = (p[k] for k in ("W1", "b1", "Wm", "bm", "Wv", "bv", "Wd", "bd"))
    a = x @ W1.T + b1
    h = np.tanh(a)
    mu, logvar = h @ Wm.T + bm, h @ Wv.T + bv
    std = np.exp(logvar / 2)
    z = mu + std * eps
    logits = z @ Wd.T + bd
    softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
    loss = (softplus - x * logits).sum() - 0.5 * (1 + logvar - mu ** 2 - np.exp(logvar)).sum()
    g_logits = 1 / (1 + np.exp(-logits)) - x
    g = {"Wd": g_logits.T @ z, "bd": g_logits.sum(0)}
    g_z = g_logits @ Wd
    g_mu = g_z + mu
    g_logvar = g_z * eps * std / 2 + (np.exp(logvar) - 1) / 2
    g.update(Wm=g_mu.T @ h, bm=g_mu.sum(0), Wv=g_logvar.T @ h, bv=g_logvar.sum(0))
    g_h = g_mu @ Wm + g_logvar @ Wv
    g_a = g_h * (1 - h ** 2)
    g.update(W1=g_a.T @ x, b1=g_a.sum(0))
    return loss, g


def engine(x, eps, p):
    """The same model with tinygen tensors; the gradients come from backward()."""
    t = {k: tg.tensor(v, requires_grad=True) for k, v in p.items()}
    x, eps = tg.tensor(x), tg.tensor(eps)
    h = tg.linear(x, t["W1"], t["b1"]).tanh()
    mu, logvar = tg.linear(h, t["Wm"], t["bm"]), tg.linear(h, t["Wv"], t["bv"])
    z = mu + (logvar * 0.5).exp() * eps
    logits = tg.linear(z, t["Wd"], t["bd"])
    loss = (logits.softplus() - x * logits).sum() - 0.5 * (1 + logvar - mu * mu - logvar.exp()).sum()
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in t.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description="A tiny VAE's gradients by hand and by the engine, side by side.")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--dim", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=5)
    ap.add_argument("--latent", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    B, D, H, Z = args.batch, args.dim, args.hidden, args.latent
    x = (rng.random((B, D)) < 0.5).astype(np.float64)
    eps = rng.standard_normal((B, Z))
    shapes = {"W1": (H, D), "b1": (H,), "Wm": (Z, H), "bm": (Z,), "Wv": (Z, H), "bv": (Z,), "Wd": (D, Z),
              "bd": (D,)}
    p = {k: 0.5 * rng.standard_normal(s) for k, s in shapes.items()}
    loss_m, g_m = manual(x, eps, p)
    loss_e, g_e = engine(x, eps, p)
    print(f"loss: by hand {loss_m:.12f}   engine {loss_e:.12f}")
    print(f"{'param':<6}{'shape':>10}  {'first entry by hand':>22}{'engine':>22}{'max |diff|':>13}")
    worst = 0.0
    for k in shapes:
        d = float(np.abs(g_m[k] - g_e[k]).max())
        worst = max(worst, d)
        print(f"{k:<6}{str(shapes[k]):>10}  {g_m[k].flat[0]:>22.15f}{g_e[k].flat[0]:>22.15f}{d:>13.2e}")
    print(f"largest difference over all {sum(v.size for v in g_m.values())} gradient entries: {worst:.2e}")
    return 0 if worst < 1e-9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
