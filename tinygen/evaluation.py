"""``tinygen eval RUN``: every metric that applies to a trained model, printed and saved as ``eval.json``.

What applies (see :mod:`tinygen.metrics` for the definitions):

* every model on MNIST: FD-MNIST of 1,000 samples against 1,000 held-out images, next to its floor (the FD
  between the two held-out halves), the classifier Inception Score, the digits covered and the entropy of
  their histogram, and the sliced Wasserstein distance in pixel space (with its real-vs-real floor);
* every model on a 2-D mixture: VEEGAN's mode coverage on 2,500 samples, and the sliced Wasserstein distance
  to held-out points;
* the VAE: the held-out negative ELBO and its parts, the negative IWAE bound, and how far its latent
  distribution is from N(0, I) (KL per dimension, active units, the aggregate posterior's KL and the KL and
  Frechet distance of its Gaussian fit);
* the AE: the held-out reconstruction error, and the distance of its codes' Gaussian fit from N(0, I) (an
  AE's codes are not asked to look like N(0, I); this says how far they are);
* the GAN family on images: the critic's mean output on 2,000 training images and on the 2,000 held-out
  images (the GAN's D as a probability, the WGANs' f as it is) and their difference, the memorisation gap:
  a discriminator that has learned its training images by heart scores them higher than unseen ones.

All numbers are computed with their own seeded generators: evaluating never changes a training run.

This module is where tinygen computes numbers about a model (the definitions are in :mod:`tinygen.metrics`);
the training loop's held-out numbers come from :func:`heldout_means` and :func:`mode_coverage` too. Pictures
are :mod:`tinygen.figures`'s.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np  # host-side: metrics work on host arrays

from . import metrics as M
from .atomic import atomic_write
from .autograd import no_grad
from .creation import tensor
from .runs import isolated_rng, load_run

__all__ = ["evaluate_model", "evaluate_run", "format_metrics", "heldout_means", "mode_coverage", "mode_coverage_of",
           "EVAL_FILE"]

EVAL_FILE = "eval.json"
MAX_IWAE_K = 100_000         # importance samples per image
N_SAMPLES = 1000
TOY_SAMPLES = 2500


def _host(t):
    return t.numpy() if hasattr(t, "numpy") else np.asarray(t)


def _two_halves(n, seed=0):
    """Two disjoint random halves of range(n) (the real-vs-real floors compare them)."""
    perm = np.random.default_rng(seed).permutation(n)
    return perm[: n // 2], perm[n // 2: 2 * (n // 2)]


def _sample_in_chunks(model, n, chunk=500):
    with no_grad():
        return np.concatenate([_host(model.sample(min(chunk, n - i))) for i in range(0, n, chunk)])


def image_metrics(model, held_x, n=N_SAMPLES):
    """FD-MNIST, Inception Score, digits, SWD (pixels) of ``n`` samples; the floors from held-out halves."""
    a, b = _two_halves(len(held_x))
    ref = held_x[b][:n]
    fake = _sample_in_chunks(model, n)
    lo, hi = model.data_range
    out = M.images.image_metrics(fake, ref, sample_range=(lo, hi))
    out["fd_floor"] = M.images.fd_mnist(held_x[a][:n], ref)
    out["pixel_spread_real"] = M.images.pixel_spread(ref)
    fake01 = np.clip((fake.reshape(len(fake), -1) - lo) / (hi - lo), 0, 1)
    out["swd"] = M.sliced_wasserstein(fake01, ref.reshape(len(ref), -1))
    out["swd_floor"] = M.sliced_wasserstein(held_x[a][:n].reshape(-1, ref[0].size), ref.reshape(len(ref), -1))
    return out


def critic_metrics(model, train, held, n=2000):
    """The critic's mean output on ``n`` training and ``n`` held-out images (Datasets with images in [0, 1],
    mapped to the model's data range; labels for a conditional model), in evaluation mode and without
    augmentation: D(x) as a probability for the GAN, f(x) for the WGANs; "critic_gap" is training minus
    held-out."""
    lo, hi = model.data_range
    prob = model.kind == "gan"

    def mean_score(ds):
        vals = []
        with model.evaluating():
            for i in range(0, min(n, len(ds.x)), 500):
                x = tensor(ds.x[i:min(i + 500, n)] * (hi - lo) + lo, device=model.device)
                y = tensor(ds.y[i:i + x.shape[0]], device=model.device) if model.conditional else None
                f = model.score(x, y)
                vals.append(_host(f.sigmoid() if prob else f).astype(np.float64))
        return float(np.concatenate(vals).mean())
    tr, he = mean_score(train), mean_score(held)
    return {"critic_train": tr, "critic_heldout": he, "critic_gap": tr - he}


def heldout_means(model, x, y=None, chunk=500):
    """The model's own held-out numbers (``model.evaluate``: a VAE's negative ELBO and its terms, an AE's
    MSE, a critic's outputs) over host arrays ``x`` (and labels ``y``), ``chunk`` samples at a time,
    averaged (weighted by chunk size)."""
    sums, total = {}, 0
    for i in range(0, len(x), chunk):
        xb = tensor(np.ascontiguousarray(x[i:i + chunk]), device=model.device)
        yb = None if y is None else tensor(np.ascontiguousarray(y[i:i + chunk]), dtype="int64", device=model.device)
        with no_grad():
            res = model.evaluate(xb, yb) or {}
        m = len(xb)
        for k, v in res.items():
            sums[k] = sums.get(k, 0.0) + float(v) * m
        total += m
    return {k: v / total for k, v in sums.items()} if total else {}


def mode_coverage_of(samples, data_name):
    """VEEGAN's numbers for 2-D ``samples`` on the mixture ``data_name`` (``tinygen.metrics.mode_coverage``):
    the modes covered ("modes_covered"), the percentage of high-quality samples ("high_quality", within 3 std
    of a mode) and the KL of their spread over the modes to the uniform one ("mode_kl")."""
    from .data import modes, toy_std
    cov = M.mode_coverage(samples, modes(data_name), toy_std(data_name))
    return {"modes_covered": int(cov["modes"]), "high_quality": float(cov["high_quality"]),
            "mode_kl": float(cov["kl"])}


def mode_coverage(model, data_name, n=TOY_SAMPLES):
    """:func:`mode_coverage_of` ``n`` (2,500) samples of ``model``, drawn at once (what training logs)."""
    return mode_coverage_of(_host(model.sample(n)).reshape(n, -1), data_name)


def toy_metrics(model, data_name, held_x, n=TOY_SAMPLES):
    from .data import modes
    fake = _sample_in_chunks(model, n).reshape(n, -1)
    out = {}
    if data_name in ("ring8", "grid25"):
        out.update(mode_coverage_of(fake, data_name), num_modes=len(modes(data_name)))
    out["swd"] = M.sliced_wasserstein(fake, held_x[:n])
    a, b = _two_halves(len(held_x))
    out["swd_floor"] = M.sliced_wasserstein(held_x[a], held_x[b])
    return out


def _encode_in_chunks(model, x, y=None, chunk=500):
    mus, lvs = [], []
    with no_grad(), model.evaluating():
        for i in range(0, len(x), chunk):
            yb = None if y is None or not model.conditional else tensor(y[i:i + chunk], device=model.device)
            enc = model.encode(tensor(x[i:i + chunk], device=model.device), yb)
            if isinstance(enc, tuple):
                mus.append(_host(enc[0]))
                lvs.append(_host(enc[1]))
            else:
                mus.append(_host(enc))
    mu = np.concatenate(mus).astype(np.float64)
    return mu, (np.concatenate(lvs).astype(np.float64) if lvs else None)


def vae_metrics(model, held_x, held_y=None, iwae_k=500, iwae_n=500):
    """Held-out negative ELBO (and parts), negative IWAE_k on ``iwae_n`` images, latent distances."""
    out = {f"heldout_{k}": v for k, v in heldout_means(model, held_x, held_y).items()}
    x = tensor(held_x[:iwae_n], device=model.device)
    y = None if held_y is None or not model.conditional else tensor(held_y[:iwae_n], device=model.device)
    out["iwae_k"] = int(iwae_k)
    out["iwae"], out["iwae_se"] = M.iwae(model, x, y, k=iwae_k)
    mu, logvar = _encode_in_chunks(model, held_x, held_y)
    kld = M.kl_per_dim(mu, logvar)
    out["kl_per_dim"] = kld.tolist()
    out["active_units"], _ = M.active_units(mu)
    out["aggregate_kl"], out["aggregate_kl_se"] = M.aggregate_kl(mu, logvar)
    out["aggregate_n"] = int(len(mu))
    fit = M.aggregate_gaussian_fit(mu, logvar)
    out["latent_gauss_kl"], out["latent_frechet"] = fit["kl"], fit["frechet"]
    return out


def ae_metrics(model, held_x, held_y=None):
    out = {f"heldout_{k}": v for k, v in heldout_means(model, held_x, held_y).items()}
    mu, _ = _encode_in_chunks(model, held_x, held_y)
    mu = mu.reshape(len(mu), -1)
    fit = M.aggregate_gaussian_fit(mu, np.full_like(mu, -60.0))   # a deterministic code: no posterior spread
    out["latent_gauss_kl"], out["latent_frechet"] = fit["kl"], fit["frechet"]
    return out


def check_iwae_k(k):
    """ValueError unless ``k`` is a count of importance samples per image that makes sense (memory is
    proportional to it: :func:`tinygen.metrics.iwae` keeps k log-weights per image of a batch)."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_IWAE_K:
        raise ValueError(f"iwae_k (importance samples per image) must be an integer from 1 to {MAX_IWAE_K:,} "
                         f"(the IWAE paper's largest is 5,000), got {k!r}")


