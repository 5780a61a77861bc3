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
* **Ctrl-C or SIGTERM** (in the main thread, over the default handlers) asks the loop to stop after the
  current step: it saves a checkpoint at that step, writes the curves and raises :class:`TrainingInterrupted`
  (a ``KeyboardInterrupt``; its ``signum`` says which) saying how to resume. A second signal stops at once;
  then the last periodic checkpoint is kept, untouched. A ``KeyboardInterrupt`` raised between steps (e.g. by
  ``callback``) also saves a checkpoint at that step.
* **One writer per run folder**: the folder is locked while training writes it (:mod:`tinygen.runlock`).
* **A NaN or inf in a logged loss** stops training with :class:`NonFiniteLossError`, one sentence naming the
  step and the loss; the loop then replays that step from the last checkpoint under
  ``tinygen.detect_anomaly()`` and names the op that produced the first NaN/inf. The checkpoint is left as it
  was (from before the NaN).
* Bad arguments raise ``ValueError`` / ``tinygen.DeviceError`` / :class:`tinygen.runs.RunError` with one
  sentence, before any work is done.
"""
from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np  # host-side data checks

from . import _malloc
from . import backend as _backend
from . import runs
from .data import DataLoader, Dataset, load_dataset
from .loop import NonFiniteLossError, TrainingInterrupted, _epoch_of, _forever, _Loop, _Reporter, _StopGuard
from .runlock import RunLock
from .runs import RunError

__all__ = ["train", "TrainResult", "TrainingInterrupted", "NonFiniteLossError", "RunError"]

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


def _host(a):
    """``a`` (a NumPy or CuPy array, a Tensor, nested lists) as a host NumPy array: CuPy arrays are copied
    (NumPy refuses to convert them implicitly); the DataLoader moves each batch to the training device."""
    a = getattr(a, "data", a) if hasattr(a, "requires_grad") else a          # a Tensor: its array
    if hasattr(a, "__cuda_array_interface__") or hasattr(a, "__array_namespace__") and not isinstance(
            a, np.ndarray):
        return _backend.to_numpy(a)
    return np.asarray(a)


def _as_data(data, what, name=None):
    if isinstance(data, Dataset):
        return _Data(np.asarray(data.x), np.asarray(data.y), data.name, data.kind)
    if isinstance(data, (tuple, list)) and len(data) in (1, 2):
        x = _host(data[0])
        y = _host(data[1]) if len(data) == 2 and data[1] is not None else None
    else:
        x, y = _host(data), None
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
def _read_back(pending, window):
    """The pending steps' numbers as host floats, added to the window in order; ((step, key, value) of the
    first non-finite one, or None; the last step's logs as floats). Empties ``pending``."""
    failure, floats = None, {}
    for step, logs in pending:
        floats = {k: float(v) for k, v in logs.items()}
        bad = next((k for k, v in floats.items() if not math.isfinite(v)), None)
        if bad is not None:
            failure = (step, bad, floats[bad])
            break
        window.add(floats)
    pending.clear()
    return failure, floats


def _on_training_device(fn):
    """Run ``train`` with its device current (a GPU's: the loop's own array work, its checks, evaluations and
    pictures, runs there; nothing on the CPU)."""
    @functools.wraps(fn)
    def run(*args, device="cpu", **kwargs):
        with _backend.get_backend(device).device_scope():
            return fn(*args, device=device, **kwargs)
    return run


