"""The MLP benchmark workloads (see bench_spec.py) in MyGrad, with PyTorch's Adam / RMSprop from
numpy_optim.py updating the tensors' arrays in place.

Weights are (in, out) matrices (``x @ W + b``; transposed once at load). Constants are float32 NumPy
scalars: MyGrad turns Python floats into float64 arrays, which would upcast the whole step. Memory guarding
(MyGrad's read-only locking of arrays in a graph) is switched off, as its documentation suggests for speed.
During the generator update D's weights enter as constant tensors (no gradient), like requires_grad=False.
dcgan_28 is not run: MyGrad has conv_nd but no transposed convolution.
"""
from __future__ import annotations

import mygrad as mg
import numpy as np

from bench_spec import CLIP, N_CRITIC, LAYERS
from numpy_optim import Adam, RMSprop, clip_

NAME = "mygrad"
SUPPORTED = ("vae_mlp", "gan_mlp", "wgan_mlp")
f32 = np.float32
mg.turn_memory_guarding_off()


def version():
    return mg.__version__


def _params(arrays, names):
    out = []
    for n in names:
        out += [mg.tensor(np.ascontiguousarray(arrays[n + ".weight"].T)), mg.tensor(arrays[n + ".bias"].copy())]
    return out


def _mlp(params, x, hidden, last):
    for i in range(0, len(params), 2):
        x = x @ params[i] + params[i + 1]
        x = hidden(x) if i + 2 < len(params) else last(x)
    return x


def _lrelu(x):
    return mg.maximum(x, f32(0.2) * x)   # mg.nnet.leaky_relu returns float64 for float32 input


def _bce_logits_mean(z, y):
    return mg.mean(mg.maximum(z, f32(0)) - z * y + mg.log1p(mg.exp(-mg.abs(z))))


def _G(p, z):
    return _mlp(p, z, _lrelu, mg.tanh)


def _D(p, x):
    return _mlp(p, x, _lrelu, lambda t: t)


def build(workload, arrays):
    if workload not in SUPPORTED:
        raise NotImplementedError(f"{NAME} cannot run {workload}")
    if workload == "vae_mlp":
        p = _params(arrays, [n for n, _, _ in LAYERS["vae_mlp"]])
        opt = Adam([t.data for t in p], 1e-3)
        x, eps = arrays["x"], arrays["eps"]
        relu = mg.nnet.relu

        def step():
            h = relu(x @ p[0] + p[1])
            mu, logvar = h @ p[2] + p[3], h @ p[4] + p[5]
            z = mu + mg.exp(f32(0.5) * logvar) * eps
            logits = relu(z @ p[6] + p[7]) @ p[8] + p[9]
            bce = mg.sum(mg.maximum(logits, f32(0)) - logits * x + mg.log1p(mg.exp(-mg.abs(logits))))
            loss = bce - f32(0.5) * mg.sum(f32(1) + logvar - mu * mu - mg.exp(logvar))
            loss.backward()
            opt.step([t.grad for t in p])
            return [loss]
        return step

    pg, pd = _params(arrays, ["G.0", "G.2", "G.4"]), _params(arrays, ["D.0", "D.2", "D.4"])
    pd_const = [mg.Tensor(t.data, constant=True, copy=False) for t in pd]   # D as constants, same arrays
    dd, gd = [t.data for t in pd], [t.data for t in pg]
    if workload == "wgan_mlp":
        opt_d, opt_g = RMSprop(dd, 5e-5), RMSprop(gd, 5e-5)

        def step():
            losses = []
            for k in range(N_CRITIC):
                with mg.no_autodiff:
                    fake = _G(pg, arrays["z"][k])
                loss = mg.mean(_D(pd, fake)) - mg.mean(_D(pd, arrays["x"][k]))
                loss.backward()
                opt_d.step([t.grad for t in pd])
                clip_(dd, CLIP)
                losses.append(loss)
            loss = -mg.mean(_D(pd_const, _G(pg, arrays["z"][N_CRITIC])))
            loss.backward()
            opt_g.step([t.grad for t in pg])
            return losses + [loss]
        return step

    opt_d, opt_g = Adam(dd, 2e-4, (0.5, 0.999)), Adam(gd, 2e-4, (0.5, 0.999))
    x, z = arrays["x"], arrays["z"]

    def step():
        fake = _G(pg, z)
        loss_d = _bce_logits_mean(_D(pd, x), f32(1)) + _bce_logits_mean(_D(pd, fake.data), f32(0))
        loss_d.backward()
        opt_d.step([t.grad for t in pd])
        loss_g = _bce_logits_mean(_D(pd_const, fake), f32(1))
        loss_g.backward()
        opt_g.step([t.grad for t in pg])
        return [loss_d, loss_g]
    return step
