"""The pictures of a model, as the trainer and the ``tinygen`` command draw them.

:mod:`tinygen.plots` draws arrays; this module knows models: it asks a model for samples, reconstructions,
interpolations and latent codes, and picks the right picture for the data (an image grid for images, a scatter
over the true modes for the 2-D toys). Every function takes host data and writes one PNG, returning its path.
Numbers about a model (held-out losses, mode coverage, every metric) are :mod:`tinygen.evaluation`'s.

    save_samples(model, "samples.png", data_kind="image")          # 8x8 grid (conditional: a row per digit)
    save_samples(model, "ring.png", data_kind="toy", real=x, modes=modes("ring8"))
    save_reconstructions(model, x_heldout, "reconstructions.png")    # AE / VAE only
    save_interpolations(model, x_heldout, "interpolations.png")
"""
from __future__ import annotations

from pathlib import Path

import numpy as np  # host-side arrays for the pictures

from . import plots
from .autograd import no_grad
from .creation import tensor as _tensor

__all__ = ["save_samples", "save_reconstructions", "save_interpolations", "save_latent", "draw",
           "encode_mean", "reconstruct", "interpolation_rows", "TOY_SAMPLES"]

TOY_SAMPLES = 2500   # VEEGAN's count for the 2-D mixtures
MAX_IMAGES = 4096    # in one picture: a 64 x 64 grid (more tiles than pixels on a screen)
MAX_POINTS = 100_000  # in one scatter: far past the point where it is a solid blob
CHUNK = 256          # samples the model draws at once: memory stays bounded whatever the count


def _host(t):
    return t.numpy() if hasattr(t, "numpy") else np.asarray(t)


def _value_range(model):
    return tuple(getattr(model, "data_range", None) or (0.0, 1.0))


def _as_tensor(model, a, dtype=None):
    return _tensor(np.ascontiguousarray(a), dtype=dtype, device=model.device)


def _labels(model, y):
    return None if (y is None or not getattr(model, "conditional", False)) else _as_tensor(model, y, "int64")


def _image_shape(model, imgs):
    shape = tuple(model.data_shape)
    return imgs.reshape((len(imgs),) + shape) if len(shape) == 3 else imgs


def check_count(n, limit, what):
    """ValueError unless ``n`` (a count of ``what``) is an integer from 1 to ``limit``: refused before any
    work, since no picture can hold more."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"the number of {what} must be an integer, got {n!r}")
    if not 1 <= n <= limit:
        raise ValueError(f"{int(n):,} {what} do not make a picture: ask for 1 to {limit:,}")
    return int(n)


def _sample_in_chunks(model, n, labels=None, z=None):
    """``model.sample(n, ...)`` drawn CHUNK at a time, as one host array (``labels``: an int or a Tensor of
    n labels; ``z``: a Tensor of n codes, or None)."""
    parts = []
    for i in range(0, n, CHUNK):
        m = min(CHUNK, n - i)
        kw = {} if labels is None else {"labels": labels if isinstance(labels, int) else labels[i:i + m]}
        if z is not None:
            kw["z"] = z[i:i + m]
        parts.append(_host(model.sample(m, **kw)))
    return np.concatenate(parts)


# --- what the models offer ---------------------------------------------------------------------------------
def encode_mean(model, x, y=None):
    """The latent code of x (the AE's code, a VAE's posterior mean), as a Tensor, without a graph."""
    with no_grad():
        z = model.encode(_as_tensor(model, x), _labels(model, y))
    return z[0] if isinstance(z, (tuple, list)) else z


def reconstruct(model, x, y=None):
    """The model's reconstructions of host images x (AE / VAE), a host array (CHUNK images at a time)."""
    return np.concatenate([_host(model.reconstruct(_as_tensor(model, x[i:i + CHUNK]),
                                                   _labels(model, None if y is None else y[i:i + CHUNK])))
                           for i in range(0, len(x), CHUNK)])


