"""``tinygen demo``: the tour of the project in a few minutes on a laptop CPU, on the embedded data.

It trains, each into its own run folder under ``out``:

* ``vae-mnist``: the VAE (MLP 784-400-20, Bernoulli, Adam 1e-3, batch 128) for 20 epochs on the 8,000 embedded
  MNIST training images: samples, reconstructions, interpolations, the 20-D codes (PCA), curves;
* ``wgan-gp-mnist``: WGAN-GP with the paper's settings (lambda 10, n_critic 5, Adam 1e-4, betas (0, 0.9),
  batch 64) on MLP nets (z 100-256-512-784, tanh; critic 784-512-256-1), 5,000 critic steps = 1,000 generator
  steps: samples, interpolations between draws of z, curves;
* ``gan-ring8``, ``wgan-ring8``, ``wgan-gp-ring8``: the GAN family on the ring of 8 Gaussians (MLPs
  2-128-128-{2,1}, batch 256, each model's published optimizer), 4,000 steps each: samples over the 8 true
  modes, VEEGAN's mode coverage in the curves;

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
    {"name": "vae-mnist", "kind": "vae", "data": "mnist", "model": {"arch": "mlp"}, "epochs": 20,
     "what": "VAE (MLP 784-400-20) on MNIST"},
    {"name": "gan-ring8", "kind": "gan", "data": "ring8", "model": {"arch": "mlp"}, "steps": 4000,
     "what": "GAN on ring8"},
    {"name": "wgan-ring8", "kind": "wgan", "data": "ring8", "model": {"arch": "mlp"}, "steps": 4000,
     "what": "WGAN on ring8"},
    {"name": "wgan-gp-ring8", "kind": "wgan-gp", "data": "ring8", "model": {"arch": "mlp"}, "steps": 4000,
     "what": "WGAN-GP on ring8"},
)
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
              + (f"; stopped with a checkpoint: {e}" if str(e) else ""), file=sys.stderr, flush=True)
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
    from tinygen.data import load_dataset, modes, toy_std
    from tinygen.metrics import mode_coverage
    from tinygen.runs import load_run
    made = {}
    vae, wgp = load_run(out / "vae-mnist"), load_run(out / "wgan-gp-mnist")
    tg.manual_seed(0)
    sets = {f"VAE, {vae.step} steps": vae.model.sample(64).numpy(),
            f"WGAN-GP, {wgp.step} critic steps": wgp.model.sample(64).numpy()}
    ranges = {name: r.model.data_range for name, r in zip(sets, (vae, wgp))}
    made["mnist_samples.png"] = plots.save_comparison_grid(
        sets, out / "mnist_samples.png", value_range_per_set=ranges, nrow=8,
        title="MNIST samples (embedded 8,000 training images)")
    real = load_dataset("ring8", "test").x
    centres = modes("ring8")
    named, cover = {}, {}
    for name, label in (("gan-ring8", "GAN"), ("wgan-ring8", "WGAN"), ("wgan-gp-ring8", "WGAN-GP")):
        run = load_run(out / name)
        tg.manual_seed(0)
        s = run.model.sample(2500).numpy()
        c = mode_coverage(s, centres, toy_std("ring8"))
        cover[label] = c
        g_updates = run.step // run.model.n_critic
        named[f"{label}, {g_updates} generator updates\n{c['modes']}/{c['num_modes']} modes covered, "
              f"{c['high_quality']:.0f}% high quality"] = s
    steps = load_run(out / "gan-ring8").step
    made["ring8_gan_family.png"] = plots.save_toy_grid(
        named, real, out / "ring8_gan_family.png", modes=centres,
        title=f"ring8, {steps} steps each with the published optimizers: 2,500 samples over the 8 true modes")
    made["coverage"] = cover
    return made


def _summary(out, results, pictures, total):
    def files(name):
        d = out / name
        return ", ".join(sorted(p.name for p in d.iterdir() if p.suffix == ".png" and not p.name.startswith(".")))
    cover = pictures.get("coverage", {})
    lines = [f"tinygen demo finished in {_fmt_time(total)}. Everything is in {out.resolve()}/:",
             f"  {'mnist_samples.png':<24} VAE and WGAN-GP samples side by side",
             f"  {'ring8_gan_family.png':<24} GAN | WGAN | WGAN-GP over the 8 true modes ("
             + ", ".join(f"{k} {v['modes']}/8" for k, v in cover.items()) + ")"]
    for job in JOBS:
        r = results.get(job["name"])
        if r is None:
            continue
        nums = format_numbers(r["heldout"])
        lines.append(f"  {job['name'] + '/':<24} {r['what']}: {files(job['name'])}" + (f" [{nums}]" if nums else ""))
    lines.append("Each run folder also has config.json, metrics.jsonl and checkpoint.npz: "
                 "`tinygen sample RUN`, `tinygen interpolate RUN`, `tinygen train ... --resume` use them.")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":  # python -m tinygen.demo [same options as tinygen demo]
    from tinygen.cli import main
    sys.exit(main(["demo"] + sys.argv[1:]))
