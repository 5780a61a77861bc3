"""WGAN-GP on MNIST: the Wasserstein critic kept 1-Lipschitz by a gradient penalty, a second derivative.

    python examples/wgan_gp_mnist.py [--steps 2000] [--arch mlp|conv] [--out runs/wgan_gp_mnist] [--quick]

The critic f maximises E[f(x)] - E[f(G(z))] - lambda E[(||grad f(x_hat)||_2 - 1)^2] at random interpolates
x_hat between real and generated images. grad f(x_hat) comes from ``tinygen.grad(..., create_graph=True)``,
so the penalty's gradient with respect to the critic's weights runs backward through a backward pass: every
op's derivative is differentiated again (docs/gradients.md, and `tinygen gradcheck` checks each one).
The paper's settings: lambda 10, n_critic 5, Adam lr 1e-4, betas (0, 0.9), batch 64. One step is one critic
update; the generator moves every 5th. "wdist" in the curves is the critic's estimate of the Wasserstein
distance: it falls as the samples improve. MLP nets by default (about a minute on a CPU): after the default
2,000 steps (400 generator updates) the samples are blurry 0s, 1s and 9s; ``--steps 5000`` (what ``tinygen
demo`` runs) gives most digits, more steps sharper ones; ``--arch conv`` gives the DCGAN-style nets, better
digits for about ten times the time per step.
"""
import argparse

import tinygen as tg
from tinygen.cli_parser import folder
from tinygen.models import build_model
from tinygen.train import train


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000, help="critic updates (default 2000 = 400 generator ones)")
    ap.add_argument("--arch", choices=("mlp", "conv"), default="mlp")
    ap.add_argument("--out", type=folder, default="runs/wgan_gp_mnist", metavar="DIR", help="the run folder (default "
                    "runs/wgan_gp_mnist)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="a few steps only (the smoke test)")
    args = ap.parse_args(argv)

    tg.manual_seed(args.seed)
    model = build_model("wgan-gp", data_shape=(1, 28, 28), arch=args.arch,
                        **({"width": 8} if args.quick and args.arch == "conv" else {}))
    print(model)
    result = train(model, "mnist", steps=10 if args.quick else args.steps, out_dir=args.out, overwrite=True,
                   seed=args.seed)
    print(f"after {result.step} critic steps: training wdist {result.logs.get('wdist', float('nan')):.3f}, "
          f"gradient penalty {result.logs.get('gp', float('nan')):.3f}, held-out wdist "
          f"{result.heldout['wdist_heldout']:.3f}")
    print(f"samples in {result.out_dir}/samples_{result.step:06d}.png, interpolations between draws of z in "
          f"{result.out_dir}/interpolations.png, curves in {result.out_dir}/curves.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
