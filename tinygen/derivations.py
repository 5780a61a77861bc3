"""The worked examples of docs/derivations.md, computed by the engine and checked against finite differences:
``tinygen derivation NAME`` prints the numbers a student computed on paper.

Every example is tiny (a 2-pixel image, a 1-D latent) and in float64. Each prints its values and the engine's
gradients as ``name = value`` lines (6 decimals: the lines of the handout), then checks the same gradients
against central differences (and, for the gradient penalty, the second derivatives).
"""
from __future__ import annotations

import math

import numpy as np  # host-side: printing

from . import creation as _creation
from . import functional as F
from . import optim
from .autograd import grad as _grad
from .gradcheck import GradcheckError, _gradcheck, _gradgradcheck

__all__ = ["EXAMPLES", "Worked", "run"]

_TOL = dict(eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, full_jacobian_max=4096, n_directions=3, seed=0)


class Worked:
    """A worked example: its ``title``, ``lines`` [(name, value)], and the finite-difference ``checks``
    [(what, CheckResult or None, None or the disagreement)]."""

    def __init__(self, title):
        self.title, self.lines, self.checks = title, [], []

    def show(self, name, value):
        self.lines.append((name, _fmt(value)))

    def check(self, what, fn, inputs, second_order=False):
        runs = [(what, lambda: _gradcheck(fn, inputs, **_TOL))]
        if second_order:
            runs.append((what + ", second order", lambda: _gradgradcheck(fn, inputs, None, **_TOL)))
        for name, go in runs:
            try:
                self.checks.append((name, go(), None))
            except GradcheckError as e:
                self.checks.append((name, None, str(e)))


def _fmt(v):
    a = np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float64)
    if a.size == 1:
        return f"{float(a.reshape(())):.6f}"
    return "(" + ", ".join(f"{float(x):.6f}" for x in a.reshape(-1)) + ")"


def _leaf(*values):
    t = _creation.tensor(list(values) if len(values) > 1 else values[0], dtype="float64")
    return t.requires_grad_(True)


def _grads(out, inputs):
    return _grad(out, inputs, retain_graph=True)


# ---------------------------------------------------------------------------------------------------------
# The VAE
# ---------------------------------------------------------------------------------------------------------
LOGVAR = -2.0 * math.log(2.0)         # sigma = 1/2


def reparameterisation():
    w = Worked("z = mu + exp(logvar / 2) eps at mu = 0.5, logvar = -2 ln 2 (sigma = 0.5), eps = 0.2")
    mu, logvar, eps = _leaf(0.5), _leaf(LOGVAR), _creation.tensor(0.2, dtype="float64")
    z = mu + (logvar * 0.5).exp() * eps
    dmu, dlogvar = _grads(z, [mu, logvar])
    for name, v in (("z", z), ("dz/dmu", dmu), ("dz/dlogvar", dlogvar)):
        w.show(name, v)
    w.check("dz/d(mu, logvar)", lambda m, lv: m + (lv * 0.5).exp() * eps, [mu, logvar])
    return w


def kl():
    w = Worked("KL(N(mu, sigma^2) || N(0, 1)) at mu = 0.5, logvar = -2 ln 2")
    mu, logvar = _leaf([0.5]), _leaf([LOGVAR])
    k = F.gaussian_kl(mu, logvar)
    dmu, dlogvar = _grads(k, [mu, logvar])
    for name, v in (("KL", k), ("dKL/dmu", dmu), ("dKL/dlogvar", dlogvar)):
        w.show(name, v)
    w.check("dKL/d(mu, logvar)", lambda m, lv: F.gaussian_kl(m, lv), [mu, logvar], second_order=True)
    return w


X = [1.0, 0.0]                          # the 2-pixel image of every VAE example


def bernoulli():
    w = Worked("-log p(x | l), Bernoulli, x = (1, 0), logits l = (1.2, -0.1)")
    x, logits = _creation.tensor(X, dtype="float64"), _leaf(1.2, -0.1)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    (dl,) = _grads(rec, [logits])
    w.show("rec", rec)
    w.show("drec/dl", dl)
    w.check("drec/dl", lambda t: F.binary_cross_entropy_with_logits(t, x, reduction="sum"), [logits], True)
    return w


