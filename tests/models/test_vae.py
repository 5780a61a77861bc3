"""The VAE: its objective's gradients against finite differences (float64, eps held fixed), the KL term against
its closed form, and its behaviour (shapes, ranges, conditional sampling, config, bad input, learning)."""
import math

import numpy as np
import pytest

import tinygen as tg
import tinygen.functional as F
from tinygen.models import VAE, build_model


def tiny_vae(**kw):
    kw.setdefault("data_shape", (6,))
    kw.setdefault("hidden", (5,))
    kw.setdefault("latent_dim", 3)
    kw.setdefault("likelihood", "bernoulli")
    return VAE(**kw).to("float64")


def data_for(model, n=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n,) + model.data_shape)          # in (0, 1): valid Bernoulli targets, any Gaussian data
    return tg.tensor(x, dtype="float64")


def eps_for(model, n=4, seed=1):
    return tg.tensor(np.random.default_rng(seed).standard_normal((n, model.latent_dim)), dtype="float64")


# ------------------------------------------------------------------------------------------------------------
# Gradients
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [
    dict(likelihood="bernoulli"),
    dict(likelihood="gaussian"),                     # learned shared log-variance: a decoder parameter too
    dict(likelihood="gaussian", sigma=0.3),
    dict(likelihood="bernoulli", beta=0.5, conditional=True, num_classes=3),
    dict(data_shape=(1, 8, 8), arch="conv", width=2, latent_dim=2),
], ids=["bernoulli", "gaussian-learned", "gaussian-fixed", "conditional-beta", "conv"])
def test_negative_elbo_gradient_wrt_every_parameter(kw, params_fn):
    """d(-ELBO)/d(theta) for every encoder and decoder parameter, with eps held fixed, vs central differences."""
    model = tiny_vae(**kw)
    x, eps = data_for(model), eps_for(model)
    y = tg.tensor([0, 2, 1, 2]) if model.conditional else None
    f, params = params_fn(lambda: model.negative_elbo(x, y, eps=eps)["loss"], model)
    names = [n for n, _ in model.named_parameters()]
    assert any(n.startswith("encoder.") for n in names) and any(n.startswith("decoder.") for n in names)
    assert len(params) == len(names)                  # every parameter is an input of the check
    assert tg.gradcheck(f, params)


def test_per_sample_elbo_gradient_is_checked_with_a_random_upstream(params_fn):
    """The same check on the per-sample losses (a vector output: a wrong transpose cannot hide in a sum)."""
    model = tiny_vae(likelihood="bernoulli")
    x, eps = data_for(model, n=3), eps_for(model, n=3)
    f, params = params_fn(lambda: model.negative_elbo(x, eps=eps, reduction="none")["nelbo"], model)
    assert tg.gradcheck(f, params)


def test_kl_term_against_its_closed_form():
    rng = np.random.default_rng(0)
    mu = tg.tensor(rng.standard_normal((5, 4)), dtype="float64", requires_grad=True)
    logvar = tg.tensor(rng.standard_normal((5, 4)), dtype="float64", requires_grad=True)
    kl = F.gaussian_kl(mu, logvar)                    # one KL per sample
    m, lv = mu.numpy(), logvar.numpy()
    assert np.allclose(kl.numpy(), -0.5 * np.sum(1 + lv - m ** 2 - np.exp(lv), axis=1))
    kl.sum().backward()
    assert np.allclose(mu.grad.numpy(), m)                                  # dKL/dmu = mu
    assert np.allclose(logvar.grad.numpy(), (np.exp(lv) - 1) / 2)           # dKL/dlogvar = (sigma^2 - 1)/2
    assert tg.gradcheck(lambda a, b: F.gaussian_kl(a, b), [mu, logvar])


def test_the_models_kl_is_the_closed_form_of_its_encoder_output():
    model = tiny_vae(likelihood="bernoulli")
    x, eps = data_for(model), eps_for(model)
    mu, logvar = model.encode(x)
    terms = model.negative_elbo(x, eps=eps, reduction="none")
    m, lv = mu.numpy(), logvar.numpy()
    assert np.allclose(terms["kl"].numpy(), -0.5 * np.sum(1 + lv - m ** 2 - np.exp(lv), axis=1))
    assert np.allclose(terms["nelbo"].numpy(), terms["rec"].numpy() + terms["kl"].numpy())


def test_reparameterisation_and_its_derivatives():
    rng = np.random.default_rng(0)
    mu = tg.tensor(rng.standard_normal((3, 2)), dtype="float64", requires_grad=True)
    logvar = tg.tensor(rng.standard_normal((3, 2)), dtype="float64", requires_grad=True)
    eps = tg.tensor(rng.standard_normal((3, 2)), dtype="float64")
    z = VAE.reparameterize(mu, logvar, eps)
    assert np.allclose(z.numpy(), mu.numpy() + np.exp(logvar.numpy() / 2) * eps.numpy())
    z.sum().backward()
    assert np.allclose(mu.grad.numpy(), 1.0)
    assert np.allclose(logvar.grad.numpy(), eps.numpy() * np.exp(logvar.numpy() / 2) / 2)


