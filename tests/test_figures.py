"""tinygen.figures: the model's pictures draw their samples in chunks (memory bounded whatever the count) and
refuse counts no picture can hold, before asking the model for anything."""
import numpy as np
import pytest

import tinygen as tg
from tinygen import figures
from tinygen.models import build_model


class Recording:
    """Wraps a model; records the batch size of every call that makes images."""

    def __init__(self, model):
        self.model, self.calls = model, []

    def __getattr__(self, name):
        return getattr(self.model, name)

    def sample(self, n, **kw):
        self.calls.append(n)
        return self.model.sample(n, **kw)

    def reconstruct(self, x, y=None):
        self.calls.append(x.shape[0])
        return self.model.reconstruct(x, y)

    def interpolate(self, x1, x2, steps=8, y1=None, y2=None):
        self.calls.append(x1.shape[0] * steps)
        return self.model.interpolate(x1, x2, steps, y1, y2)


@pytest.fixture
def vae():
    tg.manual_seed(0)
    return Recording(build_model("vae", data_shape=(1, 8, 8), hidden=(16,), latent_dim=3).eval())


@pytest.fixture
def gan():
    tg.manual_seed(0)
    return Recording(build_model("gan", data_shape=(1, 8, 8), arch="mlp", hidden=(16,), conditional=True).eval())


def test_samples_are_drawn_in_chunks(vae, gan, tmp_path):
    figures.save_samples(vae, tmp_path / "s.png", n=1000)
    figures.save_samples(gan, tmp_path / "c.png", n=1000)                         # a row per class
    assert max(vae.calls + gan.calls) <= figures.CHUNK
    assert sum(vae.calls) == 1000 and sum(gan.calls) == 1000


def test_interpolations_and_reconstructions_are_drawn_in_chunks(vae, gan, tmp_path):
    x = np.random.default_rng(0).random((600, 1, 8, 8), dtype=np.float32)
    rows = figures.interpolation_rows(gan, rows=40, steps=30)
    assert rows.shape == (40, 30, 1, 8, 8)
    imgs = figures.interpolation_rows(vae, x, rows=100, steps=30)
    assert imgs.shape == (100, 30, 1, 8, 8)
    figures.save_reconstructions(vae, x, tmp_path / "r.png", n=600)
    assert max(vae.calls + gan.calls) <= figures.CHUNK
    direct = vae.model.interpolate(tg.tensor(x[:3]), tg.tensor(x[100:103]), 30).numpy()
    np.testing.assert_allclose(imgs[:3], direct, rtol=1e-6, atol=1e-6)          # the same pictures, in pieces


@pytest.mark.parametrize("call", [
    lambda m, p: figures.save_samples(m, p, n=10 ** 9),
    lambda m, p: figures.save_samples(m, p, n=figures.MAX_POINTS + 1, data_kind="toy"),
    lambda m, p: figures.interpolation_rows(m, rows=10 ** 8, steps=10),
    lambda m, p: figures.save_reconstructions(m, np.zeros((4, 1, 8, 8), np.float32), p, n=figures.MAX_IMAGES),
], ids=["samples", "points", "interpolations", "reconstructions"])
def test_counts_no_picture_can_hold_are_refused_before_any_work(vae, tmp_path, call):
    with pytest.raises(ValueError, match="do not make a picture"):
        call(vae, tmp_path / "x.png")
    assert vae.calls == [] and not (tmp_path / "x.png").exists()
