"""Tensor: constructors, attributes, conversions, printing, operators."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygen as tg
from tinygen.testing import shapes, tensors


def test_constructors_and_attributes():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x.shape == (2, 2) and x.ndim == 2 and x.dtype == "float32" and x.device == "cpu"
    assert x.requires_grad and x.is_leaf and x.grad is None
    assert tg.tensor([1, 2]).dtype == "int64"
    assert tg.tensor(True).dtype == "bool"
    assert tg.tensor(np.zeros(3, dtype=np.float64)).dtype == "float64"  # arrays keep their dtype
    assert tg.tensor([1, 2], dtype="float64").dtype == "float64"
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).shape == (2, 3)
    assert tg.ones(4).numpy().sum() == 4
    assert tg.full((2, 2), 7.0).numpy().tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert tg.arange(5).numpy().tolist() == [0, 1, 2, 3, 4] and tg.arange(5).dtype == "int64"
    assert tg.arange(0.0, 1.0, 0.25).shape == (4,)
    assert tg.rand(3, 4).shape == (3, 4) and 0 <= tg.rand(100).numpy().min()
    assert tg.randn(2, 3, dtype="float64").dtype == "float64"
    x = tg.randn(2, 5)
    for like in (tg.zeros_like, tg.ones_like, tg.randn_like, tg.rand_like):
        y = like(x)
        assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
    assert tg.eye(3).numpy().trace() == 3 and tg.linspace(0, 1, 5).shape == (5,)


def test_tensor_copies_its_data():
    a = np.ones(3, dtype=np.float32)
    t = tg.tensor(a)
    a[0] = 5
    assert t.numpy()[0] == 1


def test_every_tensor_holds_an_array_even_made_from_a_numpy_scalar():
    for t in (tg.Tensor(np.float64(2.0)), tg.tensor(3.0) * 2.0, tg.tensor(4.0).exp(), tg.tensor(1.0).sum()):
        assert isinstance(t.data, np.ndarray) and t.data.shape == () and t.data.flags.writeable
    assert tg.Tensor(np.float64(2.0)).dtype == "float64" and float(tg.Tensor(np.int64(3))) == 3


def test_numpy_item_detach_to_T():
    x = tg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert isinstance(x.numpy(), np.ndarray)
    assert x.sum().item() == 6.0 and float(x.sum()) == 6.0
    with pytest.raises(ValueError, match="one element"):
        x.item()
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and d.data is x.data
    assert x.T.shape == (3, 1)
    assert x.to("cpu") is x
    assert x.to(dtype="float64").dtype == "float64"
    assert x.double().dtype == "float64" and x.double().float().dtype == "float32"


def test_cast_gradients_come_back_in_the_input_dtype():
    x = tg.randn(3, requires_grad=True)
    (x.double() * 2).sum().backward()
    assert x.grad.dtype == "float32"
    np.testing.assert_allclose(x.grad.numpy(), 2.0)


def test_repr():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert "grad_fn=<mul>" in repr(x * 2)
    assert "dtype=float64" in repr(tg.zeros(2, dtype="float64"))
    assert "dtype" not in repr(tg.tensor([1, 2])) and "dtype=int64" in repr(tg.zeros(0, dtype="int64"))
    assert "dtype=int32" in repr(tg.tensor([1, 2], dtype="int32"))
    assert "..." in repr(tg.zeros(1000))


def test_operators_with_python_numbers_and_arrays():
    x = tg.tensor([1.0, 2.0])
    np.testing.assert_allclose((2 - x).numpy(), [1, 0])
    np.testing.assert_allclose((2 / x).numpy(), [2, 1])
    np.testing.assert_allclose((2 ** x).numpy(), [2, 4])
    np.testing.assert_allclose((x ** 2).numpy(), [1, 4])
    np.testing.assert_allclose((np.array([1.0, 1.0], dtype=np.float32) + x).numpy(), [2, 3])
    np.testing.assert_allclose((-x).numpy(), [-1, -2])
    np.testing.assert_allclose(abs(-x).numpy(), [1, 2])
    assert (x * 2).dtype == "float32"  # Python numbers do not upcast


def test_comparisons_return_booleans_without_grad():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == "bool" and not m.requires_grad
    assert m.numpy().tolist() == [False, True, True]
    assert (x == 2.0).numpy().tolist() == [False, True, False]
    assert bool((x >= 1).all())
    assert len({x, x * 1}) == 2  # == is elementwise; hashing stays by identity


def test_setitem_in_place_under_no_grad():
    x = tg.zeros(3, 3)
    x[0] = 1.0
    x[:, 2] = tg.tensor([5.0, 6.0, 7.0])
    assert x.numpy()[0].tolist() == [1, 1, 5]
    w = tg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w[0] = 1.0
    with tg.no_grad():
        w[0] = 1.0
    assert w.numpy()[0] == 1.0


def test_bad_shapes_raise_shape_error_naming_the_op():
    with pytest.raises(tg.ShapeError, match=r"^matmul: cannot multiply \(64, 784\) by \(400, 784\)"):
        tg.zeros(64, 784) @ tg.zeros(400, 784)
    with pytest.raises(tg.ShapeError, match=r"^add: "):
        tg.zeros(2, 3) + tg.zeros(4)
    with pytest.raises(tg.ShapeError, match=r"^reshape: cannot reshape \(2, 3\)"):
        tg.zeros(2, 3).reshape(4, 2)
    with pytest.raises(tg.ShapeError, match="sum: axis 2"):
        tg.zeros(2, 3).sum(axis=2)
    assert issubclass(tg.ShapeError, ValueError)


def test_ragged_data_is_a_type_error():
    with pytest.raises((TypeError, ValueError)):
        tg.tensor([[1.0, 2.0], [3.0]])


@given(tensors(shape=shapes(max_dims=3)))
def test_numpy_round_trip(x):
    np.testing.assert_array_equal(tg.tensor(x.numpy()).numpy(), x.numpy())
    assert x.numel() == x.numpy().size


@given(st.integers(0, 2**31 - 1))
def test_manual_seed_repeats_random_tensors_bit_for_bit(seed):
    tg.manual_seed(seed)
    a = tg.randn(5).numpy()
    b = tg.rand(5).numpy()
    tg.manual_seed(seed)
    np.testing.assert_array_equal(a, tg.randn(5).numpy())
    np.testing.assert_array_equal(b, tg.rand(5).numpy())
