"""A/B in one process: tinygen at a base commit against the working tree, on a benchmark workload.

    python benchmarks/ab.py WORKLOAD [--base 3eaa3f2] [--steps 3] [--rounds 10] [--threads 1] [--wall]

The base commit's ``tinygen`` is extracted with ``git archive`` and imported as ``tinygen_base`` beside the
working tree's; both build the workload from the same arrays (workloads_tinygen.py) and run alternating
rounds (A B, B A, ...). Prints each one's median ms/step and the median of the per-round ratios new/base.
CPU time by default: on a busy machine it is far steadier than wall time (with one thread, which is how
this is meant to be run there; ``--wall`` for an idle machine and several threads).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _adapter(pkg):
    """workloads_tinygen.py with ``tinygen`` replaced by ``pkg``."""
    path = os.path.join(HERE, "workloads_tinygen.py")
    with open(path) as f:
        src = f.read().replace("import tinygen as tg", f"import {pkg} as tg").replace(
            "import tinygen.functional as F", f"import {pkg}.functional as F").replace(
            "from tinygen import nn, optim", f"from {pkg} import nn, optim")
    if pkg != "tinygen":                  # a base without set_num_threads: the environment sets the threads
        src = src.replace("tg.set_num_threads(int(threads))", "getattr(tg, 'set_num_threads', int)(int(threads))")
    mod = types.ModuleType(f"workloads_{pkg}")
    mod.__file__ = path
    exec(compile(src, path, "exec"), mod.__dict__)
    return mod


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload")
    ap.add_argument("--base", default="3eaa3f2", help="the commit to compare against (default 3eaa3f2)")
    ap.add_argument("--steps", type=int, default=3, help="steps per round")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--threads", default="1")
    ap.add_argument("--wall", action="store_true", help="wall time instead of CPU time")
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = args.threads
    os.environ["TINYGEN_BENCH_THREADS"] = args.threads
    tmp = tempfile.mkdtemp(prefix="tinygen-ab-")
    archive = subprocess.run(["git", "archive", args.base, "tinygen"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
    os.rename(os.path.join(tmp, "tinygen"), os.path.join(tmp, "tinygen_base"))
    sys.path[:0] = [tmp, HERE, ROOT]
    from bench_spec import make_arrays
    arrays = make_arrays(args.workload)
    a = _adapter("tinygen_base").build(args.workload, arrays)
    b = _adapter("tinygen").build(args.workload, arrays)
    for _ in range(3):
        a()
        b()
    clock = time.perf_counter if args.wall else time.process_time
    ra, rb = [], []
    for r in range(args.rounds):
        for step, out in ((a, ra), (b, rb)) if r % 2 == 0 else ((b, rb), (a, ra)):
            t = clock()
            for _ in range(args.steps):
                step()
            out.append((clock() - t) / args.steps * 1e3)
    print(f"{args.workload}: base {args.base} {statistics.median(ra):.2f} ms, new {statistics.median(rb):.2f} ms; "
          f"new/base {statistics.median(y / x for x, y in zip(ra, rb)):.3f} (median of {args.rounds} per-round "
          f"ratios, {args.steps} steps each, {args.threads} thread(s), {'wall' if args.wall else 'CPU'} time)")


if __name__ == "__main__":
    main()
