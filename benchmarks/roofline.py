"""The GEMM roofline of each workload: the step's matmul/conv FLOPs over NumPy's float32 GEMM rate.

    python benchmarks/roofline.py [--repeat 10] [--workloads vae_mlp gan_mlp ...] [--json]

(threads: OpenBLAS's default, one per core, or OPENBLAS_NUM_THREADS; compare.py runs it with its --threads)

* FLOPs per step are counted analytically (bench_spec.gemms: every forward and backward matrix product of
  the step, 2 m k n each; the im2col/col2im GEMM of each convolution counted the same way).
* The GEMM rate is NumPy's float32 ``matmul`` (OpenBLAS sgemm here, with its default threads: one per core)
  measured on square and on the workloads' own largest shapes; the best rate is the roofline's ceiling.
* ``bound`` = FLOPs / best rate: no framework that does the step's GEMMs can be faster on this machine.
* ``floor`` = the time of the step's GEMMs run back to back at their real shapes in NumPy (small GEMMs run
  below the peak rate): what a NumPy framework would need if it had no other cost at all.

compare.py folds ``bound`` into its table as the "x bound" column (a framework's ms/step over the bound).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_spec import WORKLOADS, gemm_flops, gemms  # noqa: E402

SQUARE = (256, 512, 1024)


def _best_time(fn, repeat):
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def sgemm_rate(m, k, n, repeat=10, rng=None):
    """Best-of-``repeat`` float32 GEMM rate (FLOP/s) of an (m, k) @ (k, n) product into a preallocated output."""
    rng = rng or np.random.default_rng(0)
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((k, n), dtype=np.float32)
    c = np.empty((m, n), np.float32)
    return 2.0 * m * k * n / _best_time(lambda: np.matmul(a, b, out=c), repeat)


def measure_rates(workloads=WORKLOADS, repeat=10):
    """{label: FLOP/s} for square sizes and for the largest GEMM of each workload."""
    rates = {f"{s}x{s}x{s}": sgemm_rate(s, s, s, repeat) for s in SQUARE}
    for w in workloads:
        m, k, n = max(gemms(w), key=lambda g: g[0] * g[1] * g[2])
        rates[f"{m}x{k}x{n} ({w})"] = sgemm_rate(m, k, n, repeat)
    return rates


def gemm_floor(workload, repeat=10):
    """Seconds for the step's GEMMs at their own shapes, back to back (best of ``repeat``)."""
    rng = np.random.default_rng(0)
    ops = []
    for m, k, n in gemms(workload):
        ops.append((rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32),
                    np.empty((m, n), np.float32)))

    def run():
        for a, b, c in ops:
            np.matmul(a, b, out=c)
    return _best_time(run, repeat)


def roofline(workloads=WORKLOADS, repeat=10):
    """(rates, best rate, {workload: {"gflop", "bound_ms", "floor_ms"}})."""
    rates = measure_rates(workloads, repeat)
    best = max(rates.values())
    rows = {}
    for w in workloads:
        f = gemm_flops(w)
        rows[w] = {"gflop": f / 1e9, "bound_ms": f / best * 1e3, "floor_ms": gemm_floor(w, repeat) * 1e3}
    return rates, best, rows


def blas_info():
    """A one-line description of NumPy's BLAS (name, version, threads) from numpy.show_config's data."""
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        name = f"{cfg.get('name', '?')} {cfg.get('version', '')}".strip()
    except Exception:  # older NumPy: no dicts mode
        name = "unknown BLAS"
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or \
        f"default ({os.cpu_count()} = cores)"
    return f"{name}, threads {threads}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    ap.add_argument("--json", action="store_true", help="print the numbers as one JSON line (for compare.py)")
    args = ap.parse_args(argv)
    rates, best, rows = roofline(args.workloads, args.repeat)
    if args.json:
        print(json.dumps({"rates": rates, "best": best, "rows": rows, "blas": blas_info()}))
        return
    print(f"NumPy {np.__version__}, {blas_info()}; float32 GEMM rate, best of {args.repeat}:")
    for label, r in rates.items():
        print(f"  {label:<28} {r / 1e9:7.1f} GFLOP/s")
    print(f"  ceiling used for the bound: {best / 1e9:.1f} GFLOP/s\n")
    print(f"{'workload':<10} {'GEMMs':>6} {'GFLOP/step':>11} {'bound ms':>9} {'floor ms':>9}")
    for w in args.workloads:
        r = rows[w]
        print(f"{w:<10} {len(gemms(w)):>6} {r['gflop']:>11.3f} {r['bound_ms']:>9.2f} {r['floor_ms']:>9.2f}")


if __name__ == "__main__":
    main()
