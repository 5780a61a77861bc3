"""The GAN: the losses' gradients (discriminator, and through it the generator) against finite differences,
the non-saturating loss, the defaults, the training step's schedule, conditional sampling, config, bad input."""
import json

import numpy as np
import pytest

import tinygen as tg
from tinygen.models import GAN, build_model


def tiny(kind="gan", **kw):
    kw.setdefault("data_shape", (3,))
    kw.setdefault("arch", "mlp")
    kw.setdefault("hidden", (4, 5))
    kw.setdefault("latent_dim", 2)
    return build_model(kind, **kw).to("float64")


def inputs(model, n=4, seed=0):
    rng = np.random.default_rng(seed)
    x = tg.tensor(rng.uniform(-1, 1, (n,) + model.data_shape), dtype="float64")
    z = tg.tensor(rng.standard_normal((n, model.latent_dim)), dtype="float64")
    return x, z


@pytest.mark.parametrize("kw", [dict(), dict(conditional=True, num_classes=3),
                                dict(data_shape=(1, 8, 8), arch="conv", width=2, batchnorm=False)],
                         ids=["mlp", "conditional", "conv"])
def test_discriminator_loss_gradient_wrt_d_and_through_d_wrt_g(kw, params_fn, jitter):
    model = jitter(tiny(**kw))
    x, z = inputs(model)
    y = tg.tensor([0, 1, 2, 1]) if model.conditional else None
    f, params = params_fn(lambda: model.critic_loss(x, model.generate(z, y), y)[0], model.critic, model.generator)
    assert tg.gradcheck(f, params)


@pytest.mark.parametrize("kw", [dict(), dict(data_shape=(1, 8, 8), arch="conv", width=2, batchnorm=True)],
                         ids=["mlp", "conv-batchnorm"])
def test_generator_loss_gradient_through_the_discriminator(kw, params_fn, jitter):
    model = jitter(tiny(**kw))
    _, z = inputs(model)
    f, params = params_fn(lambda: model.generator_loss(z), model.generator, model.critic)
    assert tg.gradcheck(f, params)


def test_losses_are_the_bce_minimax_with_the_non_saturating_generator_loss():
    model = tiny()
    x, z = inputs(model)
    fake = model.generate(z)
    d_real, d_fake = model.score(x).numpy(), model.score(fake).numpy()
    s = lambda t: 1 / (1 + np.exp(-t))
    loss, logs = model.critic_loss(x, fake)
    assert np.isclose(float(loss), -np.mean(np.log(s(d_real))) - np.mean(np.log(1 - s(d_fake))))
    assert np.isclose(logs["d_real"], s(d_real).mean()) and np.isclose(logs["d_fake"], s(d_fake).mean())
    assert np.isclose(float(model.generator_loss(z)), -np.mean(np.log(s(d_fake))))


def test_defaults_dcgan_and_toy():
    gan = build_model("gan")                                   # MNIST, conv
    assert gan.arch == "conv" and gan.latent_dim == 100 and gan.data_range == (-1.0, 1.0)
    assert gan.default_batch_size == 64 and gan.n_critic == 1
    opts = gan.make_optimizers()
    for o in opts.values():
        assert isinstance(o, tg.optim.Adam)
        assert o.param_groups[0]["lr"] == 2e-4 and tuple(o.param_groups[0]["betas"]) == (0.5, 0.999)
    assert {id(p) for p in opts["d"].param_groups[0]["params"]} == {id(p) for p in gan.critic.parameters()}
    toy = build_model("gan", data_shape=(2,), arch="mlp")
    assert toy.data_range is None and toy.default_batch_size == 256
    assert toy.make_optimizers()["g"].param_groups[0]["lr"] == 1e-3
    assert gan.discriminator is gan.critic


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_samples_are_tanh_images_in_range(arch):
    model = build_model("gan", data_shape=(1, 8, 8), arch=arch, width=4, hidden=(16,), latent_dim=5)
    s = model.sample(7)
    assert s.shape == (7, 1, 8, 8) and not s.requires_grad
    assert float(s.min()) >= -1.0 and float(s.max()) <= 1.0
    assert model.training
    toy = build_model("gan", data_shape=(2,), arch="mlp")
    assert toy.sample(10).shape == (10, 2)


