"""One training step (forward, backward, Adam) of an MLP and of a small conv net, in ms/step.

    python benchmarks/train_step.py [--steps 30] [--batch 64]

The MLP is 784-400-400-10 (ReLU, cross-entropy); the conv net is conv(1->16, k3, p1) ReLU, conv(16->32, k3,
s2, p1) ReLU, flatten, linear(32*14*14 -> 10) on 28x28 inputs. Random data, float32, fixed seed. The
side-by-side comparison with PyTorch is benchmarks/compare.py.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tinygen as tg  # noqa: E402
import tinygen.functional as F  # noqa: E402
from tinygen import nn, optim  # noqa: E402


def mlp():
    return nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 10))


def convnet():
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2, padding=1),
                         nn.ReLU(), nn.Flatten(), nn.Linear(32 * 14 * 14, 10))


def time_steps(model, x, y, steps, warmup=3):
    opt = optim.Adam(model.parameters(), lr=1e-3)
    times, losses = [], []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if i >= warmup:
            times.append(dt)
        losses.append(loss.item())
    return times, losses


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args(argv)
    tg.manual_seed(0)
    y = tg.tensor((tg.rand(args.batch).numpy() * 10).astype("int64"))
    print(f"batch {args.batch}, float32, Adam; median / min / max over {args.steps} steps after 3 warm-up steps")
    for name, make, shape in (("mlp 784-400-400-10", mlp, (args.batch, 784)),
                              ("convnet 1-16-32 + linear", convnet, (args.batch, 1, 28, 28))):
        model = make()
        x = tg.rand(*shape)
        times, losses = time_steps(model, x, y, args.steps)
        ms = [t * 1e3 for t in times]
        print(f"{name:<28} {statistics.median(ms):8.2f} ms/step  (min {min(ms):.2f}, max {max(ms):.2f});"
              f"  loss {losses[0]:.3f} -> {losses[-1]:.3f}")


if __name__ == "__main__":
    main()
