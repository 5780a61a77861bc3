"""tinygen compare: the whole path on a toy (quick), the report's table and sentences, bad input."""
import json
import os
import signal

import pytest

import tinygen as tg
from tinygen.cli import main
from tinygen.compare import run_compare
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
    # --runs re-evaluates the same folders without training
    again = run_compare(out=tmp_path / "again", runs=[out / "runs" / "gan", out / "runs" / "vae"], workers=1,
                        quick=True)
    assert again["results"]["gan"]["eval"]["modes_covered"] == summary["results"]["gan"]["eval"]["modes_covered"]


def _ev(fd, digits, entropy, **kw):
    return {"eval": {"fd_mnist": fd, "fd_floor": 20.0, "digits_covered": digits, "class_entropy": entropy, **kw}}


def test_sentences_follow_the_numbers():
    vae = _ev(90.0, 10, 2.2, heldout_nelbo=110.0, iwae=105.0, iwae_k=500, aggregate_kl=1.5, active_units=14,
              kl_per_dim=[0.1] * 20)
    summary = {"results": {"vae": vae, "gan": _ev(50.0, 7, 1.8), "wgan-gp": _ev(60.0, 10, 2.25)}}
    text = " ".join(sentences(summary))
    assert "closest samples are the GAN's, at 50.0 (2.5x the floor)" in text
    assert "adversarial models give sharper samples than the VAE" in text
    assert "All ten digits appear in the samples of VAE, WGAN-GP" in text and "GAN 7" in text
    assert "most even spread over the digits is the WGAN-GP's" in text
    summary["results"]["vae"]["eval"]["fd_mnist"] = 40.0
    assert "Here the VAE is closer than every adversarial model" in " ".join(sentences(summary))
    assert "105.0 nats" in text and "14 of 20 dimensions active" in text


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_ctrl_c_to_compare_stops_its_workers_and_leaves_none_behind(tmp_path, tinygen_process):
    runs = [tmp_path / "runs" / "gan", tmp_path / "runs" / "wgan"]
    lock_pid = tinygen_process.lock_pid
    argv = ["compare", "--data", "ring8", "--models", "gan,wgan", "--budget-minutes", "10", "--jobs", "2", "--out",
            tmp_path]
    with tinygen_process.started(argv, lambda: all(lock_pid(r) and (r / "checkpoint.npz").exists() for r in runs),
                                 timeout=120) as p:
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
