"""The four benchmark workloads, written down once: their weights, their data and their GEMMs.

Every framework adapter (workloads_tinygen.py, workloads_torch.py, workloads_mygrad.py, workloads_autograd.py)
builds the same nets from the arrays made here, so that all of them start from the SAME weights and see the
SAME data and noise (float32, fixed seed, data uniform in [0, 1], noise standard normal):

* ``vae_mlp``   encoder 784-400 ReLU, 400->20 (mu), 400->20 (log sigma^2); z = mu + exp(logvar / 2) eps;
                decoder 20-400 ReLU, 400-784; loss = BCE-with-logits (sum) + KL (sum); Adam 1e-3; batch 128.
* ``gan_mlp``   G 100-256-512-784 (LeakyReLU 0.2, tanh), D 784-512-256-1 (LeakyReLU 0.2, logit);
                BCE-with-logits (mean); Adam 2e-4, betas (0.5, 0.999); batch 64.
                step = D update on D(x) and D(G(z).detach()), then G update on D(G(z)) (the same G(z), as in
                PyTorch's DCGAN tutorial; D's parameters do not require grad during the G update).
* ``wgan_mlp``  the same nets; RMSprop 5e-5; weights clipped to [-0.01, 0.01] after each critic update;
                step = 5 critic updates (each on its own real batch and noise, G run without a graph)
                + 1 generator update on fresh noise; batch 64.
* ``dcgan_28``  D conv(1->64, k4 s2 p1) LReLU 0.2, conv(64->128, k4 s2 p1) LReLU 0.2, flatten,
                linear(6272->1); G linear(100->6272) ReLU, (128, 7, 7), conv-transpose(128->64, k4 s2 p1)
                ReLU, conv-transpose(64->1, k4 s2 p1) tanh; as gan_mlp otherwise.

Weights are named like the PyTorch modules (``G.0.weight`` is the first layer of ``nn.Sequential`` G) and
laid out like PyTorch's (Linear (out, in), Conv2d (out, in, kh, kw), ConvTranspose2d (in, out, kh, kw)),
initialised as PyTorch's ``reset_parameters`` does: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

The noise is drawn here too, once, instead of inside each step: every framework then computes the same step,
and the benchmark times the autograd engines rather than four different random number generators.
"""
from __future__ import annotations

import math

import numpy as np

WORKLOADS = ("vae_mlp", "gan_mlp", "wgan_mlp", "dcgan_28")

# name -> (kind, shape) in PyTorch's layout, in module order; kind: linear | conv | convT
_GAN_MLP = [("G.0", "linear", (256, 100)), ("G.2", "linear", (512, 256)), ("G.4", "linear", (784, 512)),
            ("D.0", "linear", (512, 784)), ("D.2", "linear", (256, 512)), ("D.4", "linear", (1, 256))]
LAYERS = {
    "vae_mlp": [("fc1", "linear", (400, 784)), ("fc21", "linear", (20, 400)), ("fc22", "linear", (20, 400)),
                ("fc3", "linear", (400, 20)), ("fc4", "linear", (784, 400))],
    "gan_mlp": _GAN_MLP,
    "wgan_mlp": _GAN_MLP,
    "dcgan_28": [("G.0", "linear", (6272, 100)), ("G.3", "convT", (128, 64, 4, 4)), ("G.5", "convT", (64, 1, 4, 4)),
                 ("D.0", "conv", (64, 1, 4, 4)), ("D.2", "conv", (128, 64, 4, 4)), ("D.5", "linear", (1, 6272))],
}
BATCH = {"vae_mlp": 128, "gan_mlp": 64, "wgan_mlp": 64, "dcgan_28": 64}
N_CRITIC = 5
CLIP = 0.01


def _fan_in(kind, shape):
    if kind == "linear":
        return shape[1]
    return shape[1] * shape[2] * shape[3]   # PyTorch uses weight.shape[1] * k * k for conv AND conv-transpose


