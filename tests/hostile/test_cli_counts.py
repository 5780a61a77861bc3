"""Memory-sized arguments: counts a user (or a script gone wrong) can type that would need more memory than any
machine has. Each must be refused with one sentence before anything large is allocated, or (where the count is
legal and the machine too small) end in one sentence about memory, exit code 2, never a traceback, never the
kernel's OOM killer.

The commands run in subprocesses limited to MEMORY_LIMIT of address space (tests/hostile/conftest.py), so a
regression is a failed test rather than a machine brought down.
"""
import json
import shutil

import pytest

from tinygen import figures
from tinygen.evaluation import MAX_IWAE_K
from tinygen.runs import MAX_SIZE


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    """A VAE (MLP) trained for 2 steps on the embedded MNIST, by the real command."""
    from tinygen.cli import main
    out = tmp_path_factory.mktemp("counts") / "vae"
    assert main(["train", "vae", "--steps", "2", "--batch-size", "64", "--out", str(out)]) == 0
    return out


PICTURE = "do not make a picture"
CASES = {
    "interpolate --steps 100000": ("vae", ["interpolate", "RUN", "--steps", "100000"], [PICTURE, "800,000 images"]),
    "interpolate --rows 1e8": ("vae", ["interpolate", "RUN", "--rows", "100000000"], [PICTURE]),
    "interpolate a GAN --rows 1e8": ("gan", ["interpolate", "RUN", "--rows", "100000000"], ["2-D points"]),
    "sample --n 1e9 images": ("vae", ["sample", "RUN", "--n", "1000000000"], [PICTURE, f"{figures.MAX_IMAGES:,}"]),
    "sample --n 1e9 points": ("gan", ["sample", "RUN", "--n", "1000000000"], [PICTURE, "points"]),
    "reconstruct --n 1e9": ("vae", ["reconstruct", "RUN", "--n", "1000000000"], [PICTURE]),
    "eval --iwae-k 1e9": ("vae", ["eval", "RUN", "--iwae-k", "1000000000"], ["iwae_k", f"{MAX_IWAE_K:,}"]),
}


def test_absurd_counts_are_refused_before_any_allocation(vae_run, gan_run_template, tinygen_batch, one_sentence):
    runs = {"vae": vae_run, "gan": gan_run_template}
    argvs = [[runs[which] if a == "RUN" else a for a in argv] for which, argv, _ in CASES.values()]
    for case, (code, err) in zip(CASES, tinygen_batch(argvs)):
        assert code == 2, (case, err)
        one_sentence(code, err, *CASES[case][2])


def _with_hidden(vae_run, run, hidden):
    shutil.copytree(vae_run, run)
    cfg = json.loads((run / "config.json").read_text())
    cfg["model"]["config"]["hidden"] = hidden
    (run / "config.json").write_text(json.dumps(cfg))
    return run


def test_a_config_with_absurd_layer_sizes_is_refused_before_building(vae_run, tmp_path, tinygen_batch,
                                                                      one_sentence):
    absurd = _with_hidden(vae_run, tmp_path / "absurd", [10 ** 9])
    large = _with_hidden(vae_run, tmp_path / "large", [60_000, 60_000])   # each plausible, together ~14 GB
    (a, b, c) = tinygen_batch([["sample", absurd], ["train", "vae", "--out", absurd, "--resume", "--steps", "4"],
                               ["sample", large]])
    for code, err in (a, b):
        one_sentence(code, err, "cannot be built", "1,000,000,000", f"{MAX_SIZE:,}")
    one_sentence(*c, "does not fit in memory")


def test_a_memory_error_anywhere_in_the_cli_is_one_sentence(vae_run, run_main, one_sentence, monkeypatch):
    def out_of_memory(*a, **kw):
        raise MemoryError("Unable to allocate 24.0 GiB for an array with shape (800000, 1, 28, 28)")
    monkeypatch.setattr(figures, "save_interpolations", out_of_memory)
    one_sentence(*run_main("interpolate", vae_run)[::2], "not enough memory", "24.0 GiB")
