"""One framework running one workload for one round, in its own process (compare.py starts one per round).

    python benchmarks/bench_worker.py FRAMEWORK WORKLOAD ARRAYS.npz [--threads T|default] [--check-steps N]
                                      [--warmup 1.0] [--min-time 2.0] [--min-steps 5]

It builds the workload from the arrays, runs ``N`` steps on the fixed batch (the correctness check), keeps
stepping until ``--warmup`` seconds have passed (thread pools, caches and malloc settle), then times steps
until both ``--min-time`` seconds and ``--min-steps`` steps are reached, and prints ONE JSON line: the first
step's losses, the check curve, the step times, how many cores the rest of the machine kept busy meanwhile
(``other_cores``, from /proc/stat: ~0 when nothing else ran), and the peak RSS above the post-import
baseline. Then it exits, so that its threads (OpenBLAS's spin for a while after each call) are gone before the
next framework's round starts.

``--threads T`` sets the BLAS / OpenMP / PyTorch threads (environment variables before anything is
imported, and each framework's own setting); ``--threads default`` leaves every framework at its default,
as a user gets it (tinygen: its automatic thread policy).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _rss_mb():
    """This process's peak resident set size in MB. On Linux VmHWM from /proc/self/status: getrusage's
    ru_maxrss would do, but it survives fork + exec, so a worker would inherit its parent's peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # Linux: kilobytes


def _float(x):
    return x.item() if hasattr(x, "item") else float(x)   # .item(): torch warns on float() of a graph tensor


def _dtype(x):
    return str(getattr(x, "dtype", type(x).__name__))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("framework")
    ap.add_argument("workload")
    ap.add_argument("arrays")
    ap.add_argument("--threads", default="2", help="BLAS / OpenMP / PyTorch threads, or 'default' (default 2)")
    ap.add_argument("--check-steps", type=int, default=10)
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds of untimed steps after the check")
    ap.add_argument("--min-time", type=float, default=2.0, help="timed seconds at least")
    ap.add_argument("--min-steps", type=int, default=5, help="timed steps at least")
    args = ap.parse_args(argv)
    if args.threads != "default":
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):   # before NumPy is imported
            os.environ[var] = args.threads
    os.environ["TINYGEN_BENCH_THREADS"] = args.threads     # the adapters' own thread settings read it
    import numpy as np
    from machine import BusyMeter
    with np.load(args.arrays) as f:
        arrays = {k: f[k] for k in f.files}
    mod = importlib.import_module(f"workloads_{args.framework}")
    if args.workload not in getattr(mod, "SUPPORTED", (args.workload,)):
        sys.exit(f"{args.framework} cannot run {args.workload}")
    baseline = _rss_mb()
    step = mod.build(args.workload, arrays)
    losses = step()
    first = [_float(v) for v in losses]
    curve = [first[0]]
    for _ in range(args.check_steps - 1):
        curve.append(_float(step()[0]))
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < args.warmup:
        step()
    times = []
    with BusyMeter() as busy:
        t0 = time.perf_counter()
        while len(times) < args.min_steps or time.perf_counter() - t0 < args.min_time:
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
    print(json.dumps({"first": first, "curve": curve, "dtype": _dtype(losses[0]), "version": mod.version(),
                      "times": times, "other_cores": busy.other_cores, "own_cores": busy.own_cores,
                      "peak_mb": _rss_mb() - baseline}), flush=True)


if __name__ == "__main__":
    main()
