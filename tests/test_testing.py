"""The hypothesis strategies shipped in tinygen.testing."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygen as tg
from tinygen.ops.conv import conv2d, conv_transpose2d
from tinygen.testing import HypothesisDraw, arrays, broadcast_pairs, broadcastable_shapes, conv_configs, shapes, tensors


@given(shapes(min_dims=1, max_dims=3, min_side=2, max_side=5))
def test_shapes_respect_bounds(s):
    assert 1 <= len(s) <= 3 and all(2 <= d <= 5 for d in s)


@given(broadcast_pairs())
def test_broadcast_pairs_broadcast(pair):
    np.broadcast_shapes(*pair)


@given(st.data())
def test_broadcastable_shapes(data):
    s = data.draw(shapes())
    t = data.draw(broadcastable_shapes(s))
    np.broadcast_shapes(s, t)


@given(tensors(shape=(3, 2), dtype="float64", min_value=-1, max_value=1, requires_grad=True))
def test_tensors_have_what_they_say(x):
    assert x.shape == (3, 2) and x.dtype == "float64" and x.requires_grad
    assert np.all(np.abs(x.numpy()) <= 1)


@given(arrays((50,), dtype="float32", min_value=-5, max_value=5, extremes=True))
def test_arrays_with_extremes_are_finite_and_bounded(a):
    assert a.dtype == np.float32 and np.isfinite(a).all() and np.abs(a).max() <= 5


@given(st.data())
def test_hypothesis_draw_feeds_op_samples(data):
    d = HypothesisDraw(data)
    a = d.array(d.shape(), "positive")
    assert (a >= 0.5).all()
    x, y = d.broadcast_pair()
    np.broadcast_shapes(x, y)


@given(tensors(shape=shapes(min_dims=2, max_dims=2), min_value=-3, max_value=3))
def test_readme_example_relu_is_idempotent(x):
    assert bool((x.relu().relu() == x.relu()).all())
    assert tg.is_grad_enabled()


@given(cfg=conv_configs())
def test_conv_configs_give_valid_convolutions(cfg):
    x = tg.zeros(cfg["n"], cfg["c"], *cfg["hw"], dtype="float64")
    w = tg.zeros(cfg["o"], cfg["c"], *cfg["k"], dtype="float64")
    y = conv2d(x, w, None, cfg["s"], cfg["p"], cfg["d"])
    assert y.shape[:2] == (cfg["n"], cfg["o"]) and min(y.shape[2:]) >= 1 and cfg["op"] == (0, 0)


@given(cfg=conv_configs(transposed=True))
def test_conv_configs_give_valid_transposed_convolutions(cfg):
    assert all(op < max(s, d) for op, s, d in zip(cfg["op"], cfg["s"], cfg["d"]))
    x = tg.zeros(cfg["n"], cfg["c"], *cfg["hw"], dtype="float64")
    w = tg.zeros(cfg["c"], cfg["o"], *cfg["k"], dtype="float64")
    y = conv_transpose2d(x, w, None, cfg["s"], cfg["p"], cfg["op"], cfg["d"])
    assert y.shape[:2] == (cfg["n"], cfg["o"]) and min(y.shape[2:]) >= 1


def _subnormal(a):
    return bool(np.any((a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)))


@given(arrays((8,), "float64", -3, 3), tensors(shape=(8,), min_value=-3, max_value=3))
def test_no_subnormal_numbers_unless_asked(a, t):
    # a subnormal (mu = 5e-324) broke an rtol check of the Gaussian KL under HYPOTHESIS_PROFILE=dev
    assert not _subnormal(a) and not _subnormal(t.numpy())


@pytest.mark.parametrize("dtype, tiny", [("float32", 1e-40), ("float64", 1e-310)])
def test_subnormal_numbers_when_asked(dtype, tiny):
    seen = []   # bounds inside the subnormal range: without allow_subnormal only zeros could be drawn

    @given(arrays((8,), dtype, -tiny, tiny, allow_subnormal=True),
           tensors(shape=(8,), dtype=dtype, min_value=-tiny, max_value=tiny, allow_subnormal=True))
    def check(a, t):
        assert a.dtype == dtype and t.dtype == dtype
        assert np.abs(a).max() <= tiny and np.abs(t.numpy()).max() <= tiny
        seen.append(_subnormal(a) and _subnormal(t.numpy()))
    check()
    assert any(seen)
