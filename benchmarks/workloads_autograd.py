"""The MLP benchmark workloads (see bench_spec.py) in HIPS autograd (functional: ``value_and_grad`` of a loss
written with ``autograd.numpy``), with PyTorch's Adam / RMSprop from numpy_optim.py.

Weights are kept as (in, out) matrices (``x @ W + b``, the library's idiom; transposed once at load). The
generator's output for the discriminator update is computed on plain arrays (nothing is traced: the loss is
differentiated w.r.t. D's weights only), and the generator update differentiates w.r.t. G's weights only.
dcgan_28 is not run: autograd has no (transposed) convolution primitive to build it from.
"""
from __future__ import annotations

import autograd  # noqa: F401  (fails early when the library is missing)
import autograd.numpy as anp
import numpy as np
from autograd import value_and_grad

from bench_spec import CLIP, N_CRITIC, LAYERS
from numpy_optim import Adam, RMSprop, clip_

NAME = "autograd"
SUPPORTED = ("vae_mlp", "gan_mlp", "wgan_mlp")


def version():
    from importlib.metadata import version as v
    return v("autograd")


def _params(arrays, names):
    """[W (in, out), b, W, b, ...] for the named Linear layers."""
    out = []
    for n in names:
        out += [np.ascontiguousarray(arrays[n + ".weight"].T), arrays[n + ".bias"].copy()]
    return out


def _mlp(params, x, hidden, last):
    for i in range(0, len(params), 2):
        x = anp.dot(x, params[i]) + params[i + 1]
        x = hidden(x) if i + 2 < len(params) else last(x)
    return x


def _lrelu(x):
    return anp.maximum(x, 0.2 * x)


def _bce_logits_mean(z, y):
    return anp.mean(anp.maximum(z, 0.0) - z * y + anp.log1p(anp.exp(-anp.abs(z))))


def G(p, z):
    return _mlp(p, z, _lrelu, anp.tanh)


def D(p, x):
    return _mlp(p, x, _lrelu, lambda t: t)


def build(workload, arrays):
    if workload not in SUPPORTED:
        raise NotImplementedError(f"{NAME} cannot run {workload}")
    if workload == "vae_mlp":
        p = _params(arrays, [n for n, _, _ in LAYERS["vae_mlp"]])
        x, eps = arrays["x"], arrays["eps"]
        relu = lambda t: anp.maximum(t, 0.0)  # noqa: E731

        def loss(p):
            h = relu(anp.dot(x, p[0]) + p[1])
            mu, logvar = anp.dot(h, p[2]) + p[3], anp.dot(h, p[4]) + p[5]
            z = mu + anp.exp(0.5 * logvar) * eps
            logits = anp.dot(relu(anp.dot(z, p[6]) + p[7]), p[8]) + p[9]
            bce = anp.sum(anp.maximum(logits, 0.0) - logits * x + anp.log1p(anp.exp(-anp.abs(logits))))
            return bce - 0.5 * anp.sum(1.0 + logvar - mu * mu - anp.exp(logvar))

        vg = value_and_grad(loss)
        opt = Adam(p, 1e-3)

        def step():
            l, g = vg(p)
            opt.step(g)
            return [l]
        return step

    pg, pd = _params(arrays, ["G.0", "G.2", "G.4"]), _params(arrays, ["D.0", "D.2", "D.4"])
    if workload == "wgan_mlp":
        opt_d, opt_g = RMSprop(pd, 5e-5), RMSprop(pg, 5e-5)
        critic = value_and_grad(lambda p, real, fake: anp.mean(D(p, fake)) - anp.mean(D(p, real)))
        gen = value_and_grad(lambda p, z: -anp.mean(D(pd, G(p, z))))

        def step():
            losses = []
            for k in range(N_CRITIC):
                fake = G(pg, arrays["z"][k])
                l, g = critic(pd, arrays["x"][k], fake)
                opt_d.step(g)
                clip_(pd, CLIP)
                losses.append(l)
            l, g = gen(pg, arrays["z"][N_CRITIC])
            opt_g.step(g)
            return losses + [l]
        return step

    opt_d, opt_g = Adam(pd, 2e-4, (0.5, 0.999)), Adam(pg, 2e-4, (0.5, 0.999))
    x, z = arrays["x"], arrays["z"]
    disc = value_and_grad(lambda p, fake: _bce_logits_mean(D(p, x), 1.0) + _bce_logits_mean(D(p, fake), 0.0))
    gen = value_and_grad(lambda p: _bce_logits_mean(D(pd, G(p, z)), 1.0))

    def step():
        l_d, g = disc(pd, G(pg, z))
        opt_d.step(g)
        l_g, g = gen(pg)
        opt_g.step(g)
        return [l_d, l_g]
    return step
