"""The graph walk: backward, grad, accumulation, freeing, hooks, grad modes, anomaly detection."""
import gc
import sys
import weakref

import numpy as np
import pytest

import tinygen as tg


def t64(*shape, requires_grad=True):
    return tg.randn(*shape, dtype="float64", requires_grad=requires_grad)


def test_the_issue_example():
    x = tg.randn(64, 784, requires_grad=True)
    w = tg.randn(784, 400, requires_grad=True)
    y = (x @ w).tanh().sum()
    y.backward()
    assert x.grad.shape == (64, 784) and w.grad.shape == (784, 400)
    xn, wn = x.numpy().astype(np.float64), w.numpy().astype(np.float64)
    d = 1 - np.tanh(xn @ wn) ** 2
    np.testing.assert_allclose(x.grad.numpy(), d @ wn.T, rtol=2e-3, atol=2e-3)
    g, = tg.grad((x @ w).relu().pow(2).mean(), [x], create_graph=True)
    assert g.requires_grad
    (g ** 2).sum().backward()
    assert tg.gradcheck(lambda a: (a.sigmoid() * a).sum(), [tg.randn(3, 4, dtype="float64", requires_grad=True)])


def test_leaf_gradients_accumulate_across_backward_calls():
    x = t64(3)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 5.0)


def test_a_tensor_used_twice_gets_both_contributions():
    x = t64(4)
    y = x * x + x.exp() * x  # x feeds four edges
    y.sum().backward()
    xn = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 * xn + np.exp(xn) * (1 + xn), rtol=1e-12)
    assert tg.gradcheck(lambda a: (a * a + a.exp() * a) * a, [t64(3)])


def test_diamond_graph_visits_each_node_once():
    calls = []
    x = t64(3)
    h = x.tanh()
    h.register_hook(lambda g: calls.append(g.numpy().copy()))
    y = (h * 2 + h * 3).sum()
    y.backward()
    assert len(calls) == 1  # the node's gradient is complete (2 + 3) when its backward runs
    np.testing.assert_allclose(calls[0], 5.0)


def test_second_backward_through_freed_graph_says_retain_graph():
    x = t64(3)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = t64(3)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    g1 = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * g1)


def test_saved_arrays_are_freed_after_backward():
    x = t64(1000)
    y = x.exp()  # saves its output
    z = (y * x).sum()
    node = y.grad_fn
    del y
    z.backward()
    assert node._saved is None and node.out_data is None


def test_a_100000_op_chain_does_not_hit_the_recursion_limit():
    x = tg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    assert sys.getrecursionlimit() < 100_000
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_backward_on_a_non_scalar_needs_a_gradient():
    x = t64(2, 3)
    with pytest.raises(RuntimeError, match="not a single number"):
        (x * 2).backward()
    (x * 2).backward(tg.ones(2, 3, dtype="float64"))
    np.testing.assert_allclose(x.grad.numpy(), 2.0)


def test_backward_gradient_of_the_wrong_shape():
    x = t64(2, 3)
    with pytest.raises(tg.ShapeError):
        (x * 2).backward(tg.ones(3, 2, dtype="float64"))


def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    x, w = t64(3), t64(3)
    gx, gw = tg.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(gx.numpy(), w.numpy())
    np.testing.assert_allclose(gw.numpy(), x.numpy())
    assert x.grad is None and w.grad is None
    assert not gx.requires_grad


def test_grad_with_respect_to_an_intermediate_tensor():
    x = t64(3)
    h = x * 2
    y = (h.exp()).sum()
    gh, = tg.grad(y, [h])
    np.testing.assert_allclose(gh.numpy(), np.exp(h.numpy()))


def test_grad_allow_unused():
    x, u = t64(2), t64(2)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        tg.grad(y, [x, u], retain_graph=True)
    gx, gu = tg.grad(y, [x, u], allow_unused=True)
    assert gu is None and gx is not None


def test_grad_outputs_and_several_outputs():
    x = t64(3)
    a, b = x * 2, x * x
    ga = tg.ones(3, dtype="float64")
    gb = tg.tensor([1.0, 2.0, 3.0], dtype="float64")
    g, = tg.grad([a, b], [x], grad_outputs=[ga, gb])
    np.testing.assert_allclose(g.numpy(), 2 + 2 * x.numpy() * gb.numpy())


def test_create_graph_gives_second_derivatives():
    x = t64(5)
    g, = tg.grad((x ** 3).sum(), [x], create_graph=True)
    h, = tg.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy(), rtol=1e-12)


def test_third_derivative():
    x = t64(4)
    g1, = tg.grad(x.tanh().sum(), [x], create_graph=True)
    g2, = tg.grad(g1.sum(), [x], create_graph=True)
    g3, = tg.grad(g2.sum(), [x])
    t = np.tanh(x.numpy())
    np.testing.assert_allclose(g3.numpy(), -2 * (1 - t ** 2) * (1 - 3 * t ** 2), rtol=1e-10)


def test_gradient_penalty_pattern_differentiates_through_a_gradient():
    # || d f(x) / dx ||^2 with f(x) = sum(tanh(x @ w)): its gradient w.r.t. w needs double backward
    x = t64(4, 3, requires_grad=True)
    w = t64(3, 2)

    def penalty(w_):
        g, = tg.grad((x @ w_).tanh().sum(), [x], create_graph=True)
        return ((g * g).sum(axis=1).sqrt() - 1.0).pow(2).mean()
    assert tg.gradcheck(penalty, [w])


