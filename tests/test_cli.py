"""The `tinygen` command (tinygen/cli.py, tinygen/demo.py): each command on tiny settings, and every bad input
answered with one sentence on stderr, exit code 2 and no traceback.

Most cases call ``main(argv)`` in this process (fast); a few run the installed console script in a subprocess
to check what a user really sees, including Ctrl-C.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygen as tg
from tinygen.cli import main
from tinygen.data import load_mnist, write_idx


def run_main(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err, text=None):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tinygen") and "error" in lines[0], err
    assert "Traceback" not in err
    if text:
        assert text in lines[0], err


def tinygen_cmd(*args, timeout=120, **kw):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "tinygen.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A GAN trained for a few steps on ring8."""
    out = tmp_path_factory.mktemp("runs") / "gan-ring8"
    assert main(["train", "gan", "--data", "ring8", "--steps", "6", "--batch-size", "64", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def idx_folder(tmp_path_factory):
    """A folder of MNIST-style IDX files: 256 training and 64 test images (a --data PATH)."""
    d = tmp_path_factory.mktemp("idx")
    x, y = load_mnist("train")
    for split, n in (("train", 256), ("t10k", 64)):
        write_idx(d / f"{split}-images-idx3-ubyte", np.round(x[:n, 0] * 255).astype(np.uint8))
        write_idx(d / f"{split}-labels-idx1-ubyte", y[:n].astype(np.uint8))
    return d


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory, idx_folder):
    """A conditional VAE trained for a few steps on the IDX folder."""
    out = tmp_path_factory.mktemp("runs") / "cvae"
    assert main(["train", "vae", "--data", str(idx_folder), "--conditional", "--steps", "4", "--batch-size", "64",
                 "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def gan_image_run(tmp_path_factory, idx_folder):
    """A WGAN-GP (MLP) trained for two critic steps on the IDX folder."""
    out = tmp_path_factory.mktemp("runs") / "wgp"
    assert main(["train", "wgan-gp", "--data", str(idx_folder), "--arch", "mlp", "--steps", "2", "--out",
                 str(out)]) == 0
    return out


# --- the commands ---------------------------------------------------------------------------------------------
def test_train_writes_a_run_folder(toy_run):
    names = {p.name for p in toy_run.iterdir()}
    assert {"config.json", "metrics.jsonl", "checkpoint.npz", "curves.png", "samples_000006.png"} <= names
    cfg = json.loads((toy_run / "config.json").read_text())
    assert cfg["model"]["kind"] == "gan" and cfg["model"]["config"]["arch"] == "mlp"
    assert cfg["data"]["name"] == "ring8" and cfg["training"]["batch_size"] == 64
    assert cfg["command"].startswith("tinygen train gan --data ring8")


def test_train_resume_continues_to_the_new_total(toy_run, capsys):
    code, out, err = run_main(capsys, "train", "gan", "--out", toy_run, "--resume", "--steps", "8")
    assert code == 0, err
    assert "done: step 8" in out
    assert json.loads((toy_run / "config.json").read_text())["sessions"][-1]["from_step"] == 6


def test_flags_given_with_resume_take_effect_and_are_recorded_or_are_refused(capsys, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "gan", "--data", "ring8", "--steps", "2", "--batch-size", "64", "--out", str(out)]) == 0
    code, _, err = run_main(capsys, "train", "gan", "--out", out, "--resume", "--steps", "4", "--lr", "0.5")
    assert code == 0, err
    ck, cfg = tg.load(out / "checkpoint.npz"), json.loads((out / "config.json").read_text())
    assert [g["lr"] for o in ck["optimizers"].values() for g in o["param_groups"]] == [0.5, 0.5]   # in effect
    assert cfg["training"]["lr"] == 0.5 and cfg["optimizers"]["d"]["lr"] == cfg["optimizers"]["g"]["lr"] == 0.5
    assert cfg["sessions"][-1] == {"started": cfg["sessions"][-1]["started"], "from_step": 2, "lr": 0.5}
    code, _, err = run_main(capsys, "train", "gan", "--out", out, "--resume", "--steps", "5", "--seed", "0")
    assert code == 0, err                                            # the run's own seed; lr: the checkpoint's
    assert json.loads((out / "config.json").read_text())["training"]["lr"] == 0.5
    assert tg.load(out / "checkpoint.npz")["optimizers"]["g"]["param_groups"][0]["lr"] == 0.5
    for flags, text in ((["--seed", "3"], "seed 3: it was started with seed 0"),
                        (["--overwrite"], "--overwrite replaces it"),
                        (["--batch-size", "32"], "the batch size is 32, the run's is 64"),
                        (["--data", "grid25"], "keeps its data"), (["--arch", "conv"], "keeps it"),
                        (["--augment", "cutout"], "trained with no augmentation; a resumed run keeps"),
                        (["--ema", "0.9"], "trained with --ema 0; a resumed run keeps its generator average")):
        one_line_error(*run_main(capsys, "train", "gan", "--out", out, "--resume", "--steps", "9", *flags)[::2], text)
    assert tg.load(out / "checkpoint.npz")["step"] == 5
    code, _, err = run_main(capsys, "train", "gan", "--out", out, "--resume", "--steps", "6", "--no-augment")
    assert code == 0, err                                            # agrees with the run: nothing to refuse


def test_sample_command(toy_run, vae_run, capsys, tmp_path):
    code, out, err = run_main(capsys, "sample", toy_run, "--n", "300", "--out", tmp_path / "s.png")
    assert code == 0, err and (tmp_path / "s.png").stat().st_size > 0
    code, out, err = run_main(capsys, "sample", vae_run, "--label", "7", "--n", "8")
    assert code == 0, err
    assert out.strip() == str(vae_run / "sample_label7.png") and (vae_run / "sample_label7.png").exists()
    code, out, err = run_main(capsys, "sample", vae_run)                    # a row per class
    assert code == 0 and (vae_run / "sample.png").exists()


def test_gan_on_images_samples_and_interpolates_between_draws_of_z(gan_image_run, capsys):
    assert {"samples_000002.png", "interpolations.png", "curves.png"} <= {p.name for p in gan_image_run.iterdir()}
    code, out, err = run_main(capsys, "interpolate", gan_image_run, "--rows", "2", "--steps", "4", "--out",
                              gan_image_run / "i.png")
    assert code == 0, err and (gan_image_run / "i.png").exists()
    code, out, err = run_main(capsys, "sample", gan_image_run, "--n", "9")
    assert code == 0, err and (gan_image_run / "sample.png").exists()


def test_reconstruct_and_interpolate_commands(vae_run, toy_run, gan_image_run, capsys, tmp_path):
    code, out, err = run_main(capsys, "reconstruct", vae_run, "--n", "8")
    assert code == 0, err and (vae_run / "reconstructions.png").exists()
    code, out, err = run_main(capsys, "interpolate", vae_run, "--rows", "3", "--steps", "5", "--out",
                              tmp_path / "i.png")
    assert code == 0, err and (tmp_path / "i.png").exists()
    one_line_error(*run_main(capsys, "reconstruct", toy_run)[::2], "needs an AE or a VAE")
    one_line_error(*run_main(capsys, "reconstruct", gan_image_run)[::2], "holds a wgan-gp")
    one_line_error(*run_main(capsys, "interpolate", toy_run)[::2], "trained on 2-D points")


def test_info_and_gradcheck_still_work(capsys):
    code, out, _ = run_main(capsys, "info")
    assert code == 0 and out.startswith("tinygen ")
    code, out, _ = run_main(capsys, "gradcheck", "exp", "--seeds", "1")
    assert code == 0 and "1/1 ops pass" in out


def test_demo_quick(tmp_path, monkeypatch):
    """The whole demo path on a few steps per model, in two worker processes as by default."""
    import tinygen.demo as demo
    monkeypatch.setattr(demo, "QUICK_STEPS", 4)
    assert demo.run_demo(out=tmp_path, quick=True, jobs=2, progress=False) == 0
    assert (tmp_path / "mnist_samples.png").exists() and (tmp_path / "ring8_gan_family.png").exists()
    assert {"samples_000004.png", "reconstructions.png", "interpolations.png", "curves.png"} <= \
        {p.name for p in (tmp_path / "vae-mnist").iterdir()}
    for name in ("wgan-gp-mnist", "gan-ring8", "wgan-ring8", "wgan-gp-ring8"):
        assert (tmp_path / name / "samples_000004.png").exists()
    for name in ("gan-ring8", "wgan-ring8", "wgan-gp-ring8"):                # VEEGAN's numbers in the log
        last = json.loads((tmp_path / name / "metrics.jsonl").read_text().splitlines()[-1])
        assert {"modes_covered", "high_quality"} <= set(last)


def test_train_no_augment_turns_diffaugment_off(tmp_path, capsys):
    for flag, expect in ((["--no-augment"], ""), ([], "cutout"), (["--augment", "translation,cutout"],
                                                                   "translation,cutout")):
        out = tmp_path / f"run{len(flag)}"
        assert main(["train", "gan", "--arch", "conv", "--steps", "2", "--out", str(out)] + flag) == 0
        assert json.loads((out / "config.json").read_text())["model"]["config"]["augment"] == expect
    capsys.readouterr()


def test_resume_judges_ema_by_the_model_it_rebuilds(tmp_path, capsys, vae_run):
    out = tmp_path / "old"
    assert main(["train", "gan", "--arch", "conv", "--steps", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    cfg = json.loads((out / "config.json").read_text())
    del cfg["model"]["config"]["ema"]                      # a run from before --ema (rebuilt with the default)
    (out / "config.json").write_text(json.dumps(cfg))
    one_line_error(*run_main(capsys, "train", "gan", "--out", out, "--resume", "--steps", "3", "--ema", "0")[::2],
                   "trained with --ema 0.999; a resumed run keeps")
    one_line_error(*run_main(capsys, "train", "gan", "--out", out, "--resume", "--steps", "3")[::2],
                   "the model's settings differ (ema: None in the run, 0.999 now)")   # refused, not guessed
    one_line_error(*run_main(capsys, "train", "vae", "--out", vae_run, "--resume", "--ema", "0.9")[::2],
                   "--ema applies to the adversarial models, not vae")


def test_clusters_are_the_gan_s_and_a_run_keeps_them(tmp_path, capsys):
    one_line_error(*run_main(capsys, "train", "wgan", "--clusters", "5", "--steps", "1", "--out",
                             tmp_path / "w")[::2], "--clusters applies to the GAN (gan), not wgan")
    one_line_error(*run_main(capsys, "train", "gan", "--clusters", "1", "--steps", "1", "--out",
                             tmp_path / "g")[::2], "clusters must be 0 (none) or an integer >= 2, got 1")
    out = tmp_path / "old"
    assert main(["train", "gan", "--arch", "conv", "--clusters", "0", "--steps", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    cfg = json.loads((out / "config.json").read_text())
    del cfg["model"]["config"]["clusters"]                 # a run from before --clusters: a plain GAN
    (out / "config.json").write_text(json.dumps(cfg))
    one_line_error(*run_main(capsys, "train", "gan", "--out", out, "--resume", "--steps", "3", "--clusters", "50")[::2],
                   "was trained with --clusters 0; a resumed run keeps its clusters")
    code, _, err = run_main(capsys, "train", "gan", "--out", out, "--resume", "--steps", "3")
    assert code == 0, err


def test_train_ema_sets_the_generator_average(tmp_path, capsys):
    for flag, expect in ((["--ema", "0"], 0.0), ([], 0.999), (["--ema", "0.99"], 0.99)):
        out = tmp_path / f"run{''.join(flag)}"
        assert main(["train", "gan", "--arch", "conv", "--steps", "2", "--out", str(out)] + flag) == 0
        assert json.loads((out / "config.json").read_text())["model"]["config"]["ema"] == expect
        assert any(k.startswith("generator_average.") for k in tg.load(out / "checkpoint.npz")["model"]) == bool(expect)
    capsys.readouterr()


def test_demo_gives_each_ring8_model_the_generator_updates_it_needs_and_says_why_one_falls_short():
    import tinygen.demo as demo
    from tinygen.models import build_model
    updates = {}
    for job in demo.JOBS:
        if job["data"] == "ring8":
            model = build_model(job["kind"], data_shape=(2,), **job["model"])
            updates[job["kind"]] = job["steps"] // model.n_critic
            assert model.make_optimizers()["d"].param_groups[0]["lr"] == {"gan": 1e-3, "wgan": 5e-5,
                                                                           "wgan-gp": 1e-4}[job["kind"]]
    assert updates == {"gan": 5000, "wgan": 5000, "wgan-gp": 2000}
    assert demo.shortfall("WGAN", {"modes": 8, "high_quality": 40.0}) == ""
    note = demo.shortfall("WGAN", {"modes": 4, "high_quality": 1.0})
    assert note.startswith("Falls short: 4/8 modes. Why: too few generator updates")
    assert "only 11% of its samples" in demo.shortfall("WGAN", {"modes": 8, "high_quality": 11.0})
    assert "mode collapse" in demo.shortfall("GAN", {"modes": 3, "high_quality": 50.0})


# --- bad input: one sentence, exit 2 ------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, text", [
    (["train", "diffusion"], "invalid choice: 'diffusion'"),
    (["train", "vae", "--data", "cifar"], "unknown dataset 'cifar'"),
    (["train", "vae", "--epochs", "2", "--steps", "5"], "not allowed with argument"),
    (["train", "vae", "--epochs", "-3"], "expected a positive integer, got '-3'"),
    (["train", "vae", "--steps", "0"], "expected a positive integer, got '0'"),
    (["train", "vae", "--batch-size", "-1"], "expected a positive integer"),
    (["train", "vae", "--lr", "-0.1"], "expected a positive number"),
    (["train", "vae", "--seed", "-1"], "expected an integer >= 0"),
    (["train", "vae", "--device", "tpu"], "unknown device 'tpu'"),
    (["train", "gan", "--data", "ring8", "--arch", "conv", "--steps", "1"], "conv nets take images"),
    (["train", "vae", "--no-augment", "--steps", "1"], "--no-augment applies to the adversarial models"),
    (["train", "vae", "--augment", "cutout", "--steps", "1"], "--augment applies to the adversarial models"),
    (["train", "gan", "--augment", "color", "--steps", "1"], "unknown augmentation 'color'"),
    (["train", "gan", "--augment", "cutout", "--no-augment"], "not allowed with argument"),
    (["train", "vae", "--ema", "0.9", "--steps", "1"], "--ema applies to the adversarial models"),
    (["train", "gan", "--ema", "1.5", "--steps", "1"], "ema must be a decay in [0, 1)"),
    (["sample", "/nonexistent/run"], "there is no run folder '/nonexistent/run'"),
    (["reconstruct", "/nonexistent/run"], "there is no run folder"),
    (["interpolate", "/nonexistent/run"], "there is no run folder"),
    (["sample"], "the following arguments are required: RUN"),
    (["gradcheck", "nosuchop"], "unknown op(s) nosuchop"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["interpolate", "/nonexistent/run", "--steps", "1"], "at least 2 steps"),
])
def test_bad_input_is_one_sentence_and_exit_2(capsys, tmp_path, argv, text):
    argv = argv + (["--out", str(tmp_path / "r")] if argv[0] == "train" and "--out" not in argv else [])
    code, out, err = run_main(capsys, *argv)
    one_line_error(code, err, text)


def test_device_cuda_without_cupy(capsys, tmp_path):
    if tg.cuda_available():
        pytest.skip("this machine has a GPU")
    one_line_error(*run_main(capsys, "train", "vae", "--device", "cuda", "--out", tmp_path / "r")[::2],
                   "device 'cuda:0'")


def test_dataset_folder_with_wrong_files(capsys, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 20)   # a labels magic number
    (bad / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 20)
    code, out, err = run_main(capsys, "train", "vae", "--data", bad, "--out", tmp_path / "r")
    one_line_error(code, err, "train-images-idx3-ubyte")
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(*run_main(capsys, "train", "vae", "--data", empty, "--out", tmp_path / "r")[::2])


def test_run_folder_mistakes(toy_run, vae_run, capsys, tmp_path):
    one_line_error(*run_main(capsys, "train", "gan", "--data", "ring8", "--steps", "2", "--out", toy_run)[::2],
                   "already holds a run")
    one_line_error(*run_main(capsys, "train", "vae", "--out", toy_run, "--resume")[::2], "holds a gan run")
    one_line_error(*run_main(capsys, "train", "vae", "--out", tmp_path / "none", "--resume")[::2],
                   "there is no run folder")
    one_line_error(*run_main(capsys, "sample", toy_run, "--label", "3")[::2], "not conditional")
    one_line_error(*run_main(capsys, "sample", vae_run, "--label", "12")[::2], "between 0 and 9")
    (tmp_path / "notarun").mkdir()
    one_line_error(*run_main(capsys, "sample", tmp_path / "notarun")[::2], "has no config.json")


def test_console_script_bad_input_has_no_traceback():
    r = tinygen_cmd("train", "vae", "--data", "nope", "--steps", "1", timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "unknown dataset 'nope'" in r.stderr


def test_ctrl_c_saves_a_checkpoint_and_resume_continues(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    p = subprocess.Popen([sys.executable, "-m", "tinygen.cli", "train", "wgan-gp", "--data", "ring8", "--steps",
                          "100000", "--batch-size", "32", "--out", str(out)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 60
        while not (out / "checkpoint.npz").exists():                 # written at step 0
            assert time.time() < deadline and p.poll() is None, p.communicate()
            time.sleep(0.1)
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "checkpoint saved" in stderr and "--resume" in stderr
    step = tg.load(out / "checkpoint.npz")["step"]
    assert step >= 1
    r = tinygen_cmd("train", "wgan-gp", "--out", out, "--resume", "--steps", step + 3, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"done: step {step + 3}" in r.stdout


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_sigterm_is_handled_like_ctrl_c_exit_143(tmp_path, tinygen_process):
    out = tmp_path / "run"
    argv = ["train", "gan", "--data", "ring8", "--steps", "100000", "--batch-size", "32", "--out", out]
    with tinygen_process.started(argv, lambda: (out / "checkpoint.npz").exists()) as p:
        time.sleep(1.0)
        p.send_signal(signal.SIGTERM)
        stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 143, stderr
    assert "Traceback" not in stderr and "SIGTERM" in stderr
    assert "checkpoint saved" in stderr and f"tinygen train gan --out {out} --resume" in stderr
    step = tg.load(out / "checkpoint.npz")["step"]
    assert step >= 1 and not (out / ".tinygen.lock").exists()
    r = tinygen_cmd("train", "gan", "--out", out, "--resume", "--steps", step + 2, timeout=120)
    assert r.returncode == 0 and f"done: step {step + 2}" in r.stdout, r.stderr


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_sigterm_to_the_demo_stops_its_workers_with_checkpoints_and_leaves_none_behind(tmp_path,
                                                                                       tinygen_process):
    from tinygen.demo import JOBS
    runs = [tmp_path / job["name"] for job in JOBS[:2]]                 # the two the demo starts first
    lock_pid = tinygen_process.lock_pid
    with tinygen_process.started(["demo", "--out", tmp_path, "--jobs", "2"],
                                 lambda: all(lock_pid(r) and (r / "checkpoint.npz").exists() for r in runs),
                                 timeout=120) as p:
        workers = [lock_pid(r) for r in runs]
        assert p.pid not in workers and len(set(workers)) == 2
        p.send_signal(signal.SIGTERM)                                  # the parent alone, as `kill` does
        stdout, stderr = p.communicate(timeout=90)
        assert all(tinygen_process.gone(pid) for pid in workers), "a worker outlived the demo"
    assert p.returncode == 143, stderr
    assert "Traceback" not in stderr and "; stopped: " in stderr and "checkpoint saved in" in stderr
    for r in runs:
        assert tg.load(r / "checkpoint.npz")["step"] >= 0 and not (r / ".tinygen.lock").exists()


def test_nan_in_training_is_one_sentence_and_exit_1(capsys, tmp_path):
    code, out, err = run_main(capsys, "train", "gan", "--data", "ring8", "--steps", "40", "--lr", "1e30",
                              "--out", tmp_path / "r")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "training stopped at step 1" in lines[0] and "is nan" in lines[0]
    assert "detect_anomaly traced it to" in lines[0]
    # the line that matters is the model's (no user code runs between tinygen's loop and the op)
    assert f"called at {os.path.join(os.path.dirname(tg.__file__), 'models', 'nets.py')}:" in lines[0], lines[0]


def test_demo_does_not_import_the_cli():
    # cli imports demo (for `tinygen demo`); demo never imports cli back (`python -m tinygen` is the way in)
    code = "import sys, tinygen.demo; print('tinygen.cli' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert out.stdout.strip() == "False"


def test_the_usage_block_names_every_command():
    import tinygen.cli as cli
    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = [name for name in sub.choices if f"    tinygen {name}" not in cli.__doc__]
    assert not missing, f"tinygen/cli.py's usage block does not show {missing}"
