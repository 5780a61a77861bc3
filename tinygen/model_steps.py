"""One training step of every model, small enough to study: what ``tinygen gradcheck MODEL`` checks and
``tinygen graph MODEL`` draws.

Each model is built on 2-number data (a "2-pixel image") with a 1-D latent and nets of one hidden layer of 3
units, in float64, with its noise held fixed (the VAE's eps, the GANs' z, WGAN-GP's interpolation weights), so
that its losses are deterministic functions of its parameters:

    objectives(kind)   [Objective]: each loss as a function of the parameters it trains (for gradcheck)
    step_graph(kind)   the losses of one training step, with their parts named, for tinygen.viz
"""
from __future__ import annotations

import numpy as np  # host-side: the fixed data and noise

from . import creation as _creation
from . import functional as F
from .autograd import grad as _grad, no_grad
from .models import build_model
from .tensor import Tensor

__all__ = ["KINDS", "Objective", "small_model", "objectives", "step_graph"]

KINDS = ("ae", "vae", "gan", "wgan", "wgan-gp")
BATCH = 2


class Objective:
    """A loss of one training step as a function of ``params``: ``fn()`` reads them through the model, so
    ``tinygen.gradcheck(lambda *ps: obj.fn(), obj.params)`` checks its derivatives."""

    def __init__(self, name, what, fn, params):
        self.name, self.what, self.fn, self.params = name, what, fn, list(params)

    def __repr__(self):
        return f"<Objective {self.name}: {self.what}>"


def small_model(kind, seed=0, **kw):
    """A float64 instance of ``kind`` on data of shape (2,), latent dimension 1, one hidden layer of 3, its
    parameters drawn from U(-1, 1) (``seed``); the VAE's likelihood is Bernoulli unless ``likelihood`` says."""
    if kind not in KINDS:
        raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(KINDS)}")
    kw = dict(data_shape=(2,), arch="mlp", hidden=(3,), latent_dim=1, **kw)
    if kind == "wgan-gp":
        kw.setdefault("gp_weight", 10.0)           # the paper's lambda (the toy default is 0.1)
    if kind == "vae":
        kw.setdefault("likelihood", "bernoulli")
    model = build_model(kind, **kw).to("float64")
    rng = np.random.default_rng(seed)
    with no_grad():                  # a generic point: weights in U(-1, 1), biases in U(0.5, 1.5) (ReLUs alive)
        for name, p in model.named_parameters():
            lo, hi = (0.5, 1.5) if name.endswith("bias") else (-1.0, 1.0)
            p.data[...] = p.xp.asarray(rng.uniform(lo, hi, p.shape), dtype=p.data.dtype)
    return model


def _data(kind, seed):
    """(x, noise) as float64 Tensors: x in (0, 1) for the AE/VAE, N(0, 1) for the GANs; the noise is the VAE's
    eps (N, 1), or the GANs' z (N, 1) and WGAN-GP's interpolation weights (N,)."""
    rng = np.random.default_rng(seed + 100)
    if kind in ("ae", "vae"):
        x = rng.uniform(0.05, 0.95, (BATCH, 2))
    else:
        x = rng.standard_normal((BATCH, 2))
    noise = {"eps": rng.standard_normal((BATCH, 1)), "z": rng.standard_normal((BATCH, 1)),
             "e": rng.uniform(0.1, 0.9, BATCH)}
    as_t = lambda a: _creation.tensor(a, dtype="float64")      # noqa: E731
    return as_t(x), {k: as_t(v) for k, v in noise.items()}


def _params(*modules):
    return [p for m in modules for p in m.parameters()]


def objectives(kind, seed=0):
    """The losses of one training step of ``kind`` as :class:`Objective` s (see the module docstring)."""
    model = small_model(kind, seed)
    x, n = _data(kind, seed)
    if kind == "ae":
        return [Objective("ae", "reconstruction MSE", lambda: model.loss(x)[0], model.parameters())]
    if kind == "vae":
        gauss = small_model("vae", seed, likelihood="gaussian")
        return [Objective("vae", "-ELBO, Bernoulli likelihood, eps fixed",
                          lambda: model.negative_elbo(x, eps=n["eps"])["loss"], model.parameters()),
                Objective("vae", "-ELBO, Gaussian likelihood (learned variance)",
                          lambda: gauss.negative_elbo(x, eps=n["eps"])["loss"], gauss.parameters())]
    both = _params(model.critic, model.generator)
    extra = {"eps": n["e"]} if kind == "wgan-gp" else {}
    critic = {"gan": "D loss", "wgan": "critic loss", "wgan-gp": "critic loss + penalty"}[kind]
    return [Objective(kind, f"{critic}, w.r.t. D and, via G(z), G",
                      lambda: model.critic_loss(x, model.generate(n["z"]), **extra)[0], both),
            Objective(kind, "G loss" + (" (non-saturating)" if kind == "gan" else "") + ", w.r.t. G and D",
                      lambda: model.generator_loss(n["z"]), _params(model.generator, model.critic))]


# ---------------------------------------------------------------------------------------------------------
# The graph of one training step
# ---------------------------------------------------------------------------------------------------------
class StepGraph:
    """What ``tinygen graph`` draws: ``roots`` {name: loss}, ``groups`` {name: [tensors]} (in the order of the
    computation), ``params`` {name: leaf tensor}, and ``title``."""

    def __init__(self, title, roots, groups, params):
        self.title, self.roots, self.groups, self.params = title, roots, groups, params


