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


# --- the closure idiom: gradcheck perturbs the tensors it is given, in place ----------------------------------
def _critic_and_batch():
    from tinygen import nn
    critic = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).to("float64")
    rng = np.random.default_rng(0)
    real, fake = (tg.tensor(rng.standard_normal((2, 3)), dtype="float64") for _ in range(2))
    return critic, real, fake, tg.tensor([0.3, 0.8], dtype="float64")


def test_pytorchs_closure_idiom_over_a_modules_parameters():
    import tinygen.functional as F
    critic, real, fake, e = _critic_and_batch()
    params = list(critic.parameters())
    before = [p.numpy().copy() for p in params]
    data = [p.data for p in params]
    assert tg.gradcheck(lambda *ps: F.gradient_penalty(critic, real, fake, eps=e), params)
    assert all(p.data is d for p, d in zip(params, data))                       # restored: the same arrays
    assert all(np.array_equal(p.numpy(), b) for p, b in zip(params, before))    # holding the same values
    assert tg.gradgradcheck(lambda *ps: critic(real).tanh(), params)


def test_inputs_are_restored_when_the_check_fails():
    x = tg.randn(3, 4, dtype="float64", requires_grad=True)
    c = tg.randn(2, dtype="float64", requires_grad=True)
    before = x.numpy().copy()
    with pytest.raises(GradcheckError):
        tg.gradcheck(lambda a, b: _BadSquare.apply(a) * b.sum(), [x, c])
    assert np.array_equal(x.numpy(), before)


def test_a_function_that_ignores_its_input_is_told_so_not_numeric_0():
    x = tg.randn(3, dtype="float64", requires_grad=True)
    loss = (x * x).sum()                              # computed once, outside the function
    with pytest.raises(GradcheckError, match="perturbing input 0 does not change the output at all: the "
                                             "function ignores the tensor it is given"):
        tg.gradcheck(lambda a: loss, [x])
    big = tg.randn(40, 40, dtype="float64", requires_grad=True)
    big_loss = (big * big).sum()
    with pytest.raises(GradcheckError, match="ignores the tensor it is given"):   # random directions too
        tg.gradcheck(lambda a: big_loss, [big], full_jacobian_max=100)


def test_a_function_that_cuts_the_graph_is_told_so():
    x = tg.randn(3, dtype="float64", requires_grad=True)
    w = tg.randn(3, dtype="float64", requires_grad=True)
    with pytest.raises(GradcheckError, match="the graph does not reach input 0: the function uses its value "
                                             "outside the graph"):
        tg.gradcheck(lambda a, b: (tg.tensor(a.numpy(), dtype="float64") * b).sum(), [x, w])


def test_an_input_the_output_does_not_depend_on_has_derivative_0_both_ways():
    """A critic's last bias does not enter its gradient penalty: checking every parameter still passes."""
    x = tg.randn(3, dtype="float64", requires_grad=True)
    unused = tg.randn(2, dtype="float64", requires_grad=True)
    assert tg.gradcheck(lambda a, b: a.exp().sum(), [x, unused])


def test_as_function_of_params_is_public():
    from tinygen import nn
    lin = nn.Linear(3, 2).to("float64")
    shared = nn.Sequential(lin, nn.Tanh(), lin.__class__(2, 2).to("float64"))
    shared.add_module("again", lin)                    # lin's parameters appear twice in the tree
    x = tg.tensor(np.ones((4, 3)), dtype="float64")
    f, params = tg.as_function_of_params(lambda: shared[2](shared[0](x).tanh()).sum(), shared)
    assert len(params) == 4 and params[0] is lin.weight   # each shared parameter once
    assert tg.gradcheck(f, params)
    moved = [p.detach() + 1.0 for p in params]
    assert not np.isclose(float(f(*moved)), float(f(*params)))   # a true function of its inputs
    assert lin.weight is params[0]                                # the module is left as it was
    with pytest.raises(TypeError, match="takes 4 tensors"):
        f(params[0])