@_on_training_device
def train(model, data, *, epochs=None, steps=None, batch_size=None, lr=None, out_dir, device="cpu", seed=None,
          resume=False, overwrite=False, heldout=None, log_every=None, sample_every=None, eval_every=None,
          checkpoint_every=None, progress="auto", callback=None, pictures=True, eval_size=2000, command=None,
          seconds=None):
    """Train ``model`` on ``data`` and keep everything in the run folder ``out_dir`` (see :mod:`tinygen.runs`).

    data: a dataset name or IDX folder (loaded in the model's ``data_range``; its held-out split is used for
        evaluation), a :class:`~tinygen.data.Dataset`, ``(x, y)`` arrays (NumPy, CuPy or Tensors: kept on
        the host, each batch moved to ``device``), or ``x`` alone.
    epochs / steps: the total length of the run (exactly one of them). One step is one ``train_step`` on one
        batch (for the GAN family: one critic update); an epoch is one pass over the data (an incomplete last
        batch is dropped). batch_size: default the model's ``default_batch_size`` (on resume: the run's).
    seconds: a time budget as well: the run ends after the step during which its training clock (all sessions,
        periodic evaluations and pictures included) passes ``seconds``, like a run that reached its length
        (last metrics line, held-out numbers, checkpoint, pictures), unless ``epochs``/``steps`` come first.
    lr: overrides the model's default learning rate; on resume, sets every optimizer's learning rate from
        this step on (like setting a param group's lr in PyTorch; recorded in config.json), while None keeps
        the checkpoint's. seed: seeds every generator at the start of a fresh run (data order, noise; default
        0); build the model after ``tinygen.manual_seed`` for repeatable initial weights. A resumed run
        continues its generators from the checkpoint, so a seed other than the run's is refused.
    resume: continue the run in ``out_dir`` from its checkpoint (the model and the data must be the run's).
    overwrite: start afresh in a folder that already holds a tinygen run, deleting that run's files (and only
        those: a folder with files tinygen did not write is refused).
    heldout: None (the held-out split of a named dataset), False (none), or a Dataset / (x, y).
    log_every, sample_every, eval_every, checkpoint_every: in steps; None picks about 200 metrics lines,
        5 sample grids, 20 evaluations (both only at the end of runs shorter than 50 steps) and 10
        checkpoints per run, plus the final ones.
    progress: "auto" (a tqdm bar on a terminal, a line per 10% otherwise), True (bar), "lines", or False.
    callback: ``callback(step, logs)`` after every step (raise KeyboardInterrupt in it to stop like Ctrl-C).
    pictures: False skips every PNG (samples, curves, reconstructions).

    The run folder is locked while training writes it (:mod:`tinygen.runlock`): a second training of the same
    folder raises :class:`~tinygen.runlock.RunLockedError`. Returns a :class:`TrainResult`.
    """
    given = dict(log=log_every, sample=sample_every, eval=eval_every, checkpoint=checkpoint_every)
    epochs, steps, batch_size, seed, eval_size = _check_arguments(
        model, out_dir, epochs, steps, batch_size, lr, seed, progress, given, eval_size, resume, overwrite)
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                or not seconds > 0 or not math.isfinite(seconds)):
        raise ValueError(f"seconds must be a positive number, got {seconds!r}")
    device = _backend.normalize_device(device)
    _backend.get_backend(device)                      # DeviceError now, with one sentence
    _malloc.tune()                # this process trains now: keep freed array memory in it (see _malloc)
    out = Path(out_dir)
    with RunLock(out, create=not resume):
        if resume:
            old, doomed = runs.read_config(out), []
            batch_size, seed = _resumed_settings(old, batch_size, seed)
        else:
            old, doomed, seed = None, runs.files_to_replace(out, overwrite), 0 if seed is None else seed
        train_data, held = resolve_data(model, data, heldout)
        batch_size = batch_size or int(getattr(model, "default_batch_size", 64))
        if len(train_data.x) < batch_size:
            raise ValueError(f"the batch size {batch_size} is larger than the {len(train_data.x)} training samples")
        model.to(device)
        model.train()
        optimizers = model.make_optimizers(lr)
        arrays = (train_data.x,) if train_data.y is None else (train_data.x, train_data.y)
        loader = DataLoader(*arrays, batch_size=batch_size, shuffle=True, drop_last=True, device=device)
        total = steps if steps is not None else epochs * len(loader)
        every = _schedule(total, given)
        settings = {"epochs": epochs, "steps": steps, "seconds": seconds, "total_steps": total,
                    "batch_size": batch_size, "lr": lr, "seed": seed, "device": device,
                    "steps_per_epoch": len(loader), "drop_last": True,
                    **{f"{k}_every": v for k, v in every.items()}}
        config = _config(model, train_data, held, optimizers, settings, command)
        if resume:
            start, extra = _resume(out, old, config, model, optimizers, loader, lr)
        else:
            for f in doomed:
                f.unlink(missing_ok=True)
            _backend.manual_seed(seed)
            start, extra = 0, {}
            config["created"] = runs.now_iso()
            config["sessions"] = [{"started": config["created"], "from_step": 0}]
        ctx = _Loop(model, optimizers, loader, out, device, seed, train_data, held, every, total, pictures,
                    eval_size, extra)
        ctx.seconds = seconds
        reporter = _Reporter(progress if progress is not None else False, total, start,
                             f"{model.kind} on {train_data.name}")
        return _run(ctx, reporter, config, old, start, callback)


