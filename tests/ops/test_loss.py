"""The fused binary_cross_entropy_with_logits primitive (tinygen/ops/loss.py)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygen as tg
from tinygen.autograd import REGISTRY
from tinygen.gradcheck import check_op
from tinygen.ops.loss import BinaryCrossEntropyWithLogits, binary_cross_entropy_with_logits as bce
from tinygen.testing import HypothesisDraw, arrays, shapes

NAME = "binary_cross_entropy_with_logits"


def reference(z, y):
    """The textbook formula in float64 on the host (fine for moderate |z|)."""
    s = 1.0 / (1.0 + np.exp(-z))
    return -(y * np.log(s) + (1.0 - y) * np.log1p(-s))


def test_registered_with_sample_and_docstring():
    assert REGISTRY[NAME] is BinaryCrossEntropyWithLogits
    doc = BinaryCrossEntropyWithLogits.__doc__
    assert "dl/dz = s - y" in doc and "dl/dy = -z" in doc


@given(data=st.data())
def test_first_and_second_derivatives(backend, data):
    check_op(NAME, HypothesisDraw(data), second_order=True)


@given(z=arrays(shapes(min_dims=1, max_dims=2), "float64", -15, 15),
       u=st.floats(0, 1), reduction=st.sampled_from(["none", "sum", "mean"]))
def test_matches_the_textbook_formula(backend, z, u, reduction):
    y = np.full(z.shape, u)
    want = reference(z, y)
    want = {"none": want, "sum": want.sum(), "mean": want.mean()}[reduction]
    got = bce(tg.tensor(z), tg.tensor(y), reduction=reduction)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_logits_are_exact_and_finite(backend, dtype):
    z = tg.tensor([1e4, -1e4, 1e4, -1e4, 1e4, -1e4, 0.0], dtype=dtype, requires_grad=True)
    y = tg.tensor([1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 0.3], dtype=dtype)
    loss = bce(z, y, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0, 0, 1e4, 1e4, 5e3, 5e3, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [0, 0, 1, -1, 0.5, -0.5, 0.5 - 0.3], rtol=1e-6, atol=1e-7)
    # second order at the extremes: s (1 - s) = 0 there, finite everywhere
    z.grad = None
    (gz,) = tg.grad(bce(z, y, reduction="sum"), z, create_graph=True)
    (h,) = tg.grad(gz.sum(), z)
    assert np.isfinite(h.numpy()).all()
    np.testing.assert_allclose(h.numpy()[:6], 0.0, atol=1e-30)
    np.testing.assert_allclose(h.numpy()[6], 0.25, rtol=1e-6)


def test_gradient_wrt_target_is_minus_z():
    z = tg.tensor([[-3.0, 0.5], [2.0, 7.0]], dtype="float64")
    y = tg.tensor([[0.2, 0.4], [1.0, 0.0]], dtype="float64", requires_grad=True)
    bce(z, y, reduction="mean").backward()
    np.testing.assert_allclose(y.grad.numpy(), -z.numpy() / 4)


def test_first_order_backward_uses_saved_sigmoid_but_records_when_asked():
    z = tg.tensor([0.3, -2.0], dtype="float64", requires_grad=True)
    y = tg.tensor([1.0, 0.0], dtype="float64")
    (g,) = tg.grad(bce(z, y, reduction="sum"), z)
    assert not g.requires_grad
    (g2,) = tg.grad(bce(z, y, reduction="sum"), z, create_graph=True)
    assert g2.requires_grad
    np.testing.assert_allclose(g.numpy(), g2.numpy())
    with tg.no_grad():
        out = bce(z, y)  # no graph: the sigmoid is not even computed
    assert out.grad_fn is None


def test_retain_graph_allows_a_second_backward():
    z = tg.tensor([0.3, -2.0], requires_grad=True)
    y = tg.tensor([1.0, 0.0])
    loss = bce(z, y)
    loss.backward(retain_graph=True)
    g1 = z.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(z.grad.numpy(), 2 * g1)


def test_shape_mismatch_and_bad_reduction_raise():
    with pytest.raises(tg.ShapeError, match="binary_cross_entropy_with_logits"):
        bce(tg.zeros(3, 1), tg.zeros(3))
    with pytest.raises(ValueError, match="reduction"):
        bce(tg.zeros(3), tg.zeros(3), reduction="avg")


def test_agrees_with_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((5, 7)) * 20).astype(np.float32)
    z[0, :3] = [1e4, -1e4, 88.0]
    y = rng.random((5, 7)).astype(np.float32)
    for reduction in ("none", "sum", "mean"):
        zt = torch.tensor(z, requires_grad=True)
        yt = torch.tensor(y, requires_grad=True)
        lt = torch.nn.functional.binary_cross_entropy_with_logits(zt, yt, reduction=reduction)
        zg, yg = tg.tensor(z, requires_grad=True), tg.tensor(y, requires_grad=True)
        lg = bce(zg, yg, reduction=reduction)
        np.testing.assert_allclose(lg.numpy(), lt.detach().numpy(), rtol=1e-5, atol=1e-5)
        g = rng.standard_normal(lt.shape).astype(np.float32)
        lt.backward(torch.tensor(g))
        lg.backward(tg.tensor(g))
        np.testing.assert_allclose(zg.grad.numpy(), zt.grad.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(yg.grad.numpy(), yt.grad.numpy(), rtol=1e-5, atol=1e-5)


# --- the checks above are trusted because they catch planted bugs ---------------------------------------------
def _inputs():
    z = tg.tensor([[0.3, -1.2, 2.0], [0.0, 1.5, -0.4]], dtype="float64", requires_grad=True)
    y = tg.tensor([[1.0, 0.0, 0.3], [0.5, 1.0, 0.0]], dtype="float64", requires_grad=True)
    return [z, y]


def test_a_detached_sigmoid_in_backward_is_caught_by_gradgradcheck(monkeypatch):
    def backward(self, gy):
        z, y = self.saved_tensors
        s = Tensor(self.cache["s"])  # the cached sigmoid even when recorded: a graph cut, 2nd order lost
        return gy * (1.0 / self.n) * (s - y), gy * (1.0 / self.n) * -z

    from tinygen.tensor import Tensor
    monkeypatch.setattr(BinaryCrossEntropyWithLogits, "backward", backward)
    assert tg.gradcheck(lambda z, y: bce(z, y), _inputs())
    with pytest.raises(tg.GradcheckError, match="gradgradcheck"):
        tg.gradgradcheck(lambda z, y: bce(z, y), _inputs())


def test_a_wrong_target_gradient_is_caught_by_gradcheck(monkeypatch):
    original = BinaryCrossEntropyWithLogits.backward

    def backward(self, gy):
        gz, gyy = original(self, gy)
        return gz, -gyy

    monkeypatch.setattr(BinaryCrossEntropyWithLogits, "backward", backward)
    with pytest.raises(tg.GradcheckError, match="input 1"):
        tg.gradcheck(lambda z, y: bce(z, y, reduction="sum"), _inputs())
