"""WGAN and WGAN-GP: the critic loss's gradient (critic, and through the critic the generator), the gradient
penalty's gradient w.r.t. the critic (second order), the clip, the n_critic schedule, the published defaults."""
import json

import numpy as np
import pytest

import tinygen as tg
import tinygen.functional as F
from tinygen.models import WGAN, WGANGP, build_model


def tiny(kind, **kw):
    kw.setdefault("data_shape", (3,))
    kw.setdefault("arch", "mlp")
    kw.setdefault("hidden", (4, 5))
    kw.setdefault("latent_dim", 2)
    return build_model(kind, **kw).to("float64")


def inputs(model, n=4, seed=0):
    rng = np.random.default_rng(seed)
    x = tg.tensor(rng.uniform(-1, 1, (n,) + model.data_shape), dtype="float64")
    z = tg.tensor(rng.standard_normal((n, model.latent_dim)), dtype="float64")
    e = tg.tensor(rng.uniform(0.1, 0.9, n), dtype="float64")
    return x, z, e


# ------------------------------------------------------------------------------------------------------------
# Gradients
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["wgan", "wgan-gp"])
@pytest.mark.parametrize("kw", [dict(), dict(conditional=True, num_classes=3),
                                dict(data_shape=(1, 8, 8), arch="conv", width=2, batchnorm=False)],
                         ids=["mlp", "conditional", "conv"])
def test_critic_loss_gradient_wrt_critic_and_through_it_wrt_generator(kind, kw, params_fn, jitter):
    """L = E f(G(z)) - E f(x) [+ the penalty]: checked w.r.t. every critic AND generator parameter."""
    model = jitter(tiny(kind, **kw))                    # (WGAN: outside the clip box: a sharper check)
    x, z, e = inputs(model)
    y = tg.tensor([0, 1, 2, 1]) if model.conditional else None
    extra = dict(eps=e) if kind == "wgan-gp" else {}
    f, params = params_fn(lambda: model.critic_loss(x, model.generate(z, y), y, **extra)[0],
                          model.critic, model.generator)
    assert tg.gradcheck(f, params)


@pytest.mark.parametrize("kind", ["wgan", "wgan-gp"])
def test_generator_loss_gradient_through_the_critic(kind, params_fn, jitter):
    model = jitter(tiny(kind))
    _, z, _ = inputs(model)
    f, params = params_fn(lambda: model.generator_loss(z), model.generator, model.critic)
    assert tg.gradcheck(f, params)


def test_critic_loss_is_the_wasserstein_estimate():
    model = tiny("wgan")
    x, z, _ = inputs(model)
    fake = model.generate(z)
    loss, logs = model.critic_loss(x, fake)
    expect = model.score(fake).numpy().mean() - model.score(x).numpy().mean()
    assert np.isclose(float(loss), expect) and np.isclose(logs["wdist"], -expect)
    assert np.isclose(float(model.generator_loss(z)), -model.score(fake).numpy().mean())


@pytest.mark.parametrize("kw", [dict(), dict(conditional=True, num_classes=3),
                                dict(data_shape=(1, 8, 8), arch="conv", width=2)],
                         ids=["mlp-relu", "conditional", "conv-leaky"])
def test_gradient_penalty_gradient_wrt_critic_parameters_second_order(kw, params_fn, jitter):
    """The penalty is lambda E(||grad_x f(x_hat)|| - 1)^2: its gradient w.r.t. theta goes through the backward
    of every op of f (double backward). Checked against finite differences of the penalty itself."""
    model = jitter(tiny("wgan-gp", **kw))
    x, z, e = inputs(model)
    y = tg.tensor([2, 0, 1, 1]) if model.conditional else None
    with tg.no_grad():
        fake = model.generate(z, y)
    f, params = params_fn(lambda: model.gradient_penalty(x, fake, y, eps=e), model.critic)
    assert float(f(*params)) > 0
    assert tg.gradcheck(f, params)


def test_gradient_penalty_of_a_linear_critic_has_its_closed_form():
    """f(x) = w.x + b: grad_x f = w for every x, so the penalty is lambda (||w|| - 1)^2 and its gradient
    w.r.t. w is 2 lambda (||w|| - 1) w / ||w||."""
    w = tg.tensor([[0.3, -1.2, 0.5]], dtype="float64", requires_grad=True)
    b = tg.tensor([0.7], dtype="float64", requires_grad=True)
    real, fake = tg.randn(5, 3, dtype="float64"), tg.randn(5, 3, dtype="float64")
    gp = F.gradient_penalty(lambda x: F.linear(x, w, b), real, fake, lambda_=10.0)
    norm = np.linalg.norm(w.numpy())
    assert np.isclose(float(gp), 10 * (norm - 1) ** 2)
    gp.backward()
    assert np.allclose(w.grad.numpy(), 20 * (norm - 1) * w.numpy() / norm)
    assert b.grad is None or np.allclose(b.grad.numpy(), 0)


# ------------------------------------------------------------------------------------------------------------
# Behaviour
# ------------------------------------------------------------------------------------------------------------
def test_wgan_defaults_are_algorithm_1():
    model = build_model("wgan")
    assert model.clip == 0.01 and model.n_critic == 5 and model.default_batch_size == 64
    opts = model.make_optimizers()
    for o in opts.values():
        assert isinstance(o, tg.optim.RMSprop) and o.param_groups[0]["lr"] == 5e-5
    assert model.data_range == (-1.0, 1.0)


