"""Autograd by hand: a tiny VAE's and a tiny WGAN-GP critic's gradients, derived on paper and written in NumPy,
next to the engine's, and both against finite differences.

    python examples/autograd_by_hand.py [--batch 8] [--dim 6] [--hidden 5] [--latent 2] [--seed 0]
                                        [--out runs/autograd_by_hand] [--quick]

The VAE (one hidden layer each way, Bernoulli likelihood):
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

The WGAN-GP critic f(x) = v . tanh(W x + b) + c, its loss mean f(fake) - mean f(real) + P, with the penalty
P = lambda/N sum_n (||g_n|| - 1)^2 at x_n = e_n real_n + (1 - e_n) fake_n (e held fixed), where
g_n = grad_x f(x_n) = W^T (v * s_n), a_n = W x_n + b, h_n = tanh(a_n), s_n = 1 - h_n^2. Backward through g
(the double backward, by hand):
    gamma_n = dP/dg_n = 2 lambda/N (||g_n|| - 1) g_n / ||g_n||           q_n = W gamma_n
    dP/dv = sum_n s_n * q_n
    dP/da_n = v * q_n * (-2 h_n s_n)  =: delta_n                        (tanh's second derivative)
    dP/db = sum_n delta_n,   dP/dW = sum_n [ (v * s_n) gamma_n^T + delta_n x_n^T ],   dP/dc = 0
and the Wasserstein part: df/dv = h, df/dW = (v * s) x^T, df/db = v * s, df/dc = 1, averaged with sign -1 over
real and +1 over fake samples.

The script prints both, side by side; they agree to float64 rounding, and tinygen.gradcheck confirms the
engine's against central differences. --out DIR gets the tables (gradients.txt) and the graph of the VAE's
loss (vae_graph.png).
"""
import argparse
import io
import os

import numpy as np

import tinygen as tg
from tinygen.cli_parser import folder
import tinygen.functional as F

LAMBDA = 10.0


# ---------------------------------------------------------------------------------------------------------
# The VAE
# ---------------------------------------------------------------------------------------------------------
def vae_manual(x, eps, p):
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


def vae_loss(x, eps, t):
    """The same model with tinygen tensors ``t`` (a dict of the parameters)."""
    h = tg.linear(x, t["W1"], t["b1"]).tanh()
    mu, logvar = tg.linear(h, t["Wm"], t["bm"]), tg.linear(h, t["Wv"], t["bv"])
    z = mu + (logvar * 0.5).exp() * eps
    logits = tg.linear(z, t["Wd"], t["bd"])
    return (logits.softplus() - x * logits).sum() - 0.5 * (1 + logvar - mu * mu - logvar.exp()).sum()


# ---------------------------------------------------------------------------------------------------------
# The WGAN-GP critic
# ---------------------------------------------------------------------------------------------------------
def critic_manual(real, fake, e, p):
    """The critic's loss (Wasserstein part + gradient penalty) and its gradients, in plain NumPy."""
    W, b, v, c = p["W"], p["b"], p["v"], p["c"]
    n = real.shape[0]
    g, loss = {"W": np.zeros_like(W), "b": np.zeros_like(b), "v": np.zeros_like(v), "c": np.zeros_like(c)}, 0.0
    for x, sign in ((fake, 1.0), (real, -1.0)):             # mean f(fake) - mean f(real)
        h = np.tanh(x @ W.T + b)
        loss += sign * (h @ v + c).mean()
        vs = v * (1 - h ** 2)
        g["v"] += sign * h.mean(0)
        g["W"] += sign * vs.T @ x / n
        g["b"] += sign * vs.mean(0)
        g["c"] += sign
    x_hat = e[:, None] * real + (1 - e[:, None]) * fake
    h = np.tanh(x_hat @ W.T + b)
    s = 1 - h ** 2
    grad_x = (v * s) @ W                                   # g_n = W^T (v * s_n), one row per sample
    r = np.sqrt((grad_x ** 2).sum(1) + 1e-12)
    loss += LAMBDA * ((r - 1) ** 2).mean()
    gamma = (2 * LAMBDA / n) * ((r - 1) / r)[:, None] * grad_x
    q = gamma @ W.T
    delta = v * q * (-2 * h * s)
    g["v"] += (s * q).sum(0)
    g["b"] += delta.sum(0)
    g["W"] += (v * s).T @ gamma + delta.T @ x_hat
    return loss, g


