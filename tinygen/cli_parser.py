"""The ``tinygen`` command's arguments: one argparse sub-parser per subcommand (what :mod:`tinygen.cli` runs is
there; its usage block lists the commands). :func:`tinygen.cli.build_parser` builds it with the model kinds and
the command functions, so that this module imports nothing of tinygen."""
from __future__ import annotations

import argparse
import os

__all__ = ["build_parser", "folder"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (exit 2), not the usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int_at_least(minimum, what):
    """An argparse type: an integer >= ``minimum``, else "expected ``what``, got ..." (usage error, exit 2)."""
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or v < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v
    return parse


positive_int = _int_at_least(1, "a positive integer")
nonneg_int = _int_at_least(0, "an integer >= 0")


def positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def threads(v):
    return "auto" if v == "auto" else positive_int(v)


FILE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".json", ".jsonl", ".npz", ".txt", ".md", ".html")


def folder(text):
    """An argparse type for an --out that is a folder (the examples' run folders): refuses a name that reads
    like a file (x.png) and a path that is an existing file, instead of making a folder of that name."""
    if not text or text.lower().endswith(FILE_SUFFIXES):
        raise argparse.ArgumentTypeError(f"expected a folder, got {text!r} (a file name: the pictures and files "
                                         "go inside the folder)")
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"expected a folder, got {text!r}, which is a file")
    return text


def build_parser(model_kinds, commands, graph_kinds):
    """The parser of every subcommand; ``commands`` maps each subcommand's name to the function that runs it
    (``args.func``), ``model_kinds`` are the MODEL choices, ``graph_kinds`` those of `tinygen graph`."""
    p = _Parser(prog="tinygen", description="tinygen: autograd from scratch and generative models (AE, VAE, "
                "GAN, WGAN, WGAN-GP) on NumPy/CuPy.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_demo(sub)
    _add_train(sub, model_kinds)
    _add_run_pictures(sub)
    _add_eval(sub)
    _add_compare(sub, model_kinds)
    _add_tools(sub, model_kinds, graph_kinds)
    for name, s in sub.choices.items():
        s.set_defaults(func=commands[name])
    return p


def _add_demo(sub):
    s = sub.add_parser("demo", help="train a VAE and a WGAN-GP on MNIST and the GAN family on ring8; "
                       "write their pictures")
    s.add_argument("--out", default="tinygen-demo", help="the folder to write (default tinygen-demo)")
    s.add_argument("--quick", action="store_true", help="a few seconds of training each (a smoke test)")
    s.add_argument("--jobs", type=positive_int, default=None,
                   help="trainings run side by side (default: 2 on a machine with 2 or more cores)")


def _add_train(sub, model_kinds):
    s = sub.add_parser("train", help="train a model; writes a run folder")
    s.add_argument("model", choices=model_kinds, metavar="MODEL", help=f"one of {', '.join(model_kinds)}")
    s.add_argument("--data", default=None, help="mnist (default), ring8, grid25, swissroll, mnist-full, "
                   "fashion-mnist, or a folder of MNIST-style IDX files")
    s.add_argument("--arch", choices=("mlp", "conv"), default=None,
                   help="the nets (default: mlp for AE/VAE, conv for the GANs on images, mlp on 2-D data)")
    s.add_argument("--conditional", action="store_true", help="give the labels to the model (ask for a 7)")
    aug = s.add_mutually_exclusive_group()
    aug.add_argument("--augment", default=None, metavar="POLICY", help="GANs on images: DiffAugment's policy, "
                     "cutout (the default for the conv nets), translation, or translation,cutout (the paper's)")
    aug.add_argument("--no-augment", action="store_true", help="GANs on images: show the critic the images as "
                     "they are, without DiffAugment")
    s.add_argument("--ema", type=float, default=None, metavar="DECAY", help="GANs: draw samples from an average of "
                   "the generator's recent weights, with this decay (default 0.999 on images, none on 2-D data; 0: "
                   "no average)")
    s.add_argument("--clusters", type=nonneg_int, default=None, metavar="K", help="the GAN: condition both nets on "
                   "K k-means clusters of the training images, drawn in their shares (default 50 for the conv nets "
                   "on unconditional images; 0: a plain unconditional GAN)")
    length = s.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=positive_int, help="passes over the data (total, also on --resume)")
    length.add_argument("--steps", type=positive_int, help="training steps (total, also on --resume)")
    s.add_argument("--batch-size", type=positive_int, default=None, help="default: the model's published one "
                   "(on --resume: the run's)")
    s.add_argument("--lr", type=positive_float, default=None, help="default: the model's published one "
                   "(on --resume: the run's)")
    s.add_argument("--seed", type=nonneg_int, default=None, help="default 0 (on --resume: the run's)")
    s.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    s.add_argument("--threads", type=threads, default=None,
                   help="CPU threads (BLAS and optimizer): N, or auto (the default): the cores other processes "
                        "leave free")
    s.add_argument("--out", default=None, help="the run folder (default runs/MODEL-DATA[-ARCH][-cond])")
    s.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint "
                   "(--epochs/--steps: the new total; --lr: the learning rate from now on)")
    s.add_argument("--overwrite", action="store_true", help="replace a run already in --out")


