"""Elementwise ops: values against NumPy under broadcasting, gradient conventions, extreme values, dtypes."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygen as tg
from tinygen.testing import arrays, broadcast_pairs

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "maximum": (tg.maximum, np.maximum),
    "minimum": (tg.minimum, np.minimum),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_ops_broadcast_like_numpy(name, backend, data):
    sa, sb = data.draw(broadcast_pairs())
    a = data.draw(arrays(sa, "float64", -3, 3))
    b = data.draw(arrays(sb, "float64", 0.5, 3))
    ours, ref = BINARY[name]
    ta = tg.tensor(a, requires_grad=True)
    tb = tg.tensor(b, requires_grad=True)
    out = ours(ta, tb)
    np.testing.assert_allclose(out.numpy(), ref(a, b), rtol=1e-12)
    out.sum().backward()
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape


@given(data=st.data())
def test_add_gradient_counts_the_broadcast_copies(backend, data):
    sa, sb = data.draw(broadcast_pairs())
    a = tg.zeros(*sa, dtype="float64", requires_grad=True)
    b = tg.zeros(*sb, dtype="float64", requires_grad=True)
    out = a + b
    out.sum().backward()
    n = out.numel()
    np.testing.assert_allclose(a.grad.numpy(), np.full(sa, n / max(a.numel(), 1)))
    np.testing.assert_allclose(b.grad.numpy(), np.full(sb, n / max(b.numel(), 1)))


def test_ties_share_the_gradient_of_maximum_and_minimum():
    a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = tg.tensor([1.0, 0.0, 5.0], requires_grad=True)
    tg.maximum(a, b).sum().backward()
    assert a.grad.numpy().tolist() == [0.5, 1.0, 0.0] and b.grad.numpy().tolist() == [0.5, 0.0, 1.0]


def test_abs_gradient_at_zero_is_zero_and_clip_passes_at_the_bounds():
    x = tg.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    x.abs().sum().backward()
    assert x.grad.numpy().tolist() == [-1.0, 0.0, 1.0]
    y = tg.tensor([-1.0, 0.0, 1.0, 2.0], requires_grad=True)
    y.clip(-1.0, 1.0).sum().backward()
    assert y.grad.numpy().tolist() == [1.0, 1.0, 1.0, 0.0]
    z = tg.tensor([-5.0, 5.0], requires_grad=True)
    z.clip(min=0.0).sum().backward()
    assert z.grad.numpy().tolist() == [0.0, 1.0]


def test_where_routes_the_gradient():
    a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = tg.tensor(10.0, requires_grad=True)
    out = tg.where(a > 1.5, a, b)
    assert out.numpy().tolist() == [10.0, 2.0, 3.0]
    out.sum().backward()
    assert a.grad.numpy().tolist() == [0.0, 1.0, 1.0] and b.grad.item() == 1.0


def test_pow_with_number_and_tensor_exponents():
    x = tg.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    (x ** 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy() ** 2)
    e = tg.tensor(2.0, dtype="float64", requires_grad=True)
    (x ** e).sum().backward()
    np.testing.assert_allclose(e.grad.item(), (x.numpy() ** 2 * np.log(x.numpy())).sum())
    (2.0 ** x).sum()  # number ** tensor


@pytest.mark.parametrize("op", ["exp", "log", "sqrt", "abs", "neg"])
@given(a=arrays((7,), "float32", 0.01, 50, extremes=True))
def test_float32_stays_float32(op, a):
    x = tg.tensor(a, requires_grad=True)
    y = getattr(x, op)() if op != "neg" else -x
    assert y.dtype == "float32"
    with np.errstate(divide="ignore", invalid="ignore"):
        y.sum().backward()
    assert x.grad.dtype == "float32"


def test_scalar_operands_get_no_gradient_and_no_upcast():
    x = tg.randn(4, requires_grad=True)
    y = (x * 2.5 + 1) / 3 - 0.5
    assert y.dtype == "float32"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.5 / 3, rtol=1e-6)
