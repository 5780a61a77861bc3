"""``tinygen demo``: the tour of the project in a few minutes on a laptop CPU, on the embedded data.

It trains, each into its own run folder under ``out``:

* ``vae-mnist``: the VAE (MLP 784-400-20, Bernoulli, Adam 1e-3, batch 128) for 20 epochs on the 8,000 embedded
  MNIST training images: samples, reconstructions, interpolations, the 20-D codes (PCA), curves;
* ``wgan-gp-mnist``: WGAN-GP with the paper's settings (lambda 10, n_critic 5, Adam 1e-4, betas (0, 0.9),
  batch 64) on MLP nets (z 100-256-512-784, tanh; critic 784-512-256-1), 5,000 critic steps = 1,000 generator
  steps: samples, interpolations between draws of z, curves;
* ``gan-ring8``, ``wgan-ring8``, ``wgan-gp-ring8``: the GAN family on the ring of 8 Gaussians (MLPs
  2-128-128-{2,1}, batch 256), each with the generator updates it needs to cover the ring: the GAN 5,000
  (one per step); the clipped WGAN 5,000 (25,000 critic steps: Algorithm 1 exactly, RMSprop 5e-5, c = 0.01,
  n_critic 5; its weak, clipped critic needs thousands of generator updates, where 800 cover about half the
  modes); WGAN-GP 2,000 (10,000 critic steps). Samples over the 8 true modes, VEEGAN's mode coverage in
  metrics.jsonl (``modes_covered``, ``high_quality``) and the curves. Toy settings that differ from the image
  defaults: the GAN's Adam lr 1e-3 (DCGAN's 2e-4) and WGAN-GP's lambda 0.1 (the paper's 10 drifts on data this
  narrow; the authors' own toy code uses 0.1);

and draws two pictures side by side: ``mnist_samples.png`` (VAE | WGAN-GP) and ``ring8_gan_family.png``
(GAN | WGAN | WGAN-GP over the true modes, with the modes each covers). With two or more cores the trainings run
in two processes, each with a single BLAS thread (small matrices gain nothing from more, and lose a lot when
the threads compete). ``--quick`` trains each model for a few dozen steps: a smoke test of the whole path.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from .loop import format_numbers
from .workers import run_jobs

__all__ = ["run_demo", "JOBS"]

JOBS = (  # the longest first: two workers then finish at about the same time
    {"name": "wgan-gp-mnist", "kind": "wgan-gp", "data": "mnist", "model": {"arch": "mlp"}, "steps": 5000,
     "what": "WGAN-GP (MLP) on MNIST"},
    {"name": "wgan-ring8", "kind": "wgan", "data": "ring8", "model": {"arch": "mlp"}, "steps": 25000,
     "what": "WGAN on ring8"},
    {"name": "wgan-gp-ring8", "kind": "wgan-gp", "data": "ring8", "model": {"arch": "mlp"}, "steps": 10000,
     "what": "WGAN-GP on ring8"},
    {"name": "vae-mnist", "kind": "vae", "data": "mnist", "model": {"arch": "mlp"}, "epochs": 20,
     "what": "VAE (MLP 784-400-20) on MNIST"},
    {"name": "gan-ring8", "kind": "gan", "data": "ring8", "model": {"arch": "mlp"}, "steps": 5000,
     "what": "GAN on ring8"},
)
RING8 = (("gan-ring8", "GAN"), ("wgan-ring8", "WGAN"), ("wgan-gp-ring8", "WGAN-GP"))
SETTINGS = {"GAN": "Adam 1e-3", "WGAN": "RMSprop 5e-5, c = 0.01", "WGAN-GP": "Adam 1e-4, lambda 0.1"}
QUICK_STEPS = 30


def _run_job(job, out, quick, progress):
    """Train one model of the demo (in this process); returns a summary (picklable)."""
    import tinygen as tg
    from tinygen.data import load_dataset
    from tinygen.models import build_model
    from tinygen.train import train
    tg.manual_seed(0)
    ds = load_dataset(job["data"], "train")
    model = build_model(job["kind"], data_shape=tuple(ds.x.shape[1:]), **job["model"])
    if quick:                                  # the number of steps (the parent's QUICK_STEPS)
        length = {"steps": int(quick)}
        extra = {"sample_every": int(quick), "eval_every": max(1, int(quick) // 2)}
    else:
        length = {k: job[k] for k in ("epochs", "steps") if k in job}
        extra = {}
    res = train(model, job["data"], out_dir=Path(out) / job["name"], overwrite=True, seed=0,
                progress=progress, command=f"tinygen demo ({job['name']})", **length, **extra)
    return {"name": job["name"], "what": job["what"], "step": res.step, "elapsed": res.elapsed,
            "logs": res.logs, "heldout": res.heldout}


def _fmt_time(s):
    return f"{int(s // 60)} min {int(s % 60)} s" if s >= 60 else f"{s:.0f} s"


def run_demo(out="tinygen-demo", quick=False, jobs=None, progress="lines"):
    """Train the demo's models into ``out`` and draw the side-by-side pictures; prints where everything is.
    ``jobs``: trainings side by side (default 2 when the machine has 2 or more cores). Returns 0, or 130 after
    Ctrl-C and 143 after SIGTERM (each running training saves a checkpoint first)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    quick = QUICK_STEPS if quick else 0
    if jobs is None:
        jobs = 2 if (os.cpu_count() or 1) >= 2 else 1
    t0 = time.perf_counter()
    print(f"tinygen demo: training {len(JOBS)} models{' (quick)' if quick else ''} into {out}/ with "
          f"{jobs} worker{'s' if jobs > 1 else ''}; progress lines every 10% of each run", flush=True)
    results = {}

    def done(job, r):
        results[r["name"]] = r
        _report(r)
    try:
        run_jobs(JOBS, _run_job, jobs, done, args=(str(out), quick, progress), label="tinygen demo")
    except KeyboardInterrupt as e:
        done = ", ".join(results) or "none"
        print(f"tinygen demo: interrupted after {_fmt_time(time.perf_counter() - t0)}; finished: {done}"
              + (f"; stopped: {e}" if str(e) else ""), file=sys.stderr, flush=True)
        return 128 + int(getattr(e, "signum", signal.SIGINT))
    pictures = _compose(out)
    total = time.perf_counter() - t0
    _summary(out, results, pictures, total)
    return 0