def test_train_step_updates_d_then_g_each_call_and_logs():
    model = tiny(data_shape=(1, 8, 8), arch="conv", width=2, batchnorm=True, clusters=0)
    opts = model.make_optimizers(lr=1e-2)
    g0 = [p.numpy().copy() for p in model.generator.parameters()]
    d0 = [p.numpy().copy() for p in model.critic.parameters()]
    logs = model.train_step(tg.rand(6, 1, 8, 8, dtype="float64") * 2 - 1, None, opts)
    assert set(logs) == {"d_loss", "d_real", "d_fake", "g_loss"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert any(not np.array_equal(a, p.numpy()) for a, p in zip(g0, model.generator.parameters()))
    assert any(not np.array_equal(a, p.numpy()) for a, p in zip(d0, model.critic.parameters()))
    assert int(model.critic_steps.item()) == 1
    assert all(p.requires_grad for p in model.critic.parameters())   # unfrozen after the generator's step


def test_generator_step_does_not_touch_the_critic():
    model = tiny()
    opts = model.make_optimizers()
    model.train_step(tg.rand(4, 3, dtype="float64"), None, opts)
    d = [p.numpy().copy() for p in model.critic.parameters()]
    # the generator's step alone (what follows the critic's) leaves the critic's weights and grads alone
    opts["g"].zero_grad()
    for p in model.critic.parameters():
        p.grad = None
    from tinygen.models.gan import frozen
    with frozen(model.critic):
        model.generator_loss(model.sample_latent(4)).backward()
    opts["g"].step()
    assert all(p.grad is None for p in model.critic.parameters())
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(d, model.critic.parameters()))


def test_conditional_sampling_gives_the_requested_labels_shapes():
    model = build_model("gan", data_shape=(1, 8, 8), arch="conv", width=2, conditional=True)
    assert model.critic.net[0].in_channels == 1 + 10
    assert model.generator.net[0].in_features == 100 + 10
    assert model.sample(5, labels=7).shape == (5, 1, 8, 8)
    assert model.sample(3, labels=[0, 4, 9]).shape == (3, 1, 8, 8)
    z = model.sample_latent(2)
    a, b = model.sample(2, labels=1, z=z).numpy(), model.sample(2, labels=8, z=z).numpy()
    assert not np.allclose(a, b)                               # the label reaches the generator
    with pytest.raises(ValueError):
        model.sample(2, labels=[1, 2, 3])
    logs = model.train_step(tg.rand(4, 1, 8, 8) * 2 - 1, tg.tensor([1, 2, 3, 4]), model.make_optimizers())
    assert "g_loss" in logs
    with pytest.raises(ValueError, match="needs the labels"):
        model.train_step(tg.rand(4, 1, 8, 8), None, model.make_optimizers())


def test_config_round_trip_and_evaluate():
    model = build_model("gan", data_shape=(1, 8, 8), arch="conv", width=2, batchnorm=True, conditional=True)
    cfg = json.loads(json.dumps(model.config()))
    assert cfg["kind"] == "gan" and cfg["batchnorm"] is True
    again = build_model(**cfg)
    model.train_step(tg.rand(4, 1, 8, 8), tg.tensor([1, 2, 3, 4]), model.make_optimizers())
    again.load_state_dict(model.state_dict())
    z = model.sample_latent(3)
    assert np.array_equal(model.sample(3, labels=2, z=z).numpy(), again.sample(3, labels=2, z=z).numpy())
    ev = model.evaluate(tg.rand(5, 1, 8, 8), tg.tensor([0, 1, 2, 3, 4]))
    assert set(ev) == {"d_real", "d_fake"} and all(0 <= v <= 1 for v in ev.values())


def test_wrong_batch_shape_is_one_sentence(check_one_sentence):
    model = build_model("gan", data_shape=(2,), arch="mlp")
    with pytest.raises(tg.ShapeError) as e:
        model.train_step(tg.rand(8, 3), None, model.make_optimizers())
    check_one_sentence(e)
    assert "takes (N, 2)" in str(e.value)
    with pytest.raises(tg.ShapeError):
        model.evaluate(tg.rand(8, 1, 2))


