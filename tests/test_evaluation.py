"""tinygen.evaluation: which metrics apply to which model, and `tinygen eval RUN`."""
import json

import numpy as np

import pytest

import tinygen as tg
from tinygen.cli import main
from tinygen.data import load_dataset
from tinygen.evaluation import EVAL_FILE, evaluate_model, format_metrics
from tinygen.models import build_model
from tinygen.train import train


@pytest.fixture(scope="module")
def mnist_heldout():
    return load_dataset("mnist", "test")


def test_vae_gets_likelihood_latent_and_image_metrics(mnist_heldout):
    tg.manual_seed(0)
    m = build_model("vae", data_shape=(1, 28, 28), arch="mlp")
    r = evaluate_model(m, "mnist", "image", mnist_heldout, iwae_k=20, iwae_n=40, n_samples=200)
    for key in ("fd_mnist", "fd_floor", "inception_score", "digits_covered", "swd", "heldout_nelbo", "iwae",
                "kl_per_dim", "active_units", "aggregate_kl", "latent_gauss_kl", "latent_frechet"):
        assert key in r, key
    assert r["iwae"] <= r["heldout_nelbo"] + 3 * r["iwae_se"] + 1.0   # IWAE_k is the tighter bound
    assert len(r["kl_per_dim"]) == m.latent_dim
    assert "held-out negative IWAE bound" in format_metrics(r)


def test_gan_on_a_toy_gets_mode_coverage_not_likelihood():
    tg.manual_seed(0)
    m = build_model("gan", data_shape=(2,), arch="mlp")
    r = evaluate_model(m, "ring8", "toy", load_dataset("ring8", "test"))
    assert {"modes_covered", "num_modes", "high_quality", "mode_kl", "swd", "swd_floor"} <= set(r)
    assert r["num_modes"] == 8 and "heldout_nelbo" not in r and "fd_mnist" not in r


def test_evaluating_does_not_change_the_global_random_state(mnist_heldout):
    tg.manual_seed(5)
    before = tg.backend.get_backend("cpu").rng_state()
    m = build_model("ae", data_shape=(1, 28, 28), arch="mlp")
    state = tg.backend.get_backend("cpu").rng_state()
    evaluate_model(m, "mnist", "image", mnist_heldout, n_samples=100)
    assert tg.backend.get_backend("cpu").rng_state() == state != before


def test_cli_eval_writes_eval_json(tmp_path, capsys):
    tg.manual_seed(0)
    m = build_model("wgan-gp", data_shape=(2,), arch="mlp")
    train(m, "ring8", steps=20, out_dir=tmp_path / "run", progress=False, pictures=False)
    assert main(["eval", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "modes covered" in out and "sliced Wasserstein" in out
    saved = json.loads((tmp_path / "run" / EVAL_FILE).read_text())
    assert saved["kind"] == "wgan-gp" and saved["step"] == 20


def test_cli_eval_of_a_missing_run_is_one_sentence(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinygen: error:") and err.count("\n") == 1 and "Traceback" not in err


def test_the_latent_headline_is_one_estimator_for_ae_and_vae_and_0_by_construction_for_gans(mnist_heldout):
    rows = {}
    for kind in ("ae", "vae", "gan"):
        tg.manual_seed(0)
        m = build_model(kind, data_shape=(1, 28, 28), arch="mlp")
        rows[kind] = evaluate_model(m, "mnist", "image", mnist_heldout, iwae_k=5, iwae_n=20, n_samples=100)
    for kind in ("ae", "vae"):
        r = rows[kind]
        assert r["prior_estimator"] == "gaussian_fit_kl" and r["prior_distance"] == r["latent_gauss_kl"] > 0
        text = format_metrics(r)
        assert "distance from N(0, I) (the headline)" in text and "Why this one:" in text
    assert rows["gan"]["prior_estimator"] == "by_construction" and rows["gan"]["prior_distance"] == 0.0
    assert "0 by construction" in format_metrics(rows["gan"])
    vae = format_metrics(rows["vae"])
    # the others are labelled by what they measure, one sentence each
    assert "KL of the aggregate posterior to N(0, I)" in vae and "the ELBO's KL term" in vae
    # the Gaussian fit's KL is at most the full KL of the mixture it fits (up to Monte Carlo error)
    v = rows["vae"]
    assert v["latent_gauss_kl"] <= v["aggregate_kl"] + 3 * v["aggregate_kl_se"]


def test_the_critics_memorisation_gap_on_training_and_held_out_images(mnist_heldout):
    tg.manual_seed(0)
    m = build_model("gan", data_shape=(1, 28, 28), arch="mlp", hidden=(16, 16))
    train_set = load_dataset("mnist", "train")
    r = evaluate_model(m, "mnist", "image", mnist_heldout, n_samples=100, train=train_set)
    assert 0 < r["critic_train"] < 1 and 0 < r["critic_heldout"] < 1          # D's probabilities
    assert r["critic_gap"] == pytest.approx(r["critic_train"] - r["critic_heldout"])
    # a "critic" that knows the training set: the gap shows it
    from tinygen.evaluation import critic_metrics
    def key(img):
        return np.round(np.asarray(img, np.float64).reshape(-1), 3).tobytes()
    known = {key(img * 2 - 1) for img in train_set.x[:2000]}
    m.score = lambda x, y=None: tg.tensor([20.0 if key(img) in known else -20.0 for img in x.numpy()])
    gap = critic_metrics(m, train_set, mnist_heldout)
    assert gap["critic_train"] > 0.999 and gap["critic_heldout"] < 0.001 and gap["critic_gap"] > 0.998


def test_heldout_means_weighs_each_chunk_by_its_size(mnist_heldout):
    from tinygen.evaluation import heldout_means
    tg.manual_seed(0)
    m = build_model("ae", data_shape=(1, 28, 28), arch="mlp")
    x = mnist_heldout.x[:130]
    whole = float(m.evaluate(tg.tensor(x))["mse"])
    assert np.isclose(heldout_means(m, x, chunk=50)["mse"], whole, rtol=1e-5)      # chunks of 50, 50, 30


def test_mode_coverage_counts_samples_on_the_modes():
    from tinygen.data import modes
    from tinygen.evaluation import mode_coverage_of
    centres = np.asarray(modes("ring8"), dtype=np.float32)
    on_six = np.repeat(centres[:6], 50, axis=0)
    res = mode_coverage_of(on_six, "ring8")
    assert res["modes_covered"] == 6 and res["high_quality"] == 100.0 and res["mode_kl"] > 0
