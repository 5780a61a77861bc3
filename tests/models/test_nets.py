"""The networks: the layers the brief specifies, their shapes, the conditioning, DCGAN's initialisation."""
import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.models import build_model
from tinygen.models.nets import MLP, ConvDecoder, ConvEncoder, dcgan_init_


def layer_summary(seq):
    out = []
    for m in seq:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            out.append((type(m).__name__, m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding))
        elif isinstance(m, nn.Linear):
            out.append(("Linear", m.in_features, m.out_features))
        elif isinstance(m, nn.LeakyReLU):
            out.append(("LeakyReLU", m.negative_slope))
        else:
            out.append(type(m).__name__)
    return out


def test_dcgan_nets_are_the_specified_layers():
    gan = build_model("gan", data_shape=(1, 28, 28), arch="conv", batchnorm=False, clusters=0)
    assert layer_summary(gan.critic.net) == [
        ("Conv2d", 1, 64, (4, 4), (2, 2), (1, 1)), ("LeakyReLU", 0.2),
        ("Conv2d", 64, 128, (4, 4), (2, 2), (1, 1)), ("LeakyReLU", 0.2), "Flatten", ("Linear", 128 * 7 * 7, 1)]
    assert layer_summary(gan.generator.net) == [
        ("Linear", 100, 128 * 7 * 7), "ReLU", "Unflatten", ("ConvTranspose2d", 128, 64, (4, 4), (2, 2), (1, 1)),
        "ReLU", ("ConvTranspose2d", 64, 1, (4, 4), (2, 2), (1, 1)), "Tanh"]
    with_bn = build_model("gan", data_shape=(1, 28, 28), arch="conv")
    assert "BatchNorm2d" in layer_summary(with_bn.critic.net)
    assert layer_summary(with_bn.generator.net).count("BatchNorm2d") == 1
    # the default GAN on images is self-conditioned on 50 clusters: their one-hot code is 50 more inputs to
    # G's first layer and 50 more (constant) input planes of D's first conv
    assert layer_summary(with_bn.generator.net)[0] == ("Linear", 150, 128 * 7 * 7)
    assert layer_summary(with_bn.critic.net)[0] == ("Conv2d", 51, 64, (4, 4), (2, 2), (1, 1))


def test_toy_nets_are_2_128_128_relu():
    gan = build_model("gan", data_shape=(2,), arch="mlp")
    assert layer_summary(gan.generator.net) == [("Linear", 2, 128), "ReLU", ("Linear", 128, 128), "ReLU",
                                                ("Linear", 128, 2)]
    assert layer_summary(gan.critic.net) == [("Linear", 2, 128), "ReLU", ("Linear", 128, 128), "ReLU",
                                             ("Linear", 128, 1)]
    assert gan.latent_dim == 2


def test_conv_shapes_for_other_image_sizes_and_conditions():
    enc = ConvEncoder((3, 16, 12), out_features=5, width=4, cond_dim=2)
    x = tg.rand(2, 3, 16, 12)
    c = tg.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert enc(x, c).shape == (2, 5)
    body = ConvEncoder((1, 8, 8), width=3)
    assert body(tg.rand(2, 1, 8, 8)).shape == (2, body.features) and body.features == 6 * 2 * 2
    dec = ConvDecoder(4, (3, 16, 12), width=4, cond_dim=2, out_act="sigmoid")
    out = dec(tg.rand(2, 4), c)
    assert out.shape == (2, 3, 16, 12) and float(out.min()) >= 0
    with pytest.raises(ValueError, match="divisible by 4"):
        ConvEncoder((1, 10, 8))
    with pytest.raises(ValueError, match="divisible by 4"):
        build_model("gan", data_shape=(2,), arch="conv")


def test_the_conditional_channels_carry_the_label():
    """Changing only the label changes the critic's output: the one-hot reaches the first conv."""
    enc = ConvEncoder((1, 8, 8), out_features=1, width=2, cond_dim=3)
    x = tg.rand(1, 1, 8, 8)
    a = enc(x, tg.tensor([[1.0, 0.0, 0.0]])).item()
    b = enc(x, tg.tensor([[0.0, 0.0, 1.0]])).item()
    assert a != b


