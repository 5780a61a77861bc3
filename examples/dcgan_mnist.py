"""DCGAN on MNIST: a convolutional generator and discriminator (Radford et al. 2016) with the non-saturating
GAN loss.

    python examples/dcgan_mnist.py [--steps 400] [--width 32] [--out runs/dcgan_mnist] [--quick]

The nets (tinygen/models/nets.py): the generator maps z (100-D) through Linear -> BatchNorm -> ReLU to a 7x7 map
and up with two stride-2 transposed convolutions to 28x28, tanh; the discriminator mirrors it with stride-2
convolutions and LeakyReLU(0.2). DCGAN's initialisation N(0, 0.02), Adam lr 2e-4, betas (0.5, 0.999),
batch 64, images scaled to [-1, 1]. As tinygen's GAN with conv nets on images is by default, it is self-conditioned:
before the first step ``train`` splits the training images into 50 k-means clusters, and both nets get a
sample's cluster as a one-hot input (a generated image's cluster is read off its own z), so the generator draws
every kind of digit in its share (tinygen/models/clusters.py; ``clusters=0`` gives the plain DCGAN). DCGAN's
width is 64 channels; 32 here (``--width``) keeps the default run about a minute on a laptop CPU. Every grid
uses the same z, so samples_*.png show the same samples take shape: after the default 400 steps they are bold
strokes and loops with the thickness and layout of handwriting, rarely a clear digit yet; ``--steps 2000`` (a few
minutes) gives recognisable digits.
"""
import argparse

import tinygen as tg
from tinygen.cli_parser import folder
from tinygen.models import build_model
from tinygen.train import train


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400, help="discriminator + generator updates (default 400)")
    ap.add_argument("--width", type=int, default=32, help="base channels of both nets (DCGAN: 64)")
    ap.add_argument("--out", type=folder, default="runs/dcgan_mnist", metavar="DIR", help="the run folder (default runs/dcgan_mnist)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="a few steps of a narrow net (the smoke test)")
    args = ap.parse_args(argv)

    tg.manual_seed(args.seed)
    width, steps = (8, 4) if args.quick else (args.width, args.steps)
    model = build_model("gan", data_shape=(1, 28, 28), arch="conv", width=width)
    print(model)
    result = train(model, "mnist", steps=steps, out_dir=args.out, overwrite=True, seed=args.seed)
    h = result.heldout
    print(f"after {result.step} steps D gives held-out digits {h['d_real_heldout']:.2f} and fakes "
          f"{h['d_fake_heldout']:.2f} (0.5 and 0.5 would mean it cannot tell them apart)")
    print(f"samples in {result.out_dir}/samples_{result.step:06d}.png, curves in {result.out_dir}/curves.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