def interpolation_rows(model, x=None, y=None, rows=8, steps=10):
    """(rows, steps, *data_shape) host images along straight lines in latent space: between the codes of
    pairs of images of x for the AE / VAE, between pairs of prior draws z for the GAN family (a self-conditioned
    GAN keeps z's first coordinate, which picks its cluster, along a row: else the row jumps between clusters
    at every step)."""
    check_count(rows * steps, MAX_IMAGES, f"images ({rows:,} rows of {steps:,})")
    if getattr(model, "has_encoder", False):
        n = min(rows, len(x) // 2)
        if n < 1:
            raise ValueError("interpolations need at least two images")
        per = max(1, CHUNK // steps)                          # rows decoded at once
        return np.concatenate([_interpolate(model, x[i:i + m], x[n + i:n + i + m], steps,
                                            None if y is None else (y[i:i + m], y[n + i:n + i + m]))
                               for i in range(0, n, per) for m in [min(per, n - i)]])
    za, zb = _host(model.sample_latent(rows)), _host(model.sample_latent(rows))
    if getattr(model, "clusters", 0):        # self-conditioned: z_0 picks the cluster; one cluster per row
        zb[:, 0] = za[:, 0]
    t = np.linspace(0.0, 1.0, steps, dtype=za.dtype)[None, :, None]
    z = (za[:, None, :] * (1 - t) + zb[:, None, :] * t).reshape(rows * steps, -1)
    labels = None
    if getattr(model, "conditional", False):                 # one random class per row
        labels = _as_tensor(model, np.repeat(np.arange(rows) % model.num_classes, steps), "int64")
    imgs = _sample_in_chunks(model, rows * steps, labels=labels, z=_as_tensor(model, z))
    return imgs.reshape((rows, steps) + imgs.shape[1:])


def _interpolate(model, xa, xb, steps, ys=None):
    ya, yb = (None, None) if ys is None else ys
    return _host(model.interpolate(_as_tensor(model, xa), _as_tensor(model, xb), steps, _labels(model, ya),
                                   _labels(model, yb)))


# --- pictures ---------------------------------------------------------------------------------------------
def save_samples(model, path, *, data_kind="image", n=None, label=None, real=None, modes=None, title=None):
    """Samples of ``model``: an image grid (a conditional model without ``label``: one row per class), or for
    2-D data a scatter of ``n`` (2,500) samples over ``real`` points and the true ``modes``."""
    if data_kind == "toy":
        n = check_count(n or TOY_SAMPLES, MAX_POINTS, "points")
        fake = _sample_in_chunks(model, n, labels=label)
        fake = fake.reshape(len(fake), -1)
        real = fake[:0] if real is None else real
        if len(real) == 0:
            real = fake
        return plots.save_toy_samples(real, fake, path, modes=modes, title=title)
    n = None if n is None else check_count(n, MAX_IMAGES, "images")
    labels, nrow = None, None
    if label is not None:
        labels, n = int(label), n or 64
    elif getattr(model, "conditional", False):
        k = model.num_classes
        per = max(1, (n or 10 * k) // k)
        labels, n, nrow = np.repeat(np.arange(k), per), k * per, per
    n = check_count(n or 64, MAX_IMAGES, "images")
    marks = None
    if nrow is not None:                                   # the class, in the first tile of each row
        marks = [str(c) if i % nrow == 0 else None for i, c in enumerate(labels)]
    if labels is not None and not isinstance(labels, int):
        labels = _as_tensor(model, labels, "int64")
    imgs = _sample_in_chunks(model, n, labels=labels)
    return plots.save_image_grid(_image_shape(model, imgs), path, nrow=nrow, value_range=_value_range(model),
                                 title=title, labels=marks)


def save_reconstructions(model, x, path, y=None, n=20, title=None):
    n = check_count(n, MAX_IMAGES // 2, "reconstructions (each beside its image)")
    x, y = x[:n], None if y is None else y[:n]
    rec = reconstruct(model, x, y)
    return plots.save_reconstructions(_image_shape(model, x), _image_shape(model, rec), path, n=n,
                                      value_range=_value_range(model), title=title)


def save_interpolations(model, x, path, y=None, rows=8, steps=10, title=None):
    imgs = interpolation_rows(model, x, y, rows, steps)
    return plots.save_interpolations(imgs, path, value_range=_value_range(model), title=title)


def save_latent(model, x, y, path, title=None):
    z = _host(encode_mean(model, x, y if getattr(model, "conditional", False) else None))
    return plots.save_latent_scatter(z.reshape(len(z), -1), y, path, title=title)


# --- training curves, with their names and units -----------------------------------------------------------------
_NAT = "nats per image"


def _wdist_title(model):
    """The title of the critic's Wasserstein estimate, with what its scale means for this model."""
    if model.kind == "wgan":
        return (f"critic's estimate of W: E f(x) - E f(G(z)) (critic units). With weights clipped to "
                f"c = {model.clip:g} the critic is K-Lipschitz for a K set by c and the net, so this is about K x W: "
                f"its size depends on c; read its trend")
    return ("critic's estimate of W: E f(x) - E f(G(z)) (units of the data: the gradient penalty keeps "
            "|grad f| near 1, so this estimates W itself)")


def _curve_table(model):
    """[(panel title, [(key, legend label), ...]), ...] for every key a model of this kind may log."""
    kind = model.kind
    if kind == "vae":
        return [(f"negative ELBO ({_NAT}; lower is better)", [("loss", "training batches (beta-weighted)"),
                                                              ("nelbo_heldout", "held-out images")]),
                (f"reconstruction term -E log p(x|z) ({_NAT})", [("rec", "training"), ("rec_heldout", "held-out")]),
                (f"KL term KL(q(z|x) || N(0, I)) ({_NAT})", [("kl", "training"), ("kl_heldout", "held-out")])]
    if kind == "ae":
        return [("reconstruction error (mean squared error per pixel, images in [0, 1])",
                 [("loss", "training batches"), ("mse_heldout", "held-out images")])]
    table = []
    if kind == "gan":
        table += [("discriminator loss -log D(x) - log(1 - D(G(z))) (nats, batch mean)", [("d_loss", "training")]),
                  ("generator loss -log D(G(z)) (nats, batch mean; non-saturating)", [("g_loss", "training")]),
                  ("discriminator's mean probability D(x) that a sample is real",
                   [("d_real", "real, training batch"), ("d_fake", "generated"),
                    ("d_real_heldout", "real, held-out"), ("d_fake_heldout", "generated (evaluation)")])]
    else:
        table += [(_wdist_title(model), [("wdist", "training batches"), ("wdist_heldout", "held-out images")]),
                  ("generator loss -E f(G(z)) (critic units)", [("g_loss", "training")])]
        if kind == "wgan-gp":
            table.append(("gradient penalty lambda E(|grad f(x_hat)| - 1)^2 (critic units)", [("gp", "training")]))
    table += [("modes covered (VEEGAN: a high-quality sample within 3 std of the mode)", [("modes_covered", "modes")]),
              ("high-quality samples (% within 3 std of a mode)", [("high_quality", "%")])]
    return table


def curve_panels(model, records):
    """(keys, titles, names) for ``plots.save_curves``: the panels of :func:`_curve_table` whose keys appear
    in ``records`` (empty lists when none: then the generic grouping is used)."""
    present = {k for r in records for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    keys, titles, names = [], [], {}
    for title, entries in _curve_table(model):
        group = [k for k, _ in entries if k in present]
        if group:
            keys.append(group)
            titles.append(title)
            names.update({k: label for k, label in entries if k in group})
    return keys, titles, names


# --- what the trainer draws ---------------------------------------------------------------------------------
def draw(what, model, out, step, data, held):
    """One of the run's pictures: "samples", "curves", "reconstructions", "interpolations", "latent"."""
    out = Path(out)
    images = data.kind == "image"
    ref = held if held is not None else data
    if what == "samples":
        real = None if images else ref.x[:TOY_SAMPLES]
        return save_samples(model, out / f"samples_{step:06d}.png", data_kind=data.kind, real=real,
                            modes=data.toy_modes, title=f"{model.kind} samples, step {step}")
    if what == "curves":
        from .runs import read_metrics
        recs = read_metrics(out)
        if recs:
            smooth = 0 if len(recs) < 60 else min(50, len(recs) // 20)
            keys, titles, names = curve_panels(model, recs)
            return plots.save_curves(recs, out / "curves.png", title=f"{model.display_name or model.kind} on "
                                     f"{data.name}: training curves against the step", smooth=smooth,
                                     keys=keys or None, titles=titles or None, names=names)
        return None
    if not images:
        return None
    encoder = getattr(model, "has_encoder", False)
    if what == "interpolations" and not encoder:
        rows = interpolation_rows(model, rows=8, steps=10)
        held = " (its first coordinate, the cluster, held)" if getattr(model, "clusters", 0) else ""
        return plots.save_interpolations(rows, out / "interpolations.png", value_range=_value_range(model),
                                         title=f"{model.kind}: generated along straight lines between two draws "
                                               f"of z{held}, step {step}")
    if not encoder:
        return None
    if what == "reconstructions":
        return save_reconstructions(model, ref.x, out / "reconstructions.png", y=ref.y,
                                    title=f"{model.kind}: held-out images and their reconstructions, step {step}")
    if what == "interpolations":
        return save_interpolations(model, ref.x, out / "interpolations.png", y=ref.y,
                                   title=f"{model.kind}: decoded along straight lines between the codes of two "
                                         f"held-out images, step {step}")
    if what == "latent" and ref.y is not None:
        return save_latent(model, ref.x[:2000], ref.y[:2000], out / "latent.png",
                           title=f"{model.kind}: codes of {min(2000, len(ref.x))} held-out images")
    return None
