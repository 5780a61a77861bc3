"""A VAE on MNIST: the 784-400-20 MLP with the Bernoulli likelihood, trained with the ELBO.

    python examples/vae_mnist.py [--epochs 10] [--out runs/vae_mnist] [--quick]

Trains on the 8,000 embedded MNIST training images (no download) and prints the held-out negative ELBO, the
bound on -log p(x) in nats per image (lower is better: 123 after the default 10 epochs, 114 after 20). The run
folder then holds samples_*.png (decodings of z ~ N(0, I)), reconstructions.png (held-out images above their
reconstructions), interpolations.png, latent.png (the 20-D codes projected on two principal axes), curves.png,
and a checkpoint: `tinygen sample runs/vae_mnist` draws more samples from it, and
`tinygen train vae --out runs/vae_mnist --epochs 20 --resume` continues the training.
"""
import argparse

import tinygen as tg
from tinygen.cli_parser import folder
from tinygen.models import build_model
from tinygen.train import train


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10, help="passes over the 8,000 images (default 10)")
    ap.add_argument("--out", type=folder, default="runs/vae_mnist", metavar="DIR", help="the run folder (default runs/vae_mnist)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="a few steps only (the smoke test)")
    args = ap.parse_args(argv)

    tg.manual_seed(args.seed)
    model = build_model("vae", data_shape=(1, 28, 28), arch="mlp")     # 784-400-20, Bernoulli, Adam 1e-3
    print(model)
    length = {"steps": 8} if args.quick else {"epochs": args.epochs}
    result = train(model, "mnist", batch_size=128, out_dir=args.out, overwrite=True, seed=args.seed,
                   sample_every=None if not args.quick else 8, **length)
    print(f"held-out negative ELBO after {result.step} steps: {result.heldout['nelbo_heldout']:.1f} nats per image "
          f"(reconstruction {result.heldout['rec_heldout']:.1f} + KL {result.heldout['kl_heldout']:.1f})")
    print(f"pictures in {result.out_dir}/: samples_{result.step:06d}.png, reconstructions.png, interpolations.png, "
          f"latent.png, curves.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