def gaussian():
    w = Worked("-log N(x; m, s^2), x = (1, 0), m = (0.8, 0.3), log s^2 = 0 (one shared variance)")
    x, m, logs2 = _creation.tensor(X, dtype="float64"), _leaf(0.8, 0.3), _leaf([0.0])
    rec = F.gaussian_nll(x, m, logs2, reduction="sum")
    dm, dlogs2 = _grads(rec, [m, logs2])
    for name, v in (("rec", rec), ("drec/dm", dm), ("drec/dlogs2", dlogs2)):
        w.show(name, v)
    w.check("drec/d(m, log s^2)", lambda a, b: F.gaussian_nll(x, a, b, reduction="sum"), [m, logs2], True)
    return w


def elbo():
    w = Worked("-ELBO = rec + KL: x = (1, 0), mu = 0.5, logvar = -2 ln 2, eps = 0.2, decoder l = w z + b, "
               "w = (2, -1), b = (0, 0.5)")
    x, eps = _creation.tensor(X, dtype="float64"), _creation.tensor(0.2, dtype="float64")
    mu, logvar, wd, b = _leaf([0.5]), _leaf([LOGVAR]), _leaf(2.0, -1.0), _leaf(0.0, 0.5)

    def negative_elbo(mu, logvar, wd, b):
        z = mu + (logvar * 0.5).exp() * eps
        logits = wd * z + b
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        return rec + F.gaussian_kl(mu, logvar)
    loss = negative_elbo(mu, logvar, wd, b)
    grads = _grads(loss, [mu, logvar, wd, b])
    w.show("-ELBO", loss)
    for name, v in zip(("d/dmu", "d/dlogvar", "d/dw", "d/db"), grads):
        w.show(name, v)
    w.check("d(-ELBO)/d(mu, logvar, w, b)", negative_elbo, [mu, logvar, wd, b], second_order=True)
    return w


# ---------------------------------------------------------------------------------------------------------
# Classification, GANs
# ---------------------------------------------------------------------------------------------------------
def softmax_ce():
    w = Worked("softmax and cross-entropy: logits z = (2, 1, 0), target class 0")
    z = _leaf(2.0, 1.0, 0.0)
    target = _creation.tensor(0, dtype="int64")
    loss = F.cross_entropy(z, target)
    (dz,) = _grads(loss, [z])
    w.show("p", F.softmax(z, axis=0))
    w.show("L", loss)
    w.show("dL/dz", dz)
    w.check("dL/dz", lambda t: F.cross_entropy(t, target), [z], second_order=True)
    return w


REAL, FAKE_DIR = [1.0, 0.0], [0.5, -0.5]


def _generator(a, g, z):
    return a * z + g                  # G(z) = a z + g: a 2-pixel image from a 1-D latent


def gan():
    w = Worked("GAN: D(x) = v.x + c (a logit), G(z) = a z + g; x = (1, 0), z = 1, v = (1, 2), c = -1, "
               "a = (0.5, -0.5), g = (0, 0)")
    x, z = _creation.tensor(REAL, dtype="float64"), _creation.tensor(1.0, dtype="float64")
    v, c, a, g = _leaf(1.0, 2.0), _leaf(-1.0), _leaf(*FAKE_DIR), _leaf(0.0, 0.0)

    def d(t, v, c):
        return (v * t).sum() + c
    d_fake = d(_generator(a, g, z), v, c)
    d_loss = F.softplus(-d(x, v, c)) + F.softplus(d_fake)          # -log s(D(x)) - log(1 - s(D(G(z))))
    saturating, non_saturating = -F.softplus(d_fake), F.softplus(-d_fake)
    w.show("D(x)", d(x, v, c))
    w.show("D(G(z))", d_fake)
    w.show("L_D", d_loss)
    for name, v_ in zip(("dL_D/dv", "dL_D/dc"), _grads(d_loss, [v, c])):
        w.show(name, v_)
    w.show("L_G saturating", saturating)
    w.show("dL_G/dD(G(z)) saturating", -F.sigmoid(d_fake))
    w.show("dL_G/da saturating", _grads(saturating, [a])[0])
    w.show("L_G non-saturating", non_saturating)
    w.show("dL_G/dD(G(z)) non-saturating", F.sigmoid(d_fake) - 1.0)
    w.show("dL_G/da non-saturating", _grads(non_saturating, [a])[0])
    w.check("dL_D/d(v, c)", lambda v, c: F.softplus(-d(x, v, c)) + F.softplus(d(_generator(a, g, z), v, c)), [v, c])
    for name, sign in (("saturating", -1.0), ("non-saturating", 1.0)):
        w.check(f"dL_G/d(a, g) {name}", lambda a, g, s=sign: F.softplus(s * -d(_generator(a, g, z), v, c)) * s,
                [a, g])
    return w


