"""Running several trainings side by side (``tinygen demo``, ``tinygen compare``).

Each job runs in its own process with ONE BLAS thread: these models' matrices are small, so a second thread
per process gains nothing, and threads competing for two cores cost a lot. Jobs are submitted one at a time,
so that after a stop nothing new starts.

Stopping: the workers ignore SIGINT (a terminal's Ctrl-C reaches every process of its group), and the parent
turns a Ctrl-C or a SIGTERM it receives into a SIGTERM to each worker: a training stops after its current step
with a checkpoint (a second signal: at once), a job doing anything else ends with :class:`Stopped`, an idle
worker waits for the pool to end it. No worker dies of the signal: a dead worker breaks the pool. The parent waits for every
worker to end, so that none is left behind, then raises :class:`Stopped` (a ``KeyboardInterrupt``) with what
stopped and which signal stopped it.
"""
from __future__ import annotations

import os
import signal
import sys
import threading

__all__ = ["run_jobs", "Stopped"]

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class Stopped(KeyboardInterrupt):
    """The jobs were stopped by a signal (``signum``) before all of them finished."""

    def __init__(self, message="", signum=signal.SIGINT):
        super().__init__(message)
        self.signum = int(signum)


_in_job = False      # in a worker: whether it is running a job now (see _stop_outside_training)


def _run_one(fn, job, *args):
    """``fn(job, *args)`` in a worker, marked as a running job for the SIGTERM handler."""
    global _in_job
    _in_job = True
    try:
        return fn(job, *args)
    finally:
        _in_job = False


def _stop_outside_training(signum, frame):
    """A worker's SIGTERM while it is not training. In a job (setting a run up, evaluating, drawing): the job
    ends with :class:`Stopped`. Idle, waiting for a job: nothing to stop; the pool ends the worker when it
    shuts down. Either way the process lives on: killed by the signal's default action it would break the
    pool, and the parent would lose what the other workers report. Inside ``train()`` its stop guard takes
    SIGTERM over (``replaceable``) and stops the training after its step, with a checkpoint."""
    if _in_job:
        raise Stopped("stopped outside its training, no checkpoint of this stop", signum)


_stop_outside_training.replaceable = True


def _worker_init():
    """A worker ignores Ctrl-C: the parent forwards every stop to it as one SIGTERM (see the module doc)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _stop_outside_training)


class _Forwarder:
    """In the parent, while jobs run: SIGINT / SIGTERM are sent on to the workers as SIGTERM; the first one
    also raises KeyboardInterrupt here (to stop submitting and start waiting), later ones only forward."""

    def __init__(self):
        self.signum, self.old = None, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
                if signum is not None:
                    self.old[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        _stop_workers()
        if self.signum is None:
            self.signum = signum
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        for signum, old in self.old.items():
            signal.signal(signum, old)
        return False


def _stop_workers():
    """SIGTERM to every worker process of this one (a training saves a checkpoint and stops)."""
    import multiprocessing as mp
    for p in mp.active_children():
        try:
            os.kill(p.pid, getattr(signal, "SIGTERM", signal.SIGINT))
        except OSError:
            pass


def run_jobs(jobs, fn, workers, on_result, args=(), label="tinygen"):
    """``on_result(job, fn(job, *args))`` for every job, on ``workers`` processes (in this process if 1).

    ``fn`` must be importable (a module-level function) and its results picklable. A stop (Ctrl-C, SIGTERM,
    or a KeyboardInterrupt out of a job) stops the whole batch: running jobs finish their step and save,
    pending ones never start, and :class:`Stopped` is raised once every worker has ended."""
    jobs = list(jobs)
    if workers <= 1:
        for job in jobs:
            on_result(job, fn(job, *args))
        return
    import concurrent.futures as cf
    import multiprocessing as mp
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update({k: "1" for k in _THREAD_VARS})    # inherited by the workers, set before numpy loads
    pending, running, stopped = list(jobs), {}, []
    try:
        with _Forwarder() as forwarder, cf.ProcessPoolExecutor(
                max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_worker_init) as pool:
            try:
                _submit_and_wait(pool, fn, args, pending, running, stopped, workers, on_result)
            except KeyboardInterrupt as e:
                pending.clear()
                if forwarder.signum is None:          # a job stopped by itself: stop the others too
                    _stop_workers()
                print(f"{label}: stopping: waiting for the running trainings to save a checkpoint ...",
                      file=sys.stderr, flush=True)
                _wait_for_the_rest(running, stopped)
                signum = forwarder.signum or getattr(e, "signum", signal.SIGINT)
                raise Stopped("; ".join(stopped), signum) from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _submit_and_wait(pool, fn, args, pending, running, stopped, workers, on_result):
    import concurrent.futures as cf
    signum = None
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            running[pool.submit(_run_one, fn, job, *args)] = job
        done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
        for f in done:
            job = running.pop(f)
            try:
                r = f.result()
            except KeyboardInterrupt as e:          # TrainingInterrupted, from the worker
                stopped.append(f"{job.get('name', job)} ({e})")
                signum = signum or getattr(e, "signum", signal.SIGINT)
                pending.clear()
                continue
            on_result(job, r)
    if stopped:
        raise Stopped("; ".join(stopped), signum)


def _wait_for_the_rest(running, stopped):
    """Every running job's end (the workers stop after their current step); none is left behind."""
    import concurrent.futures as cf
    for f in cf.as_completed(running):
        try:
            f.result()
        except KeyboardInterrupt as e:
            stopped.append(f"{running[f].get('name', running[f])} ({e})")
        except Exception:  # a worker that was not training ended on the SIGTERM: the pool reports it broken
            pass
