"""The sentences of the ``tinygen compare`` report, each derived from the measured numbers (``summary``, as
``tinygen/compare.py`` writes it to results.json), failures included.

What the words mean, so that a reader can check them against the table:

* **blank**: the samples are (nearly) one image: the mean over pixels of their standard deviation across
  samples is below ``BLANK_SPREAD`` (the held-out images': about 0.19).
* **collapsed**: the samples show at most ``FEW_DIGITS`` of the 10 digits (by the shipped classifier), or the
  samples of each digit vary far less than the data's (within-digit diversity below ``LOW_DIVERSITY``; 1 =
  as varied as the held-out images).
* **closer to the data**: a lower FD-MNIST (the Frechet distance of classifier features).

No sentence describes a picture: only what the numbers measure.
"""
from __future__ import annotations

import math

from .models import MODELS, AdversarialModel, model_class

BLANK_SPREAD = 0.02
FEW_DIGITS = 5
LOW_DIVERSITY = 0.4
FAIR_SPREAD = 0.10

__all__ = ["sentences", "status", "prior_sentences", "name", "in_order"]


def name(kind):
    """The model's name in the report ("WGAN-GP"): its class's ``display_name``."""
    return model_class(kind).display_name


def in_order(results):
    """The kinds of ``results`` in the order the models were registered (the table's order)."""
    return [k for k in MODELS if k in results]


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def status(ev):
    """("blank" | "collapsed" | "ok", the reason in words) for one model's evaluation on images."""
    spread = ev.get("pixel_spread")
    if _num(spread) and spread < BLANK_SPREAD:
        real = ev.get("pixel_spread_real")
        return "blank", (f"its samples are (nearly) one image: their pixels vary by {spread:.3f} across samples"
                         + (f", the held-out images' by {real:.2f}" if _num(real) else ""))
    digits, div = ev.get("digits_covered"), ev.get("diversity")
    why = []
    if _num(digits) and digits <= FEW_DIGITS:
        why.append(f"its samples show only {digits} of the 10 digits")
    if _num(div) and div < LOW_DIVERSITY:
        why.append(f"its samples of a digit vary far less than the data's (within-digit diversity {div:.2f}; "
                   f"the held-out images: 1)")
    return ("collapsed", " and ".join(why)) if why else ("ok", "")


def _fairness(res):
    secs = {k: r["seconds"] for k, r in res.items() if _num(r.get("seconds"))}
    if len(secs) < 2:
        return []
    lo, hi = min(secs, key=secs.get), max(secs, key=secs.get)
    spread = (secs[hi] - secs[lo]) / secs[hi]
    verdict = (f"within the {FAIR_SPREAD:.0%} the comparison promises" if spread <= FAIR_SPREAD else
               f"more than {FAIR_SPREAD:.0%}: the budget was NOT equal in fact")
    out = [f"Each model trained until its own clock passed its share of the budget: from {secs[lo]:.0f} s "
           f"({name(lo)}) to {secs[hi]:.0f} s ({name(hi)}), a spread of {spread:.0%}, {verdict}."]
    cpu = {k: r["cpu_seconds"] for k, r in res.items() if _num(r.get("cpu_seconds"))}
    if len(cpu) == len(secs):
        a, b = min(cpu.values()), max(cpu.values())
        out.append(f"The processor time they got, training on one core each, ranged from {a:.0f} to {b:.0f} CPU "
                   f"seconds ({(b - a) / b:.0%} apart)" + ("; on a busy machine a model's clock runs while "
                                                           "other programs have its core" if (b - a) / b > FAIR_SPREAD
                                                           else "") + ".")
    return out


def _failures(ev):
    out = []
    for k, e in ev.items():
        st, why = status(e)
        if st == "blank":
            out.append(f"The {name(k)} is blank: {why}; in this budget it learned nothing that resembles the data.")
        elif st == "collapsed":
            out.append(f"The {name(k)} collapsed: {why}.")
    return out


def _closeness(ev):
    floor = next(iter(ev.values())).get("fd_floor")
    ranked = sorted((k for k in ev if _num(ev[k].get("fd_mnist"))), key=lambda k: ev[k]["fd_mnist"])
    if not ranked or not _num(floor):
        return []
    best = ranked[0]
    out = [f"By FD-MNIST (1,000 samples against 1,000 held-out images; the same distance between two halves of "
           f"the held-out images is {floor:.1f}) the closest to the data are the {name(best)}'s samples, at "
           f"{ev[best]['fd_mnist']:.1f} ({ev[best]['fd_mnist'] / floor:.1f}x the floor); then "
           + ", ".join(f"{name(k)} {ev[k]['fd_mnist']:.1f}" for k in ranked[1:]) + "."]
    adv = [k for k in ranked if issubclass(model_class(k), AdversarialModel)]
    if "vae" in ev and adv and _num(ev["vae"].get("fd_mnist")):
        g, v = adv[0], ev["vae"]["fd_mnist"]
        if ev[g]["fd_mnist"] < v:
            out.append(f"The best adversarial model, the {name(g)} ({ev[g]['fd_mnist']:.1f}), is closer to the data "
                       f"than the VAE ({v:.1f}), whose samples are the means of p(x|z).")
        else:
            out.append(f"The VAE ({v:.1f}) is closer to the data than every adversarial model; the best of them, "
                       f"the {name(g)}, is at {ev[g]['fd_mnist']:.1f}.")
    return out