def evaluate_model(model, data_name, data_kind, held, *, seed=0, iwae_k=500, iwae_n=500, n_samples=N_SAMPLES,
                   train=None):
    """Every metric that applies to ``model`` (see the module docstring), as a flat dict of numbers/lists.

    ``held``: the held-out Dataset (images in [0, 1]; the model's samples are mapped from its data_range);
    ``train``: the training Dataset (for the critic's memorisation gap), optional."""
    check_iwae_k(iwae_k)
    t0 = time.time()
    res = {"kind": model.kind, "data": data_name, "parameters": int(model.num_parameters())}
    with isolated_rng(model.device, seed):
        if data_kind == "image":
            res.update(image_metrics(model, held.x, n_samples))
            if train is not None and hasattr(model, "critic"):
                res.update(critic_metrics(model, train, held))
        else:
            res.update(toy_metrics(model, data_name, held.x))
        if model.kind == "vae":
            res.update(vae_metrics(model, held.x, held.y, iwae_k, iwae_n))
        elif model.kind == "ae":
            res.update(ae_metrics(model, held.x, held.y))
    res.update(prior_distance(model, res))
    res["eval_seconds"] = round(time.time() - t0, 1)
    return res


# --- the course's question: how far is the latent distribution from N(0, I)? ------------------------------------
PRIOR_ESTIMATOR = ("KL(N(m, S) || N(0, I)) in nats, m and S the mean and covariance of the codes the decoder is fed "
                   "(an AE's codes of the held-out images; a VAE's aggregate posterior, the mixture of q(z|x) over "
                   "them)")
