"""``tinygen compare``: AE, VAE, GAN, WGAN and WGAN-GP on the same data with the same compute budget.

Every model gets the same share of wall-clock time for training: the total budget, minus a part kept for the
evaluation and the report, divided by the number of rounds the workers need (5 models on 2 workers: 3
rounds, each training on one core). Each model trains until ITS OWN training clock passes that share
(``train(..., seconds=share)``): stopped on time, not on a step count guessed in advance, so a model whose
steps are slow, or slowed by a busy machine, makes fewer steps in the same seconds. A few steps timed on a
scratch copy only set how often the run logs, evaluates and draws. Same seed, same data. Then every run is
evaluated (:mod:`tinygen.evaluation`) and a report folder is written:

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

from .atomic import atomic_write
from .models import model_kinds
from .workers import run_jobs

__all__ = ["run_compare", "NETS", "describe_nets", "nets_for"]

# The nets each model gets on MNIST, and its learning rate where it is not the model's default: the settings that
# learned fastest per CPU second (benchmarks/quality.py race, 170 CPU s each; NETS_NOTE below and
# benchmarks/NOTES.md "15."). "lr" goes to train(), everything else to the model's constructor. The models'
# defaults (the papers' learning rates: Adam 2e-4 DCGAN, RMSprop 5e-5 WGAN, Adam 1e-4 WGAN-GP) are tuned for
# long runs; in a budget of minutes a larger step learns faster, and the report says which each model got.
# On the 2-D toys every model gets the toy MLPs and its defaults.
NETS = {"mnist": {"ae": {"arch": "mlp"}, "vae": {"arch": "mlp"},
                  "gan": {"arch": "mlp", "lr": 1e-3},
                  "wgan": {"arch": "mlp", "augment": "", "n_critic": 1, "clip": 0.5, "lr": 1e-3},
                  "wgan-gp": {"arch": "mlp", "augment": "", "lr": 1e-3}}}
NETS_NOTE = {"mnist": "The nets and learning rates are those that learned fastest in 170 CPU seconds each "
                      "(`python benchmarks/quality.py race --cpu-seconds 170 --models gan:mlp:lr=1e-3 "
                      "wgan:mlp:noaug:lr=1e-3:ncritic=1:clip=0.5 wgan-gp:mlp:noaug:lr=1e-3 ...`, FD-MNIST of "
                      "1,000 samples; benchmarks/NOTES.md 15, 19, 22 and 25): GAN MLP 93 (DCGAN width 16: 232; the "
                      "DCGAN learning rate 2e-4: 372); clipped WGAN 122-160 in four runs (seeds 0, 0, 1, 2) with an MLP "
                      "critic, c = 0.5 and one critic step per generator step. Algorithm 1's c = 0.01 was set "
                      "for a DCGAN critic with BatchNorm; an MLP critic clipped to c = 0.01 or 0.02 collapsed to 1-8 "
                      "digits (c = 0.05: 414, 0.1: 267, 0.2: 169, 1.0: 133). At c = 0.5 the clip still acts: every "
                      "weight matrix has entries at +-c, and the last layer has 1-97% of its weights there. "
                      "Algorithm 1's n_critic 5 with c = 0.5: 229; n_critic 2: 126-284 over three seeds: in so "
                      "short a run the generator needs the updates more than the critic needs to be near its "
                      "optimum (the best conv critic, width 16 with c = 0.02 and n_critic 1: "
                      "282-321); WGAN-GP 159 (Adam 1e-4: 422); no "
                      "DiffAugment, which slows learning in so short a run (GAN width 32: 633 with it, 434 without). "
                      "The GANs' samples come from the generator's weight average (GAN MLP: 130 without it)."}
EVAL_SECONDS = 20                # per round: evaluating and drawing one model (the VAE: about 17 s)
REPORT_SECONDS = 30              # the report's pictures, at the end
TIMING_STEPS = 6


def _seconds_per_step(model, data, seed):
    """About how long one step of ``model`` takes here (a few steps on a scratch copy): only to set how often the
    run logs, evaluates and draws; the run itself stops on time."""
    import copy

    import tinygen as tg
    from tinygen.data import load_dataset
    from tinygen.runs import isolated_rng
    scratch = copy.deepcopy(model)
    lo = (scratch.data_range or (0, 1))[0]
    ds = load_dataset(data, "train", range=(-1, 1) if lo < 0 else (0, 1))
    opts = scratch.make_optimizers()
    b = scratch.default_batch_size
    x = tg.tensor(ds.x[:b])
    y = tg.tensor(ds.y[:b]) if ds.y is not None else None
    with isolated_rng(model.device, seed + 7):      # the real run's random numbers stay untouched
        scratch.train_step(x, y, opts)                      # warm-up
        t0 = time.perf_counter()
        for _ in range(TIMING_STEPS):
            scratch.train_step(x, y, opts)
    return (time.perf_counter() - t0) / TIMING_STEPS


def describe_nets(model, lr=None):
    """The nets of a model in a few words: "MLP 784-400-20", "conv (DCGAN-style, width 32)", the generator's
    weight average when its samples come from one, and any setting
    that is not the model's default: a learning rate ``lr`` other than ``make_optimizers``' ("RMSprop lr 2e-4
    (default 5e-5)"), a critic count or a clip other than the course's ("n_critic 2 (default 5)")."""
    cfg = model.config()
    aug = ""
    if getattr(model, "is_image", False) and "augment" in cfg:
        aug = f", DiffAugment ({cfg['augment']})" if cfg["augment"] else ", no DiffAugment"
    if cfg.get("ema"):
        aug += f", samples from G's weight average (EMA {cfg['ema']:g})"
    aug += _non_defaults(model, cfg, lr)
    if cfg.get("arch") == "conv":
        return f"conv (DCGAN-style, width {cfg.get('width')}){aug}"
    hidden = list(cfg.get("hidden") or [])
    d = math.prod(model.data_shape)
    if model.has_encoder:
        return "MLP " + "-".join(str(v) for v in [d, *hidden, model.latent_dim]) + aug
    return "MLP G " + "-".join(str(v) for v in [model.latent_dim, *hidden, d]) + ", D " + \
        "-".join(str(v) for v in [d, *hidden[::-1], 1]) + aug


def _non_defaults(model, cfg, lr):
    """", RMSprop lr 2e-4 (default 5e-5), n_critic 2 (default 5), clip c 0.02 (default 0.01)": the training
    settings that differ from the model's defaults, or ""."""
    out = ""
    default = model.make_optimizers()
    first = next(iter(default.values()))
    base = first.param_groups[0]["lr"]
    if lr is not None and not math.isclose(lr, base):
        out += f", {type(first).__name__} lr {lr:g} (default {base:g})"
    n, n0 = cfg.get("n_critic"), getattr(model, "default_n_critic", None)
    if n is not None and n0 is not None and n != n0:
        out += f", n_critic {n} (default {n0})"
    c, c0 = cfg.get("clip"), getattr(model, "default_clip", None)
    if c is not None and c0 is not None and not math.isclose(c, c0):
        out += f", clip c {c:g} (default {c0:g})"
    return out


def _job(job, out, seed, quick):
    """Train one model until its clock passes its share of the budget, then evaluate it (in a worker)."""
    import tinygen as tg
    from tinygen.data import load_dataset
    from tinygen.evaluation import evaluate_run
    from tinygen.models import build_model
    from tinygen.runs import read_metrics
    from tinygen.train import train
    run_dir = Path(out) / "runs" / job["kind"]
    ds = load_dataset(job["data"], "train")
    tg.manual_seed(seed)
    nets = dict(job["nets"])
    lr = nets.pop("lr", None)                   # an optimizer setting, not the nets': it goes to train()
    model = build_model(job["kind"], data_shape=tuple(ds.x.shape[1:]), **nets)
    if quick:
        length = {"steps": int(quick)}
    else:
        est = max(10, int(job["seconds"] / _seconds_per_step(model, job["data"], seed)))
        length = {"steps": 100 * est, "seconds": job["seconds"], "log_every": max(1, est // 200),
                  "eval_every": max(1, est // 5), "sample_every": max(1, est // 3),
                  "checkpoint_every": max(1, est // 4)}
    cpu = [time.process_time()] * 2

    def last_step(step, logs):                  # the CPU time this process had spent at the last step
        cpu[1] = time.process_time()
    res = train(model, job["data"], out_dir=run_dir, overwrite=True, seed=seed, progress="lines", lr=lr,
                command=f"tinygen compare ({job['kind']})", callback=last_step, **length)
    recs = read_metrics(run_dir)
    seconds = recs[-1]["time"] if recs and "time" in recs[-1] else res.elapsed   # the clock at the last step
    ev = evaluate_run(run_dir, iwae_k=50 if quick else 500, iwae_n=50 if quick else 500)
    return {"kind": job["kind"], "steps": res.step, "seconds": seconds, "cpu_seconds": cpu[1] - cpu[0],
            "nets": describe_nets(model, lr), "eval": ev}


def _evaluate_existing(job, out, seed, quick):
    from tinygen.evaluation import evaluate_run
    from tinygen.runs import load_run, read_config
    cfg = read_config(job["run"])
    ev = evaluate_run(job["run"], iwae_k=50 if quick else 500, iwae_n=50 if quick else 500)
    return {"kind": cfg["model"]["kind"], "steps": ev["step"], "seconds": None, "eval": ev, "run": str(job["run"]),
            "nets": describe_nets(load_run(job["run"]).model, (cfg.get("training") or {}).get("lr"))}


def run_compare(data="mnist", budget_minutes=10.0, out="tinygen-compare", runs=None, seed=0, workers=None,
                quick=False, models=None, arch=None):
    """Train (or load, with ``runs``) every model, evaluate them and write the report. Returns the results.

    ``models``: the kinds to train (default: every registered model, ``tinygen.models.model_kinds()``)."""
    from .report import write_report            # the pictures' imports (matplotlib) only when it is time
    models = model_kinds() if models is None else tuple(models)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if workers is None:
        workers = 2 if (os.cpu_count() or 1) >= 2 else 1
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
        rounds = -(-len(models) // workers)
        share = max(10.0, (budget_minutes * 60 - REPORT_SECONDS) / rounds - EVAL_SECONDS)
        jobs = [{"kind": k, "name": k, "data": data, "nets": nets_for(k, data, arch), "seconds": share}
                for k in models]
        print(f"tinygen compare: {', '.join(models)} on {data}, {budget_minutes:g} min in all: each model trains "
              f"until its clock passes {share:.0f} s, {rounds} round{'s' if rounds > 1 else ''} on {workers} "
              f"worker{'s' if workers > 1 else ''}, seed {seed}; into {out}/", flush=True)
        run_jobs(jobs, _job, workers, done, args=(str(out), seed, 30 if quick else 0), label="tinygen compare")
    total = time.perf_counter() - t0
    summary = {"data": data, "budget_minutes": budget_minutes, "seed": seed, "workers": workers,
               "share_seconds": None if runs else share, "nets_note": "" if arch else NETS_NOTE.get(data, ""),
               "total_seconds": total, "quick": bool(quick), "results": results}
    text = json.dumps(summary, indent=1, default=_json)
    atomic_write(out / "results.json", lambda f: f.write(text), binary=False)
    paths = write_report(out, summary)
    print(f"tinygen compare finished in {total / 60:.1f} min: {paths['md']} and {paths['html']}", flush=True)
    return summary


def nets_for(kind, data, arch=None):
    """The constructor arguments that choose ``kind``'s nets for ``data`` (``arch`` overrides the choice)."""
    if arch:
        return {"arch": arch}
    return dict(NETS.get(data, {}).get(kind, {"arch": "mlp"}))


def _json(o):
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return str(o)
