"""tinygen against PyTorch (CPU, 2 threads), MyGrad, HIPS autograd and Chainer on the four workloads: ms per training
step, the ratio to PyTorch, the GEMM roofline and the peak memory, in one table per workload.

    python benchmarks/compare.py [--rounds 9] [--steps 10] [--workloads vae_mlp gan_mlp wgan_mlp dcgan_28]
                                 [--frameworks tinygen torch mygrad autograd chainer] [--threads 2]
                                 [--chainer-python /tmp/chainer-venv/bin/python] [--json results.json]

How it measures (the machine may be shared: nothing here assumes it is quiet):

* Each framework runs each workload in its OWN process (bench_worker.py), built from the SAME weights, data
  and noise (bench_spec.make_arrays, passed through an .npz file). Frameworks that are not installed, or
  cannot build a workload (MyGrad and autograd have no transposed convolution), are listed and skipped.
* Correctness first: every worker runs ``--check-steps`` steps on the fixed batch before any timing (this is
  also the warm-up). The table says whether the step's first loss decreased over them, and how far each
  framework's first-step losses are from PyTorch's (they start from the same weights: tinygen must agree to
  1e-4 relative, else the run is marked FAILED and the exit status is 1).
* Timing: ``--rounds`` rounds; in each, every framework in turn (A B C, then C B A, ...) runs ``--steps``
  steps while the others wait, so only one process computes at any time and slow phases of a shared machine
  hit every framework alike. A round's value is its mean ms/step (garbage collection and all); the table
  gives the median, min and max over rounds, and the ratio to PyTorch as the median of the per-round ratios;
  ``tinygen/`` is tinygen's time over that row's framework's, likewise per round (below 1: tinygen is faster).
* ``x bound``: ms/step over the GEMM lower bound of roofline.py (the step's GEMM FLOPs over NumPy's best
  float32 GEMM rate on this machine).
* ``peak MB``: the worker's peak resident set size minus its value after the imports and data loading: the
  model, optimizer state, activations and BLAS buffers. (tracemalloc would miss the BLAS and PyTorch
  allocations, which do not go through Python's allocator. The peak is the kernel's VmHWM of the worker;
  ``getrusage().ru_maxrss`` would be the same number if it did not carry the parent's peak across fork+exec.)
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_spec import BATCH, WORKLOADS, make_arrays  # noqa: E402
import roofline as _roofline  # noqa: E402

FRAMEWORKS = ("tinygen", "torch", "mygrad", "autograd", "chainer")
LIBRARY = {"tinygen": None, "torch": "torch", "mygrad": "mygrad", "autograd": "autograd", "chainer": "chainer"}
RTOL = 1e-4


class Worker:
    """A bench_worker.py process: started, checked, then driven with ``run K`` lines."""

    def __init__(self, framework, workload, npz, check_steps, threads, errdir, python=sys.executable):
        self.framework = framework
        self.err_path = os.path.join(errdir, f"{framework}-{workload}.err")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen([python, os.path.join(HERE, "bench_worker.py"), framework, workload,
                                      npz, "--check-steps", str(check_steps), "--threads", str(threads)],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, text=True, bufsize=1)
        self.info = self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self.err.close()
            with open(self.err_path) as f:
                lines = [s.strip() for s in f if s.strip()]
            raise RuntimeError(lines[-1] if lines else f"worker exited with status {self.proc.returncode}")
        return json.loads(line)

    def run(self, steps):
        self.proc.stdin.write(f"run {steps}\n")
        self.proc.stdin.flush()
        return self._read()["times"]

    def close(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        peak = self._read()["peak_mb"]
        self.proc.wait()
        self.err.close()
        return peak


def machine():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "commit": _commit(),
            "blas": _roofline.blas_info().split(", threads")[0], "platform": platform.platform()}


def _commit():
    """The git commit of the tree being measured, '+changes' if the engine or these benchmarks differ from it."""
    root = os.path.dirname(HERE)
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        paths = ["tinygen/*.py", "tinygen/ops", "tinygen/nn", "benchmarks/compare.py", "benchmarks/roofline.py",
                 "benchmarks/bench_*.py", "benchmarks/workloads_*.py", "benchmarks/numpy_optim.py"]
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *paths], cwd=root,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _installed(framework, python):
    """Whether the framework imports, in the interpreter its worker will run in."""
    if LIBRARY[framework] is None:
        return True
    if python == sys.executable:
        return importlib.util.find_spec(LIBRARY[framework]) is not None
    try:
        return subprocess.run([python, "-c", f"import {LIBRARY[framework]}"], capture_output=True).returncode == 0
    except OSError:
        return False


def _load():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-30)


def bench_workload(workload, frameworks, args, tmp, bound_ms):
    npz = os.path.join(tmp, f"{workload}.npz")
    np.savez(npz, **make_arrays(workload, seed=args.seed))
    workers, skipped = {}, {}
    try:
        for fw in frameworks:
            try:
                workers[fw] = Worker(fw, workload, npz, args.check_steps, args.threads, tmp, args.python[fw])
            except RuntimeError as e:
                skipped[fw] = str(e)
        rounds = {fw: [] for fw in workers}
        order = list(workers)
        for r in range(args.rounds):
            for fw in (order if r % 2 == 0 else order[::-1]):
                times = workers[fw].run(args.steps)
                rounds[fw].append(1e3 * sum(times) / len(times))
        peaks = {fw: w.close() - w.info["baseline_mb"] for fw, w in workers.items()}
    finally:
        for w in workers.values():
            if w.proc.poll() is None:
                w.proc.kill()
    res = {"skipped": skipped, "bound_ms": bound_ms, "frameworks": {}}
    ref = rounds.get("torch")
    ref_first = workers["torch"].info["first"] if "torch" in workers else None
    for fw, ms in rounds.items():
        info = workers[fw].info
        row = {"rounds_ms": ms, "median": statistics.median(ms), "min": min(ms), "max": max(ms),
               "peak_mb": peaks[fw], "first": info["first"], "curve": info["curve"], "dtype": info["dtype"],
               "version": info["version"], "decreased": info["curve"][-1] < info["curve"][0]}
        if ref is not None:
            row["vs_torch"] = statistics.median(a / b for a, b in zip(ms, ref))
            row["first_rel"] = _rel(info["first"][0], ref_first[0])
            row["first_rel_all"] = max(_rel(a, b) for a, b in zip(info["first"], ref_first))
        if "tinygen" in rounds:
            row["tinygen_vs"] = statistics.median(a / b for a, b in zip(rounds["tinygen"], ms))
        if bound_ms:
            row["x_bound"] = row["median"] / bound_ms
        res["frameworks"][fw] = row
    return res


def print_table(workload, res, args, roof=None):
    rf = (roof or {}).get(workload)
    extra = f"; GEMMs {rf['gflop']:.3f} GFLOP/step, bound {rf['bound_ms']:.2f} ms, NumPy GEMM floor " \
            f"{rf['floor_ms']:.2f} ms" if rf else ""
    print(f"\n{workload} (batch {BATCH[workload]}, float32{extra})")
    print(f"  {'framework':<9} {'median':>8} {'min':>8} {'max':>8} {'vs torch':>9} {'tinygen/':>9} {'x bound':>8}"
          f" {'peak MB':>8}"
          f"  {'first loss':>12} {'rel. diff':>9}  check")
    for fw, row in res["frameworks"].items():
        vs = f"{row['vs_torch']:.2f}" if "vs_torch" in row else "-"
        xb = f"{row['x_bound']:.2f}" if "x_bound" in row else "-"
        tv = f"{row['tinygen_vs']:.2f}" if "tinygen_vs" in row else "-"
        rel = f"{row['first_rel']:.1e}" if "first_rel" in row and fw != "torch" else "-"
        checks = ["loss decreases" if row["decreased"] else "LOSS DID NOT DECREASE"]
        if row["dtype"] not in ("float32", "torch.float32"):
            checks.append(f"loss is {row['dtype']}")
        if fw == "tinygen" and row.get("first_rel", 0.0) > RTOL:
            checks.append(f"FAILED: first-step loss differs from torch's by more than {RTOL:g}")
        print(f"  {fw:<9} {row['median']:8.2f} {row['min']:8.2f} {row['max']:8.2f} {vs:>9} {tv:>9} {xb:>8} "
              f"{row['peak_mb']:8.1f}  {row['first'][0]:12.6g} {rel:>9}  {', '.join(checks)}")
    for fw, why in res["skipped"].items():
        print(f"  {fw:<9} not run: {why}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per framework per round (default 10)")
    ap.add_argument("--check-steps", type=int, default=10, help="untimed steps first: the check and warm-up")
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    ap.add_argument("--frameworks", nargs="+", default=list(FRAMEWORKS), choices=FRAMEWORKS)
    ap.add_argument("--threads", type=int, default=2,
                    help="threads of every framework (BLAS, OpenMP, torch.set_num_threads, tinygen's optimizer; "
                         "default 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-roofline", action="store_true", help="skip measuring the GEMM rate")
    ap.add_argument("--json", help="also write every number to this JSON file")
    ap.add_argument("--chainer-python", default=os.environ.get("TINYGEN_BENCH_CHAINER_PYTHON"),
                    help="the Python of a virtual environment with Chainer 7.8.1 and NumPy 1.26 (Chainer does not "
                         "install beside NumPy 2; see workloads_chainer.py); default $TINYGEN_BENCH_CHAINER_PYTHON")
    args = ap.parse_args(argv)
    args.python = {fw: sys.executable for fw in FRAMEWORKS}
    if args.chainer_python:
        args.python["chainer"] = args.chainer_python

    frameworks = [fw for fw in args.frameworks if _installed(fw, args.python[fw])]
    missing = [fw for fw in args.frameworks if fw not in frameworks]
    info = machine()
    load0 = _load()
    print(f"{info['cpu']}, {info['cores']} cores; Python {info['python']}, NumPy {info['numpy']} ({info['blas']})")
    print(f"command: python benchmarks/compare.py {' '.join(argv if argv is not None else sys.argv[1:])}"
          f"   (tinygen at {info['commit']})")
    print(f"{args.threads} thread(s) per framework; "
          f"{args.rounds} interleaved rounds x {args.steps} steps after {args.check_steps} check/warm-up steps; "
          f"ms/step over rounds; 'vs torch' = median of per-round ratios (and 'tinygen/' of tinygen to that row); peak MB = peak RSS above the "
          f"post-import baseline")
    if missing:
        print(f"not installed: {', '.join(missing)}" + (" (Chainer needs NumPy < 2: give --chainer-python, see "
                                                          "workloads_chainer.py)" if "chainer" in missing else ""))
    roof = None
    if not args.no_roofline:      # in a subprocess, so that NumPy's BLAS starts with --threads threads
        env = dict(os.environ, **{v: str(args.threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                                  "MKL_NUM_THREADS")})
        out = subprocess.run([sys.executable, os.path.join(HERE, "roofline.py"), "--json", "--workloads",
                              *args.workloads], env=env, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        roof = r["rows"]
        print(f"GEMM ceiling: {r['best'] / 1e9:.1f} GFLOP/s (NumPy float32 matmul, {args.threads} thread(s), best "
              f"of 10; roofline.py)")
    results = {"machine": info, "args": vars(args), "workloads": {}}
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for w in args.workloads:
            res = bench_workload(w, frameworks, args, tmp, roof[w]["bound_ms"] if roof else None)
            results["workloads"][w] = res
            print_table(w, res, args, roof)
            tg = res["frameworks"].get("tinygen")
            failed |= tg is not None and (tg.get("first_rel", 0.0) > RTOL or not tg["decreased"])
            sys.stdout.flush()
    load1 = _load()
    results["load_average"] = [load0, load1]
    print(f"load average (1 min) {load0} before, {load1} after: other processes on the machine; with more "
          f"runnable processes than cores, multi-threaded timings are not to be trusted")
    for fw in frameworks:
        v = next((r["frameworks"][fw]["version"] for r in results["workloads"].values()
                  if fw in r["frameworks"]), None)
        if v:
            print(f"{fw} {v}", end="; ")
    print()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
