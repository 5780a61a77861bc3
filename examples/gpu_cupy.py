"""The same training on a GPU: tinygen's ops compute through the array namespace of their data, so one code
path runs NumPy on the CPU and CuPy on an NVIDIA GPU.

    pip install -e ".[gpu]"                     # CuPy for CUDA 12
    python examples/gpu_cupy.py [--epochs 5] [--compare-cpu] [--out runs/vae_mnist_cuda]

Trains the VAE of examples/vae_mnist.py with ``device="cuda"``: the DataLoader puts each batch on the GPU,
the model's parameters live there, and ``tinygen.manual_seed`` seeds the GPU's generator as well.
``--compare-cpu`` times a few steps on both devices. Without CuPy or a GPU the script says so in one sentence
and exits with status 1.
"""
import argparse
import sys
import time

import tinygen as tg
from tinygen.cli_parser import folder
from tinygen.data import DataLoader, load_dataset
from tinygen.models import build_model
from tinygen.train import train


def ms_per_step(device, steps=20):
    tg.manual_seed(0)
    model = build_model("vae", data_shape=(1, 28, 28)).to(device)
    opts = model.make_optimizers()
    x, y = load_dataset("mnist", "train")
    batches = iter(DataLoader(x, y, batch_size=128, device=device))
    model.train_step(*next(batches), opts)                       # warm-up (CuPy compiles its kernels)
    t = time.perf_counter()
    for _ in range(steps):
        logs = model.train_step(*next(batches), opts)            # 0-d tensors: no host sync per step
    logs = {k: float(v) for k, v in logs.items()}                # reading them waits for the GPU to finish
    return 1000 * (time.perf_counter() - t) / steps, logs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="cuda (default) or cuda:N")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--compare-cpu", action="store_true", help="time 20 steps on the CPU and on the GPU")
    ap.add_argument("--out", type=folder, default="runs/vae_mnist_cuda", metavar="DIR", help="the run folder (default "
                    "runs/vae_mnist_cuda)")
    ap.add_argument("--quick", action="store_true", help="a few steps only")
    args = ap.parse_args(argv)
    try:
        tg.backend.get_backend(args.device)
    except (tg.DeviceError, ValueError) as e:
        print(f"gpu_cupy.py: {e}", file=sys.stderr)
        return 1
    if args.compare_cpu:
        for device in ("cpu", args.device):
            ms, _ = ms_per_step(device)
            print(f"{device:>7}: {ms:7.1f} ms per VAE training step (batch 128)")
    tg.manual_seed(0)
    model = build_model("vae", data_shape=(1, 28, 28))
    length = {"steps": 5} if args.quick else {"epochs": args.epochs}
    res = train(model, "mnist", device=args.device, out_dir=args.out, overwrite=True, **length)
    print(f"trained on {args.device} in {res.elapsed:.0f} s: held-out negative ELBO "
          f"{res.heldout['nelbo_heldout']:.1f} nats; pictures in {res.out_dir}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