def test_bernoulli_reconstruction_term_is_summed_bce_per_image():
    model = tiny_vae(likelihood="bernoulli")
    x, eps = data_for(model), eps_for(model)
    mu, logvar = model.encode(x)
    logits = model.decoder_output(VAE.reparameterize(mu, logvar, eps)).numpy()
    xn = x.numpy()
    bce = np.maximum(logits, 0) - logits * xn + np.log1p(np.exp(-np.abs(logits)))
    terms = model.negative_elbo(x, eps=eps)
    assert np.isclose(float(terms["rec"]), bce.sum(axis=1).mean())


def test_gaussian_reconstruction_term():
    model = tiny_vae(likelihood="gaussian", sigma=0.5)
    x, eps = data_for(model), eps_for(model)
    mu, logvar = model.encode(x)
    mean = model.decoder_output(VAE.reparameterize(mu, logvar, eps)).numpy()
    nll = 0.5 * (np.log(2 * np.pi) + np.log(0.25) + (x.numpy() - mean) ** 2 / 0.25)
    assert np.isclose(float(model.negative_elbo(x, eps=eps)["rec"]), nll.sum(axis=1).mean())


# ------------------------------------------------------------------------------------------------------------
# Behaviour
# ------------------------------------------------------------------------------------------------------------
def test_default_mnist_vae_is_784_400_20_with_its_published_settings():
    model = build_model("vae", data_shape=(1, 28, 28))
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    assert shapes == {"encoder.net.0.weight": (400, 784), "encoder.net.0.bias": (400,),
                      "fc_mu.weight": (20, 400), "fc_mu.bias": (20,),
                      "fc_logvar.weight": (20, 400), "fc_logvar.bias": (20,),
                      "decoder.net.0.weight": (400, 20), "decoder.net.0.bias": (400,),
                      "decoder.net.2.weight": (784, 400), "decoder.net.2.bias": (784,)}
    assert model.likelihood == "bernoulli" and model.beta == 1.0 and model.data_range == (0.0, 1.0)
    assert model.default_batch_size == 128 and model.has_encoder and model.has_likelihood
    opt = model.make_optimizers()["opt"]
    assert isinstance(opt, tg.optim.Adam) and opt.param_groups[0]["lr"] == 1e-3
    assert model.make_optimizers(lr=5e-4)["opt"].param_groups[0]["lr"] == 5e-4


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_shapes_and_range_of_samples_reconstructions_interpolations(arch):
    model = build_model("vae", data_shape=(1, 12, 12), arch=arch, width=4, hidden=(16,), latent_dim=3)
    s = model.sample(5)
    assert s.shape == (5, 1, 12, 12) and not s.requires_grad
    assert float(s.min()) >= 0.0 and float(s.max()) <= 1.0
    x = tg.rand(4, 144)                                      # flat batches are accepted too
    assert model.reconstruct(x).shape == (4, 1, 12, 12)
    assert model.interpolate(x[:2], x[2:], steps=5).shape == (2, 5, 1, 12, 12)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (4, 3)
    assert model.sample(3, z=tg.zeros(3, 3)).shape == (3, 1, 12, 12)
    assert model.training                                    # sampling put the model back into training mode


def test_interpolation_ends_are_the_reconstructions():
    model = build_model("vae", data_shape=(6,), hidden=(5,), latent_dim=2, likelihood="bernoulli")
    a, b = tg.rand(2, 6), tg.rand(2, 6)
    path = model.interpolate(a, b, steps=4).numpy()
    assert np.allclose(path[:, 0], model.reconstruct(a).numpy(), atol=1e-6)
    assert np.allclose(path[:, -1], model.reconstruct(b).numpy(), atol=1e-6)


def test_conditional_vae_takes_labels():
    model = build_model("vae", data_shape=(1, 8, 8), arch="conv", width=2, latent_dim=2, conditional=True)
    assert model.encoder.net[0].in_channels == 1 + 10            # the one-hot as 10 constant channels
    assert model.sample(6, labels=7).shape == (6, 1, 8, 8)
    assert model.sample(3, labels=[1, 2, 3]).shape == (3, 1, 8, 8)
    assert model.sample(4).shape == (4, 1, 8, 8)                   # random labels
    opts = model.make_optimizers()
    logs = model.train_step(tg.rand(4, 1, 8, 8), tg.tensor([0, 1, 2, 9]), opts)
    assert set(logs) == {"loss", "rec", "kl"}
    with pytest.raises(ValueError, match="needs the labels"):
        model.train_step(tg.rand(4, 1, 8, 8), None, opts)
    with pytest.raises(ValueError):
        model.sample(2, labels=10)
    mlp = build_model("vae", data_shape=(1, 8, 8), hidden=(7,), conditional=True)
    assert mlp.encoder.net[0].in_features == 64 + 10 and mlp.decoder.net[0].in_features == 20 + 10
    assert mlp.sample(2, labels=3).shape == (2, 1, 8, 8)