def wgan():
    w = Worked("WGAN critic f(x) = v.x + c, real x = (1, 0), fake G(z) = (0.5, -0.5), v = (0.008, -0.006), "
               "c = 0; one RMSprop step (lr 0.001, alpha 0.99), then the clip to [-0.01, 0.01]")
    x, fake = _creation.tensor(REAL, dtype="float64"), _creation.tensor(FAKE_DIR, dtype="float64")
    v, c = _leaf(0.008, -0.006), _leaf(0.0)

    def critic_loss(v, c):
        return ((v * fake).sum() + c) - ((v * x).sum() + c)     # E f(G(z)) - E f(x), one sample each
    loss = critic_loss(v, c)
    w.show("L_f", loss)
    dv, dc = _grads(loss, [v, c])
    w.show("dL_f/dv", dv)
    w.show("dL_f/dc", dc)
    w.check("dL_f/dv", critic_loss, [v, _creation.tensor(0.0, dtype="float64")])
    loss.backward()
    opt = optim.RMSprop([v, c], lr=0.001, alpha=0.99)
    opt.step()
    w.show("v after RMSprop", v)
    optim.clip_weights_([v, c], 0.01)
    w.show("v after the clip", v)
    return w


def gradient_penalty():
    w = Worked("WGAN-GP: critic f(x) = v tanh(u.x), u = (1, 1), v = 2; real (1, 0), fake (0.2, 0.6), e = 0.5, "
               "lambda = 10")
    real = _creation.tensor([[1.0, 0.0]], dtype="float64")
    fake = _creation.tensor([[0.2, 0.6]], dtype="float64")
    u, v = _leaf([[1.0, 1.0]]), _leaf([[2.0]])

    def penalty(u, v):
        return F.gradient_penalty(lambda t: F.linear(F.linear(t, u).tanh(), v), real, fake, lambda_=10.0, eps=0.5)
    p = penalty(u, v)
    x_hat = F.interpolate(real, fake, 0.5)
    h = F.linear(x_hat, u).tanh()
    w.show("x_hat", x_hat)
    w.show("h = tanh(u.x_hat)", h)
    w.show("||grad_x f||", (v * (1.0 - h * h)).abs() * math.sqrt(2.0))
    w.show("P", p)
    du, dv = _grads(p, [u, v])
    w.show("dP/du", du)
    w.show("dP/dv", dv)
    with_s_fixed = _grad(penalty_s_fixed(real, fake, u, v), [u])[0]
    w.show("dP/du, tanh' held fixed", with_s_fixed)
    w.check("dP/d(u, v)", penalty, [u, v], second_order=True)
    return w


def penalty_s_fixed(real, fake, u, v):
    """The penalty with tanh'(u.x_hat) = 1 - h^2 treated as a constant: what a first-order-only backward sees."""
    x_hat = F.interpolate(real, fake, 0.5)
    s = (1.0 - F.linear(x_hat, u).tanh() ** 2).detach()
    g = (v * s) * u                                 # grad_x f = v s u
    r = ((g * g).sum() + 1e-12).sqrt()
    return (r - 1.0) ** 2 * 10.0


EXAMPLES = {
    "reparameterisation": reparameterisation, "kl": kl, "bernoulli": bernoulli, "gaussian": gaussian,
    "elbo": elbo, "softmax-ce": softmax_ce, "gan": gan, "wgan": wgan, "gradient-penalty": gradient_penalty,
}


def run(name, write=print):
    """Compute and print the worked example ``name``; returns the number of failed checks (0: it agrees)."""
    if name not in EXAMPLES:
        raise ValueError(f"unknown derivation {name!r}; choose one of {', '.join(EXAMPLES)}")
    w = EXAMPLES[name]()
    write(w.title)
    width = max(len(n) for n, _ in w.lines)
    for n, v in w.lines:
        write(f"  {n:<{width}} = {v}")
    failed = 0
    for what, res, error in w.checks:
        if error is not None:
            failed += 1
            write(f"finite differences, {what}: DISAGREE: {error}")
        else:
            write(f"finite differences, {what}: agree (worst relative error {res.max_rel:.0e})")
    return failed