PRIOR_WHY = ("it is one closed form for every model with an encoder: it needs no density of the codes (an AE's codes "
             "have none, so a Monte Carlo KL of them is infinite), it does not depend on how many posteriors a "
             "mixture is built from (the Monte Carlo KL does), and it is the Gaussian an AE is sampled from. It "
             "sees only the mean and covariance, so it is a lower bound on the full KL of the codes")


def prior_distance(model, res):
    """The headline "distance from N(0, I)" of a model's latent codes (see PRIOR_ESTIMATOR and PRIOR_WHY):
    {"prior_distance": nats, "prior_estimator": "gaussian_fit_kl"} for the AE and VAE; for the GAN family
    0.0 with "by_construction" (z is drawn from N(0, I), and no encoder makes codes of its own)."""
    if getattr(model, "has_encoder", False) and "latent_gauss_kl" in res:
        return {"prior_distance": float(res["latent_gauss_kl"]), "prior_estimator": "gaussian_fit_kl"}
    if hasattr(model, "generator"):
        return {"prior_distance": 0.0, "prior_estimator": "by_construction"}
    return {}


def prior_readings(res):
    """Sentences that say which number answers "how far is the latent distribution from N(0, I)" and how to
    read the others, from the numbers of one evaluation (empty when the model has no latent code)."""
    est = res.get("prior_estimator")
    if est == "by_construction":
        return [f"distance from N(0, I): 0 by construction: the {res.get('kind')} draws z from N(0, I) and has no "
                f"encoder whose codes could lie elsewhere; its question is how close G(z) is to the data (above)."]
    if est != "gaussian_fit_kl":
        return []
    out = [f"distance from N(0, I): {res['prior_distance']:.2f} nats, the headline: {PRIOR_ESTIMATOR}.",
           f"Why this one: {PRIOR_WHY}.",
           f"Frechet distance of the same fit to N(0, I), {res['latent_frechet']:.2f}: the same Gaussian measured "
           f"as a 2-Wasserstein distance (squared code units) instead of a divergence; 0 only for N(0, I) itself."]
    if "aggregate_kl" in res:
        from .report_text import mixture_floor
        out.append(f"KL of the aggregate posterior to N(0, I), {res['aggregate_kl']:.2f} nats: the mixture of the "
                   f"held-out q(z|x) itself, shape included (Monte Carlo), at least the headline"
                   f"{mixture_floor(res)}.")
    if "heldout_kl" in res and res.get("kind") == "vae":
        out.append(f"mean per-image KL(q(z|x) || N(0, I)), {res['heldout_kl']:.2f} nats: the ELBO's KL term, the "
                   f"aggregate's KL plus what each code says about its image (mutual information), so it measures "
                   f"information in the codes, not where they lie.")
    return out


