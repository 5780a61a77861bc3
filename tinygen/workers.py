"""Running several trainings side by side (``tinygen demo``, ``tinygen compare``).

Each job runs in its own process with ONE BLAS thread: these models' matrices are small, so a second thread
per process gains nothing, and threads competing for two cores cost a lot. Jobs are submitted one at a time,
so that after Ctrl-C nothing new starts; the running ones stop after their current step with a checkpoint
(their training loop turns the interrupt into a checkpointed stop), and KeyboardInterrupt is raised here with
what stopped.
"""
from __future__ import annotations

import os
import signal
import sys

__all__ = ["run_jobs"]

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _worker_init():
    """A worker ignores Ctrl-C between jobs (a terminal sends it to every process of the group); during a job
    :func:`_call` turns it back on, so the training stops after its step and saves a checkpoint."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _call(fn, job, args):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return fn(job, *args)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_jobs(jobs, fn, workers, on_result, args=(), label="tinygen"):
    """``on_result(job, fn(job, *args))`` for every job, on ``workers`` processes (in this process if 1).

    ``fn`` must be importable (a module-level function) and its results picklable. A KeyboardInterrupt inside
    a job (Ctrl-C) stops the whole batch: running jobs finish their step and save, pending ones never start."""
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
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                    initializer=_worker_init) as pool:
            try:
                while pending or running:
                    while pending and len(running) < workers:
                        job = pending.pop(0)
                        running[pool.submit(_call, fn, job, args)] = job
                    done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                    for f in done:
                        job = running.pop(f)
                        try:
                            r = f.result()
                        except KeyboardInterrupt as e:          # TrainingInterrupted, from the worker
                            stopped.append(f"{job.get('name', job)} ({e})")
                            pending.clear()
                            continue
                        on_result(job, r)
                if stopped:
                    raise KeyboardInterrupt
            except KeyboardInterrupt:
                pending.clear()
                print(f"{label}: Ctrl-C: waiting for the running trainings to save a checkpoint ...",
                      file=sys.stderr, flush=True)
                for f in cf.as_completed(running):           # the workers stop after their current step
                    try:
                        f.result()
                    except KeyboardInterrupt as e:
                        stopped.append(f"{running[f].get('name', running[f])} ({e})")
                    except Exception:
                        pass
                raise KeyboardInterrupt("; ".join(stopped)) from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
