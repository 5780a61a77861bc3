"""The toy GAN, WGAN and WGAN-GP training steps of tinygen against the same steps written in PyTorch, number for
number: the same initial weights, the same real batches, the same z and (WGAN-GP) the same interpolation
weights; prints the largest parameter difference as training goes on. PyTorch is an optional benchmark
dependency.

    python benchmarks/models_vs_torch.py [gan|wgan|wgan-gp ...] [--calls 300]

float32 rounding differs between the two, and GAN dynamics amplify it, so the differences stay ~1e-7 for tens
of steps and then grow slowly; a wrong loss, update or clip would differ at once.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tinygen as tg  # noqa: E402
from tinygen.models import build_model  # noqa: E402


def mlp(torch, out):
    nn = torch.nn
    return nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, out))


def compare(kind, calls, torch):
    rng = np.random.default_rng(0)
    tg.manual_seed(0)
    m = build_model(kind, data_shape=(2,), arch="mlp")
    G, D = mlp(torch, 2), mlp(torch, 1)
    with torch.no_grad():
        for tp, p in zip(G.parameters(), m.generator.parameters()):
            tp.copy_(torch.tensor(p.numpy()))
        for tp, p in zip(D.parameters(), m.critic.parameters()):
            tp.copy_(torch.tensor(p.numpy()))
    if kind == "gan":
        make = lambda ps: torch.optim.Adam(ps, 1e-3, betas=(0.5, 0.999))  # noqa: E731
    elif kind == "wgan":
        make = lambda ps: torch.optim.RMSprop(ps, 5e-5)  # noqa: E731
    else:
        make = lambda ps: torch.optim.Adam(ps, 1e-4, betas=(0.0, 0.9))  # noqa: E731
    og, od = make(G.parameters()), make(D.parameters())
    opts = m.make_optimizers()
    queue = []
    m.sample_latent = lambda n: tg.tensor(queue.pop(0))          # tinygen draws z here: feed it ours
    if kind == "wgan-gp":
        gp = type(m).gradient_penalty
        m.gradient_penalty = lambda real, fake, y=None, eps=None: gp(m, real, fake, y, eps=tg.tensor(e))
    bce = torch.nn.BCEWithLogitsLoss()
    n = m.n_critic
    for call in range(1, calls + 1):
        xb = (rng.standard_normal((256, 2)) * 0.5).astype(np.float32)
        z1, z2 = (rng.standard_normal((256, 2)).astype(np.float32) for _ in range(2))
        e = rng.random(256).astype(np.float32)
        queue[:] = [z1, z2]
        logs = m.train_step(tg.tensor(xb), None, opts)
        x = torch.tensor(xb)
        with torch.no_grad():
            fake = G(torch.tensor(z1))
        od.zero_grad()
        if kind == "gan":
            loss = bce(D(x).squeeze(1), torch.ones(256)) + bce(D(fake).squeeze(1), torch.zeros(256))
        else:
            loss = D(fake).mean() - D(x).mean()
            if kind == "wgan-gp":
                t = torch.tensor(e)[:, None]
                xh = (t * x + (1 - t) * fake).requires_grad_(True)
                (g,) = torch.autograd.grad(D(xh).sum(), xh, create_graph=True)
                loss = loss + 10 * ((torch.sqrt((g * g).sum(1) + 1e-12) - 1) ** 2).mean()
        loss.backward()
        od.step()
        if kind == "wgan":
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-0.01, 0.01)
        if call % n == 0:
            og.zero_grad()
            out = D(G(torch.tensor(z2))).squeeze(1)
            (bce(out, torch.ones(256)) if kind == "gan" else -out.mean()).backward()
            og.step()
        if call == 1 or call % 50 == 0:
            dg = max(float(np.abs(tp.detach().numpy() - p.numpy()).max())
                     for tp, p in zip(G.parameters(), m.generator.parameters()))
            dd = max(float(np.abs(tp.detach().numpy() - p.numpy()).max())
                     for tp, p in zip(D.parameters(), m.critic.parameters()))
            print(f"{kind:8s} call {call:4d}  critic loss tinygen {logs['d_loss']:+.7f} torch {loss.item():+.7f}  "
                  f"max|dG| {dg:.1e}  max|dD| {dd:.1e}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("models", nargs="*", default=["gan", "wgan", "wgan-gp"])
    p.add_argument("--calls", type=int, default=300)
    args = p.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("models_vs_torch.py needs PyTorch (pip install torch); it is only a benchmark dependency.")
    torch.set_num_threads(1)
    for kind in args.models:
        compare(kind, args.calls, torch)


if __name__ == "__main__":
    main()
