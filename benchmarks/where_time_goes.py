"""Where a benchmark workload's training step spends its time in tinygen: each op's forward and backward, the
optimizers' updates, the WGAN clip, and the rest.

    python benchmarks/where_time_goes.py WORKLOAD [--steps 100] [--threads 2] [--top 16]

WORKLOAD is one of bench_spec.WORKLOADS (vae_mlp, gan_mlp, wgan_mlp, dcgan_28), built by workloads_tinygen.py as
compare.py times it. Wall time (``time.perf_counter``) around every registered op's ``forward`` and ``backward``,
every optimizer's ``_update`` and ``optim.clip_weights_``, summed over ``--steps`` steps after 20 untimed ones;
the table gives ms per step and the share of the step. "rest" is what none of them covers: the graph's
bookkeeping (``Function.apply``, the backward walk, gradient accumulation into ``.grad``), the modules' calls,
``zero_grad`` and the step's own Python. The timers add about a microsecond per call, counted in "rest".
Self time: an op whose backward runs other ops (ReLU's multiplies through Mul; a convolution's backward is a
transposed convolution and a weight-gradient op) shows that work under those ops' forward, once.

A linear layer's forward and backward are mostly its GEMMs: compare them with the step's GEMM floor
(``python benchmarks/roofline.py``). Threads: ``--threads N`` fixes the BLAS pool as compare.py's rows do;
without it tinygen's automatic policy runs (tinygen._threads).
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]


def _timed(fn, key, acc, nested):
    """``fn`` timed into ``acc[key]`` (``key``: a string, or a function of the call's first argument), self time
    only: a timed call made inside another (Relu's backward multiplies through Mul's forward) is counted once,
    under its own key. ``nested`` is the shared stack of the open calls' children's time."""
    def wrapper(*args, **kwargs):
        nested.append(0.0)
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.perf_counter() - t0
            children = nested.pop()
            acc[key if isinstance(key, str) else key(args[0])] += spent - children
            if nested:
                nested[-1] += spent
    wrapper.__wrapped__ = fn
    return wrapper


def instrument(acc):
    """Wrap every registered op's forward/backward, every optimizer's ``_update`` and ``clip_weights_`` with
    timers adding into ``acc`` (a Counter of seconds). Returns a function that removes the wrappers."""
    from tinygen import optim
    from tinygen.autograd import REGISTRY
    undo, nested = [], []

    def wrap(owner, attr, key):
        fn = owner.__dict__[attr]
        setattr(owner, attr, _timed(fn, key, acc, nested))
        undo.append((owner, attr, fn))

    for cls in REGISTRY.values():     # named after the op that runs (Min runs the forward it inherits from Max)
        for attr in ("forward", "backward"):
            if attr in cls.__dict__:
                wrap(cls, attr, (lambda a: lambda node: f"{node.name} {a}")(attr))
    opts = [c for c in vars(optim).values() if isinstance(c, type) and issubclass(c, optim.Optimizer)]
    for cls in opts:        # AdamW runs Adam's _update: named after the optimizer that runs it
        if "_update" in cls.__dict__:
            wrap(cls, "_update", lambda opt: f"{type(opt).__name__} update")
    wrap(optim, "clip_weights_", "clip_weights_")

    def restore():
        for owner, attr, fn in reversed(undo):
            setattr(owner, attr, fn)
    return restore


def measure(workload, steps=100, warmup=20):
    """(ms per step, [(category, ms per step)] biggest first, with "rest" last)."""
    import workloads_tinygen
    from bench_spec import make_arrays
    acc = collections.Counter()
    restore = instrument(acc)
    try:
        # the workload looks up optim.clip_weights_ when it runs: the wrapper is seen
        step = workloads_tinygen.build(workload, make_arrays(workload))
        for _ in range(warmup):
            step()
        acc.clear()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        total = (time.perf_counter() - t0) / steps * 1e3
    finally:
        restore()
    rows = [(k, v / steps * 1e3) for k, v in acc.most_common()]
    return total, rows + [("rest", total - sum(ms for _, ms in rows))]


def table(workload, total, rows, top):
    shown = rows[:-1][:top] + [rows[-1]]
    hidden = rows[:-1][top:]
    if hidden:
        shown.insert(-1, (f"{len(hidden)} more", sum(ms for _, ms in hidden)))
    w = max(len(name) for name, _ in shown)
    out = [f"{workload}: {total:.2f} ms per step", f"  {'':{w}s} {'ms/step':>8s} {'share':>6s}"]
    for name, ms in shown:
        out.append(f"  {name:{w}s} {ms:8.2f} {ms / total:6.1%}")
    return "\n".join(out)


def main(argv=None):
    from bench_spec import WORKLOADS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", choices=WORKLOADS)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=None, help="fix the BLAS threads (default: tinygen's policy)")
    ap.add_argument("--top", type=int, default=16, help="categories listed before the remainder")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.top < 0 or (args.threads is not None and args.threads < 1):
        ap.error("--steps and --threads must be positive and --top not negative")
    if args.threads is not None:
        os.environ["TINYGEN_BENCH_THREADS"] = str(args.threads)
    total, rows = measure(args.workload, args.steps)
    print(table(args.workload, total, rows, args.top))


if __name__ == "__main__":
    main()