def evaluate_run(run_dir, device="cpu", write=True, **kw):
    """Load the run in ``run_dir``, evaluate it, write ``eval.json`` there (unless ``write=False``)."""
    from .data import load_dataset
    run = load_run(run_dir, device=device)
    held = load_dataset(run.data_name, "test")
    train = load_dataset(run.data_name, "train") if run.data_kind == "image" else None
    res = {"run": str(run.path), "step": run.step, **evaluate_model(run.model, run.data_name, run.data_kind,
                                                                    held, train=train, **kw)}
    if write:
        text = json.dumps(res, indent=1)
        atomic_write(Path(run_dir) / EVAL_FILE, lambda f: f.write(text), binary=False)
    return res


_LABELS = [  # (key, label, format)
    ("fd_mnist", "FD-MNIST (lower is better)", "{:.1f}"), ("fd_floor", "  floor: real vs real", "{:.1f}"),
    ("inception_score", "classifier Inception Score (max 10)", "{:.2f}"),
    ("digits_covered", "digits covered (of 10)", "{}"), ("class_entropy", "entropy of digit histogram "
                                                                           "(log 10 = 2.30)", "{:.3f}"),
    ("diversity", "within-digit diversity (1 = as varied as data)", "{:.2f}"),
    ("pixel_spread", "pixel spread across samples (0 = one image)", "{:.3f}"),
    ("pixel_spread_real", "  the held-out images' pixel spread", "{:.3f}"),
    ("critic_train", "critic's mean output, training images", "{:.3f}"),
    ("critic_heldout", "critic's mean output, held-out images", "{:.3f}"),
    ("critic_gap", "  gap (training - held-out: memorisation)", "{:.3f}"),
    ("modes_covered", "modes covered", "{}"), ("high_quality", "high-quality samples (%)", "{:.1f}"),
    ("mode_kl", "KL(samples over modes || uniform)", "{:.3f}"),
    ("swd", "sliced Wasserstein distance", "{:.4f}"), ("swd_floor", "  floor: real vs real", "{:.4f}"),
    ("heldout_nelbo", "held-out negative ELBO (nats)", "{:.2f}"), ("heldout_rec", "  reconstruction term",
                                                                   "{:.2f}"),
    ("heldout_kl", "  KL term", "{:.2f}"), ("iwae", "held-out negative IWAE bound (nats)", "{:.2f}"),
    ("heldout_mse", "held-out reconstruction MSE", "{:.4f}"), ("heldout_loss", "held-out loss", "{:.4f}"),
    ("prior_distance", "distance from N(0, I) (the headline)", "{:.3f}"),
    ("active_units", "active latent units", "{}"),
    ("aggregate_kl", "KL(aggregate posterior || N(0, I)), MC", "{:.3f}"),
    ("latent_frechet", "Frechet(Gaussian fit of the codes, N(0, I))", "{:.3f}"),
]


def format_metrics(res):
    """A readable two-column table of an evaluation, then the readings of the latent distances."""
    lines = [f"{res.get('kind')} on {res.get('data')}" + (f", step {res['step']}" if "step" in res else "")]
    for key, label, fmt in _LABELS:
        v = res.get(key)
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            continue
        s = fmt.format(v)
        if key == "iwae":
            s += f" (k = {res.get('iwae_k')}, +- {res.get('iwae_se', 0):.2f})"
        if key == "modes_covered":
            s += f" of {res.get('num_modes')}"
        if key == "prior_distance":
            s = ("0 (z is drawn from N(0, I) by construction)" if res.get("prior_estimator") == "by_construction"
                 else f"{s} nats (KL of the codes' Gaussian fit)")
        lines.append(f"  {label:<47} {s}")
    readings = prior_readings(res)
    if readings:
        lines += ["The latent code and N(0, I):"] + [f"  - {r}" for r in readings]
    return "\n".join(lines)
