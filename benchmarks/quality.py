"""Quality bars of the generative models (issue 5), measured with a plain training loop of a few lines (not the
trainer), printing the numbers and writing pictures to look at.

    python benchmarks/quality.py vae  [--epochs 20]                 # held-out negative ELBO (nats per image)
    python benchmarks/quality.py cvae [--epochs 20]                # conditional VAE: a grid of asked-for digits
    python benchmarks/quality.py toy  [--data ring8 grid25] [--models gan wgan wgan-gp] [--iters 10000]
    python benchmarks/quality.py mnist-gan [--models gan wgan-gp] [--minutes 3 | --steps N] [--conditional]
    python benchmarks/quality.py race [--models gan:conv:16:noaug:lr=2e-3 ...] [--cpu-seconds 170] [--eval-every 20]
    common: [--seed 0] [--out /tmp/quality]

* vae: the MLP VAE 784-400-20, Bernoulli, Adam 1e-3, batch 128 on the embedded MNIST train split (8,000
  images), then the negative ELBO on the held-out split (2,000). Bar: <= 114.5 nats after 20 epochs.
  Writes vae_samples.png, vae_reconstructions.png, vae_interpolations.png.
* toy: VEEGAN's mode coverage of 2,500 samples after ``--iters`` GENERATOR iterations (for the GAN one
  iteration is one train_step call; for WGAN / WGAN-GP, with n_critic = 5, it is 5 calls: one generator
  update after 5 critic updates). Nets 2-128-128-{2,1} ReLU, z of dimension 2, batch 256, each model with its
  published optimizer defaults (GAN: Adam 1e-3, betas (0.5, 0.999); WGAN: RMSprop 5e-5, c = 0.01; WGAN-GP:
  Adam 1e-4, betas (0, 0.9), and lambda = 0.1, the models' default for vector data; ``--gp-weight 10`` for the
  image value). Bar: the GAN covers 8/8 ring8 modes with >= 90% high-quality samples. Writes
  toy_<data>_seed<seed>.png (all models side by side).
* mnist-gan: the DCGAN-style conv GAN / WGAN-GP on the embedded MNIST train split for a wall-clock budget;
  writes mnist_<model>.png (64 samples). Look at them.
* race: which nets learn fastest per second on a CPU (the choice `tinygen compare` makes per model). Each
  ``kind:arch[:width][:noaug][:lr=X][:ncritic=N]`` trains on the embedded MNIST with its published optimizer
  (its default learning rate unless ``lr=``; GANs with DiffAugment on the conv nets, the default; ``noaug``
  without; ``ncritic=`` critic updates per generator update) until ``--cpu-seconds`` of training CPU time (the
  process's, evaluation excluded: the same on a busy machine as on an idle one, up to cache effects); every
  ``--eval-every`` CPU seconds it reports FD-MNIST of 1,000 samples, the digits covered and the Inception
  Score (tinygen.evaluation's image metrics). Writes race_<kind>_<arch>.png (64 samples at the end).

Set OPENBLAS_NUM_THREADS=1 on a shared 2-core machine: with other processes running, OpenBLAS's second thread
makes a 128x784x400 GEMM ~20x slower here.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tinygen as tg  # noqa: E402
from tinygen import plots  # noqa: E402
from tinygen.data import DataLoader, load_dataset, modes, toy_std  # noqa: E402
from tinygen.metrics import mode_coverage  # noqa: E402
from tinygen.models import build_model  # noqa: E402


def report(**kv):
    print(json.dumps(kv), flush=True)


def batches(loader):
    """Batches forever, epoch after epoch."""
    while True:
        yield from loader


def run_vae(args):
    tg.manual_seed(args.seed)
    x, y = load_dataset("mnist", "train")
    xt, yt = load_dataset("mnist", "test")
    model = build_model("vae", data_shape=(1, 28, 28), arch="mlp")
    opts = model.make_optimizers()
    loader = DataLoader(x, y, batch_size=model.default_batch_size)
    held = tg.tensor(xt)
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        total, n = 0.0, 0
        for xb, yb in loader:
            total += model.train_step(xb, yb, opts)["loss"] * xb.shape[0]
            n += xb.shape[0]
        ev = model.evaluate(held)
        report(model="vae", epoch=epoch, train_loss=round(total / n, 3), heldout_nelbo=round(ev["nelbo"], 3),
               rec=round(ev["rec"], 3), kl=round(ev["kl"], 3), seconds=round(time.perf_counter() - t0, 1))
    seconds = time.perf_counter() - t0
    # the final figure: average of 10 evaluations (each draws eps once per image) to shrink the noise
    final = sum(model.evaluate(held)["nelbo"] for _ in range(10)) / 10
    report(model="vae", result="heldout_nelbo_after_epochs", epochs=args.epochs, nelbo=round(final, 2),
           bar=114.5, passed=final <= 114.5, train_seconds=round(seconds, 1))
    os.makedirs(args.out, exist_ok=True)
    plots.save_image_grid(model.sample(64), os.path.join(args.out, "vae_samples.png"),
                          title=f"VAE 784-400-20 samples after {args.epochs} epochs")
    plots.save_reconstructions(held[:20], model.reconstruct(held[:20]),
                               os.path.join(args.out, "vae_reconstructions.png"), n=20)
    plots.save_interpolations(model.interpolate(held[:6], held[6:12], steps=10),
                              os.path.join(args.out, "vae_interpolations.png"))


def run_cvae(args):
    """The conditional MLP VAE: ``--epochs`` epochs, then a grid whose row k was asked for digit k."""
    tg.manual_seed(args.seed)
    x, y = load_dataset("mnist", "train")
    xt, yt = load_dataset("mnist", "test")
    model = build_model("vae", data_shape=(1, 28, 28), conditional=True)
    opts = model.make_optimizers()
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        for xb, yb in DataLoader(x, y, batch_size=model.default_batch_size):
            model.train_step(xb, yb, opts)
    ev = model.evaluate(tg.tensor(xt), tg.tensor(yt))
    report(model="cvae", epochs=args.epochs, heldout_nelbo=round(ev["nelbo"], 2),
           seconds=round(time.perf_counter() - t0, 1))
    os.makedirs(args.out, exist_ok=True)
    labels = [k for k in range(10) for _ in range(10)]
    plots.save_image_grid(model.sample(100, labels=labels), os.path.join(args.out, "cvae_labels.png"), nrow=10,
                          labels=labels, title=f"conditional VAE, row k = sample(10, labels=k), {args.epochs} epochs")


def run_toy(args):
    os.makedirs(args.out, exist_ok=True)
    for data in args.data:
        x, y = load_dataset(data, "train")
        real_test, _ = load_dataset(data, "test")
        samples = {}
        for kind in args.models:
            tg.manual_seed(args.seed)
            extra = {"gp_weight": args.gp_weight} if kind == "wgan-gp" and args.gp_weight is not None else {}
            model = build_model(kind, data_shape=(2,), arch="mlp", **extra)
            opts = model.make_optimizers()
            stream = batches(DataLoader(x, y, batch_size=model.default_batch_size, drop_last=True))
            calls = args.iters * model.n_critic
            t0 = time.perf_counter()
            for i in range(1, calls + 1):
                xb, yb = next(stream)
                model.train_step(xb, yb, opts)
                if args.log_every and i % (args.log_every * model.n_critic) == 0:
                    r = mode_coverage(model.sample(2500), modes(data), toy_std(data))
                    report(model=kind, data=data, generator_iters=i // model.n_critic, **r)
            seconds = time.perf_counter() - t0
            s = model.sample(2500)
            r = mode_coverage(s, modes(data), toy_std(data))
            samples[f"{kind}: {r['modes']}/{r['num_modes']} modes, {r['high_quality']:.0f}% hq"] = s.numpy()
            report(model=kind, data=data, result="mode_coverage", generator_iters=args.iters, critic_calls=calls,
                   seed=args.seed, **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()},
                   seconds=round(seconds, 1))
        tag = "" if args.gp_weight is None else f"_gp{args.gp_weight:g}"
        plots.save_toy_grid(samples, real_test, os.path.join(args.out, f"toy_{data}_seed{args.seed}{tag}.png"),
                            modes=modes(data), title=f"{data}: {args.iters} generator iterations, seed {args.seed}")


def run_mnist_gan(args):
    os.makedirs(args.out, exist_ok=True)
    x, y = load_dataset("mnist", "train", range=(-1, 1))
    for kind in args.models:
        tg.manual_seed(args.seed)
        model = build_model(kind, data_shape=(1, 28, 28), arch="conv", conditional=args.conditional)
        model.fit_data(x)                    # the GAN's clusters (self-conditioning), as train() does
        opts = model.make_optimizers()
        stream = batches(DataLoader(x, y, batch_size=model.default_batch_size, drop_last=True))
        z = model.sample_latent(64)
        labels = [i % 10 for i in range(64)] if args.conditional else None
        t0, calls = time.perf_counter(), 0
        while (calls < args.steps) if args.steps else (time.perf_counter() - t0 < 60 * args.minutes):
            xb, yb = next(stream)
            logs = model.train_step(xb, yb, opts)
            calls += 1
            if calls % 100 == 0:
                report(model=kind, calls=calls, seconds=round(time.perf_counter() - t0, 1),
                       **{k: round(v, 4) for k, v in logs.items()})
            if args.snap_every and calls % args.snap_every == 0:
                plots.save_image_grid(model.sample(64, labels=labels, z=z),
                                      os.path.join(args.out, f"mnist_{kind}_{calls:05d}.png"), value_range=(-1, 1),
                                      title=f"{kind} conv after {calls} calls")
        seconds = time.perf_counter() - t0
        name = f"mnist_{kind}{'_cond' if args.conditional else ''}"
        plots.save_image_grid(model.sample(64, labels=labels, z=z), os.path.join(args.out, f"{name}.png"),
                              value_range=(-1, 1), nrow=8 if not args.conditional else 10,
                              title=f"{kind} conv, {calls} critic calls ({calls // model.n_critic} G steps), "
                                    f"{seconds / 60:.1f} min")
        tg.save(model.state_dict(), os.path.join(args.out, f"{name}.npz"))
        report(model=kind, result="mnist_conv_samples", calls=calls, generator_steps=calls // model.n_critic,
               seconds=round(seconds, 1), png=os.path.join(args.out, f"{name}.png"))


def parse_race_spec(spec):
    """``kind:arch[:width][:noaug][:lr=X][:ncritic=N][:clip=C][:ema=D]`` -> (kind, arch, build_model's extra
    arguments, lr or None for the model's default). Raises ValueError with one sentence on a bad field."""
    kind, _, rest = spec.partition(":")
    fields = rest.split(":") if rest else []
    if not kind or not fields or fields[0] not in ("mlp", "conv"):
        raise ValueError(f"race: {spec!r} must start with kind:arch, arch mlp or conv (e.g. gan:conv:32:noaug)")
    arch, extra, lr = fields[0], {}, None
    for f in fields[1:]:
        key, eq, value = f.partition("=")
        try:
            if f.isdigit():
                extra["width"] = int(f)
            elif f == "noaug":
                extra["augment"] = ""
            elif eq and key == "lr":
                lr = float(value)
                if not lr > 0:
                    raise ValueError
            elif eq and key == "ncritic":
                extra["n_critic"] = int(value)
                if extra["n_critic"] < 1:
                    raise ValueError
            elif eq and key == "clip":
                extra[key] = float(value)
                if not extra[key] > 0:
                    raise ValueError
            elif eq and key == "ema":
                extra[key] = float(value)
                if not 0 <= extra[key] < 1:
                    raise ValueError
            else:
                raise KeyError
        except (ValueError, KeyError):
            raise ValueError(f"race: field {f!r} of {spec!r} is not a width, noaug, lr=<positive number>, "
                             f"ncritic=<integer >= 1>, clip=<positive number> or ema=<decay in [0, 1), 0: none>") from None
    return kind, arch, extra, lr


def build_race(spec, seed):
    """The model of a race spec on MNIST's shape, built after ``manual_seed(seed)``, and its optimizers."""
    kind, arch, extra, lr = parse_race_spec(spec)
    tg.manual_seed(seed)
    model = build_model(kind, data_shape=(1, 28, 28), arch=arch, **extra)
    return model, model.make_optimizers(lr)


def run_race(args):
    from tinygen.evaluation import image_metrics
    os.makedirs(args.out, exist_ok=True)
    held = load_dataset("mnist", "test")
    for spec in args.models:
        model, opts = build_race(spec, args.seed)
        lo = (model.data_range or (0, 1))[0]
        x, y = load_dataset("mnist", "train", range=(-1, 1) if lo < 0 else (0, 1))
        model.fit_data(x)                    # the GAN's clusters (self-conditioning), as train() does
        stream = batches(DataLoader(x, y, batch_size=model.default_batch_size, drop_last=True))
        cpu, steps, next_eval = 0.0, 0, args.eval_every
        while cpu < args.cpu_seconds:
            xb, yb = next(stream)
            t0 = time.process_time()
            model.train_step(xb, yb, opts)
            cpu += time.process_time() - t0
            steps += 1
            if cpu >= next_eval or cpu >= args.cpu_seconds:
                next_eval += args.eval_every
                with tg.no_grad():
                    m = image_metrics(model, held.x, 1000)
                report(model=spec, steps=steps, cpu_seconds=round(cpu, 1), fd_mnist=round(m["fd_mnist"], 1),
                       digits=m["digits_covered"], inception_score=round(m["inception_score"], 2),
                       parameters=model.num_parameters())
        name = spec.replace(":", "_").replace("=", "")
        plots.save_image_grid(model.sample(64), os.path.join(args.out, f"race_{name}.png"),
                              value_range=model.data_range or (0, 1),
                              title=f"{spec}: {steps} steps, {cpu:.0f} CPU seconds")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("task", choices=["vae", "cvae", "toy", "mnist-gan", "race"])
    p.add_argument("--cpu-seconds", type=float, default=170.0, help="race: training CPU seconds per model")
    p.add_argument("--eval-every", type=float, default=20.0, help="race: CPU seconds between evaluations")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--data", nargs="+", default=["ring8", "grid25"])
    p.add_argument("--models", nargs="+", default=None)
    p.add_argument("--iters", type=int, default=10000)
    p.add_argument("--gp-weight", type=float, default=None, help="toy: WGAN-GP's lambda (default: the model's)")
    p.add_argument("--log-every", type=int, default=0, help="toy: report the metric every N generator iterations")
    p.add_argument("--minutes", type=float, default=3.0, help="mnist-gan: wall-clock budget per model")
    p.add_argument("--steps", type=int, default=0, help="mnist-gan: train_step calls per model instead")
    p.add_argument("--snap-every", type=int, default=0, help="mnist-gan: a sample grid every N calls")
    p.add_argument("--conditional", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="/tmp/quality")
    args = p.parse_args(argv)
    if args.task == "vae":
        run_vae(args)
    elif args.task == "cvae":
        run_cvae(args)
    elif args.task == "race":
        args.models = args.models or ["gan:mlp", "gan:conv:32", "wgan-gp:mlp", "wgan-gp:conv:32"]
        for spec in args.models:                 # every spec checked before the first one trains
            try:
                parse_race_spec(spec)
            except ValueError as e:
                p.error(str(e))
        run_race(args)
    elif args.task == "toy":
        args.models = args.models or ["gan", "wgan", "wgan-gp"]
        run_toy(args)
    else:
        args.models = args.models or ["gan", "wgan-gp"]
        run_mnist_gan(args)


if __name__ == "__main__":
    main()
