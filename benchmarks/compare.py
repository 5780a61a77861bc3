"""tinygen against PyTorch (CPU), MyGrad, HIPS autograd and Chainer on the four workloads: ms per training step,
the ratio to PyTorch and the GEMM lower bound, at 2 threads, at 1 thread and on a busy machine.

    python benchmarks/compare.py [--modes 2 1 load] [--rounds 7] [--solo-rounds 3] [--min-time 2]
                                 [--workloads vae_mlp gan_mlp wgan_mlp dcgan_28]
                                 [--frameworks tinygen torch mygrad autograd chainer]
                                 [--chainer-python /tmp/chainer-venv/bin/python] [--json results.json]

How it measures (the final table is only trusted from an idle machine: the header says how busy it was):

* **One process per framework and round.** Each round of each framework is a fresh bench_worker.py process
  that builds the workload from the SAME weights, data and noise (bench_spec.make_arrays, through an .npz
  file), checks it, warms up for ``--warmup`` s, times steps for at least ``--min-time`` s and exits before the
  next one starts: no other framework's threads exist, let alone spin, while one is timed (OpenBLAS's threads
  busy-wait for a while after each call, which is how the old harness, with its workers alive side by side
  and 10-step rounds, slowed whichever framework came next). The worker also measures how many cores the
  REST of the machine kept busy during its timing (/proc/stat): the ``other`` column, ~0 when nothing ran.
* **Interleaved rounds**: A B C, then C B A, ...; a framework's value is the median over rounds of its mean
  ms/step; the ratios are medians of per-round ratios (adjacent rounds share the machine's slow phases).
* **Self-check**: after the interleaved rounds, ``--solo-rounds`` rounds of each framework alone, back to back;
  the interleaved median must be within 10% of the solo one (else SELF-CHECK FAILED, exit status 2).
* **Modes** (rows of the table): ``2`` and ``1``: every framework at 2 threads / 1 thread (BLAS, OpenMP,
  torch.set_num_threads); ``load``: every framework at its DEFAULT threads (as a user runs it; tinygen's
  automatic policy) while two CPU-bound processes that this script starts keep the cores busy.
* **Correctness first**: every worker runs ``--check-steps`` steps before any timing; the first-step losses
  must agree with PyTorch's (same weights) to 1e-4 relative and the loss must decrease, else FAILED (exit 1).
* ``GEMM bound``: the step's GEMM FLOPs (bench_spec.gemms) over NumPy's best float32 GEMM rate at the mode's
  thread count (roofline.py, measured first, in its own process): no framework doing those GEMMs is faster.
* ``peak MB``: the worker's peak RSS above its value after the imports and data loading.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import machine  # noqa: E402
from bench_spec import BATCH, WORKLOADS, make_arrays  # noqa: E402

FRAMEWORKS = ("tinygen", "torch", "mygrad", "autograd", "chainer")
LIBRARY = {"tinygen": None, "torch": "torch", "mygrad": "mygrad", "autograd": "autograd", "chainer": "chainer"}
LABEL = {"tinygen": "tinygen", "torch": "PyTorch", "mygrad": "MyGrad", "autograd": "autograd", "chainer": "Chainer"}
MODES = {"2": ("2", 0, "2 threads"), "1": ("1", 0, "1 thread"),
         "load": ("default", 2, "default threads, 2 busy processes")}     # name: (--threads, load, label)
RTOL = 1e-4
SELF_CHECK = 0.10       # the interleaved median within 10% of the solo one
IDLE_OTHER = 0.25       # an idle-mode round with more cores busy elsewhere is flagged


def _commit():
    """The git commit of the tree being measured, '+changes' if the engine or these benchmarks differ from it."""
    root = os.path.dirname(HERE)
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        paths = ["tinygen/*.py", "tinygen/ops", "tinygen/nn", "tinygen/backend", "benchmarks/*.py"]
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


def run_round(fw, workload, npz, threads, args):
    """One worker process, waited for: its JSON result, or RuntimeError with its last line of stderr."""
    cmd = [args.python[fw], os.path.join(HERE, "bench_worker.py"), fw, workload, npz, "--threads", threads,
           "--check-steps", str(args.check_steps), "--warmup", str(args.warmup), "--min-time", str(args.min_time)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0 or not p.stdout.strip():
        lines = [s.strip() for s in p.stderr.splitlines() if s.strip()]
        raise RuntimeError(lines[-1] if lines else f"worker exited with status {p.returncode}")
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["ms"] = 1e3 * sum(r["times"]) / len(r["times"])
    return r


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-30)


def bench(mode, workload, frameworks, args, tmp, bound_ms):
    """Interleaved rounds (and the solo self-check on an idle mode) of one workload in one mode."""
    threads, load, _ = MODES[mode]
    npz = os.path.join(tmp, f"{workload}.npz")
    if not os.path.exists(npz):
        np.savez(npz, **make_arrays(workload, seed=args.seed))
    rounds, skipped = {fw: [] for fw in frameworks}, {}
    order = list(frameworks)
    for r in range(args.rounds):
        for fw in (order if r % 2 == 0 else order[::-1]):
            if fw in skipped:
                continue
            try:
                rounds[fw].append(run_round(fw, workload, npz, threads, args))
            except RuntimeError as e:
                skipped[fw] = str(e)
    rounds = {fw: rs for fw, rs in rounds.items() if rs and fw not in skipped}
    solo = {}
    if not load and args.solo_rounds:
        for fw in rounds:
            solo[fw] = [run_round(fw, workload, npz, threads, args)["ms"] for _ in range(args.solo_rounds)]
    res = {"skipped": skipped, "bound_ms": bound_ms, "frameworks": {}}
    ref = rounds.get("torch")
    for fw, rs in rounds.items():
        ms = [r["ms"] for r in rs]
        first = rs[0]
        row = {"rounds_ms": ms, "median": statistics.median(ms), "min": min(ms), "max": max(ms),
               "steps_per_round": statistics.median(len(r["times"]) for r in rs),
               "other_cores": max((r["other_cores"] or 0.0) for r in rs),
               "peak_mb": max(r["peak_mb"] for r in rs), "first": first["first"], "curve": first["curve"],
               "dtype": first["dtype"], "version": first["version"],
               "decreased": first["curve"][-1] < first["curve"][0],
               "deterministic": all(r["first"] == first["first"] for r in rs)}
        if ref is not None:
            row["vs_torch"] = statistics.median(r["ms"] / t["ms"] for r, t in zip(rs, ref))
            row["first_rel"] = max(_rel(a, b) for a, b in zip(first["first"], ref[0]["first"]))
        if fw in solo:
            row["solo_median"] = statistics.median(solo[fw])
            row["self_check"] = abs(row["median"] / row["solo_median"] - 1.0) <= SELF_CHECK
        if bound_ms:
            row["x_bound"] = row["median"] / bound_ms
        res["frameworks"][fw] = row
    return res


def _f(v, fmt="{:.2f}"):
    return "-" if v is None else fmt.format(v)


def summary_table(results, modes, workloads, frameworks):
    """The issue's table: one row per workload and mode."""
    others = [fw for fw in frameworks if fw not in ("tinygen", "torch")]
    head = ["workload", "threads", "tinygen ms", "PyTorch ms", "tinygen/PyTorch"] + \
        [f"{LABEL[fw]}/PyTorch" for fw in others] + ["GEMM bound ms", "tinygen x bound"]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + " |"]
    for w in workloads:
        for m in modes:
            res = results[m][w]
            fws = res["frameworks"]
            tg, pt = fws.get("tinygen", {}), fws.get("torch", {})
            cells = [w, MODES[m][2], _f(tg.get("median")), _f(pt.get("median")), _f(tg.get("vs_torch"))]
            cells += [_f(fws.get(fw, {}).get("vs_torch")) for fw in others]
            cells += [_f(res["bound_ms"]), _f(tg.get("x_bound"))]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_details(mode, workload, res):
    print(f"\n{workload} (batch {BATCH[workload]}, float32), {MODES[mode][2]}; GEMM bound {_f(res['bound_ms'])} ms")
    print(f"  {'framework':<9} {'median':>8} {'min':>8} {'max':>8} {'solo':>8} {'vs torch':>9} {'x bound':>8} "
          f"{'steps':>6} {'other':>6} {'peak MB':>8}  {'first loss':>12} {'rel. diff':>9}  check")
    for fw, row in res["frameworks"].items():
        checks = ["loss decreases" if row["decreased"] else "LOSS DID NOT DECREASE"]
        if row["dtype"] not in ("float32", "torch.float32"):
            checks.append(f"loss is {row['dtype']}")
        if not row["deterministic"]:
            checks.append("first losses differ between rounds")
        if fw == "tinygen" and row.get("first_rel", 0.0) > RTOL:
            checks.append(f"FAILED: first-step losses differ from torch's by more than {RTOL:g}")
        if "self_check" in row:
            checks.append("self-check ok" if row["self_check"] else
                          f"SELF-CHECK FAILED (interleaved/solo {row['median'] / row['solo_median']:.2f})")
        if not MODES[mode][1] and row["other_cores"] > IDLE_OTHER:
            checks.append(f"BUSY: {row['other_cores']:.2f} cores used elsewhere during a round")
        rel = _f(row.get("first_rel") if fw != "torch" else None, "{:.1e}")
        print(f"  {fw:<9} {row['median']:8.2f} {row['min']:8.2f} {row['max']:8.2f} {_f(row.get('solo_median')):>8} "
              f"{_f(row.get('vs_torch')):>9} {_f(row.get('x_bound')):>8} {row['steps_per_round']:>6.0f} "
              f"{row['other_cores']:6.2f} {row['peak_mb']:8.1f}  {row['first'][0]:12.6g} {rel:>9}  "
              f"{', '.join(checks)}")
    for fw, why in res["skipped"].items():
        print(f"  {fw:<9} not run: {why}")