def _add_run_pictures(sub):
    """sample, reconstruct, interpolate: a picture from a trained run."""
    for name, helptext in (("sample", "a grid of samples from a run"),
                           ("reconstruct", "held-out images and their reconstructions (AE, VAE)"),
                           ("interpolate", "decodings along straight lines in latent space")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("run", metavar="RUN", help="a run folder written by tinygen train")
        if name == "sample":
            s.add_argument("--n", type=positive_int, default=None,
                           help="how many (default 64; 2,500 points on 2-D data; 10 per class when conditional)")
            s.add_argument("--label", type=int, default=None, help="the class to draw (conditional models)")
        elif name == "reconstruct":
            s.add_argument("--n", type=positive_int, default=20, help="how many images (default 20)")
        else:
            s.add_argument("--rows", type=positive_int, default=8, help="lines to draw (default 8)")
            s.add_argument("--steps", type=positive_int, default=10, help="images per line (default 10)")
        s.add_argument("--out", default=None, help="the PNG to write (default: inside RUN)")
        s.add_argument("--seed", type=nonneg_int, default=0)
        s.add_argument("--device", default="cpu")


def _add_eval(sub):
    s = sub.add_parser("eval", help="every metric that applies to a run; writes RUN/eval.json")
    s.add_argument("run", metavar="RUN", help="a run folder written by tinygen train")
    s.add_argument("--iwae-k", type=positive_int, default=500, help="importance samples for the VAE's IWAE "
                   "bound (default 500)")
    s.add_argument("--seed", type=nonneg_int, default=0)
    s.add_argument("--device", default="cpu")


def _add_compare(sub, model_kinds):
    s = sub.add_parser("compare", help="AE, VAE, GAN, WGAN and WGAN-GP on the same data and budget: a report")
    s.add_argument("--data", default="mnist", help="mnist (default), ring8 or grid25")
    s.add_argument("--budget-minutes", type=positive_float, default=10.0,
                   help="the whole comparison's wall time, training and evaluation (default 10)")
    s.add_argument("--out", default="tinygen-compare", help="the report folder (default tinygen-compare)")
    s.add_argument("--runs", nargs="+", default=None, metavar="RUN", help="evaluate these run folders instead "
                   "of training")
    s.add_argument("--models", default=None, help=f"a comma-separated subset of {','.join(model_kinds)}")
    s.add_argument("--arch", choices=("mlp", "conv"), default=None,
                   help="the same nets for every model (default: per model, the nets that learned fastest per CPU "
                        "second; the report says which)")
    s.add_argument("--seed", type=nonneg_int, default=0)
    s.add_argument("--jobs", type=positive_int, default=None, help="trainings side by side (default 2)")
    s.add_argument("--quick", action="store_true", help="30 steps each (a smoke test)")


def _add_tools(sub, model_kinds, graph_kinds):
    """info, gradcheck, graph, derivation: the engine's own tools."""
    sub.add_parser("info", help="versions and available devices")
    s = sub.add_parser("gradcheck", help="first and second derivatives against finite differences: ops, "
                       "composites, models")
    s.add_argument("names", nargs="*", metavar="NAME", help="ops, composites (softmax, log_softmax, "
                   f"cross_entropy, gaussian_kl, binary_cross_entropy, gradient_penalty), models "
                   f"({', '.join(model_kinds)}), or ops / composites / models (default: every op)")
    s.add_argument("--all", action="store_true", help="every op, composite and model")
    s.add_argument("--seeds", type=positive_int, default=3, help="random draws per op and composite (default 3)")
    s = sub.add_parser("graph", help="draw the graph of one training step of a small model")
    s.add_argument("model", choices=graph_kinds, metavar="MODEL", help=f"one of {', '.join(graph_kinds)}")
    s.add_argument("--out", default=None, help="the picture (.png, .svg, .pdf) or DOT source (.dot) to write "
                   "(default graph-MODEL.png)")
    s.add_argument("--engine", choices=("auto", "dot", "matplotlib"), default="auto",
                   help="Graphviz's dot when installed (auto, the default), or tinygen's own layout")
    s = sub.add_parser("derivation", help="a worked example of docs/derivations.md, by the engine and by finite "
                       "differences")
    s.add_argument("name", metavar="NAME", help="reparameterisation, kl, bernoulli, gaussian, elbo, softmax-ce, "
                   "gan, wgan or gradient-penalty")
