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
from .loop import Loop, LoopSettings, NonFiniteLossError, Reporter, StopGuard, TrainingInterrupted
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
        model, out_dir, epochs, steps, batch_size, lr, seed, progress, given, eval_size, resume, overwrite, seconds)
    device = _backend.normalize_device(device)
    _backend.get_backend(device)                      # DeviceError now, with one sentence
    _malloc.tune()                # this process trains now: keep freed array memory in it (see _malloc)
    out = Path(out_dir)
    with RunLock(out, create=not resume):
        session = runs.Session(out, resume, overwrite)
        batch_size, seed = session.batch_size_and_seed(batch_size, seed)
        train_data, held = resolve_data(model, data, heldout)
        optimizers, loader = _prepare(model, train_data, batch_size, device, lr)
        total = steps if steps is not None else epochs * len(loader)
        every = _schedule(total, given)
        training = {"epochs": epochs, "steps": steps, "seconds": seconds, "total_steps": total,
                    "batch_size": loader.batch_size, "lr": lr, "seed": seed, "device": device,
                    "steps_per_epoch": len(loader), "drop_last": True, **{f"{k}_every": v for k, v in every.items()}}
        config = runs.run_config(model, train_data, held, optimizers, training, command)
        start, resumed = session.begin(config, model, optimizers, loader, lr)
        if not session.resumed:
            model.fit_data(train_data.x)
        if not resume:
            _backend.manual_seed(seed)
        loop = Loop(LoopSettings(model=model, optimizers=optimizers, loader=loader, out=out, device=device,
                                 seed=seed, data=train_data, held=held, every=every, total=total,
                                 pictures=pictures, eval_size=eval_size, seconds=seconds, resumed=resumed))
        reporter = Reporter(progress, total, start, f"{model.kind} on {train_data.name}")
        return _run(loop, reporter, session, config, start, callback)


def _prepare(model, train_data, batch_size, device, lr):
    """The model on ``device`` in training mode, its optimizers, and the DataLoader (``batch_size`` None: the
    model's default)."""
    batch_size = batch_size or int(getattr(model, "default_batch_size", 64))
    if len(train_data.x) < batch_size:
        raise ValueError(f"the batch size {batch_size} is larger than the {len(train_data.x)} training samples")
    model.to(device)
    model.train()
    optimizers = model.make_optimizers(lr)
    arrays = (train_data.x,) if train_data.y is None else (train_data.x, train_data.y)
    return optimizers, DataLoader(*arrays, batch_size=batch_size, shuffle=True, drop_last=True, device=device)


def _check_arguments(model, out_dir, epochs, steps, batch_size, lr, seed, progress, given, eval_size, resume,
                     overwrite, seconds):
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
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                or not seconds > 0 or not math.isfinite(seconds)):
        raise ValueError(f"seconds must be a positive number, got {seconds!r}")
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


def _run(loop, reporter, session, config, start, callback):
    """Write config.json and train from ``start``. A file that cannot be written stops training with an
    OSError naming the file and the checkpoint that is kept."""
    out = loop.out
    try:
        with StopGuard() as guard:      # a stop from here on is a TrainingInterrupted with its checkpoint
            if session.resumed:
                loop.checkpoint_step = start
            session.write_config(config, start, loop.every["log"])
            if not session.resumed:
                loop.checkpoint(0)     # the replay point for NaN hunting, and a valid run folder from the start
            step = loop.run(start, reporter, callback, guard)
            if step < config["training"]["total_steps"]:         # ended by the time budget: say where
                config["training"]["ended_on_time_at_step"] = step
                runs.write_config(out, config)
        epoch = loop.loader.state_dict()["epoch"]
        return TrainResult(out, step, epoch, loop.last_logs, loop.last_heldout, loop.elapsed())
    except OSError as e:
        kept = (f"the checkpoint of step {loop.checkpoint_step} in {out / runs.CHECKPOINT} is kept"
                if loop.checkpoint_step is not None else "no checkpoint was written")
        raise OSError(e.errno, f"{e.strerror or e}; {kept}") from e
    finally:
        reporter.close()
