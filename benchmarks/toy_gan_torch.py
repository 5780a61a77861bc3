"""The ring8 / grid25 GAN of the quality bar, written in PyTorch, against tinygen's, over several seeds: VEEGAN's
mode coverage of 2,500 samples every ``--log-every`` generator iterations and at the end. PyTorch is an optional
benchmark dependency.

    python benchmarks/toy_gan_torch.py [--data ring8] [--seeds 0 1 2 3 4 5] [--iters 10000] [--log-every 1000]

Both sides run the same loop as ``tinygen.models.GAN.train_step``: nets 2-128-128-{2,1} (ReLU), z ~ N(0, I) of
dimension 2, batch 256 drawn from the same finite training sample (shuffled each epoch, last partial batch
dropped), one D update on the real batch and G(z) for a fresh z (BCE with logits), then one G update on a fresh z
with the non-saturating loss; Adam lr 1e-3, betas (0.5, 0.999); PyTorch's default initialisation on both sides
(each with its own random numbers: this compares the behaviour of the two, not their numbers; for number-for-
number agreement see models_vs_torch.py).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tinygen as tg  # noqa: E402
from tinygen.data import DataLoader, load_dataset  # noqa: E402
from tinygen.data.toy import modes, toy_std  # noqa: E402
from tinygen.metrics import mode_coverage  # noqa: E402
from tinygen.models import build_model  # noqa: E402


def _stream(x, batch, rng):
    while True:
        perm = rng.permutation(len(x))
        for s in range(0, len(x) - batch + 1, batch):
            yield x[perm[s:s + batch]]


def run_torch(data, seed, iters, log_every):
    import torch
    from torch import nn
    torch.manual_seed(seed)
    x, _ = load_dataset(data, "train")
    x = np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=np.float32)

    def mlp(out):
        return nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, out))
    G, D = mlp(2), mlp(1)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    bce = nn.functional.binary_cross_entropy_with_logits
    stream = _stream(x, 256, np.random.default_rng(seed))
    log = []
    for i in range(1, iters + 1):
        xb = torch.from_numpy(next(stream))
        n = xb.shape[0]
        with torch.no_grad():
            fake = G(torch.randn(n, 2))
        opt_d.zero_grad()
        loss_d = bce(D(xb), torch.ones(n, 1)) + bce(D(fake), torch.zeros(n, 1))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        D.requires_grad_(False)
        loss_g = bce(D(G(torch.randn(n, 2))), torch.ones(n, 1))
        loss_g.backward()
        D.requires_grad_(True)
        opt_g.step()
        if i % log_every == 0 or i == iters:
            with torch.no_grad():
                s = G(torch.randn(2500, 2)).numpy()
            log.append((i, mode_coverage(s, modes(data), toy_std(data))))
    return log


def run_tinygen(data, seed, iters, log_every):
    tg.manual_seed(seed)
    x, y = load_dataset(data, "train")
    model = build_model("gan", data_shape=(2,), arch="mlp")
    opts = model.make_optimizers()
    loader = DataLoader(x, y, batch_size=model.default_batch_size, shuffle=True, drop_last=True)
    log, i = [], 0
    while i < iters:
        for xb, yb in loader:
            i += 1
            model.train_step(xb, yb, opts)
            if i % log_every == 0 or i == iters:
                log.append((i, mode_coverage(model.sample(2500), modes(data), toy_std(data))))
            if i == iters:
                break
    return log


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="ring8", choices=["ring8", "grid25"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    p.add_argument("--iters", type=int, default=10000)
    p.add_argument("--log-every", type=int, default=1000)
    p.add_argument("--frameworks", nargs="+", default=["tinygen", "torch"], choices=["tinygen", "torch"])
    args = p.parse_args(argv)
    runners = {"tinygen": run_tinygen, "torch": run_torch}
    final = {fw: [] for fw in args.frameworks}
    for seed in args.seeds:
        for fw in args.frameworks:
            t0 = time.perf_counter()
            log = runners[fw](args.data, seed, args.iters, args.log_every)
            hq = " ".join(f"{r['high_quality']:.0f}" for _, r in log)
            last = log[-1][1]
            final[fw].append(last)
            print(json.dumps({"framework": fw, "data": args.data, "seed": seed, "modes": last["modes"],
                              "high_quality": round(last["high_quality"], 2),
                              "hq_every_log": hq, "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
    k = final[args.frameworks[0]][0]["num_modes"]
    for fw, rs in final.items():
        ok = sum(r["modes"] == k and r["high_quality"] >= 90 for r in rs)
        print(f"{fw}: {k}/{k} modes with >= 90% high quality at iteration {args.iters} in {ok} of {len(rs)} seeds; "
              f"median high quality {np.median([r['high_quality'] for r in rs]):.1f}%")


if __name__ == "__main__":
    main()
