"""What the KL term does to a latent space: the 2-D codes of an AE and of a VAE, side by side.

    python examples/ae_vs_vae_latent.py [--epochs 5] [--out runs/ae_vs_vae_latent] [--quick]

Both models have the same MLP (784-400-2-400-784) and see the same data. The autoencoder only has to
reconstruct, so nothing says where its codes go: they sit off-centre, at whatever scale the training drifted
to, with thin tails and empty patches. The VAE's KL(q(z|x) || N(0, I)) pulls every code towards the standard
normal, so its codes gather within a few units of the origin, the digits as neighbouring regions: most z drawn
from N(0, I) land among codes the decoder knows, which is what makes it a generative model. Each point is a
held-out image, coloured by its digit; the printed means and spreads say the same in numbers.
"""
import argparse
import os
import tempfile

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import tinygen as tg
from tinygen.cli_parser import folder
from tinygen.data import load_dataset
from tinygen.models import build_model
from tinygen.train import train


def codes(model, x):
    """The codes of x: the AE's z, the VAE's posterior mean."""
    with tg.no_grad():
        model.eval()
        z = model.encode(tg.tensor(x))
    return (z[0] if isinstance(z, tuple) else z).numpy()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5, help="epochs for each model (default 5)")
    ap.add_argument("--out", type=folder, default="runs/ae_vs_vae_latent", metavar="DIR",
                    help="the folder to write ae_vs_vae_latent.png into (default runs/ae_vs_vae_latent)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="a few steps only (the smoke test)")
    args = ap.parse_args(argv)

    held = load_dataset("mnist", "test")
    x, y = held.x[:2000], held.y[:2000]
    length = {"steps": 5} if args.quick else {"epochs": args.epochs}
    fig = Figure(figsize=(11, 5.4), dpi=100, layout="constrained")
    axes = fig.subplots(1, 2)
    with tempfile.TemporaryDirectory() as runs:
        for ax, kind in zip(axes, ("ae", "vae")):
            tg.manual_seed(args.seed)
            model = build_model(kind, data_shape=(1, 28, 28), arch="mlp", latent_dim=2)
            res = train(model, "mnist", out_dir=os.path.join(runs, kind), seed=args.seed, pictures=False,
                        progress=False, **length)
            z = codes(model, x)
            for d in range(10):
                sel = y == d
                ax.scatter(z[sel, 0], z[sel, 1], s=4, alpha=0.7, color=f"C{d}", label=str(d))
            ax.set_title(f"{kind.upper()}: 2-D codes of {len(x)} held-out digits ({res.step} steps)")
            ax.set_xlabel("z1")
            ax.set_ylabel("z2")
            ax.set_aspect("equal", adjustable="datalim")
            ax.grid(alpha=0.3)
            print(f"{kind}: codes span [{z[:, 0].min():.1f}, {z[:, 0].max():.1f}] x "
                  f"[{z[:, 1].min():.1f}, {z[:, 1].max():.1f}], mean {np.round(z.mean(0), 2)}, "
                  f"std {np.round(z.std(0), 2)}")
    axes[1].legend(title="digit", markerscale=4, loc="center left", bbox_to_anchor=(1.0, 0.5))
    os.makedirs(args.out, exist_ok=True)
    out = os.path.join(args.out, "ae_vs_vae_latent.png")
    FigureCanvasAgg(fig).print_png(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