def critic_loss(real, fake, e, t):
    """The same with tinygen: F.gradient_penalty differentiates the critic with create_graph=True."""
    def f(x):
        return tg.linear(tg.linear(x, t["W"], t["b"]).tanh(), t["v"].reshape((1, -1)), t["c"]).reshape((-1,))
    return f(fake).mean() - f(real).mean() + F.gradient_penalty(f, real, fake, lambda_=LAMBDA, eps=e)


# ---------------------------------------------------------------------------------------------------------
# Side by side
# ---------------------------------------------------------------------------------------------------------
def compare(title, manual, loss_fn, p, write):
    """Print the hand-derived gradients next to the engine's; check the engine's by finite differences.
    Returns (largest |hand - engine|, the engine's loss tensor)."""
    loss_m, g_m = manual
    t = {k: tg.tensor(v, dtype="float64", requires_grad=True) for k, v in p.items()}
    for k, v in t.items():
        v.name = k
    loss = loss_fn(t)
    loss.backward()
    write(f"{title}\nloss: by hand {loss_m:.12f}   engine {loss.item():.12f}")
    write(f"{'param':<6}{'shape':>10}  {'first entry by hand':>22}{'engine':>22}{'max |diff|':>13}")
    worst = 0.0
    for k in p:
        ge = t[k].grad.numpy()
        d = float(np.abs(g_m[k] - ge).max())
        worst = max(worst, d)
        write(f"{k:<6}{str(p[k].shape):>10}  {np.ravel(g_m[k])[0]:>22.15f}{np.ravel(ge)[0]:>22.15f}{d:>13.2e}")
    n = sum(v.size for v in g_m.values())
    ok = tg.gradcheck(lambda *ps: loss_fn(t), list(t.values()))
    write(f"largest difference over all {n} gradient entries: {worst:.2e}; the engine's gradients against "
          f"finite differences: {'agree' if ok else 'DISAGREE'}\n")
    return worst, loss


def draws(rng, shapes, scale=0.5):
    return {k: scale * rng.standard_normal(s) for k, s in shapes.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description="A tiny VAE's and WGAN-GP critic's gradients by hand and by the "
                                 "engine, side by side.")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--dim", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=5)
    ap.add_argument("--latent", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=folder, default="runs/autograd_by_hand", metavar="DIR",
                    help="the folder for gradients.txt and vae_graph.png (default runs/autograd_by_hand)")
    ap.add_argument("--quick", action="store_true", help="the smallest sizes (batch 2, 3 pixels, 2 hidden units)")
    args = ap.parse_args(argv)
    B, D, H, Z = (2, 3, 2, 1) if args.quick else (args.batch, args.dim, args.hidden, args.latent)
    rng = np.random.default_rng(args.seed)
    text = io.StringIO()

    def write(line):
        print(line)
        text.write(line + "\n")

    x = (rng.random((B, D)) < 0.5).astype(np.float64)
    eps = rng.standard_normal((B, Z))
    p = draws(rng, {"W1": (H, D), "b1": (H,), "Wm": (Z, H), "bm": (Z,), "Wv": (Z, H), "bv": (Z,), "Wd": (D, Z),
                    "bd": (D,)})
    xt, et = tg.tensor(x, dtype="float64"), tg.tensor(eps, dtype="float64")
    w1, vae = compare("VAE: negative ELBO (eps held fixed)", vae_manual(x, eps, p), lambda t: vae_loss(xt, et, t),
                      p, write)

    real, fake, e = rng.standard_normal((B, D)), rng.standard_normal((B, D)), rng.uniform(0.1, 0.9, B)
    q = draws(rng, {"W": (H, D), "b": (H,), "v": (H,), "c": (1,)}, scale=1.0)
    rt, ft, ett = (tg.tensor(a, dtype="float64") for a in (real, fake, e))
    w2, _ = compare(f"WGAN-GP critic: mean f(fake) - mean f(real) + gradient penalty (lambda {LAMBDA:g})",
                    critic_manual(real, fake, e, q), lambda t: critic_loss(rt, ft, ett, t), q, write)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "gradients.txt"), "w") as f:
        f.write(text.getvalue())
    tg.viz.draw(vae, os.path.join(args.out, "vae_graph.png"), title="the tiny VAE's negative ELBO")
    print(f"wrote {args.out}/gradients.txt and {args.out}/vae_graph.png")
    return 0 if max(w1, w2) < 1e-9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
