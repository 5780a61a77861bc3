"""The generator's weight average (tinygen/models/averaging.py and its use by the GAN family): the update rule
with its warm-up, sampling from the average with its own BatchNorm statistics, checkpoints, bad input."""
import numpy as np
import pytest

import tinygen as tg
from tinygen.models import build_model
from tinygen.models.averaging import STAT_BATCHES, WeightAverage
from tinygen.rng import isolated_rng


def conv_gan(kind="gan", **kw):
    tg.manual_seed(0)
    kw.setdefault("width", 2)
    if kind == "gan":
        kw.setdefault("clusters", 0)            # the average does not care about the self-conditioning
    return build_model(kind, data_shape=(1, 8, 8), arch="conv", latent_dim=3, **kw)


def train(model, steps=4, seed=1):
    opts = model.make_optimizers(1e-2)
    x = tg.tensor(np.random.default_rng(seed).uniform(-1, 1, (8, 1, 8, 8)).astype(np.float32))
    for _ in range(steps):
        model.train_step(x, None, opts)
    return model


def test_the_update_is_the_average_with_its_warm_up():
    lin = tg.nn.Linear(3, 2)
    avg = WeightAverage(lin, 0.9)
    w0 = lin.weight.numpy().copy()
    expected = w0.copy()
    for t in range(30):
        lin.weight.data[...] = lin.weight.data + 1.0
        avg.update(lin, t)
        d = min(0.9, (1.0 + t) / (10.0 + t))                 # 0.1, 0.18, ... then 0.9
        expected = d * expected + (1 - d) * lin.weight.numpy()
        np.testing.assert_allclose(avg.p0.numpy(), expected, rtol=1e-5)
    assert not any(b is avg.p0 for b in lin.parameters())


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 2.0])
def test_a_decay_outside_0_1_is_refused(decay):
    with pytest.raises(ValueError, match="decay must be in"):
        WeightAverage(tg.nn.Linear(2, 2), decay)


def test_gans_on_images_average_by_default_and_the_toys_do_not():
    assert conv_gan().ema == 0.999 and conv_gan("wgan").ema == 0.999 and conv_gan("wgan-gp").ema == 0.999
    assert build_model("gan", data_shape=(2,), arch="mlp").ema == 0.0
    assert not hasattr(conv_gan(ema=0), "generator_average")
    assert conv_gan(ema=0.99).config()["ema"] == 0.99
    for bad in (1.0, -0.1, "fast"):
        with pytest.raises(ValueError, match="ema must be a decay in"):
            conv_gan(ema=bad)


def test_the_average_is_not_a_parameter_and_training_never_uses_it():
    a, b = train(conv_gan()), train(conv_gan(ema=0))         # each built after manual_seed(0), then trained
    assert a.num_parameters() == b.num_parameters()
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=n)          # the same training


def test_sample_draws_from_the_averaged_weights_with_their_own_batchnorm_statistics():
    model = train(conv_gan())
    gen_params = [p.numpy().copy() for p in model.generator.parameters()]
    gen_stats = [b.numpy().copy() for b in model.generator.buffers()]
    z = tg.randn(5, 3)
    got = model.sample(5, z=z).numpy()
    # by hand: the averaged weights, BatchNorm statistics from STAT_BATCHES training-mode batches
    ref = conv_gan(ema=0)
    ref.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("generator_average.")})
    for p, a in zip(ref.generator.parameters(), model.generator_average._mine("p")):
        p.data[...] = a.data
    for m in ref.generator.modules():
        if isinstance(m, (tg.nn.BatchNorm1d, tg.nn.BatchNorm2d)):
            m.momentum = None
            m.reset_running_stats()
    with tg.no_grad(), isolated_rng("cpu", 0):
        for _ in range(STAT_BATCHES):
            ref.generator(*model._private_inputs(256))
    want = ref.sample(5, z=z).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # the generator itself is untouched: weights and running statistics
    for p, w in zip(model.generator.parameters(), gen_params):
        np.testing.assert_array_equal(p.numpy(), w)
    for b, s in zip(model.generator.buffers(), gen_stats):
        np.testing.assert_array_equal(b.numpy(), s)
    with model.averaged_generator():
        assert not np.array_equal(next(iter(model.generator.parameters())).numpy(), gen_params[0])


def test_the_statistics_do_not_use_the_users_random_numbers():
    a, b = train(conv_gan()), train(conv_gan())
    tg.manual_seed(7)
    b.sample(1)                                  # b's statistics are computed here, under another seed
    tg.manual_seed(5)
    x = a.sample(3).numpy()                      # a computes its statistics inside this call, then draws z
    tg.manual_seed(5)
    y = b.sample(3).numpy()                      # b only draws z
    np.testing.assert_array_equal(x, y)


def test_the_weights_come_back_after_an_error_inside_the_average():
    model = train(conv_gan())
    before = [p.numpy().copy() for p in model.generator.parameters()]
    with pytest.raises(RuntimeError):
        with model.averaged_generator():
            raise RuntimeError("boom")
    for p, w in zip(model.generator.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), w)


def test_a_checkpoint_keeps_the_average_and_an_older_one_starts_it_at_the_generator(tmp_path):
    model = train(conv_gan())
    tg.save(model.state_dict(), tmp_path / "m.npz")
    back = conv_gan()
    back.load_state_dict(tg.load(tmp_path / "m.npz"))
    for a, b in zip(model.generator_average.buffers(), back.generator_average.buffers()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    z = tg.randn(4, 3)
    np.testing.assert_array_equal(model.sample(4, z=z).numpy(), back.sample(4, z=z).numpy())
    older = {k: v for k, v in model.state_dict().items() if not k.startswith("generator_average.")}
    fresh = conv_gan()
    fresh.load_state_dict(older)
    for p, a in zip(model.generator.parameters(), fresh.generator_average._mine("p")):
        np.testing.assert_array_equal(p.numpy(), a.numpy())
