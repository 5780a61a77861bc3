"""Fused binary_cross_entropy_with_logits (one primitive) against the same loss built from primitives.

    python benchmarks/bce_with_logits.py

Times forward + backward (mean reduction, float32, CPU) per call; best of 5 repeats of N calls each.
"composite (stable)": relu(z) - z*y + softplus(-|z|), mean — the same formula in 7 primitive ops.
"sigmoid + BCE": F.binary_cross_entropy(sigmoid(z), y) — the textbook form (and unstable for |z| > ~17).
"""
import timeit

import numpy as np

import tinygen as tg
import tinygen.functional as F
from tinygen.ops.loss import binary_cross_entropy_with_logits as fused


def composite(z, y):
    return (tg.relu(z) - z * y + tg.softplus(-z.abs())).mean()


def naive(z, y):
    return F.binary_cross_entropy(tg.sigmoid(z), y)


def bench(fn, z0, y, n):
    def step():
        z = tg.Tensor(z0.data, requires_grad=True)
        fn(z, y).backward()
    step()
    return min(timeit.repeat(step, number=n, repeat=5)) / n


def main():
    rng = np.random.default_rng(0)
    print(f"{'shape':>12} {'fused':>10} {'composite':>10} {'sig+BCE':>10} {'speed-up vs composite':>22}")
    for shape, n in [((64, 1), 2000), ((64, 784), 300), ((256, 784), 100), ((1024, 784), 30)]:
        z = tg.tensor(rng.standard_normal(shape).astype(np.float32) * 3)
        y = tg.tensor((rng.random(shape) < 0.5).astype(np.float32))
        tf, tc, tn = (bench(f, z, y, n) for f in (lambda a, b: fused(a, b), composite, naive))
        print(f"{str(shape):>12} {tf * 1e6:8.1f}us {tc * 1e6:8.1f}us {tn * 1e6:8.1f}us {tc / tf:21.2f}x")
    # exactness at extreme logits
    z = tg.tensor([1e4, -1e4, 1e4, -1e4, 30.0, -30.0], requires_grad=True)
    y = tg.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    for name, f in [("fused", lambda a, b: fused(a, b, reduction="none")),
                    ("composite", lambda a, b: tg.relu(a) - a * b + tg.softplus(-a.abs())),
                    ("sigmoid + BCE", lambda a, b: F.binary_cross_entropy(tg.sigmoid(a), b, reduction="none"))]:
        z.grad = None
        out = f(z, y)
        out.sum().backward()
        print(f"{name:>14}: loss {out.numpy()}  grad {z.grad.numpy()}")


if __name__ == "__main__":
    main()
