"""tinygen.functional: losses against NumPy formulas (and PyTorch when it imports), stability, dropout,
batch_norm, the VAE's KL term and WGAN-GP's gradient penalty."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygen as tg
import tinygen.functional as F
from tinygen.testing import arrays, shapes

REDUCTIONS = ["mean", "sum", "none"]


def _reduce(a, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](a)


def f64(a, requires_grad=False):
    return tg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


# ---------------------------------------------------------------------------------------------------------
# losses against NumPy
# ---------------------------------------------------------------------------------------------------------
@given(x=arrays(shapes(min_dims=1, max_dims=3), "float64", -5, 5), data=st.data(),
       reduction=st.sampled_from(REDUCTIONS))
def test_mse_and_l1_match_numpy(backend, x, data, reduction):
    y = data.draw(arrays(x.shape, "float64", -5, 5))
    np.testing.assert_allclose(F.mse_loss(f64(x), f64(y), reduction).numpy(), _reduce((x - y) ** 2, reduction),
                               rtol=1e-12)
    np.testing.assert_allclose(F.l1_loss(f64(x), f64(y), reduction).numpy(), _reduce(np.abs(x - y), reduction),
                               rtol=1e-12)


def test_mse_gradients_and_shape_mismatch():
    x, y = f64([1.0, 2.0, 4.0], True), f64([0.0, 2.0, 1.0], True)
    F.mse_loss(x, y).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, 0.0, 3.0]) / 3)
    np.testing.assert_allclose(y.grad.numpy(), -2 * np.array([1.0, 0.0, 3.0]) / 3)
    with pytest.raises(tg.ShapeError, match=r"\(3, 1\).*\(3,\)"):
        F.mse_loss(tg.zeros(3), tg.zeros(3, 1))
    with pytest.raises(ValueError, match="reduction"):
        F.l1_loss(tg.zeros(3), tg.zeros(3), reduction="avg")
    assert float(F.mse_loss(tg.ones(4), 0.0)) == 1.0  # a number as the target


@given(p=arrays(shapes(min_dims=1, max_dims=2), "float64", 0.01, 0.99), data=st.data(),
       reduction=st.sampled_from(REDUCTIONS))
def test_binary_cross_entropy_matches_numpy(backend, p, data, reduction):
    y = data.draw(arrays(p.shape, "float64", 0, 1))
    want = _reduce(-(y * np.log(p) + (1 - y) * np.log(1 - p)), reduction)
    np.testing.assert_allclose(F.binary_cross_entropy(f64(p), f64(y), reduction=reduction).numpy(), want,
                               rtol=1e-10)
    pt = f64(p, True)
    F.binary_cross_entropy(pt, f64(y), reduction="sum").backward()
    # -y/p + (1-y)/(1-p): two terms of size ~1 cancel where y is close to p, so the error is absolute (atol)
    np.testing.assert_allclose(pt.grad.numpy(), (p - y) / (p * (1 - p)), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_clamps_the_log_at_minus_100(backend, dtype):
    p = tg.tensor([0.0, 1.0, 0.0, 1.0, 1e-45 if dtype == "float32" else 1e-300, 0.5], dtype=dtype,
                  requires_grad=True)
    y = tg.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0], dtype=dtype)
    loss = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [100, 100, 0, 0, 100, math.log(2)], rtol=1e-6)
    loss.sum().backward()
    g = p.grad.numpy()
    assert np.isfinite(g).all()
    np.testing.assert_allclose(g, [0, 0, 1, -1, 0, -2], rtol=1e-6)  # 0 where the log is clamped


@pytest.mark.parametrize("p, found", [([0.5, 1.5], "values from 0.5 to 1.5"), ([-0.25, 0.5], "values from -0.25"),
                                      ([[2.0], [0.0]], "values from 0 to 2"), ([float("nan"), 0.5], "NaN")])
def test_binary_cross_entropy_refuses_inputs_outside_0_1(backend, p, found):
    # PyTorch raises too: the clamped logs gave a negative loss (-0.5 log 2 for p = 1.5, y = 0), and NaN gave 100
    p = tg.tensor(p, dtype="float64")
    with pytest.raises(ValueError, match=rf"^binary_cross_entropy: every element of the input must be a "
                                         rf"probability in \[0, 1\], but it holds {found}.*_with_logits$"):
        F.binary_cross_entropy(p, tg.zeros_like(p))


def test_binary_cross_entropy_with_logits_functional(backend):
    z = f64([[-1e4, 0.0, 3.0], [1e4, -2.0, 0.5]], True)
    y = f64([[0.0, 1.0, 1.0], [1.0, 0.0, 0.25]])
    w = f64([1.0, 2.0, 0.5])
    zn, yn = z.numpy(), y.numpy()
    ref = np.maximum(zn, 0) - zn * yn + np.log1p(np.exp(-np.abs(zn)))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(z, y).numpy(), ref.mean())
    out = F.binary_cross_entropy_with_logits(z, y, weight=w, reduction="sum")
    np.testing.assert_allclose(out.numpy(), (ref * w.numpy()).sum())
    ones = F.binary_cross_entropy_with_logits(z, 1.0, reduction="none")  # a number as the label
    np.testing.assert_allclose(ones.numpy(), np.maximum(zn, 0) - zn + np.log1p(np.exp(-np.abs(zn))))
    # a float32 target for float64 logits is cast, not an error
    mixed = F.binary_cross_entropy_with_logits(z, tg.tensor(yn.astype(np.float32)))
    assert mixed.dtype == "float64"


@given(x=arrays(shapes(min_dims=2, max_dims=2, max_side=5), "float64", -30, 30), big=st.sampled_from([0, 1e4]))
def test_log_softmax_is_stable_and_normalised(backend, x, big):
    x = x + big  # shifting all logits must change nothing
    out = F.log_softmax(f64(x), axis=1).numpy()
    m = x.max(axis=1, keepdims=True)
    want = x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-10)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(F.softmax(f64(x), dim=1).numpy().sum(axis=1), 1.0, rtol=1e-12)


def test_log_softmax_extreme_logits_and_gradient():
    x = tg.tensor([[1e4, -1e4, 0.0]], requires_grad=True)
    out = F.log_softmax(x, axis=-1)
    np.testing.assert_allclose(out.numpy(), [[0.0, -2e4, -1e4]])
    g = np.array([[0.3, -1.0, 2.0]], dtype=np.float32)
    out.backward(tg.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), g - np.array([[1.0, 0.0, 0.0]]) * g.sum(), atol=1e-6)
    assert tg.gradcheck(lambda t: F.log_softmax(t, axis=1), [tg.randn(3, 4, dtype="float64", requires_grad=True)])


def _np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


@given(n=st.integers(1, 5), c=st.integers(2, 5), data=st.data(), reduction=st.sampled_from(REDUCTIONS))
def test_cross_entropy_and_nll_match_numpy(backend, n, c, data, reduction):
    x = data.draw(arrays((n, c), "float64", -10, 10))
    t = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    lp = _np_log_softmax(x, 1)
    want = _reduce(-lp[np.arange(n), t], reduction)
    np.testing.assert_allclose(F.cross_entropy(f64(x), tg.tensor(t), reduction=reduction).numpy(), want, rtol=1e-10)
    np.testing.assert_allclose(F.nll_loss(f64(lp), tg.tensor(t), reduction=reduction).numpy(), want, rtol=1e-10)
    xt = f64(x, True)
    F.cross_entropy(xt, tg.tensor(t), reduction="sum").backward()
    np.testing.assert_allclose(xt.grad.numpy(), np.exp(lp) - np.eye(c)[t], rtol=1e-8, atol=1e-12)


def test_nll_weights_ignore_index_spatial_and_errors():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 2, 2))
    t = rng.integers(0, 3, size=(4, 2, 2))
    t[0, 0, 0] = -100
    w = np.array([0.5, 2.0, 1.0])
    lp = _np_log_softmax(x, 1)
    picked = np.take_along_axis(lp, np.where(t < 0, 0, t)[:, None], axis=1)[:, 0]
    wt = np.where(t < 0, 0.0, w[np.where(t < 0, 0, t)])
    got = F.cross_entropy(f64(x), tg.tensor(t), weight=f64(w))
    np.testing.assert_allclose(got.numpy(), (-picked * wt).sum() / wt.sum(), rtol=1e-10)
    none = F.cross_entropy(f64(x), tg.tensor(t), weight=f64(w), reduction="none")
    assert none.shape == (4, 2, 2) and none.numpy()[0, 0, 0] == 0.0
    with pytest.raises(IndexError, match="out of bounds"):
        F.nll_loss(f64(lp[:, :, 0, 0]), tg.tensor([0, 1, 3, 0]))
    with pytest.raises(tg.ShapeError, match="class targets of shape"):
        F.nll_loss(f64(lp[:, :, 0, 0]), tg.tensor([0, 1]))
    with pytest.raises(TypeError, match="integers"):
        F.nll_loss(f64(lp[:, :, 0, 0]), tg.tensor([0.0, 1.0, 2.0, 0.0]))
    # a single sample (C,) with a 0-d target, and a plain list of labels
    np.testing.assert_allclose(F.cross_entropy(f64(x[0, :, 0, 0]), tg.tensor(2)).numpy(), -lp[0, 2, 0, 0])
    np.testing.assert_allclose(F.cross_entropy(f64(x[:, :, 0, 0]), [0, 1, 2, 0], reduction="sum").numpy(),
                               -(lp[np.arange(4), [0, 1, 2, 0], 0, 0]).sum())


def test_cross_entropy_with_probability_targets():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    q = rng.random((3, 4))
    q /= q.sum(1, keepdims=True)
    got = F.cross_entropy(f64(x), f64(q))
    np.testing.assert_allclose(got.numpy(), -(q * _np_log_softmax(x, 1)).sum(1).mean(), rtol=1e-12)


def test_one_hot():
    out = F.one_hot(tg.tensor([[0, 2], [1, 1]]), 4)
    assert out.shape == (2, 2, 4) and out.dtype == "int64"
    np.testing.assert_array_equal(out.numpy(), np.eye(4, dtype=np.int64)[[[0, 2], [1, 1]]])
    assert F.one_hot(tg.tensor([3, 0])).shape == (2, 4)  # num_classes inferred
    assert F.one_hot(np.array([1, 0], dtype=np.uint8), 2, dtype="float32").dtype == "float32"
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.one_hot(tg.tensor([0, 3]), 3)
    with pytest.raises(TypeError):
        F.one_hot(tg.tensor([0.0, 1.0]), 3)


# ---------------------------------------------------------------------------------------------------------
# Gaussian KL and NLL
# ---------------------------------------------------------------------------------------------------------
@given(mu=arrays(shapes(min_dims=2, max_dims=2, max_side=5), "float64", -3, 3), data=st.data())
def test_gaussian_kl_closed_form_and_gradient(backend, mu, data):
    logvar = data.draw(arrays(mu.shape, "float64", -3, 3))
    m, lv = f64(mu, True), f64(logvar, True)
    kl = F.gaussian_kl(m, lv)
    want = -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar)).sum(axis=1)
    np.testing.assert_allclose(kl.numpy(), want, rtol=1e-10, atol=1e-12)
    kl.sum().backward()
    np.testing.assert_allclose(m.grad.numpy(), mu, rtol=1e-12)                        # dKL/dmu = mu
    np.testing.assert_allclose(lv.grad.numpy(), (np.exp(logvar) - 1) / 2, rtol=1e-10)  # (sigma^2 - 1)/2


def test_gaussian_kl_matches_the_monte_carlo_estimate_and_gradchecks():
    rng = np.random.default_rng(0)
    mu, logvar = np.array([0.5, -1.0]), np.array([0.3, -0.7])
    z = mu + np.exp(0.5 * logvar) * rng.standard_normal((200000, 2))
    logq = -0.5 * (np.log(2 * np.pi) + logvar + (z - mu) ** 2 / np.exp(logvar))
    logp = -0.5 * (np.log(2 * np.pi) + z ** 2)
    assert abs(float(F.gaussian_kl(f64(mu), f64(logvar))) - (logq - logp).sum(1).mean()) < 0.01
    m, lv = f64(rng.standard_normal((3, 2)), True), f64(rng.standard_normal((3, 2)), True)
    assert tg.gradcheck(lambda a, b: F.gaussian_kl(a, b, reduction="mean"), [m, lv])
    assert tg.gradgradcheck(lambda a, b: F.gaussian_kl(a, b), [m, lv])


def test_gaussian_nll_formula_and_torch():
    rng = np.random.default_rng(0)
    x, mu, lv = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    want = 0.5 * (np.log(2 * np.pi) + lv + (x - mu) ** 2 / np.exp(lv))
    np.testing.assert_allclose(F.gaussian_nll(f64(x), f64(mu), f64(lv), reduction="none").numpy(), want)
    np.testing.assert_allclose(F.gaussian_nll(f64(x), f64(mu), f64(lv), full=False).numpy(),
                               (want - 0.5 * np.log(2 * np.pi)).mean())
    assert tg.gradcheck(lambda a, b, c: F.gaussian_nll(a, b, c), [f64(x, True), f64(mu, True), f64(lv, True)])
    torch = pytest.importorskip("torch")
    ref = torch.nn.functional.gaussian_nll_loss(torch.tensor(mu), torch.tensor(x), torch.tensor(np.exp(lv)),
                                                full=True, eps=1e-30, reduction="sum")
    np.testing.assert_allclose(F.gaussian_nll(f64(x), f64(mu), f64(lv), reduction="sum").numpy(), ref.item(),
                               rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# dropout and batch_norm
# ---------------------------------------------------------------------------------------------------------
@given(p=st.sampled_from([0.1, 0.5, 0.8]))
def test_dropout_scales_survivors_and_keeps_the_expectation(backend, p):
    x = tg.ones(200, 100, requires_grad=True)
    y = F.dropout(x, p, training=True)
    v = y.numpy()
    kept = v != 0
    np.testing.assert_allclose(v[kept], 1.0 / (1.0 - p), rtol=1e-6)
    assert abs(kept.mean() - (1 - p)) < 0.02
    assert abs(v.mean() - 1.0) < 0.06
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), v)  # dy/dx = mask / (1 - p)


def test_dropout_eval_edges_and_seed():
    x = tg.randn(4, 5)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert (F.dropout(x, 1.0).numpy() == 0).all()
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)
    tg.manual_seed(3)
    a = F.dropout(tg.ones(50), 0.5).numpy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(tg.ones(50), 0.5).numpy(), a)


@given(shape=st.sampled_from([(8, 3), (6, 2, 5), (4, 3, 3, 2)]), data=st.data())
def test_batch_norm_training_moments_and_running_update(backend, shape, data):
    x = data.draw(arrays(shape, "float64", -5, 5).filter(lambda a: (a.std(axis=tuple(
        i for i in range(a.ndim) if i != 1)) > 0.1).all()))
    c = shape[1]
    axes = tuple(i for i in range(len(shape)) if i != 1)
    rm0, rv0 = np.linspace(-1, 1, c), np.linspace(0.5, 2, c)
    rm, rv = f64(rm0), f64(rv0)
    y = F.batch_norm(f64(x), rm, rv, training=True, momentum=0.3, eps=1e-5).numpy()
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=axes), x.var(axis=axes) / (x.var(axis=axes) + 1e-5), rtol=1e-9)
    n = x.size // c
    np.testing.assert_allclose(rm.numpy(), 0.7 * rm0 + 0.3 * x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.7 * rv0 + 0.3 * x.var(axis=axes) * n / (n - 1), rtol=1e-12)


def test_batch_norm_eval_affine_gradients_and_errors():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 2))
    rm, rv = f64([0.1, -0.2, 0.3]), f64([1.5, 0.5, 2.0])
    w, b = f64([1.0, 2.0, -1.0], True), f64([0.0, 0.5, 1.0], True)
    y = F.batch_norm(f64(x), rm, rv, w, b, training=False)
    s = (1, 3, 1)
    want = (x - rm.numpy().reshape(s)) / np.sqrt(rv.numpy().reshape(s) + 1e-5) * w.numpy().reshape(s) \
        + b.numpy().reshape(s)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12)
    np.testing.assert_array_equal(rm.numpy(), [0.1, -0.2, 0.3])  # eval leaves the running estimates alone
    xs = f64(x, True)
    assert tg.gradcheck(lambda a, ww, bb: F.batch_norm(a, None, None, ww, bb, training=True), [xs, w, b])
    assert tg.gradgradcheck(lambda a, ww: F.batch_norm(a, None, None, ww, None, training=True), [xs, w])
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(tg.randn(1, 3), None, None, training=True)
    with pytest.raises(tg.ShapeError):
        F.batch_norm(tg.randn(3), None, None, training=True)


# ---------------------------------------------------------------------------------------------------------
# WGAN-GP
# ---------------------------------------------------------------------------------------------------------
def _mlp_critic(w1, b1, w2, b2):
    return lambda x: F.linear(F.tanh(F.linear(x, w1, b1)), w2, b2)


def test_interpolate():
    real, fake = tg.ones(4, 2, 3), tg.zeros(4, 2, 3)
    eps = tg.tensor([0.0, 0.25, 0.5, 1.0])
    out = F.interpolate(real, fake, eps).numpy()
    np.testing.assert_allclose(out[:, 0, 0], [0.0, 0.25, 0.5, 1.0])
    tg.manual_seed(0)
    r = F.interpolate(real, fake).numpy()
    assert ((r >= 0) & (r < 1)).all() and (r == r[:, :1, :1]).all()  # one eps per sample
    with pytest.raises(tg.ShapeError):
        F.interpolate(tg.ones(2, 3), tg.ones(3, 2))


def test_gradient_penalty_value(backend):
    rng = np.random.default_rng(0)
    w1, b1, w2, b2 = (f64(rng.standard_normal(s)) for s in [(5, 3), (5,), (1, 5), (1,)])
    real, fake, eps = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.random(4)
    gp = F.gradient_penalty(_mlp_critic(w1, b1, w2, b2), f64(real), f64(fake), lambda_=10.0, eps=f64(eps))
    xh = eps[:, None] * real + (1 - eps[:, None]) * fake
    h = np.tanh(xh @ w1.numpy().T + b1.numpy())
    g = ((1 - h ** 2) * w2.numpy()[0]) @ w1.numpy()  # d critic / d x_hat, one row per sample
    want = 10.0 * np.mean((np.sqrt((g ** 2).sum(1) + 1e-12) - 1) ** 2)
    np.testing.assert_allclose(gp.numpy(), want, rtol=1e-10)


def test_gradient_penalty_gradient_wrt_critic_parameters_is_right():
    """Second order: the penalty's gradient flows through the critic's backward (float64 finite differences)."""
    rng = np.random.default_rng(1)
    params = [f64(rng.standard_normal(s) * 0.7, True) for s in [(4, 3), (4,), (1, 4), (1,)]]
    real, fake, eps = f64(rng.standard_normal((5, 3))), f64(rng.standard_normal((5, 3))), f64(rng.random(5))

    def penalty(w1, b1, w2, b2):
        return F.gradient_penalty(_mlp_critic(w1, b1, w2, b2), real, fake, lambda_=10.0, eps=eps)

    assert tg.gradcheck(penalty, params)
    penalty(*params).backward()
    assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all() for p in params[:3])
    assert np.abs(params[1].grad.numpy()).sum() > 0  # b1 matters only through the second derivative
    assert params[3].grad is None  # the output bias does not change d critic / dx: no gradient reaches it


def test_gradient_penalty_with_a_linear_critic_and_image_shapes():
    # f(x) = <a, x>: the gradient is a everywhere, so the penalty is lambda (||a|| - 1)^2 whatever eps is
    a = tg.tensor(np.full((1, 2, 2), 0.25), dtype="float64", requires_grad=True)
    critic = lambda x: (x * a).sum((1, 2, 3))  # noqa: E731
    gp = F.gradient_penalty(critic, tg.randn(3, 1, 2, 2, dtype="float64"), tg.randn(3, 1, 2, 2, dtype="float64"))
    np.testing.assert_allclose(gp.numpy(), 10 * (math.sqrt(4 * 0.0625 + 1e-12) - 1) ** 2)
    gp.backward()
    # d/da lambda (||a|| - 1)^2 = 2 lambda (||a|| - 1) a / ||a||
    np.testing.assert_allclose(a.grad.numpy(), 2 * 10 * (0.5 - 1) * a.numpy() / 0.5, rtol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# PyTorch, number for number
# ---------------------------------------------------------------------------------------------------------
def test_losses_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    y = rng.standard_normal((6, 5)).astype(np.float32)
    p = rng.uniform(0.01, 0.99, (6, 5)).astype(np.float32)
    q = rng.random((6, 5)).astype(np.float32)
    t = rng.integers(0, 5, 6)
    t[2] = -100
    w = rng.uniform(0.5, 2, 5).astype(np.float32)
    # name, fn(input, functional module, tensor constructor, reduction), input
    cases = [
        ("mse", lambda a, m, T, r: m.mse_loss(a, T(y), reduction=r), x),
        ("l1", lambda a, m, T, r: m.l1_loss(a, T(y), reduction=r), x),
        ("bce", lambda a, m, T, r: m.binary_cross_entropy(a, T(q), reduction=r), p),
        ("bce_weight", lambda a, m, T, r: m.binary_cross_entropy(a, T(q), weight=T(w), reduction=r), p),
        ("bce_logits", lambda a, m, T, r: m.binary_cross_entropy_with_logits(a, T(q), reduction=r), x * 10),
        ("ce", lambda a, m, T, r: m.cross_entropy(a, T(t), reduction=r), x),
        ("ce_weight", lambda a, m, T, r: m.cross_entropy(a, T(t), weight=T(w), reduction=r), x),
        ("ce_soft", lambda a, m, T, r: m.cross_entropy(a, T(q), reduction=r), x),
        ("nll", lambda a, m, T, r: m.nll_loss(m.log_softmax(a, dim=1), T(t), reduction=r), x),
        ("softmax", lambda a, m, T, r: m.softmax(a, dim=1) * T(y), x),
    ]
    for name, fn, inp in cases:
        for red in REDUCTIONS:
            at, ag = torch.tensor(inp, requires_grad=True), tg.tensor(inp, requires_grad=True)
            lt, lg = fn(at, torch.nn.functional, torch.tensor, red), fn(ag, F, tg.tensor, red)
            np.testing.assert_allclose(lg.numpy(), lt.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
            g = rng.standard_normal(tuple(lt.shape)).astype(np.float32)
            lt.backward(torch.tensor(g))
            lg.backward(tg.tensor(g))
            np.testing.assert_allclose(ag.grad.numpy(), at.grad.numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name} {red}")
