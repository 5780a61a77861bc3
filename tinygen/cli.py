"""The ``tinygen`` command.

    tinygen demo [--out DIR] [--quick]        the tour: a VAE and a WGAN-GP on MNIST, the GAN family on ring8
    tinygen train MODEL [--data mnist|ring8|grid25|swissroll|PATH] [--arch mlp|conv] [--conditional]
                  [--epochs N | --steps N] [--batch-size N] [--lr X] [--seed N] [--device cpu|cuda]
                  [--threads N|auto] [--augment POLICY | --no-augment] [--ema DECAY] [--clusters K] [--out DIR]
                  [--resume] [--overwrite]
    tinygen sample RUN [--n 64] [--label 7] [--out FILE]
    tinygen reconstruct RUN [--n 20] [--out FILE]          (AE, VAE)
    tinygen interpolate RUN [--rows 8] [--steps 10] [--out FILE]
    tinygen eval RUN [--iwae-k 500]                        every metric that applies; writes RUN/eval.json
    tinygen compare [--data mnist|ring8|grid25] [--budget-minutes 10] [--models ae,vae,...] [--runs RUN ...]
                    [--arch mlp|conv] [--jobs N] [--quick] [--out DIR]    the five models side by side: a report
    tinygen info                              versions and devices
    tinygen gradcheck [NAMES...] [--all]      first- and second-order gradient checks (ops, composites, models)
    tinygen graph MODEL [--out graph.png]     the graph of one training step of a small MODEL
    tinygen derivation NAME                   a worked example of docs/derivations.md, checked numerically

``python -m tinygen`` is the same command. Bad input (including a damaged or forged run folder, and counts too
large for memory or for a picture) gets one sentence on stderr and exit code 2, never a traceback
(``TINYGEN_DEBUG=1`` shows it). A NaN in training exits with 1; Ctrl-C during training with 130 and SIGTERM
with 143, both after saving a checkpoint.
"""
from __future__ import annotations

import os
import platform
import signal
import sys
import warnings
from pathlib import Path

# the length of a `tinygen train` run when neither --epochs nor --steps is given (on images: the model's
# default_epochs)
DEFAULT_TOY_STEPS = 5000                                                       # on the 2-D toys


class CLIError(Exception):
    """A user mistake the CLI reports in one sentence (exit code 2)."""


# -------------------------------------------------------------------------------------------------------------
# info, gradcheck
# -------------------------------------------------------------------------------------------------------------
def cmd_info(args):
    import numpy

    import tinygen as tg
    from tinygen import backend
    lines = [f"tinygen {tg.__version__}", f"python {platform.python_version()} ({platform.machine()})",
             f"numpy {numpy.__version__}"]
    try:
        import array_api_compat
        lines.append(f"array-api-compat {array_api_compat.__version__}")
    except ImportError:
        lines.append("array-api-compat: not installed")
    try:
        import cupy
        lines.append(f"cupy {cupy.__version__}")
    except ImportError:
        lines.append("cupy: not installed (GPU support: pip install tinygen[gpu])")
    except Exception as e:  # a broken CUDA install raises at import
        lines.append(f"cupy: installed but does not import ({type(e).__name__}: {e})")
    from tinygen.backend import fused
    lines.append(f"fused optimizer updates: {fused.status()}")
    devices = ["cpu"]
    if backend.cuda_available():
        import cupy
        devices += [f"cuda:{i}" for i in range(cupy.cuda.runtime.getDeviceCount())]
    lines.append(f"devices: {', '.join(devices)}")
    lines.append(f"default device: {backend.get_default_device()}, default dtype: {tg.get_default_dtype()}")
    print("\n".join(lines))
    return 0


def cmd_gradcheck(args):
    from tinygen.gradcheck_suite import run, select
    try:
        rows = select(args.names, args.all, args.seeds)
    except ValueError as e:
        raise CLIError(str(e)) from None
    return 1 if run(rows, args.seeds) else 0


def cmd_graph(args):
    from tinygen.model_steps import draw_step
    try:
        print(draw_step(args.model, args.out or f"graph-{args.model}.png", engine=args.engine))
    except RuntimeError as e:                    # --engine dot without Graphviz
        raise CLIError(str(e)) from None
    return 0


def cmd_derivation(args):
    from tinygen.derivations import run
    return 1 if run(args.name) else 0


# -------------------------------------------------------------------------------------------------------------
# train
# -------------------------------------------------------------------------------------------------------------
def _device(name):
    from tinygen import backend
    try:
        device = backend.normalize_device(name)
    except ValueError as e:
        raise CLIError(str(e)) from None
    backend.get_backend(device)                   # DeviceError (one sentence) when it is not there
    return device


