"""The benchmark workloads (see bench_spec.py) in Chainer 7.8.1, the last release (2020), with Chainer's own
links (Linear, Convolution2D, Deconvolution2D: PyTorch's weight layouts) and optimizers (Adam, RMSprop).

Chainer does not install beside NumPy 2, so it runs from a virtual environment of its own; compare.py starts
this adapter with that environment's Python (``--chainer-python`` or ``TINYGEN_BENCH_CHAINER_PYTHON``):

    python -m venv /tmp/chainer-venv
    /tmp/chainer-venv/bin/pip install "numpy<2" setuptools wheel
    /tmp/chainer-venv/bin/pip install --no-build-isolation chainer==7.8.1

Settings a Chainer user would pick for speed: ``type_check`` off; the generator update asks ``chainer.grad`` for
the generator's gradients only (like ``requires_grad_(False)`` on D), so D's weight gradients are not computed.
Chainer's Adam differs from PyTorch's in where eps enters (eps after the bias correction of the step size);
that changes numbers after the first update only: the first-step losses are compared before any update.
"""
from __future__ import annotations

import chainer
import chainer.functions as F
import chainer.links as L
import numpy as np

from bench_spec import CLIP, N_CRITIC, LAYERS

NAME = "chainer"
chainer.config.type_check = False


def version():
    return chainer.__version__


def _linear(arrays, name):
    w, b = arrays[name + ".weight"], arrays[name + ".bias"]
    return L.Linear(w.shape[1], w.shape[0], initialW=w.copy(), initial_bias=b.copy())


def _conv(arrays, name, transposed):
    w, b = arrays[name + ".weight"], arrays[name + ".bias"]
    if transposed:          # (in, out, kh, kw), as PyTorch
        return L.Deconvolution2D(w.shape[0], w.shape[1], 4, 2, 1, initialW=w.copy(), initial_bias=b.copy())
    return L.Convolution2D(w.shape[1], w.shape[0], 4, 2, 1, initialW=w.copy(), initial_bias=b.copy())


class _Seq(chainer.ChainList):
    def __init__(self, layers, hidden, last):
        super().__init__(*layers)
        self.hidden, self.last = hidden, last

    def forward(self, x):
        n = len(self)
        for i, layer in enumerate(self):
            x = layer(x)
            x = self.hidden(x) if i + 1 < n else self.last(x)
        return x


def _lrelu(x):
    return F.leaky_relu(x, 0.2)


def _identity(x):
    return x


class _DCGen(chainer.ChainList):
    def forward(self, z):
        fc, up1, up2 = self
        h = F.reshape(F.relu(fc(z)), (z.shape[0], 128, 7, 7))
        return F.tanh(up2(F.relu(up1(h))))


class _DCDis(chainer.ChainList):
    def forward(self, x):
        c1, c2, fc = self
        h = _lrelu(c2(_lrelu(c1(x))))
        return fc(F.reshape(h, (x.shape[0], -1)))


class _VAE(chainer.ChainList):
    def forward(self, x, eps):
        fc1, fc21, fc22, fc3, fc4 = self
        h = F.relu(fc1(x))
        mu, logvar = fc21(h), fc22(h)
        z = mu + F.exp(0.5 * logvar) * eps
        return fc4(F.relu(fc3(z))), mu, logvar


def _nets(workload, arrays):
    if workload == "dcgan_28":
        G = _DCGen(_linear(arrays, "G.0"), _conv(arrays, "G.3", True), _conv(arrays, "G.5", True))
        D = _DCDis(_conv(arrays, "D.0", False), _conv(arrays, "D.2", False), _linear(arrays, "D.5"))
        return G, D
    G = _Seq([_linear(arrays, n) for n in ("G.0", "G.2", "G.4")], _lrelu, F.tanh)
    D = _Seq([_linear(arrays, n) for n in ("D.0", "D.2", "D.4")], _lrelu, _identity)
    return G, D


def _bce_logits(z, t):
    """BCE with logits, mean over the batch: Chainer's fused sigmoid_cross_entropy wants integer labels."""
    return F.sigmoid_cross_entropy(z, t)


def _g_update(opt_g, G, loss):
    params = list(G.params())
    for p, g in zip(params, chainer.grad([loss], params)):
        p.grad = g.array
    opt_g.update()


def build(workload, arrays):
    if workload == "vae_mlp":
        model = _VAE(*[_linear(arrays, n) for n, _, _ in LAYERS["vae_mlp"]])
        opt = chainer.optimizers.Adam(alpha=1e-3)
        opt.setup(model)
        x, eps = arrays["x"], arrays["eps"]

        def step():
            logits, mu, logvar = model(x, eps)
            bce = F.sum(F.relu(logits) - logits * x + F.softplus(-F.absolute(logits)))
            kld = -0.5 * F.sum(1 + logvar - mu * mu - F.exp(logvar))
            loss = bce + kld
            model.cleargrads()
            loss.backward()
            opt.update()
            return [loss.array]
        return step

    G, D = _nets(workload, arrays)
    if workload == "wgan_mlp":
        opt_d, opt_g = chainer.optimizers.RMSprop(lr=5e-5), chainer.optimizers.RMSprop(lr=5e-5)
        opt_d.setup(D)
        opt_g.setup(G)
        xs, zs = arrays["x"], arrays["z"]

        def step():
            losses = []
            for k in range(N_CRITIC):
                with chainer.no_backprop_mode():
                    fake = G(zs[k]).array
                loss_d = F.mean(D(fake)) - F.mean(D(xs[k]))
                D.cleargrads()
                loss_d.backward()
                opt_d.update()
                for p in D.params():
                    np.clip(p.array, -CLIP, CLIP, out=p.array)
                losses.append(loss_d.array)
            loss_g = -F.mean(D(G(zs[N_CRITIC])))
            _g_update(opt_g, G, loss_g)
            return losses + [loss_g.array]
        return step

    opt_d = chainer.optimizers.Adam(alpha=2e-4, beta1=0.5, beta2=0.999)
    opt_g = chainer.optimizers.Adam(alpha=2e-4, beta1=0.5, beta2=0.999)
    opt_d.setup(D)
    opt_g.setup(G)
    x, z = arrays["x"], arrays["z"]
    ones = np.ones((x.shape[0], 1), np.int32)
    zeros = np.zeros((x.shape[0], 1), np.int32)

    def step():
        fake = G(z)
        loss_d = _bce_logits(D(x), ones) + _bce_logits(D(fake.array), zeros)
        D.cleargrads()
        loss_d.backward()
        opt_d.update()
        loss_g = _bce_logits(D(fake), ones)
        _g_update(opt_g, G, loss_g)
        return [loss_d.array, loss_g.array]
    return step