def make_arrays(workload, seed=0):
    """{name: float32 array}: every layer's ``.weight`` and ``.bias``, the data ``x`` and the noise."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    out = {}
    for name, kind, shape in LAYERS[workload]:
        bound = 1.0 / math.sqrt(_fan_in(kind, shape))
        out[name + ".weight"] = rng.uniform(-bound, bound, shape).astype(f32)
        nb = shape[1] if kind == "convT" else shape[0]
        out[name + ".bias"] = rng.uniform(-bound, bound, (nb,)).astype(f32)
    b = BATCH[workload]
    if workload == "vae_mlp":
        out["x"] = rng.random((b, 784), dtype=f32)
        out["eps"] = rng.standard_normal((b, 20), dtype=f32)
    elif workload == "gan_mlp":
        out["x"] = rng.random((b, 784), dtype=f32)
        out["z"] = rng.standard_normal((b, 100), dtype=f32)
    elif workload == "wgan_mlp":
        out["x"] = rng.random((N_CRITIC, b, 784), dtype=f32)
        out["z"] = rng.standard_normal((N_CRITIC + 1, b, 100), dtype=f32)
    else:
        out["x"] = rng.random((b, 1, 28, 28), dtype=f32)
        out["z"] = rng.standard_normal((b, 100), dtype=f32)
    return out


# ---------------------------------------------------------------------------------------------------------
# The GEMMs of one step, counted analytically (for the roofline)
# ---------------------------------------------------------------------------------------------------------
def _linear(b, shape, fwd=True, dx=True, dw=True):
    """A Linear (out, in) on a batch b: forward x W^T (b x in x out), dX = dY W, dW = dY^T X: 2 b in out each."""
    o, i = shape
    g = []
    if fwd:
        g.append((b, i, o))
    if dx:
        g.append((b, o, i))
    if dw:
        g.append((o, b, i))
    return g


def _conv(b, shape, hw_out, fwd=True, dx=True, dw=True):
    """Conv2d (O, C, k, k) with an OH x OW output: im2col GEMM (O, C k k) x (C k k, OH OW b), and its two
    adjoints (col2im for dX, cols^T for dW) with the same 2 O C k^2 OH OW b FLOPs each."""
    o, c, kh, kw = shape
    p = hw_out[0] * hw_out[1] * b
    g = []
    if fwd:
        g.append((o, c * kh * kw, p))
    if dx:
        g.append((c * kh * kw, o, p))
    if dw:
        g.append((o, p, c * kh * kw))
    return g


def _convT(b, shape, hw_in, fwd=True, dx=True, dw=True):
    """ConvTranspose2d (Cin, Cout, k, k) on an H x W input: GEMM (Cout k k, Cin) x (Cin, H W b), the adjoint of
    a conv2d: 2 Cin Cout k^2 H W b FLOPs for the forward, dX and dW each."""
    ci, co, kh, kw = shape
    p = hw_in[0] * hw_in[1] * b
    g = []
    if fwd:
        g.append((co * kh * kw, ci, p))
    if dx:
        g.append((ci, co * kh * kw, p))
    if dw:
        g.append((ci, p, co * kh * kw))
    return g


def _mlp(b, shapes, first_dx, dw=True, fwd=True):
    """GEMMs of an MLP's forward + backward: dX is skipped for the first layer unless its input needs it."""
    g = []
    for i, s in enumerate(shapes):
        g += _linear(b, s, fwd=fwd, dx=(i > 0 or first_dx), dw=dw)
    return g


def gemms(workload):
    """[(m, k, n)] for every matrix product of one step (forward and backward), in the order they run.
    FLOPs = sum of 2 m k n. Products skipped by every framework are not counted: dX of a layer whose input
    needs no gradient (the data, the noise, a detached fake), dW of D during the generator update."""
    L = {n: s for n, _, s in LAYERS[workload]}
    b = BATCH[workload]
    if workload == "vae_mlp":
        return (_linear(b, L["fc1"], dx=False) + _linear(b, L["fc21"]) + _linear(b, L["fc22"])
                + _linear(b, L["fc3"]) + _linear(b, L["fc4"]))
    if workload in ("gan_mlp", "wgan_mlp"):
        gs = [L["G.0"], L["G.2"], L["G.4"]]
        ds = [L["D.0"], L["D.2"], L["D.4"]]
        if workload == "gan_mlp":
            # D step: G forward (graph kept for the G step), D on real and on detached fake, D backward
            d_step = [(b, s[1], s[0]) for s in gs]
            d_step += 2 * _mlp(b, ds, first_dx=False)
            # G step: D forward on the same fake, D backward to the input only, G backward
            g_step = _mlp(b, ds, first_dx=True, dw=False) + [x for i, s in enumerate(gs)
                                                            for x in _linear(b, s, fwd=False, dx=i > 0)]
            return d_step + g_step
        critic = []
        for _ in range(N_CRITIC):   # G forward without a graph, D on real and fake, D backward
            critic += [(b, s[1], s[0]) for s in gs] + 2 * _mlp(b, ds, first_dx=False)
        gen = _mlp(b, gs, first_dx=False) + _mlp(b, ds, first_dx=True, dw=False)
        return critic + gen
    # dcgan_28: G = linear(100->6272), convT 7->14, convT 14->28; D = conv 28->14, conv 14->7, linear(6272->1)
    def g_net(fwd, bwd):
        return (_linear(b, L["G.0"], fwd=fwd, dx=False, dw=bwd) + _convT(b, L["G.3"], (7, 7), fwd=fwd, dx=bwd, dw=bwd)
                + _convT(b, L["G.5"], (14, 14), fwd=fwd, dx=bwd, dw=bwd))

    def d_net(first_dx, dw):
        return (_conv(b, L["D.0"], (14, 14), dx=first_dx, dw=dw) + _conv(b, L["D.2"], (7, 7), dw=dw)
                + _linear(b, L["D.5"], dw=dw))
    d_step = g_net(True, False) + 2 * d_net(False, True)
    g_step = d_net(True, False) + g_net(False, True)
    return d_step + g_step


def gemm_flops(workload):
    return sum(2 * m * k * n for m, k, n in gemms(workload))