def _default_out(kind, data_name, arch, conditional):
    name = Path(str(data_name)).name or "data"
    parts = [kind, name] + ([arch] if arch else []) + (["cond"] if conditional else [])
    return str(Path("runs") / "-".join(parts))


def cmd_train(args):
    import tinygen as tg
    from tinygen.data import load_dataset
    from tinygen.models import AdversarialModel, build_model, model_class, model_kinds
    from tinygen.train import train

    if args.threads is not None:          # else auto, unless OMP/OPENBLAS_NUM_THREADS fixed it (tinygen._threads)
        tg.set_num_threads(args.threads)
    device = _device(args.device)
    out = args.out or _default_out(args.model, args.data or "mnist", args.arch, args.conditional)
    epochs, steps = args.epochs, args.steps
    if args.resume:
        model, data_name, epochs, steps = _resumed(args, out)
    else:
        data_name = args.data or "mnist"
        ds = load_dataset(data_name, "train")
        tg.manual_seed(args.seed or 0)
        kw = {"data_shape": tuple(ds.x.shape[1:]), "conditional": args.conditional}
        if args.arch:
            kw["arch"] = args.arch
        elif ds.kind == "toy":
            kw["arch"] = "mlp"                    # the GANs' default nets are conv, for images
        if args.conditional:
            kw["num_classes"] = int(ds.num_classes)
        for flag, key, value in (("--no-augment" if args.no_augment else "--augment", "augment",
                                  "" if args.no_augment else args.augment), ("--ema", "ema", args.ema),
                                 ("--clusters", "clusters", args.clusters)):
            if value is None:
                continue
            adversarial = [k for k in model_kinds() if issubclass(model_class(k), AdversarialModel)
                           and (key != "clusters" or model_class(k).offers_clusters)]
            if args.model not in adversarial:
                which = "the GAN" if key == "clusters" else "the adversarial models"
                raise CLIError(f"{flag} applies to {which} ({', '.join(adversarial)}), not {args.model}")
            kw[key] = value
        model = build_model(args.model, **kw)
        if epochs is None and steps is None:
            if ds.kind == "toy":
                steps = DEFAULT_TOY_STEPS
            else:
                epochs = model.default_epochs
    length = f"{epochs} epochs" if epochs is not None else f"{steps} steps"
    print(f"training {args.model} on {data_name} for {length} ({model.num_parameters():,} parameters, "
          f"{device}) into {out}", flush=True)
    command = "tinygen " + " ".join(args.argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow chatter: a NaN is reported in one line
        result = train(model, data_name, epochs=epochs, steps=steps, batch_size=args.batch_size, lr=args.lr,
                       out_dir=out, device=device, seed=args.seed, resume=args.resume, overwrite=args.overwrite,
                       command=command)
    _print_result(result)
    return 0


def _resumed(args, out):
    """(model, data name, epochs, steps) of the run in ``out`` that ``train --resume`` continues. Every other
    flag either takes effect in :func:`tinygen.train.train` (--epochs/--steps: the new total, --lr: from now
    on, --device) or must agree with the run (refused with one sentence otherwise)."""
    from tinygen import runs
    if args.overwrite:
        raise CLIError(f"--resume continues the run in {out} and --overwrite replaces it: give one of them")
    old = runs.read_config(out)
    model_cfg = old["model"]["config"]
    if old["model"]["kind"] != args.model:
        raise CLIError(f"{out} holds a {old['model']['kind']} run, not a {args.model} run")
    for opt, key in (("arch", "arch"), ("conditional", "conditional")):
        given = getattr(args, opt)
        if given not in (None, False) and model_cfg.get(key) != given:
            raise CLIError(f"{out} was trained with --{opt} {model_cfg.get(key)}; a resumed run keeps it")
    if args.no_augment or args.augment is not None:
        given = "" if args.no_augment else ",".join(p.strip() for p in args.augment.split(",") if p.strip())
        if model_cfg.get("augment", "") != given:
            had = model_cfg.get("augment") or "no augmentation"
            raise CLIError(f"{out} was trained with {had}; a resumed run keeps its augmentation")
    data_name = old["data"]["name"]
    if args.data is not None and args.data != data_name:
        raise CLIError(f"{out} was trained on {data_name!r}; a resumed run keeps its data")
    epochs, steps = args.epochs, args.steps
    if epochs is None and steps is None:
        epochs, steps = old["training"].get("epochs"), old["training"].get("steps")
    model = runs.build_from_config(old)
    if args.ema is not None and not hasattr(model, "ema"):
        raise CLIError(f"--ema applies to the adversarial models, not {args.model}")
    if args.ema is not None and model.ema != args.ema:      # the model's: a run older than --ema has the default
        raise CLIError(f"{out} was trained with --ema {model.ema:g}; a resumed run keeps its generator average")
    if args.clusters is not None and not getattr(model, "offers_clusters", False):
        raise CLIError(f"--clusters applies to the GAN, not {args.model}")
    if args.clusters is not None and model.clusters != args.clusters:
        raise CLIError(f"{out} was trained with --clusters {model.clusters}; a resumed run keeps its clusters")
    return model, data_name, epochs, steps


def _print_result(result):
    logs = ", ".join(f"{k} {v:.4g}" for k, v in result.logs.items())
    held = ", ".join(f"{k} {v:.4g}" for k, v in result.heldout.items())
    print(f"done: step {result.step} in {result.elapsed:.0f} s; {logs}" + (f"; held-out: {held}" if held else ""))
    files = sorted(p.name for p in Path(result.out_dir).iterdir() if not p.name.startswith("."))
    print(f"wrote {result.out_dir}/: {', '.join(files)}")


# -------------------------------------------------------------------------------------------------------------
# sample, reconstruct, interpolate
# -------------------------------------------------------------------------------------------------------------
def _load(args):
    import tinygen as tg
    from tinygen.runs import load_run
    device = _device(args.device)
    run = load_run(args.run, device=device)
    tg.manual_seed(args.seed)
    return run


def _heldout(run, what):
    from tinygen.data import DatasetError, load_dataset
    name = run.data_name
    if not name or name == "arrays":
        raise CLIError(f"{what} needs the run's data, but {run.path} was trained on in-memory arrays")
    rng = run.model.data_range or (0, 1)
    try:
        return load_dataset(name, "test", range=(-1, 1) if rng[0] < 0 else (0, 1))
    except DatasetError as e:
        raise CLIError(f"cannot load the run's data {name!r} for {what}: {e}") from None


def cmd_sample(args):
    from tinygen import figures
    run = _load(args)
    model = run.model
    if args.label is not None and not model.conditional:
        raise CLIError(f"the {run.kind} in {run.path} is not conditional, so it cannot take --label (train one "
                       f"with --conditional)")
    if args.label is not None and not 0 <= args.label < model.num_classes:
        raise CLIError(f"--label must be between 0 and {model.num_classes - 1}, got {args.label}")
    suffix = "" if args.label is None else f"_label{args.label}"
    out = Path(args.out or run.path / f"sample{suffix}.png")
    title = f"{run.kind}: {args.n} samples" + ("" if args.label is None else f" of class {args.label}") + \
        f" (step {run.step})"
    if run.data_kind == "toy":
        from tinygen.data import modes
        real = _heldout(run, "the scatter").x[:figures.TOY_SAMPLES]
        figures.save_samples(model, out, data_kind="toy", n=args.n, label=args.label, real=real,
                             modes=modes(run.data_name.lower()), title=title)
    else:
        figures.save_samples(model, out, n=args.n, label=args.label, title=title)
    print(out)
    return 0


def cmd_reconstruct(args):
    from tinygen import figures
    run = _load(args)
    if not run.model.has_encoder:
        raise CLIError(f"reconstruct needs an AE or a VAE; {run.path} holds a {run.kind}")
    if run.data_kind != "image":
        raise CLIError(f"reconstruct draws images; {run.path} was trained on 2-D points")
    ds = _heldout(run, "reconstruct")
    out = Path(args.out or run.path / "reconstructions.png")
    figures.save_reconstructions(run.model, ds.x, out, y=ds.y, n=args.n,
                                 title=f"{run.kind}: held-out images and their reconstructions (step {run.step})")
    print(out)
    return 0


def cmd_interpolate(args):
    from tinygen import figures, plots
    run = _load(args)
    if run.data_kind != "image":
        raise CLIError(f"interpolate draws images; {run.path} was trained on 2-D points")
    out = Path(args.out or run.path / "interpolations.png")
    if run.model.has_encoder:
        ds = _heldout(run, "interpolate")
        # pairs of different images, chosen by the seed
        import numpy as np
        idx = np.random.default_rng(args.seed).permutation(len(ds.x))[:2 * args.rows]
        figures.save_interpolations(run.model, ds.x[idx], out, y=ds.y[idx], rows=args.rows, steps=args.steps,
                                    title=f"{run.kind}: decoded along lines between the codes of two images")
    else:
        rows = figures.interpolation_rows(run.model, rows=args.rows, steps=args.steps)
        title = f"{run.kind}: generated along lines between two draws of z"
        if getattr(run.model, "clusters", 0):
            title += " (z's first coordinate, which picks the cluster, held)"
        plots.save_interpolations(rows, out, value_range=run.model.data_range or (0, 1), title=title)
    print(out)
    return 0


def cmd_eval(args):
    from tinygen.evaluation import EVAL_FILE, check_iwae_k, evaluate_run, format_metrics
    check_iwae_k(args.iwae_k)                         # before anything is loaded
    run = _load(args)
    if run.data_name is None:
        raise CLIError(f"eval needs the run's data, but {run.path} was trained on in-memory arrays")
    res = evaluate_run(run.path, device=args.device, iwae_k=args.iwae_k, seed=args.seed)
    print(format_metrics(res))
    print(f"(written to {run.path / EVAL_FILE})")
    return 0


def cmd_compare(args):
    from tinygen.compare import run_compare
    from tinygen.models import model_kinds
    kinds = model_kinds()
    if args.runs:
        for r in args.runs:
            if not Path(r).is_dir():
                raise CLIError(f"no run folder at {r!r}")
    models = tuple(args.models.split(",")) if args.models else kinds
    bad = [m for m in models if m not in kinds]
    if bad:
        raise CLIError(f"unknown model(s) {', '.join(bad)}; choose from {', '.join(kinds)}")
    if args.data not in ("mnist", "ring8", "grid25"):
        raise CLIError(f"compare runs on mnist, ring8 or grid25, not {args.data!r}")
    run_compare(data=args.data, budget_minutes=args.budget_minutes, out=args.out, runs=args.runs, seed=args.seed,
                workers=args.jobs, quick=args.quick, models=models, arch=args.arch)
    return 0


def cmd_demo(args):
    from tinygen.demo import run_demo
    return run_demo(out=args.out, quick=args.quick, jobs=args.jobs)


# -------------------------------------------------------------------------------------------------------------
# the parser (its subcommands: tinygen/cli_parser.py)
# -------------------------------------------------------------------------------------------------------------
COMMANDS = {"demo": cmd_demo, "train": cmd_train, "sample": cmd_sample, "reconstruct": cmd_reconstruct,
            "interpolate": cmd_interpolate, "eval": cmd_eval, "compare": cmd_compare, "info": cmd_info,
            "gradcheck": cmd_gradcheck, "graph": cmd_graph, "derivation": cmd_derivation}


def build_parser():
    """The argument parser of the ``tinygen`` command (each subcommand's arguments: :mod:`tinygen.cli_parser`)."""
    from tinygen import cli_parser
    from tinygen.model_steps import KINDS             # the models `tinygen graph` has a small version of
    from tinygen.models import model_kinds            # the registered models (read when the parser is built)
    return cli_parser.build_parser(model_kinds(), COMMANDS, KINDS)


def _one_sentence(e):
    if isinstance(e, OSError) and e.strerror:          # no "[Errno 28]" in front of a sentence
        text = e.strerror if e.filename is None else f"{e.strerror}: {e.filename}"
    else:
        text = str(e).strip() or type(e).__name__
    return text.splitlines()[0]


def _interrupted(e, args):
    """Ctrl-C or SIGTERM: the exit code is 128 + the signal's number (130, 143), as a shell reports it."""
    signum = int(getattr(e, "signum", signal.SIGINT))
    from tinygen.train import TrainingInterrupted
    if not isinstance(e, TrainingInterrupted):
        print("tinygen: interrupted" + (f": {e}" if str(e) else ""), file=sys.stderr)
        return 128 + signum
    hint = ""
    if args.func is cmd_train:
        out = args.out or _default_out(args.model, args.data or "mnist", args.arch, args.conditional)
        hint = f" (tinygen train {args.model} --out {out} --resume)"
    print(f"tinygen: {e}{hint}", file=sys.stderr)
    return 128 + signum


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:              # a usage mistake (one line already on stderr), or --help
        return e.code
    args.argv = argv
    from tinygen import _malloc
    _malloc.tune()                     # tinygen owns this process: keep freed array memory in it (see _malloc)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if getattr(args, "func", None) is cmd_interpolate and args.steps < 2:
        print("tinygen interpolate: error: argument --steps: an interpolation needs at least 2 steps",
              file=sys.stderr)
        return 2
    from tinygen.backend import DeviceError
    from tinygen.serialization import CheckpointError
    from tinygen.train import NonFiniteLossError
    debug = os.environ.get("TINYGEN_DEBUG")
    try:
        return args.func(args)
    except CLIError as e:
        print(f"tinygen: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:                  # Ctrl-C, SIGTERM (training: after saving a checkpoint)
        return _interrupted(e, args)
    except NonFiniteLossError as e:
        if debug:
            raise
        print(f"tinygen: error: {_one_sentence(e)}", file=sys.stderr)
        return 1
    except MemoryError as e:
        if debug:
            raise
        print(f"tinygen: error: not enough memory for this command ({_one_sentence(e)}); ask for less",
              file=sys.stderr)
        return 2
    except (ValueError, DeviceError, CheckpointError, OSError) as e:
        if debug:
            raise
        print(f"tinygen: error: {_one_sentence(e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
