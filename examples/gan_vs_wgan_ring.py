"""Mode collapse, measured: GAN, WGAN and WGAN-GP on the ring of 8 Gaussians (or the grid of 25), side by side.

    python examples/gan_vs_wgan_ring.py [--data ring8|grid25] [--updates 1.0] [--out runs/gan_vs_wgan] [--quick]

Same nets for all three (MLPs 2-128-128-{2,1}, ReLU, z of dimension 2, batch 256), each with its paper's
optimizer: GAN Adam betas (0.5, 0.999); WGAN RMSprop 5e-5, clip 0.01, n_critic 5 (Algorithm 1 exactly); WGAN-GP
Adam 1e-4 betas (0, 0.9), n_critic 5. Two toy settings differ from the image defaults: the GAN's lr is 1e-3
(DCGAN's is 2e-4) and WGAN-GP's lambda is 0.1 (the paper's 10 makes the generator's cloud drift on modes this
narrow; the authors' own toy code uses 0.1).

Each model gets the generator updates it needs to cover the ring (as in ``tinygen demo``): the GAN 5,000, the
clipped WGAN 5,000 (25,000 critic steps: with every weight clipped to +-0.01 its critic learns slowly, and
with 800 updates it covers about half the modes), WGAN-GP 2,000 (10,000 critic steps). ``--updates 0.5``
halves all three. About 2-3 minutes on a laptop CPU.

The numbers are VEEGAN's (Srivastava et al. 2017), on 2,500 samples: a sample is *high quality* within 3
standard deviations of its nearest mode (0.03 on ring8, 0.15 on grid25), and a mode is *covered* when it is the
nearest mode of at least one high-quality sample. A collapsed generator covers few modes; a generator that
spreads its mass between the modes covers them but with few high-quality samples. The picture puts the
samples of the three models over the real data and the true modes.
"""
import argparse
import os
import tempfile

import tinygen as tg
from tinygen.cli_parser import folder
from tinygen import plots
from tinygen.data import load_dataset, modes, toy_std
from tinygen.demo import shortfall
from tinygen.metrics import mode_coverage
from tinygen.models import build_model
from tinygen.train import train

UPDATES = {"gan": 5000, "wgan": 5000, "wgan-gp": 2000}     # generator updates each model needs on ring8


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=("ring8", "grid25"), default="ring8")
    ap.add_argument("--updates", type=float, default=1.0,
                    help="scale the generator updates (GAN 5,000, WGAN 5,000, WGAN-GP 2,000; default 1.0)")
    ap.add_argument("--out", type=folder, default="runs/gan_vs_wgan", metavar="DIR",
                    help="the folder to write gan_vs_wgan_DATA.png into (default runs/gan_vs_wgan)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="a few steps only (the smoke test)")
    args = ap.parse_args(argv)
    out = os.path.join(args.out, f"gan_vs_wgan_{args.data}.png")

    centres, std = modes(args.data), toy_std(args.data)
    samples, rows, notes = {}, [], {}
    with tempfile.TemporaryDirectory() as runs:
        for kind, label in (("gan", "GAN"), ("wgan", "WGAN"), ("wgan-gp", "WGAN-GP")):
            tg.manual_seed(args.seed)
            model = build_model(kind, data_shape=(2,), arch="mlp")
            steps = 10 if args.quick else max(1, round(UPDATES[kind] * args.updates)) * model.n_critic
            train(model, args.data, steps=steps, out_dir=os.path.join(runs, kind), seed=args.seed,
                  pictures=False, progress=False)
            tg.manual_seed(args.seed)
            s = model.sample(2500).numpy()
            c = mode_coverage(s, centres, std)
            rows.append((label, c))
            name = (f"{label}, {steps // model.n_critic:,} generator updates\n{c['modes']}/{c['num_modes']} modes "
                    f"covered, {c['high_quality']:.0f}% high quality")
            samples[name], notes[name] = s, shortfall(label, c)      # why, when it falls short
            print(f"{label:8s} {c['modes']:>3d}/{c['num_modes']} modes covered, {c['high_quality']:5.1f}% "
                  f"high-quality samples, KL to uniform over modes {c['kl']:.3f}", flush=True)
    real = load_dataset(args.data, "test").x
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    plots.save_toy_grid(samples, real, out, modes=centres, notes=notes,
                        title=f"{args.data}: 2,500 samples of each model over the true modes (x)")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
