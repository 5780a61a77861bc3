"""matmul (batched, broadcast, 1-D) and the fused linear op, against NumPy."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygen as tg
from tinygen.testing import arrays, broadcast_pairs


@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 5)) for _ in range(3))
    ba, bb = draw(broadcast_pairs(max_dims=2, max_side=3))
    form = draw(st.sampled_from(["2d", "batched", "vec-mat", "mat-vec", "vec-vec"]))
    return {"2d": ((n, k), (k, m)), "batched": (ba + (n, k), bb + (k, m)), "vec-mat": ((k,), bb + (k, m)),
            "mat-vec": (ba + (n, k), (k,)), "vec-vec": ((k,), (k,))}[form]


@given(shapes=matmul_shapes(), data=st.data())
def test_matmul_matches_numpy_and_gradients_have_input_shapes(shapes, data, backend):
    sa, sb = shapes
    a = data.draw(arrays(sa, "float64", -2, 2))
    b = data.draw(arrays(sb, "float64", -2, 2))
    ta, tb = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True)
    y = ta @ tb
    np.testing.assert_allclose(y.numpy(), np.matmul(a, b), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(0).standard_normal(np.shape(np.matmul(a, b)))
    y.backward(tg.tensor(g))
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    if len(sa) == 2 and len(sb) == 2:
        np.testing.assert_allclose(ta.grad.numpy(), g @ b.T, rtol=1e-12)
        np.testing.assert_allclose(tb.grad.numpy(), a.T @ g, rtol=1e-12)


@given(data=st.data())
def test_linear_is_x_w_transpose_plus_b(data, backend):
    lead = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=2))
    i, o = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    x = data.draw(arrays(tuple(lead) + (i,), "float64", -2, 2))
    w = data.draw(arrays((o, i), "float64", -2, 2))
    b = data.draw(arrays((o,), "float64", -2, 2))
    y = tg.linear(tg.tensor(x), tg.tensor(w), tg.tensor(b))
    np.testing.assert_allclose(y.numpy(), x @ w.T + b, rtol=1e-12, atol=1e-12)


def test_linear_shape_error_names_the_layout():
    with pytest.raises(tg.ShapeError, match=r"^linear: cannot apply a weight of shape \(400, 784\)"):
        tg.linear(tg.zeros(64, 20), tg.zeros(400, 784))


def test_matmul_of_scalars_is_an_error():
    with pytest.raises(tg.ShapeError, match="matmul"):
        tg.tensor(2.0) @ tg.tensor(3.0)


def test_float32_matmul_gradients_stay_float32():
    a, b = tg.randn(8, 5, requires_grad=True), tg.randn(5, 3, requires_grad=True)
    (a @ b).sum().backward()
    assert a.grad.dtype == "float32" and b.grad.dtype == "float32"
