"""tinygen compare: the whole path on a toy (quick), the report's table and sentences, bad input."""
import json
import os
import signal

import numpy as np
import pytest

import tinygen as tg
from tinygen.cli import main
from tinygen.compare import NETS, run_compare
from tinygen.data import load_dataset
from tinygen.evaluation import evaluate_model
from tinygen.models import GAN
from tinygen.report import sentences


def test_quick_compare_on_ring8_writes_the_report(tmp_path):
    out = tmp_path / "cmp"
    summary = run_compare(data="ring8", out=out, quick=True, models=("vae", "gan", "wgan-gp"), workers=1)
    assert set(summary["results"]) == {"vae", "gan", "wgan-gp"}
    for f in ("report.md", "report.html", "samples.png", "results.json", "curves_gan.png"):
        assert (out / f).exists(), f
    md = (out / "report.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 3 + 1                    # header, three models, the real-vs-real floor
    assert all(r.count(" | ") == rows[0].count(" | ") for r in rows)  # no stray "|" breaks a row
    assert "modes covered" in md and "Only the VAE gives a likelihood" in md
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 2
    assert json.loads((out / "results.json").read_text())["data"] == "ring8"
    # --runs re-evaluates the same folders without training; links planted at the report's names are replaced,
    # never followed (the files are written like tg.save's: a temporary, then a rename)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (tmp_path / "again").mkdir()
    for f in ("report.md", "report.html", "results.json"):
        (tmp_path / "again" / f).symlink_to(victim)
    again = run_compare(out=tmp_path / "again", runs=[out / "runs" / "gan", out / "runs" / "vae"], workers=1,
                        quick=True)
    assert again["results"]["gan"]["eval"]["modes_covered"] == summary["results"]["gan"]["eval"]["modes_covered"]
    assert victim.read_text() == "keep"
    assert not any((tmp_path / "again" / f).is_symlink() for f in ("report.md", "report.html", "results.json"))


def test_a_per_model_learning_rate_reaches_the_optimizers_and_the_nets_description(tmp_path, monkeypatch):
    from tinygen import compare
    monkeypatch.setitem(compare.NETS, "ring8", {"gan": {"arch": "mlp", "lr": 5e-4}})
    summary = run_compare(data="ring8", out=tmp_path / "lr", quick=True, models=("gan",), workers=1)
    cfg = json.loads((tmp_path / "lr" / "runs" / "gan" / "config.json").read_text())
    assert cfg["optimizers"]["d"]["lr"] == cfg["optimizers"]["g"]["lr"] == 5e-4
    assert summary["results"]["gan"]["nets"].endswith(", Adam lr 0.0005 (default 0.001)")
    again = run_compare(out=tmp_path / "again", runs=[tmp_path / "lr" / "runs" / "gan"], workers=1, quick=True)
    assert again["results"]["gan"]["nets"] == summary["results"]["gan"]["nets"]


def test_the_nets_description_names_every_setting_that_is_not_the_default():
    from tinygen.compare import describe_nets
    from tinygen.models import build_model
    wgan = build_model("wgan", data_shape=(1, 28, 28), arch="conv", width=16, augment="", ema=0)
    assert describe_nets(wgan) == describe_nets(wgan, 5e-5) == "conv (DCGAN-style, width 16), no DiffAugment"
    assert describe_nets(wgan, 2e-4) == "conv (DCGAN-style, width 16), no DiffAugment, RMSprop lr 0.0002 " \
                                        "(default 5e-05)"
    clipped = build_model("wgan", data_shape=(1, 28, 28), arch="conv", width=16, augment="", ema=0, clip=0.02,
                          n_critic=1)
    assert describe_nets(clipped) == "conv (DCGAN-style, width 16), no DiffAugment, n_critic 1 (default 5), clip c " \
                                     "0.02 (default 0.01)"
    assert build_model("wgan", data_shape=(2,), arch="mlp").clip == 0.01        # Algorithm 1's c by default
    gp = build_model("wgan-gp", data_shape=(1, 28, 28), arch="mlp", n_critic=2)
    assert describe_nets(gp, 3e-4).endswith(", samples from G's weight average (EMA 0.999), Adam lr 0.0003 "
                                            "(default 0.0001), n_critic 2 (default 5)")

    # compare's clipped WGAN on MNIST: an MLP critic in the box [-0.5, 0.5], which the report names
    nets = dict(NETS["mnist"]["wgan"])
    lr = nets.pop("lr")
    mnist_wgan = build_model("wgan", data_shape=(1, 28, 28), **nets)
    assert describe_nets(mnist_wgan, lr) == (
        "MLP G 100-256-512-784, D 784-512-256-1, no DiffAugment, samples from G's weight average (EMA 0.999), "
        "RMSprop lr 0.001 (default 5e-05), n_critic 1 (default 5), clip c 0.5 (default 0.01)")
    opts = mnist_wgan.make_optimizers(1.0)                       # steps far larger than the box
    mnist_wgan.train_step(tg.tensor(np.ones((8, 1, 28, 28), dtype="float32")), None, opts)
    assert max(float(np.abs(p.numpy()).max()) for p in mnist_wgan.critic.parameters()) == 0.5


def _ev(fd, digits, entropy, **kw):
    return {"eval": {"fd_mnist": fd, "fd_floor": 20.0, "digits_covered": digits, "class_entropy": entropy,
                     "diversity": 0.9, "pixel_spread": 0.18, "pixel_spread_real": 0.19, **kw}}


def test_sentences_follow_the_numbers():
    vae = _ev(90.0, 10, 2.2, heldout_nelbo=110.0, iwae=105.0, iwae_k=500, aggregate_kl=1.5, active_units=14,
              kl_per_dim=[0.1] * 20, prior_estimator="gaussian_fit_kl", prior_distance=0.8, heldout_kl=25.0,
              aggregate_n=2000)
    summary = {"results": {"vae": vae, "gan": _ev(50.0, 7, 1.8, prior_estimator="by_construction"),
                           "wgan-gp": _ev(60.0, 10, 2.25)}}
    text = " ".join(sentences(summary))
    assert "the closest to the data are the GAN's samples, at 50.0 (2.5x the floor); then WGAN-GP 60.0, VAE 90.0" \
        in text
    assert "The best adversarial model, the GAN (50.0), is closer to the data than the VAE (90.0)" in text
    assert "All ten digits appear in the samples of VAE, WGAN-GP. Fewer digits: GAN 7." in text
    assert "most even spread over the digits is the WGAN-GP's" in text
    assert "collapsed" not in text and "blank" not in text
    assert "105.0 nats" in text
    assert "Distance from N(0, I), one estimator on every row" in text and "VAE 0.80" in text
    assert "GAN: the distance is 0 by construction" in text
    assert "per-image KL minus log 2,000 (17.40)" in text
    summary["results"]["vae"]["eval"]["fd_mnist"] = 40.0
    assert "The VAE (40.0) is closer to the data than every adversarial model; the best of them, the GAN, is at " \
           "50.0" in " ".join(sentences(summary))


def test_training_seconds_are_reported_and_judged():
    res = {"vae": {"seconds": 100.0, "cpu_seconds": 99.0, **_ev(90.0, 10, 2.2)},
           "gan": {"seconds": 104.0, "cpu_seconds": 60.0, **_ev(50.0, 10, 2.2)}}
    first, second = sentences({"results": res})[:2]
    assert "from 100 s (VAE) to 104 s (GAN), a spread of 4%, within the 10%" in first
    assert "ranged from 60 to 99 CPU seconds (39% apart); on a busy machine" in second
    res["gan"]["seconds"] = 130.0
    assert "the budget was NOT equal in fact" in sentences({"results": res})[0]
    assert not any("CPU seconds" in t for t in sentences({"results": res, "quick": True}))


class _Planted(GAN):
    """A GAN whose samples are whatever ``make(n)`` returns (images in [-1, 1])."""

    def __init__(self, make):
        super().__init__(data_shape=(1, 28, 28), arch="mlp", hidden=(8, 8))
        self.make = make

    def sample(self, n, labels=None, z=None):
        return tg.tensor(self.make(n))


def test_a_planted_collapsed_run_and_a_blank_run_are_called_so():
    held = load_dataset("mnist", "test")
    ones = load_dataset("mnist", "train", range=(-1, 1))
    one_digit = ones.x[ones.y == 1][:20]
    rng = np.random.default_rng(0)

    def collapsed(n):                    # twenty 1s, over and over, with a little noise
        x = one_digit[rng.integers(0, len(one_digit), n)]
        return np.clip(x + 0.05 * rng.standard_normal(x.shape), -1, 1).astype("float32")

    def blank(n):                        # mid-grey everywhere
        return np.zeros((n, 1, 28, 28), dtype="float32")

    res = {}
    for kind, make in (("gan", collapsed), ("wgan", blank)):
        res[kind] = {"eval": evaluate_model(_Planted(make), "mnist", "image", held, n_samples=300)}
    assert res["gan"]["eval"]["digits_covered"] <= 2 and res["wgan"]["eval"]["pixel_spread"] < 0.01
    text = " ".join(sentences({"results": res}))
    assert "The GAN collapsed: its samples show only" in text
    assert "The WGAN is blank: its samples are (nearly) one image" in text
    assert "learned nothing that resembles the data" in text


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_ctrl_c_to_compare_stops_its_workers_and_leaves_none_behind(tmp_path, tinygen_process):
    runs = [tmp_path / "runs" / "gan", tmp_path / "runs" / "wgan"]
    lock_pid = tinygen_process.lock_pid
    argv = ["compare", "--data", "ring8", "--models", "gan,wgan", "--budget-minutes", "10", "--jobs", "2", "--out",
            tmp_path]
    def training():         # both workers past their first metrics line: a step is done, so the checkpoint
        return all(lock_pid(r) and (r / "metrics.jsonl").exists() and (r / "metrics.jsonl").stat().st_size > 0
                   for r in runs)            # the interruption saves is at step >= 1 (not the step-0 one)
    with tinygen_process.started(argv, training, timeout=120) as p:
        workers = [lock_pid(r) for r in runs]
        p.send_signal(signal.SIGINT)                                 # to the parent alone, as `kill -INT` does
        stdout, stderr = p.communicate(timeout=90)
        assert all(tinygen_process.gone(pid) for pid in workers), "a worker outlived compare"
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert all(tg.load(r / "checkpoint.npz")["step"] >= 1 for r in runs)


@pytest.mark.parametrize("argv, needle", [
    (["compare", "--models", "vae,flow"], "unknown model(s) flow"),
    (["compare", "--data", "swissroll"], "mnist, ring8 or grid25"),
    (["compare", "--runs", "/nonexistent/run"], "no run folder"),
    (["compare", "--budget-minutes", "-3"], "budget-minutes"),
])
def test_bad_input_is_one_line_and_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