def _check_arguments(model, out_dir, epochs, steps, batch_size, lr, seed, progress, given, eval_size, resume,
                     overwrite):
    """The arguments of :func:`train` that can be checked before anything is read: one sentence each."""
    if out_dir is None:
        raise ValueError("train needs out_dir, the run folder to write into")
    if resume and overwrite:
        raise ValueError("give resume=True (continue the run) or overwrite=True (replace it), not both")
    if epochs is not None and steps is not None:
        raise ValueError("give either epochs or steps, not both")
    epochs = _count("epochs", epochs)
    steps = _count("steps", steps)
    if epochs is None and steps is None:
        raise ValueError("give the length of the run: epochs=N or steps=N")
    batch_size = _count("batch_size", batch_size)
    for name, v in given.items():
        _count(f"{name}_every", v)
    eval_size = _count("eval_size", eval_size)
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0
                           or not math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    seed = _count("seed", seed, minimum=0)
    if progress not in ("auto", "bar", "lines", True, False, None):
        raise ValueError(f"progress must be 'auto', True, 'lines' or False, got {progress!r}")
    from .models.base import GenerativeModel
    if not isinstance(model, GenerativeModel):
        raise TypeError(f"train needs a tinygen generative model (tinygen.models), got {type(model).__name__}")
    return epochs, steps, batch_size, seed, eval_size


