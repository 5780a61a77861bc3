"""The insides of :func:`tinygen.train.train`: the step loop (:class:`Loop`, set up by one
:class:`LoopSettings`), its periodic work (metrics lines, held-out evaluation, pictures, checkpoints), the
endings (Ctrl-C, NaN with the replay under ``detect_anomaly``), the progress display (:class:`Reporter`) and
the Ctrl-C and SIGTERM guard (:class:`StopGuard`). :mod:`tinygen.train` uses the names without an
underscore; of them only the two errors are tinygen's API (``tinygen.train`` re-exports them)."""
from __future__ import annotations

import contextlib
import math
import re
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import backend as _backend
from . import evaluation, figures, runs
from .autograd import AnomalyError, detect_anomaly
from .data import DataLoader

__all__ = ["TrainingInterrupted", "NonFiniteLossError", "Loop", "LoopSettings", "Reporter"]


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped by Ctrl-C or SIGTERM. ``step``: the last finished step; ``checkpoint``: the file to
    resume from; ``saved``: whether a checkpoint was written at ``step`` (False after a second signal
    mid-step); ``signum``: the signal (``signal.SIGINT`` also for a KeyboardInterrupt raised by code)."""

    def __init__(self, message, step, checkpoint, saved, signum=signal.SIGINT):
        super().__init__(message)
        self.step, self.checkpoint, self.saved, self.signum = step, checkpoint, saved, int(signum)

    def __str__(self):
        return self.args[0]

    def __reduce__(self):              # crosses process boundaries (tinygen demo's workers)
        return type(self), (self.args[0], self.step, self.checkpoint, self.saved, self.signum)


class NonFiniteLossError(FloatingPointError):
    """A logged loss (or a parameter) became NaN or infinite. ``step``, ``key`` and ``op`` (the op that
    ``detect_anomaly`` named, or None) say where."""

    def __init__(self, message, step, key=None, op=None):
        super().__init__(message)
        self.step, self.key, self.op = step, key, op

    def __reduce__(self):
        return type(self), (self.args[0], self.step, self.key, self.op)


# -------------------------------------------------------------------------------------------------------------
# the loop's helpers
# -------------------------------------------------------------------------------------------------------------
class _Window:
    """Running means of the logged numbers since the last metrics line (part of the checkpoint)."""

    def __init__(self, saved=None):
        self.sums = dict(saved or {})

    def add(self, logs):
        for k, v in logs.items():
            s, n = self.sums.get(k, (0.0, 0))
            self.sums[k] = (s + float(v), n + 1)

    def means(self, reset=True):
        out = {k: s / n for k, (s, n) in self.sums.items() if n}
        if reset:
            self.sums = {}
        return out

    def state(self):
        return {k: [float(s), int(n)] for k, (s, n) in self.sums.items()}


_SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C"}
if hasattr(signal, "SIGTERM"):
    _SIGNAL_NAMES[signal.SIGTERM] = "SIGTERM"


class StopGuard:
    """Ctrl-C (SIGINT) and SIGTERM (docker stop, SLURM preemption, ``timeout``) during training. The first
    sets ``requested`` (the loop stops after the step and saves a checkpoint), the second raises
    KeyboardInterrupt at once. ``signum``: the first signal received. Installed only in the main thread, and
    only over the default handlers (SIGINT's KeyboardInterrupt, SIGTERM's exit) and those marked
    ``replaceable`` (a tinygen worker's): a program's own handlers are left alone. ``train()`` holds one over
    its whole session, from writing config.json to the last picture: a SIGTERM anywhere in it must not end
    the process with its run half-written (a worker of ``tinygen demo`` killed so would break the process
    pool and lose its neighbour's report)."""

    def __init__(self):
        self.requested = False
        self.signum = signal.SIGINT
        self.old = {}

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum, default in ((signal.SIGINT, signal.default_int_handler),
                                (getattr(signal, "SIGTERM", None), signal.SIG_DFL)):
            if signum is None:
                continue
            now = signal.getsignal(signum)
            if now is default or getattr(now, "replaceable", False):   # (a tinygen worker's: workers.py)
                self.old[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested, self.signum = True, signum
        name = _SIGNAL_NAMES.get(signum, f"signal {signum}")
        print(f"\ntinygen: {name}: stopping after this step and saving a checkpoint (send it again to stop now)",
              file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        for signum, old in self.old.items():
            signal.signal(signum, old)
        self.old = {}
        return False


class Reporter:
    """A tqdm bar on a terminal; otherwise (progress="auto") a line about every 10% of the run; nothing for
    progress False or None."""

    def __init__(self, progress, total, start, desc):
        self.total, self.bar, self.lines, self.desc = total, None, False, desc
        if progress == "auto":
            progress = "bar" if sys.stderr.isatty() else "lines"
        if progress is True or progress == "bar":
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, initial=start, desc=desc, unit="step", dynamic_ncols=True,
                            file=sys.stderr, leave=True)
        elif progress == "lines":
            self.lines = True
            self.every = max(1, total // 10)

    def step(self, step, epoch, logs):
        if self.bar is not None:
            self.bar.update(1)
            if logs:
                self.bar.set_postfix_str(format_numbers(logs), refresh=False)
        elif self.lines and (step % self.every == 0 or step == self.total):
            print(f"{self.desc}: step {step}/{self.total} (epoch {epoch:.2f}): {format_numbers(logs)}", file=sys.stderr,
                  flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def format_numbers(logs):
    """``"name value, ..."`` for the numbers of a dict, 4 significant digits; NaN (a metric with nothing to
    measure, e.g. the mode KL when no sample is near a mode) reads "n/a"."""
    return ", ".join(f"{k} {'n/a' if v != v else format(v, '.4g')}" for k, v in logs.items()
                     if isinstance(v, (int, float)))


def _batches_forever(loader):
    while True:
        yield from loader


def _x_y(batch):
    """A DataLoader batch as (x, y): y is None for data without labels."""
    return batch if len(batch) == 2 else (batch[0], None)


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


def _nonfinite_param(model):
    """The name of the first parameter holding a NaN or an infinity, or None."""
    for name, p in model.named_parameters():
        xp = _backend.namespace(p.data)
        if not bool(xp.all(xp.isfinite(p.data))):
            return name
    return None


def _epoch_of(loader):
    st = loader.state_dict()
    return max(0, st["epoch"] - 1) + st["batch"] / len(loader)


@dataclass
class LoopSettings:
    """What one training session runs, as :func:`tinygen.train.train` set it up."""
    model: object                  # a tinygen.models GenerativeModel, on ``device``, in training mode
    optimizers: dict               # what model.make_optimizers returned (restored from the checkpoint on resume)
    loader: DataLoader             # shuffled, drop_last; at the checkpoint's position on resume
    out: Path                      # the run folder
    device: str
    seed: int                      # the run's; pictures and held-out numbers draw from seed + 1 and seed + 2
    data: object                   # the training data (train._Data: host arrays x, y, name, kind)
    held: object                   # the held-out data (the same), or None
    every: dict                    # steps between "log", "sample", "eval" and "checkpoint"
    total: int                     # the step to end after
    pictures: bool = True          # False: no PNG
    eval_size: int = 2000          # held-out samples per evaluation
    seconds: float | None = None   # the time budget (all sessions), or None
    resumed: dict = field(default_factory=dict)   # the checkpoint's "extra": running means, elapsed seconds


class Loop:
    """The loop's state and its periodic work: metrics lines, evaluation, pictures, checkpoints."""

    def __init__(self, settings):
        s = self.settings = settings
        self.model, self.optimizers, self.loader, self.out = s.model, s.optimizers, s.loader, s.out
        self.device, self.every, self.total = s.device, s.every, s.total
        self.window = _Window({k: tuple(v) for k, v in (s.resumed.get("window") or {}).items()})
        self.elapsed0 = float(s.resumed.get("elapsed", 0.0))
        self.t0 = self.curves_drawn = time.perf_counter()
        self.last_logs, self.last_heldout = {}, {}
        self.checkpoint_step = None
        self.warned = set()

    def run(self, step, reporter, callback=None, guard=None):
        """Train from ``step`` until ``total`` (or the time budget); returns the last step. Ctrl-C, SIGTERM
        and a KeyboardInterrupt out of ``callback`` raise TrainingInterrupted, a NaN NonFiniteLossError.
        ``guard``: a :class:`StopGuard` the caller has already entered (its session's; a signal received
        before the first step then stops the run there), else one of this call's own."""
        model, optimizers, loader = self.model, self.optimizers, self.loader
        in_step, failure = False, None
        own = guard is None
        guard = StopGuard() if own else guard
        log = runs.MetricsLog(self.out)
        # the step's numbers stay on the device (0-d tensors) until a step that logs, checkpoints or ends reads
        # them all back at once: one host sync per log line on a GPU instead of several per step
        pending, every_step = [], self.device == "cpu" or callback is not None
        try:
            with guard if own else contextlib.nullcontext():
                if guard.requested:                 # stopped while the run was being set up
                    raise KeyboardInterrupt
                batches = _batches_forever(loader)
                while step < self.total:
                    x, y = _x_y(next(batches))
                    in_step = True
                    logs = model.train_step(x, y, optimizers)
                    in_step = False
                    step += 1
                    pending.append((step, logs))
                    self._end_if_out_of_time(step, reporter)
                    if every_step or guard.requested or self._reads_back(step):
                        failure, logs = _read_back(pending, self.window)
                        if failure is not None:
                            break
                    self.after_step(step, log)
                    reporter.step(step, _epoch_of(loader), self.last_logs)
                    if callback is not None:
                        callback(step, logs)
                    if guard.requested:
                        raise KeyboardInterrupt
        except KeyboardInterrupt:
            reporter.close()
            log.close()
            _read_back(pending, self.window)        # the checkpoint's window holds every finished step
            raise self.interrupted(step, in_step, guard.signum) from None
        finally:
            reporter.close()
            log.close()
        if failure is not None:
            raise self.nonfinite(*failure)
        self.finish(step)
        return step

    def _end_if_out_of_time(self, step, reporter):
        seconds = self.settings.seconds
        if seconds is not None and step < self.total and self.elapsed() >= seconds:
            self.total = reporter.total = step              # out of time: this step is the last

    def _reads_back(self, step):
        """Whether this step's numbers are needed on the host now: it logs, checkpoints or ends the run."""
        return step == self.total or not (step % self.every["log"] and step % self.every["checkpoint"])

    def elapsed(self):
        return self.elapsed0 + time.perf_counter() - self.t0

    # --- periodic work ------------------------------------------------------------------------------------
    def after_step(self, step, log):
        e = self.every
        last = step == self.total
        if step % e["log"] == 0 or last:
            # a session's last line off the log schedule leaves the window running (a resume drops that line
            # and continues the window), so that a resumed run logs exactly what an uninterrupted one does
            self.last_logs = self.window.means(reset=step % e["log"] == 0)
            rec = {"step": step, "epoch": round(_epoch_of(self.loader), 4), "time": round(self.elapsed(), 3)}
            rec.update(self.last_logs)
            if step % e["eval"] == 0 or last:
                self.last_heldout = self.heldout_numbers()
                rec.update(self.last_heldout)
            log.write(rec)
        if self.settings.pictures and step % e["sample"] == 0 and not last:
            self.draw("samples", step)
            if time.perf_counter() - self.curves_drawn > 60:    # about a second each: now and then
                self.draw("curves", step)
                self.curves_drawn = time.perf_counter()
        if step % e["checkpoint"] == 0 and not last:
            self.checkpoint(step)

    def finish(self, step):
        self.checkpoint(step)
        if self.settings.pictures:
            for what in ("samples", "curves", "reconstructions", "interpolations", "latent"):
                self.draw(what, step)

    def heldout_numbers(self):
        """The numbers of a metrics line's "*_heldout" keys (the model's own, see
        :func:`tinygen.evaluation.heldout_means`, on ``eval_size`` held-out samples) and, on the 2-D mixtures,
        VEEGAN's mode coverage of 2,500 samples."""
        out, s = {}, self.settings
        with runs.isolated_rng(self.device, s.seed + 2), self.model.evaluating():
            if s.held is not None:
                n = s.eval_size
                res = evaluation.heldout_means(self.model, s.held.x[:n], None if s.held.y is None else s.held.y[:n])
                out.update({f"{k}_heldout": v for k, v in res.items()})
            if s.data.is_mixture:
                out.update(evaluation.mode_coverage(self.model, s.data.name))
        return out

    def draw(self, what, step):
        """One of the run's pictures (:func:`tinygen.figures.draw`); a failure is a warning, once per kind."""
        try:
            with runs.isolated_rng(self.device, self.settings.seed + 1), self.model.evaluating():
                figures.draw(what, self.model, self.out, step, self.settings.data, self.settings.held)
        except Exception as e:  # a picture must never cost the run
            if what not in self.warned:
                self.warned.add(what)
                print(f"tinygen: could not draw {what} at step {step}: {type(e).__name__}: {e}", file=sys.stderr)

    def checkpoint(self, step):
        bad = _nonfinite_param(self.model)
        if bad is not None:
            raise NonFiniteLossError(f"training stopped at step {step}: the parameter {bad!r} became NaN or "
                                     f"infinite (the checkpoint of step {self.checkpoint_step} is kept)", step)
        runs.save_checkpoint(self.out, model=self.model, optimizers=self.optimizers, loader=self.loader,
                             step=step, epoch=self.loader.state_dict()["epoch"], device=self.device,
                             extra={"window": self.window.state(), "elapsed": self.elapsed()})
        self.checkpoint_step = step

    # --- endings ------------------------------------------------------------------------------------------
    def interrupted(self, step, in_step, signum=signal.SIGINT):
        ckpt = self.out / runs.CHECKPOINT
        if in_step:
            return TrainingInterrupted(f"interrupted during step {step + 1}: the checkpoint of step "
                                       f"{self.checkpoint_step} in {ckpt} is kept; resume to continue from it",
                                       self.checkpoint_step, ckpt, False, signum)
        self.checkpoint(step)
        if self.settings.pictures:
            self.draw("curves", step)
        return TrainingInterrupted(f"interrupted at step {step}: checkpoint saved in {ckpt}; resume to continue",
                                   step, ckpt, True, signum)

    def nonfinite(self, step, key, value):
        op = self.find_op(step)
        where = f" (detect_anomaly traced it to {op})" if op else ""
        return NonFiniteLossError(f"training stopped at step {step}: the loss {key!r} is {value}{where}; the "
                                  f"checkpoint of step {self.checkpoint_step} is kept (try a smaller lr)",
                                  step, key, op)

    def find_op(self, step):
        """Replay from the last checkpoint to ``step`` and run that step under detect_anomaly."""
        if self.checkpoint_step is None or step - self.checkpoint_step > 5000:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)    # NumPy's overflow warnings: we know
                self._replay(step)
        except AnomalyError as e:
            text = str(e).strip().splitlines()[0]
            return re.sub(r" \(called at <[^>]*>:\d+( in [^)]*)?\)", "", text)   # no location outside a file
        except Exception:  # the hunt is a courtesy: never hide the NaN message behind another error
            return None
        return None

    def _replay(self, step):
        state = runs.load_checkpoint(self.out)
        loader = DataLoader(*self.loader.arrays, batch_size=self.loader.batch_size, shuffle=True, drop_last=True,
                            device=self.device)
        runs.restore_checkpoint(state, model=self.model, optimizers=self.optimizers, loader=loader)
        batches = _batches_forever(loader)
        for s in range(int(state["step"]) + 1, step + 1):
            x, y = _x_y(next(batches))
            if s < step:
                self.model.train_step(x, y, self.optimizers)
                continue
            with detect_anomaly():
                self.model.train_step(x, y, self.optimizers)