def test_no_grad_records_nothing_and_enable_grad_inside_it():
    x = t64(3)
    with tg.no_grad():
        y = x * 2
        with tg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None
    assert tg.is_grad_enabled()


def test_no_grad_as_decorator():
    @tg.no_grad()
    def f(a):
        return a * 2
    assert not f(t64(2)).requires_grad
    assert tg.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = t64(3)
    y = (x.detach() * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), x.numpy())


def test_hooks_can_replace_gradients_and_be_removed():
    x = t64(3)
    h = x.register_hook(lambda g: g * 10)
    (x * 1.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 10.0)
    h.remove()
    x.grad = None
    (x * 1.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1.0)


def test_hook_on_an_intermediate_changes_what_flows_below():
    x = t64(3)
    h = x * 2
    h.register_hook(lambda g: g * 0)
    (h * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.0)


def _five(g):
    return tg.ones(5, dtype="float64")


@pytest.mark.parametrize("on", ["leaf", "intermediate"])
def test_a_hook_that_changes_the_shape_is_an_error_naming_it_and_both_shapes(on):
    x, w = t64(3), t64(3)
    h = x * 2 if on == "intermediate" else x
    h.register_hook(_five)               # PyTorch: "hook '_five' has changed the size of value"
    with pytest.raises(RuntimeError, match=r"hook '_five' changed the gradient from shape \(3,\) .* to shape "
                                           r"\(5,\)"):
        (h * w).sum().backward()
    assert x.grad is None and w.grad is None          # nothing half-written


@pytest.mark.parametrize("value", [2.0, np.ones(3), [1.0, 1.0, 1.0]])
def test_a_hook_that_returns_no_tensor_is_a_type_error(value):
    x = t64(3)
    x.register_hook(lambda g: value)
    with pytest.raises(TypeError, match=r"hook '.*<lambda>' returned a value of type \w+; a hook must return "
                                        r"None or a Tensor"):
        (x * 1.0).sum().backward()
    y = x * 2
    y.register_hook(lambda g: value)
    with pytest.raises(TypeError, match="a hook must return None or a Tensor"):
        tg.grad(y.sum(), [x])


def test_retain_grad_on_a_non_leaf():
    x = t64(3)
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.numpy())
    k = x * 3
    (k * 1).sum().backward()
    assert k.grad is None  # not retained


def test_output_dropped_by_the_user_is_rebuilt_for_double_backward():
    x = t64(3)
    y = x.exp()  # Exp saves its output
    z = (y * 1.0).sum()
    del y
    gc.collect()
    g, = tg.grad(z, [x], create_graph=True)
    h, = tg.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), np.exp(x.numpy()), rtol=1e-12)


def test_the_graph_does_not_keep_dead_outputs_alive():
    x = t64(3)
    y = x * 2
    ref = weakref.ref(y)
    del y
    gc.collect()
    assert ref() is None


def test_detect_anomaly_names_the_forward_op():
    x = tg.tensor([1.0, 0.0, 2.0], requires_grad=True)
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(tg.AnomalyError, match=r"^log: forward produced NaN/inf from finite inputs"):
            x.log()


def test_detect_anomaly_names_the_backward_op():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt()  # forward finite (0), backward 0.5/0 = inf
        with pytest.raises(tg.AnomalyError, match=r"^sqrt: backward produced NaN/inf.*test_autograd.py"):
            y.sum().backward()


def test_detect_anomaly_names_user_code_in_a_folder_named_tinygen(tmp_path):
    # a clone of the repository is a folder named "tinygen": code in it is the user's, not the package's
    script = tmp_path / "tinygen" / "experiments" / "mine.py"
    script.parent.mkdir(parents=True)
    script.write_text("def root(x):\n    return x.sqrt()\n")
    namespace = {}
    exec(compile(script.read_text(), str(script), "exec"), namespace)
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        y = namespace["root"](x)
        with pytest.raises(tg.AnomalyError) as e:
            y.sum().backward()
    assert str(e.value).endswith(f"its forward ran at {script}:2 in root")


def test_without_anomaly_mode_nan_flows_silently():
    x = tg.tensor([-1.0], requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = x.log()
    assert np.isnan(y.item())


def test_requires_grad_on_integer_tensors_is_a_type_error():
    with pytest.raises(TypeError, match="floating-point"):
        tg.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError):
        tg.arange(3).requires_grad_()


def test_backward_on_something_that_does_not_require_grad():
    x = tg.ones(3)
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward()


def test_grad_dtype_follows_the_input():
    x = tg.randn(3, requires_grad=True)
    w = tg.randn(3, dtype="float64", requires_grad=True)
    (x * w).sum().backward()  # the product is float64; x's gradient is cast back to x's dtype
    assert w.grad.dtype == "float64"
    assert x.grad.shape == (3,) and x.grad.dtype == "float32"


def test_walk_asserts_gradient_shapes(monkeypatch):
    from tinygen.ops.elementwise import Exp

    def wrong_backward(self, gy):
        return gy.sum()
    monkeypatch.setattr(Exp, "backward", wrong_backward)
    x = t64(3)
    with pytest.raises(RuntimeError, match="exp.backward returned a gradient of shape"):
        x.exp().sum().backward()
