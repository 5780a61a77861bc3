"""Ask for "a 7": a conditional VAE learns p(x | y), so the label chooses the digit and z only the style.

    python examples/conditional_vae.py [--digit 7] [--epochs 10] [--latent 2] [--out runs/conditional_vae] [--quick]

The one-hot label y is concatenated to the encoder's input and to z at the decoder's input (Sohn et al. 2015);
the generative model is p(x, y) = p(x | y) p(y) as in the seed's definition. Two pictures:
``digit_7.png``: 32 samples of the asked-for digit (``model.sample(32, labels=7)``), and ``styles.png``: a
grid whose rows are the digits 0-9 and whose columns share one z each, so every column is one "handwriting"
(slant, thickness, width) written as each of the ten digits.

z is 2-D here (``--latent``). With the VAE's usual 20-D z and this short a training, the encoder also puts
the digit's identity into z, the decoder learns to read it from there, and the label is nearly ignored:
``--latent 20`` shows rows that all look alike and "sevens" that are any digit. A small z leaves room only
for the style, so the label has to carry the digit.
"""
import argparse
import os

import numpy as np

import tinygen as tg
from tinygen.cli_parser import folder
from tinygen import plots
from tinygen.models import build_model
from tinygen.train import train

LATENT = 2


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digit", type=int, default=7, help="the digit to ask for (default 7)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--latent", type=int, default=LATENT, help=f"dimension of z (default {LATENT})")
    ap.add_argument("--out", type=folder, default="runs/conditional_vae", metavar="DIR", help="the run folder (default "
                    "runs/conditional_vae)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="a few steps only (the smoke test)")
    args = ap.parse_args(argv)
    if not 0 <= args.digit <= 9:
        ap.error(f"--digit must be between 0 and 9, got {args.digit}")

    tg.manual_seed(args.seed)
    model = build_model("vae", data_shape=(1, 28, 28), arch="mlp", conditional=True, latent_dim=args.latent)
    length = {"steps": 5} if args.quick else {"epochs": args.epochs}
    res = train(model, "mnist", out_dir=args.out, overwrite=True, seed=args.seed, **length)
    print(f"held-out negative ELBO (given the labels) after {res.step} steps: {res.heldout['nelbo_heldout']:.1f} nats")

    tg.manual_seed(args.seed)
    sevens = model.sample(32, labels=args.digit).numpy()
    path = os.path.join(args.out, f"digit_{args.digit}.png")
    plots.save_image_grid(sevens, path, nrow=8, title=f'model.sample(32, labels={args.digit}): "a {args.digit}"')
    print(f"wrote {path}")

    z = model.sample_latent(10).numpy()                        # ten styles
    zz = tg.tensor(np.tile(z, (10, 1)))                        # row d: the ten styles as digit d
    labels = tg.tensor(np.repeat(np.arange(10), 10), dtype="int64")
    grid = model.sample(100, labels=labels, z=zz).numpy()
    path = os.path.join(args.out, "styles.png")
    plots.save_image_grid(grid, path, nrow=10, labels=[str(d) if i % 10 == 0 else None
                                                        for i, d in enumerate(np.repeat(np.arange(10), 10))],
                          title="rows: the label 0-9; columns: one z (a style) each")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
