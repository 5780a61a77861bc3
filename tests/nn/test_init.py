"""nn.init: PyTorch's gains, fans and distributions; in place; repeatable with tinygen.manual_seed."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygen as tg
import tinygen.nn as nn
from tinygen.nn import init

GAINS = [("linear", None), ("conv2d", None), ("conv_transpose2d", None), ("sigmoid", None), ("tanh", None),
         ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None)]


@pytest.mark.parametrize("name, param", GAINS)
def test_calculate_gain_matches_pytorch(name, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param), rel=1e-12)


def test_calculate_gain_values_and_errors():
    assert init.calculate_gain("tanh") == 5 / 3 and init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "0.1")


@given(shape=st.lists(st.integers(1, 5), min_size=2, max_size=4).map(tuple))
def test_fans(shape):
    rf = math.prod(shape[2:])
    assert init._calculate_fan_in_and_fan_out(tg.zeros(*shape)) == (shape[1] * rf, shape[0] * rf)


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(tg.zeros(5))


def _bound_and_std(fn, shape, **kw):
    """The bound/std PyTorch's formula gives, read off torch's own samples' spread for a big tensor."""
    torch = pytest.importorskip("torch")
    t = torch.empty(shape)
    fn(t, **kw)
    return t.abs().max().item(), t.std().item()


@pytest.mark.parametrize("name, kw", [
    ("xavier_uniform_", {}), ("xavier_uniform_", {"gain": 2.0}), ("xavier_normal_", {}),
    ("kaiming_uniform_", {}), ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}), ("kaiming_normal_", {}),
    ("kaiming_normal_", {"a": 0.2, "mode": "fan_out"}), ("uniform_", {"a": -0.3, "b": 0.7}),
    ("normal_", {"mean": 1.0, "std": 0.5}),
])
def test_distributions_match_pytorch(name, kw):
    torch = pytest.importorskip("torch")
    shape = (64, 32, 3, 3)
    ours = getattr(init, name)(tg.zeros(*shape), **kw).numpy()
    theirs = getattr(torch.nn.init, name)(torch.empty(shape), **kw).numpy()
    assert ours.dtype == np.float32
    assert abs(ours.mean() - theirs.mean()) < 0.05 * theirs.std() + 1e-3
    assert abs(ours.std() - theirs.std()) < 0.03 * theirs.std()
    if "uniform" in name:  # same support
        assert ours.min() >= theirs.min() - 0.01 * theirs.std() and ours.max() <= theirs.max() + 0.01 * theirs.std()
        assert abs(ours.max() - theirs.max()) < 0.01 * theirs.std()


def test_exact_bounds():
    w = init.kaiming_uniform_(tg.zeros(200, 50), a=math.sqrt(5))
    assert np.abs(w.numpy()).max() <= 1 / math.sqrt(50)  # what Linear's default amounts to
    w = init.xavier_uniform_(tg.zeros(30, 70))
    assert np.abs(w.numpy()).max() <= math.sqrt(6 / 100)
    w = init.kaiming_normal_(tg.zeros(400, 250), nonlinearity="relu")
    assert abs(w.numpy().std() - math.sqrt(2 / 250)) < 0.02 * math.sqrt(2 / 250)


def test_in_place_same_object_dtype_and_constants(backend):
    p = nn.Parameter(tg.zeros(3, 4, dtype="float64"))
    assert init.normal_(p) is p and p.dtype == "float64" and p.requires_grad
    assert init.constant_(p, 0.25) is p and (p.numpy() == 0.25).all()
    assert (init.ones_(p).numpy() == 1).all() and (init.zeros_(p).numpy() == 0).all()
    n = tg.tensor([3, 4])
    assert init.zeros_(n).dtype == "int64" and (n.numpy() == 0).all()
    if backend.name == "numpy":  # float16 is not in the array API standard
        h = tg.zeros(4, 4, dtype="float16")
        assert init.uniform_(h, -1, 1).dtype == "float16" and np.abs(h.numpy()).max() <= 1
    # initialisers record nothing, even on parameters that require grad
    assert p.grad_fn is None and p.is_leaf


def test_repeatable_with_manual_seed(backend):
    def draw():
        t = tg.zeros(5, 6)
        return np.concatenate([init.kaiming_uniform_(t).numpy().ravel(), init.xavier_normal_(t).numpy().ravel(),
                               init.normal_(t).numpy().ravel()])

    tg.manual_seed(7)
    a = draw()
    tg.manual_seed(7)
    np.testing.assert_array_equal(draw(), a)
    assert not np.array_equal(draw(), a)


def test_bad_mode():
    with pytest.raises(ValueError, match="fan_in, fan_out"):
        init.kaiming_uniform_(tg.zeros(2, 2), mode="fan_avg")