def test_a_short_toy_run_moves_samples_towards_the_ring():
    """200 steps on ring8 (radius 1): the samples' mean distance to the circle shrinks."""
    from tinygen.data import sample_toy
    tg.manual_seed(0)
    model = GAN(data_shape=(2,), arch="mlp")
    opts = model.make_optimizers()
    x, _ = sample_toy("ring8", 200 * 128, rng=0)

    def off_ring():
        s = model.sample(1000).numpy()
        return np.abs(np.linalg.norm(s, axis=1) - 1).mean()
    before = off_ring()
    for i in range(200):
        model.train_step(tg.tensor(x[i * 128:(i + 1) * 128]), None, opts)
    assert off_ring() < 0.6 * before


def test_diffaugment_is_on_for_conv_nets_on_images_off_otherwise_and_configurable():
    assert build_model("gan").augment == ("cutout",)                                     # DCGAN on MNIST
    assert build_model("wgan-gp", data_shape=(1, 8, 8), arch="conv", width=2).config()["augment"] == "cutout"
    assert build_model("wgan-gp", data_shape=(1, 8, 8), arch="mlp").config()["augment"] == ""
    assert build_model("gan", data_shape=(1, 8, 8), arch="mlp", augment=True).augment == ("cutout",)
    assert build_model("wgan", data_shape=(2,), arch="mlp").augment == ()
    assert build_model("gan", augment="").augment == ()
    assert build_model("gan", augment="cutout").augment == ("cutout",)
    with pytest.raises(ValueError, match="unknown augmentation 'color'"):
        build_model("gan", augment="translation,color")
    with pytest.raises(ValueError, match="needs images"):
        build_model("gan", data_shape=(2,), arch="mlp", augment=True)


def test_the_generator_learns_through_the_augmentation():
    """With augment on, the generator's loss is taken on D(T(G(z))): its gradient reaches G through T (a
    translation moves pixels, a cutout zeroes some: the gradient differs from the plain one but is not zero)."""
    model = tiny(data_shape=(1, 8, 8), arch="conv", width=2, batchnorm=False)
    assert model.augment
    z = model.sample_latent(6)
    tg.manual_seed(3)
    model.generator_loss(z, augment=True).backward()
    aug = [p.grad.numpy().copy() for p in model.generator.parameters()]
    model.zero_grad()
    model.generator_loss(z).backward()
    plain = [p.grad.numpy() for p in model.generator.parameters()]
    assert all(np.abs(a).sum() > 0 for a in aug)
    assert any(not np.allclose(a, b) for a, b in zip(aug, plain))


def test_the_critic_sees_augmented_images_only_in_training(monkeypatch):
    model = tiny(data_shape=(1, 8, 8), arch="conv", width=2, batchnorm=False, clusters=0)
    seen = []
    real_view = model.critic_view
    monkeypatch.setattr(model, "critic_view", lambda x: seen.append(x.shape) or real_view(x))
    model.train_step(tg.rand(4, 1, 8, 8, dtype="float64") * 2 - 1, None, model.make_optimizers())
    assert len(seen) == 3                                   # real, fake for D; fake for G
    seen.clear()
    model.evaluate(tg.rand(4, 1, 8, 8, dtype="float64"))
    model.sample(3)
    assert not seen


@pytest.mark.parametrize("kind", ["gan", "wgan", "wgan-gp"])
def test_one_pass_critic_gives_the_two_pass_losses(kind):
    """A critic without BatchNorm scores real and fake stacked in one pass: same loss, same gradients."""
    model = tiny(kind)
    assert model._one_pass
    x, z = inputs(model, n=5)
    fake = model.generate(z).detach()
    loss, _ = model.critic_loss(x, fake, eps=tg.full((5, 1), 0.3, dtype="float64")) if kind == "wgan-gp" \
        else model.critic_loss(x, fake)
    loss.backward()
    one = [p.grad.numpy().copy() for p in model.critic.parameters()]
    model.zero_grad()
    model._one_pass = False
    loss2, _ = model.critic_loss(x, fake, eps=tg.full((5, 1), 0.3, dtype="float64")) if kind == "wgan-gp" \
        else model.critic_loss(x, fake)
    loss2.backward()
    assert np.isclose(float(loss), float(loss2), rtol=1e-12)
    for a, p in zip(one, model.critic.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert not tiny(data_shape=(1, 8, 8), arch="conv", width=2, batchnorm=True)._one_pass
