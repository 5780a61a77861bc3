"""Shape ops against NumPy: reshape, permute/transpose, broadcast_to, concat, stack, pad, and helpers."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygen as tg
from tinygen.testing import arrays, broadcast_pairs, shapes


@given(data=st.data())
def test_concat_and_stack_match_numpy_and_split_gradients(data, backend):
    shp = list(data.draw(shapes(min_dims=1, max_dims=3)))
    axis = data.draw(st.integers(-len(shp), len(shp) - 1))
    parts = []
    for _ in range(data.draw(st.integers(1, 3))):
        s = list(shp)
        s[axis] = data.draw(st.integers(1, 3))
        parts.append(data.draw(arrays(tuple(s), "float64")))
    ts = [tg.tensor(p, requires_grad=True) for p in parts]
    y = tg.concat(ts, axis=axis)
    np.testing.assert_array_equal(y.numpy(), np.concatenate(parts, axis=axis))
    g = np.arange(y.numel(), dtype=np.float64).reshape(y.shape)
    y.backward(tg.tensor(g))
    for t, piece in zip(ts, np.split(g, np.cumsum([p.shape[axis] for p in parts])[:-1], axis=axis)):
        np.testing.assert_array_equal(t.grad.numpy(), piece)
    same = [data.draw(arrays(tuple(shp), "float64")) for _ in range(2)]
    ax = data.draw(st.integers(-len(shp) - 1, len(shp)))
    np.testing.assert_array_equal(tg.stack([tg.tensor(s) for s in same], axis=ax).numpy(), np.stack(same, axis=ax))


@given(pair=broadcast_pairs(), data=st.data())
def test_broadcast_to_and_its_gradient(pair, data, backend):
    small, big = pair
    target = np.broadcast_shapes(small, big)
    a = data.draw(arrays(small, "float64"))
    x = tg.tensor(a, requires_grad=True)
    y = x.broadcast_to(target)
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(a, target))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(small, np.prod(target) / max(a.size, 1)))


def test_reshape_permute_transpose_flatten_squeeze():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = tg.tensor(a)
    np.testing.assert_array_equal(x.reshape(4, -1).numpy(), a.reshape(4, -1))
    np.testing.assert_array_equal(x.permute(2, 0, 1).numpy(), a.transpose(2, 0, 1))
    np.testing.assert_array_equal(x.transpose(0, 2).numpy(), a.swapaxes(0, 2))
    np.testing.assert_array_equal(x.mT.numpy(), a.swapaxes(-1, -2))
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12)
    assert x.unflatten(2, (2, 2)).shape == (2, 3, 2, 2)
    assert x.unsqueeze(1).shape == (2, 1, 3, 4) and x.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert x.unsqueeze(0).squeeze().shape == (2, 3, 4) and x.unsqueeze(0).squeeze(0).shape == (2, 3, 4)
    with pytest.raises(tg.ShapeError, match="squeeze"):
        x.squeeze(1)
    with pytest.raises(tg.ShapeError, match="permute"):
        x.permute(0, 1)


def test_pad_matches_numpy_and_slices_the_gradient():
    a = np.arange(6.0).reshape(2, 3)
    x = tg.tensor(a, requires_grad=True)
    y = tg.pad(x, [(1, 0), (2, 1)])
    np.testing.assert_array_equal(y.numpy(), np.pad(a, [(1, 0), (2, 1)]))
    y.backward(tg.tensor(np.arange(y.numel(), dtype=np.float32).reshape(y.shape)))
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(y.numel()).reshape(y.shape)[1:, 2:5])
    assert tg.pad(x, 1).shape == (4, 5)
    assert tg.pad(x, [(1, 1)]).shape == (2, 5)  # only the last axis
    with pytest.raises(tg.ShapeError, match="pad"):
        tg.pad(x, [(-1, 0), (0, 0)])
