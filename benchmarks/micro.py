"""Per-op overhead: tinygen forward+backward next to plain NumPy doing the same arithmetic by hand.

    python benchmarks/micro.py [--repeat 200]

For each expression, prints the median time of tinygen (graph recorded, backward run) and of hand-written
NumPy (the same forward and the same hand-derived backward), and their ratio. A ratio near 1 means the
engine's bookkeeping is small next to the arithmetic; the last rows (tiny arrays) show the per-op cost.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tinygen as tg  # noqa: E402


def bench(fn, repeat, warmup=5):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def cpu_time(fn, repeat):
    """Mean CPU seconds per call over ``repeat`` calls (steadier than wall time on a busy machine)."""
    t0 = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - t0) / repeat


def chain_backward(t):
    """The per-op case: 20 chained ops on ``t`` (a tinygen or PyTorch tensor), then backward."""
    t.grad = None
    y = t
    for _ in range(10):
        y = y * 1.01 + 0.1
    y.sum().backward()


def cases():
    rng = np.random.default_rng(0)
    f32 = np.float32

    # 1. relu(x @ w + b).sum() at 64x784 by 784x400: the headline expression
    xn, wn, bn = (rng.standard_normal(s).astype(f32) for s in ((64, 784), (784, 400), (400,)))
    x, w, b = (tg.tensor(a, requires_grad=True) for a in (xn, wn, bn))

    def tg_mlp():
        x.grad = w.grad = b.grad = None
        (x @ w + b).relu().sum().backward()

    def np_mlp():
        h = xn @ wn + bn
        r = np.maximum(h, 0)
        r.sum()
        gh = (h > 0).astype(f32)
        return xn.T @ gh, gh @ wn.T, gh.sum(0)
    yield "relu(x@w+b).sum()  64x784 @ 784x400", tg_mlp, np_mlp

    # 2. the same through the fused linear op (x @ W^T + b), as nn.Linear runs it
    wt = tg.tensor(np.ascontiguousarray(wn.T), requires_grad=True)
    wtn = wt.numpy()

    def tg_linear():
        x.grad = wt.grad = b.grad = None
        tg.linear(x, wt, b).relu().sum().backward()

    def np_linear():
        h = xn @ wtn.T + bn
        np.maximum(h, 0).sum()
        gh = (h > 0).astype(f32)
        return gh.T @ xn, gh @ wtn, gh.sum(0)
    yield "linear(x, W, b).relu().sum()  same sizes", tg_linear, np_linear

    # 3. an elementwise chain on a VAE-sized batch: (sigmoid(z) * z).mean()
    zn = rng.standard_normal((128, 784)).astype(f32)
    z = tg.tensor(zn, requires_grad=True)

    def tg_chain():
        z.grad = None
        (z.sigmoid() * z).mean().backward()

    def np_chain():
        e = np.exp(-np.abs(zn))
        r = 1 / (1 + e)
        s = np.where(zn >= 0, r, e * r)
        (s * zn).mean()
        g = np.full_like(zn, 1 / zn.size)
        return g * zn * s * (1 - s) + g * s
    yield "(sigmoid(z) * z).mean()  128x784", tg_chain, np_chain

    # 4. tiny arrays: 20 chained ops on 8x8, the per-op overhead itself
    tn = rng.standard_normal((8, 8)).astype(f32)
    t = tg.tensor(tn, requires_grad=True)

    def tg_tiny():
        chain_backward(t)

    def np_tiny():
        y = tn
        for _ in range(10):
            y = y * 1.01 + 0.1
        y.sum()
        g = np.ones_like(tn)
        for _ in range(10):
            g = g * 1.01
        return g
    yield "20 ops (x*1.01+0.1)x10 on 8x8", tg_tiny, np_tiny


def torch_tiny():
    """PyTorch eager on the last case (20 chained ops on 8x8, forward + backward), at one thread; None
    without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    t = torch.tensor(np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32), requires_grad=True)

    return lambda: chain_backward(t)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=200)
    args = p.parse_args(argv)
    print(f"numpy {np.__version__}, tinygen {tg.__version__}; median of {args.repeat} runs, forward + backward")
    print(f"{'expression':<44}{'tinygen ms':>12}{'numpy ms':>12}{'ratio':>8}")
    for name, f_tg, f_np in cases():
        a, b = bench(f_tg, args.repeat), bench(f_np, args.repeat)
        print(f"{name:<44}{a * 1e3:>12.3f}{b * 1e3:>12.3f}{a / b:>8.2f}")
    f_torch = torch_tiny()
    if f_torch is not None:       # the per-op target: tinygen's 20-op chain in no more time than PyTorch eager
        tiny_tg = [c[1] for c in cases()][-1]
        ts, tt = [], []
        for r in range(20):       # alternating rounds, CPU time: a busy machine slows both alike
            for fn, out in ((tiny_tg, ts), (f_torch, tt)) if r % 2 == 0 else ((f_torch, tt), (tiny_tg, ts)):
                out.append(cpu_time(fn, args.repeat))
        a, b = statistics.median(ts), statistics.median(tt)
        ratio = statistics.median(x / y for x, y in zip(ts, tt))
        print(f"{'20 ops on 8x8: tinygen / PyTorch eager (1 thread)':<44}{a * 1e3:>12.3f}{b * 1e3:>12.3f}{ratio:>8.2f}"
              f"   (PyTorch ms in the middle column; CPU time, median of 20 alternating rounds' ratios)")


if __name__ == "__main__":
    main()
