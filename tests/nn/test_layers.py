"""Layers: output shapes over random configurations, batch-norm statistics, dropout, default initialisation,
and (when PyTorch imports) number-for-number agreement with torch.nn."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygen as tg
import tinygen.nn as nn
from tinygen.testing import arrays, conv_configs

conv = pytest.importorskip("tinygen.ops.conv")  # the conv primitives (tinygen/ops/conv.py)


def _torch():
    return pytest.importorskip("torch")


# ---------------------------------------------------------------------------------------------------------
# output shapes
# ---------------------------------------------------------------------------------------------------------
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2), i=st.integers(1, 6), o=st.integers(1, 6),
       bias=st.booleans())
def test_linear_output_shape(backend, lead, i, o, bias):
    lin = nn.Linear(i, o, bias=bias)
    assert lin.weight.shape == (o, i) and (lin.bias is None) != bias
    y = lin(tg.randn(*lead, i))
    assert y.shape == (*lead, o)


@given(cfg=conv_configs(max_kernel=3, max_padding=2, max_dilation=2, max_batch=2, max_out=3))
def test_conv2d_output_shape_formula(cfg):
    c = cfg
    layer = nn.Conv2d(c["c"], c["o"], c["k"], stride=c["s"], padding=c["p"], dilation=c["d"], bias=c["bias"])
    assert layer.weight.shape == (c["o"], c["c"]) + c["k"]
    y = layer(tg.randn(c["n"], c["c"], *c["hw"]))
    want = tuple((h + 2 * p - d * (k - 1) - 1) // s + 1 for h, k, s, p, d in zip(c["hw"], c["k"], c["s"], c["p"],
                                                                                   c["d"]))
    assert y.shape == (c["n"], c["o"]) + want


@given(cfg=conv_configs(transposed=True, max_kernel=3, max_padding=2, max_dilation=2, max_batch=2,
                         max_out=3))
def test_conv_transpose2d_output_shape_formula(cfg):
    c = cfg
    layer = nn.ConvTranspose2d(c["c"], c["o"], c["k"], stride=c["s"], padding=c["p"], output_padding=c["op"],
                               dilation=c["d"], bias=c["bias"])
    assert layer.weight.shape == (c["c"], c["o"]) + c["k"]
    y = layer(tg.randn(c["n"], c["c"], *c["hw"]))
    want = tuple((h - 1) * s - 2 * p + d * (k - 1) + op + 1
                 for h, k, s, p, d, op in zip(c["hw"], c["k"], c["s"], c["p"], c["d"], c["op"]))
    assert y.shape == (c["n"], c["o"]) + want


def test_conv_layers_on_the_strict_backend(backend):
    x = tg.randn(2, 3, 8, 8)
    assert nn.Conv2d(3, 4, 3, stride=2, padding=1)(x).shape == (2, 4, 4, 4)
    assert nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1)(x).shape == (2, 4, 16, 16)


def test_layer_input_errors():
    with pytest.raises(tg.ShapeError, match=r"\(N, 3, H, W\)"):
        nn.Conv2d(3, 4, 3)(tg.randn(2, 2, 8, 8))
    with pytest.raises(tg.ShapeError, match="linear"):
        nn.Linear(3, 2)(tg.randn(4, 5))
    with pytest.raises(ValueError, match="output_padding"):
        nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=2)
    with pytest.raises(tg.ShapeError, match="2D or 3D"):
        nn.BatchNorm1d(3)(tg.randn(2, 3, 4, 4))
    with pytest.raises(tg.ShapeError, match="channels"):
        nn.BatchNorm2d(3)(tg.randn(2, 4, 5, 5))
    with pytest.raises(NotImplementedError):
        nn.Conv2d(4, 4, 3, groups=2)


_X2, _X4 = np.linspace(-2, 2, 4 * 6, dtype=np.float32).reshape(4, 6), np.linspace(
    -2, 2, 2 * 3 * 6 * 6, dtype=np.float32).reshape(2, 3, 6, 6)
_EVERY_LAYER = [(nn.Linear(6, 3), _X2), (nn.Conv2d(3, 2, 3), _X4), (nn.ConvTranspose2d(3, 2, 3), _X4),
                (nn.BatchNorm1d(6), _X2), (nn.BatchNorm2d(3), _X4), (nn.Dropout(), _X2), (nn.ReLU(), _X2),
                (nn.LeakyReLU(), _X2), (nn.Sigmoid(), _X2), (nn.Tanh(), _X2), (nn.Softplus(), _X2),
                (nn.Flatten(), _X4), (nn.Unflatten(1, (2, 3)), _X2), (nn.Identity(), _X2),
                (nn.Sequential(nn.Flatten(), nn.Linear(108, 2)), _X4)]


def test_the_layer_list_covers_every_layer():
    assert {type(m).__name__ for m, _ in _EVERY_LAYER} >= set(nn.layers.__all__)


@pytest.mark.parametrize("layer, x", _EVERY_LAYER, ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else "")
@pytest.mark.parametrize("training", [True, False])
def test_every_layer_takes_a_numpy_array_like_a_tensor(layer, x, training):
    layer.train(training)
    state = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    tg.manual_seed(1)
    want = layer(tg.tensor(x)).numpy()
    layer.load_state_dict({k: tg.tensor(v) for k, v in state.items()})     # the running stats as they were
    tg.manual_seed(1)
    got = layer(x)
    np.testing.assert_array_equal(np.asarray(got.numpy() if isinstance(got, tg.Tensor) else got), want)


@pytest.mark.parametrize("layer", [nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Flatten(), nn.ReLU()],
                         ids=lambda m: type(m).__name__)
def test_a_layer_refuses_what_is_not_an_array_in_one_sentence(layer):
    with pytest.raises(TypeError, match=rf"^{type(layer).__name__}: the input must be a Tensor or an array, "
                                        rf"got list$"):
        layer([[1.0, 2.0], [3.0, 4.0]])


# ---------------------------------------------------------------------------------------------------------
# default initialisation (PyTorch's reset_parameters)
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, fan_in", [
    (lambda: nn.Linear(50, 400), 50),
    (lambda: nn.Conv2d(6, 200, (3, 5)), 6 * 15),
    (lambda: nn.ConvTranspose2d(200, 6, 3), 6 * 9),  # PyTorch takes fan_in from weight.shape[1] here too
])
def test_default_init_is_uniform_with_bound_one_over_sqrt_fan_in(make, fan_in):
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.97 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.03 * bound
    assert np.abs(b).max() <= bound


def test_batch_norm_and_other_defaults():
    bn = nn.BatchNorm2d(4)
    assert (bn.weight.numpy() == 1).all() and (bn.bias.numpy() == 0).all()
    assert (bn.running_mean.numpy() == 0).all() and (bn.running_var.numpy() == 1).all()
    assert int(bn.num_batches_tracked) == 0 and bn.momentum == 0.1 and bn.eps == 1e-5
    assert nn.LeakyReLU().negative_slope == 0.01 and nn.Dropout().p == 0.5
    lin = nn.Linear(3, 2, device="cpu", dtype="float64")
    assert lin.weight.dtype == "float64" and lin.bias.device == "cpu"
    assert nn.Conv2d(1, 2, 3, dtype="float64").weight.dtype == "float64"
    assert nn.BatchNorm1d(3, dtype="float64").running_var.dtype == "float64"


# ---------------------------------------------------------------------------------------------------------
# batch norm
# ---------------------------------------------------------------------------------------------------------
@given(shape=st.sampled_from([(16, 3), (8, 2, 5), (6, 3, 4, 4)]), scale=st.floats(0.5, 20), shift=st.floats(-10, 10))
def test_batch_norm_train_mode_normalises_each_channel(backend, shape, scale, shift):
    bn = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(shape[1], dtype="float64")
    x = tg.randn(*shape, dtype="float64") * scale + shift
    y = bn(x).numpy()
    axes = tuple(i for i in range(len(shape)) if i != 1)
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=axes), 1.0, atol=1e-3)


@given(data=st.data())
def test_batch_norm_running_estimates_follow_the_momentum_formula(data):
    bn = nn.BatchNorm1d(3, dtype="float64", momentum=0.25)
    rm, rv = np.zeros(3), np.ones(3)
    for step in range(3):
        x = data.draw(arrays((5, 3), "float64", -4, 4).filter(lambda a: (a.std(0) > 0.1).all()))
        bn(tg.tensor(x))
        rm = 0.75 * rm + 0.25 * x.mean(0)
        rv = 0.75 * rv + 0.25 * x.var(0, ddof=1)  # the unbiased variance goes into the running estimate
        np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(bn.running_var.numpy(), rv, rtol=1e-12)
        assert int(bn.num_batches_tracked) == step + 1


def test_batch_norm_cumulative_average_and_untracked_stats():
    bn = nn.BatchNorm1d(2, momentum=None, dtype="float64")
    xs = [np.random.default_rng(i).standard_normal((4, 2)) for i in range(3)]
    for x in xs:
        bn(tg.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in xs], axis=0), rtol=1e-12)
    free = nn.BatchNorm1d(2, track_running_stats=False, affine=False)
    assert list(free.state_dict()) == [] and free.num_parameters() == 0
    x = tg.randn(6, 2) * 3 + 1
    free.eval()  # no running statistics: batch statistics even in eval mode
    np.testing.assert_allclose(free(x).numpy().mean(0), 0, atol=1e-5)


def test_batch_norm_eval_mode_is_deterministic_and_uses_running_estimates(backend):
    bn = nn.BatchNorm2d(3)
    for _ in range(2):
        bn(tg.randn(4, 3, 2, 2) * 2 + 1)
    bn.eval()
    stats = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    x = tg.randn(2, 3, 2, 2)
    a, b = bn(x).numpy(), bn(x).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(bn(x[:1]).numpy(), a[:1])  # each sample on its own: no batch statistics
    np.testing.assert_array_equal(bn.running_mean.numpy(), stats[0])
    assert int(bn.num_batches_tracked) == 2
    want = (x.numpy() - stats[0].reshape(1, 3, 1, 1)) / np.sqrt(stats[1].reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(a, want, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# dropout, activations, reshaping layers
# ---------------------------------------------------------------------------------------------------------
@given(p=st.sampled_from([0.2, 0.5, 0.9]))
def test_dropout_layer_train_and_eval(backend, p):
    d = nn.Dropout(p)
    x = tg.ones(100, 100)
    y = d(x).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / (1 - p))}
    assert abs(y.mean() - 1.0) < 0.08  # E[y] = x
    d.eval()
    assert d(x) is x
    with pytest.raises(ValueError):
        nn.Dropout(-0.1)


@pytest.mark.parametrize("layer, fn", [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    (nn.Softplus(beta=2.0), lambda x: np.log1p(np.exp(2 * x)) / 2),
    (nn.Identity(7, key="ignored"), lambda x: x),
])
def test_activations(layer, fn):
    x = np.linspace(-4, 4, 17)
    np.testing.assert_allclose(layer(tg.tensor(x)).numpy(), fn(x), rtol=1e-12, atol=1e-15)
    assert layer.num_parameters() == 0


def test_flatten_unflatten():
    x = tg.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Unflatten(1, (1, 28, 28))(tg.randn(3, 784)).shape == (3, 1, 28, 28)
    with pytest.raises(tg.ShapeError, match="cannot be split"):
        nn.Unflatten(1, (2, 3))(tg.randn(3, 7))
    assert repr(nn.Unflatten(1, (1, 28, 28))) == "Unflatten(dim=1, unflattened_size=(1, 28, 28))"


def _call_with(module, tensors, x):
    """module(x) with its parameters replaced by ``tensors`` (in named_parameters order), then restored."""
    mods = dict(module.named_modules())
    slots = []
    for name, _ in module.named_parameters():
        path, _, attr = name.rpartition(".")
        slots.append((mods[path], attr))
    saved = [m._parameters[a] for m, a in slots]
    try:
        for (m, a), t in zip(slots, tensors):
            m._parameters[a] = t
        return module(x)
    finally:
        for (m, a), t in zip(slots, saved):
            m._parameters[a] = t


def test_a_layer_stack_passes_gradcheck():
    tg.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.LeakyReLU(0.2), nn.Flatten(),
                        nn.Linear(2 * 4 * 4, 3), nn.Softplus(), nn.Dropout(0.0))
    net.to(dtype="float64")
    ps = [tg.tensor(p.numpy(), requires_grad=True) for p in net.parameters()]
    x = tg.randn(3, 1, 4, 4, dtype="float64", requires_grad=True)
    assert tg.gradcheck(lambda x, *ps: _call_with(net, ps, x), [x, *ps])


# ---------------------------------------------------------------------------------------------------------
# PyTorch, number for number
# ---------------------------------------------------------------------------------------------------------
def _copy_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _compare(ours, theirs, x, rtol=1e-5, atol=1e-5, steps=1):
    torch = _torch()
    rng = np.random.default_rng(0)
    for step in range(steps):
        xs = x * (step + 1) + step
        xt = torch.tensor(xs, requires_grad=True)
        xg = tg.tensor(xs, requires_grad=True)
        yt, yg = theirs(xt), ours(xg)
        np.testing.assert_allclose(yg.numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
        g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
        yt.backward(torch.tensor(g))
        yg.backward(tg.tensor(g))
        np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=atol)
        for (name, p), pt in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), pt.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)
        ours.zero_grad()
        theirs.zero_grad()
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=rtol, atol=atol, err_msg=k)


def test_linear_matches_pytorch():
    torch = _torch()
    theirs = torch.nn.Linear(7, 5)
    ours = nn.Linear(7, 5)
    _copy_from_torch(ours, theirs)
    _compare(ours, theirs, np.random.default_rng(1).standard_normal((4, 3, 7)).astype(np.float32))


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(stride=(2, 1), padding=(0, 2), dilation=2)])
def test_conv2d_matches_pytorch(kw):
    torch = _torch()
    theirs = torch.nn.Conv2d(3, 4, (3, 2), **kw)
    ours = nn.Conv2d(3, 4, (3, 2), **kw)
    _copy_from_torch(ours, theirs)
    _compare(ours, theirs, np.random.default_rng(2).standard_normal((2, 3, 9, 8)).astype(np.float32))


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, output_padding=1),
                                dict(stride=(2, 3), padding=(1, 0), dilation=2, output_padding=(1, 0), bias=False)])
def test_conv_transpose2d_matches_pytorch(kw):
    torch = _torch()
    theirs = torch.nn.ConvTranspose2d(3, 2, (4, 3), **kw)
    ours = nn.ConvTranspose2d(3, 2, (4, 3), **kw)
    _copy_from_torch(ours, theirs)
    _compare(ours, theirs, np.random.default_rng(3).standard_normal((2, 3, 5, 4)).astype(np.float32))


@pytest.mark.parametrize("cls, shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)),
                                        ("BatchNorm2d", (4, 3, 5, 5))])
def test_batch_norm_matches_pytorch_in_train_and_eval(cls, shape):
    torch = _torch()
    theirs, ours = getattr(torch.nn, cls)(3), getattr(nn, cls)(3)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([0.5, -1.0, 2.0]))
        theirs.bias.copy_(torch.tensor([0.1, 0.0, -0.3]))
    _copy_from_torch(ours, theirs)
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    _compare(ours, theirs, x, steps=3)  # train mode: running statistics compared after 3 steps
    theirs.eval(), ours.eval()
    _compare(ours, theirs, x * 0.5 - 1)


@pytest.mark.parametrize("src", ["Linear(3, 2, bias=False)", "Conv2d(3, 4, 3, stride=2, padding=1)",
                                 "Conv2d(3, 4, (3, 2), dilation=2, bias=False)",
                                 "ConvTranspose2d(3, 2, 4, stride=2, padding=1, output_padding=1)", "Dropout(0.3)",
                                 "LeakyReLU(0.2)", "Softplus()", "Flatten()", "Unflatten(1, (1, 28, 28))", "ReLU()"])
def test_layer_reprs_read_like_pytorchs(src):
    torch = _torch()  # noqa: F841  (used by the eval below)
    ours = repr(eval("nn." + src)).split("  # ")[0]  # without our parameter count
    assert ours == repr(eval("torch.nn." + src))