def _leaf(a, name):
    """A leaf that requires grad, so that it is drawn (data and noise are constants of the step)."""
    t = a.detach() if isinstance(a, Tensor) else _creation.tensor(a, dtype="float64")
    t.requires_grad_(True)
    t.name = name
    return t


def _vae_graph(seed):
    model = small_model("vae", seed)
    x0, n = _data("vae", seed)
    x, eps = _leaf(x0, "x (data)"), _leaf(n["eps"], "eps ~ N(0, 1)")
    mu, logvar = model.encode(x)
    z = model.reparameterize(mu, logvar, eps)
    logits = model.decoder_output(z)
    rec = model.reconstruction_nll(x, logits)
    kl = F.gaussian_kl(mu, logvar)
    loss = (rec + kl * model.beta).mean()
    groups = {"encoder: mu, log sigma^2": [mu, logvar], "reparameterisation z = mu + sigma eps": z,
              "decoder: logits": logits, "reconstruction -log p(x|z)": rec, "KL(q(z|x) || N(0, 1))": kl,
              "-ELBO, batch mean": loss}
    title = "VAE, one step: -ELBO = E_q[-log p(x|z)] + KL, on 2 images of 2 pixels, latent dimension 1"
    return StepGraph(title, {"loss": loss}, groups, dict(model.named_parameters()))


def _ae_graph(seed):
    model = small_model("ae", seed)
    x0, _ = _data("ae", seed)
    x = _leaf(x0, "x (data)")
    z = model.encode(x)
    rec = model.decode(z)
    loss = F.mse_loss(rec, x)
    groups = {"encoder: z": z, "decoder: x_rec": rec, "MSE": loss}
    title = "AE, one step: mean (x_rec - x)^2, on 2 images of 2 pixels, latent dimension 1"
    return StepGraph(title, {"loss": loss}, groups, dict(model.named_parameters()))


def _penalty(model, real, fake, e):
    """WGAN-GP's penalty, step by step as F.gradient_penalty computes it (so its parts can be named)."""
    x_hat = F.interpolate(real, fake, e)
    f_hat = model.critic(x_hat)
    (g,) = _grad(f_hat, x_hat, grad_outputs=Tensor(f_hat.xp.ones_like(f_hat.data)), create_graph=True)
    norms = ((g * g).sum(1) + 1e-12).sqrt()
    return x_hat, f_hat, g, ((norms - 1.0) ** 2).mean() * model.gp_weight


def _adversarial_graph(kind, seed):
    model = small_model(kind, seed)
    x0, n = _data(kind, seed)
    real = _leaf(x0, "x (real)")
    with no_grad():
        fake0 = model.generate(n["z"])
    fake = _leaf(fake0, "G(z), detached")
    f_real, f_fake = model.score(real), model.score(fake)
    groups = {"critic on real and fake": [f_real, f_fake]}
    if kind == "gan":
        d_loss = F.binary_cross_entropy_with_logits(f_real, 1.0) + F.binary_cross_entropy_with_logits(f_fake, 0.0)
        groups["discriminator loss"] = d_loss
    else:
        w = f_fake.mean() - f_real.mean()
        groups["critic loss E f(G(z)) - E f(x)"] = w
        d_loss = w
    if kind == "wgan-gp":
        e = _leaf(n["e"], "e ~ U(0, 1)")
        x_hat, f_hat, g, gp = _penalty(model, real, fake, e.reshape((BATCH, 1)))
        groups.update({"x_hat = e x + (1 - e) G(z)": x_hat, "critic at x_hat": f_hat,
                       "grad_x f(x_hat): backward ops, recorded": g, "penalty lambda (||g|| - 1)^2": gp})
        d_loss = d_loss + gp
        groups["critic loss + penalty"] = d_loss
    z = _leaf(n["z"], "z ~ N(0, 1)")
    with _frozen(model.critic):
        g_loss = model.generator_loss(z)
    groups["generator step (critic frozen)"] = g_loss
    title = {"gan": "GAN", "wgan": "WGAN", "wgan-gp": "WGAN-GP"}[kind] + \
        ", one step: the critic's loss, then the generator's, on 2 points in 2-D, latent dimension 1"
    roots = {"critic loss" if kind != "gan" else "D loss": d_loss, "G loss": g_loss}
    return StepGraph(title, roots, groups, dict(model.named_parameters()))


def _frozen(module):
    from .models.gan import frozen
    return frozen(module)


def step_graph(kind, seed=0):
    """The :class:`StepGraph` of one training step of ``kind`` (a small instance: see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "vae":
        return _vae_graph(seed)
    if kind == "ae":
        return _ae_graph(seed)
    return _adversarial_graph(kind, seed)


def draw_step(kind, out, engine="auto", seed=0):
    """Draw one training step of ``kind`` (values and gradients after its backward) to ``out``; returns the
    sentences that say what was drawn."""
    from . import viz
    from .autograd import backward
    sg = step_graph(kind, seed)
    viz.retain_grads(sg.roots)
    backward(list(sg.roots.values()))
    g = viz.graph(sg.roots, params=sg.params, groups=sg.groups, title=sg.title)
    path = g.save(out, engine)
    ops = sum(kind_ == "op" for _, kind_, _, _, _ in g.nodes)
    lines = [f"wrote {path}: {sg.title}",
             f"{ops} ops and {len(g.nodes) - ops} leaves, coloured by part: {'; '.join(g.groups)}"]
    if kind == "wgan-gp":
        lines.append("the penalty's boxes are backward ops recorded by grad(create_graph=True); with this ReLU "
                     "critic, x_hat reaches them only through the ReLU masks, which are constants")
    return "\n".join(lines)