def roofline(threads, workloads):
    """roofline.py's numbers at ``threads`` BLAS threads, in a fresh process."""
    env = dict(os.environ, **{v: str(threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                         "MKL_NUM_THREADS")})
    out = subprocess.run([sys.executable, os.path.join(HERE, "roofline.py"), "--json", "--workloads", *workloads],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES,
                    help="rows: 2 threads, 1 thread, default threads under load (default: all three)")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    ap.add_argument("--solo-rounds", type=int, default=3, help="rounds of each framework alone (self-check)")
    ap.add_argument("--min-time", type=float, default=2.0, help="timed seconds per round at least (default 2)")
    ap.add_argument("--warmup", type=float, default=1.0, help="untimed seconds per round after the check")
    ap.add_argument("--check-steps", type=int, default=10, help="untimed steps first: the correctness check")
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    ap.add_argument("--frameworks", nargs="+", default=list(FRAMEWORKS), choices=FRAMEWORKS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--wait-idle", type=float, default=300.0, metavar="S",
                    help="before the run, and after it, wait up to S seconds for the 1-minute load average to fall "
                         "below 0.5 (default 300; 0: do not wait): the 'after' value then shows whether anything else "
                         "kept the machine busy")
    ap.add_argument("--no-roofline", action="store_true", help="skip measuring the GEMM rates")
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
    load0, waited0 = machine.wait_until_idle(args.wait_idle)
    info = machine.describe()
    print(f"{info['cpu']}, {info['cores']} cores, flags {' '.join(info['flags']) or '-'}; Python {info['python']}, "
          f"NumPy {info['numpy']} with {info['blas']}")
    print(f"command: python benchmarks/compare.py {' '.join(argv if argv is not None else sys.argv[1:])}"
          f"   (tinygen at {_commit()})")
    print(f"one process per framework and round; {args.rounds} interleaved rounds of >= {args.min_time:g} s after "
          f"{args.check_steps} check steps and {args.warmup:g} s of warm-up; {args.solo_rounds} solo rounds each "
          f"(self-check, idle modes); ms/step = median over rounds; ratios = medians of per-round ratios")
    print(f"load average (1 min) before: {load0} (after waiting {waited0:.0f} s)" + (" -- ABOVE 0.5: the machine is not idle, numbers are noisy"
                                                     if load0 is not None and load0 > 0.5 else ""))
    if missing:
        print(f"not installed: {', '.join(missing)}" + (" (Chainer needs NumPy < 2: give --chainer-python, see "
                                                          "workloads_chainer.py)" if "chainer" in missing else ""))
    roofs = {}
    if not args.no_roofline:
        for t in sorted({"1" if m == "1" else str(info["cores"]) for m in args.modes}):
            roofs[t] = roofline(t, args.workloads)
            print(f"GEMM rate at {t} thread(s): {roofs[t]['best'] / 1e9:.1f} GFLOP/s (NumPy float32 matmul, best "
                  f"over square and the workloads' shapes; 1024^3: {roofs[t]['rates']['1024x1024x1024'] / 1e9:.1f})")
    results = {"machine": info, "args": {k: v for k, v in vars(args).items()}, "modes": {}}
    failed = self_failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for m in args.modes:
            threads, load, label = MODES[m]
            roof = roofs.get("1" if m == "1" else str(info["cores"]))
            results["modes"][m] = {}
            with machine.background_load(load) if load else contextlib.nullcontext():
                for w in args.workloads:
                    res = bench(m, w, frameworks, args, tmp, roof["rows"][w]["bound_ms"] if roof else None)
                    results["modes"][m][w] = res
                    print_details(m, w, res)
                    sys.stdout.flush()
                    tg = res["frameworks"].get("tinygen")
                    failed |= tg is not None and (tg.get("first_rel", 0.0) > RTOL or not tg["decreased"])
                    self_failed |= any(not r.get("self_check", True) for r in res["frameworks"].values())
    load1, waited1 = machine.wait_until_idle(args.wait_idle)
    results["load_average"] = [load0, load1]
    results["waited_for_idle"] = [waited0, waited1]
    print(f"\nload average (1 min) before {load0}, after {load1} ({waited1:.0f} s after the last round)"
          + (" -- ABOVE 0.5: not an idle-machine measurement" if max(load0 or 0, load1 or 0) > 0.5 else "")
          + (" (the 'load' mode's own background processes raise the 'after' value; give --wait-idle time to decay)"
             if "load" in args.modes and (load1 or 0) > 0.5 else ""))
    print()
    print(summary_table(results["modes"], args.modes, args.workloads, frameworks))
    versions = {fw: r["frameworks"][fw]["version"] for mr in results["modes"].values() for r in mr.values()
                for fw in r["frameworks"]}
    print("\n" + "; ".join(f"{fw} {v}" for fw, v in versions.items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if failed:
        print("FAILED: tinygen's first-step losses differ from PyTorch's, or its loss did not decrease")
    return 1 if failed else 2 if self_failed else 0


if __name__ == "__main__":
    sys.exit(main())
