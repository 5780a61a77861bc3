"""conv2d / conv_transpose2d against PyTorch on the CPU: the four conv layers of the DCGAN on MNIST.

    python benchmarks/conv_micro.py [--runs 20] [--threads 2] [--batch 64] [--no-torch]

Each layer: forward + backward (gradients for the input, the weight and the bias) in float32 with a fixed
random upstream gradient, the median of ``--runs`` timed runs after one warm-up. tinygen and PyTorch runs are
interleaved so that a change in machine load hits both alike. PyTorch (an optional benchmark dependency)
runs with ``torch.set_num_threads(--threads)``; NumPy's BLAS uses its own default thread count (set
OPENBLAS_NUM_THREADS to pin it). "GF/s" is the layer's GEMM work (3 GEMMs of 2*O*C*kh*kw*N*OH*OW FLOPs:
forward, input gradient, weight gradient) over tinygen's median time.
"""
import argparse
import statistics
import time

import numpy as np

import tinygen as tg
from tinygen.ops.conv import conv2d, conv_transpose2d

# name, kind, C_in, C_out, input side; all k4 s2 p1 (DCGAN: 28 -> 14 -> 7 -> 14 -> 28)
LAYERS = [
    ("D conv 1->64    28->14", "conv", 1, 64, 28),
    ("D conv 64->128  14->7 ", "conv", 64, 128, 14),
    ("G convT 128->64  7->14", "convT", 128, 64, 7),
    ("G convT 64->1   14->28", "convT", 64, 1, 14),
]


def make_tinygen(kind, x, w, b, gy):
    tx, tw, tb = (tg.tensor(a, requires_grad=True) for a in (x, w, b))
    tgy = tg.tensor(gy)
    op = conv2d if kind == "conv" else conv_transpose2d

    def step():
        tx.grad = tw.grad = tb.grad = None
        op(tx, tw, tb, 2, 1).backward(tgy)
    return step


def make_torch(torch, kind, x, w, b, gy):
    import torch.nn.functional as F
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tgy = torch.tensor(gy)
    op = F.conv2d if kind == "conv" else F.conv_transpose2d

    def step():
        tx.grad = tw.grad = tb.grad = None
        op(tx, tw, tb, 2, 1).backward(tgy)
    return step


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    torch = None
    if not args.no_torch:
        try:
            import torch
            torch.set_num_threads(args.threads)
        except ImportError:
            print("(PyTorch is not installed: tinygen times only)")
    rng = np.random.default_rng(0)
    n = args.batch
    print(f"batch {n}, float32, forward + backward, median of {args.runs} runs"
          + (f"; torch {torch.__version__} with {args.threads} threads" if torch else ""))
    print(f"{'layer':<24} {'tinygen':>10} {'torch':>10} {'ratio':>7} {'GF/s':>7}")
    tot_t = tot_p = 0.0
    for name, kind, cin, cout, side in LAYERS:
        x = rng.standard_normal((n, cin, side, side), dtype=np.float32)
        if kind == "conv":
            w = rng.standard_normal((cout, cin, 4, 4), dtype=np.float32) * 0.05
            out_side = side // 2
        else:
            w = rng.standard_normal((cin, cout, 4, 4), dtype=np.float32) * 0.05
            out_side = side * 2
        b = rng.standard_normal(cout, dtype=np.float32)
        gy = rng.standard_normal((n, cout, out_side, out_side), dtype=np.float32)
        # the GEMM work: input positions x output channels x C*kh*kw, for the three products
        pos = n * (out_side if kind == "conv" else side) ** 2
        flops = 3 * 2 * pos * cin * cout * 16
        mine = make_tinygen(kind, x, w, b, gy)
        theirs = make_torch(torch, kind, x, w, b, gy) if torch else None
        mine()
        if theirs:
            theirs()
        tm, tp = [], []
        for _ in range(args.runs):
            tm.append(timed(mine))
            if theirs:
                tp.append(timed(theirs))
        m = statistics.median(tm)
        tot_t += m
        line = f"{name:<24} {m * 1e3:8.2f}ms"
        if theirs:
            p = statistics.median(tp)
            tot_p += p
            line += f" {p * 1e3:8.2f}ms {m / p:6.2f}x"
        else:
            line += f" {'-':>10} {'-':>7}"
        print(line + f" {flops / m / 1e9:7.1f}")
    line = f"{'all four':<24} {tot_t * 1e3:8.2f}ms"
    if torch:
        line += f" {tot_p * 1e3:8.2f}ms {tot_t / tot_p:6.2f}x"
    print(line)


if __name__ == "__main__":
    main()
