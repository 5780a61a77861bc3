"""The self-conditioned GAN (tinygen/models/clusters.py and its use in tinygen/models/gan.py)."""
import json

import numpy as np
import pytest

import tinygen as tg
from tinygen import runs
from tinygen.train import train
from tinygen.models import build_model
from tinygen.models.clusters import ClusterCode


def images(n=64, seed=0):
    """n 8x8 images in [-1, 1] from four clearly different templates (a bright quadrant each)."""
    rng = np.random.default_rng(seed)
    x = np.full((n, 1, 8, 8), -1.0, dtype=np.float32)
    for i in range(n):
        q = i % 4
        x[i, 0, (q // 2) * 4:(q // 2) * 4 + 4, (q % 2) * 4:(q % 2) * 4 + 4] = 1.0
    return np.clip(x + rng.normal(0, 0.05, x.shape).astype(np.float32), -1, 1)


def gan(**kw):
    kw.setdefault("clusters", 4)
    return build_model("gan", data_shape=(1, 8, 8), width=2, latent_dim=3, **kw)


def test_the_defaults_self_condition_only_the_unconditional_dcgan():
    assert build_model("gan").clusters == 50                                  # MNIST, conv
    assert build_model("gan", arch="mlp").clusters == 0
    assert build_model("gan", conditional=True).clusters == 0
    assert build_model("gan", data_shape=(2,), arch="mlp").clusters == 0
    assert build_model("wgan-gp").clusters == 0 and "clusters" not in build_model("wgan").config()
    assert build_model("gan", clusters=0).clusters == 0 and build_model("gan", clusters=7).config()["clusters"] == 7


@pytest.mark.parametrize("kw, message", [
    (dict(clusters=1), "0 \\(none\\) or an integer >= 2"), (dict(clusters=-3), "0 \\(none\\)"),
    (dict(clusters=2.5), "0 \\(none\\)"), (dict(clusters=True), "0 \\(none\\)"),
    (dict(clusters=5, conditional=True), "a conditional model has labels")])
def test_bad_cluster_settings_are_refused_in_one_sentence(kw, message):
    with pytest.raises(ValueError, match=message):
        build_model("gan", **kw)
    with pytest.raises(TypeError, match="clusters"):                       # not an argument of the WGANs
        build_model("wgan-gp", data_shape=(1, 8, 8), clusters=5)


def test_training_before_the_clusters_are_fitted_says_what_to_do():
    model = gan()
    with pytest.raises(ValueError, match=r"call model.fit_data\(training_images\) once before training"):
        model.train_step(tg.tensor(images(8)), None, model.make_optimizers())


def test_fit_finds_the_templates_and_draws_each_cluster_in_its_share():
    model = gan()
    x = images(64)
    sizes = model.fit_data(x)
    assert sorted(sizes.tolist()) == [16, 16, 16, 16]
    codes = model.cluster_code.of_images(tg.tensor(x)).numpy()
    assert all(len(set(codes[i::4])) == 1 for i in range(4)) and len(set(codes)) == 4   # one cluster per template
    z = model.sample_latent(40_000)
    share = np.bincount(model.cluster_code.of_latent(z).numpy(), minlength=4) / 40_000
    assert np.allclose(share, 0.25, atol=0.01)
    assert model.fit_data(images(64, seed=1)) is None                      # fitted once: kept
    assert sorted(gan().fit_data(tg.tensor(x)).tolist()) == [16, 16, 16, 16]   # a Tensor works too


def test_the_critic_judges_reals_by_their_cluster_and_fakes_by_the_cluster_they_were_drawn_for(monkeypatch):
    model = gan(batchnorm=False, augment="")
    x = images(8)
    model.fit_data(images(64))
    z = model.sample_latent(8)
    monkeypatch.setattr(model, "sample_latent", lambda n: z)
    seen, forward = [], model.critic.forward
    monkeypatch.setattr(model.critic, "forward", lambda h, c=None: seen.append(c.numpy().copy()) or forward(h, c))
    model.train_step(tg.tensor(x), tg.tensor(np.arange(8)), model.make_optimizers())   # the data's labels: unused
    real = np.eye(4)[model.cluster_code.of_images(tg.tensor(x)).numpy()]
    fake = np.eye(4)[model.cluster_code.of_latent(z).numpy()]
    assert np.array_equal(seen[0], np.concatenate([real, fake]))          # D's step: both batches in one pass
    assert np.array_equal(seen[1], fake)                                  # G's step
    g = model.generator.forward
    monkeypatch.setattr(model.generator, "forward", lambda h, c=None: seen.append(c.numpy().copy()) or g(h, c))
    model.generate(z)
    assert np.array_equal(seen[-1], fake)                                 # G(z) reads its cluster off z


def test_the_generator_is_a_function_of_z_alone():
    model = gan()
    model.fit_data(images(64))
    z = model.sample_latent(6)
    assert np.array_equal(model.sample(6, z=z).numpy(), model.sample(6, z=z).numpy())
    with pytest.raises(ValueError, match="not conditional"):
        model.sample(6, labels=2)
    with pytest.raises(ValueError, match="not conditional"):
        model.generate(z, tg.tensor([0, 1, 2, 3, 0, 1]))


def test_the_clusters_travel_in_the_checkpoint_and_train_fits_them_once(tmp_path):
    x = images(64)
    model = gan()
    train(model, (x,), steps=2, batch_size=16, out_dir=tmp_path / "run", heldout=False, pictures=False,
                   progress=False)
    assert model.cluster_code.is_fitted
    again = runs.load_run(tmp_path / "run").model
    assert np.array_equal(again.cluster_code.centres.numpy(), model.cluster_code.centres.numpy())
    assert np.array_equal(again.cluster_code.cuts.numpy(), model.cluster_code.cuts.numpy())
    z = model.sample_latent(5)
    assert np.array_equal(again.sample(5, z=z).numpy(), model.sample(5, z=z).numpy())


def test_a_run_from_before_self_conditioning_loads_as_a_plain_gan(tmp_path):
    model = gan(clusters=0)
    train(model, (images(64),), steps=1, batch_size=16, out_dir=tmp_path / "old", heldout=False,
                   pictures=False, progress=False)
    cfg_path = tmp_path / "old" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    del cfg["model"]["config"]["clusters"]                                 # as written before the argument
    cfg_path.write_text(json.dumps(cfg))
    assert runs.load_run(tmp_path / "old").model.clusters == 0


def test_the_codes_on_every_backend(backend):
    code = ClusterCode(3, 4).to(backend.device)
    code.fit(np.array([[0, 0, 0, 0], [0, 0, 0, 1], [9, 9, 9, 9], [9, 9, 8, 9], [-9, 0, 0, 0], [-9, 0, 0, 1]],
                      dtype=np.float32))
    codes = code.of_images(tg.tensor(np.array([[0, 0, 0, 0.5], [9, 9, 9, 8], [-8, 0, 0, 0]], dtype=np.float32),
                                     device=backend.device))
    assert len(set(codes.numpy().tolist())) == 3
    z = tg.tensor(np.array([[-5.0, 1.0], [0.0, 0.0], [5.0, -1.0]], dtype=np.float32), device=backend.device)
    assert code.of_latent(z).numpy().tolist() == [0, 1, 2]
    assert tg.backend.device_of(code.of_latent(z).data) == backend.device


def test_an_interpolation_row_stays_in_one_cluster(monkeypatch):
    from tinygen.figures import interpolation_rows
    model = gan(ema=0)
    model.fit_data(images(64))
    seen, of_latent = [], model.cluster_code.of_latent
    monkeypatch.setattr(model.cluster_code, "of_latent", lambda z: seen.append(of_latent(z).numpy()) or of_latent(z))
    rows = interpolation_rows(model, rows=6, steps=5)
    assert rows.shape == (6, 5, 1, 8, 8)
    codes = np.concatenate(seen).reshape(6, 5)
    assert (codes == codes[:, :1]).all()                   # z_0, which picks the cluster, is held along a row


def test_a_model_that_does_not_offer_clusters_refuses_them():
    from tinygen.models import AdversarialModel

    class NoClusters(AdversarialModel):            # e.g. a user's own adversarial model
        kind = "_no_clusters"

    with pytest.raises(ValueError, match="offered for the GAN only"):
        NoClusters(data_shape=(1, 8, 8), width=2, clusters=5)
    assert NoClusters(data_shape=(1, 8, 8), width=2).clusters == 0