def _report(r):
    nums = format_numbers(r["heldout"])
    print(f"  done: {r['what']}: {r['step']} steps in {_fmt_time(r['elapsed'])}" + (f" ({nums})" if nums else ""),
          flush=True)


def _compose(out):
    """The two side-by-side pictures, from the saved runs (fixed noise: seed 0)."""

    import tinygen as tg
    from tinygen import plots
    from tinygen.runs import load_run
    made = {}
    vae, wgp = load_run(out / "vae-mnist"), load_run(out / "wgan-gp-mnist")
    tg.manual_seed(0)
    sets = {f"VAE, {vae.step:,} steps": vae.model.sample(64).numpy(),
            f"WGAN-GP, {wgp.step // wgp.model.n_critic:,} generator updates": wgp.model.sample(64).numpy()}
    ranges = {name: r.model.data_range for name, r in zip(sets, (vae, wgp))}
    made["mnist_samples.png"] = plots.save_comparison_grid(
        sets, out / "mnist_samples.png", value_range_per_set=ranges, nrow=8,
        title="MNIST samples (embedded 8,000 training images)")
    made["ring8_gan_family.png"], cover = _ring8_figure(out)
    made["coverage"] = cover
    return made


def shortfall(label, cov):
    """Why a model on a 2-D mixture falls short, in a student's words, or "" when it covers at least 7/8 of the
    modes (7 of ring8's 8) with at least 20% of its samples near a mode."""
    modes, hq, total = cov["modes"], cov["high_quality"], cov.get("num_modes", 8)
    if modes < -(-7 * total // 8):
        why = {"GAN": "mode collapse: the discriminator pushes the generator towards whatever it now rates real, "
                      "and the generator hops from mode to mode (modes_covered swings in curves.png)",
               "WGAN": "too few generator updates: with every weight clipped to +-0.01 and RMSprop at 5e-5 the "
                       "critic learns slowly, and the generator needs thousands of its updates",
               "WGAN-GP": "too few generator updates for the samples to reach every mode"}[label]
        return f"Falls short: {modes}/{total} modes. Why: {why}."
    if hq < 20:
        why = {"WGAN": "its critic, every weight clipped to +-0.01, can only draw a smooth landscape, too coarse "
                       "to pull samples into modes this narrow: they find the modes but smear around them",
               "GAN": "the generator is still moving between modes",
               "WGAN-GP": "the samples are still on their way into the narrow modes"}[label]
        return f"Covers the modes, but only {hq:.0f}% of its samples are near one. Why: {why}."
    return ""


def _ring8_figure(out):
    """GAN | WGAN | WGAN-GP over ring8's true modes, each panel titled with its generator updates, the modes
    it covers and its high-quality share, and a note under any model that falls short."""
    import tinygen as tg
    from tinygen import plots
    from tinygen.data import load_dataset, modes, toy_std
    from tinygen.metrics import mode_coverage
    from tinygen.runs import load_run
    real = load_dataset("ring8", "test").x
    centres = modes("ring8")
    named, notes, cover = {}, {}, {}
    for name, label in RING8:
        run = load_run(out / name)
        tg.manual_seed(0)
        s = run.model.sample(2500).numpy()
        c = mode_coverage(s, centres, toy_std("ring8"))
        cover[label] = c
        key = (f"{label}: {run.step // run.model.n_critic:,} generator updates\n({SETTINGS[label]})\n"
               f"{c['modes']}/{c['num_modes']} modes covered, {c['high_quality']:.0f}% high quality")
        named[key] = s
        notes[key] = shortfall(label, c)
    title = ("ring8: 2,500 samples of each model over the 8 true modes; high quality = within 3 std of a mode\n"
             "WGAN and WGAN-GP update the generator after every 5th critic step. Toy settings: nets 2-128-128,\n"
             "batch 256, GAN lr 1e-3 (DCGAN 2e-4), WGAN-GP lambda 0.1 (images: 10); WGAN exactly Algorithm 1")
    return plots.save_toy_grid(named, real, out / "ring8_gan_family.png", modes=centres, title=title,
                               notes=notes), cover


def _summary(out, results, pictures, total):
    def files(name):
        d = out / name
        return ", ".join(sorted(p.name for p in d.iterdir() if p.suffix == ".png" and not p.name.startswith(".")))
    cover = pictures.get("coverage", {})
    lines = [f"tinygen demo finished in {_fmt_time(total)}. Everything is in {out.resolve()}/:",
             f"  {'mnist_samples.png':<24} VAE and WGAN-GP samples side by side",
             f"  {'ring8_gan_family.png':<24} GAN | WGAN | WGAN-GP over the 8 true modes ("
             + ", ".join(f"{k} {v['modes']}/8 modes, {v['high_quality']:.0f}% high quality"
                         for k, v in cover.items()) + ")"]
    for job in JOBS:
        r = results.get(job["name"])
        if r is None:
            continue
        nums = format_numbers(r["heldout"])
        lines.append(f"  {job['name'] + '/':<24} {r['what']}: {files(job['name'])}" + (f" [{nums}]" if nums else ""))
    lines.append("Each run folder also has config.json, metrics.jsonl and checkpoint.npz: "
                 "`tinygen sample RUN`, `tinygen interpolate RUN`, `tinygen train ... --resume` use them.")
    print("\n".join(lines), flush=True)
