"""Indexing against NumPy for every index form, and its gradient (repeated indices add up)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygen as tg
from tinygen.testing import arrays, shapes


@st.composite
def index_for(draw, shape):
    items = []
    for side in shape[:draw(st.integers(0, len(shape)))]:
        kind = draw(st.sampled_from(["int", "slice", "array", "none", "full"]))
        if kind == "int":
            items.append(draw(st.integers(-side, side - 1)))
        elif kind == "slice":
            items.append(slice(draw(st.sampled_from([None, 0, 1, -1])), draw(st.sampled_from([None, side, -1, 2])),
                               draw(st.sampled_from([None, 1, 2, -1, -2]))))
        elif kind == "array":
            items.append(draw(st.lists(st.integers(-side, side - 1), min_size=1, max_size=4)))
        elif kind == "none":
            items.append(None)
            items.append(slice(None))
        else:
            items.append(slice(None))
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), Ellipsis)
    return tuple(items)


@given(data=st.data())
def test_getitem_matches_numpy_and_scatters_gradients(data, backend):
    shp = data.draw(shapes(min_dims=1, max_dims=3, max_side=4))
    a = data.draw(arrays(shp, "float64"))
    index = data.draw(index_for(shp))
    np_index = tuple(np.array(i) if isinstance(i, list) else i for i in index)
    try:
        ref = a[np_index]
    except IndexError:
        with pytest.raises(IndexError):
            tg.tensor(a)[index]
        return
    x = tg.tensor(a, requires_grad=True)
    y = x[index]
    np.testing.assert_array_equal(y.numpy(), ref)
    g = np.random.default_rng(1).standard_normal(np.shape(ref))
    y.backward(tg.tensor(g))
    expected = np.zeros_like(a)
    np.add.at(expected, np_index, g)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_repeated_integer_indices_add_their_gradients(backend):
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.numpy().tolist() == [3.0, 0.0, 1.0]


def test_numpys_rule_for_separated_array_indices():
    a = np.arange(60.0).reshape(3, 4, 5)
    x = tg.tensor(a)
    np.testing.assert_array_equal(x[0, :, [1, 2]].numpy(), a[0, :, [1, 2]])  # arrays' axes go first
    np.testing.assert_array_equal(x[:, 0, [1, 2]].numpy(), a[:, 0, [1, 2]])  # adjacent: stay in place
    np.testing.assert_array_equal(x[[0, 2], :, [1, 3]].numpy(), a[[0, 2], :, [1, 3]])


def test_boolean_masks_and_tensor_indices():
    a = np.arange(6.0).reshape(2, 3)
    x = tg.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(x[x > 2].numpy(), a[a > 2])
    np.testing.assert_array_equal(x[tg.tensor([1, 0])].numpy(), a[[1, 0]])
    x[x > 2].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (a > 2).astype(float))


def test_index_errors():
    x = tg.zeros(2, 3)
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="out of bounds"):
        x[5]
    with pytest.raises(IndexError, match="out of bounds"):
        x[:, [0, 3]]
    with pytest.raises(IndexError, match="floats"):
        x[tg.tensor([0.0])]
