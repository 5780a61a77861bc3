"""Walking in latent space: a VAE decodes the points on the line between two digits' codes into digits, where
mixing the pixels gives double exposures.

    python examples/latent_interpolation.py [--epochs 10] [--steps 10] [--out runs/latent_interpolation] [--quick]

For pairs of held-out digits (1 -> 7, 3 -> 8, 4 -> 9, 0 -> 6, 2 -> 5) the picture shows two strips each:
"latent": decode((1 - t) mu(x1) + t mu(x2)) for t from 0 to 1 (``VAE.interpolate``), and "pixels":
(1 - t) x1 + t x2. The latent path stays on the data manifold: the in-between images are (odd) digits,
because the decoder has only ever learnt to produce digits and the KL term makes the space between codes
meaningful. ``--run DIR`` interpolates with an AE or VAE run trained by `tinygen train` instead.
"""
import argparse
import os
import tempfile

import numpy as np

import tinygen as tg
from tinygen.cli_parser import folder
from tinygen import plots
from tinygen.data import load_dataset
from tinygen.models import build_model
from tinygen.runs import load_run
from tinygen.train import train

PAIRS = ((1, 7), (3, 8), (4, 9), (0, 6), (2, 5))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10, help="VAE training epochs (default 10)")
    ap.add_argument("--steps", type=int, default=10, help="images per strip (default 10)")
    ap.add_argument("--run", default=None, help="use this AE/VAE run folder instead of training")
    ap.add_argument("--out", type=folder, default="runs/latent_interpolation", metavar="DIR",
                    help="the folder to write latent_interpolation.png into (default runs/latent_interpolation)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="a few training steps only (the smoke test)")
    args = ap.parse_args(argv)

    tg.manual_seed(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        if args.run:
            model = load_run(args.run).model
            if not model.has_encoder:
                print(f"latent_interpolation.py: {args.run} holds a {model.kind}, which has no encoder; "
                      f"use an AE or VAE run")
                return 2
        else:
            model = build_model("vae", data_shape=(1, 28, 28), arch="mlp")
            length = {"steps": 5} if args.quick else {"epochs": args.epochs}
            res = train(model, "mnist", out_dir=os.path.join(tmp, "vae"), seed=args.seed, pictures=False,
                        progress=False, **length)
            print(f"VAE trained for {res.step} steps: held-out negative ELBO {res.heldout['nelbo_heldout']:.1f} nats")
    held = load_dataset("mnist", "test")
    first = {d: held.x[np.flatnonzero(held.y == d)[0]] for d in range(10)}
    a = np.stack([first[p] for p, _ in PAIRS])
    b = np.stack([first[q] for _, q in PAIRS])
    latent = model.interpolate(tg.tensor(a), tg.tensor(b), steps=args.steps).numpy()      # (5, S, 1, 28, 28)
    t = np.linspace(0, 1, args.steps, dtype=np.float32)[None, :, None, None, None]
    pixels = (1 - t) * a[:, None] + t * b[:, None]
    rows = np.stack([r for pair in zip(latent, pixels) for r in pair])                    # latent, pixels, ...
    out = os.path.join(args.out, "latent_interpolation.png")
    plots.save_interpolations(rows, out, title="rows in pairs: through the VAE's latent space (upper) vs "
                              "mixing pixels (lower): " + ", ".join(f"{p}->{q}" for p, q in PAIRS))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
