"""The benchmark workloads (see bench_spec.py) in tinygen, written as a user would write them.

``build(workload, arrays)`` returns ``step()``: one training step (forward, backward, update), returning the
step's losses as 0-d Tensors (the first one is computed from the weights as they were before the step).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

# the fused optimizer updates (tinygen/backend/fused.py) from the first step, as in a long run's steady state
# ("auto" would build them a second into the run, inside the timed steps of the slower workloads)
os.environ.setdefault("TINYGEN_FUSED", "on")

import tinygen as tg  # noqa: E402
import tinygen.functional as F  # noqa: E402
from tinygen import nn, optim  # noqa: E402
from tinygen import _malloc  # noqa: E402

from bench_spec import CLIP, N_CRITIC  # noqa: E402

# a training process, set up as tinygen.train() and the tinygen command set theirs up (benchmarks/NOTES.md 5)
_malloc.tune()

NAME = "tinygen"


def version():
    return getattr(tg, "__version__", "dev")


def _load(module, arrays, prefix):
    sd = {k[len(prefix):]: tg.tensor(v) for k, v in arrays.items()
          if k.startswith(prefix) and k.endswith((".weight", ".bias"))}
    module.load_state_dict(sd)
    return module


def _gan_nets(arrays):
    G = nn.Sequential(nn.Linear(100, 256), nn.LeakyReLU(0.2), nn.Linear(256, 512), nn.LeakyReLU(0.2),
                      nn.Linear(512, 784), nn.Tanh())
    D = nn.Sequential(nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2),
                      nn.Linear(256, 1))
    return _load(G, arrays, "G."), _load(D, arrays, "D.")


def _dcgan_nets(arrays):
    G = nn.Sequential(nn.Linear(100, 128 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (128, 7, 7)),
                      nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
    D = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1), nn.LeakyReLU(0.2),
                      nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    return _load(G, arrays, "G."), _load(D, arrays, "D.")


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

    def forward(self, x, eps):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + (logvar * 0.5).exp() * eps
        return self.fc4(F.relu(self.fc3(z))), mu, logvar


def build(workload, arrays):
    tg.manual_seed(0)
    threads = os.environ.get("TINYGEN_BENCH_THREADS", "default")     # bench_worker.py --threads
    if threads != "default":
        tg.set_num_threads(int(threads))                              # else tinygen's automatic policy
    if workload == "vae_mlp":
        model = _load(VAE(), arrays, "")
        opt = optim.Adam(model.parameters(), lr=1e-3)
        x, eps = tg.tensor(arrays["x"]), tg.tensor(arrays["eps"])

        def step():
            opt.zero_grad()
            logits, mu, logvar = model(x, eps)
            loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") + \
                F.gaussian_kl(mu, logvar, reduction="sum")
            loss.backward()
            opt.step()
            return [loss]
        return step

    G, D = _dcgan_nets(arrays) if workload == "dcgan_28" else _gan_nets(arrays)
    if workload == "wgan_mlp":
        opt_d = optim.RMSprop(D.parameters(), lr=5e-5)
        opt_g = optim.RMSprop(G.parameters(), lr=5e-5)
        xs = [tg.tensor(a) for a in arrays["x"]]
        zs = [tg.tensor(a) for a in arrays["z"]]

        def step():
            losses = []
            for k in range(N_CRITIC):
                with tg.no_grad():
                    fake = G(zs[k])
                opt_d.zero_grad()
                loss_d = D(fake).mean() - D(xs[k]).mean()
                loss_d.backward()
                opt_d.step()
                optim.clip_weights_(D.parameters(), CLIP)
                losses.append(loss_d)
            opt_g.zero_grad()
            D.requires_grad_(False)
            loss_g = -D(G(zs[N_CRITIC])).mean()
            loss_g.backward()
            D.requires_grad_(True)
            opt_g.step()
            return losses + [loss_g]
        return step

    opt_d = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    x, z = tg.tensor(arrays["x"]), tg.tensor(arrays["z"])
    ones = tg.ones(x.shape[0], 1)
    zeros = tg.zeros(x.shape[0], 1)

    def step():
        fake = G(z)
        opt_d.zero_grad()
        loss_d = F.binary_cross_entropy_with_logits(D(x), ones) + \
            F.binary_cross_entropy_with_logits(D(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        D.requires_grad_(False)
        loss_g = F.binary_cross_entropy_with_logits(D(fake), ones)
        loss_g.backward()
        D.requires_grad_(True)
        opt_g.step()
        return [loss_d, loss_g]
    return step
