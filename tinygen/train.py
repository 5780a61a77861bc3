"""The training loop: one function, :func:`train`, for every model that follows the contract of
``tinygen/models/base.py``.

    import tinygen as tg
    from tinygen.models import build_model
    from tinygen.train import train

    tg.manual_seed(0)
    model = build_model("vae", data_shape=(1, 28, 28), arch="mlp")
    train(model, "mnist", epochs=2, batch_size=128, out_dir="runs/vae-mnist")
    train(model, "mnist", epochs=4, batch_size=128, out_dir="runs/vae-mnist", resume=True)  # 2 more epochs

What it writes into ``out_dir`` is described in :mod:`tinygen.runs`. What it guarantees:

* **Resume is exact on the CPU.** The checkpoint holds the model, every optimizer's state, the state of the
  device's and of the CPU's random generators and the DataLoader's position (the epoch's permutation and the
  batches already used), so 1 epoch + resume + 1 epoch gives bit-identical parameters to 2 epochs straight.
  Pictures and held-out numbers draw from separately seeded generators and never disturb the training's.
  ``epochs``/``steps`` are totals: ``resume=True, epochs=4`` trains until epoch 4.
* **Ctrl-C** (in the main thread) asks the loop to stop after the current step: it saves a checkpoint at that
  step, writes the curves and raises :class:`TrainingInterrupted` (a ``KeyboardInterrupt``) saying how to
  resume. A second Ctrl-C stops at once; then the last periodic checkpoint is kept, untouched. A
  ``KeyboardInterrupt`` raised between steps (e.g. by ``callback``) also saves a checkpoint at that step.
* **A NaN or inf in a logged loss** stops training with :class:`NonFiniteLossError`, one sentence naming the
  step and the loss; the loop then replays that step from the last checkpoint under
  ``tinygen.detect_anomaly()`` and names the op that produced the first NaN/inf. The checkpoint is left as it
  was (from before the NaN).
* Bad arguments raise ``ValueError`` / ``tinygen.DeviceError`` / :class:`tinygen.runs.RunError` with one
  sentence, before any work is done.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np  # host-side data checks

from . import backend as _backend
from . import runs
from .data import DataLoader, Dataset, load_dataset
from .loop import NonFiniteLossError, TrainingInterrupted, _Loop, _Reporter, _SigintGuard, _epoch_of, _forever
from .runs import RunError

__all__ = ["train", "TrainResult", "TrainingInterrupted", "NonFiniteLossError", "RunError"]

_RUN_FILES = ("config.json", "metrics.jsonl", "checkpoint.npz", "curves.png", "reconstructions.png",
              "interpolations.png", "latent.png")


@dataclass
class TrainResult:
    """What :func:`train` returns: the run folder, where training stopped, and the last numbers."""
    out_dir: Path
    step: int
    epoch: int
    logs: dict = field(default_factory=dict)       # the last logged training numbers (window means)
    heldout: dict = field(default_factory=dict)    # the last held-out numbers
    elapsed: float = 0.0                           # seconds of training over all sessions of this run


# -------------------------------------------------------------------------------------------------------------
# arguments and data
# -------------------------------------------------------------------------------------------------------------
def _count(name, v, allow_none=True, minimum=1):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


class _Data:
    """Host arrays and what the pictures need to know about them."""

    def __init__(self, x, y, name, kind):
        self.x, self.y, self.name, self.kind = x, y, name, kind

    @property
    def toy_modes(self):
        from .data import MIXTURES, TOY_DATASETS, modes
        key = str(self.name).lower()
        return modes(key) if key in TOY_DATASETS or key in MIXTURES else None

    @property
    def is_mixture(self):
        from .data import MIXTURES
        return str(self.name).lower() in MIXTURES


def _as_data(data, what, name=None):
    if isinstance(data, Dataset):
        return _Data(np.asarray(data.x), np.asarray(data.y), data.name, data.kind)
    if isinstance(data, (tuple, list)) and len(data) in (1, 2):
        x = np.asarray(data[0])
        y = np.asarray(data[1]) if len(data) == 2 and data[1] is not None else None
    else:
        x, y = np.asarray(getattr(data, "numpy", lambda: data)()), None
    if x.ndim < 2 or x.dtype.kind != "f":
        raise ValueError(f"the {what} must be a float array of shape (N, ...) (or a Dataset, or (x, y)), "
                         f"got {x.dtype} of shape {x.shape}")
    if y is not None and len(y) != len(x):
        raise ValueError(f"the {what} has {len(x)} samples but {len(y)} labels")
    kind = "toy" if x.ndim == 2 and x.shape[1] == 2 else "image"
    return _Data(x, y, name or "arrays", kind)


def resolve_data(model, data, heldout=None):
    """``(train, heldout)`` as host arrays for ``model``: a name or folder is loaded in the model's
    ``data_range``; ``heldout=None`` means the held-out split of a named dataset (none for arrays)."""
    lo_hi = tuple(getattr(model, "data_range", None) or (0.0, 1.0))
    image_range = (-1, 1) if lo_hi[0] < 0 else (0, 1)
    if isinstance(data, (str, os.PathLike)):
        name = os.fspath(data)
        tr = load_dataset(name, "train", range=image_range)
        train_data = _as_data(tr, "training data", tr.name)
        if heldout is None:
            heldout = load_dataset(name, "test", range=image_range)
    else:
        train_data = _as_data(data, "training data")
    held = None
    if heldout is not None and heldout is not False:
        if isinstance(heldout, (str, os.PathLike)):
            heldout = load_dataset(os.fspath(heldout), "test", range=image_range)
        held = _as_data(heldout, "held-out data", train_data.name)
        if held.x.shape[1:] != train_data.x.shape[1:]:
            raise ValueError(f"the held-out samples have shape {held.x.shape[1:]} but the training samples "
                             f"{train_data.x.shape[1:]}")
    _check_fits(model, train_data)
    return train_data, held


def _check_fits(model, d):
    shape = tuple(d.x.shape[1:])
    want = tuple(model.data_shape)
    if shape != want and shape != (math.prod(want),):
        raise ValueError(f"the {model.kind} model was built for samples of shape {want}, but the data "
                         f"{d.name!r} has samples of shape {shape}")
    if d.kind == "image" and getattr(model, "data_range", None):
        lo, hi = model.data_range
        xmin, xmax = float(d.x.min()), float(d.x.max())
        if xmin < lo - 1e-3 or xmax > hi + 1e-3:
            raise ValueError(f"the {model.kind} model reads images in [{lo:g}, {hi:g}] but the data lies in "
                             f"[{xmin:.3g}, {xmax:.3g}]; load it with load_dataset(..., range=({lo:g}, {hi:g}))")
    if getattr(model, "conditional", False) and d.y is None:
        raise ValueError(f"the conditional {model.kind} model needs labels, but the data has none")



# -------------------------------------------------------------------------------------------------------------
# train
# -------------------------------------------------------------------------------------------------------------
def train(model, data, *, epochs=None, steps=None, batch_size=None, lr=None, out_dir, device="cpu", seed=0,
          resume=False, overwrite=False, heldout=None, log_every=None, sample_every=None, eval_every=None,
          checkpoint_every=None, progress="auto", callback=None, pictures=True, eval_size=2000, command=None,
          seconds=None):
    """Train ``model`` on ``data`` and keep everything in the run folder ``out_dir`` (see :mod:`tinygen.runs`).

    data: a dataset name or IDX folder (loaded in the model's ``data_range``; its held-out split is used for
        evaluation), a :class:`~tinygen.data.Dataset`, ``(x, y)`` host arrays, or ``x`` alone.
    epochs / steps: the total length of the run (exactly one of them). One step is one ``train_step`` on one
        batch (for the GAN family: one critic update); an epoch is one pass over the data (an incomplete last
        batch is dropped). batch_size: default the model's ``default_batch_size``.
    seconds: a time budget as well: the run ends after the step during which its training clock (all sessions,
        periodic evaluations and pictures included) passes ``seconds``, like a run that reached its length
        (last metrics line, held-out numbers, checkpoint, pictures), unless ``epochs``/``steps`` come first.
    lr: overrides the model's default learning rate. seed: seeds every generator at the start of a fresh run
        (data order, noise); build the model after ``tinygen.manual_seed`` for repeatable initial weights.
    resume: continue the run in ``out_dir`` from its checkpoint (the model and the data must be the run's).
    overwrite: start afresh in a folder that already holds a run (otherwise that is an error).
    heldout: None (the held-out split of a named dataset), False (none), or a Dataset / (x, y).
    log_every, sample_every, eval_every, checkpoint_every: in steps; None picks about 200 metrics lines,
        5 sample grids, 20 evaluations (both only at the end of runs shorter than 50 steps) and 10
        checkpoints per run, plus the final ones.
    progress: "auto" (a tqdm bar on a terminal, a line per 10% otherwise), True (bar), "lines", or False.
    callback: ``callback(step, logs)`` after every step (raise KeyboardInterrupt in it to stop like Ctrl-C).
    pictures: False skips every PNG (samples, curves, reconstructions).
    Returns a :class:`TrainResult`.
    """
    # --- arguments ---------------------------------------------------------------------------------------
    if out_dir is None:
        raise ValueError("train needs out_dir, the run folder to write into")
    if epochs is not None and steps is not None:
        raise ValueError("give either epochs or steps, not both")
    epochs = _count("epochs", epochs)
    steps = _count("steps", steps)
    if epochs is None and steps is None:
        raise ValueError("give the length of the run: epochs=N or steps=N")
    batch_size = _count("batch_size", batch_size)
    for name in ("log_every", "sample_every", "eval_every", "checkpoint_every"):
        _count(name, locals()[name])
    eval_size = _count("eval_size", eval_size)
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                or not seconds > 0 or not math.isfinite(seconds)):
        raise ValueError(f"seconds must be a positive number, got {seconds!r}")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0
                           or not math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    seed = _count("seed", seed, allow_none=False, minimum=0)
    if progress not in ("auto", "bar", "lines", True, False, None):
        raise ValueError(f"progress must be 'auto', True, 'lines' or False, got {progress!r}")
    device = _backend.normalize_device(device)
    _backend.get_backend(device)                      # DeviceError now, with one sentence
    from .models.base import GenerativeModel
    if not isinstance(model, GenerativeModel):
        raise TypeError(f"train needs a tinygen generative model (tinygen.models), got {type(model).__name__}")

    train_data, held = resolve_data(model, data, heldout)
    batch_size = batch_size or int(getattr(model, "default_batch_size", 64))
    if len(train_data.x) < batch_size:
        raise ValueError(f"the batch size {batch_size} is larger than the {len(train_data.x)} training samples")
    out = Path(out_dir)

    # --- the run folder -----------------------------------------------------------------------------------
    model.to(device)
    model.train()
    optimizers = model.make_optimizers(lr)
    arrays = (train_data.x,) if train_data.y is None else (train_data.x, train_data.y)
    loader = DataLoader(*arrays, batch_size=batch_size, shuffle=True, drop_last=True, device=device)
    total = steps if steps is not None else epochs * len(loader)
    short = total < 50                                           # no intermediate grids or evaluations
    every = dict(log=log_every or max(1, total // 200),
                 sample=sample_every or (total if short else -(-total // 5)),
                 eval=eval_every or (total if short else total // 20),
                 checkpoint=checkpoint_every or max(1, -(-total // 10)))
    settings = {"epochs": epochs, "steps": steps, "seconds": seconds, "total_steps": total, "batch_size": batch_size,
                "lr": lr,
                "seed": seed, "device": device, "steps_per_epoch": len(loader), "drop_last": True,
                **{f"{k}_every": v for k, v in every.items()}}
    config = {
        "format": runs.RUN_FORMAT, "version": 1,
        "model": {"kind": model.kind, "config": model.config(), "parameters": model.num_parameters()},
        "data": {"name": train_data.name, "kind": train_data.kind, "num_train": len(train_data.x),
                 "num_heldout": 0 if held is None else len(held.x), "shape": list(train_data.x.shape[1:]),
                 "range": list(getattr(model, "data_range", None) or ())},
        "optimizers": {k: {"type": type(o).__name__, **{h: v for h, v in o.param_groups[0].items()
                                                        if h != "params"}} for k, o in optimizers.items()},
        "training": settings, "versions": runs.versions(), "command": command,
    }
    extra = {}
    if resume:
        old = runs.read_config(out)
        _check_resume(old, config)
        state = runs.load_checkpoint(out)
        runs.restore_checkpoint(state, model=model, optimizers=optimizers, loader=loader)
        start = int(state["step"])
        extra = dict(state.get("extra") or {})
        if start >= total:
            raise RunError(f"the run in {str(out)!r} is already at step {start}, which is not before the "
                           f"requested end ({total} steps); ask for more epochs or steps to continue it")
        log_every = old.get("training", {}).get("log_every") or every["log"]
        runs.truncate_metrics(out, start if start % log_every == 0 else start - 1)
        config["created"] = old.get("created")
        config["sessions"] = old.get("sessions", []) + [{"started": runs.now_iso(), "from_step": start}]
    else:
        if out.exists() and not out.is_dir():
            raise RunError(f"the output path {str(out)!r} is a file, not a folder")
        if (out / runs.CONFIG).exists() or (out / runs.CHECKPOINT).exists():
            if not overwrite:
                raise RunError(f"{str(out)!r} already holds a run: resume it, choose another folder, or "
                               f"overwrite it")
            for f in list(_RUN_FILES) + [p.name for p in out.glob("samples_*.png")]:
                (out / f).unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        _backend.manual_seed(seed)
        start = 0
        config["created"] = runs.now_iso()
        config["sessions"] = [{"started": config["created"], "from_step": 0}]
    runs.write_config(out, config)

    # --- the loop -----------------------------------------------------------------------------------------
    ctx = _Loop(model, optimizers, loader, out, device, seed, train_data, held, every, total, pictures,
                eval_size, extra)
    if start == 0:
        ctx.checkpoint(0)          # the replay point for NaN hunting, and a valid run folder from the start
    reporter = _Reporter(progress if progress is not None else False, total, start,
                         f"{model.kind} on {train_data.name}")
    step, in_step, failure = start, False, None
    log = runs.MetricsLog(out)
    try:
        with _SigintGuard() as guard:
            batches = _forever(loader)
            while step < total:
                batch = next(batches)
                x, y = batch if len(batch) == 2 else (batch[0], None)
                in_step = True
                logs = model.train_step(x, y, optimizers)
                in_step = False
                step += 1
                bad = next((k for k, v in logs.items() if not math.isfinite(float(v))), None)
                if bad is not None:
                    failure = (step, bad, float(logs[bad]))
                    break
                if seconds is not None and step < total and ctx.elapsed() >= seconds:
                    total = ctx.total = reporter.total = step       # out of time: this step is the last
                ctx.window.add(logs)
                ctx.after_step(step, log)
                reporter.step(step, _epoch_of(loader), ctx.last_logs)
                if callback is not None:
                    callback(step, logs)
                if guard.requested:
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        reporter.close()
        log.close()
        raise ctx.interrupted(step, in_step) from None
    finally:
        reporter.close()
        log.close()
    if failure is not None:
        raise ctx.nonfinite(*failure)
    if step < settings["total_steps"]:                  # ended by the time budget: say where
        config["training"]["ended_on_time_at_step"] = step
        runs.write_config(out, config)
    ctx.finish(step)
    return TrainResult(out, step, loader.state_dict()["epoch"], ctx.last_logs, ctx.last_heldout, ctx.elapsed())


def _check_resume(old, new):
    """The resumed run must be the same model, data and batch size (otherwise the data order would differ)."""
    what = []
    if old["model"]["kind"] != new["model"]["kind"]:
        what.append(f"the model is {new['model']['kind']!r}, the run's is {old['model']['kind']!r}")
    elif old["model"].get("config") != runs.json_roundtrip(new["model"]["config"]):
        o, n = old["model"].get("config") or {}, runs.json_roundtrip(new["model"]["config"])
        keys = sorted(k for k in set(o) | set(n) if o.get(k) != n.get(k))
        what.append("the model's settings differ (" + ", ".join(f"{k}: {o.get(k)!r} in the run, {n.get(k)!r} now"
                                                               for k in keys) + ")")
    if old.get("data", {}).get("name") != new["data"]["name"]:
        what.append(f"the data is {new['data']['name']!r}, the run's is {old.get('data', {}).get('name')!r}")
    ob = old.get("training", {}).get("batch_size")
    if ob != new["training"]["batch_size"]:
        what.append(f"the batch size is {new['training']['batch_size']}, the run's is {ob}")
    if what:
        raise RunError("cannot resume this run: " + "; ".join(what))