def test_unconditional_vae_ignores_training_labels_and_refuses_sampling_labels():
    model = build_model("vae", data_shape=(6,), hidden=(5,))
    model.train_step(tg.rand(4, 6), tg.tensor([1, 2, 3, 4]), model.make_optimizers())
    with pytest.raises(ValueError, match="not conditional"):
        model.sample(2, labels=1)


@pytest.mark.parametrize("kw", [dict(), dict(arch="conv", width=2, data_shape=(1, 8, 8), conditional=True),
                                dict(data_shape=(2,), likelihood="gaussian", beta=4.0)])
def test_config_round_trip(kw, tmp_path):
    model = build_model("vae", **kw)
    cfg = model.config()
    assert cfg["kind"] == "vae"
    import json
    cfg2 = json.loads(json.dumps(cfg))                       # JSON-able
    again = build_model(**cfg2)
    assert again.config() == cfg
    assert build_model("vae", **{k: v for k, v in cfg2.items() if k != "kind"}).config() == cfg
    state = model.state_dict()
    assert {k: tuple(v.shape) for k, v in again.state_dict().items()} == {k: tuple(v.shape) for k, v in state.items()}
    again.load_state_dict(state)
    z = tg.randn(3, model.latent_dim)
    kwargs = dict(labels=1) if model.conditional else {}
    assert np.array_equal(model.sample(3, z=z, **kwargs).numpy(), again.sample(3, z=z, **kwargs).numpy())


def test_wrong_batch_shape_is_one_sentence(check_one_sentence):
    model = build_model("vae", data_shape=(1, 28, 28))
    opts = model.make_optimizers()
    for bad in (tg.rand(8, 3, 28, 28), tg.rand(8, 783), tg.rand(784)):
        with pytest.raises(tg.ShapeError) as e:
            model.train_step(bad, None, opts)
        check_one_sentence(e)
        assert "(N, 1, 28, 28) or (N, 784)" in str(e.value)
    with pytest.raises(tg.ShapeError):
        model.evaluate(tg.rand(8, 2))
    with pytest.raises(tg.ShapeError):
        model.reconstruct(tg.rand(8, 1, 27, 28))
    with pytest.raises(tg.ShapeError):
        model.sample(4, z=tg.zeros(4, 3))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="likelihood"):
        build_model("vae", likelihood="poisson")
    with pytest.raises(ValueError, match="divisible by 4"):
        build_model("vae", data_shape=(1, 30, 30), arch="conv")
    with pytest.raises(ValueError, match="arch"):
        build_model("vae", arch="resnet")
    with pytest.raises(ValueError, match="unknown model"):
        build_model("vqvae")


def test_evaluate_reports_nats_per_image():
    model = build_model("vae", data_shape=(6,), hidden=(5,), likelihood="bernoulli")
    x = tg.rand(2500, 6)                                         # more than one evaluation chunk
    ev = model.evaluate(x)
    assert set(ev) == {"nelbo", "rec", "kl"}
    assert math.isclose(ev["nelbo"], ev["rec"] + ev["kl"], rel_tol=1e-6)
    assert 0 < ev["rec"] < 6 * 2 and ev["kl"] >= 0


def test_a_short_run_on_mnist_lowers_the_negative_elbo():
    """~100 Adam steps on 1,024 embedded MNIST images: the held-out negative ELBO falls well below its start."""
    from tinygen.data import DataLoader, load_dataset
    x, y = load_dataset("mnist", "train")
    xt, _ = load_dataset("mnist", "test")
    model = build_model("vae", data_shape=(1, 28, 28), hidden=(128,))
    opts = model.make_optimizers()
    held = tg.tensor(xt[:500])
    start = model.evaluate(held)["nelbo"]
    losses = []
    for epoch in range(7):
        for xb, yb in DataLoader(x[:1024], y[:1024], batch_size=64):
            losses.append(model.train_step(xb, yb, opts)["loss"])
    end = model.evaluate(held)["nelbo"]
    assert len(losses) == 112
    assert start > 500 and end < 0.5 * start and end < 260, (start, end)
    assert np.mean(losses[-10:]) < 0.5 * losses[0]
