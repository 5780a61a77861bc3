"""gradcheck / gradgradcheck themselves: they pass right gradients and name what is wrong in wrong ones."""
import numpy as np
import pytest

import tinygen as tg
from tinygen.autograd import Function
from tinygen.gradcheck import GradcheckError, RandomDraw, make_array


class _BadSquare(Function):
    """y = x^2 with a planted bug in the gradient of element [1, 2] (for these tests only)."""
    register = False

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, gy):
        (x,) = self.saved_tensors
        bump = np.zeros(x.shape)
        bump[1, 2] = 0.5
        return gy * 2.0 * x + tg.tensor(bump)


def test_gradcheck_passes_correct_gradients():
    x = tg.randn(3, 4, dtype="float64", requires_grad=True)
    assert tg.gradcheck(lambda a: (a.sigmoid() * a).sum(), [x])
    assert tg.gradgradcheck(lambda a: (a.sigmoid() * a), [x])


def test_gradcheck_names_input_and_element():
    x = tg.randn(3, 4, dtype="float64", requires_grad=True)
    c = tg.randn(2, dtype="float64", requires_grad=True)
    with pytest.raises(GradcheckError, match=r"d\(output element \d+\)/d\(input 0\[1, 2\]\): analytic .* vs numeric"):
        tg.gradcheck(lambda a, b: _BadSquare.apply(a) * b.sum(), [x, c])
    assert not tg.gradcheck(lambda a, b: _BadSquare.apply(a) * b.sum(), [x, c], raise_exception=False)


def test_random_directions_for_large_inputs_catch_the_bug_too():
    x = tg.randn(40, 40, dtype="float64", requires_grad=True)
    assert tg.gradcheck(lambda a: a * a, [x], full_jacobian_max=100)
    with pytest.raises(GradcheckError, match="random direction"):
        tg.gradcheck(lambda a: _BadSquare.apply(a), [x], full_jacobian_max=100)


def test_gradcheck_refuses_float32():
    with pytest.raises(ValueError, match="float64"):
        tg.gradcheck(lambda a: a * 2, [tg.randn(3, requires_grad=True)])


def test_gradcheck_needs_something_to_check():
    with pytest.raises(ValueError, match="requires_grad"):
        tg.gradcheck(lambda a: a * 2, [tg.randn(3, dtype="float64")])


def test_gradgradcheck_checks_the_upstream_gradient_too():
    x = tg.randn(3, dtype="float64", requires_grad=True)
    assert tg.gradgradcheck(lambda a: a.exp() * a, [x])


def test_make_array_domains():
    u = np.random.default_rng(0).random((200,))
    assert (make_array("positive", u) >= 0.5).all()
    assert (np.abs(make_array("nonzero", u)) >= 0.3).all()
    d = np.sort(make_array("distinct", u))
    assert (np.diff(d) >= 0.2 - 1e-12).all()
    e, o = make_array("even", u), make_array("odd", u[::-1])
    assert np.abs(e[:, None] - o[None, :]).min() >= 0.3 - 1e-12
    r = RandomDraw(0)
    a, b = r.broadcast_pair()
    np.broadcast_shapes(a, b)
