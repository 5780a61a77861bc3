"""The autoencoder: its MSE gradient against finite differences, shapes, sampling from the code statistics,
config, bad input, learning."""
import json

import numpy as np
import pytest

import tinygen as tg
from tinygen.models import AE, build_model


@pytest.mark.parametrize("kw", [dict(data_shape=(6,), hidden=(5,), latent_dim=2),
                                dict(data_shape=(1, 8, 8), arch="conv", width=2, latent_dim=2),
                                dict(data_shape=(6,), hidden=(4,), latent_dim=2, conditional=True, num_classes=3)],
                         ids=["mlp", "conv", "conditional"])
def test_mse_gradient_wrt_every_parameter(kw, params_fn):
    model = AE(**kw).to("float64")
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.random((3,) + model.data_shape), dtype="float64")
    y = tg.tensor([0, 2, 1]) if model.conditional else None
    f, params = params_fn(lambda: model.loss(x, y)[0], model)
    assert len(params) == len(list(model.parameters()))
    assert tg.gradcheck(f, params)


def test_loss_is_the_mean_squared_error_of_the_reconstruction():
    model = build_model("ae", data_shape=(1, 8, 8), hidden=(7,), latent_dim=3)
    x = tg.rand(5, 1, 8, 8)
    loss, z = model.loss(x)
    rec = model.decode(z).numpy()
    assert z.shape == (5, 3)
    assert np.isclose(float(loss), np.mean((rec - x.numpy()) ** 2), rtol=1e-5)
    assert rec.min() >= 0 and rec.max() <= 1                    # sigmoid output for images


def test_shapes_and_interpolation():
    model = build_model("ae", data_shape=(1, 12, 12), arch="conv", width=4, latent_dim=3)
    assert model.has_encoder and not model.has_likelihood and model.data_range == (0.0, 1.0)
    x = tg.rand(4, 1, 12, 12)
    assert model.encode(x).shape == (4, 3)
    assert model.reconstruct(x).shape == (4, 1, 12, 12)
    assert model.sample(6).shape == (6, 1, 12, 12)
    path = model.interpolate(x[:2], x[2:], steps=3)
    assert path.shape == (2, 3, 1, 12, 12)
    assert np.allclose(path.numpy()[:, 0], model.reconstruct(x[:2]).numpy(), atol=1e-6)
    toy = build_model("ae", data_shape=(2,))
    assert toy.data_range is None and toy.sample(5).shape == (5, 2)


def test_samples_come_from_the_running_code_statistics():
    tg.manual_seed(0)
    model = build_model("ae", data_shape=(6,), hidden=(8,), latent_dim=2)
    opts = model.make_optimizers()
    assert np.allclose(model.code_mean.numpy(), 0) and np.allclose(model.code_var.numpy(), 1)
    x = tg.rand(64, 6)
    for _ in range(60):
        model.train_step(x, None, opts)
    with tg.no_grad():
        z = model.encode(x).numpy()
    assert np.allclose(model.code_mean.numpy(), z.mean(0), atol=0.1 * (np.abs(z).max() + 1))
    zs = model.sample_latent(4000).numpy()
    assert np.allclose(zs.mean(0), model.code_mean.numpy(), atol=0.1 * np.sqrt(model.code_var.numpy()).max())
    assert "code_mean" in model.state_dict() and "code_var" in model.state_dict()


def test_training_lowers_the_loss_and_evaluate_reports_it():
    tg.manual_seed(0)
    model = build_model("ae", data_shape=(6,), hidden=(16,), latent_dim=3)
    opts = model.make_optimizers(lr=1e-2)
    x = tg.rand(128, 6)
    first = model.train_step(x, None, opts)["loss"]
    for _ in range(100):
        last = model.train_step(x, None, opts)["loss"]
    assert last < 0.3 * first
    assert np.isclose(model.evaluate(x)["mse"], model.loss(x)[0].item(), rtol=1e-4)


def test_config_round_trip_and_bad_input(check_one_sentence):
    model = build_model("ae", data_shape=(1, 8, 8), arch="conv", width=2, conditional=True)
    cfg = json.loads(json.dumps(model.config()))
    again = build_model(**cfg)
    again.load_state_dict(model.state_dict())
    z = tg.randn(2, model.latent_dim)
    assert np.array_equal(model.sample(2, labels=3, z=z).numpy(), again.sample(2, labels=3, z=z).numpy())
    with pytest.raises(tg.ShapeError) as e:
        model.train_step(tg.rand(4, 1, 9, 8), tg.tensor([0, 1, 2, 3]), model.make_optimizers())
    check_one_sentence(e)
    with pytest.raises(tg.ShapeError) as e:
        model.train_step(tg.rand(4, 1, 8, 8), tg.tensor([0, 1, 2]), model.make_optimizers())
    check_one_sentence(e)
