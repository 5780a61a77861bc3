"""Smoke test of examples/: every script runs with its tiny settings (``--quick``) in a subprocess and writes
what it says. The scripts run two at a time (this machine has two cores), each with one BLAS thread."""
import concurrent.futures as cf
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tinygen as tg

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# script -> (arguments, files it must write, text its stdout must contain)
CASES = {
    "autograd_by_hand": (["--quick", "--out", "abh"], ["abh/gradients.txt", "abh/vae_graph.png"],
                         "the engine's gradients against finite differences: agree"),
    "vae_mnist": (["--quick", "--out", "vae"], ["vae/samples_000008.png", "vae/reconstructions.png",
                                                "vae/interpolations.png", "vae/curves.png"], "held-out negative ELBO"),
    "ae_vs_vae_latent": (["--quick", "--out", "latent"], ["latent/ae_vs_vae_latent.png"], "vae: codes span"),
    "dcgan_mnist": (["--quick", "--out", "dcgan"], ["dcgan/samples_000004.png", "dcgan/curves.png"],
                    "D gives held-out digits"),
    "gan_vs_wgan_ring": (["--quick", "--out", "ring"], ["ring/gan_vs_wgan_ring8.png"], "WGAN-GP"),
    "wgan_gp_mnist": (["--quick", "--out", "wgp"], ["wgp/samples_000010.png", "wgp/interpolations.png"],
                      "gradient penalty"),
    "latent_interpolation": (["--quick", "--out", "interp"], ["interp/latent_interpolation.png"],
                             "wrote interp/latent_interpolation.png"),
    "conditional_vae": (["--quick", "--out", "cvae"], ["cvae/digit_7.png", "cvae/styles.png"], "wrote cvae/digit_7"),
    "gpu_cupy": (["--quick", "--out", "gpu"], [], ""),
}


def test_every_example_is_covered():
    assert {p.stem for p in EXAMPLES.glob("*.py")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_example_takes_quick_and_a_folder_for_out(name, capsys, tmp_path):
    """The same two flags everywhere: --quick (seconds) and --out DIR (a folder, never a file name)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit):
        module.main(["--help"])
    usage = capsys.readouterr().out
    assert "--quick" in usage and "--out DIR" in usage
    args, files, _ = CASES[name]
    assert "--quick" in args and "--out" in args                  # and the smoke test runs it so
    folder = args[args.index("--out") + 1]
    assert all(f.startswith(folder + "/") for f in files)          # what it writes goes inside the folder
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    for bad in (tmp_path / "grid.png", a_file):                     # a file name is refused, nothing is made
        with pytest.raises(SystemExit) as e:
            module.main(["--quick", "--out", str(bad)])
        assert e.value.code == 2 and "expected a folder" in capsys.readouterr().err
    assert not (tmp_path / "grid.png").exists() and a_file.read_text() == "keep"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("examples")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")

    def run(name):
        cwd = root / name
        cwd.mkdir()
        r = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), *CASES[name][0]], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=300)
        return name, cwd, r
    order = sorted(CASES, key=lambda n: n in ("autograd_by_hand", "gpu_cupy"))   # the short ones last
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        return {name: (cwd, r) for name, cwd, r in pool.map(run, order)}


@pytest.mark.parametrize("name", [n for n in CASES if n != "gpu_cupy"])
def test_example_runs(results, name):
    cwd, r = results[name]
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    args, files, text = CASES[name]
    for f in files:
        assert (cwd / f).is_file() and (cwd / f).stat().st_size > 1000, f
    assert text in r.stdout


def test_gpu_example_without_a_gpu_says_so_in_one_sentence(results):
    cwd, r = results["gpu_cupy"]
    if tg.cuda_available():
        assert r.returncode == 0, r.stderr
        return
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "gpu_cupy.py: device 'cuda:0'" in r.stderr and "pip install tinygen[gpu]" in r.stderr
