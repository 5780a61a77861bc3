"""``tinygen gradcheck``: every check a course needs, as one table of worst relative errors.

Three kinds of rows, all in float64 against central differences (:mod:`tinygen.gradcheck`):

* every registered op (first and second order, on inputs its ``sample`` draws, ``seeds`` draws each);
* the composites of :mod:`tinygen.functional` a course derives by hand: softmax, log_softmax, cross_entropy,
  gaussian_kl, binary_cross_entropy, gradient_penalty (first and second order, ``seeds`` draws each);
* every model's training objectives by the model's name (:mod:`tinygen.model_steps`: a small instance, all
  its parameters, the noise held fixed; first and second order): ``vae`` (the negative ELBO, Bernoulli and
  Gaussian likelihoods), ``ae``, ``gan`` (discriminator and generator losses), ``wgan`` (critic and generator
  losses), ``wgan-gp`` (the critic loss with its gradient penalty, and the generator loss).

The relative error of one derivative is ``|analytic - numeric| / max(|analytic|, |numeric|, 0.01)``; a row
shows the worst over all the derivatives it checked.
"""
from __future__ import annotations

import re

import numpy as np  # host-side: fixed labels and interpolation weights

from . import creation as _creation
from . import functional as F
from .autograd import REGISTRY
from .gradcheck import GradcheckError, RandomDraw, _gradcheck, _gradgradcheck, _sampled, check_op
from .model_steps import KINDS, objectives

__all__ = ["COMPOSITES", "GROUPS", "select", "run"]

_TOL = dict(eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, full_jacobian_max=4096, n_directions=3, seed=0)


def _t(a):
    return _creation.tensor(np.asarray(a), dtype="float64")


# ---------------------------------------------------------------------------------------------------------
# The composites, in the ops' sample(draw) protocol
# ---------------------------------------------------------------------------------------------------------
def _softmax(draw):
    return [draw.array(draw.shape(1, 3))], lambda x: F.softmax(x, axis=-1)


def _log_softmax(draw):
    return [draw.array(draw.shape(1, 3))], lambda x: F.log_softmax(x, axis=-1)


def _cross_entropy(draw):
    n, c = draw.integer(1, 4), draw.integer(2, 5)
    labels = _creation.tensor([draw.integer(0, c - 1) for _ in range(n)], dtype="int64")
    return [draw.array((n, c))], lambda z: F.cross_entropy(z, labels)


def _gaussian_kl(draw):
    shape = (draw.integer(1, 3), draw.integer(1, 4))
    return [draw.array(shape), draw.array(shape)], lambda mu, logvar: F.gaussian_kl(mu, logvar)


def _binary_cross_entropy(draw):
    shape = draw.shape(1, 2)
    return [draw.array(shape, "unit"), draw.array(shape, "unit")], lambda p, y: F.binary_cross_entropy(p, y)


def _gradient_penalty(draw):
    """The penalty of a tanh critic f(x) = w2 tanh(W1 x + b1) at x_hat = e real + (1 - e) fake, e fixed."""
    n, d, h = draw.integer(1, 3), draw.integer(1, 3), draw.integer(1, 3)
    e = _t(draw.array((n,), "unit"))

    def fn(w1, b1, w2, real, fake):
        return F.gradient_penalty(lambda x: F.linear(F.linear(x, w1, b1).tanh(), w2), real, fake, eps=e)
    return [draw.array((h, d)), draw.array((h,)), draw.array((1, h)), draw.array((n, d)), draw.array((n, d))], fn


class _Composite:
    """A composite checked like an op: ``sample(draw)`` gives its inputs."""

    def __init__(self, name, what, sample):
        self.name, self.what, self.sample = name, what, staticmethod(sample)


COMPOSITES = {c.name: c for c in (
    _Composite("softmax", "F.softmax: p_i = exp(x_i) / sum_j exp(x_j)", _softmax),
    _Composite("log_softmax", "F.log_softmax: x_i - logsumexp(x)", _log_softmax),
    _Composite("cross_entropy", "F.cross_entropy: -log softmax(z)_t, batch mean", _cross_entropy),
    _Composite("gaussian_kl", "F.gaussian_kl: KL(N(mu, sigma^2) || N(0, 1))", _gaussian_kl),
    _Composite("binary_cross_entropy", "F.binary_cross_entropy(p, y), w.r.t. p and y", _binary_cross_entropy),
    _Composite("gradient_penalty", "F.gradient_penalty of a tanh critic, eps fixed", _gradient_penalty),
)}
GROUPS = {"ops": "every registered op", "composites": "the composites", "models": "every model's objectives"}