def test_wgan_gp_defaults_and_no_batchnorm_in_the_critic():
    model = build_model("wgan-gp", batchnorm=True)
    assert model.gp_weight == 10.0 and model.n_critic == 5 and model.default_batch_size == 64
    for o in model.make_optimizers().values():
        assert isinstance(o, tg.optim.Adam) and o.param_groups[0]["lr"] == 1e-4
        assert tuple(o.param_groups[0]["betas"]) == (0.0, 0.9)
    assert not any(isinstance(m, (tg.nn.BatchNorm1d, tg.nn.BatchNorm2d)) for m in model.critic.modules())
    assert any(isinstance(m, tg.nn.BatchNorm2d) for m in model.generator.modules())
    toy = build_model("wgan-gp", data_shape=(2,), arch="mlp")
    assert toy.gp_weight == 0.1 and toy.config()["gp_weight"] == 0.1       # the authors' toy setting
    assert build_model("wgan-gp", data_shape=(2,), arch="mlp", gp_weight=10).gp_weight == 10.0


def test_weights_are_clipped_after_every_critic_step():
    model = tiny("wgan", data_shape=(1, 8, 8), arch="conv", width=2, batchnorm=True, clip=0.05)
    box = 0.05 * (1 + 1e-6)                              # (clipped in float32, then cast to float64)
    assert all(float(p.abs().max()) <= box for p in model.critic.parameters())       # from the start
    opts = model.make_optimizers(lr=0.5)                 # a huge step: every weight would leave the box
    x = tg.rand(4, 1, 8, 8, dtype="float64") * 2 - 1
    for _ in range(3):
        model.train_step(x, None, opts)
        ps = [p.numpy() for p in model.critic.parameters()]
        assert all(np.abs(p).max() <= box for p in ps)
        assert any(np.isclose(np.abs(p).max(), 0.05) for p in ps)                     # the clip was active


@pytest.mark.parametrize("kind", ["wgan", "wgan-gp"])
def test_generator_is_updated_exactly_every_n_critic_calls(kind):
    extra = dict(clip=10.0) if kind == "wgan" else {}   # a wide box: the clip cannot freeze the critic
    model = tiny(kind, n_critic=5 if kind == "wgan" else 3, **extra)
    opts = model.make_optimizers(lr=1e-2)
    x = tg.rand(4, 3, dtype="float64")
    g_updates, d_updates, logged = [], [], []
    for call in range(1, 13):
        g0 = [p.numpy().copy() for p in model.generator.parameters()]
        d0 = [p.numpy().copy() for p in model.critic.parameters()]
        logs = model.train_step(x, None, opts)
        g_updates.append(any(not np.array_equal(a, p.numpy()) for a, p in zip(g0, model.generator.parameters())))
        d_updates.append(any(not np.array_equal(a, p.numpy()) for a, p in zip(d0, model.critic.parameters())))
        logged.append("g_loss" in logs)
    k = model.n_critic
    assert g_updates == [c % k == 0 for c in range(1, 13)]
    assert logged == g_updates and all(d_updates)
    assert int(model.critic_steps.item()) == 12


def test_the_critic_cycle_survives_a_state_dict_round_trip():
    model = tiny("wgan-gp")
    opts = model.make_optimizers()
    x = tg.rand(4, 3, dtype="float64")
    for _ in range(3):
        model.train_step(x, None, opts)
    again = build_model(**json.loads(json.dumps(model.config()))).to("float64")
    again.load_state_dict(model.state_dict())
    opts2 = again.make_optimizers()
    assert "g_loss" not in again.train_step(x, None, opts2)          # call 4
    assert "g_loss" in again.train_step(x, None, opts2)              # call 5: the generator's turn


def test_wgan_gp_logs_and_evaluate():
    model = tiny("wgan-gp")
    logs = model.train_step(tg.rand(4, 3, dtype="float64"), None, model.make_optimizers())
    assert set(logs) == {"d_loss", "wdist", "gp"}
    assert np.isclose(logs["d_loss"], -logs["wdist"] + logs["gp"])
    ev = model.evaluate(tg.rand(6, 3, dtype="float64"))
    assert set(ev) == {"wdist"} and np.isfinite(ev["wdist"])


def test_conditional_wgan_gp_samples_the_requested_labels():
    model = build_model("wgan-gp", data_shape=(1, 8, 8), arch="conv", width=2, conditional=True)
    assert model.sample(4, labels=7).shape == (4, 1, 8, 8)
    logs = model.train_step(tg.rand(4, 1, 8, 8) * 2 - 1, tg.tensor([7, 7, 1, 0]), model.make_optimizers())
    assert np.isfinite(float(logs["gp"]))


def test_bad_arguments(check_one_sentence):
    with pytest.raises(ValueError, match="clip"):
        WGAN(clip=0)
    with pytest.raises(ValueError, match="n_critic"):
        WGANGP(n_critic=0)
    model = build_model("wgan", data_shape=(2,), arch="mlp")
    with pytest.raises(tg.ShapeError) as e:
        model.train_step(tg.rand(4, 2, 1, 1), None, model.make_optimizers())
    check_one_sentence(e)
