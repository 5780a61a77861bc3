"""The ``tinygen`` command.

    tinygen info                 versions and devices
    tinygen gradcheck            every op's first- and second-order gradient check, as a table

Bad input gets one sentence on stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import platform
import sys


class CLIError(Exception):
    """A user mistake the CLI reports in one sentence (exit code 2)."""


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
    devices = ["cpu"]
    if backend.cuda_available():
        import cupy
        devices += [f"cuda:{i}" for i in range(cupy.cuda.runtime.getDeviceCount())]
    lines.append(f"devices: {', '.join(devices)}")
    lines.append(f"default device: {backend.get_default_device()}, default dtype: {tg.get_default_dtype()}")
    print("\n".join(lines))
    return 0


def cmd_gradcheck(args):
    from tinygen.autograd import REGISTRY
    from tinygen.gradcheck import GradcheckError, RandomDraw, check_op
    names = sorted(REGISTRY) if not args.ops else args.ops
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise CLIError(f"unknown op(s) {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}")
    print(f"{'op':<16}{'1st order max |err|':>22}{'2nd order max |err|':>22}  result")
    failed = 0
    for name in names:
        e1 = e2 = 0.0
        status = "ok"
        try:
            for seed in range(args.seeds):
                a, b = check_op(name, RandomDraw(seed), second_order=True)
                e1, e2 = max(e1, a), max(e2, b or 0.0)
        except GradcheckError as e:
            status, failed = f"FAIL: {e}", failed + 1
        print(f"{name:<16}{e1:>22.2e}{e2:>22.2e}  {status}")
    print(f"{len(names) - failed}/{len(names)} ops pass (float64 central differences, {args.seeds} random "
          f"draws each)")
    return 1 if failed else 0


def build_parser():
    p = argparse.ArgumentParser(prog="tinygen", description="tinygen: autograd from scratch and generative "
                                "models (AE, VAE, GAN, WGAN, WGAN-GP) on NumPy/CuPy.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    s = sub.add_parser("info", help="versions and available devices")
    s.set_defaults(func=cmd_info)
    s = sub.add_parser("gradcheck", help="check every op's first and second derivatives")
    s.add_argument("ops", nargs="*", help="op names (default: all registered ops)")
    s.add_argument("--seeds", type=int, default=3, help="random draws per op (default 3)")
    s.set_defaults(func=cmd_gradcheck)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except CLIError as e:
        print(f"tinygen: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinygen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