def _schedule(total, given):
    """How often (in steps) to log, draw samples, evaluate and checkpoint: the given ones, else defaults."""
    short = total < 50                                           # no intermediate grids or evaluations
    return dict(log=given["log"] or max(1, total // 200),
                sample=given["sample"] or (total if short else -(-total // 5)),
                eval=given["eval"] or (total if short else total // 20),
                checkpoint=given["checkpoint"] or max(1, -(-total // 10)))


def _optimizer_settings(optimizers):
    return {k: {"type": type(o).__name__, **{h: v for h, v in o.param_groups[0].items() if h != "params"}}
            for k, o in optimizers.items()}


def _config(model, train_data, held, optimizers, settings, command):
    """What config.json records about a run (its ``created`` and ``sessions`` are added by the caller)."""
    return {
        "format": runs.RUN_FORMAT, "version": 1,
        "model": {"kind": model.kind, "config": model.config(), "parameters": model.num_parameters()},
        "data": {"name": train_data.name, "kind": train_data.kind, "num_train": len(train_data.x),
                 "num_heldout": 0 if held is None else len(held.x), "shape": list(train_data.x.shape[1:]),
                 "range": list(getattr(model, "data_range", None) or ())},
        "optimizers": _optimizer_settings(optimizers),
        "training": settings, "versions": runs.versions(), "command": command,
    }


def _resumed_settings(old, batch_size, seed):
    """A resumed run's batch size (None: the run's) and seed (None: the run's; another one is refused)."""
    t = old["training"]
    run_seed = _count("the seed in config.json", t.get("seed", 0), minimum=0)
    if seed is not None and seed != run_seed:
        raise RunError(f"cannot resume this run with seed {seed}: it was started with seed {run_seed}, and a "
                       f"resumed run continues its random generators from the checkpoint")
    run_batch = t.get("batch_size")
    return batch_size or (run_batch if type(run_batch) is int and run_batch >= 1 else None), run_seed


def _resume(out, old, config, model, optimizers, loader, lr):
    """Restore the checkpoint into model, optimizers and loader; returns (start step, the loop's extra)."""
    _check_resume(old, config)
    state = runs.load_checkpoint(out)
    fresh_lrs = {k: [g["lr"] for g in o.param_groups] for k, o in optimizers.items()}
    runs.restore_checkpoint(state, model=model, optimizers=optimizers, loader=loader)
    start, total = int(state["step"]), config["training"]["total_steps"]
    if start >= total:
        raise RunError(f"the run in {str(out)!r} is already at step {start}, which is not before the "
                       f"requested end ({total} steps); ask for more epochs or steps to continue it")
    session = {"started": runs.now_iso(), "from_step": start}
    if lr is not None:            # the new learning rate, as make_optimizers(lr) sets it, from this step on
        for k, o in optimizers.items():
            for g, new_lr in zip(o.param_groups, fresh_lrs[k]):
                g["lr"] = new_lr
        session["lr"] = lr
    else:
        config["training"]["lr"] = old["training"].get("lr")
    if config["training"]["device"] != old["training"].get("device"):
        session["device"] = config["training"]["device"]
    config["optimizers"] = _optimizer_settings(optimizers)          # what they really use now
    config["created"] = old.get("created")
    sessions = old.get("sessions")
    config["sessions"] = (sessions if isinstance(sessions, list) else []) + [session]
    return start, dict(state.get("extra") or {})


def _run(ctx, reporter, config, old, start, callback):
    """Write config.json and train from ``start``. A file that cannot be written stops training with an
    OSError naming the file and the checkpoint that is kept."""
    out = ctx.out
    try:
        if old is not None:
            ctx.checkpoint_step = start
            log_every = old["training"].get("log_every")
            log_every = log_every if type(log_every) is int and log_every >= 1 else ctx.every["log"]
            runs.truncate_metrics(out, start if start % log_every == 0 else start - 1)
        runs.write_config(out, config)
        if old is None:
            ctx.checkpoint(0)      # the replay point for NaN hunting, and a valid run folder from the start
        result = _loop(ctx, reporter, start, callback)
        if result.step < config["training"]["total_steps"]:        # ended by the time budget: say where
            config["training"]["ended_on_time_at_step"] = result.step
            runs.write_config(out, config)
        return result
    except OSError as e:
        kept = (f"the checkpoint of step {ctx.checkpoint_step} in {out / runs.CHECKPOINT} is kept"
                if ctx.checkpoint_step is not None else "no checkpoint was written")
        raise OSError(e.errno, f"{e.strerror or e}; {kept}") from e
    finally:
        reporter.close()


def _loop(ctx, reporter, step, callback):
    model, optimizers, loader, total = ctx.model, ctx.optimizers, ctx.loader, ctx.total
    in_step, failure, guard = False, None, _StopGuard()
    log = runs.MetricsLog(ctx.out)
    # the step's numbers stay on the device (0-d tensors) until a step that logs, checkpoints or ends reads
    # them all back at once: one host sync per log line on a GPU instead of several per step
    pending, every_step, every = [], ctx.device == "cpu" or callback is not None, ctx.every
    try:
        with guard:
            batches = _forever(loader)
            while step < total:
                batch = next(batches)
                x, y = batch if len(batch) == 2 else (batch[0], None)
                in_step = True
                logs = model.train_step(x, y, optimizers)
                in_step = False
                step += 1
                pending.append((step, logs))
                if ctx.seconds is not None and step < total and ctx.elapsed() >= ctx.seconds:
                    total = ctx.total = reporter.total = step       # out of time: this step is the last
                if every_step or guard.requested or step == total or not (step % every["log"] and
                                                                           step % every["checkpoint"]):
                    failure, logs = _read_back(pending, ctx.window)
                    if failure is not None:
                        break
                ctx.after_step(step, log)
                reporter.step(step, _epoch_of(loader), ctx.last_logs)
                if callback is not None:
                    callback(step, logs)
                if guard.requested:
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        reporter.close()
        log.close()
        _read_back(pending, ctx.window)        # the checkpoint's window holds every finished step
        raise ctx.interrupted(step, in_step, guard.signum) from None
    finally:
        reporter.close()
        log.close()
    if failure is not None:
        raise ctx.nonfinite(*failure)
    ctx.finish(step)
    epoch = loader.state_dict()["epoch"]
    return TrainResult(ctx.out, step, epoch, ctx.last_logs, ctx.last_heldout, ctx.elapsed())


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