# ---------------------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------------------
class _Row:
    """One line of the table: ``run()`` returns (first order, second order) CheckResults."""

    def __init__(self, name, what, run):
        self.name, self.what, self.run = name, what, run


def _op_what(cls):
    first = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
    return "op: " + re.sub(r"\s+", " ", first)


def _drawn_row(name, what, op, seeds):
    def run():
        first = second = None
        for seed in range(seeds):
            a, b = check_op(op, RandomDraw(seed), second_order=True) if isinstance(op, type) else _check_sampled(
                op, seed)
            first, second = a if first is None else first.merge(a), b if second is None else second.merge(b)
        return first, second
    return _Row(name, what, run)


def _check_sampled(composite, seed):
    arrays, fn = composite.sample(RandomDraw(seed))
    inputs = [_t(a).requires_grad_(True) for a in arrays]
    return _gradcheck(fn, inputs, **_TOL), _gradgradcheck(fn, inputs, None, **_TOL)


def _objective_row(obj):
    def run():
        fn = lambda *ps: obj.fn()          # noqa: E731  (the closure idiom: gradcheck perturbs ps in place)
        return _gradcheck(fn, obj.params, **_TOL), _gradgradcheck(fn, obj.params, None, **_TOL)
    return _Row(obj.name, f"{obj.what} ({sum(p.numel() for p in obj.params)} params)", run)


def select(names, all_=False, seeds=3):
    """The rows for ``names`` (op, composite or model names, or "ops", "composites", "models"); with
    ``all_``, every row; with neither, every op (``tinygen gradcheck`` alone). Unknown names: ValueError."""
    known = sorted(REGISTRY) + list(COMPOSITES) + list(KINDS) + list(GROUPS)
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError(f"unknown op(s) {', '.join(bad)}: give op names (tinygen gradcheck ops lists them), "
                         f"composites ({', '.join(COMPOSITES)}), models ({', '.join(KINDS)}), or ops / "
                         f"composites / models")
    if all_:
        names = ["ops", "composites", "models"]
    elif not names:
        names = ["ops"]
    rows = []
    for n in names:
        if n == "ops":
            rows += [_drawn_row(o, _op_what(REGISTRY[o]), REGISTRY[o], seeds) for o in sorted(REGISTRY)]
        elif n == "composites":
            rows += [_drawn_row(c.name, c.what, c, seeds) for c in COMPOSITES.values()]
        elif n == "models":
            rows += [_objective_row(o) for k in KINDS for o in objectives(k)]
        elif n in COMPOSITES:
            rows.append(_drawn_row(n, COMPOSITES[n].what, COMPOSITES[n], seeds))
        elif n in KINDS:
            rows += [_objective_row(o) for o in objectives(n)]
        else:
            rows.append(_drawn_row(n, _op_what(REGISTRY[n]), REGISTRY[n], seeds))
    return rows


def _clip(text, n):
    return text if len(text) <= n else text[:n - 3] + "..."


def run(rows, seeds=3, write=print):
    """Run ``rows`` and write the table; returns the number of failed rows."""
    write("worst relative error |analytic - numeric| / max(|analytic|, |numeric|, 0.01), float64 central "
          "differences")
    w = max([len(r.name) for r in rows] + [5]) + 2
    write(f"{'check':<{w}}{'what':<62}{'1st order':>11}{'2nd order':>11}  result")
    failed = 0
    for row in rows:
        try:
            first, second = row.run()
            e1, e2, status = f"{first.max_rel:.1e}", f"{second.max_rel:.1e}", "ok"
        except GradcheckError as e:
            e1 = e2 = "-"
            status, failed = f"FAIL: {e}", failed + 1
        write(f"{row.name:<{w}}{_clip(row.what, 61):<62}{e1:>11}{e2:>11}  {status}")
    n_ops = sum(r.name in REGISTRY for r in rows)
    detail = f"; ops and composites: {seeds} random draws each" if n_ops or any(
        r.name in COMPOSITES for r in rows) else ""
    noun = "ops" if n_ops == len(rows) else "checks"
    models = "; models: one small instance each, noise fixed" if any(r.name in KINDS for r in rows) else ""
    write(f"{len(rows) - failed}/{len(rows)} {noun} pass (first and second derivatives{detail}{models})")
    return failed