@pytest.mark.parametrize("shape", [(1, 8, 8), (2, 12, 8)])
def test_the_condition_as_planes_and_as_maps_give_the_same_outputs_and_gradients(shape, backend):
    """ConvEncoder computes what its first conv makes of the condition from the filters alone (condition_maps:
    mixed per sample, summed over the taps inside the image); the textbook way concatenates K constant planes to
    the image. Same outputs, same gradients (to second order,
    WGAN-GP's penalty differentiates through the critic), for any c, not only one-hot."""
    tg.manual_seed(0)
    k, n = 3, 2
    enc = ConvEncoder(shape, out_features=1, width=2, cond_dim=k).to("float64")
    x = tg.randn(n, *shape, dtype="float64", requires_grad=True)
    c = tg.randn(n, k, dtype="float64", requires_grad=True)

    def planes(x, c):
        maps = c.reshape((n, k, 1, 1)).broadcast_to((n, k) + shape[1:])
        return enc.net(tg.concat([x, maps], axis=1))

    a, b = enc(x, c), planes(x, c)
    assert np.allclose(a.numpy(), b.numpy(), atol=1e-12)
    params = [x, c] + list(enc.parameters())
    ga = tg.grad(a.sum(), params, create_graph=True)
    gb = tg.grad(b.sum(), params, create_graph=True)
    for u, v in zip(ga, gb):
        assert np.allclose(u.numpy(), v.numpy(), atol=1e-12)
    weights = [enc.net[0].weight, enc.net[-1].weight]                 # through the gradient w.r.t. the image
    hx_a = tg.grad((ga[0] * ga[0]).sum(), weights)
    hx_b = tg.grad((gb[0] * gb[0]).sum(), weights)
    for u, v in zip(hx_a, hx_b):
        assert np.allclose(u.numpy(), v.numpy(), atol=1e-12)
    assert tg.gradcheck(lambda x, c: enc(x, c), [x, c])
    assert tg.gradgradcheck(lambda x, c: enc(x, c), [x, c])


def test_mlp_flattens_concatenates_and_reshapes():
    mlp = MLP(6, (5, 4), 12, cond_dim=2, out_shape=(3, 4))
    assert mlp(tg.rand(7, 2, 3), tg.zeros(7, 2)).shape == (7, 3, 4)
    with pytest.raises(tg.ShapeError):
        mlp(tg.rand(7, 5), tg.zeros(7, 2))
    body = MLP(6, (5,))
    assert body.features == 5 and body(tg.rand(2, 6)).shape == (2, 5)


def test_dcgan_init_statistics():
    tg.manual_seed(0)
    g = dcgan_init_(ConvDecoder(100, (1, 28, 28), width=64, batchnorm=True))
    w = np.concatenate([m.weight.numpy().ravel() for m in g.modules()
                        if isinstance(m, (nn.Linear, nn.ConvTranspose2d))])
    assert abs(w.std() - 0.02) < 0.001 and abs(w.mean()) < 0.001
    bn = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)][0]
    assert abs(bn.weight.numpy().mean() - 1.0) < 0.01 and np.all(bn.bias.numpy() == 0)
    assert all(np.all(m.bias.numpy() == 0) for m in g.modules() if isinstance(m, nn.Linear))


def test_parameter_counts_match_pytorch_formulas():
    vae = build_model("vae", data_shape=(1, 28, 28))
    assert vae.num_parameters() == (784 * 400 + 400) + 2 * (400 * 20 + 20) + (20 * 400 + 400) + (400 * 784 + 784)
    gan = build_model("gan", data_shape=(1, 28, 28), arch="conv", batchnorm=False, clusters=0)
    d = (1 * 64 * 16 + 64) + (64 * 128 * 16 + 128) + (128 * 49 + 1)
    g = (100 * 6272 + 6272) + (128 * 64 * 16 + 64) + (64 * 1 * 16 + 1)
    assert gan.critic.num_parameters() == d and gan.generator.num_parameters() == g
