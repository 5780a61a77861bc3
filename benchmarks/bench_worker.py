"""One framework running one workload in its own process, driven by compare.py over stdin/stdout.

    python benchmarks/bench_worker.py FRAMEWORK WORKLOAD ARRAYS.npz [--check-steps N] [--threads T]

On start it builds the workload from the arrays, runs ``N`` steps on the fixed batch (the correctness check,
which is also the warm-up) and prints one JSON line: the first step's losses, the first and last value of the
step's first loss, the loss dtype, and the peak RSS after the imports (the baseline). Then, for each line
``run K`` on stdin, it times K steps and prints their durations; ``quit`` prints the peak RSS and exits.
Only one worker runs at a time: compare.py waits for each answer before it talks to the next worker.
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
    ap.add_argument("--check-steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2, help="BLAS / OpenMP / PyTorch threads (default 2)")
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):   # before NumPy is imported
        os.environ[var] = str(args.threads)
    import numpy as np
    with np.load(args.arrays) as f:
        arrays = {k: f[k] for k in f.files}
    mod = importlib.import_module(f"workloads_{args.framework}")
    baseline = _rss_mb()
    step = mod.build(args.workload, arrays)
    losses = step()
    first = [_float(v) for v in losses]
    curve = [first[0]]
    for _ in range(args.check_steps - 1):
        curve.append(_float(step()[0]))
    out = sys.stdout
    print(json.dumps({"first": first, "curve": curve, "dtype": _dtype(losses[0]), "version": mod.version(),
                      "baseline_mb": baseline}), file=out, flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "run":
            times = []
            for _ in range(int(cmd[1])):
                t0 = time.perf_counter()
                step()
                times.append(time.perf_counter() - t0)
            print(json.dumps({"times": times}), file=out, flush=True)
        elif cmd[0] == "quit":
            print(json.dumps({"peak_mb": _rss_mb()}), file=out, flush=True)
            return


if __name__ == "__main__":
    main()