def _digits(ev):
    have = {k: e["digits_covered"] for k, e in ev.items() if _num(e.get("digits_covered"))}
    if not have:
        return []
    full = [name(k) for k, d in have.items() if d == 10]
    few = [f"{name(k)} {d}" for k, d in have.items() if d < 10]
    out = [("All ten digits appear in the samples of " + ", ".join(full) + "." if full else
            "No model's samples show all ten digits.") + (" Fewer digits: " + ", ".join(few) + "." if few else "")]
    ent = {k: e["class_entropy"] for k, e in ev.items() if _num(e.get("class_entropy"))}
    if ent and max(ent.values()) > 0.5:
        k = max(ent, key=ent.get)
        out.append(f"The most even spread over the digits is the {name(k)}'s (histogram entropy {ent[k]:.2f} of at "
                   f"most 2.30).")
    return out


def _toy(ev):
    out = []
    if all("modes_covered" in e for e in ev.values()):
        best = max(ev, key=lambda k: (ev[k]["modes_covered"], ev[k]["high_quality"]))
        out.append(f"The {name(best)} covers the most modes ({ev[best]['modes_covered']}/{ev[best]['num_modes']}, "
                   f"{ev[best]['high_quality']:.0f}% of its samples within 3 standard deviations of a mode). "
                   + " ".join(f"{name(k)}: {e['modes_covered']}/{e['num_modes']}, {e['high_quality']:.0f}%."
                              for k, e in ev.items() if k != best))
        few = [k for k, e in ev.items() if e["modes_covered"] <= e["num_modes"] // 2]
        if few:
            out.append("Collapsed onto half of the modes or fewer: " + ", ".join(
                f"{name(k)} ({ev[k]['modes_covered']}/{ev[k]['num_modes']})" for k in few) + ".")
    close = min(ev, key=lambda k: ev[k]["swd"])
    out.append(f"By the sliced Wasserstein distance to held-out points the closest is the {name(close)} "
               f"({ev[close]['swd']:.3f}; real vs real: {ev[close]['swd_floor']:.3f}).")
    return out


def _likelihood(ev):
    if "vae" not in ev or not _num(ev["vae"].get("heldout_nelbo")):
        return []
    v = ev["vae"]
    return [f"Only the VAE gives a likelihood: its held-out negative ELBO is {v['heldout_nelbo']:.1f} nats per image "
            f"and the tighter importance-weighted bound (k = {v['iwae_k']}) {v['iwae']:.1f} nats; the GANs have no "
            f"p(x) to evaluate."]


def prior_sentences(ev):
    """The headline distance from N(0, I) of every model with a latent code, and how to read the rest."""
    coded = {k: e for k, e in ev.items() if e.get("prior_estimator") == "gaussian_fit_kl"}
    gans = [name(k) for k, e in ev.items() if e.get("prior_estimator") == "by_construction"]
    out = []
    if coded:
        out.append("Distance from N(0, I), one estimator on every row (the KL of a Gaussian with the mean and "
                   "covariance of the codes the decoder is fed, in nats): "
                   + ", ".join(f"{name(k)} {e['prior_distance']:.2f}" for k, e in coded.items())
                   + ". It applies to deterministic codes too (an AE's codes have no density, so a Monte Carlo "
                   "KL of them is infinite) and does not depend on how many images the mixture is built from; it "
                   "sees only the mean and covariance, so it is a lower bound on the full KL.")
    if gans:
        out.append(", ".join(gans) + (": the distance is 0 by construction: z is drawn from N(0, I) and no "
                                      "encoder makes codes of its own; their question is how close G(z) is to "
                                      "the data."))
    v = ev.get("vae", {})
    if _num(v.get("aggregate_kl")):
        floor = mixture_floor(v)
        out.append(f"The VAE's other numbers: the Monte Carlo KL of its aggregate posterior (the mixture of the "
                   f"held-out q(z|x) itself, shape included) is {v['aggregate_kl']:.2f} nats, at least the "
                   f"headline{floor}; its mean per-image KL(q(z|x) || N(0, I)), the ELBO's KL term, is "
                   f"{v.get('heldout_kl', float('nan')):.2f} nats: the aggregate's KL plus the information each "
                   f"code carries about its image, so it measures information, not where the codes lie.")
    return out


def mixture_floor(v):
    """What the Monte Carlo KL of a mixture of N posteriors cannot fall below (the per-image KL minus log N),
    as a clause: ", which overstates ..." when that floor lies above the headline, else ""."""
    n, per, head = v.get("aggregate_n"), v.get("heldout_kl"), v.get("prior_distance")
    if not (_num(n) and _num(per) and n > 1):
        return ""
    floor = per - math.log(n)
    if _num(head) and floor > head:
        return (f"; built from {n:,} posteriors it cannot fall far below the per-image KL minus log {n:,} "
                f"({floor:.2f}), above the headline, and it falls as more images are added: here it "
                f"overstates the distance")
    return ""


def sentences(summary):
    """Every sentence of the report's "What the numbers say", in order."""
    res = {k: summary["results"][k] for k in in_order(summary["results"])}        # the table's order
    ev = {k: r["eval"] for k, r in res.items()}
    out = [] if summary.get("quick") else _fairness(res)
    if all("fd_mnist" in e for e in ev.values()):
        out += _failures(ev) + _closeness(ev) + _digits(ev)
    else:
        out += _toy(ev)
    return out + _likelihood(ev) + prior_sentences(ev)
