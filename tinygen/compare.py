"""``tinygen compare``: AE, VAE, GAN, WGAN and WGAN-GP on the same data with the same compute budget.

Every model gets the same wall-clock budget for training (the total budget, minus a share kept for the
evaluation, divided among the models and the worker processes), the same seed and the same data. Before its
run, each model times a few steps on a scratch copy and turns its budget into a number of steps, so that the
run itself is an ordinary, resumable ``tinygen train`` run of a fixed length. Then every run is evaluated
(:mod:`tinygen.evaluation`) and a report folder is written:

    report.md, report.html      one table of numbers, the pictures, and sentences drawn from the numbers
    samples.png                 every model's samples side by side (2-D data: over the true modes)
    reconstructions.png         AE and VAE reconstructions of the same held-out images (image data)
    interpolations_*.png, curves_*.png, runs/<model>/ (the run folders, with eval.json)

``--runs`` evaluates existing run folders instead of training.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from .workers import run_jobs

__all__ = ["run_compare", "MODELS", "ARCH"]

MODELS = ("ae", "vae", "gan", "wgan", "wgan-gp")
ARCH = {"mnist": "mlp"}          # MLPs: within minutes on a CPU they get further than the slower conv nets
EVAL_SHARE = 0.2                 # the part of the budget kept for evaluating and drawing
TIMING_STEPS = 12

OBJECTIVES = {
    "ae": "reconstruction (MSE)",
    "vae": "ELBO: E_q[log p(x|z)] - KL(q(z|x) || N(0, I))",
    "gan": "minimax BCE (non-saturating G)",
    "wgan": "Wasserstein (critic clipped to [-c, c])",
    "wgan-gp": "Wasserstein + gradient penalty",
}


def _steps_for(kind, data, arch, seconds, seed):
    """How many steps of ``kind`` fit in ``seconds`` here: time a few on a scratch model."""
    import tinygen as tg
    from tinygen.data import load_dataset
    from tinygen.models import build_model
    ds = load_dataset(data, "train")
    tg.manual_seed(seed)
    model = build_model(kind, data_shape=tuple(ds.x.shape[1:]), arch=arch)
    ds = load_dataset(data, "train", range=(-1, 1) if (model.data_range or (0, 1))[0] < 0 else (0, 1))
    opts = model.make_optimizers()
    b = model.default_batch_size
    x = tg.tensor(ds.x[:b])
    y = tg.tensor(ds.y[:b]) if ds.y is not None else None
    model.train_step(x, y, opts)                      # warm-up
    t0 = time.perf_counter()
    for _ in range(TIMING_STEPS):
        model.train_step(x, y, opts)
    per_step = (time.perf_counter() - t0) / TIMING_STEPS
    n = model.n_critic if hasattr(model, "n_critic") else 1
    return max(n * 10, int(seconds / (per_step * 1.25)) // n * n), per_step   # 25% for logging, pictures


def _job(job, out, seed, quick):
    """Train (timed to the budget) and evaluate one model; runs in a worker process."""
    import tinygen as tg
    from tinygen.evaluation import evaluate_run
    from tinygen.models import build_model
    from tinygen.data import load_dataset
    from tinygen.train import train
    run_dir = Path(out) / "runs" / job["kind"]
    if quick:
        steps, per_step = int(quick), None
    else:
        steps, per_step = _steps_for(job["kind"], job["data"], job["arch"], job["seconds"], seed)
    ds = load_dataset(job["data"], "train")
    tg.manual_seed(seed)
    model = build_model(job["kind"], data_shape=tuple(ds.x.shape[1:]), arch=job["arch"])
    t0 = time.perf_counter()
    res = train(model, job["data"], steps=steps, out_dir=run_dir, overwrite=True, seed=seed, progress="lines",
                command=f"tinygen compare ({job['kind']})")
    elapsed = time.perf_counter() - t0
    ev = evaluate_run(run_dir, iwae_k=50 if quick else 500, iwae_n=50 if quick else 500)
    return {"kind": job["kind"], "steps": res.step, "seconds": elapsed, "per_step": per_step, "eval": ev}


def _evaluate_existing(job, out, seed, quick):
    from tinygen.evaluation import evaluate_run
    from tinygen.runs import read_config
    cfg = read_config(job["run"])
    ev = evaluate_run(job["run"], iwae_k=50 if quick else 500, iwae_n=50 if quick else 500)
    return {"kind": cfg["model"]["kind"], "steps": ev["step"], "seconds": None, "per_step": None, "eval": ev,
            "run": str(job["run"])}


def run_compare(data="mnist", budget_minutes=10.0, out="tinygen-compare", runs=None, seed=0, workers=None,
                quick=False, models=MODELS, arch=None):
    """Train (or load, with ``runs``) every model, evaluate them and write the report. Returns the results."""
    from .report import write_report
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if workers is None:
        workers = 2 if (os.cpu_count() or 1) >= 2 else 1
    arch = arch or ARCH.get(data, "mlp")
    t0 = time.perf_counter()
    results = {}

    def done(job, r):
        results[r["kind"]] = r
        ev = r["eval"]
        key = "fd_mnist" if "fd_mnist" in ev else "swd"
        print(f"  done: {r['kind']}: {r['steps']} steps" + (f" in {r['seconds']:.0f} s" if r["seconds"] else "")
              + f", {key} {ev.get(key, float('nan')):.4g}", flush=True)

    if runs:
        jobs = [{"run": str(r), "name": str(r)} for r in runs]
        print(f"tinygen compare: evaluating {len(jobs)} runs into {out}/", flush=True)
        run_jobs(jobs, _evaluate_existing, workers, done, args=(str(out), seed, quick), label="tinygen compare")
        data = results[next(iter(results))]["eval"]["data"]
    else:
        train_seconds = budget_minutes * 60 * (1 - EVAL_SHARE) * workers / len(models)
        jobs = [{"kind": k, "name": k, "data": data, "arch": arch, "seconds": train_seconds} for k in models]
        print(f"tinygen compare: {', '.join(models)} on {data} ({arch}), {budget_minutes:g} min in all: "
              f"{train_seconds:.0f} s of training each on {workers} worker{'s' if workers > 1 else ''}, "
              f"seed {seed}; into {out}/", flush=True)
        run_jobs(jobs, _job, workers, done, args=(str(out), seed, 30 if quick else 0), label="tinygen compare")
    total = time.perf_counter() - t0
    summary = {"data": data, "budget_minutes": budget_minutes, "seed": seed, "workers": workers, "arch": arch,
               "total_seconds": total, "quick": bool(quick), "results": results}
    (out / "results.json").write_text(json.dumps(summary, indent=1, default=_json))
    paths = write_report(out, summary)
    print(f"tinygen compare finished in {total / 60:.1f} min: {paths['md']} and {paths['html']}", flush=True)
    return summary


def _json(o):
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return str(o)
